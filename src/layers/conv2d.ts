import {
  getInitializer,
  type Initializer,
  type InitializerLike,
  serializeInitializer,
} from '../initializers/index.js';
import type { Conv2DGeometry, Kernels } from '../kernels/kernels.js';
import { ShapeError } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { BASE_CONV_2D_OPTION_KEYS, BaseConv2D, type BaseConv2DOptions } from './baseConv2D.js';

/** Options of {@link Conv2D}, Keras's names in camelCase. */
export interface Conv2DOptions extends BaseConv2DOptions {
  /** Output channels. */
  filters: number;
  /**
   * Channel groups (default 1): input channels and filters are split into this many blocks, block g of the
   * filters seeing only block g of the inputs. Both counts must divide by it.
   */
  groups?: number;
  /** Initializer of the kernel (default `'glorot_uniform'`, as Keras). */
  kernelInitializer?: InitializerLike;
}

/** The keys of {@link Conv2DOptions}. */
const CONV_2D_OPTION_KEYS = {
  ...BASE_CONV_2D_OPTION_KEYS,
  filters: true,
  groups: true,
  kernelInitializer: true,
} as const satisfies OptionKeys<Conv2DOptions>;

/**
 * A 2-D convolution over channels-last images, as Keras's `Conv2D`: with the kernel K of shape
 * (kh, kw, C/groups, F), `z[n,oy,ox,f] = b[f] + Σ_{ky,kx,c} x[n, oy·sh + ky·dh − pt, ox·sw + kx·dw − pl,
 * g(f)·C/groups + c]·K[ky,kx,c,f]` (a cross-correlation; taps on the padding read zeros), `y = f(z)`.
 *
 * Backward, with δ = ∂L/∂z: `∂L/∂K[ky,kx,c,f] = Σ_{n,oy,ox} x[…]·δ[n,oy,ox,f]` (the input patch under each
 * tap against δ), `∂L/∂b[f] = Σ δ[…,f]`, and `∂L/∂x[n,iy,ix,c] = Σ over the (pixel, tap) pairs that read
 * it of δ·K` (the convolution transposed).
 */
export class Conv2D extends BaseConv2D {
  readonly className = 'Conv2D';
  /** Output channels. */
  readonly filters: number;
  /** Channel groups. */
  readonly groups: number;
  /** How the kernel is initialised. */
  readonly kernelInitializer: Initializer;
  private kernelWeight: Variable | null = null;

  constructor(options: Conv2DOptions) {
    checkOptions('Conv2D', options, CONV_2D_OPTION_KEYS);
    super(options, 'conv2d');
    const filters = this.checkFilters(options.filters);
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups <= 0) {
      throw new RangeError(`Conv2D: groups must be a positive integer, got ${groups}`);
    }
    if (filters % groups !== 0) {
      throw new RangeError(`Conv2D: filters (${filters}) must divide by groups (${groups})`);
    }
    this.filters = filters;
    this.groups = groups;
    this.kernelInitializer = getInitializer(options.kernelInitializer ?? 'glorot_uniform');
  }

  /** The kernel, shape (kernelHeight, kernelWidth, inputChannels/groups, filters). */
  get kernel(): Variable {
    if (this.kernelWeight === null) throw new Error(`layer '${this.name}' is not built yet`);
    return this.kernelWeight;
  }

  protected outputChannels(): number {
    return this.filters;
  }

  protected override get groupCount(): number {
    return this.groups;
  }

  protected createConvWeights(g: Conv2DGeometry, kernels: Kernels): void {
    if (g.inChannels % this.groups !== 0) {
      throw new ShapeError(
        `Conv2D '${this.name}': input channels (${g.inChannels}) must divide by groups (${this.groups})`,
      );
    }
    const shape = [g.kernelHeight, g.kernelWidth, g.inChannels / this.groups, this.filters];
    this.kernelWeight = this.addWeight('kernel', shape, kernels);
    this.kernelInitializer.fill(this.kernelWeight.value, this.kernelWeight.shape);
    this.createBias(this.filters, kernels);
  }

  protected override readonly convolveAppliesRelu = true;

  protected convolve(input: Float32Array, z: Float32Array, g: Conv2DGeometry, relu: boolean): void {
    this.kernels.conv2dForward(input, this.kernel.value, this.bias?.value ?? null, z, g, relu);
  }

  protected convolveBackward(
    delta: Float32Array,
    g: Conv2DGeometry,
    computeWeightGradients: boolean,
    inputGradient: Float32Array | null,
  ): void {
    this.kernels.conv2dBackward(
      this.lastInput!,
      delta,
      this.kernel.value,
      computeWeightGradients ? this.kernel.gradient : null,
      computeWeightGradients ? (this.bias?.gradient ?? null) : null,
      inputGradient,
      g,
    );
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      filters: this.filters,
      ...this.windowConfig(),
      groups: this.groups,
      ...this.activationConfig(),
      kernel_initializer: serializeInitializer(this.kernelInitializer),
      bias_initializer: this.biasInitializerConfig(),
      ...this.unusedPenaltiesConfig(['kernel', 'bias']),
    };
  }

  override dispose(): void {
    this.kernelWeight = null;
    super.dispose();
  }
}
