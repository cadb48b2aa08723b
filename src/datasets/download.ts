/**
 * Downloads with progress, an idle timeout, mirrors tried in order and verification before anything is kept:
 * platform-neutral (`fetch`); writing to a file is the Node platform module's part (`platform.ts`).
 * @module
 */
import type { TextWriter } from '../platform/types.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { DatasetError } from './errors.js';

/** How far the download of one file has come; reported while it arrives and once more when it is complete. */
export interface DownloadProgress {
  /** The file's name, e.g. `train-images-idx3-ubyte.gz`. */
  file: string;
  /** The URL being downloaded (before redirects). */
  url: string;
  /** Bytes received so far. */
  receivedBytes: number;
  /** The size the server announced, if it did. */
  totalBytes: number | undefined;
  /** True on the last report for this URL, once every byte has arrived. */
  finished: boolean;
}

/** Options of {@link downloadFromMirrors} and `downloadToFile`. */
export interface DownloadToFileOptions {
  /** Base URLs tried in order; the file's name is appended to each. */
  mirrors: readonly string[];
  /** Give up on a mirror when no byte has arrived for this long (connecting included). */
  idleTimeoutMs: number;
  /** Called as bytes arrive. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Receives one line per event worth telling (downloading, failures, verification). */
  log: (line: string) => void;
  /**
   * Checks the downloaded bytes before anything is kept; throws (typically a DatasetError
   * `checksum-mismatch`) to reject them. Returns a short description of what was checked, for the log.
   */
  verify: (bytes: Uint8Array) => string | Promise<string>;
}

/** What {@link downloadFromMirrors} delivered. */
export interface VerifiedDownload {
  /** The verified bytes. */
  bytes: Uint8Array;
  /** The URL they came from (before redirects). */
  url: string;
  /** What the verification checked, e.g. `sha256 of the content`. */
  verifiedBy: string;
}

/** A server answered with an error status (`status` 404: no such file). */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The keys of {@link DownloadToFileOptions}. */
export const DOWNLOAD_TO_FILE_OPTION_KEYS = {
  mirrors: true,
  idleTimeoutMs: true,
  onProgress: true,
  log: true,
  verify: true,
} as const satisfies OptionKeys<DownloadToFileOptions>;

/** Milliseconds without any received byte after which a mirror is abandoned, unless told otherwise. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/**
 * Downloads `fileName` from the first mirror that delivers bytes passing `verify`. Redirects are followed. A
 * mirror that fails (network error, HTTP error, timeout, rejected content) is followed by the next one.
 *
 * @param fileName - the file's name on the mirrors, e.g. `train-images-idx3-ubyte.gz`
 * @param destination - where the bytes are going (a path or a cache), for messages
 * @param options - mirrors, timeout, verification and reporting
 * @param keep - stores the verified bytes (writes the file, say) before success is logged
 * @throws DatasetError `checksum-mismatch` if some mirror served content with a wrong digest and none served
 *   the right one, otherwise `download-failed`; the message lists every mirror's problem
 */
export async function downloadFromMirrors(
  fileName: string,
  destination: string,
  options: DownloadToFileOptions,
  keep: (bytes: Uint8Array) => Promise<void> = async () => {},
): Promise<VerifiedDownload> {
  checkOptions('downloadFromMirrors', options, DOWNLOAD_TO_FILE_OPTION_KEYS);
  const failures: string[] = [];
  let sawChecksumMismatch = false;
  for (const mirror of options.mirrors) {
    const url = new URL(fileName, mirror.endsWith('/') ? mirror : `${mirror}/`).href;
    options.log(`Downloading ${url}`);
    try {
      const bytes = await fetchBytes(url, fileName, options.idleTimeoutMs, options.onProgress);
      const verifiedBy = await options.verify(bytes);
      await keep(bytes);
      options.log(`Verified ${fileName} (${verifiedBy}), saved to ${destination}`);
      return { bytes, url, verifiedBy };
    } catch (error) {
      if (error instanceof DatasetError && error.code === 'checksum-mismatch') sawChecksumMismatch = true;
      const reason = describeError(error);
      failures.push(`${url}: ${reason}`);
      options.log(`Failed to download ${url}: ${reason}`);
    }
  }
  const code = sawChecksumMismatch ? 'checksum-mismatch' : 'download-failed';
  const detail =
    failures.length > 0
      ? `no mirror delivered a valid file: ${failures.join('; ')}`
      : 'no mirror to download from';
  throw new DatasetError(code, destination, detail);
}

/**
 * Fetches a URL's body, following redirects, reporting progress, and aborts when nothing arrives for
 * `idleTimeoutMs`.
 *
 * @param url - what to fetch
 * @param fileName - the name progress reports carry
 * @param idleTimeoutMs - give up after this long without a byte (connecting included)
 * @param onProgress - called as bytes arrive, and once more when all have
 * @throws Error naming the HTTP status, the timeout, or a connection closed early
 */
export async function fetchBytes(
  url: string,
  fileName: string,
  idleTimeoutMs: number,
  onProgress: ((progress: DownloadProgress) => void) | undefined,
): Promise<Uint8Array> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const restartTimer = (): void => {
    clearTimeout(timer);
    timer = setTimeout(
      () => controller.abort(new Error(`timed out: nothing received for ${idleTimeoutMs} ms`)),
      idleTimeoutMs,
    );
  };
  restartTimer();
  try {
    const response = await fetch(url, { redirect: 'follow', signal: controller.signal });
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpStatusError(response.status, `HTTP ${response.status} ${response.statusText}`.trim());
    }
    // fetch decodes a Content-Encoding itself, so the announced length then counts other bytes.
    const contentEncoding = response.headers.get('content-encoding');
    const announcedLength =
      contentEncoding === null || contentEncoding === 'identity'
        ? Number(response.headers.get('content-length'))
        : NaN;
    const totalBytes = Number.isFinite(announcedLength) && announcedLength > 0 ? announcedLength : undefined;
    const chunks: Uint8Array[] = [];
    let receivedBytes = 0;
    if (response.body !== null) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        restartTimer();
        chunks.push(value);
        receivedBytes += value.length;
        onProgress?.({ file: fileName, url, receivedBytes, totalBytes, finished: false });
      }
    }
    if (totalBytes !== undefined && receivedBytes !== totalBytes) {
      throw new Error(`connection closed after ${receivedBytes} of ${totalBytes} bytes`);
    }
    onProgress?.({ file: fileName, url, receivedBytes, totalBytes, finished: true });
    return concatenate(chunks, receivedBytes);
  } catch (error) {
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Returns a progress reporter that draws one bar per file on `stream` (meant for a TTY), e.g.
 * `train-images-idx3-ubyte.gz [=========           ]  45%  11.9/26.4 MB`.
 *
 * @param stream - where to draw, typically `process.stderr`
 */
export function terminalProgressBar(stream: TextWriter): (progress: DownloadProgress) => void {
  const barWidth = 30;
  const minimumRedrawIntervalMs = 100;
  let lastDrawnAt = 0;
  return (progress) => {
    const now = Date.now();
    if (!progress.finished && now - lastDrawnAt < minimumRedrawIntervalMs) return;
    lastDrawnAt = now;
    const megabytes = (bytes: number): string => (bytes / 1e6).toFixed(1);
    let line: string;
    if (progress.totalBytes !== undefined) {
      const fraction = Math.min(1, progress.receivedBytes / progress.totalBytes);
      const filled = Math.round(fraction * barWidth);
      const bar = '='.repeat(filled) + ' '.repeat(barWidth - filled);
      const percent = `${Math.round(fraction * 100)}%`.padStart(4);
      line = `${progress.file} [${bar}] ${percent}  ${megabytes(progress.receivedBytes)}/${megabytes(progress.totalBytes)} MB`;
    } else {
      line = `${progress.file}  ${megabytes(progress.receivedBytes)} MB`;
    }
    stream.write(`\r${line}\x1b[K${progress.finished ? '\n' : ''}`);
  };
}

function concatenate(chunks: readonly Uint8Array[], totalLength: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(totalLength);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** One line for a failed download: the DatasetError's code and detail, or the error and its cause. */
export function describeError(error: unknown): string {
  if (error instanceof DatasetError) return `${error.code}: ${error.detail}`;
  if (error instanceof Error) {
    const cause = error.cause as { code?: string; message?: string } | undefined;
    const causeText = cause?.code ?? cause?.message;
    return causeText !== undefined ? `${error.message} (${causeText})` : error.message;
  }
  return String(error);
}
