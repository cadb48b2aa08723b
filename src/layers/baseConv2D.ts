import { type ActivationName, getActivation } from '../activations/index.js';
import {
  getInitializer,
  type Initializer,
  type InitializerLike,
  serializeInitializer,
} from '../initializers/index.js';
import type { Conv2DGeometry, Kernels } from '../kernels/kernels.js';
import { type Shape, sizeOf } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';
import type { OptionKeys } from '../kernels/options.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import {
  checkDataFormat,
  checkStridesAndDilation,
  type PaddingMode,
  type Pair,
  type PairLike,
  requireImageShape,
  toPaddingMode,
  toPair,
  windowGeometry,
} from './spatial.js';

/** Options every 2-D convolution takes, Keras's names in camelCase. */
export interface BaseConv2DOptions extends LayerOptions {
  /** Window size: one integer for both axes, or `[height, width]`. */
  kernelSize: PairLike;
  /** Step of the window (default 1). */
  strides?: PairLike;
  /** `'valid'` (default: no padding) or `'same'` (zeros around, the odd one at the bottom/right). */
  padding?: string;
  /** Only `'channels_last'` (the default) is supported. */
  dataFormat?: string | null;
  /** Spacing of the window's taps (default 1; cannot exceed 1 together with the strides). */
  dilationRate?: PairLike;
  /** Activation by Keras name; linear when omitted. */
  activation?: string | null;
  /** Whether the layer adds a bias per output channel (default true). */
  useBias?: boolean;
  /** Initializer of the bias (default `'zeros'`). */
  biasInitializer?: InitializerLike;
}

/** The keys of {@link BaseConv2DOptions}; each convolution's list adds its own. */
export const BASE_CONV_2D_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  kernelSize: true,
  strides: true,
  padding: true,
  dataFormat: true,
  dilationRate: true,
  activation: true,
  useBias: true,
  biasInitializer: true,
} as const satisfies OptionKeys<BaseConv2DOptions>;

/**
 * What Conv2D, DepthwiseConv2D and SeparableConv2D share (Keras's `BaseConv`): the window arguments, the
 * output shape, the bias and the activation. A subclass computes the pre-activation `z` and its gradients;
 * this class applies `y = f(z)` and, backward, `δ = ∂L/∂y ⊙ f′(z)`.
 *
 * Per-sample shapes are channels-last images `[height, width, channels]`; rows of the activation are the
 * output pixels (batch·outHeight·outWidth rows of outChannels).
 */
export abstract class BaseConv2D extends Layer {
  /** Window size (height, width). */
  readonly kernelSize: Pair;
  /** Window step (height, width). */
  readonly strides: Pair;
  /** `'valid'` or `'same'`. */
  readonly padding: PaddingMode;
  /** Tap spacing (height, width). */
  readonly dilationRate: Pair;
  /** The activation applied to the convolution's output. */
  readonly activation: ActivationName;
  /** Whether there is a bias. */
  readonly useBias: boolean;
  /** How the bias is initialised. */
  readonly biasInitializer: Initializer;

  private biasWeight: Variable | null = null;
  /** The window over one input image; `batch` is set at each call. */
  protected geometry: Conv2DGeometry | null = null;
  /** The input of the last forward pass (backward needs it). */
  protected lastInput: Float32Array | null = null;
  private readonly preActivationBuffer = new BatchBuffer(
    () => this.kernels,
    () => this.outputWidth,
  );
  private readonly outputBuffer = new BatchBuffer(
    () => this.kernels,
    () => this.outputWidth,
  );
  private readonly deltaBuffer = new BatchBuffer(
    () => this.kernels,
    () => this.outputWidth,
  );
  /** ∂L/∂input, one input image per row. */
  protected readonly inputGradientBuffer = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );

  protected constructor(options: BaseConv2DOptions, defaultPrefix: string) {
    super(options, defaultPrefix);
    const owner = new.target.name;
    this.kernelSize = toPair(options.kernelSize, 'kernel_size', owner);
    this.strides = toPair(options.strides ?? 1, 'strides', owner);
    this.padding = toPaddingMode(options.padding ?? 'valid', owner);
    checkDataFormat(options.dataFormat, owner);
    this.dilationRate = toPair(options.dilationRate ?? 1, 'dilation_rate', owner);
    checkStridesAndDilation(this.strides, this.dilationRate, owner);
    this.activation = getActivation(options.activation);
    this.useBias = options.useBias ?? true;
    this.biasInitializer = getInitializer(options.biasInitializer ?? 'zeros');
  }

  /** The bias, shape (output channels), or null without bias. */
  get bias(): Variable | null {
    return this.biasWeight;
  }

  /**
   * Checks Keras's `filters` (the output channels of Conv2D and SeparableConv2D): a positive integer.
   * @throws RangeError naming the layer class
   */
  protected checkFilters(filters: number): number {
    if (!Number.isInteger(filters) || filters <= 0) {
      throw new RangeError(`${this.className}: filters must be a positive integer, got ${filters}`);
    }
    return filters;
  }

  /** Output channels for an input of `inputChannels` channels. */
  protected abstract outputChannels(inputChannels: number): number;

  /** Conv2D's groups (1 for the others). */
  protected get groupCount(): number {
    return 1;
  }

  /** The window geometry for an input image shape (throws a ShapeError when it does not fit). */
  protected geometryFor(inputShape: Shape): Conv2DGeometry {
    const owner = `${this.className} '${this.name}'`;
    requireImageShape(inputShape, owner);
    return windowGeometry(
      inputShape,
      {
        kernelSize: this.kernelSize,
        strides: this.strides,
        dilationRate: this.dilationRate,
        padding: this.padding,
      },
      this.outputChannels(inputShape[2]),
      this.groupCount,
      owner,
    );
  }

  computeOutputShape(inputShape: Shape): Shape {
    const g = this.geometryFor(inputShape);
    return [g.outHeight, g.outWidth, g.outChannels];
  }

  protected override createWeights(inputShape: Shape, kernels: Kernels): void {
    this.geometry = this.geometryFor(inputShape);
    this.createConvWeights(this.geometry, kernels);
  }

  /** Creates the kernel(s) and the bias for the geometry. */
  protected abstract createConvWeights(geometry: Conv2DGeometry, kernels: Kernels): void;

  /** Writes `z` (pre-activation, bias included) for the input batch. */
  protected abstract convolve(
    input: Float32Array,
    z: Float32Array,
    geometry: Conv2DGeometry,
    relu: boolean,
  ): void;

  /**
   * Whether {@link convolve} applies a ReLU itself when asked (`relu` true): the layer then keeps no
   * pre-activation copy, and its backward reads the ReLU's mask from the output (`y > 0` exactly when `z > 0`).
   */
  protected readonly convolveAppliesRelu: boolean = false;

  /** True when this layer's ReLU runs inside the convolution. */
  override get outputIsRelu(): boolean {
    return this.activation === 'relu' && this.convolveAppliesRelu;
  }

  /**
   * From δ = ∂L/∂z: the weight gradients (when asked) and ∂L/∂input into `inputGradient` (when not null).
   */
  protected abstract convolveBackward(
    delta: Float32Array,
    geometry: Conv2DGeometry,
    computeWeightGradients: boolean,
    inputGradient: Float32Array | null,
  ): void;

  /** Adds the bias weight (shape [channels]) when the layer has one. */
  protected createBias(channels: number, kernels: Kernels): void {
    if (!this.useBias) return;
    this.biasWeight = this.addWeight('bias', [channels], kernels);
    this.biasInitializer.fill(this.biasWeight.value, this.biasWeight.shape);
  }

  /** Elements of one output image. */
  private get outputWidth(): number {
    const g = this.requireGeometry();
    return g.outHeight * g.outWidth * g.outChannels;
  }

  /** The geometry (built layers only). */
  protected requireGeometry(): Conv2DGeometry {
    if (this.geometry === null) throw new Error(`layer '${this.name}' is not built yet`);
    return this.geometry;
  }

  /**
   * The activation, when a loss may fuse with it: only for a 1×1 output, where the activation's rows are the
   * samples the loss sees (a softmax over each pixel's channels is not a softmax over the sample).
   */
  override get outputActivation(): string | null {
    const g = this.geometry;
    return g !== null && g.outHeight * g.outWidth === 1 ? this.activation : null;
  }

  forward(input: Float32Array, batch: number, _training: boolean): Float32Array {
    const g = this.requireGeometry();
    g.batch = batch;
    const y = this.outputBuffer.rows(batch);
    const fused = this.outputIsRelu;
    const z = this.activation === 'linear' || fused ? y : this.preActivationBuffer.rows(batch);
    this.convolve(input, z, g, fused);
    if (this.activation !== 'linear' && !fused) {
      this.kernels.activationForward(this.activation, z, y, batch * g.outHeight * g.outWidth, g.outChannels);
    }
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
    if (this.lastInput === null) throw new Error(`${this.className} '${this.name}': backward before forward`);
    const g = this.requireGeometry();
    g.batch = batch;
    let delta = outputGradient;
    if (!preActivation && this.activation !== 'linear') {
      delta = this.deltaBuffer.rows(batch);
      const y = this.outputBuffer.rows(batch);
      this.kernels.activationBackward(
        this.activation,
        this.outputIsRelu ? y : this.preActivationBuffer.rows(batch),
        y,
        outputGradient,
        delta,
        batch * g.outHeight * g.outWidth,
        g.outChannels,
      );
    }
    const inputGradient = computeInputGradient ? this.inputGradientBuffer.rows(batch) : null;
    this.convolveBackward(delta, g, computeWeightGradients, inputGradient);
    return inputGradient;
  }

  /** The window arguments of the config, in Keras's order after the layer-specific ones. */
  protected windowConfig(): Record<string, unknown> {
    return {
      kernel_size: [...this.kernelSize],
      strides: [...this.strides],
      padding: this.padding,
      data_format: 'channels_last',
      dilation_rate: [...this.dilationRate],
    };
  }

  /** Activation, bias flag and bias initializer, as the config writes them. */
  protected activationConfig(): Record<string, unknown> {
    return { activation: this.activation, use_bias: this.useBias };
  }

  /** The bias initializer's config entry. */
  protected biasInitializerConfig(): unknown {
    return serializeInitializer(this.biasInitializer);
  }

  /**
   * The config's regularizers and constraints, which warmstart does not implement (all null), in Keras's
   * order: one regularizer per weight, the activity regularizer, one constraint per weight.
   * @param weights the weights' Keras names in config order (`'kernel'`, `'bias'`, …)
   */
  protected unusedPenaltiesConfig(weights: readonly string[]): Record<string, null> {
    return Object.fromEntries([
      ...weights.map((weight) => [`${weight}_regularizer`, null]),
      ['activity_regularizer', null],
      ...weights.map((weight) => [`${weight}_constraint`, null]),
    ]);
  }

  override dispose(): void {
    for (const buffer of [
      this.preActivationBuffer,
      this.outputBuffer,
      this.deltaBuffer,
      this.inputGradientBuffer,
    ])
      buffer.release();
    this.geometry = null;
    this.lastInput = null;
    this.biasWeight = null;
    super.dispose();
  }
}
