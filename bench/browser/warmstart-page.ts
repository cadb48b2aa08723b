/**
 * The warmstart side of `npm run bench -- --browser`, bundled by esbuild into the bench page: loads the
 * engine bundle (`/engine/warmstart.js`, the same file `dist/browser/` ships), starts it with `ready()` and
 * its defaults (so it runs on as many threads as the browser backend picks by itself), fetches task A's
 * bytes from the bench server and starts a {@link ModelASession}. bench/browser.ts calls
 * `window.startWarmstart` once, then `window.warmstartEpoch` once per round.
 * @module
 */
import {
  type EpochResult,
  type ModelASession,
  type SessionOptions,
  startModelA,
  type WarmstartApi,
} from './workload.js';
import { fetchTaskBytes } from './fetch-data.js';

/** What the page reports besides the timings. */
export interface WarmstartPageInfo {
  /** Steps of one epoch. */
  stepsPerEpoch: number;
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
    startWarmstart(options: SessionOptions): Promise<WarmstartPageInfo>;
    warmstartEpoch(): Promise<EpochResult>;
  }
}

let session: ModelASession | null = null;

window.startWarmstart = async (options) => {
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
  session = await startModelA(ws, data, options);
  return {
    stepsPerEpoch: session.stepsPerEpoch,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    backend: kernels.name,
    threads: info?.threads ?? 1,
    relaxedSimd: info?.relaxedSimd ?? null,
    wasmBackendError: ws.wasmBackendError?.message ?? null,
    warnings,
  };
};

window.warmstartEpoch = () => {
  if (session === null) throw new Error('call startWarmstart first');
  return session.epoch();
};
