/**
 * The browser side of model files (see `platform.ts` for Node's): no paths, so a model file comes from a URL
 * (resolved against the page), a `Blob` or bytes, and goes out as bytes or a download; the HDF5 worker is a
 * module Web Worker started from `hdf5/webWorker.js`, which bundlers find through its
 * `new URL(…, import.meta.url)` and build with h5wasm inside. The file functions exist so that both
 * platforms export the same names; here they throw a `NotAvailableError` naming what to use instead.
 * @module
 */
import { NotAvailableError } from '../platform/errors.js';
import { resolveLocation } from '../platform/host.browser.js';
import { ModelFileError } from './errors.js';
import { fetchInput } from './modelSource.js';
import type { Hdf5WorkerHandle, Hdf5WorkerMessage, IoPlatformModule, ModelInput } from './platformTypes.js';

/** See {@link IoPlatformModule.ioPlatformName}. */
export const ioPlatformName: IoPlatformModule['ioPlatformName'] = 'browser';

/** See {@link IoPlatformModule.startHdf5Worker}: a module Web Worker. */
export function startHdf5Worker(): Hdf5WorkerHandle {
  if (typeof Worker === 'undefined') {
    throw new NotAvailableError(
      'reading and writing HDF5 (.h5 and .keras files) without Web Workers',
      'run it in a page or a worker that can start module Workers',
    );
  }
  // The literal URL is what bundlers (Vite, webpack, Parcel) recognize: they build the worker with its
  // imports (h5wasm, whose WebAssembly is inside its module) and emit it. The engine's own browser build
  // (dist/browser) puts it at ./hdf5/webWorker.js next to warmstart.js.
  const worker = new Worker(new URL('./hdf5/webWorker.js', import.meta.url), {
    type: 'module',
    name: 'warmstart-hdf5',
  });
  return {
    post: (request) => worker.postMessage(request),
    listen(onMessage, onFailure) {
      const message = (event: MessageEvent<Hdf5WorkerMessage>): void => onMessage(event.data);
      const error = (event: ErrorEvent): void => {
        // The worker is replaced: the page need not report the error a second time.
        event.preventDefault();
        // An error without a message is the module file failing to load (a 404, a wrong MIME type).
        onFailure(
          event.message
            ? `failed: ${event.message}`
            : `could not load its module file ${new URL('./hdf5/webWorker.js', import.meta.url).href} (a bundler emits it from this URL; with esbuild, copy dist/browser/hdf5/webWorker.js there)`,
        );
      };
      const unreadable = (): void => onFailure('sent a message that cannot be read');
      worker.addEventListener('message', message);
      worker.addEventListener('error', error);
      worker.addEventListener('messageerror', unreadable);
      return () => {
        worker.removeEventListener('message', message);
        worker.removeEventListener('error', error);
        worker.removeEventListener('messageerror', unreadable);
      };
    },
    terminate: async () => worker.terminate(),
    // A page does not exit when work is pending, so there is nothing to hold.
    keepAlive: () => {},
  };
}

/** See {@link IoPlatformModule.openModelLocation}: a URL, resolved against the page, fetched. */
export async function openModelLocation(location: string | URL): Promise<ModelInput> {
  let url: URL;
  try {
    url = location instanceof URL ? location : resolveLocation(location);
  } catch (error) {
    throw new ModelFileError('NOT_FOUND', String(location), `not a URL (${(error as Error).message})`, {
      cause: error,
    });
  }
  return fetchInput(url);
}

const NO_FILES = 'browsers have no file system';
const SAVE_INSTEAD =
  "make the file's bytes with saveModel(model, { format: 'h5' }) or model.save({ format: 'keras' }), or offer it as a download with downloadModel(model, 'my_model.h5')";

/** See {@link IoPlatformModule.prepareModelFileWrite}: there are no paths to save to. */
export async function prepareModelFileWrite(path: string, _overwrite: boolean): Promise<void> {
  throw new NotAvailableError(`saving a model to the path '${path}'`, SAVE_INSTEAD);
}

/** See {@link IoPlatformModule.writeModelFileAtomically}. */
export async function writeModelFileAtomically(
  path: string,
  _bytes: Uint8Array,
  _check: (temporaryPath: string) => Promise<void>,
): Promise<void> {
  throw new NotAvailableError(`saving a model to the path '${path}'`, SAVE_INSTEAD);
}

/** See {@link IoPlatformModule.describeWriteError}. */
export function describeWriteError(error: unknown, _path: string): string {
  return error instanceof Error ? error.message : String(error);
}

/** See {@link IoPlatformModule.writeTextAtomically}. */
export async function writeTextAtomically(path: string, _text: string): Promise<void> {
  throw new NotAvailableError(`writing the file '${path}'`, NO_FILES);
}

/** See {@link IoPlatformModule.readTextIfExists}. */
export async function readTextIfExists(path: string): Promise<string | null> {
  throw new NotAvailableError(`reading the file '${path}'`, NO_FILES);
}

/** See {@link IoPlatformModule.listFolder}. */
export async function listFolder(path: string): Promise<string[] | null> {
  throw new NotAvailableError(`listing the folder '${path}'`, NO_FILES);
}

/** See {@link IoPlatformModule.makeFolder}. */
export async function makeFolder(path: string): Promise<void> {
  throw new NotAvailableError(`creating the folder '${path}'`, NO_FILES);
}

/** See {@link IoPlatformModule.removeFile}. */
export async function removeFile(path: string): Promise<void> {
  throw new NotAvailableError(`removing the file '${path}'`, NO_FILES);
}

/** See {@link IoPlatformModule.removeFolderIfEmpty}. */
export async function removeFolderIfEmpty(path: string): Promise<void> {
  throw new NotAvailableError(`removing the folder '${path}'`, NO_FILES);
}

/** See {@link IoPlatformModule.joinPath}. */
export function joinPath(folder: string, name: string): string {
  return folder === '' ? name : `${folder.replace(/\/+$/, '')}/${name}`;
}

/** See {@link IoPlatformModule.removeStaleTemporaries}. */
export async function removeStaleTemporaries(folder: string): Promise<string[]> {
  throw new NotAvailableError(`cleaning the folder '${folder}'`, NO_FILES);
}

/** How long a download's object URL lives: the browser reads it after the click returns. */
const DOWNLOAD_URL_LIFETIME_MS = 60_000;

/** See {@link IoPlatformModule.offerDownload}: a link to the bytes (an object URL), clicked. */
export function offerDownload(fileName: string, bytes: Uint8Array): void {
  const page = (globalThis as { document?: Document }).document;
  if (page === undefined) {
    throw new NotAvailableError(
      'downloading a file outside a page (in a worker)',
      `post the bytes (saveModel(model, { format })) to the page and download them there`,
    );
  }
  const url = URL.createObjectURL(
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
  );
  const link = page.createElement('a');
  link.href = url;
  link.download = fileName;
  link.style.display = 'none';
  page.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_LIFETIME_MS);
}

/** See {@link IoPlatformModule.emitWarning}: the console. */
export function emitWarning(message: string): void {
  console.warn(`warmstart: ${message}`);
}
