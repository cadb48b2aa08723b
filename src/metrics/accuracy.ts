import { checkOptions } from '../kernels/options.js';
import type { AccuracyName, Kernels } from '../kernels/kernels.js';
import {
  MeanAccumulator,
  Metric,
  METRIC_OPTION_KEYS,
  type MetricOptions,
  type MetricAccumulator,
  type MetricContext,
  MetricShapeError,
} from './metric.js';

export type { AccuracyName } from '../kernels/kernels.js';

function accuracyAccumulator(kind: AccuracyName, name: string, context: MetricContext): MetricAccumulator {
  const { outputWidth, targetWidth } = context;
  const sparse = kind === 'sparse_categorical_accuracy';
  if (sparse ? targetWidth !== 1 : targetWidth !== outputWidth) {
    throw new MetricShapeError(
      `metric '${name}' (${kind}) needs ${sparse ? 'one class index' : `${outputWidth} target values (the output width)`} per sample, got ${targetWidth}`,
    );
  }
  return new MeanAccumulator((kernels: Kernels, yPred, yTrue, m, n) =>
    kernels.countCorrect(kind, yPred, yTrue, m, n),
  );
}

/** Keras's `BinaryAccuracy`: the mean over outputs of `(p > 0.5) == t`, averaged over samples. */
export class BinaryAccuracy extends Metric {
  readonly className = 'BinaryAccuracy';
  readonly direction = 'up' as const;
  constructor(options: MetricOptions = {}) {
    checkOptions('BinaryAccuracy', options, METRIC_OPTION_KEYS);
    super(options.name ?? 'binary_accuracy');
  }
  accumulator(context: MetricContext): MetricAccumulator {
    return accuracyAccumulator('binary_accuracy', this.name, context);
  }
  renamed(name: string): Metric {
    return new BinaryAccuracy({ name });
  }
}

/** Keras's `CategoricalAccuracy`: `argmax(p) == argmax(t)` with one-hot (or soft) targets. */
export class CategoricalAccuracy extends Metric {
  readonly className = 'CategoricalAccuracy';
  readonly direction = 'up' as const;
  constructor(options: MetricOptions = {}) {
    checkOptions('CategoricalAccuracy', options, METRIC_OPTION_KEYS);
    super(options.name ?? 'categorical_accuracy');
  }
  accumulator(context: MetricContext): MetricAccumulator {
    return accuracyAccumulator('categorical_accuracy', this.name, context);
  }
  renamed(name: string): Metric {
    return new CategoricalAccuracy({ name });
  }
}

/** Keras's `SparseCategoricalAccuracy`: `argmax(p) == t` with one class index per sample. */
export class SparseCategoricalAccuracy extends Metric {
  readonly className = 'SparseCategoricalAccuracy';
  readonly direction = 'up' as const;
  constructor(options: MetricOptions = {}) {
    checkOptions('SparseCategoricalAccuracy', options, METRIC_OPTION_KEYS);
    super(options.name ?? 'sparse_categorical_accuracy');
  }
  accumulator(context: MetricContext): MetricAccumulator {
    return accuracyAccumulator('sparse_categorical_accuracy', this.name, context);
  }
  renamed(name: string): Metric {
    return new SparseCategoricalAccuracy({ name });
  }
}

/**
 * `'accuracy'` (or `'acc'`), resolved when the data is seen, as Keras's `compile` does: binary accuracy for
 * binary cross-entropy, sparse categorical accuracy for sparse targets, categorical accuracy for one-hot
 * cross-entropy; for other losses, from the shapes: one output column → binary; one target per sample →
 * sparse; else categorical.
 */
export class Accuracy extends Metric {
  readonly className = 'Accuracy';
  readonly direction = 'up' as const;
  constructor(options: MetricOptions = {}) {
    checkOptions('Accuracy', options, METRIC_OPTION_KEYS);
    super(options.name ?? 'accuracy');
  }
  /** Which accuracy applies to a loss and shapes. */
  static kindFor(context: MetricContext): AccuracyName {
    const { loss, outputWidth, targetWidth } = context;
    if (loss.name === 'binary_crossentropy') return 'binary_accuracy';
    if (loss.name === 'sparse_categorical_crossentropy') return 'sparse_categorical_accuracy';
    if (loss.name === 'categorical_crossentropy') return 'categorical_accuracy';
    if (outputWidth === 1) return 'binary_accuracy';
    if (targetWidth === 1) return 'sparse_categorical_accuracy';
    return 'categorical_accuracy';
  }
  accumulator(context: MetricContext): MetricAccumulator {
    return accuracyAccumulator(Accuracy.kindFor(context), this.name, context);
  }
  renamed(name: string): Metric {
    return new Accuracy({ name });
  }
}
