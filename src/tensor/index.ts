export * from './tensor.js';
export * from './random.js';
export * from './variable.js';
export { OwnedMemory } from './ownership.js';
