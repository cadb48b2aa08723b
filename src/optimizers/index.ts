import type { Optimizer } from './optimizer.js';
import { SGD } from './sgd.js';

export * from './optimizer.js';
export * from './sgd.js';

/** Thrown for an optimizer name warmstart does not know. */
export class UnknownOptimizerError extends Error {
  override readonly name = 'UnknownOptimizerError';
}

const OPTIMIZERS: Record<string, () => Optimizer> = {
  sgd: () => new SGD(),
};

/** Resolves an optimizer given as an object or a Keras string name (`'sgd'`), with Keras's defaults. */
export function getOptimizer(value: Optimizer | string): Optimizer {
  if (typeof value !== 'string') return value;
  const factory = OPTIMIZERS[value.toLowerCase()];
  if (factory === undefined) {
    throw new UnknownOptimizerError(`unknown optimizer '${value}': known optimizers are ${Object.keys(OPTIMIZERS).join(', ')}`);
  }
  return factory();
}
