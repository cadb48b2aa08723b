import { ShapeError, type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { Merge } from './merge.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Concatenate}. */
export interface ConcatenateOptions extends LayerOptions {
  /** The axis to join along; only the last one (Keras's default, −1) is supported. */
  axis?: number;
}

/** The keys of {@link ConcatenateOptions}. */
const CONCATENATE_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  axis: true,
} as const satisfies OptionKeys<ConcatenateOptions>;

/**
 * Joins its inputs along the last axis, as Keras's `Concatenate` (the wide-and-deep model's
 * `Concatenate()([input_, hidden2])`). Seen as matrices of rows (batch × all axes but the last), input i fills
 * columns `[oᵢ, oᵢ + wᵢ)` of the output, and `∂L/∂xᵢ` is those columns of `∂L/∂y`.
 */
export class Concatenate extends Merge {
  readonly className = 'Concatenate';
  /** The axis as given (−1 or the last axis's index counting the batch axis). */
  readonly axis: number;
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => this.outputWidth,
  );
  private inputGradients: BatchBuffer[] = [];

  constructor(options: ConcatenateOptions = {}) {
    checkOptions('Concatenate', options, CONCATENATE_OPTION_KEYS);
    super(options, 'concatenate');
    this.axis = options.axis ?? -1;
    if (!Number.isInteger(this.axis))
      throw new RangeError(`Concatenate: axis must be an integer, got ${this.axis}`);
  }

  private get outputWidth(): number {
    return sizeOf(this.computeMergedShape(this.inputShapes ?? []));
  }

  computeMergedShape(inputShapes: readonly Shape[]): Shape {
    if (inputShapes.length === 0) return [];
    const first = inputShapes[0];
    const rank = first.length + 1;
    const axis = this.axis < 0 ? this.axis + rank : this.axis;
    const describe = (): string => inputShapes.map((s) => `[${s.join(', ')}]`).join(', ');
    if (first.length === 0 || axis !== rank - 1) {
      throw new ShapeError(
        `Concatenate '${this.name}': only the last axis can be joined (axis -1), got axis ${this.axis} for inputs ${describe()}`,
      );
    }
    let last = 0;
    for (const shape of inputShapes) {
      const leading = shape.slice(0, -1).join(',');
      if (shape.length !== first.length || leading !== first.slice(0, -1).join(',')) {
        throw new ShapeError(
          `Concatenate '${this.name}' needs inputs that agree on all axes but the last, got ${describe()}`,
        );
      }
      last += shape[shape.length - 1];
    }
    return [...first.slice(0, -1), last];
  }

  /** Rows of the batch seen as a matrix (all axes but the last), and each input's width. */
  private layout(batch: number): { rows: number; widths: number[]; total: number } {
    const shapes = this.inputShapes!;
    const widths = shapes.map((shape) => shape[shape.length - 1]);
    const total = widths.reduce((sum, width) => sum + width, 0);
    return { rows: (batch * sizeOf(shapes[0])) / widths[0], widths, total };
  }

  forwardMerged(inputs: readonly Float32Array[], batch: number): Float32Array {
    const { rows, widths, total } = this.layout(batch);
    const output = this.output.rows(batch);
    let offset = 0;
    for (let i = 0; i < inputs.length; i++) {
      this.kernels.copyColumns(inputs[i], widths[i], 0, output, total, offset, rows, widths[i]);
      offset += widths[i];
    }
    return output;
  }

  backwardMerged(
    outputGradient: Float32Array,
    batch: number,
    computeInputGradients: readonly boolean[],
  ): Array<Float32Array | null> {
    const { rows, widths, total } = this.layout(batch);
    const shapes = this.inputShapes!;
    while (this.inputGradients.length < shapes.length) {
      const index = this.inputGradients.length;
      this.inputGradients.push(
        new BatchBuffer(
          () => this.kernels,
          () => sizeOf(shapes[index]),
        ),
      );
    }
    let offset = 0;
    return computeInputGradients.map((needed, i) => {
      const start = offset;
      offset += widths[i];
      if (!needed) return null;
      const gradient = this.inputGradients[i].rows(batch);
      this.kernels.copyColumns(outputGradient, total, start, gradient, widths[i], 0, rows, widths[i]);
      return gradient;
    });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }

  override dispose(): void {
    this.output.release();
    for (const buffer of this.inputGradients) buffer.release();
    super.dispose();
  }
}
