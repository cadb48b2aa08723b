import type { OptionKeys } from '../kernels/options.js';
import { MeanAccumulator, type MetricAccumulator, type MetricContext, MetricShapeError } from './metric.js';
import { OptionsMetric } from './optionsMetric.js';

/** Options of the top-k accuracies. */
export interface TopKOptions {
  /** How many of the largest predictions count (default 5, as Keras). */
  k?: number;
  /** Key in logs (default Keras's `top_k_categorical_accuracy` / `sparse_top_k_categorical_accuracy`). */
  name?: string;
}

/** The keys of {@link TopKOptions}. */
const TOP_K_OPTION_KEYS = { k: true, name: true } as const satisfies OptionKeys<TopKOptions>;

/** What the top-k accuracies share: k, checked; larger is better. */
abstract class TopKMetric extends OptionsMetric<TopKOptions> {
  readonly direction = 'up' as const;
  /** How many of the largest predictions count. */
  readonly k: number;

  protected constructor(options: TopKOptions, className: string, defaultName: string) {
    super(options, className, TOP_K_OPTION_KEYS, defaultName);
    const k = options.k ?? 5;
    if (!Number.isInteger(k) || k < 1)
      throw new RangeError(`${className}: k must be an integer ≥ 1, got ${k}`);
    this.k = k;
  }

  protected override settings(): Omit<TopKOptions, 'name'> {
    return { k: this.k };
  }
}

/**
 * Keras's `TopKCategoricalAccuracy` (`'top_k_categorical_accuracy'`): how often the true class (the argmax of a
 * one-hot target) is among the k largest predictions; a prediction tied with the k-th largest counts as in.
 */
export class TopKCategoricalAccuracy extends TopKMetric {
  readonly className = 'TopKCategoricalAccuracy';
  constructor(options: TopKOptions = {}) {
    super(options, 'TopKCategoricalAccuracy', 'top_k_categorical_accuracy');
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
}

/**
 * Keras's `SparseTopKCategoricalAccuracy` (`'sparse_top_k_categorical_accuracy'`): how often the class index is
 * among the k largest predictions; a prediction tied with the k-th largest counts as in.
 */
export class SparseTopKCategoricalAccuracy extends TopKMetric {
  readonly className = 'SparseTopKCategoricalAccuracy';
  constructor(options: TopKOptions = {}) {
    super(options, 'SparseTopKCategoricalAccuracy', 'sparse_top_k_categorical_accuracy');
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
}
