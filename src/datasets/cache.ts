/**
 * Where a browser keeps dataset files between visits. Node keeps them in a folder instead (`cacheDir`).
 * @module
 */

/** A store of files by key; the dataset loaders put only files that loaded (and, from mirrors, verified). */
export interface DatasetCache {
  /** The bytes stored under `key`, or undefined. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `bytes` under `key`, replacing what was there. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Forgets `key` (a cached file that no longer verifies). */
  delete(key: string): Promise<void>;
}

/** The Cache API store the browser loader uses by default. */
export const DEFAULT_CACHE_NAME = 'warmstart-datasets';

/** The Cache API wants http(s) request URLs as keys: each key becomes one under this reserved host. */
const KEY_ORIGIN = 'https://datasets.warmstart.invalid/';

interface CacheStorageLike {
  open(name: string): Promise<{
    match(request: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | undefined>;
    put(request: string, response: unknown): Promise<void>;
    delete(request: string): Promise<boolean>;
  }>;
}

/**
 * A cache in the browser's Cache API (`caches`, available to pages served over https or from localhost),
 * or null where there is none (Node, insecure pages).
 *
 * @param name - the Cache API store (default `warmstart-datasets`)
 */
export function browserDatasetCache(name: string = DEFAULT_CACHE_NAME): DatasetCache | null {
  const storage = (globalThis as { caches?: CacheStorageLike }).caches;
  const ResponseClass = (globalThis as { Response?: new (body: Uint8Array) => unknown }).Response;
  if (storage === undefined || ResponseClass === undefined) return null;
  const open = () => storage.open(name);
  const request = (key: string) => KEY_ORIGIN + encodeURIComponent(key);
  return {
    async get(key) {
      const response = await (await open()).match(request(key));
      return response === undefined ? undefined : new Uint8Array(await response.arrayBuffer());
    },
    async put(key, bytes) {
      await (await open()).put(request(key), new ResponseClass(bytes));
    },
    async delete(key) {
      await (await open()).delete(request(key));
    },
  };
}

/** A cache in memory, for tests and for pages that must not store anything. */
export function memoryDatasetCache(): DatasetCache & { readonly entries: Map<string, Uint8Array> } {
  const entries = new Map<string, Uint8Array>();
  return {
    entries,
    async get(key) {
      return entries.get(key);
    },
    async put(key, bytes) {
      entries.set(key, bytes.slice());
    },
    async delete(key) {
      entries.delete(key);
    },
  };
}
