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

/** Options of {@link DepthwiseConv2D}, Keras's names in camelCase. */
export interface DepthwiseConv2DOptions extends BaseConv2DOptions {
  /** Output channels per input channel (default 1). */
  depthMultiplier?: number;
  /** Initializer of the kernel (default `'glorot_uniform'`, as Keras). */
  depthwiseInitializer?: InitializerLike;
}

/** The keys of {@link DepthwiseConv2DOptions}. */
const DEPTHWISE_CONV_2D_OPTION_KEYS = {
  ...BASE_CONV_2D_OPTION_KEYS,
  depthMultiplier: true,
  depthwiseInitializer: true,
} as const satisfies OptionKeys<DepthwiseConv2DOptions>;

/** Checks Keras's `depth_multiplier`: a positive integer. */
export function checkDepthMultiplier(value: unknown, owner: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(
      `${owner}: depth_multiplier must be a positive integer, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * A depthwise 2-D convolution, as Keras's `DepthwiseConv2D`: each input channel c is convolved on its own
 * with `depthMultiplier` filters, K of shape (kh, kw, C, M), output channel o = c·M + d:
 * `z[n,oy,ox,o] = b[o] + Σ_{ky,kx} x[n, iy, ix, c]·K[ky,kx,c,d]`, `y = f(z)` (iy, ix as in Conv2D).
 *
 * Backward, with δ = ∂L/∂z: `∂L/∂K[ky,kx,c,d] = Σ_{n,oy,ox} x[n,iy,ix,c]·δ[n,oy,ox,o]`, `∂L/∂b[o] = Σ δ[…,o]`,
 * `∂L/∂x[n,iy,ix,c] = Σ over the taps that read it, Σ_d δ[…, c·M + d]·K[ky,kx,c,d]`.
 */
export class DepthwiseConv2D extends BaseConv2D {
  readonly className = 'DepthwiseConv2D';
  /** Output channels per input channel. */
  readonly depthMultiplier: number;
  /** How the kernel is initialised. */
  readonly depthwiseInitializer: Initializer;
  private kernelWeight: Variable | null = null;
  private biasWeight: Variable | null = null;

  constructor(options: DepthwiseConv2DOptions) {
    checkOptions('DepthwiseConv2D', options, DEPTHWISE_CONV_2D_OPTION_KEYS);
    super(options, 'depthwise_conv2d');
    this.depthMultiplier = checkDepthMultiplier(options.depthMultiplier ?? 1, 'DepthwiseConv2D');
    this.depthwiseInitializer = getInitializer(options.depthwiseInitializer ?? 'glorot_uniform');
  }

  /** The kernel, shape (kernelHeight, kernelWidth, inputChannels, depthMultiplier). */
  get kernel(): Variable {
    if (this.kernelWeight === null) throw new Error(`layer '${this.name}' is not built yet`);
    return this.kernelWeight;
  }

  /** The bias, shape (inputChannels·depthMultiplier), or null without bias. */
  get bias(): Variable | null {
    return this.biasWeight;
  }

  protected outputChannels(inputChannels: number): number {
    return inputChannels * this.depthMultiplier;
  }

  protected createConvWeights(g: Conv2DGeometry, kernels: Kernels): void {
    // Keras 3 names it `kernel` (tf.keras wrote `depthwise_kernel`; files match weights by order).
    const shape = [g.kernelHeight, g.kernelWidth, g.inChannels, this.depthMultiplier];
    this.kernelWeight = this.addWeight('kernel', shape, kernels);
    this.depthwiseInitializer.fill(this.kernelWeight.value, this.kernelWeight.shape);
    this.biasWeight = this.createBias(g.outChannels, kernels);
  }

  protected convolve(input: Float32Array, z: Float32Array, g: Conv2DGeometry): void {
    this.kernels.depthwiseConv2dForward(input, this.kernel.value, this.biasWeight?.value ?? null, z, g);
  }

  protected convolveBackward(
    delta: Float32Array,
    g: Conv2DGeometry,
    computeWeightGradients: boolean,
    inputGradient: Float32Array | null,
  ): void {
    if (computeWeightGradients) {
      this.kernels.depthwiseConv2dBackwardWeights(
        this.lastInput!,
        delta,
        this.kernel.gradient,
        this.biasWeight?.gradient ?? null,
        g,
      );
    }
    if (inputGradient !== null) {
      this.kernels.depthwiseConv2dBackwardInput(delta, this.kernel.value, inputGradient, g);
    }
  }

  override getConfig(): Record<string, unknown> {
    const window = this.windowConfig();
    return {
      ...super.getConfig(),
      depth_multiplier: this.depthMultiplier,
      kernel_size: window.kernel_size,
      strides: window.strides,
      padding: window.padding,
      data_format: window.data_format,
      dilation_rate: window.dilation_rate,
      ...this.activationConfig(),
      depthwise_initializer: serializeInitializer(this.depthwiseInitializer),
      bias_initializer: this.biasInitializerConfig(),
      depthwise_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      depthwise_constraint: null,
      bias_constraint: null,
    };
  }

  override dispose(): void {
    this.kernelWeight = null;
    this.biasWeight = null;
    super.dispose();
  }
}
