import { Loss } from './loss.js';

/** `L = −Σ_j t_j log q_j` per sample (q renormalised and clipped to [1e−7, 1 − 1e−7]), one-hot targets. */
export class CategoricalCrossentropy extends Loss {
  readonly className = 'CategoricalCrossentropy';
  readonly name = 'categorical_crossentropy' as const;
  readonly fusableActivation = 'softmax' as const;
}
