/**
 * The browser implementation of the platform module (see `types.ts`): also right for Web Workers, Deno and
 * any engine with `fetch`, `crypto.subtle` and no file system. Bundlers pick it instead of `host.ts`
 * through the package's `browser` field.
 * @module
 */
import { NotAvailableError } from './errors.js';
import { gunzipBytes } from './gzip.js';
import { md5Hex } from './md5.js';
import type { HostModule, TextFile, TextWriter } from './types.js';

/** See {@link HostModule.hostName}. */
export const hostName: HostModule['hostName'] = 'browser';

/** See {@link HostModule.readBytes}. */
export async function readBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Browsers that support relaxed SIMD enable it by default. */
export function enableRelaxedSimd(): void {}

/** The kernel files are next to the loader (or where `wasmDir` says); there is no source tree to search. */
export function kernelFolderFallbacks(): URL[] {
  return [];
}

/** See {@link HostModule.availableCores}. */
export function availableCores(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return typeof cores === 'number' && cores > 0 ? cores : 1;
}

/** A relative URL is resolved against the document's base URL (or, in a worker, the worker's location). */
export function resolveLocation(location: string): URL {
  const scope = globalThis as { document?: { baseURI?: string }; location?: { href?: string } };
  const base = scope.document?.baseURI ?? scope.location?.href;
  return base === undefined ? new URL(location) : new URL(location, base);
}

/** Browsers have no environment variables. */
export function environmentVariable(_name: string): string | undefined {
  return undefined;
}

/** Lines go to `console.log`; a carriage return (a progress bar redrawing) keeps only what follows it. */
export function standardOutput(): TextWriter {
  let line = '';
  return {
    write(text: string) {
      line += text;
      const parts = line.split('\n');
      line = parts.pop() ?? '';
      for (const part of parts) console.log(part.replace(/^.*\r/, ''));
    },
  };
}

/**
 * A message to ourselves: the continuation queues behind tasks already waiting (input, rendering, timers,
 * network callbacks) and, unlike `setTimeout(0)`, is never clamped to 4 ms. Not `scheduler.yield()`: its
 * continuation jumps ahead of other tasks, so a page's timers would starve while it trains.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((done) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      done();
    };
    channel.port2.postMessage(null);
  });
}

/** One frame at 60 Hz: the page redraws and answers input between slices of training. */
export const defaultTrainingSliceMs: number | null = 16;

/** See {@link HostModule.gunzip}: fflate's inflate, with the container's checks (`gzip.ts`). */
export function gunzip(bytes: Uint8Array): Uint8Array {
  return gunzipBytes(bytes);
}

/** SHA-256 through `crypto.subtle`; MD5 (which `crypto.subtle` lacks) in plain TypeScript. */
export async function digestHex(algorithm: 'md5' | 'sha256', bytes: Uint8Array): Promise<string> {
  if (algorithm === 'md5') return md5Hex(bytes);
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** See {@link HostModule.makeDirectory}. */
export async function makeDirectory(path: string): Promise<void> {
  throw new NotAvailableError(`creating the folder ${path}`, 'browsers have no file system');
}

/** See {@link HostModule.parentFolder}. */
export function parentFolder(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut < 0 ? '.' : cut === 0 ? '/' : path.slice(0, cut);
}

/** See {@link HostModule.readTextFile}. */
export async function readTextFile(path: string): Promise<string> {
  throw new NotAvailableError(`reading the file ${path}`, 'browsers have no file system');
}

/** See {@link HostModule.openTextFile}. */
export async function openTextFile(path: string, _mode: 'w' | 'a'): Promise<TextFile> {
  throw new NotAvailableError(`writing the file ${path}`, 'browsers have no file system');
}
