/**
 * Errors about kernel memory: running out of it, and using an object whose memory was given back.
 * @module
 */

/** `1536` → `1.5 KiB`, `3.2e9` → `2.98 GiB`: sizes in messages. */
function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** What an {@link OutOfMemoryError} reports. */
export interface OutOfMemoryDetails {
  /** Bytes the failed allocation asked for (rounded up to whole 64-byte cache lines). */
  requestedBytes: number;
  /** Bytes held by live blocks when it failed. */
  liveBytes: number;
  /** The most the kernels' memory can hold (4 GiB for wasm32 where the engine allows it). */
  limitBytes: number;
  /** Bytes in freed blocks, none of them large enough for the request. */
  freeBytes?: number;
}

/**
 * The kernels' memory cannot hold another block: the request does not fit under the memory's limit (or the
 * engine refused to grow it). Not a problem with any file or input: free what is no longer used with
 * `model.dispose()`, or ask for less (smaller batches, smaller models).
 */
export class OutOfMemoryError extends Error {
  override readonly name = 'OutOfMemoryError';
  /** Bytes the failed allocation asked for. */
  readonly requestedBytes: number;
  /** Bytes held by live blocks when it failed. */
  readonly liveBytes: number;
  /** The most the kernels' memory can hold. */
  readonly limitBytes: number;
  /** Bytes in freed blocks too small (or too scattered) for the request. */
  readonly freeBytes: number;

  constructor(details: OutOfMemoryDetails, options?: { cause?: unknown }) {
    const free = details.freeBytes ?? 0;
    super(
      `out of memory: cannot allocate ${formatBytes(details.requestedBytes)} of kernel memory: ` +
        `${formatBytes(details.liveBytes)} are live` +
        (free > 0 ? ` (and ${formatBytes(free)} free, in smaller pieces)` : '') +
        ` and the memory cannot grow past ${formatBytes(details.limitBytes)}. ` +
        'Call dispose() on models you no longer use, or use smaller batches or models',
      options,
    );
    this.requestedBytes = details.requestedBytes;
    this.liveBytes = details.liveBytes;
    this.limitBytes = details.limitBytes;
    this.freeBytes = free;
  }
}

/** Kinds of objects that own kernel memory. */
export type DisposableKind = 'model' | 'layer' | 'variable' | 'optimizer';

/**
 * An object was used after its kernel memory was given back (`dispose()`, or the disposal of the last
 * model that used it). Its memory may already belong to something else, so nothing is read or written.
 */
export class DisposedError extends Error {
  override readonly name = 'DisposedError';
  /** What was disposed. */
  readonly kind: DisposableKind;
  /** Its name (a variable's path, `dense_1/kernel`). */
  readonly objectName: string;

  /**
   * @param kind - what was disposed
   * @param objectName - its name
   * @param action - what was attempted (`predict`, `build`, `read its value`)
   */
  constructor(kind: DisposableKind, objectName: string, action: string) {
    super(
      `cannot ${action}: ${kind} '${objectName}' was disposed and its kernel memory freed` +
        (kind === 'layer' || kind === 'variable'
          ? ' (by its own dispose(), or with the last model that used it)'
          : kind === 'optimizer'
            ? ' (with the last model compiled with it)'
            : ''),
    );
    this.kind = kind;
    this.objectName = objectName;
  }
}
