/**
 * The calling thread's side of the HDF5 worker (see `service.js`): one worker, started on first use from its
 * module file by the platform module (`worker_threads` in Node, a module Web Worker in browsers), sent one
 * request at a time, each with a deadline. A request that hangs, or that leaves HDF5 broken (an abort), costs
 * that worker: it is terminated and the next request starts a fresh one, so a damaged file can neither hang
 * nor crash the process (or the page). Files cross the boundary as bytes: the worker keeps no file on any disk.
 * @module
 */
import { startHdf5Worker } from '../platform.js';
import type { Hdf5WorkerHandle, Hdf5WorkerMessage } from '../platformTypes.js';
import type {
  GroupSnapshot,
  ReadLimits,
  RequestBody,
  WorkerFailure,
  WorkerRequest,
  WorkerResponse,
  WriteGroup,
} from './snapshot.js';

/**
 * A failure reported by the HDF5 worker, or its deadline passing, or the worker not starting at all (its
 * module file missing or refused, HDF5's WebAssembly not compiling): `startup`, which is no file's fault.
 */
export class Hdf5Failure extends Error {
  override readonly name = 'Hdf5Failure';
  /**
   * `hdf5`: the library refused the file; `limit`: a read limit was hit; `internal`: the library broke;
   * `timeout`; `startup`: the worker did not start.
   */
  readonly kind: WorkerFailure['kind'] | 'timeout' | 'startup';
  constructor(kind: Hdf5Failure['kind'], message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Limits of a read by default: generous for real models, small enough to refuse a crafted header at once. */
export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxObjectBytes: 2 ** 31 - 1,
  maxTotalBytes: 2 ** 32,
  maxObjects: 200_000,
  maxDepth: 64,
};

/** Default deadline of one request: a fixed allowance plus time proportional to the file's size. */
export function defaultTimeoutMs(fileBytes: number): number {
  return 20_000 + fileBytes / 10_000;
}

/** How long starting the worker may take. */
const STARTUP_TIMEOUT_MS = 60_000;

/** Replace the worker after this many failed requests, to bound whatever HDF5 leaks on error paths. */
const RECYCLE_AFTER_FAILURES = 200;

/** What a successful request returns. */
interface Answer {
  tree: GroupSnapshot | null;
  bytes: Uint8Array | null;
}

interface Running {
  worker: Hdf5WorkerHandle;
  ready: Promise<void>;
  failures: number;
}

/** Sends requests to the HDF5 worker, one at a time. */
class Hdf5Client {
  private running: Running | null = null;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();

  /** Reads a whole HDF5 file, given as bytes, into a snapshot; `name` names it in messages. */
  read(
    name: string,
    bytes: Uint8Array,
    options: { limits?: ReadLimits; timeoutMs: number },
  ): Promise<GroupSnapshot> {
    const request = { op: 'read' as const, name, bytes, limits: options.limits ?? DEFAULT_READ_LIMITS };
    return this.enqueue(request, options.timeoutMs).then(({ tree }) => {
      if (tree === null) throw new Hdf5Failure('internal', 'the HDF5 worker returned no data');
      return tree;
    });
  }

  /** Makes an HDF5 file from a description and returns its bytes; `name` names it in messages. */
  write(name: string, root: WriteGroup, options: { timeoutMs: number }): Promise<Uint8Array> {
    return this.enqueue({ op: 'write' as const, name, root }, options.timeoutMs).then(({ bytes }) => {
      if (bytes === null) throw new Hdf5Failure('internal', 'the HDF5 worker returned no file');
      return bytes;
    });
  }

  /** Stops the worker (it is started again on the next request). */
  async close(): Promise<void> {
    const running = this.running;
    this.running = null;
    if (running !== null) await running.worker.terminate();
  }

  private enqueue(request: RequestBody, timeoutMs: number): Promise<Answer> {
    const result = this.queue.then(() => this.send(request, timeoutMs));
    // The next request waits for this one to settle, whatever its outcome.
    this.queue = result.catch(() => undefined);
    return result;
  }

  private start(): Running {
    const worker = startHdf5Worker();
    let stopListening = (): void => {};
    const ready = new Promise<void>((resolve, reject) => {
      stopListening = worker.listen(
        (message) => {
          if ('ready' in message) {
            stopListening();
            resolve();
          } else if ('startupError' in message) {
            stopListening();
            reject(new Error(`HDF5 could not start in it (${message.startupError})`));
          }
        },
        (reason) => {
          stopListening();
          reject(new Error(`it ${reason}`));
        },
      );
    });
    // Avoid an unhandled rejection when the worker dies while idle; requests see the failure themselves.
    ready.catch(() => undefined);
    return { worker, ready, failures: 0 };
  }

  private async discard(running: Running): Promise<void> {
    if (this.running === running) this.running = null;
    await running.worker.terminate().catch(() => undefined);
  }

  private async send(request: RequestBody, timeoutMs: number): Promise<Answer> {
    if (this.running === null) this.running = this.start();
    const running = this.running;
    const id = this.nextId++;
    running.worker.keepAlive(true);
    let stopListening = (): void => {};
    try {
      // Starting the worker (loading HDF5's WebAssembly) is not the file's fault: it has its own, longer
      // deadline, and its failures are of their own kind.
      await withDeadline(
        () => running.ready,
        Math.max(timeoutMs, STARTUP_TIMEOUT_MS),
        'starting the HDF5 worker',
      ).catch((error: unknown) => {
        throw new Hdf5Failure(
          'startup',
          `the HDF5 worker did not start: ${(error as Error).message}; this is not about the file`,
        );
      });
      const response = await withDeadline(
        () =>
          new Promise<WorkerResponse>((resolve, reject) => {
            stopListening = running.worker.listen(
              (message: Hdf5WorkerMessage) => {
                if (!('id' in message) || message.id !== id) return;
                stopListening();
                resolve(message);
              },
              (reason) => {
                stopListening();
                reject(new Hdf5Failure('internal', `the HDF5 worker ${reason}`));
              },
            );
            running.worker.post({ ...request, id } as WorkerRequest);
          }),
        timeoutMs,
        request.op === 'read' ? `reading '${request.name}'` : `writing '${request.name}'`,
      );
      if (response.ok) return { tree: response.tree, bytes: response.bytes };
      running.failures++;
      if (response.failure.fatal || running.failures >= RECYCLE_AFTER_FAILURES) await this.discard(running);
      throw new Hdf5Failure(response.failure.kind, response.failure.message);
    } catch (error) {
      stopListening();
      if (!(error instanceof Hdf5Failure) || ['timeout', 'internal', 'startup'].includes(error.kind)) {
        await this.discard(running);
      }
      throw error;
    } finally {
      if (this.running === running) running.worker.keepAlive(false);
    }
  }
}

/**
 * Runs `start()` under a deadline: its result counts only if it came within `timeoutMs` of the start. An
 * answer that arrives late (the main thread was busy when both it and the timer were due) is a timeout too,
 * so that a deadline means the same whatever the scheduling.
 */
function withDeadline<T>(start: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const late = (): Hdf5Failure =>
    new Hdf5Failure('timeout', `${what} took longer than ${Math.round(timeoutMs)} ms`);
  // A deadline of 0 ms has passed before the request starts.
  if (!(timeoutMs > 0)) return Promise.reject(late());
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), timeoutMs);
  });
  const answer = start().then((value) => {
    if (performance.now() - started > timeoutMs) throw late();
    return value;
  });
  return Promise.race([answer, deadline]).finally(() => clearTimeout(timer));
}

const client = new Hdf5Client();

/** Stops the HDF5 worker (it restarts on the next read or write). Lets tests and tools release it early. */
export function closeHdf5Worker(): Promise<void> {
  return client.close();
}

/**
 * Reads HDF5 content held in memory (a `.keras` archive's weights), in the HDF5 worker; `name` names it in
 * messages. Nothing is written to disk.
 */
export function readHdf5Bytes(
  bytes: Uint8Array,
  options: { limits?: ReadLimits; timeoutMs: number; name?: string },
): Promise<GroupSnapshot> {
  return client.read(options.name ?? 'HDF5 data', bytes, options);
}

/** Makes an HDF5 file from a description and returns its bytes, in the HDF5 worker. Nothing is written to disk. */
export function writeHdf5Bytes(
  root: WriteGroup,
  options: { timeoutMs: number; name?: string },
): Promise<Uint8Array> {
  return client.write(options.name ?? 'HDF5 data', root, options);
}
