import type { AccuracyName } from '../kernels/kernels.js';
import type { Loss } from '../losses/loss.js';

export type { AccuracyName } from '../kernels/kernels.js';

/** Thrown for a metric warmstart does not know. */
export class UnknownMetricError extends Error {
  override readonly name = 'UnknownMetricError';
}

/** A resolved metric: the name it is reported under and the accuracy rule the kernels apply. */
export interface Metric {
  /** Key in logs and `History` (`accuracy` when the user asked for `'accuracy'`). */
  readonly name: string;
  /** Which accuracy the kernels compute. */
  readonly kind: AccuracyName;
}

const EXPLICIT: Record<string, AccuracyName> = {
  sparse_categorical_accuracy: 'sparse_categorical_accuracy',
  categorical_accuracy: 'categorical_accuracy',
  binary_accuracy: 'binary_accuracy',
};

/**
 * Resolves a metric name as Keras's `compile` does. `'accuracy'` (or `'acc'`) becomes binary accuracy for
 * binary cross-entropy, sparse categorical accuracy for sparse targets, categorical accuracy for one-hot
 * cross-entropy, and for other losses is chosen from the shapes: one output column → binary; one target per
 * sample → sparse; else categorical.
 */
export function resolveMetric(name: string, loss: Loss, outputWidth: number, targetWidth: number): Metric {
  const explicit = EXPLICIT[name];
  if (explicit !== undefined) return { name, kind: explicit };
  if (name !== 'accuracy' && name !== 'acc') {
    throw new UnknownMetricError(
      `unknown metric '${name}': known metrics are accuracy, ${Object.keys(EXPLICIT).join(', ')}`,
    );
  }
  let kind: AccuracyName;
  if (loss.name === 'binary_crossentropy') kind = 'binary_accuracy';
  else if (loss.name === 'sparse_categorical_crossentropy') kind = 'sparse_categorical_accuracy';
  else if (loss.name === 'categorical_crossentropy') kind = 'categorical_accuracy';
  else if (outputWidth === 1) kind = 'binary_accuracy';
  else if (targetWidth === 1) kind = 'sparse_categorical_accuracy';
  else kind = 'categorical_accuracy';
  return { name, kind };
}
