import { checkOptions, type OptionKeys } from '../kernels/options.js';
import {
  MeanAccumulator,
  Metric,
  type MetricAccumulator,
  type MetricContext,
  MetricShapeError,
} from './metric.js';

/** Options of the top-k accuracies. */
export interface TopKOptions {
  /** How many of the largest predictions count (default 5, as Keras). */
  k?: number;
  /** Key in logs (default Keras's `top_k_categorical_accuracy` / `sparse_top_k_categorical_accuracy`). */
  name?: string;
}

/** The keys of {@link TopKOptions}. */
const TOP_K_OPTION_KEYS = { k: true, name: true } as const satisfies OptionKeys<TopKOptions>;

function checkK(k: number, className: string): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${className}: k must be an integer ≥ 1, got ${k}`);
  return k;
}

/**
 * Keras's `TopKCategoricalAccuracy` (`'top_k_categorical_accuracy'`): how often the true class (the argmax of a
 * one-hot target) is among the k largest predictions; a prediction tied with the k-th largest counts as in.
 */
export class TopKCategoricalAccuracy extends Metric {
  readonly className = 'TopKCategoricalAccuracy';
  readonly direction = 'up' as const;
  /** How many of the largest predictions count. */
  readonly k: number;
  constructor(options: TopKOptions = {}) {
    checkOptions('TopKCategoricalAccuracy', options, TOP_K_OPTION_KEYS);
    super(options.name ?? 'top_k_categorical_accuracy');
    this.k = checkK(options.k ?? 5, this.className);
  }
  accumulator(context: MetricContext): MetricAccumulator {
    if (context.targetWidth !== context.outputWidth) {
      throw new MetricShapeError(
        `metric '${this.name}' needs one-hot targets of ${context.outputWidth} values (the output width), got ${context.targetWidth} per sample: use 'sparse_top_k_categorical_accuracy' for class indices`,
      );
    }
    return new MeanAccumulator((kernels, yPred, yTrue, m, n) =>
      kernels.metricSum('top_k_categorical_accuracy', yPred, yTrue, m, n, n, this.k),
    );
  }
  renamed(name: string): Metric {
    return new TopKCategoricalAccuracy({ k: this.k, name });
  }
}

/**
 * Keras's `SparseTopKCategoricalAccuracy` (`'sparse_top_k_categorical_accuracy'`): how often the class index is
 * among the k largest predictions; a prediction tied with the k-th largest counts as in.
 */
export class SparseTopKCategoricalAccuracy extends Metric {
  readonly className = 'SparseTopKCategoricalAccuracy';
  readonly direction = 'up' as const;
  /** How many of the largest predictions count. */
  readonly k: number;
  constructor(options: TopKOptions = {}) {
    checkOptions('SparseTopKCategoricalAccuracy', options, TOP_K_OPTION_KEYS);
    super(options.name ?? 'sparse_top_k_categorical_accuracy');
    this.k = checkK(options.k ?? 5, this.className);
  }
  accumulator(context: MetricContext): MetricAccumulator {
    if (context.targetWidth !== 1) {
      throw new MetricShapeError(
        `metric '${this.name}' needs one class index per sample, got ${context.targetWidth} values: use 'top_k_categorical_accuracy' for one-hot targets`,
      );
    }
    return new MeanAccumulator((kernels, yPred, yTrue, m, n) =>
      kernels.metricSum('sparse_top_k_categorical_accuracy', yPred, yTrue, m, n, 1, this.k),
    );
  }
  renamed(name: string): Metric {
    return new SparseTopKCategoricalAccuracy({ k: this.k, name });
  }
}
