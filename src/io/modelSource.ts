/**
 * Where a model file comes from: a path or URL (the platform module reads or fetches it), a `Blob` or `File`
 * (a file input, a drop, a `fetch` response's blob), or bytes. All become a {@link ModelInput}.
 * @module
 */
import { ModelFileError } from './errors.js';
import { openModelLocation } from './platform.js';
import type { ModelInput } from './platformTypes.js';

/**
 * A model file, as `loadModel` takes it: a path (Node) or URL (a `URL`, or in a page a string resolved
 * against the page, fetched), a `Blob` or `File`, or the file's bytes (`ArrayBuffer`, `Uint8Array` or
 * another view such as Node's `Buffer`, also on shared memory). The format is told from the bytes, not from a name.
 */
export type ModelSource = string | URL | Blob | ArrayBufferLike | ArrayBufferView;

/** A model file held in memory. */
export function bytesInput(name: string, bytes: Uint8Array): ModelInput {
  return {
    name,
    size: bytes.length,
    head: async (count) => bytes.subarray(0, count),
    bytes: async () => bytes,
  };
}

/** A `Blob` (or `File`): only its first bytes are read to tell the format. */
export function blobInput(blob: Blob): ModelInput {
  const named = (blob as { name?: unknown }).name;
  return {
    name: typeof named === 'string' && named !== '' ? named : `<Blob of ${blob.size} bytes>`,
    size: blob.size,
    head: async (count) => new Uint8Array(await blob.slice(0, count).arrayBuffer()),
    bytes: async () => new Uint8Array(await blob.arrayBuffer()),
  };
}

/**
 * A model file fetched from a URL (read whole: a response's first bytes cannot be had without it).
 * @throws ModelFileError `NOT_FOUND` when the request fails or answers with an HTTP error
 */
export async function fetchInput(url: URL): Promise<ModelInput> {
  const name = url.href;
  let bytes: Uint8Array;
  try {
    const response = await fetch(url);
    if (!response.ok) {
      throw new ModelFileError(
        'NOT_FOUND',
        name,
        `cannot fetch the file (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''})`,
      );
    }
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError('NOT_FOUND', name, `cannot fetch the file (${(error as Error).message})`, {
      cause: error,
    });
  }
  return bytesInput(name, bytes);
}

/**
 * Opens any {@link ModelSource}.
 * @throws ModelFileError `NOT_FOUND` (no such file, a failed request), TypeError for something else
 */
export async function openModelSource(source: ModelSource): Promise<ModelInput> {
  if (typeof source === 'string' || source instanceof URL) return openModelLocation(source);
  if (typeof Blob !== 'undefined' && source instanceof Blob) return blobInput(source);
  if (source instanceof ArrayBuffer)
    return bytesInput(`<${source.byteLength} bytes>`, new Uint8Array(source));
  if (ArrayBuffer.isView(source)) {
    const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return bytesInput(`<${bytes.length} bytes>`, bytes);
  }
  throw new TypeError(
    `a model file is a path or URL, a Blob or File, or its bytes (ArrayBuffer, Uint8Array), got ${describeValue(source)}`,
  );
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no class'})`;
  return `${typeof value} ${String(value)}`;
}

/** The lower-case extension of a path, URL or file name (`.h5`), or `''`. */
export function extensionOf(name: string): string {
  let path = name;
  if (/^[a-z][a-z0-9+.-]+:/i.test(name)) {
    try {
      path = new URL(name).pathname;
    } catch {
      // Not a URL after all: a plain name.
    }
  }
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot).toLowerCase();
}
