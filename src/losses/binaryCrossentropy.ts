import { Loss } from './loss.js';

/** `L = −mean_j [t_j log p_j + (1 − t_j) log(1 − p_j)]` per sample, p clipped to [1e−7, 1 − 1e−7]. */
export class BinaryCrossentropy extends Loss {
  readonly className = 'BinaryCrossentropy';
  readonly name = 'binary_crossentropy' as const;
  readonly fusableActivation = 'sigmoid' as const;
}
