import type { Conv2DGeometry, Kernels } from '../kernels/kernels.js';
import { type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import {
  checkDataFormat,
  type PaddingMode,
  type Pair,
  type PairLike,
  toPaddingMode,
  toPair,
  windowGeometry,
} from './spatial.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link MaxPooling2D} and {@link AveragePooling2D}, Keras's names in camelCase. */
export interface Pooling2DOptions extends LayerOptions {
  /** Window size (default 2×2). */
  poolSize?: PairLike;
  /** Window step (default: the pool size). */
  strides?: PairLike | null;
  /** `'valid'` (default) or `'same'`: windows overhanging the input are cut to the part inside it. */
  padding?: string;
  /** Only `'channels_last'` (the default) is supported. */
  dataFormat?: string | null;
}

/** The keys of {@link Pooling2DOptions}. */
const POOLING_2D_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  poolSize: true,
  strides: true,
  padding: true,
  dataFormat: true,
} as const satisfies OptionKeys<Pooling2DOptions>;

/** What max and average pooling share (Keras's `BasePooling`): the window and the buffers. */
abstract class Pooling2D extends Layer {
  /** Window size (height, width). */
  readonly poolSize: Pair;
  /** Window step (height, width). */
  readonly strides: Pair;
  /** `'valid'` or `'same'`. */
  readonly padding: PaddingMode;
  protected geometry: Conv2DGeometry | null = null;
  protected lastInput: Float32Array | null = null;
  protected readonly output = new BatchBuffer(
    () => this.kernels,
    () => this.outputWidth,
  );
  protected readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );

  protected constructor(options: Pooling2DOptions, defaultPrefix: string) {
    checkOptions(new.target.name, options, POOLING_2D_OPTION_KEYS);
    super(options, defaultPrefix);
    const owner = new.target.name;
    this.poolSize = toPair(options.poolSize ?? 2, 'pool_size', owner);
    this.strides = toPair(options.strides ?? this.poolSize, 'strides', owner);
    this.padding = toPaddingMode(options.padding ?? 'valid', owner);
    checkDataFormat(options.dataFormat, owner);
  }

  private geometryFor(inputShape: Shape): Conv2DGeometry {
    const window = { kernelSize: this.poolSize, strides: this.strides, dilationRate: [1, 1] as const };
    return windowGeometry(
      inputShape,
      { ...window, padding: this.padding },
      inputShape[2],
      1,
      `${this.className} '${this.name}'`,
    );
  }

  computeOutputShape(inputShape: Shape): Shape {
    const g = this.geometryFor(inputShape);
    return [g.outHeight, g.outWidth, g.outChannels];
  }

  protected override createWeights(inputShape: Shape, _kernels: Kernels): void {
    this.geometry = this.geometryFor(inputShape);
  }

  private get outputWidth(): number {
    const g = this.geometry!;
    return g.outHeight * g.outWidth * g.outChannels;
  }

  /** The geometry with the batch set (built layers only). */
  protected geometryOf(batch: number): Conv2DGeometry {
    if (this.geometry === null) throw new Error(`layer '${this.name}' is not built yet`);
    this.geometry.batch = batch;
    return this.geometry;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      pool_size: [...this.poolSize],
      padding: this.padding,
      strides: [...this.strides],
      data_format: 'channels_last',
    };
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
 * Max pooling over 2-D windows, as Keras's `MaxPooling2D`: `y[n,oy,ox,c]` is the largest
 * `x[n, oy·sh + ky − pt, ox·sw + kx − pl, c]` over the window's positions inside the input.
 *
 * Backward: each window's ∂L/∂y goes to the position that held its maximum (the first, in row-major window
 * order, on ties), adding up where windows overlap; every other input gets 0.
 */
export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';

  constructor(options: Pooling2DOptions = {}) {
    super(options, 'max_pooling2d');
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
    if (this.lastInput === null) throw new Error(`MaxPooling2D '${this.name}': backward before forward`);
    const dx = this.inputGradient.rows(batch);
    const g = this.geometryOf(batch);
    this.kernels.maxPool2dBackward(this.lastInput, this.output.rows(batch), outputGradient, dx, g);
    return dx;
  }
}

/**
 * Average pooling over 2-D windows, as Keras's `AveragePooling2D`: `y[n,oy,ox,c]` is the mean of `x` over
 * the window's positions inside the input (with `'same'`, padding is not counted).
 *
 * Backward: each window's ∂L/∂y divided by its count goes to each of its positions, adding up where windows
 * overlap.
 */
export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';

  constructor(options: Pooling2DOptions = {}) {
    super(options, 'average_pooling2d');
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
