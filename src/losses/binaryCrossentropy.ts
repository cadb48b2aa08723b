import type { TargetRule } from '../kernels/kernels.js';
import { Loss } from './loss.js';

/**
 * `L = −mean_j [t_j log p_j + (1 − t_j) log(1 − p_j)]` per sample, p clipped to [1e−7, 1 − 1e−7].
 *
 * Targets are probabilities in [0, 1]: labels 0 and 1, or soft labels. Keras computes any number without
 * complaint (a label of 2 gives a negative, meaningless loss); warmstart refuses a target outside [0, 1] or
 * non-finite with an `InputDataError` before training.
 */
export class BinaryCrossentropy extends Loss {
  readonly className = 'BinaryCrossentropy';
  readonly name = 'binary_crossentropy' as const;
  readonly fusableActivation = 'sigmoid' as const;
  /** Probabilities in `[0, 1]`. */
  override get targetRule(): TargetRule {
    return 'probability';
  }
  protected override describeInvalidTarget(targets: Float32Array, index: number, width: number): string {
    const value = targets[index];
    return (
      `binary_crossentropy takes targets in [0, 1] (0/1 labels or soft labels), got ${value} in sample ${Math.floor(index / width)}` +
      (Number.isInteger(value) && value > 1 ? ': for class indices use sparse_categorical_crossentropy' : '')
    );
  }
}
