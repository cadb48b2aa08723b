import { type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkDataFormat, type Pair, requireImageShape, toSides } from './spatial.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link ZeroPadding2D}, Keras's names in camelCase. */
export interface ZeroPadding2DOptions extends LayerOptions {
  /**
   * Rows and columns of zeros to add: one integer for every side, `[height, width]` (symmetric), or
   * `[[top, bottom], [left, right]]` (default 1).
   */
  padding?: number | readonly number[] | readonly (readonly number[])[];
  /** Only `'channels_last'` (the default) is supported. */
  dataFormat?: string | null;
}

/** The keys of {@link ZeroPadding2DOptions}. */
const ZERO_PADDING_2D_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  padding: true,
  dataFormat: true,
} as const satisfies OptionKeys<ZeroPadding2DOptions>;

/**
 * Adds rows and columns of zeros around each image, as Keras's `ZeroPadding2D`:
 * `y[n, i + top, j + left, c] = x[n,i,j,c]`, zeros elsewhere. Backward crops ∂L/∂y back to the input's
 * place.
 */
export class ZeroPadding2D extends Layer {
  readonly className = 'ZeroPadding2D';
  /** ((top, bottom), (left, right)). */
  readonly padding: readonly [Pair, Pair];
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.computeOutputShape(this.inputShape!)),
  );
  private readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );

  constructor(options: ZeroPadding2DOptions = {}) {
    checkOptions('ZeroPadding2D', options, ZERO_PADDING_2D_OPTION_KEYS);
    super(options, 'zero_padding2d');
    this.padding = toSides(options.padding ?? 1, 'padding', 'ZeroPadding2D');
    checkDataFormat(options.dataFormat, 'ZeroPadding2D');
  }

  computeOutputShape(inputShape: Shape): Shape {
    requireImageShape(inputShape, `ZeroPadding2D '${this.name}'`);
    const [[top, bottom], [left, right]] = this.padding;
    return [inputShape[0] + top + bottom, inputShape[1] + left + right, inputShape[2]];
  }

  forward(input: Float32Array, batch: number): Float32Array {
    const [height, width, channels] = this.inputShape!;
    const [[top, bottom], [left, right]] = this.padding;
    const y = this.output.rows(batch);
    this.kernels.zeroPad2d(input, y, batch, height, width, channels, top, bottom, left, right);
    return y;
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
  ): Float32Array | null {
    if (!computeInputGradient) return null;
    const [height, width, channels] = this.computeOutputShape(this.inputShape!);
    const [[top, bottom], [left, right]] = this.padding;
    const dx = this.inputGradient.rows(batch);
    this.kernels.crop2d(outputGradient, dx, batch, height, width, channels, top, bottom, left, right);
    return dx;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      padding: this.padding.map((pair) => [...pair]),
      data_format: 'channels_last',
    };
  }

  override dispose(): void {
    this.output.release();
    this.inputGradient.release();
    super.dispose();
  }
}
