/**
 * Starting the default backend. In Node, importing warmstart starts the WebAssembly backend (see
 * `platform/start.ts`); in a browser nothing starts at import, so the page decides where the kernel files
 * are and when to fetch them: `await ready({ wasmDir: '/assets/' })`.
 * @module
 */
import { type Kernels, setBackend, setKernels } from './index.js';
import { checkOptions, type OptionKeys } from './options.js';
import { createWasmKernels, type WasmKernelOptions } from './wasm/index.js';

/** Options of {@link ready}. */
export interface ReadyOptions extends Omit<WasmKernelOptions, 'mainChunkLimit'> {
  /** `'wasm'` (default) or `'reference'` (plain TypeScript: slow, but needs nothing). */
  backend?: 'wasm' | 'reference';
}

/** The keys of {@link ReadyOptions}. */
const READY_OPTION_KEYS = {
  backend: true,
  threads: true,
  relaxedSimd: true,
  spinMicros: true,
  initialMiB: true,
  maximumMiB: true,
  wasmDir: true,
} as const satisfies OptionKeys<ReadyOptions>;

/**
 * Why the WebAssembly backend could not start (models then use the reference kernels), or null when it runs
 * or has not been started.
 */
export let wasmBackendError: Error | null = null;

let started: { key: string; kernels: Promise<Kernels> } | null = null;

/**
 * Starts the backend that models built from now on use, and resolves to it. The WebAssembly backend fetches
 * and compiles its kernel file and, where it can, starts its helper thread; if that fails, a warning names
 * the reason ({@link wasmBackendError}) and the reference kernels are used instead.
 *
 * Called again without options (or with the same ones) it returns the same promise; with other options it
 * starts a new backend (models already built keep theirs).
 *
 * ```ts
 * await ready();                                    // kernel files next to the bundle
 * await ready({ wasmDir: '/static/warmstart/' });   // or wherever the page serves them
 * ```
 */
export function ready(options: ReadyOptions = {}): Promise<Kernels> {
  checkOptions('ready', options, READY_OPTION_KEYS);
  const key = JSON.stringify(options, (_, value: unknown) => (value instanceof URL ? value.href : value));
  if (started !== null && (key === '{}' || key === started.key)) return started.kernels;
  const kernels = start(options);
  started = { key, kernels };
  return kernels;
}

async function start(options: ReadyOptions): Promise<Kernels> {
  const { backend = 'wasm', ...wasmOptions } = options;
  if (backend === 'reference') return setBackend('reference');
  if (backend !== 'wasm') {
    throw new RangeError(`ready: backend must be 'wasm' or 'reference', got '${String(backend)}'`);
  }
  try {
    const kernels = await createWasmKernels(wasmOptions);
    setKernels(kernels);
    wasmBackendError = null;
    return kernels;
  } catch (error) {
    wasmBackendError = error instanceof Error ? error : new Error(String(error));
    console.warn(
      `warmstart: the wasm backend did not start (${wasmBackendError.message}); using the reference kernels`,
    );
    return setBackend('reference');
  }
}
