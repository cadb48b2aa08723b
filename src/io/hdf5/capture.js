// @ts-check
/* global console */
/**
 * The HDF5 worker's capture of what HDF5 prints. HDF5 reports an error by printing its error stack to stderr
 * and returning a negative status, which h5wasm mostly ignores; Emscripten prints stderr (and its aborts)
 * through `console.error`, which it binds when h5wasm's module is evaluated. So this module replaces the
 * worker's `console.error` and `console.warn` first (the worker's modules import it before h5wasm): every
 * report becomes a failure of the call that caused it, and nothing reaches the user's terminal or console.
 *
 * Plain JavaScript, like the rest of the worker: the worker runs it as it is, from `src/` and from `dist/`.
 * @module
 */

let diagnostics = '';

/** @param {unknown[]} parts */
const collect = (...parts) => {
  diagnostics += parts.map(String).join(' ') + '\n';
};
console.error = collect;
console.warn = collect;

/** What HDF5 printed since the last {@link clearDiagnostics}. */
export function printedDiagnostics() {
  return diagnostics;
}

/** Forgets what HDF5 printed so far. */
export function clearDiagnostics() {
  diagnostics = '';
}
