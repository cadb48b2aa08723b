import type { OptionKeys } from '../kernels/options.js';
import type { Kernels } from '../kernels/kernels.js';
import type { Loss } from '../losses/loss.js';

/** Thrown for a metric warmstart does not know, at `compile`. */
export class UnknownMetricError extends Error {
  override readonly name = 'UnknownMetricError';
}

/** Thrown when a metric cannot apply to a model's outputs and targets (a top-k on one output, say). */
export class MetricShapeError extends Error {
  override readonly name = 'MetricShapeError';
}

/** What a metric's value depends on beyond the predictions: the loss, and the widths of outputs and targets. */
export interface MetricContext {
  /** The compiled loss (`'accuracy'` follows it, as Keras's compile does). */
  loss: Loss;
  /** Values per output row. */
  outputWidth: number;
  /** Values per target row (1 for class indices). */
  targetWidth: number;
}

/**
 * A metric's running state over one pass (an epoch's batches, or one evaluation). `update` runs on the hot path
 * and allocates nothing; every loop over values is a kernel.
 */
export interface MetricAccumulator {
  /** Adds `m` rows of predictions (`n` values each) and their targets (`targetWidth` values each). */
  update(kernels: Kernels, yPred: Float32Array, yTrue: Float32Array, m: number, n: number): void;
  /** The metric over every row added so far (NaN before any). */
  result(kernels: Kernels): number;
  /**
   * The running state as plain numbers (sums and counts), for a checkpoint taken in the middle of an epoch:
   * {@link setState} on a fresh accumulator of the same metric continues exactly.
   */
  getState(): number[];
  /**
   * Restores a state {@link getState} returned.
   * @throws RangeError when `state` does not have this accumulator's length
   */
  setState(state: readonly number[]): void;
}

/** Checks a state given to an accumulator's `setState` (length and numbers). */
export function checkAccumulatorState(state: readonly number[], length: number, owner: string): void {
  if (
    !Array.isArray(state) ||
    state.length !== length ||
    !state.every((value) => typeof value === 'number')
  ) {
    throw new RangeError(
      `${owner}: a saved state of ${length} numbers was expected, got ${JSON.stringify(state)}`,
    );
  }
}

/** Options of the metrics that take only a name (the accuracies, `mae`, `mse`). */
export interface MetricOptions {
  /** Key in logs (default Keras's name of the metric). */
  name?: string;
}

/** The keys of {@link MetricOptions}; metrics with more options add theirs. */
export const METRIC_OPTION_KEYS = { name: true } as const satisfies OptionKeys<MetricOptions>;

/**
 * A metric, as Keras's `keras.metrics.Metric`: a name (the key in logs and `History`), a direction (whether
 * larger is better, which callbacks with `mode: 'auto'` follow) and an accumulator per pass. A metric object
 * holds configuration only, so one object serves training and validation at once.
 */
export abstract class Metric {
  /** Keras's class name (`AUC`, `Precision`, …). */
  abstract readonly className: string;
  /** `'up'` when larger is better (accuracies, AUC), `'down'` for errors. */
  abstract readonly direction: 'up' | 'down';
  /** The key in logs: the string given to `compile` (as Keras 3 names it), or the metric's `name` option. */
  readonly name: string;

  protected constructor(name: string) {
    this.name = name;
  }

  /**
   * A fresh accumulator for a pass over data with these shapes.
   * @throws MetricShapeError when the metric does not apply to these outputs and targets
   */
  abstract accumulator(context: MetricContext): MetricAccumulator;

  /** The same metric reported under another name (what `compile` does with the string it was given). */
  abstract renamed(name: string): Metric;
}

/** Accumulates a per-sample mean: `Σ values / samples`. */
export class MeanAccumulator implements MetricAccumulator {
  private total = 0;
  private samples = 0;

  constructor(
    private readonly sumOfBatch: (
      kernels: Kernels,
      yPred: Float32Array,
      yTrue: Float32Array,
      m: number,
      n: number,
    ) => number,
  ) {}

  update(kernels: Kernels, yPred: Float32Array, yTrue: Float32Array, m: number, n: number): void {
    this.total += this.sumOfBatch(kernels, yPred, yTrue, m, n);
    this.samples += m;
  }

  result(): number {
    return this.samples === 0 ? NaN : this.total / this.samples;
  }

  getState(): number[] {
    return [this.total, this.samples];
  }

  setState(state: readonly number[]): void {
    checkAccumulatorState(state, 2, 'a mean metric');
    [this.total, this.samples] = state;
  }
}
