export * from './tensor.js';
// Everything of the generator but `setTrainingRandom`, which only `fit` may call.
export {
  epochGenerator,
  getRandomState,
  globalRandom,
  RandomGenerator,
  type RandomState,
  RandomStateError,
  setRandomSeed,
  setRandomState,
  trainingRandom,
} from './random.js';
export * from './variable.js';
export { OwnedMemory } from './ownership.js';
