/**
 * The Node implementation of the platform module (see `types.ts`). Bundlers that target browsers replace
 * this file with `host.browser.ts` (the package's `browser` field), so the Node-only imports below never
 * reach a browser bundle.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { gunzipSync } from 'node:zlib';
import { GzipError } from './gzip.js';
import type { HostModule, TextFile, TextWriter } from './types.js';

/** See {@link HostModule.hostName}. */
export const hostName: HostModule['hostName'] = 'node';

/** See {@link HostModule.readBytes}. */
export async function readBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === 'file:') return new Uint8Array(await readFile(url));
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

let relaxedFlagSet = false;

/**
 * Node 20's V8 ships relaxed SIMD behind a flag that NODE_OPTIONS refuses, so it is set from code, once,
 * before anything is compiled. V8 flags are process-wide, so worker threads see it too.
 */
export function enableRelaxedSimd(): void {
  if (relaxedFlagSet) return;
  relaxedFlagSet = true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // Not fatal: validation then simply rejects the relaxed build.
  }
}

/**
 * Run from sources (tsx), the kernel files are in the package's `build/wasm/`, two levels above this file;
 * after `tsc` they are copied next to the loader, which finds them first.
 */
export function kernelFolderFallbacks(): URL[] {
  return [new URL('../../build/wasm/', import.meta.url)];
}

/** See {@link HostModule.availableCores}. */
export function availableCores(): number {
  return typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
}

/** See {@link HostModule.resolveLocation}: a URL (`file:`, `https:`…) or a path relative to the working folder. */
export function resolveLocation(location: string): URL {
  // Two or more letters before the colon: a scheme, not a Windows drive letter.
  if (/^[a-z][a-z0-9+.-]+:/i.test(location)) return new URL(location);
  return pathToFileURL(resolve(location));
}

/** See {@link HostModule.environmentVariable}. */
export function environmentVariable(name: string): string | undefined {
  return process.env[name];
}

/** See {@link HostModule.standardOutput}. */
export function standardOutput(): TextWriter {
  return process.stdout;
}

/** See {@link HostModule.yieldToEventLoop}. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((done) => setImmediate(done));
}

/** See {@link HostModule.defaultTrainingSliceMs}: a Node program has no page to keep responsive. */
export const defaultTrainingSliceMs: number | null = null;

/** See {@link HostModule.gunzip}: zlib, with its errors sorted as `gzip.ts` sorts fflate's. */
export function gunzip(bytes: Uint8Array): Uint8Array {
  try {
    const content = gunzipSync(bytes);
    return new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (code === 'Z_BUF_ERROR') {
      throw new GzipError('truncated', `gzip stream ends early after ${bytes.length} bytes (${message})`);
    }
    throw new GzipError('corrupt', `cannot decompress: ${message}`);
  }
}

/** See {@link HostModule.digestHex}. */
export async function digestHex(algorithm: 'md5' | 'sha256', bytes: Uint8Array): Promise<string> {
  return createHash(algorithm).update(bytes).digest('hex');
}

/** See {@link HostModule.makeDirectory}. */
export async function makeDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

/** See {@link HostModule.parentFolder}. */
export function parentFolder(path: string): string {
  return dirname(path);
}

/** See {@link HostModule.readTextFile}. */
export function readTextFile(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** See {@link HostModule.openTextFile}. */
export async function openTextFile(path: string, mode: 'w' | 'a'): Promise<TextFile> {
  const handle = await open(path, mode);
  return {
    write: async (text) => {
      await handle.write(text);
    },
    close: () => handle.close(),
  };
}
