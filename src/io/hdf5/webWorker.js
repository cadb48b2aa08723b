// @ts-check
/**
 * The HDF5 worker in browsers: a module Web Worker started from this file by `src/io/platform.browser.ts`
 * (`new Worker(new URL('./hdf5/webWorker.js', import.meta.url), { type: 'module' })`, which bundlers follow
 * and build, h5wasm included). It answers the requests posted to it (see `service.js`) and says
 * `{ ready: true }` once HDF5 has started, or `{ startupError }` if it could not.
 * @module
 */
import { handleRequest, serviceReady } from './service.js';

/** The worker's global scope, as far as this file uses it (the DOM library types `self` as a window). */
const scope =
  /** @type {{ postMessage(message: unknown, transfer?: Transferable[]): void, onmessage: ((event: MessageEvent) => void) | null }} */ (
    /** @type {unknown} */ (globalThis)
  );

serviceReady.then(
  () => {
    scope.onmessage = (event) => {
      const { response, transfer } = handleRequest(event.data);
      scope.postMessage(response, transfer);
    };
    scope.postMessage({ ready: true });
  },
  (/** @type {unknown} */ error) => {
    scope.postMessage({ startupError: String((error instanceof Error && error.stack) || error) });
  },
);
