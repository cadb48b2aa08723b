import { type ActivationName, getActivation } from '../activations/index.js';
import { ShapeError, type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Activation}. */
export interface ActivationOptions extends LayerOptions {
  /** The activation by Keras name (`'relu'`, `'softmax'`, …). */
  activation: string;
}

/** The keys of {@link ActivationOptions}. */
const ACTIVATION_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  activation: true,
} as const satisfies OptionKeys<ActivationOptions>;

/**
 * Applies an activation function on its own, as Keras's `Activation` layer: `y = f(x)` elementwise (softmax
 * over the last axis), `∂L/∂x = ∂L/∂y ⊙ f′(x)` (softmax's full Jacobian per row). As the last layer it can
 * fuse with the loss like a Dense layer's activation.
 */
export class Activation extends Layer {
  readonly className = 'Activation';
  /** The function applied. */
  readonly activation: ActivationName;
  private lastInput: Float32Array | null = null;
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => this.width,
  );
  private readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => this.width,
  );

  constructor(options: ActivationOptions) {
    checkOptions('Activation', options, ACTIVATION_OPTION_KEYS);
    super(options, 'activation');
    this.activation = getActivation(options.activation);
  }

  private get width(): number {
    return sizeOf(this.inputShape ?? []);
  }

  /** Length of the last axis: softmax normalises over it. */
  private get lastAxis(): number {
    const shape = this.inputShape ?? [];
    return shape.length === 0 ? 1 : shape[shape.length - 1];
  }

  computeOutputShape(inputShape: Shape): Shape {
    if (this.activation === 'softmax' && inputShape.length === 0) {
      throw new ShapeError(`Activation '${this.name}': softmax needs at least one axis per sample`);
    }
    return inputShape;
  }

  override get outputActivation(): string {
    return this.activation;
  }

  forward(input: Float32Array, batch: number): Float32Array {
    this.lastInput = input;
    if (this.activation === 'linear') return input;
    const output = this.output.rows(batch);
    const n = this.lastAxis;
    this.kernels.activationForward(this.activation, input, output, (batch * this.width) / n, n);
    return output;
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
    preActivation: boolean,
  ): Float32Array | null {
    if (!computeInputGradient) return null;
    // With `preActivation` the loss already differentiated through this activation.
    if (preActivation || this.activation === 'linear') return outputGradient;
    if (this.lastInput === null) throw new Error(`Activation '${this.name}': backward before forward`);
    const inputGradient = this.inputGradient.rows(batch);
    const n = this.lastAxis;
    this.kernels.activationBackward(
      this.activation,
      this.lastInput,
      this.output.rows(batch),
      outputGradient,
      inputGradient,
      (batch * this.width) / n,
      n,
    );
    return inputGradient;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: this.activation };
  }

  override dispose(): void {
    this.output.release();
    this.inputGradient.release();
    super.dispose();
  }
}
