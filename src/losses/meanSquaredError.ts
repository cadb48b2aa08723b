import { Loss } from './loss.js';

/** `L = mean_j (p_j − t_j)²` per sample. */
export class MeanSquaredError extends Loss {
  readonly className = 'MeanSquaredError';
  readonly name = 'mean_squared_error' as const;
  readonly fusableActivation = null;
}
