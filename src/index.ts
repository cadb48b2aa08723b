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
export {
  createWasmKernels,
  registerWasmBackend,
  WasmKernels,
  type WasmKernelOptions,
} from './kernels/wasm/index.js';

import { setBackend } from './kernels/index.js';
import { registerWasmBackend } from './kernels/wasm/index.js';

registerWasmBackend();

/**
 * Why the default WebAssembly backend could not start (models then use the reference kernels), or null when
 * it runs. Set once, when warmstart is first imported.
 */
export const wasmBackendError: Error | null = await setBackend('wasm').then(
  () => null,
  (error: unknown) => {
    const reason = error instanceof Error ? error : new Error(String(error));
    console.warn(
      `warmstart: the wasm backend did not start (${reason.message}); using the reference kernels`,
    );
    return reason;
  },
);
