import { Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy } from './accuracy.js';
import { AUC, Precision, Recall } from './confusion.js';
import { Metric, UnknownMetricError } from './metric.js';
import { MeanAbsoluteErrorMetric, MeanSquaredErrorMetric } from './regression.js';
import { SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy } from './topK.js';

export * from './metric.js';
export * from './accuracy.js';
export * from './regression.js';
export * from './topK.js';
export * from './confusion.js';

const FACTORIES: Record<string, () => Metric> = {
  accuracy: () => new Accuracy(),
  acc: () => new Accuracy(),
  binary_accuracy: () => new BinaryAccuracy(),
  categorical_accuracy: () => new CategoricalAccuracy(),
  sparse_categorical_accuracy: () => new SparseCategoricalAccuracy(),
  mean_absolute_error: () => new MeanAbsoluteErrorMetric(),
  mae: () => new MeanAbsoluteErrorMetric(),
  mean_squared_error: () => new MeanSquaredErrorMetric(),
  mse: () => new MeanSquaredErrorMetric(),
  top_k_categorical_accuracy: () => new TopKCategoricalAccuracy(),
  sparse_top_k_categorical_accuracy: () => new SparseTopKCategoricalAccuracy(),
  auc: () => new AUC(),
  precision: () => new Precision(),
  recall: () => new Recall(),
};

/** Keras's metric names: snake_case function names, their class names, and the `MAE`/`MSE` aliases. */
const CLASS_NAMES: Record<string, string> = {
  Accuracy: 'accuracy',
  BinaryAccuracy: 'binary_accuracy',
  CategoricalAccuracy: 'categorical_accuracy',
  SparseCategoricalAccuracy: 'sparse_categorical_accuracy',
  MeanAbsoluteError: 'mean_absolute_error',
  MAE: 'mae',
  MeanSquaredError: 'mean_squared_error',
  MSE: 'mse',
  TopKCategoricalAccuracy: 'top_k_categorical_accuracy',
  SparseTopKCategoricalAccuracy: 'sparse_top_k_categorical_accuracy',
  AUC: 'auc',
  Precision: 'precision',
  Recall: 'recall',
};

/** The metric names {@link getMetric} accepts (each also by its Keras class name: `'AUC'`, `'Precision'`). */
export const METRIC_NAMES: readonly string[] = Object.keys(FACTORIES);

/** Whether `name` is a metric name {@link getMetric} accepts. */
export function isKnownMetricName(name: string): boolean {
  return FACTORIES[name] !== undefined || CLASS_NAMES[name] !== undefined;
}

/**
 * A metric given to `compile`, as Keras's `metrics.get`: a {@link Metric} object as it is, or a name, reported
 * in logs under that very string (`'mae'` logs `mae`, `'AUC'` logs `AUC`, as Keras 3 does). `'accuracy'` picks
 * binary, sparse or categorical accuracy when the data is seen.
 * @throws UnknownMetricError for a name Keras or warmstart does not know, listing the known ones
 */
export function getMetric(identifier: string | Metric): Metric {
  if (identifier instanceof Metric) return identifier;
  if (typeof identifier !== 'string') {
    throw new UnknownMetricError(
      `a metric must be a name or a Metric object, got ${identifier === null ? 'null' : typeof identifier}`,
    );
  }
  const factory = FACTORIES[identifier] ?? FACTORIES[CLASS_NAMES[identifier] ?? ''];
  if (factory === undefined) {
    throw new UnknownMetricError(
      `unknown metric '${identifier}': known metrics are ${METRIC_NAMES.join(', ')} (or their Keras class names)`,
    );
  }
  const metric = factory();
  return metric.name === identifier ? metric : metric.renamed(identifier);
}
