// @ts-check
/**
 * The HDF5 worker in Node: a `worker_threads` Worker started from this file by `src/io/platform.ts`. It
 * answers the requests posted to it (see `service.js`) and says `{ ready: true }` once HDF5 has started, or
 * `{ startupError }` if it could not.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { handleRequest, serviceReady } from './service.js';

const port = parentPort;
if (port === null)
  throw new Error('nodeWorker.js runs in a worker thread: see startHdf5Worker in src/io/platform.ts');

serviceReady.then(
  () => {
    port.on('message', (/** @type {import('./snapshot.js').WorkerRequest} */ request) => {
      const { response, transfer } = handleRequest(request);
      port.postMessage(response, transfer);
    });
    port.postMessage({ ready: true });
  },
  (/** @type {unknown} */ error) => {
    port.postMessage({ startupError: String((error instanceof Error && error.stack) || error) });
  },
);
