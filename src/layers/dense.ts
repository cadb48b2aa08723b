import { type ActivationName, getActivation } from '../activations/index.js';
import { DisposedError } from '../kernels/errors.js';
import type { Kernels } from '../kernels/kernels.js';
import {
  getInitializer,
  type Initializer,
  type InitializerLike,
  serializeInitializer,
} from '../initializers/index.js';
import { ShapeError, type Shape } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Dense}, Keras's names in camelCase. */
export interface DenseOptions extends LayerOptions {
  /** Width of the output. */
  units: number;
  /** Activation by Keras name (`'selu'`, `'softmax'`, …); linear when omitted. */
  activation?: string | null;
  /** Whether the layer adds a bias vector (default true). */
  useBias?: boolean;
  /** Initializer of the kernel (default `'glorot_uniform'`, as Keras). */
  kernelInitializer?: InitializerLike;
  /** Initializer of the bias (default `'zeros'`). */
  biasInitializer?: InitializerLike;
}

/** The keys of {@link DenseOptions}. */
const DENSE_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  units: true,
  activation: true,
  useBias: true,
  kernelInitializer: true,
  biasInitializer: true,
} as const satisfies OptionKeys<DenseOptions>;

/**
 * A fully connected layer, `y = f(x·W + b)` with W of shape (inputs, units).
 *
 * Backward, with `z = x·W + b` cached from the forward pass and δ = ∂L/∂z = ∂L/∂y ⊙ f'(z):
 * `∂L/∂W = xᵀ·δ`, `∂L/∂b = Σ_batch δ`, `∂L/∂x = δ·Wᵀ`.
 */
export class Dense extends Layer {
  readonly className = 'Dense';
  /** Width of the output. */
  readonly units: number;
  /** The activation applied to `x·W + b`. */
  readonly activation: ActivationName;
  /** Whether there is a bias. */
  readonly useBias: boolean;
  /** How the kernel is initialised. */
  readonly kernelInitializer: Initializer;
  /** How the bias is initialised. */
  readonly biasInitializer: Initializer;

  private kernelWeight: Variable | null = null;
  private biasWeight: Variable | null = null;
  private lastInput: Float32Array | null = null;
  private readonly preActivation = new BatchBuffer(
    () => this.kernels,
    () => this.units,
  );
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => this.units,
  );
  private readonly delta = new BatchBuffer(
    () => this.kernels,
    () => this.units,
  );
  private readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => this.inputWidth,
  );

  constructor(options: DenseOptions) {
    checkOptions('Dense', options, DENSE_OPTION_KEYS);
    super(options, 'dense');
    if (!Number.isInteger(options.units) || options.units <= 0) {
      throw new RangeError(`Dense: units must be a positive integer, got ${options.units}`);
    }
    this.units = options.units;
    this.activation = getActivation(options.activation);
    this.useBias = options.useBias ?? true;
    this.kernelInitializer = getInitializer(options.kernelInitializer ?? 'glorot_uniform');
    this.biasInitializer = getInitializer(options.biasInitializer ?? 'zeros');
  }

  /** The kernel W, shape (inputs, units). */
  get kernel(): Variable {
    if (this.kernelWeight === null) {
      if (this.isDisposed) throw new DisposedError('layer', this.name, 'use its kernel');
      throw new Error(`layer '${this.name}' is not built yet`);
    }
    return this.kernelWeight;
  }

  /** The bias b, shape (units), or null without bias. */
  get bias(): Variable | null {
    return this.biasWeight;
  }

  private get inputWidth(): number {
    return this.kernel.shape[0];
  }

  computeOutputShape(inputShape: Shape): Shape {
    return [...inputShape.slice(0, -1), this.units];
  }

  protected override createWeights(inputShape: Shape, kernels: Kernels): void {
    if (inputShape.length !== 1) {
      throw new ShapeError(
        `Dense '${this.name}' takes flat inputs (one axis per sample), got [${inputShape.join(', ')}]: add a Flatten layer first`,
      );
    }
    this.kernelWeight = this.addWeight('kernel', [inputShape[0], this.units], kernels);
    this.kernelInitializer.fill(this.kernelWeight.value, this.kernelWeight.shape);
    if (this.useBias) {
      this.biasWeight = this.addWeight('bias', [this.units], kernels);
      this.biasInitializer.fill(this.biasWeight.value, this.biasWeight.shape);
    }
  }

  override get outputActivation(): string {
    return this.activation;
  }

  forward(input: Float32Array, batch: number, _training: boolean): Float32Array {
    const z = this.activation === 'linear' ? this.output.rows(batch) : this.preActivation.rows(batch);
    const y = this.output.rows(batch);
    this.kernels.denseForward(
      input,
      this.kernel.value,
      this.biasWeight?.value ?? null,
      z,
      y,
      batch,
      this.inputWidth,
      this.units,
      this.activation,
    );
    this.lastInput = input;
    return y;
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    computeWeightGradients: boolean,
    computeInputGradient: boolean,
    preActivation: boolean,
  ): Float32Array | null {
    if (this.lastInput === null) throw new Error(`Dense '${this.name}': backward before forward`);
    const k = this.inputWidth;
    let delta = outputGradient;
    if (!preActivation && this.activation !== 'linear') {
      delta = this.delta.rows(batch);
      this.kernels.activationBackward(
        this.activation,
        this.preActivation.rows(batch),
        this.output.rows(batch),
        outputGradient,
        delta,
        batch,
        this.units,
      );
    }
    if (computeWeightGradients) {
      this.kernels.denseBackwardWeights(
        this.lastInput,
        delta,
        this.kernel.gradient,
        this.biasWeight?.gradient ?? null,
        batch,
        k,
        this.units,
      );
    }
    if (!computeInputGradient) return null;
    const inputGradient = this.inputGradient.rows(batch);
    this.kernels.denseBackwardInput(delta, this.kernel.value, inputGradient, batch, k, this.units);
    return inputGradient;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      use_bias: this.useBias,
      kernel_initializer: serializeInitializer(this.kernelInitializer),
      bias_initializer: serializeInitializer(this.biasInitializer),
      kernel_regularizer: null,
      bias_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    };
  }

  override dispose(): void {
    for (const buffer of [this.preActivation, this.output, this.delta, this.inputGradient]) buffer.release();
    this.kernelWeight = null;
    this.biasWeight = null;
    super.dispose();
  }
}
