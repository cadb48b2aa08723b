import {
  getInitializer,
  type Initializer,
  type InitializerLike,
  serializeInitializer,
} from '../initializers/index.js';
import type { Conv2DGeometry, Kernels } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { BASE_CONV_2D_OPTION_KEYS, BaseConv2D, type BaseConv2DOptions } from './baseConv2D.js';
import { checkDepthMultiplier } from './depthwiseConv2D.js';
import { BatchBuffer } from './layer.js';

/** Options of {@link SeparableConv2D}, Keras's names in camelCase. */
export interface SeparableConv2DOptions extends BaseConv2DOptions {
  /** Output channels. */
  filters: number;
  /** Channels of the depthwise step per input channel (default 1). */
  depthMultiplier?: number;
  /** Initializer of the depthwise kernel (default `'glorot_uniform'`). */
  depthwiseInitializer?: InitializerLike;
  /** Initializer of the pointwise kernel (default `'glorot_uniform'`). */
  pointwiseInitializer?: InitializerLike;
}

/** The keys of {@link SeparableConv2DOptions}. */
const SEPARABLE_CONV_2D_OPTION_KEYS = {
  ...BASE_CONV_2D_OPTION_KEYS,
  filters: true,
  depthMultiplier: true,
  depthwiseInitializer: true,
  pointwiseInitializer: true,
} as const satisfies OptionKeys<SeparableConv2DOptions>;

/**
 * A depthwise-separable 2-D convolution, as Keras's `SeparableConv2D`: a depthwise convolution without bias
 * (kernel D of shape (kh, kw, C, M), see {@link DepthwiseConv2D}) giving `u` with C·M channels, then a 1×1
 * convolution (kernel P of shape (1, 1, C·M, F)) and the bias: `z[pixel, f] = b[f] + Σ_k u[pixel, k]·P[k, f]`,
 * `y = f(z)`. The pointwise step is a dense product over pixels.
 *
 * Backward, with δ = ∂L/∂z: `∂L/∂P = uᵀ·δ`, `∂L/∂b = Σ δ`, `∂L/∂u = δ·Pᵀ`, then the depthwise backward
 * of ∂L/∂u gives ∂L/∂D and ∂L/∂x.
 */
export class SeparableConv2D extends BaseConv2D {
  readonly className = 'SeparableConv2D';
  /** Output channels. */
  readonly filters: number;
  /** Channels of the depthwise step per input channel. */
  readonly depthMultiplier: number;
  /** How the depthwise kernel is initialised. */
  readonly depthwiseInitializer: Initializer;
  /** How the pointwise kernel is initialised. */
  readonly pointwiseInitializer: Initializer;
  private depthwiseWeight: Variable | null = null;
  private pointwiseWeight: Variable | null = null;
  private biasWeight: Variable | null = null;
  /** The depthwise step's window: the layer's, with C·M output channels. */
  private depthwiseGeometry: Conv2DGeometry | null = null;
  /** u, the depthwise step's output (the pointwise step's input). */
  private readonly depthwiseOutput = new BatchBuffer(
    () => this.kernels,
    () => this.depthwiseWidth,
  );
  /** ∂L/∂u. */
  private readonly depthwiseGradient = new BatchBuffer(
    () => this.kernels,
    () => this.depthwiseWidth,
  );

  constructor(options: SeparableConv2DOptions) {
    checkOptions('SeparableConv2D', options, SEPARABLE_CONV_2D_OPTION_KEYS);
    super(options, 'separable_conv2d');
    if (!Number.isInteger(options.filters) || options.filters <= 0) {
      throw new RangeError(`SeparableConv2D: filters must be a positive integer, got ${options.filters}`);
    }
    this.filters = options.filters;
    this.depthMultiplier = checkDepthMultiplier(options.depthMultiplier ?? 1, 'SeparableConv2D');
    this.depthwiseInitializer = getInitializer(options.depthwiseInitializer ?? 'glorot_uniform');
    this.pointwiseInitializer = getInitializer(options.pointwiseInitializer ?? 'glorot_uniform');
  }

  /** The depthwise kernel, shape (kernelHeight, kernelWidth, inputChannels, depthMultiplier). */
  get depthwiseKernel(): Variable {
    if (this.depthwiseWeight === null) throw new Error(`layer '${this.name}' is not built yet`);
    return this.depthwiseWeight;
  }

  /** The pointwise kernel, shape (1, 1, inputChannels·depthMultiplier, filters). */
  get pointwiseKernel(): Variable {
    if (this.pointwiseWeight === null) throw new Error(`layer '${this.name}' is not built yet`);
    return this.pointwiseWeight;
  }

  /** The bias, shape (filters), or null without bias. */
  get bias(): Variable | null {
    return this.biasWeight;
  }

  /** Elements of u per image. */
  private get depthwiseWidth(): number {
    const g = this.depthwiseGeometry!;
    return g.outHeight * g.outWidth * g.outChannels;
  }

  protected outputChannels(): number {
    return this.filters;
  }

  protected createConvWeights(g: Conv2DGeometry, kernels: Kernels): void {
    const channels = g.inChannels * this.depthMultiplier;
    this.depthwiseGeometry = { ...g, outChannels: channels };
    this.depthwiseWeight = this.addWeight(
      'depthwise_kernel',
      [g.kernelHeight, g.kernelWidth, g.inChannels, this.depthMultiplier],
      kernels,
    );
    this.depthwiseInitializer.fill(this.depthwiseWeight.value, this.depthwiseWeight.shape);
    this.pointwiseWeight = this.addWeight('pointwise_kernel', [1, 1, channels, this.filters], kernels);
    this.pointwiseInitializer.fill(this.pointwiseWeight.value, this.pointwiseWeight.shape);
    this.biasWeight = this.createBias(this.filters, kernels);
  }

  protected convolve(input: Float32Array, z: Float32Array, g: Conv2DGeometry): void {
    const depthwise = this.depthwiseGeometry!;
    depthwise.batch = g.batch;
    const u = this.depthwiseOutput.rows(g.batch);
    this.kernels.depthwiseConv2dForward(input, this.depthwiseKernel.value, null, u, depthwise);
    const pixels = g.batch * g.outHeight * g.outWidth;
    this.kernels.denseForward(
      u,
      this.pointwiseKernel.value,
      this.biasWeight?.value ?? null,
      z,
      z,
      pixels,
      depthwise.outChannels,
      this.filters,
      'linear',
    );
  }

  protected convolveBackward(
    delta: Float32Array,
    g: Conv2DGeometry,
    computeWeightGradients: boolean,
    inputGradient: Float32Array | null,
  ): void {
    const depthwise = this.depthwiseGeometry!;
    depthwise.batch = g.batch;
    const pixels = g.batch * g.outHeight * g.outWidth;
    const channels = depthwise.outChannels;
    const u = this.depthwiseOutput.rows(g.batch);
    if (computeWeightGradients) {
      this.kernels.denseBackwardWeights(
        u,
        delta,
        this.pointwiseKernel.gradient,
        this.biasWeight?.gradient ?? null,
        pixels,
        channels,
        this.filters,
      );
    }
    if (!computeWeightGradients && inputGradient === null) return;
    const du = this.depthwiseGradient.rows(g.batch);
    this.kernels.denseBackwardInput(delta, this.pointwiseKernel.value, du, pixels, channels, this.filters);
    if (computeWeightGradients) {
      this.kernels.depthwiseConv2dBackwardWeights(
        this.lastInput!,
        du,
        this.depthwiseKernel.gradient,
        null,
        depthwise,
      );
    }
    if (inputGradient !== null) {
      this.kernels.depthwiseConv2dBackwardInput(du, this.depthwiseKernel.value, inputGradient, depthwise);
    }
  }

  override getConfig(): Record<string, unknown> {
    const window = this.windowConfig();
    return {
      ...super.getConfig(),
      depth_multiplier: this.depthMultiplier,
      filters: this.filters,
      kernel_size: window.kernel_size,
      strides: window.strides,
      padding: window.padding,
      data_format: window.data_format,
      dilation_rate: window.dilation_rate,
      ...this.activationConfig(),
      depthwise_initializer: serializeInitializer(this.depthwiseInitializer),
      pointwise_initializer: serializeInitializer(this.pointwiseInitializer),
      bias_initializer: this.biasInitializerConfig(),
      depthwise_regularizer: null,
      pointwise_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      depthwise_constraint: null,
      pointwise_constraint: null,
      bias_constraint: null,
    };
  }

  override dispose(): void {
    this.depthwiseOutput.release();
    this.depthwiseGradient.release();
    this.depthwiseWeight = this.pointwiseWeight = this.biasWeight = null;
    this.depthwiseGeometry = null;
    super.dispose();
  }
}
