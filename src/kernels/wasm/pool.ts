/**
 * The second thread. A worker instantiates the same module on the same shared memory and waits for tasks
 * in the control block; the main thread posts a task, works on chunks itself, and both claim chunks with
 * a compare-exchange, so whichever thread is free does the next chunk. A worker that is asleep or busy
 * elsewhere simply claims nothing and the main thread does all the work: the result is the same, because
 * no element's arithmetic depends on which thread (or tile shape) computes it. The main thread prefers
 * the lowest free chunk and the worker the highest, so a given block of a matrix is normally handled by
 * the same core from one call to the next and stays in that core's cache.
 *
 * A sleeping worker takes 40–100 µs to wake and a product takes 100–300 µs, so after each task the worker
 * spins (bounded, default 1 ms) before it sleeps in `Atomics.wait`.
 *
 * When the other core is busy (another process), the worker either misses tasks (it is not running when
 * they are posted, yet its spinning still competes for a core) or is preempted in the middle of a chunk
 * and the main thread waits for it longer than the split saves. The pool counts both; after a few such
 * tasks in a row it stops splitting for a while (the worker then goes to sleep), and each failed trial
 * doubles the pause. The kernels meanwhile run on one thread, with the same results.
 * @module
 */

import { CONTROL_OFFSET, WORD } from './abi.js';

/**
 * The worker's whole program, evaluated from a string (`eval: true`): a plain `.js` file next to this one
 * would not be copied by `tsc`, and a string works the same from `src/` under tsx and from `dist/`. It must
 * mirror {@link WorkerPool.run}'s protocol.
 */
const WORKER_SOURCE = `
'use strict';
// A dynamic import works whether this is evaluated as a script or as a module.
import('node:worker_threads').then(({ workerData, parentPort }) => {
  const { module, memory, ctrl, spinMicros, NEXT, DONE, SLEEPING, STOP, MAIN_SLEEPING, FAILED } = workerData;
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  const run = exports.run_chunk;
  const words = new Int32Array(memory.buffer, ctrl, 256);
  parentPort.postMessage('ready');
  let deadline = performance.now() + spinMicros / 1000;
  let spins = 0;
  for (;;) {
    const claim = Atomics.load(words, NEXT);
    const mask = claim & 15;
    const chunks = (claim >> 4) & 15;
    if (mask !== (1 << chunks) - 1) {
      // The worker takes the highest free chunk (the main thread the lowest): the same block of a matrix
      // stays on the same core from one call to the next, and so do its cache lines.
      let c = chunks - 1;
      while ((mask & (1 << c)) !== 0) c--;
      if (Atomics.compareExchange(words, NEXT, claim, claim | (1 << c)) === claim) {
        try {
          run(ctrl, c);
        } catch (error) {
          // Report instead of dying silently: the main thread is waiting for this chunk.
          Atomics.store(words, FAILED, 1);
          parentPort.postMessage(String((error && error.stack) || error));
        }
        Atomics.add(words, DONE, 1);
        if (Atomics.load(words, MAIN_SLEEPING) !== 0) Atomics.notify(words, DONE);
        deadline = performance.now() + spinMicros / 1000;
      }
      continue;
    }
    if (Atomics.load(words, STOP) !== 0) break;
    if ((++spins & 255) === 0 && performance.now() > deadline) {
      // Publish the flag before the final check inside Atomics.wait: a poster either sees the flag and
      // notifies, or changed the claim word first and the wait returns at once.
      Atomics.store(words, SLEEPING, 1);
      Atomics.wait(words, NEXT, claim);
      Atomics.store(words, SLEEPING, 0);
      deadline = performance.now() + spinMicros / 1000;
    }
  }
});
`;

/** Options of {@link WorkerPool.start}. */
export interface PoolOptions {
  /** How long the worker spins for the next task before it sleeps, in microseconds. */
  spinMicros: number;
  /**
   * For tests: the main thread runs at most this many chunks of a task and leaves the rest to the worker,
   * and splitting is never paused, so the worker's path is exercised whatever the machine's load.
   */
  mainChunkLimit?: number;
}

/** Minimal view of `node:worker_threads`' Worker that the pool uses. */
interface NodeWorker {
  on(event: 'message' | 'error' | 'exit', listener: (value: unknown) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

/** Margin (ms) by which waiting for the worker may exceed the main thread's own share of a task. */
const SLOW_MARGIN_MS = 0.05;
/** Consecutive bad tasks (worker absent, or too slow) that make the pool stop splitting. */
const STRIKES = 4;
/** First pause of splitting (ms); doubled after every failed trial, up to {@link MAX_PAUSE_MS}. */
const FIRST_PAUSE_MS = 5;
const MAX_PAUSE_MS = 100;
/** Tasks at the start of a trial that do not count: the worker is still waking up from its sleep. */
const GRACE = 3;
/** How long the main thread spins on the worker's last chunk before it sleeps (ms). */
const MAIN_SPIN_MS = 0.2;

/** One helper thread sharing the kernels' memory (Node `worker_threads`). */
export class WorkerPool {
  private readonly words: Int32Array;
  private readonly floats: Float64Array;
  private serial = 0;
  private disposed = false;
  private strikes = 0;
  private pausedUntil = 0;
  private pauseMs = FIRST_PAUSE_MS;
  private grace = 0;
  /**
   * Tasks posted; those the worker took part in; those where it made the main thread wait too long;
   * pauses of splitting; calls not split because of a pause; tasks the worker missed (benchmarks, tests).
   */
  readonly stats = { tasks: 0, shared: 0, slow: 0, pauses: 0, skipped: 0, missed: 0 };

  private constructor(
    private readonly worker: NodeWorker,
    memory: WebAssembly.Memory,
    private readonly runChunk: (ctrl: number, chunk: number) => void,
    private readonly mainChunkLimit: number,
  ) {
    this.words = new Int32Array(memory.buffer, CONTROL_OFFSET, 256);
    this.floats = new Float64Array(memory.buffer, CONTROL_OFFSET, 128);
  }

  /**
   * Starts the worker and waits until it has instantiated the module. Returns null where threads are not
   * available (no `worker_threads`, e.g. a browser) or the worker fails to start.
   */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    runChunk: (ctrl: number, chunk: number) => void,
    options: PoolOptions,
  ): Promise<WorkerPool | null> {
    if (typeof process === 'undefined' || typeof process.versions?.node !== 'string') return null;
    let threads: typeof import('node:worker_threads');
    try {
      threads = await import('node:worker_threads');
    } catch {
      return null;
    }
    const words = new Int32Array(memory.buffer, CONTROL_OFFSET, 256);
    Atomics.store(words, WORD.next, 0);
    Atomics.store(words, WORD.done, 0);
    Atomics.store(words, WORD.stop, 0);
    const worker = new threads.Worker(WORKER_SOURCE, {
      eval: true,
      // Not the parent's flags: a loader such as tsx is not needed here, and --input-type=module would
      // change how the source is evaluated.
      execArgv: [],
      workerData: {
        module,
        memory,
        ctrl: CONTROL_OFFSET,
        spinMicros: options.spinMicros,
        NEXT: WORD.next,
        DONE: WORD.done,
        SLEEPING: WORD.sleeping,
        STOP: WORD.stop,
        MAIN_SLEEPING: WORD.mainSleeping,
        FAILED: WORD.failed,
      },
    }) as unknown as NodeWorker;
    const ready = await new Promise<boolean>((resolve) => {
      worker.on('message', (message) => {
        // After 'ready', the worker only ever sends the stack of a chunk that threw.
        if (message === 'ready') resolve(true);
        else process.emitWarning(`warmstart wasm worker: ${String(message)}`);
      });
      worker.on('error', () => resolve(false));
      worker.on('exit', () => resolve(false));
    });
    if (!ready) {
      await worker.terminate();
      return null;
    }
    // The worker must never keep the process alive: it only ever serves the main thread's calls.
    worker.unref();
    return new WorkerPool(worker, memory, runChunk, options.mainChunkLimit ?? Infinity);
  }

  /**
   * False while splitting is paused because the worker has been too slow (the other core is busy); the
   * caller then runs the task on its own thread.
   */
  get available(): boolean {
    if (this.pausedUntil === 0 || this.resume()) return true;
    this.stats.skipped++;
    return false;
  }

  private resume(): boolean {
    if (performance.now() < this.pausedUntil) return false;
    // Trial: split again; STRIKES bad tasks in a row pause again, for longer. The worker slept through
    // the pause: wake it now, and do not count the first tasks, which it may still miss.
    this.pausedUntil = 0;
    this.strikes = 0;
    this.grace = GRACE;
    if (Atomics.load(this.words, WORD.sleeping) !== 0) Atomics.notify(this.words, WORD.next, 1);
    return true;
  }

  /**
   * Runs `task` in `chunks` (2..4) chunks on both threads and returns when all are done. `ints` are the
   * task's integer arguments (at most 14), `f0`/`f1` its float64 ones.
   */
  run(task: number, chunks: number, ints: readonly number[], f0 = 0, f1 = 0): void {
    const words = this.words;
    const start = performance.now();
    words[WORD.task] = task;
    words[WORD.chunks] = chunks;
    for (let i = 0; i < ints.length; i++) words[WORD.args + i] = ints[i];
    this.floats[WORD.f64Args] = f0;
    this.floats[WORD.f64Args + 1] = f1;
    Atomics.store(words, WORD.done, 0);
    // The serial makes a late compare-exchange from a previous task fail instead of claiming a chunk
    // of this one; the chunk count travels in the same word, so a claim never reads a stale count. The
    // low four bits are the claimed chunks.
    this.serial = (this.serial + 1) & 0xfffff;
    Atomics.store(words, WORD.next, (this.serial << 8) | (chunks << 4));
    if (Atomics.load(words, WORD.sleeping) !== 0) Atomics.notify(words, WORD.next, 1);
    const all = (1 << chunks) - 1;
    let mine = 0;
    while (mine < this.mainChunkLimit) {
      const claim = Atomics.load(words, WORD.next);
      const mask = claim & 15;
      if (mask === all) break;
      let chunk = 0;
      while ((mask & (1 << chunk)) !== 0) chunk++;
      if (Atomics.compareExchange(words, WORD.next, claim, claim | (1 << chunk)) !== claim) continue;
      this.runChunk(CONTROL_OFFSET, chunk);
      mine++;
    }
    this.stats.tasks++;
    const theirs = chunks - mine;
    if (this.mainChunkLimit !== Infinity) {
      // Test mode: wait for the worker however long it takes, and never pause.
      while (Atomics.load(words, WORD.done) < theirs)
        Atomics.wait(words, WORD.done, Atomics.load(words, WORD.done), 1);
      if (Atomics.load(words, WORD.failed) !== 0) this.fail();
      this.stats.shared++;
      return;
    }
    if (theirs === 0) {
      // The worker took no chunk: asleep, or not running at all (the other core is busy).
      this.stats.missed++;
      this.bad();
      return;
    }
    this.stats.shared++;
    const ownDone = performance.now();
    let now = ownDone;
    let spins = 0;
    let done: number;
    while ((done = Atomics.load(words, WORD.done)) < theirs) {
      // Usually the worker is microseconds from done; if it was preempted, sleep rather than burn the core
      // it may need.
      if ((++spins & 63) === 0 && (now = performance.now()) - ownDone > MAIN_SPIN_MS) {
        Atomics.store(words, WORD.mainSleeping, 1);
        Atomics.wait(words, WORD.done, done, 1);
        Atomics.store(words, WORD.mainSleeping, 0);
      }
    }
    if (Atomics.load(words, WORD.failed) !== 0) this.fail();
    if (spins >= 64) now = performance.now();
    if (now - ownDone > ownDone - start + SLOW_MARGIN_MS) {
      this.stats.slow++;
      this.bad();
    } else {
      this.strikes = 0;
      this.pauseMs = FIRST_PAUSE_MS;
    }
  }

  /** True once the worker has failed a chunk; the owner then stops using the pool. */
  failed = false;

  private fail(): never {
    this.failed = true;
    throw new Error('warmstart: a chunk failed in the wasm helper thread; the kernels now use one thread');
  }

  private bad(): void {
    if (this.grace > 0) {
      this.grace--;
      return;
    }
    if (++this.strikes < STRIKES) return;
    this.stats.pauses++;
    this.strikes = 0;
    this.pausedUntil = performance.now() + this.pauseMs;
    this.pauseMs = Math.min(MAX_PAUSE_MS, this.pauseMs * 2);
  }

  /** Stops the worker thread. The kernels fall back to one thread if still used afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.words, WORD.stop, 1);
    Atomics.notify(this.words, WORD.next, 1);
    await this.worker.terminate();
  }
}
