/**
 * The Node side of the dataset loaders: folders, the WARMSTART_DATA_DIR variable, the cache folder, and
 * downloads written to disk. Bundlers that target browsers replace this file with `platform.browser.ts`
 * (the package's `browser` field), whose loader fetches from the mirrors into the Cache API instead.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { assembleDataset, type StoredFile } from './assemble.js';
import { verifyDigests } from './checksums.js';
import { checkOptions } from '../kernels/options.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DOWNLOAD_TO_FILE_OPTION_KEYS,
  type DownloadProgress,
  downloadFromMirrors,
  type DownloadToFileOptions,
  terminalProgressBar,
} from './download.js';
import { DatasetError } from './errors.js';
import { decompressIfGzip, type IdxArray, parseIdx, readIdx } from './idx.js';
import {
  DATA_DIR_ENV,
  IDX_DATASET_FILES,
  type IdxDatasetFile,
  type IdxDatasetSpec,
  type ImageDataset,
  LOAD_DATASET_OPTION_KEYS,
  type LoadDatasetOptions,
  type LocatedDataset,
} from './spec.js';

/**
 * The default cache folder of a dataset: `$XDG_CACHE_HOME/warmstart/datasets/<name>` when XDG_CACHE_HOME is
 * an absolute path, otherwise `~/.cache/warmstart/datasets/<name>`. Node only.
 *
 * @param datasetName - e.g. `fashion-mnist`
 */
export function defaultCacheDir(datasetName: string): string {
  const xdgCacheHome = process.env['XDG_CACHE_HOME'];
  const cacheRoot =
    xdgCacheHome !== undefined && isAbsolute(xdgCacheHome) ? xdgCacheHome : join(homedir(), '.cache');
  return join(cacheRoot, 'warmstart', 'datasets', datasetName);
}

/** Where the loaders' messages go by default: stderr. */
export function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The default download progress: a bar on stderr when it is a terminal. */
export function defaultProgress(): ((progress: DownloadProgress) => void) | undefined {
  return process.stderr.isTTY ? terminalProgressBar(process.stderr) : undefined;
}

/**
 * Finds a dataset's files, downloading them into the cache if needed. The folder is, in this order:
 * the `dataDir` option; the folder in the environment variable WARMSTART_DATA_DIR; the cache folder if it
 * holds all four files; the cache folder after downloading the missing files from the mirrors.
 * A folder given by option or environment variable is used if it has a subfolder named after the dataset,
 * and must then hold all four files. Node only.
 *
 * @param spec - the dataset
 * @param options - see {@link LoadDatasetOptions}
 * @throws DatasetError `missing-file` naming the first missing file, or any download error
 */
export async function locateIdxDataset(
  spec: IdxDatasetSpec,
  options: LoadDatasetOptions = {},
): Promise<LocatedDataset> {
  checkOptions('locateIdxDataset', options, LOAD_DATASET_OPTION_KEYS);
  const envDataDir = process.env[DATA_DIR_ENV];
  if (options.dataDir !== undefined) {
    return locateInUserFolder(spec, options.dataDir, 'dataDir option');
  }
  if (envDataDir !== undefined && envDataDir !== '') {
    return locateInUserFolder(spec, envDataDir, DATA_DIR_ENV);
  }

  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir(spec.name));
  const cached = findFiles(cacheDir);
  if (cached.missing.length === 0) return { dataDir: cacheDir, files: cached.files, source: 'cache' };
  if (options.download === false) {
    throw new DatasetError(
      'missing-file',
      join(cacheDir, cached.missing[0]!),
      `${spec.title} not found: no dataDir option, ${DATA_DIR_ENV} not set, the cache folder lacks ` +
        `${cached.missing.join(', ')} (as .gz or raw), and downloading is turned off`,
    );
  }

  const log = options.log ?? defaultLog;
  const onProgress = options.onProgress ?? defaultProgress();
  const digests = options.expectedDigests ?? spec.currentDigests;
  const releaseName = `${options.expectedDigests ? 'expected' : 'current'} ${spec.title} release`;
  const files = { ...cached.files };
  for (const fileName of cached.missing) {
    const servedName = `${fileName}.gz`;
    const destinationPath = join(cacheDir, servedName);
    await downloadToFile(servedName, destinationPath, {
      mirrors: options.mirrors ?? spec.mirrors,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      onProgress,
      log,
      verify: async (bytes) => {
        let content: Uint8Array | undefined;
        const getContent = (): Uint8Array => (content ??= decompressIfGzip(bytes, servedName));
        const verifiedBy = await verifyDigests(servedName, bytes, getContent, digests[fileName], releaseName);
        parseIdx(getContent(), servedName);
        return verifiedBy;
      },
    });
    files[fileName] = destinationPath;
  }
  return { dataDir: cacheDir, files, source: 'download' };
}

/**
 * Node's part of `loadIdxDataset`: locates the folder (see {@link locateIdxDataset}) and reads the files.
 *
 * @param spec - the dataset
 * @param options - see {@link LoadDatasetOptions}
 */
export async function loadFromPlatform(
  spec: IdxDatasetSpec,
  options: LoadDatasetOptions,
): Promise<ImageDataset> {
  const located = await locateIdxDataset(spec, options);
  const files = {} as Record<IdxDatasetFile, StoredFile>;
  for (const fileName of IDX_DATASET_FILES) {
    const path = located.files[fileName];
    files[fileName] = { bytes: readFileBytes(path), name: path };
  }
  return assembleDataset(spec, files, located.dataDir, options, options.log ?? defaultLog);
}

/**
 * Reads an IDX file (gzip-compressed or raw) from disk. Node only.
 *
 * @param path - the file's path, used in error messages
 * @throws DatasetError `missing-file` if there is no such file, or any error of `readIdx`
 */
export function readIdxFile(path: string): IdxArray {
  return readIdx(readFileBytes(path), path);
}

/**
 * Reads a whole file, turning "no such file" into a DatasetError `missing-file`. Node only.
 *
 * @param path - the file's path
 */
export function readFileBytes(path: string): Uint8Array {
  try {
    const buffer = readFileSync(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') {
      throw new DatasetError('missing-file', path, 'no such file');
    }
    throw error;
  }
}

/**
 * Downloads `fileName` from the first mirror that delivers bytes passing `verify`, and writes them to
 * `destinationPath` atomically: into a temporary file in the same folder, then renamed. Nothing is ever
 * written under the final name unless it was complete and verified. Node only.
 *
 * Redirects are followed. A mirror that fails (network error, HTTP error, timeout, rejected content) is
 * followed by the next one.
 *
 * @param fileName - the file's name on the mirrors, e.g. `train-images-idx3-ubyte.gz`
 * @param destinationPath - where to store it; its folder is created if needed
 * @param options - mirrors, timeout, verification and reporting
 * @returns the verified bytes
 * @throws DatasetError `checksum-mismatch` if some mirror served content with a wrong digest and none served
 *   the right one, otherwise `download-failed`; the message lists every mirror's problem
 */
export async function downloadToFile(
  fileName: string,
  destinationPath: string,
  options: DownloadToFileOptions,
): Promise<Uint8Array> {
  checkOptions('downloadToFile', options, DOWNLOAD_TO_FILE_OPTION_KEYS);
  const { bytes } = await downloadFromMirrors(fileName, destinationPath, options, async (verified) => {
    await mkdir(dirname(destinationPath), { recursive: true });
    await writeFileAtomically(destinationPath, verified);
  });
  return bytes;
}

/**
 * Writes `bytes` to a temporary file next to `path`, flushes it, then renames it to `path`. The temporary
 * file is removed if anything fails. Node only.
 *
 * @param path - the final path
 * @param bytes - the whole content
 */
export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporaryPath = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.part`,
  );
  try {
    const handle = await open(temporaryPath, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporaryPath, path);
  } catch (error) {
    await rm(temporaryPath, { force: true });
    throw error;
  }
}

function locateInUserFolder(
  spec: IdxDatasetSpec,
  folder: string,
  source: 'dataDir option' | typeof DATA_DIR_ENV,
): LocatedDataset {
  const givenDir = resolve(folder);
  const subfolder = join(givenDir, spec.name);
  const dataDir = isDirectory(subfolder) ? subfolder : givenDir;
  const found = findFiles(dataDir);
  if (found.missing.length > 0) {
    const where = isDirectory(dataDir) ? `folder ${dataDir}` : `folder ${dataDir}, which does not exist`;
    throw new DatasetError(
      'missing-file',
      join(dataDir, found.missing[0]!),
      `${spec.title} file not found (as .gz or raw) in ${where}, given by the ${source}; ` +
        `missing: ${found.missing.join(', ')}`,
    );
  }
  return { dataDir, files: found.files, source };
}

/** Looks for each file as `<name>.gz`, then `<name>`. */
function findFiles(folder: string): { files: Record<IdxDatasetFile, string>; missing: IdxDatasetFile[] } {
  const files = {} as Record<IdxDatasetFile, string>;
  const missing: IdxDatasetFile[] = [];
  for (const fileName of IDX_DATASET_FILES) {
    const path = [join(folder, `${fileName}.gz`), join(folder, fileName)].find(isFile);
    if (path === undefined) missing.push(fileName);
    else files[fileName] = path;
  }
  return { files, missing };
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
