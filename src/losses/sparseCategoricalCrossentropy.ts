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
}
