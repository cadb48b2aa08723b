/**
 * warmstart: deep learning in TypeScript with a Keras-shaped API.
 *
 * ```ts
 * import { Sequential, Dense, Flatten, SGD, setRandomSeed } from 'warmstart';
 * ```
 * @module
 */
export * from './activations/index.js';
export * from './datasets/index.js';
export * from './initializers/index.js';
export * from './io/index.js';
export * from './kernels/index.js';
export * from './layers/index.js';
export * from './losses/index.js';
export * from './metrics/index.js';
export * from './models/index.js';
export * from './optimizers/index.js';
export * from './tensor/index.js';
