import { ShapeError, type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkDataFormat, type Pair, requireImageShape, toSides } from './spatial.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Cropping2D}, Keras's names in camelCase. */
export interface Cropping2DOptions extends LayerOptions {
  /**
   * Rows and columns to remove: one integer for every side, `[height, width]` (symmetric), or
   * `[[top, bottom], [left, right]]` (default 0).
   */
  cropping?: number | readonly number[] | readonly (readonly number[])[];
  /** Only `'channels_last'` (the default) is supported. */
  dataFormat?: string | null;
}

/** The keys of {@link Cropping2DOptions}. */
const CROPPING_2D_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  cropping: true,
  dataFormat: true,
} as const satisfies OptionKeys<Cropping2DOptions>;

/**
 * Removes rows and columns at the edges of each image, as Keras's `Cropping2D`:
 * `y[n,i,j,c] = x[n, i + top, j + left, c]`. Backward pads ∂L/∂y with zeros back to the input's shape.
 */
export class Cropping2D extends Layer {
  readonly className = 'Cropping2D';
  /** ((top, bottom), (left, right)). */
  readonly cropping: readonly [Pair, Pair];
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.computeOutputShape(this.inputShape!)),
  );
  private readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );

  constructor(options: Cropping2DOptions = {}) {
    checkOptions('Cropping2D', options, CROPPING_2D_OPTION_KEYS);
    super(options, 'cropping2d');
    this.cropping = toSides(options.cropping ?? 0, 'cropping', 'Cropping2D');
    checkDataFormat(options.dataFormat, 'Cropping2D');
  }

  computeOutputShape(inputShape: Shape): Shape {
    requireImageShape(inputShape, `Cropping2D '${this.name}'`);
    const [[top, bottom], [left, right]] = this.cropping;
    if (top + bottom >= inputShape[0] || left + right >= inputShape[1]) {
      throw new ShapeError(
        `Cropping2D '${this.name}': cropping ((${top}, ${bottom}), (${left}, ${right})) leaves nothing of a ${inputShape[0]}×${inputShape[1]} image`,
      );
    }
    return [inputShape[0] - top - bottom, inputShape[1] - left - right, inputShape[2]];
  }

  forward(input: Float32Array, batch: number): Float32Array {
    const [height, width, channels] = this.inputShape!;
    const [[top, bottom], [left, right]] = this.cropping;
    const y = this.output.rows(batch);
    this.kernels.crop2d(input, y, batch, height, width, channels, top, bottom, left, right);
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
    const [[top, bottom], [left, right]] = this.cropping;
    const dx = this.inputGradient.rows(batch);
    this.kernels.zeroPad2d(outputGradient, dx, batch, height, width, channels, top, bottom, left, right);
    return dx;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      cropping: this.cropping.map((pair) => [...pair]),
      data_format: 'channels_last',
    };
  }

  override dispose(): void {
    this.output.release();
    this.inputGradient.release();
    super.dispose();
  }
}
