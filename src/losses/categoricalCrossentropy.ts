import type { TargetRule } from '../kernels/kernels.js';
import { Loss } from './loss.js';

/**
 * `L = −Σ_j t_j log q_j` per sample (q renormalised and clipped to [1e−7, 1 − 1e−7]).
 *
 * Targets are a probability distribution per sample: one-hot rows, or soft labels (label smoothing) that are
 * non-negative and sum to 1. Keras computes the formula for any numbers; warmstart refuses, with an
 * `InputDataError` before training, what cannot be a distribution: a non-finite or negative value, or a row
 * whose sum is off 1 by more than 1e-3 (class indices given by mistake, say).
 */
export class CategoricalCrossentropy extends Loss {
  readonly className = 'CategoricalCrossentropy';
  readonly name = 'categorical_crossentropy' as const;
  readonly fusableActivation = 'softmax' as const;
  /** Rows of probabilities summing to 1. */
  override get targetRule(): TargetRule {
    return 'distribution';
  }
  protected override describeInvalidTarget(targets: Float32Array, index: number, width: number): string {
    const sample = Math.floor(index / width);
    const value = targets[index];
    const what =
      'categorical_crossentropy takes one probability distribution per sample (one-hot or soft labels summing to 1)';
    if (!Number.isFinite(value) || value < 0) return `${what}, got ${value} in sample ${sample}`;
    const row = Array.from(targets.subarray(sample * width, (sample + 1) * width));
    const sum = row.reduce((total, entry) => total + entry, 0);
    return `${what}: the targets of sample ${sample} sum to ${sum}, not 1 ([${row.slice(0, 10).join(', ')}${width > 10 ? ', …' : ''}])`;
  }
}
