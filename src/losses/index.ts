import { BinaryCrossentropy } from './binaryCrossentropy.js';
import { CategoricalCrossentropy } from './categoricalCrossentropy.js';
import type { Loss } from './loss.js';
import { MeanSquaredError } from './meanSquaredError.js';
import { SparseCategoricalCrossentropy } from './sparseCategoricalCrossentropy.js';

export * from './loss.js';
export * from './sparseCategoricalCrossentropy.js';
export * from './categoricalCrossentropy.js';
export * from './binaryCrossentropy.js';
export * from './meanSquaredError.js';

/** Thrown for a loss name warmstart does not know (a custom loss that was not registered, say). */
export class UnknownLossError extends Error {
  override readonly name = 'UnknownLossError';
}

const LOSSES: Record<string, () => Loss> = {
  sparse_categorical_crossentropy: () => new SparseCategoricalCrossentropy(),
  categorical_crossentropy: () => new CategoricalCrossentropy(),
  binary_crossentropy: () => new BinaryCrossentropy(),
  mean_squared_error: () => new MeanSquaredError(),
  mse: () => new MeanSquaredError(),
};

/** Resolves a loss given as an object, a Keras function name (`'mse'`) or class name (`'MeanSquaredError'`). */
export function getLoss(value: Loss | string): Loss {
  if (typeof value !== 'string') return value;
  const snake = value.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  const factory = LOSSES[value] ?? LOSSES[snake];
  if (factory === undefined) {
    throw new UnknownLossError(`unknown loss '${value}': known losses are ${Object.keys(LOSSES).join(', ')}`);
  }
  return factory();
}
