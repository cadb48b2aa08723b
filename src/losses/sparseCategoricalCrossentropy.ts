import type { TargetRule } from '../kernels/kernels.js';
import { Loss } from './loss.js';

/**
 * `L = −log q[t]` per sample, with t the class index and q the prediction renormalised to sum to 1 and clipped
 * to [1e−7, 1 − 1e−7], as Keras computes it from probabilities.
 */
export class SparseCategoricalCrossentropy extends Loss {
  readonly className = 'SparseCategoricalCrossentropy';
  readonly name = 'sparse_categorical_crossentropy' as const;
  readonly fusableActivation = 'softmax' as const;
  override get sparseTargets(): boolean {
    return true;
  }
  /** Class indices: integers in `[0, outputs − 1]`. */
  override get targetRule(): TargetRule {
    return 'class_index';
  }
  protected override describeInvalidTarget(
    targets: Float32Array,
    index: number,
    _width: number,
    outputs: number,
  ): string {
    return `label ${targets[index]} of sample ${index} is out of range: the model has ${outputs} outputs, labels must be integers in [0, ${outputs - 1}]`;
  }
}
