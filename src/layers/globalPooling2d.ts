import type { Conv2DGeometry, Kernels } from '../kernels/kernels.js';
import { type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkDataFormat, requireImageShape } from './spatial.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link GlobalAveragePooling2D} and {@link GlobalMaxPooling2D}. */
export interface GlobalPooling2DOptions extends LayerOptions {
  /** Keep the spatial axes as 1×1 (`[1, 1, channels]`) instead of dropping them (default false). */
  keepdims?: boolean;
  /** Only `'channels_last'` (the default) is supported. */
  dataFormat?: string | null;
}

/** The keys of {@link GlobalPooling2DOptions}. */
const GLOBAL_POOLING_2D_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  keepdims: true,
  dataFormat: true,
} as const satisfies OptionKeys<GlobalPooling2DOptions>;

/**
 * What the global poolings share: one window covering the whole image, so they run on the pooling kernels
 * with a height × width window.
 */
abstract class GlobalPooling2D extends Layer {
  /** Whether the output keeps 1×1 spatial axes. */
  readonly keepdims: boolean;
  protected geometry: Conv2DGeometry | null = null;
  protected lastInput: Float32Array | null = null;
  protected readonly output = new BatchBuffer(
    () => this.kernels,
    () => this.geometry!.inChannels,
  );
  protected readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );

  protected constructor(options: GlobalPooling2DOptions, defaultPrefix: string) {
    checkOptions(new.target.name, options, GLOBAL_POOLING_2D_OPTION_KEYS);
    super(options, defaultPrefix);
    checkDataFormat(options.dataFormat, new.target.name);
    this.keepdims = options.keepdims ?? false;
  }

  computeOutputShape(inputShape: Shape): Shape {
    requireImageShape(inputShape, `${this.className} '${this.name}'`);
    return this.keepdims ? [1, 1, inputShape[2]] : [inputShape[2]];
  }

  protected override createWeights(inputShape: Shape, _kernels: Kernels): void {
    const [height, width, channels] = inputShape;
    this.geometry = {
      batch: 0,
      inHeight: height,
      inWidth: width,
      inChannels: channels,
      outHeight: 1,
      outWidth: 1,
      outChannels: channels,
      kernelHeight: height,
      kernelWidth: width,
      strideHeight: 1,
      strideWidth: 1,
      dilationHeight: 1,
      dilationWidth: 1,
      padTop: 0,
      padLeft: 0,
      groups: 1,
    };
  }

  /** The geometry with the batch set (built layers only). */
  protected geometryOf(batch: number): Conv2DGeometry {
    if (this.geometry === null) throw new Error(`layer '${this.name}' is not built yet`);
    this.geometry.batch = batch;
    return this.geometry;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), data_format: 'channels_last', keepdims: this.keepdims };
  }

  override dispose(): void {
    this.output.release();
    this.inputGradient.release();
    this.geometry = null;
    this.lastInput = null;
    super.dispose();
  }
}

/**
 * The mean of each channel over the image, as Keras's `GlobalAveragePooling2D`:
 * `y[n,c] = Σ_{i,j} x[n,i,j,c] / (h·w)`; backward spreads `∂L/∂y[n,c] / (h·w)` over every pixel.
 */
export class GlobalAveragePooling2D extends GlobalPooling2D {
  readonly className = 'GlobalAveragePooling2D';

  constructor(options: GlobalPooling2DOptions = {}) {
    super(options, 'global_average_pooling2d');
  }

  forward(input: Float32Array, batch: number): Float32Array {
    const y = this.output.rows(batch);
    this.kernels.averagePool2dForward(input, y, this.geometryOf(batch));
    return y;
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
  ): Float32Array | null {
    if (!computeInputGradient) return null;
    const dx = this.inputGradient.rows(batch);
    this.kernels.averagePool2dBackward(outputGradient, dx, this.geometryOf(batch));
    return dx;
  }
}

/**
 * The largest value of each channel over the image, as Keras's `GlobalMaxPooling2D`:
 * `y[n,c] = max_{i,j} x[n,i,j,c]`; backward sends ∂L/∂y[n,c] to the (first) pixel holding the maximum.
 */
export class GlobalMaxPooling2D extends GlobalPooling2D {
  readonly className = 'GlobalMaxPooling2D';

  constructor(options: GlobalPooling2DOptions = {}) {
    super(options, 'global_max_pooling2d');
  }

  forward(input: Float32Array, batch: number): Float32Array {
    const y = this.output.rows(batch);
    this.kernels.maxPool2dForward(input, y, this.geometryOf(batch));
    this.lastInput = input;
    return y;
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
  ): Float32Array | null {
    if (!computeInputGradient) return null;
    if (this.lastInput === null)
      throw new Error(`GlobalMaxPooling2D '${this.name}': backward before forward`);
    const dx = this.inputGradient.rows(batch);
    const g = this.geometryOf(batch);
    this.kernels.maxPool2dBackward(this.lastInput, this.output.rows(batch), outputGradient, dx, g);
    return dx;
  }
}
