import type { AccuracyName, Kernels } from '../kernels/kernels.js';
import {
  MeanAccumulator,
  METRIC_OPTION_KEYS,
  type MetricOptions,
  type MetricAccumulator,
  type MetricContext,
  MetricShapeError,
} from './metric.js';
import { OptionsMetric } from './optionsMetric.js';

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

/** What the accuracies share: the kernels count correct predictions of one kind; larger is better. */
abstract class AccuracyMetric extends OptionsMetric<MetricOptions> {
  readonly direction = 'up' as const;

  protected constructor(options: MetricOptions, optionsOwner: string, defaultName: string) {
    super(options, optionsOwner, METRIC_OPTION_KEYS, defaultName);
  }

  /** The accuracy counted over data of these shapes. */
  protected abstract accuracyKind(context: MetricContext): AccuracyName;

  accumulator(context: MetricContext): MetricAccumulator {
    return accuracyAccumulator(this.accuracyKind(context), this.name, context);
  }
}

/** Keras's `BinaryAccuracy`: the mean over outputs of `(p > 0.5) == t`, averaged over samples. */
export class BinaryAccuracy extends AccuracyMetric {
  readonly className = 'BinaryAccuracy';
  constructor(options: MetricOptions = {}) {
    super(options, 'BinaryAccuracy', 'binary_accuracy');
  }
  protected accuracyKind(): AccuracyName {
    return 'binary_accuracy';
  }
}

/** Keras's `CategoricalAccuracy`: `argmax(p) == argmax(t)` with one-hot (or soft) targets. */
export class CategoricalAccuracy extends AccuracyMetric {
  readonly className = 'CategoricalAccuracy';
  constructor(options: MetricOptions = {}) {
    super(options, 'CategoricalAccuracy', 'categorical_accuracy');
  }
  protected accuracyKind(): AccuracyName {
    return 'categorical_accuracy';
  }
}

/** Keras's `SparseCategoricalAccuracy`: `argmax(p) == t` with one class index per sample. */
export class SparseCategoricalAccuracy extends AccuracyMetric {
  readonly className = 'SparseCategoricalAccuracy';
  constructor(options: MetricOptions = {}) {
    super(options, 'SparseCategoricalAccuracy', 'sparse_categorical_accuracy');
  }
  protected accuracyKind(): AccuracyName {
    return 'sparse_categorical_accuracy';
  }
}

/**
 * `'accuracy'` (or `'acc'`), resolved when the data is seen, as Keras's `compile` does: binary accuracy for
 * binary cross-entropy, sparse categorical accuracy for sparse targets, categorical accuracy for one-hot
 * cross-entropy; for other losses, from the shapes: one output column → binary; one target per sample →
 * sparse; else categorical.
 */
export class Accuracy extends AccuracyMetric {
  readonly className = 'Accuracy';
  constructor(options: MetricOptions = {}) {
    super(options, 'Accuracy', 'accuracy');
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
  protected accuracyKind(context: MetricContext): AccuracyName {
    return Accuracy.kindFor(context);
  }
}
