import { ShapeError, type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Softmax}. */
export interface SoftmaxOptions extends LayerOptions {
  /** The axis normalised over; only the last one (−1, Keras's default) is supported. */
  axis?: number;
}

/** The keys of {@link SoftmaxOptions}. */
const SOFTMAX_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  axis: true,
} as const satisfies OptionKeys<SoftmaxOptions>;

/**
 * Keras's `Softmax` layer over the last axis: `y_i = e^{x_i} / Σ_j e^{x_j}` per row,
 * `∂L/∂x_i = y_i (∂L/∂y_i − Σ_j ∂L/∂y_j y_j)`. As the last layer it fuses with a cross-entropy loss, as a
 * Dense layer's softmax does.
 */
export class Softmax extends Layer {
  readonly className = 'Softmax';
  /** The axis as given (−1, or the last axis's index counting the batch axis). */
  readonly axis: number;
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );
  private readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );

  constructor(options: SoftmaxOptions = {}) {
    checkOptions('Softmax', options, SOFTMAX_OPTION_KEYS);
    super(options, 'softmax');
    const axis = options.axis ?? -1;
    if (!Number.isInteger(axis)) throw new RangeError(`Softmax: axis must be an integer, got ${axis}`);
    this.axis = axis;
  }

  /** Length of the last axis. */
  private get lastAxis(): number {
    const shape = this.inputShape!;
    return shape[shape.length - 1];
  }

  computeOutputShape(inputShape: Shape): Shape {
    const rank = inputShape.length + 1;
    const axis = this.axis < 0 ? this.axis + rank : this.axis;
    if (inputShape.length === 0 || axis !== rank - 1) {
      throw new ShapeError(
        `Softmax '${this.name}': only the last axis can be normalised (axis -1), got axis ${this.axis} for samples of shape [${inputShape.join(', ')}]`,
      );
    }
    return inputShape;
  }

  /** `'softmax'` when each sample is one row (a loss then fuses with it), else null. */
  override get outputActivation(): string | null {
    const shape = this.inputShape;
    return shape !== null && sizeOf(shape) === shape[shape.length - 1] ? 'softmax' : null;
  }

  forward(input: Float32Array, batch: number): Float32Array {
    const y = this.output.rows(batch);
    const n = this.lastAxis;
    this.kernels.activationForward('softmax', input, y, (batch * sizeOf(this.inputShape!)) / n, n);
    return y;
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
    preActivation: boolean,
  ): Float32Array | null {
    if (!computeInputGradient) return null;
    // With `preActivation` the loss already differentiated through the softmax.
    if (preActivation) return outputGradient;
    const dx = this.inputGradient.rows(batch);
    const n = this.lastAxis;
    const y = this.output.rows(batch);
    this.kernels.activationBackward(
      'softmax',
      y,
      y,
      outputGradient,
      dx,
      (batch * sizeOf(this.inputShape!)) / n,
      n,
    );
    return dx;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }

  override dispose(): void {
    this.output.release();
    this.inputGradient.release();
    super.dispose();
  }
}
