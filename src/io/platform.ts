/**
 * The Node side of model files (see `platformTypes.ts`): paths, atomic writes through temporary files next
 * to the target and the sweep of those killed saves left, and the HDF5 worker on `worker_threads`. Bundlers
 * that target browsers replace this file with `platform.browser.ts` (the package's `browser` field), so the
 * Node-only imports below never reach a browser bundle.
 * @module
 */
import { promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ModelFileError } from './errors.js';
import { fetchInput } from './modelSource.js';
import type { Hdf5WorkerHandle, Hdf5WorkerMessage, IoPlatformModule, ModelInput } from './platformTypes.js';
import { removeStaleTemporaries as sweep, temporaryPathFor } from './temporaryFiles.js';

/** See {@link IoPlatformModule.ioPlatformName}. */
export const ioPlatformName: IoPlatformModule['ioPlatformName'] = 'node';

/** See {@link IoPlatformModule.startHdf5Worker}. */
export function startHdf5Worker(): Hdf5WorkerHandle {
  // A plain JavaScript module, the same from src/ (under tsx) and dist/: no execArgv, so the worker does not
  // inherit a TypeScript loader (which would transform h5wasm's 4 MB module on every start).
  const worker = new Worker(new URL('./hdf5/nodeWorker.js', import.meta.url), { execArgv: [] });
  // An idle worker must not keep the process alive; keepAlive(true) holds it while a request waits.
  worker.unref();
  return {
    post: (request) => worker.postMessage(request),
    listen(onMessage, onFailure) {
      const message = (value: Hdf5WorkerMessage): void => onMessage(value);
      const error = (value: Error): void => onFailure(`failed: ${value.message}`);
      const exit = (code: number): void => onFailure(`exited (code ${code})`);
      worker.on('message', message);
      worker.on('error', error);
      worker.on('exit', exit);
      return () => {
        worker.off('message', message);
        worker.off('error', error);
        worker.off('exit', exit);
      };
    },
    terminate: async () => {
      await worker.terminate();
    },
    keepAlive: (busy) => (busy ? worker.ref() : worker.unref()),
  };
}

/** A string with a scheme of two or more letters is a URL (one letter is a Windows drive). */
const URL_SCHEME = /^[a-z][a-z0-9+.-]+:/i;

/** See {@link IoPlatformModule.openModelLocation}. */
export async function openModelLocation(location: string | URL): Promise<ModelInput> {
  let path: string;
  if (location instanceof URL || URL_SCHEME.test(location)) {
    const url = location instanceof URL ? location : new URL(location);
    if (url.protocol !== 'file:') return fetchInput(url);
    path = fileURLToPath(url);
  } else {
    path = location;
  }
  const name = location instanceof URL ? path : location;
  const notFound = (error: unknown): ModelFileError =>
    error instanceof ModelFileError
      ? error
      : new ModelFileError(
          'NOT_FOUND',
          name,
          `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
          { cause: error },
        );
  let size: number;
  try {
    const stat = await fs.stat(path);
    if (!stat.isFile()) throw new ModelFileError('NOT_FOUND', name, 'not a file');
    size = stat.size;
  } catch (error) {
    throw notFound(error);
  }
  return {
    name,
    size,
    async head(count) {
      try {
        const handle = await fs.open(path, 'r');
        try {
          const head = new Uint8Array(Math.min(size, count));
          const { bytesRead } = await handle.read(head, 0, head.length, 0);
          return head.subarray(0, bytesRead);
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw notFound(error);
      }
    },
    async bytes() {
      try {
        return new Uint8Array(await fs.readFile(path));
      } catch (error) {
        throw notFound(error);
      }
    },
  };
}

/** See {@link IoPlatformModule.describeWriteError}. */
export function describeWriteError(error: unknown, path: string): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const folder = dirname(resolve(path));
  switch (code) {
    case 'ENOENT':
      return `the folder '${folder}' does not exist (it disappeared during the save)`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to write in the folder '${folder}'`;
    case 'EROFS':
      return `the folder '${folder}' is on a read-only file system`;
    case 'ENOSPC':
      return `no space left on the device of '${folder}'`;
    case 'EDQUOT':
      return `the disk quota of '${folder}' is exhausted`;
    case 'EISDIR':
      return `'${path}' is a folder`;
    default:
      return (error as Error).message;
  }
}

/** See {@link IoPlatformModule.prepareModelFileWrite}. */
export async function prepareModelFileWrite(path: string, overwrite: boolean): Promise<void> {
  const folder = dirname(resolve(path));
  let isFolder: boolean;
  try {
    isFolder = (await fs.stat(folder)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `the folder '${folder}' does not exist: create it first (for example \`mkdir -p ${folder}\`, or \`fs.mkdirSync(folder, { recursive: true })\`)`
        : `the folder '${folder}' cannot be used (${describeWriteError(error, path)})`;
    throw new ModelFileError('WRITE_FAILED', path, reason, { cause: error });
  }
  if (!isFolder) throw new ModelFileError('WRITE_FAILED', path, `'${folder}' is not a folder`);
  const target = await fs.stat(path).catch(() => null);
  if (target?.isDirectory()) throw new ModelFileError('WRITE_FAILED', path, 'a folder exists at this path');
  if (!overwrite && target !== null) {
    throw new ModelFileError('WRITE_FAILED', path, 'the file exists and overwrite is false');
  }
  await sweep(folder);
}

/** Writes bytes to a new file and flushes them to the disk before returning. */
async function writeDurably(path: string, bytes: Uint8Array | string): Promise<void> {
  const handle = await fs.open(path, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** See {@link IoPlatformModule.writeModelFileAtomically}. */
export async function writeModelFileAtomically(
  path: string,
  bytes: Uint8Array,
  check: (temporaryPath: string) => Promise<void>,
): Promise<void> {
  const temporary = temporaryPathFor(path);
  try {
    await writeDurably(temporary, bytes);
    await check(temporary);
    await fs.rename(temporary, path);
  } catch (error) {
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** See {@link IoPlatformModule.writeTextAtomically}. */
export async function writeTextAtomically(path: string, text: string): Promise<void> {
  await writeModelFileAtomically(path, new TextEncoder().encode(text), async () => {});
}

/** See {@link IoPlatformModule.readTextIfExists}. */
export async function readTextIfExists(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** See {@link IoPlatformModule.listFolder}. */
export async function listFolder(path: string): Promise<string[] | null> {
  try {
    return await fs.readdir(path);
  } catch {
    return null;
  }
}

/** See {@link IoPlatformModule.makeFolder}. */
export async function makeFolder(path: string): Promise<void> {
  await fs.mkdir(path, { recursive: true });
}

/** See {@link IoPlatformModule.removeFile}. */
export async function removeFile(path: string): Promise<void> {
  await fs.rm(path, { force: true });
}

/** See {@link IoPlatformModule.removeFolderIfEmpty}. */
export async function removeFolderIfEmpty(path: string): Promise<void> {
  await fs.rmdir(path).catch(() => undefined);
}

/** See {@link IoPlatformModule.joinPath}. */
export function joinPath(folder: string, name: string): string {
  return join(folder, name);
}

/** See {@link IoPlatformModule.removeStaleTemporaries}. */
export function removeStaleTemporaries(folder: string): Promise<string[]> {
  return sweep(folder);
}

/** See {@link IoPlatformModule.offerDownload}: Node has no page to offer a download in. */
export function offerDownload(fileName: string, _bytes: Uint8Array): void {
  throw new ModelFileError(
    'WRITE_FAILED',
    fileName,
    'downloadModel offers the file to download in a web page; in Node, save it to a path: saveModel(model, path) or model.save(path)',
  );
}

/** See {@link IoPlatformModule.emitWarning}. */
export function emitWarning(message: string): void {
  process.emitWarning(message, { type: 'WarmstartWarning' });
}
