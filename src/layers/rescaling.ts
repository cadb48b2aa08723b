import type { Kernels } from '../kernels/kernels.js';
import { ShapeError, type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Rescaling}. */
export interface RescalingOptions extends LayerOptions {
  /** Factor: one number, or one per channel (the last axis). */
  scale: number | readonly number[];
  /** Added after scaling: one number, or one per channel (default 0). */
  offset?: number | readonly number[];
}

/** The keys of {@link RescalingOptions}. */
const RESCALING_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  scale: true,
  offset: true,
} as const satisfies OptionKeys<RescalingOptions>;

function checkFactor(value: unknown, name: string): number | readonly number[] {
  const valid =
    (typeof value === 'number' && Number.isFinite(value)) ||
    (Array.isArray(value) &&
      value.length > 0 &&
      value.every((v) => typeof v === 'number' && Number.isFinite(v)));
  if (!valid) {
    throw new RangeError(
      `Rescaling: ${name} must be a finite number or a list of them (one per channel), got ${JSON.stringify(value)}`,
    );
  }
  return typeof value === 'number' ? value : Object.freeze([...(value as number[])]);
}

/**
 * Rescales every value, as Keras's `Rescaling`: `y = x·scale + offset` (per channel when given as lists),
 * in training and inference alike (`1/255` turns 0–255 pixels into [0, 1]; `1/127.5` with offset −1 into
 * [−1, 1]). Backward: `∂L/∂x = ∂L/∂y·scale`.
 */
export class Rescaling extends Layer {
  readonly className = 'Rescaling';
  /** The factor(s), as given. */
  readonly scale: number | readonly number[];
  /** The offset(s), as given. */
  readonly offset: number | readonly number[];
  /** Scale and offset per column of the rows the kernels see (one column when both are numbers). */
  private scaleValues: Float32Array | null = null;
  private offsetValues: Float32Array | null = null;
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );
  private readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );

  constructor(options: RescalingOptions) {
    checkOptions('Rescaling', options, RESCALING_OPTION_KEYS);
    super(options, 'rescaling');
    this.scale = checkFactor(options.scale, 'scale');
    this.offset = checkFactor(options.offset ?? 0, 'offset');
  }

  /** Columns of the rows the kernels see: the channels when a factor is per channel, else 1. */
  private columnsFor(inputShape: Shape): number {
    const perChannel = [this.scale, this.offset].filter((v): v is readonly number[] => Array.isArray(v));
    if (perChannel.length === 0) return 1;
    const channels = inputShape.length === 0 ? 1 : inputShape[inputShape.length - 1];
    for (const values of perChannel) {
      if (values.length !== channels && values.length !== 1) {
        throw new ShapeError(
          `Rescaling '${this.name}': ${values.length} per-channel factors for inputs with ${channels} channels (shape [${inputShape.join(', ')}])`,
        );
      }
    }
    return channels;
  }

  computeOutputShape(inputShape: Shape): Shape {
    this.columnsFor(inputShape);
    return inputShape;
  }

  protected override createWeights(inputShape: Shape, kernels: Kernels): void {
    const columns = this.columnsFor(inputShape);
    const expand = (value: number | readonly number[]): Float32Array => {
      const values = kernels.alloc(columns);
      for (let j = 0; j < columns; j++)
        values[j] = typeof value === 'number' ? value : value[value.length === 1 ? 0 : j];
      return values;
    };
    this.scaleValues = expand(this.scale);
    this.offsetValues = expand(this.offset);
  }

  private get columns(): number {
    return this.scaleValues!.length;
  }

  forward(input: Float32Array, batch: number): Float32Array {
    const y = this.output.rows(batch);
    const columns = this.columns;
    const rows = (batch * sizeOf(this.inputShape!)) / columns;
    this.kernels.channelAffine(input, y, rows, columns, this.scaleValues!, this.offsetValues);
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
    const columns = this.columns;
    const rows = (batch * sizeOf(this.inputShape!)) / columns;
    this.kernels.channelAffine(outputGradient, dx, rows, columns, this.scaleValues!, null);
    return dx;
  }

  override getConfig(): Record<string, unknown> {
    const plain = (value: number | readonly number[]): number | number[] =>
      typeof value === 'number' ? value : [...value];
    return { ...super.getConfig(), scale: plain(this.scale), offset: plain(this.offset) };
  }

  override dispose(): void {
    this.output.release();
    this.inputGradient.release();
    if (this.built) {
      if (this.scaleValues !== null) this.kernels.free(this.scaleValues);
      if (this.offsetValues !== null) this.kernels.free(this.offsetValues);
    }
    this.scaleValues = this.offsetValues = null;
    super.dispose();
  }
}
