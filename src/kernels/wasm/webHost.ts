/**
 * A browser's side of the thread pool: helper threads are module Web Workers running `helper.js`, started
 * from its own module file through a literal `new URL('./helper.js', import.meta.url)`, which bundlers
 * (Vite, webpack, Parcel) follow and emit, and which `dist/browser/` ships next to `warmstart.js`.
 *
 * Shared memory reaches a Worker only when the page (or worker) is cross-origin isolated; the platform
 * module (`platform/host.browser.ts`) checks that before it offers this host. A page's main thread may not
 * block in `Atomics.wait`, so there the pool spins at its barriers (`callerMayBlock: false`); inside a
 * Worker it may sleep as in Node.
 * @module
 */

import { DEFAULT_THREAD_CAP, type HelperHandle, type HelperHost, type HelperInit } from './pool.js';

/**
 * How long a helper may take to load its module and instantiate the kernels before it counts as failed
 * (a fetch that never ends must not leave the page waiting for its backend forever).
 */
const START_TIMEOUT_MS = 20_000;

/** What a helper posts (see `helper.js`). */
interface HelperMessage {
  type: 'ready' | 'error';
  message?: string;
}

/** Options of {@link webHelperHost}. */
export interface WebHelperHostOptions {
  /** Whether the thread calling the kernels may block in `Atomics.wait` (default: true inside a Worker). */
  callerMayBlock?: boolean;
  /** See {@link START_TIMEOUT_MS}. */
  startTimeoutMs?: number;
}

/** True when this code runs inside a Worker (dedicated, shared or service), not on a page's main thread. */
export function inWorkerScope(): boolean {
  const scope = globalThis as { WorkerGlobalScope?: abstract new () => unknown };
  return typeof scope.WorkerGlobalScope === 'function' && globalThis instanceof scope.WorkerGlobalScope;
}

/** A {@link HelperHost} over module Web Workers. */
export function webHelperHost(options: WebHelperHostOptions = {}): HelperHost {
  const startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
  return {
    callerMayBlock: options.callerMayBlock ?? inWorkerScope(),
    spawnHelper: (index, init) => spawnWebHelper(index, init, startTimeoutMs),
  };
}

/**
 * The helper's file, for messages only: not written as a literal `new URL('./helper.js', …)`, which a bundler
 * would emit a second time, as a plain asset.
 */
const HELPER_FILE = './helper.js';

async function spawnWebHelper(
  index: number,
  init: HelperInit,
  startTimeoutMs: number,
): Promise<HelperHandle> {
  // Literally `new Worker(new URL('./helper.js', import.meta.url), { type: 'module' })`: the pattern bundlers
  // recognise, to build the helper as a worker entry and rewrite the URL.
  const worker = new Worker(new URL('./helper.js', import.meta.url), {
    type: 'module',
    name: `warmstart-helper-${index}`,
  });
  let started = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`helper ${index} did not answer within ${startTimeoutMs / 1000} s`)),
        startTimeoutMs,
      );
      worker.onmessage = (event: MessageEvent<HelperMessage>) => {
        if (event.data?.type === 'ready') {
          clearTimeout(timer);
          started = true;
          resolve();
        } else if (event.data?.type === 'error') {
          clearTimeout(timer);
          // Before 'ready': the helper could not start. After: a chunk threw (the pool sees `failed`).
          if (started) console.warn(`warmstart: wasm helper ${index}: ${event.data.message}`);
          else reject(new Error(event.data.message));
        }
      };
      // A module that cannot be fetched or parsed gives a plain Event (no message): name the file instead.
      worker.onerror = (event: Event) => {
        clearTimeout(timer);
        const message = (event as ErrorEvent).message;
        reject(
          new Error(
            message
              ? `helper ${index}: ${message}`
              : `could not load the helper's module file ${new URL(HELPER_FILE, import.meta.url).href} (bundlers emit it from this URL; ` +
                  `with dist/browser, keep helper.js next to warmstart.js)`,
          ),
        );
      };
      try {
        worker.postMessage(init);
      } catch (error) {
        // DataCloneError: shared memory cannot be sent (not cross-origin isolated).
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  } catch (error) {
    worker.terminate();
    throw error;
  }
  worker.onerror = (event: Event) =>
    console.warn(
      `warmstart: wasm helper ${index} failed: ${(event as ErrorEvent).message ?? 'unknown error'}`,
    );
  return {
    async terminate() {
      worker.terminate();
    },
  };
}

/**
 * Threads to use by default: the logical cores the browser reports (`navigator.hardwareConcurrency`), at
 * most {@link DEFAULT_THREAD_CAP}, as in Node.
 */
export function webDefaultThreads(cores: number): number {
  return Math.max(1, Math.min(DEFAULT_THREAD_CAP, Math.floor(cores)));
}
