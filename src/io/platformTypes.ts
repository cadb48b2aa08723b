/**
 * What model files need from the platform, as one module with two implementations: `platform.ts` for Node
 * (paths, atomic writes, temporary files, the HDF5 worker on `worker_threads`) and `platform.browser.ts` for
 * browsers (URLs, downloads, the HDF5 worker on a module Web Worker). The core imports `./platform.js`; a
 * bundler that targets browsers substitutes `platform.browser.js` through the package's `browser` field.
 * See docs/platforms.md.
 * @module
 */
import type { WorkerRequest, WorkerResponse } from './hdf5/snapshot.js';

/** What the HDF5 worker posts: an answer, or once at the start, whether HDF5 started. */
export type Hdf5WorkerMessage = WorkerResponse | { ready: true } | { startupError: string };

/** The HDF5 worker as its client sees it, whatever runs it (a `worker_threads` Worker, a Web Worker). */
export interface Hdf5WorkerHandle {
  /** Sends a request (its bytes are copied: the caller keeps them). */
  post(request: WorkerRequest): void;
  /**
   * Calls `onMessage` with each message of the worker and `onFailure` when the worker fails (an error it did
   * not catch, its exit, a module file that did not load), with what happened as the end of a sentence that
   * starts "the HDF5 worker" (`failed: …`, `exited (code 1)`); returns the function that stops listening.
   */
  listen(onMessage: (message: Hdf5WorkerMessage) => void, onFailure: (reason: string) => void): () => void;
  /** Stops the worker at once, even in the middle of a request (a hang). */
  terminate(): Promise<void>;
  /** Node: whether the worker keeps the process alive (only while a request waits for it). Browsers: nothing. */
  keepAlive(busy: boolean): void;
}

/** A model file's bytes, read on demand, and how messages name it. */
export interface ModelInput {
  /** The path, the URL, the `File`'s name, or a description of the bytes (`<Blob of 1234 bytes>`). */
  readonly name: string;
  /** Its size in bytes. */
  readonly size: number;
  /** Its first `count` bytes (all of them when it is shorter): enough to tell the format. */
  head(count: number): Promise<Uint8Array>;
  /** All its bytes. */
  bytes(): Promise<Uint8Array>;
}

/** The functions both io platform modules provide (a test checks both against this type). */
export interface IoPlatformModule {
  /** `'node'` or `'browser'`. */
  readonly ioPlatformName: 'node' | 'browser';
  /** Starts a fresh HDF5 worker from its module file (`hdf5/nodeWorker.js` or `hdf5/webWorker.js`). */
  startHdf5Worker(): Hdf5WorkerHandle;
  /**
   * Opens a model file named by a string or URL. Node: a path, or a `file:` URL, read from disk; an `http:`
   * or `https:` URL is fetched. Browsers: a URL, resolved against the page, fetched.
   * @throws ModelFileError `NOT_FOUND`
   */
  openModelLocation(location: string | URL): Promise<ModelInput>;
  /**
   * Refuses, before any work, a save to `path` that cannot succeed (a missing folder, a folder at the path,
   * an existing file with `overwrite` false), then removes the temporary files killed saves left in its folder.
   * Browsers have no paths: a `NotAvailableError` that names the alternatives.
   * @throws ModelFileError `WRITE_FAILED`, or NotAvailableError
   */
  prepareModelFileWrite(path: string, overwrite: boolean): Promise<void>;
  /**
   * Writes `bytes` next to `path` under a temporary name, flushes them, lets `check` read the temporary file
   * back, and renames it over `path`; removes the temporary file when anything fails. Throws what failed.
   */
  writeModelFileAtomically(
    path: string,
    bytes: Uint8Array,
    check: (temporaryPath: string) => Promise<void>,
  ): Promise<void>;
  /** A file-system error of a save, in words that name the cause (and the folder when it is the folder's). */
  describeWriteError(error: unknown, path: string): string;
  /** Writes text next to `path` under a temporary name, flushes it, and renames it over `path`. */
  writeTextAtomically(path: string, text: string): Promise<void>;
  /** A text file's content (UTF-8), or null when there is no such file. */
  readTextIfExists(path: string): Promise<string | null>;
  /** The names in a folder, or null when it cannot be listed (it does not exist). */
  listFolder(path: string): Promise<string[] | null>;
  /** Creates a folder and its parents. */
  makeFolder(path: string): Promise<void>;
  /** Removes a file; nothing when there is none. */
  removeFile(path: string): Promise<void>;
  /** Removes a folder if it is empty; nothing otherwise. */
  removeFolderIfEmpty(path: string): Promise<void>;
  /** A path inside a folder. */
  joinPath(folder: string, name: string): string;
  /** Removes, in `folder`, the temporary files of saves whose process no longer exists; their names. */
  removeStaleTemporaries(folder: string): Promise<string[]>;
  /**
   * Offers bytes to the person using the page as a file download named `fileName`. Node has no page: a
   * `ModelFileError` `WRITE_FAILED` that says to save to a path.
   */
  offerDownload(fileName: string, bytes: Uint8Array): void;
  /** Where warnings go by default: `process.emitWarning` (type `WarmstartWarning`) or `console.warn`. */
  emitWarning(message: string): void;
}
