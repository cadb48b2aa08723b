/**
 * warmstart: deep learning in TypeScript with a Keras-shaped API, for Node and browsers.
 *
 * ```ts
 * import { Sequential, Dense, Flatten, SGD, setRandomSeed, ready } from 'warmstart';
 * await ready(); // the WebAssembly backend (in Node it is already started at import)
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
export {
  createWasmKernels,
  registerWasmBackend,
  WasmKernels,
  type WasmKernelOptions,
} from './kernels/wasm/index.js';
export { ready, wasmBackendError, type ReadyOptions } from './kernels/ready.js';
export { NotAvailableError } from './platform/errors.js';
export type { TextWriter } from './platform/types.js';

import { registerWasmBackend } from './kernels/wasm/index.js';
// Node starts the wasm backend here (a top-level await); browser bundles get a module that starts nothing.
import './platform/start.js';

registerWasmBackend();
