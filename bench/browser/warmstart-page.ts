/**
 * The warmstart side of `npm run bench -- --browser`, bundled by esbuild into the bench page: loads the
 * engine bundle (`/engine/warmstart.js`, the same file `dist/browser/` ships), starts it with `ready()` and
 * its defaults (so it runs on as many threads as the browser backend picks by itself), fetches task A's
 * bytes from the bench server and runs {@link warmstartEpochs}. bench/browser.ts calls `window.runWarmstart`.
 * @module
 */
import { type EpochOptions, type EpochRun, type WarmstartApi, warmstartEpochs } from './workload.js';
import { fetchTaskBytes } from './fetch-data.js';

/** What the page reports besides the timings. */
export interface WarmstartPageResult extends EpochRun {
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  /** The backend's name (`wasm`, or `reference` when the wasm backend did not start). */
  backend: string;
  /** Threads the wasm backend runs on (1 when it has no helper). */
  threads: number;
  relaxedSimd: boolean | null;
  /** Why the wasm backend did not start, if it did not. */
  wasmBackendError: string | null;
  /** Warnings the engine printed while starting (e.g. why it runs on one thread). */
  warnings: string[];
}

declare global {
  interface Window {
    runWarmstart(options: EpochOptions): Promise<WarmstartPageResult>;
  }
}

window.runWarmstart = async (options) => {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...parts: unknown[]) => {
    warnings.push(parts.map(String).join(' '));
    warn(...parts);
  };
  // A URL in a variable: esbuild leaves the import to the browser, which loads the engine bundle itself.
  const engineUrl = new URL('/engine/warmstart.js', location.href).href;
  const ws = (await import(engineUrl)) as WarmstartApi;
  const kernels = await ws.ready();
  console.warn = warn;
  const info = kernels instanceof ws.WasmKernels ? kernels.info : null;
  const data = await fetchTaskBytes();
  const run = await warmstartEpochs(ws, data, options);
  return {
    ...run,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    backend: kernels.name,
    threads: info?.threads ?? 1,
    relaxedSimd: info?.relaxedSimd ?? null,
    wasmBackendError: ws.wasmBackendError?.message ?? null,
    warnings,
  };
};
