/**
 * What the core needs from the platform it runs on, as one module with two implementations: `host.ts` for
 * Node and `host.browser.ts` for browsers (and workers). The core imports `./host.js`; a bundler that
 * targets browsers substitutes `host.browser.js` through the package's `browser` field, so no Node-only
 * import is ever reachable from a browser bundle. See docs/platforms.md.
 * @module
 */

/** Something text can be written to: `process.stdout` in Node, a console line writer in browsers. */
export interface TextWriter {
  write(text: string): unknown;
  /** True when the writer is a terminal, where a progress bar may redraw in place. */
  isTTY?: boolean;
}

/** A text file opened for writing (see {@link HostModule.openTextFile}). */
export interface TextFile {
  /** Appends `text`. */
  write(text: string): Promise<void>;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/** The functions every platform module provides (a test checks both against this type). */
export interface HostModule {
  /** `'node'` or `'browser'`. */
  readonly hostName: 'node' | 'browser';
  /** Reads a whole resource: `file:` URLs from disk in Node, anything else with `fetch`. */
  readBytes(url: URL): Promise<Uint8Array<ArrayBuffer>>;
  /** Lets the engine compile relaxed-SIMD WebAssembly (Node 20 needs a V8 flag; browsers need nothing). */
  enableRelaxedSimd(): void;
  /** Folders to look for the kernel files in when they are not next to the loader (Node's source tree). */
  kernelFolderFallbacks(): URL[];
  /** Logical CPU cores this program may use. */
  availableCores(): number;
  /**
   * Turns a location given by a person into a URL: a URL stays as it is; anything else is a path resolved
   * against the working folder (Node) or a relative URL resolved against the page (browsers).
   */
  resolveLocation(location: string): URL;
  /** An environment variable (always undefined in browsers). */
  environmentVariable(name: string): string | undefined;
  /** Where progress and messages go by default: `process.stdout`, or the console. */
  standardOutput(): TextWriter;
  /** Resolves after other tasks waiting for the thread (input, rendering, timers, I/O) had their turn. */
  yieldToEventLoop(): Promise<void>;
  /**
   * How often `fit` yields to the event loop unless told otherwise, in milliseconds of training (browsers:
   * every frame's worth, so a page stays interactive), or null (Node: never).
   */
  readonly defaultTrainingSliceMs: number | null;
  /**
   * Decompresses a gzip archive, checking its CRC-32 and length.
   * @throws GzipError (from `gzip.ts`) `truncated` or `corrupt`
   */
  gunzip(bytes: Uint8Array): Uint8Array;
  /** Hex digest of `bytes`. */
  digestHex(algorithm: 'md5' | 'sha256', bytes: Uint8Array): Promise<string>;
  /** Creates a folder and its parents (file systems only). */
  makeDirectory(path: string): Promise<void>;
  /** The folder part of a path (`'.'` when there is none). */
  parentFolder(path: string): string;
  /** Reads a text file (UTF-8). */
  readTextFile(path: string): Promise<string>;
  /** Opens a text file for writing from the start (`'w'`) or at its end (`'a'`). */
  openTextFile(path: string, mode: 'w' | 'a'): Promise<TextFile>;
}
