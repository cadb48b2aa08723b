import type { AucCurve, AucSummation, Kernels } from '../kernels/kernels.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import {
  checkAccumulatorState,
  Metric,
  type MetricAccumulator,
  type MetricContext,
  MetricShapeError,
} from './metric.js';

/*
 * Confusion-matrix metrics flatten predictions and targets (Keras's `multi_label=False`): every output value
 * is one binary decision, its target positive when non-zero. Targets must therefore be as wide as the outputs.
 */
function checkWidths(name: string, context: MetricContext): void {
  if (context.targetWidth !== context.outputWidth) {
    throw new MetricShapeError(
      `metric '${name}' compares each output with its target: it needs ${context.outputWidth} target values per sample (the output width), got ${context.targetWidth}`,
    );
  }
}

/** Counts of true/false positives/negatives per threshold, accumulated by kernels. */
class ConfusionAccumulator implements MetricAccumulator {
  private readonly counts: Float64Array;
  private seen = 0;

  constructor(
    private readonly thresholds: Float32Array | number,
    private readonly summarize: (kernels: Kernels, counts: Float64Array, thresholds: number) => number,
  ) {
    const count = typeof thresholds === 'number' ? thresholds : thresholds.length;
    this.counts = new Float64Array(4 * count);
  }

  update(kernels: Kernels, yPred: Float32Array, yTrue: Float32Array, m: number, n: number): void {
    if (typeof this.thresholds === 'number') {
      kernels.confusionCountsEvenThresholds(yPred, yTrue, m * n, this.thresholds, this.counts);
    } else {
      kernels.confusionCounts(yPred, yTrue, m * n, this.thresholds, this.counts);
    }
    this.seen += m;
  }

  result(kernels: Kernels): number {
    if (this.seen === 0) return NaN;
    const count = typeof this.thresholds === 'number' ? this.thresholds : this.thresholds.length;
    return this.summarize(kernels, this.counts, count);
  }

  getState(): number[] {
    return [this.seen, ...this.counts];
  }

  setState(state: readonly number[]): void {
    checkAccumulatorState(state, 1 + this.counts.length, 'a confusion-matrix metric');
    this.seen = state[0];
    this.counts.set(state.slice(1));
  }
}

function checkThreshold(threshold: number, className: string): number {
  if (!(threshold >= 0 && threshold <= 1))
    throw new RangeError(`${className}: thresholds must be in [0, 1], got ${threshold}`);
  return threshold;
}

/** Options of {@link Precision} and {@link Recall}. */
export interface ThresholdMetricOptions {
  /** A prediction is positive when above this (default 0.5). */
  threshold?: number;
  /** Key in logs (default `precision` / `recall`). */
  name?: string;
}

/** The keys of {@link ThresholdMetricOptions}. */
const THRESHOLD_METRIC_OPTION_KEYS = {
  threshold: true,
  name: true,
} as const satisfies OptionKeys<ThresholdMetricOptions>;

/**
 * Keras's `Precision`: `TP / (TP + FP)` over everything seen (0 when nothing was predicted positive), a
 * prediction being positive when `p > threshold` (default 0.5).
 */
export class Precision extends Metric {
  readonly className = 'Precision';
  readonly direction = 'up' as const;
  /** The decision threshold. */
  readonly threshold: number;
  constructor(options: ThresholdMetricOptions = {}) {
    checkOptions('Precision', options, THRESHOLD_METRIC_OPTION_KEYS);
    super(options.name ?? 'precision');
    this.threshold = checkThreshold(options.threshold ?? 0.5, this.className);
  }
  accumulator(context: MetricContext): MetricAccumulator {
    checkWidths(this.name, context);
    // counts: [TP, FP, TN, FN] for the one threshold.
    return new ConfusionAccumulator(Float32Array.of(this.threshold), (_kernels, counts) =>
      counts[0] + counts[1] === 0 ? 0 : counts[0] / (counts[0] + counts[1]),
    );
  }
  renamed(name: string): Metric {
    return new Precision({ threshold: this.threshold, name });
  }
}

/**
 * Keras's `Recall`: `TP / (TP + FN)` over everything seen (0 when there were no positives), a prediction being
 * positive when `p > threshold` (default 0.5).
 */
export class Recall extends Metric {
  readonly className = 'Recall';
  readonly direction = 'up' as const;
  /** The decision threshold. */
  readonly threshold: number;
  constructor(options: ThresholdMetricOptions = {}) {
    checkOptions('Recall', options, THRESHOLD_METRIC_OPTION_KEYS);
    super(options.name ?? 'recall');
    this.threshold = checkThreshold(options.threshold ?? 0.5, this.className);
  }
  accumulator(context: MetricContext): MetricAccumulator {
    checkWidths(this.name, context);
    return new ConfusionAccumulator(Float32Array.of(this.threshold), (_kernels, counts) =>
      counts[0] + counts[3] === 0 ? 0 : counts[0] / (counts[0] + counts[3]),
    );
  }
  renamed(name: string): Metric {
    return new Recall({ threshold: this.threshold, name });
  }
}

/** Options of {@link AUC}, Keras's names in camelCase. */
export interface AucOptions {
  /** Thresholds that discretize the curve (default 200; at least 2). */
  numThresholds?: number;
  /** `'ROC'` (default) or `'PR'`. */
  curve?: AucCurve;
  /** `'interpolation'` (default), `'minoring'` or `'majoring'`. */
  summationMethod?: AucSummation;
  /** Key in logs (default `auc`). */
  name?: string;
}

/** The keys of {@link AucOptions}. */
const AUC_OPTION_KEYS = {
  numThresholds: true,
  curve: true,
  summationMethod: true,
  name: true,
} as const satisfies OptionKeys<AucOptions>;

/**
 * Keras's `AUC`: the area under the ROC (or PR) curve, approximated over `numThresholds` evenly spaced
 * thresholds `[−ε, 1/(T−1), …, 1 + ε]` from confusion counts accumulated over everything seen; predictions
 * should be probabilities. The counts and the sum follow Keras's `AUC.update_state` and `result()` exactly.
 */
export class AUC extends Metric {
  readonly className = 'AUC';
  readonly direction = 'up' as const;
  /** Number of thresholds. */
  readonly numThresholds: number;
  /** The curve integrated. */
  readonly curve: AucCurve;
  /** How rectangles are summed. */
  readonly summationMethod: AucSummation;
  constructor(options: AucOptions = {}) {
    checkOptions('AUC', options, AUC_OPTION_KEYS);
    super(options.name ?? 'auc');
    const thresholds = options.numThresholds ?? 200;
    if (!Number.isInteger(thresholds) || thresholds < 2)
      throw new RangeError(`AUC: numThresholds must be an integer > 1, got ${thresholds}`);
    this.numThresholds = thresholds;
    this.curve = options.curve ?? 'ROC';
    if (this.curve !== 'ROC' && this.curve !== 'PR')
      throw new RangeError(`AUC: curve must be 'ROC' or 'PR', got '${String(this.curve)}'`);
    this.summationMethod = options.summationMethod ?? 'interpolation';
    if (!['interpolation', 'minoring', 'majoring'].includes(this.summationMethod)) {
      throw new RangeError(
        `AUC: summationMethod must be 'interpolation', 'minoring' or 'majoring', got '${String(this.summationMethod)}'`,
      );
    }
  }
  accumulator(context: MetricContext): MetricAccumulator {
    checkWidths(this.name, context);
    return new ConfusionAccumulator(this.numThresholds, (kernels, counts, thresholds) =>
      kernels.areaUnderCurve(counts, thresholds, this.curve, this.summationMethod),
    );
  }
  renamed(name: string): Metric {
    return new AUC({
      numThresholds: this.numThresholds,
      curve: this.curve,
      summationMethod: this.summationMethod,
      name,
    });
  }
}
