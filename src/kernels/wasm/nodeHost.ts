/**
 * Node's side of the thread pool: helper threads are `worker_threads` Workers running `helper.js`, and the
 * default thread count comes from the machine (`os.availableParallelism()`) or `WARMSTART_THREADS`. This is
 * the only file of the kernels that touches Node's APIs; it is loaded with a dynamic import, only in Node.
 * @module
 */

import { availableCores, environmentVariable } from '../../platform/host.js';
import { MAX_THREADS } from './abi.js';
import { DEFAULT_THREAD_CAP, type HelperHandle, type HelperHost, type HelperInit } from './pool.js';

export { DEFAULT_THREAD_CAP } from './pool.js';

/** Node's {@link HelperHost}: the main thread (and a Worker) may block in `Atomics.wait`. */
export const nodeHost: HelperHost = {
  callerMayBlock: true,
  async spawnHelper(index: number, init: HelperInit): Promise<HelperHandle> {
    const { Worker } = await import('node:worker_threads');
    // Not the parent's flags: a loader such as tsx is not needed for a plain .js file.
    const worker = new Worker(new URL('./helper.js', import.meta.url), {
      execArgv: [],
      name: `warmstart-helper-${index}`,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        worker.on('message', (message: { type: string; message?: string }) => {
          if (message.type === 'ready') resolve();
          else if (message.type === 'error') {
            // Before 'ready': the helper could not start. After: a chunk threw (the pool sees `failed`).
            reject(new Error(message.message));
            process.emitWarning(`warmstart wasm helper ${index}: ${message.message}`);
          }
        });
        worker.on('error', reject);
        worker.on('exit', (code) => reject(new Error(`helper ${index} exited with code ${code}`)));
        worker.postMessage(init);
      });
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    // A helper only ever serves the calling thread's runs: it must never keep the process alive.
    worker.unref();
    return {
      async terminate() {
        await worker.terminate();
      },
    };
  },
};

/**
 * Threads to use by default: `WARMSTART_THREADS` when set (a positive integer), else the cores this process
 * may use, at most {@link DEFAULT_THREAD_CAP}.
 */
export function nodeDefaultThreads(): number {
  const fromEnvironment = environmentVariable('WARMSTART_THREADS');
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    const value = Number(fromEnvironment);
    if (!Number.isInteger(value) || value < 1 || value > MAX_THREADS) {
      throw new RangeError(
        `WARMSTART_THREADS must be an integer from 1 to ${MAX_THREADS}, got '${fromEnvironment}'`,
      );
    }
    return value;
  }
  return Math.max(1, Math.min(DEFAULT_THREAD_CAP, availableCores()));
}
