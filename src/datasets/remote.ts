/**
 * Loading a dataset over HTTP, the same on every platform (`fetch`): from a folder URL that someone gave
 * (trusted, like a folder on disk) or from the official mirrors (verified against the current release's
 * published digests), with an optional cache between visits.
 * @module
 */
import * as host from '../platform/host.js';
import { assembleDataset, type StoredFile } from './assemble.js';
import { browserDatasetCache, type DatasetCache, DEFAULT_CACHE_NAME } from './cache.js';
import { HashedFile, verifyHashedFile } from './checksums.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  describeError,
  type DownloadProgress,
  downloadFromMirrors,
  fetchBytes,
  HttpStatusError,
} from './download.js';
import { DatasetError } from './errors.js';
import { decompressIfGzip, parseIdx } from './idx.js';
import {
  IDX_DATASET_FILES,
  type IdxDatasetFile,
  type IdxDatasetSpec,
  type ImageDataset,
  type LoadDatasetOptions,
} from './spec.js';

/** How a remote load reports: the caller's callbacks or the platform's defaults. */
export interface RemoteReporting {
  log: (line: string) => void;
  onProgress: ((progress: DownloadProgress) => void) | undefined;
}

/** The cache the options ask for: theirs, none (`false`), or the browser's Cache API where there is one. */
function chooseCache(option: DatasetCache | false | undefined): DatasetCache | null {
  if (option === false) return null;
  return option ?? browserDatasetCache();
}

/** The URL of the folder `dataUrl` names, ending in `/` so that file names resolve inside it. */
function folderUrl(dataUrl: string | URL): URL {
  const url = dataUrl instanceof URL ? dataUrl : host.resolveLocation(dataUrl);
  return url.href.endsWith('/') ? url : new URL(`${url.href}/`);
}

/** Stores what loaded, once the whole dataset did: a broken file must not be kept for the next visit. */
async function keep(cache: DatasetCache | null, fresh: Map<string, Uint8Array>, log: (line: string) => void) {
  if (cache === null) return;
  for (const [key, bytes] of fresh) {
    try {
      await cache.put(key, bytes);
    } catch (error) {
      log(`Could not cache ${key}: ${describeError(error)}`);
    }
  }
}

/**
 * Loads the four files from the folder at `dataUrl` (each as `<name>.gz`, else `<name>`), or from the cache
 * when an earlier load put them there. The files are trusted as a `dataDir` folder is: identified, not
 * verified.
 *
 * @param spec - the dataset
 * @param dataUrl - the folder's URL (a relative one is resolved against the page)
 * @param options - see {@link LoadDatasetOptions}
 * @param reporting - where messages and progress go
 * @throws DatasetError `missing-file` for a file the server does not have, `download-failed` for any other
 *   failure to fetch, or any error of the files' contents
 */
export async function loadIdxDatasetFromUrl(
  spec: IdxDatasetSpec,
  dataUrl: string | URL,
  options: LoadDatasetOptions,
  reporting: RemoteReporting,
): Promise<ImageDataset> {
  const base = folderUrl(dataUrl);
  const cache = chooseCache(options.cache);
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const files = {} as Record<IdxDatasetFile, StoredFile>;
  const fresh = new Map<string, Uint8Array>();
  for (const fileName of IDX_DATASET_FILES) {
    const candidates = [`${fileName}.gz`, fileName].map((name) => ({ name, url: new URL(name, base).href }));
    let found: StoredFile | undefined;
    for (const { url } of candidates) {
      const cached = await cache?.get(`url:${url}`);
      if (cached !== undefined) {
        found = { bytes: cached, name: url };
        break;
      }
    }
    for (const { name, url } of found === undefined ? candidates : []) {
      try {
        const bytes = await fetchBytes(url, name, idleTimeoutMs, reporting.onProgress);
        found = { bytes, name: url };
        fresh.set(`url:${url}`, bytes);
        break;
      } catch (error) {
        if (error instanceof HttpStatusError && error.status === 404) continue;
        throw new DatasetError('download-failed', url, describeError(error));
      }
    }
    if (found === undefined) {
      throw new DatasetError(
        'missing-file',
        candidates[0]!.url,
        `${spec.title} file not found (as .gz or raw) at ${base.href}, given by the dataUrl option`,
      );
    }
    files[fileName] = found;
  }
  const dataset = await assembleDataset(spec, files, base.href, options, reporting.log);
  await keep(cache, fresh, reporting.log);
  return dataset;
}

/**
 * Loads the four files from the cache or, for those it lacks (or that no longer verify), from the mirrors,
 * each verified against the published digests (`expectedDigests` replaces them) before it is used or kept.
 *
 * @param spec - the dataset
 * @param options - see {@link LoadDatasetOptions}
 * @param reporting - where messages and progress go
 * @throws DatasetError `checksum-mismatch` or `download-failed` when no mirror delivers a file, `missing-file`
 *   when one is missing and `download` is false
 */
export async function loadIdxDatasetFromMirrors(
  spec: IdxDatasetSpec,
  options: LoadDatasetOptions,
  reporting: RemoteReporting,
): Promise<ImageDataset> {
  const cache = chooseCache(options.cache);
  const digests = options.expectedDigests ?? spec.currentDigests;
  const releaseName = `${options.expectedDigests ? 'expected' : 'current'} ${spec.title} release`;
  const where = cache === null ? 'memory (no cache)' : `the cache (${DEFAULT_CACHE_NAME})`;
  const files = {} as Record<IdxDatasetFile, StoredFile>;
  const fresh = new Map<string, Uint8Array>();
  const mirrors = options.mirrors ?? spec.mirrors;
  for (const fileName of IDX_DATASET_FILES) {
    const servedName = `${fileName}.gz`;
    const key = `${spec.name}/${servedName}`;
    let hashed: HashedFile | undefined;
    const verify = async (bytes: Uint8Array): Promise<string> => {
      hashed = new HashedFile(bytes, decompressIfGzip(bytes, servedName));
      const verifiedBy = await verifyHashedFile(servedName, hashed, digests[fileName], releaseName);
      parseIdx(hashed.content, servedName);
      return verifiedBy;
    };
    const cached = await cache?.get(key);
    if (cached !== undefined) {
      try {
        await verify(cached);
        files[fileName] = { bytes: cached, name: `${servedName} (cached)`, hashed };
        continue;
      } catch (error) {
        reporting.log(`Cached ${servedName} is unusable (${describeError(error)}); downloading it again`);
        await cache!.delete(key);
      }
    }
    if (options.download === false) {
      throw new DatasetError(
        'missing-file',
        servedName,
        `${spec.title} is not in ${where}, and downloading is turned off`,
      );
    }
    const download = await downloadFromMirrors(servedName, where, {
      mirrors,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      onProgress: reporting.onProgress,
      log: reporting.log,
      verify,
    });
    files[fileName] = { bytes: download.bytes, name: download.url, hashed };
    fresh.set(key, download.bytes);
  }
  const dataset = await assembleDataset(spec, files, mirrors[0] ?? where, options, reporting.log);
  await keep(cache, fresh, reporting.log);
  return dataset;
}
