/**
 * The browser side of the dataset loaders (see `platform.ts` for Node's): no folders, so a dataset comes
 * from `dataUrl` or from the official mirrors, kept in the Cache API between visits. The file functions
 * exist so that both platforms export the same names; here they throw a DatasetError `not-available`.
 * @module
 */
import type { DownloadProgress, DownloadToFileOptions } from './download.js';
import { DatasetError } from './errors.js';
import type { IdxArray } from './idx.js';
import { loadIdxDatasetFromMirrors } from './remote.js';
import type { IdxDatasetSpec, ImageDataset, LoadDatasetOptions, LocatedDataset } from './spec.js';

function noFileSystem(what: string, advice: string): DatasetError {
  return new DatasetError('not-available', what, `browsers have no file system; ${advice}`);
}

/** Browsers have no cache folder: the loaders use the Cache API. */
export function defaultCacheDir(datasetName: string): string {
  throw noFileSystem(datasetName, 'downloaded datasets are kept in the Cache API (warmstart-datasets)');
}

/** Messages go to the console. */
export function defaultLog(line: string): void {
  console.info(line);
}

/** No default progress display: pass `onProgress` to show one. */
export function defaultProgress(): ((progress: DownloadProgress) => void) | undefined {
  return undefined;
}

/** Browsers have no folders to locate a dataset in. */
export async function locateIdxDataset(
  spec: IdxDatasetSpec,
  _options: LoadDatasetOptions = {},
): Promise<LocatedDataset> {
  throw noFileSystem(spec.name, 'load it with the dataUrl option, or from the mirrors (the default)');
}

/**
 * The browser's part of `loadIdxDataset` (after `dataUrl`): the Cache API, then the mirrors. A `dataDir`
 * is an error that says to use `dataUrl`.
 */
export async function loadFromPlatform(
  spec: IdxDatasetSpec,
  options: LoadDatasetOptions,
): Promise<ImageDataset> {
  if (options.dataDir !== undefined) {
    throw noFileSystem(options.dataDir, 'give the folder as a URL with the dataUrl option');
  }
  return loadIdxDatasetFromMirrors(spec, options, {
    log: options.log ?? defaultLog,
    onProgress: options.onProgress ?? defaultProgress(),
  });
}

/** Browsers have no files: fetch the bytes and use `readIdx`. */
export function readIdxFile(path: string): IdxArray {
  throw noFileSystem(path, 'fetch the bytes and use readIdx');
}

/** Browsers have no files: fetch the bytes. */
export function readFileBytes(path: string): Uint8Array {
  throw noFileSystem(path, 'fetch the bytes');
}

/** Browsers have no files: see `downloadFromMirrors`. */
export async function downloadToFile(
  _fileName: string,
  destinationPath: string,
  _options: DownloadToFileOptions,
): Promise<Uint8Array> {
  throw noFileSystem(destinationPath, 'use downloadFromMirrors');
}

/** Browsers have no files to write. */
export async function writeFileAtomically(path: string, _bytes: Uint8Array): Promise<void> {
  throw noFileSystem(path, 'offer the bytes as a download (a Blob) instead');
}
