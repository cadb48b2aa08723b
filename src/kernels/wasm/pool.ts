/**
 * The threads of the wasm kernels: the calling thread (thread 0) and `threads − 1` helper threads that
 * instantiate the same module on the same shared memory. Work is handed out as **plans** (assembly/step.ts):
 * a list of phases, each cut into chunks; a run publishes a plan's offset and a new serial in the control
 * block, every thread calls `plan_run`, claims chunks (its own share first, then whatever is left) and meets
 * the others at the barrier between phases, inside wasm. A helper that is asleep, late or descheduled claims
 * nothing and the others do its share, so a run never waits for a thread that has not started a chunk; and
 * since no chunk's arithmetic depends on who runs it, results are the same for any number of threads.
 *
 * ## Hosts: how helper threads are started
 *
 * Everything specific to a platform sits behind {@link HelperHost}; this file uses no platform API. Node's
 * implementation is `nodeHost` in `nodeHost.ts` (`worker_threads`); a browser's implementation starts module
 * Web Workers. Both run the same program, `helper.js` (a plain ES module next to this file):
 *
 * ```ts
 * // Browser sketch (needs crossOriginIsolated, for the shared memory):
 * const webHost: HelperHost = {
 *   callerMayBlock: false, // a page's main thread may not Atomics.wait; inside a Worker it may (true)
 *   spawnHelper(index, init) {
 *     const worker = new Worker(new URL('./helper.js', import.meta.url), { type: 'module' });
 *     return new Promise((resolve, reject) => {
 *       worker.onmessage = (event) => {
 *         if (event.data.type === 'ready') resolve({ terminate: async () => worker.terminate() });
 *         else reject(new Error(event.data.message)); // { type: 'error', message } (also sent later, on a failure)
 *       };
 *       worker.onerror = (event) => reject(new Error(event.message));
 *       worker.postMessage(init); // the first (and only) message: HelperInit
 *     });
 *   },
 * };
 * ```
 *
 * The protocol, for whoever writes a host: post {@link HelperInit} as the worker's first message (the module and
 * the shared memory are structured-cloned); the helper answers `{ type: 'ready' }` once it has instantiated the
 * module, or `{ type: 'error', message }`; later it only ever sends `{ type: 'error', message }` when a chunk
 * threw (it has then also set the control block's `failed` word, so the calling thread stops waiting and
 * throws). The helper blocks in `Atomics.wait` between runs (fine in any Worker). The calling thread never
 * blocks when {@link HelperHost.callerMayBlock} is false: it spins at barriers instead of sleeping, so the
 * kernels may run on a browser's main thread (at the cost of a busy core while a helper finishes a chunk).
 *
 * ## When the other cores are busy
 *
 * On a shared machine a helper may be descheduled in the middle of a chunk, and the calling thread then
 * waits for it longer than the split saves; or the helpers may miss runs altogether while their spinning
 * still competes for a core. The pool counts both; after a few such runs in a row it stops sharing runs for a
 * while (the helpers go to sleep), doubling the pause after each failed trial. Results do not change.
 * @module
 */

import { CONTROL, CONTROL_OFFSET, type KernelExports, MAX_THREADS, PLAN } from './abi.js';

/** The start data a helper receives as its first message. */
export interface HelperInit {
  /** The compiled kernels module (the same one the calling thread instantiated). */
  module: WebAssembly.Module;
  /** The shared memory every instance imports. */
  memory: WebAssembly.Memory;
  /** Byte offset of the control block in `memory`. */
  control: number;
  /** This helper's thread index, 1 … threads − 1 (the calling thread is 0). */
  index: number;
  /** How long the helper spins for the next run before it sleeps, in microseconds. */
  spinMicros: number;
}

/** A started helper thread. */
export interface HelperHandle {
  /** Ends the thread (the pool has already asked it to leave its loop). */
  terminate(): Promise<void>;
}

/** What a platform provides so that the pool can run helper threads. */
export interface HelperHost {
  /**
   * Whether the thread that calls the kernels may block in `Atomics.wait` (Node's main thread and any Worker:
   * yes; a browser page's main thread: no, it then spins at barriers).
   */
  readonly callerMayBlock: boolean;
  /**
   * Starts helper `index` running `helper.js`, posts `init` as its first message, and resolves once it answered
   * `{ type: 'ready' }` (rejects on `{ type: 'error' }` or if the thread dies). The thread must not keep the
   * process alive (Node: `unref()`).
   */
  spawnHelper(index: number, init: HelperInit): Promise<HelperHandle>;
}

/** Options of {@link ThreadPool.start}. */
export interface PoolOptions {
  /** Threads in all, the calling thread included (1 … {@link MAX_THREADS}). */
  threads: number;
  /** How long helpers spin for the next run before they sleep, in microseconds. */
  spinMicros: number;
  /** Starts helper threads; null: none can be started here (one thread). */
  host: HelperHost | null;
  /**
   * For tests: the calling thread runs at most this many chunks of each phase and the helpers must run the
   * rest, and sharing is never paused, so the helpers' path is exercised whatever the machine's load.
   */
  mainChunkLimit?: number;
}

/** A plan in the shared memory, as the pool runs it. */
export interface PlanHandle {
  /** Byte offset of the plan. */
  readonly offset: number;
  /** Int32 view of the plan's header. */
  readonly header: Int32Array;
  /** Byte offset of its sync words and its number of phases (to re-stamp them, see {@link ThreadPool.run}). */
  readonly sync: number;
  readonly phases: number;
  /** Serial of the last run of this plan (maintained by the pool). */
  lastSerial: number;
}

/**
 * Most threads a platform's default picks (beyond this, batch-32 products are too small to share usefully);
 * an explicit `threads` option may ask for more.
 */
export const DEFAULT_THREAD_CAP = 8;

/** Consecutive bad runs (helpers absent, or too slow) that make the pool stop sharing runs. */
const STRIKES = 4;
/** First pause of sharing (ms); doubled after every failed trial, up to {@link MAX_PAUSE_MS}. */
const FIRST_PAUSE_MS = 5;
const MAX_PAUSE_MS = 100;
/** Runs at the start of a trial that do not count: the helpers are still waking up. */
const GRACE = 3;
/** How long {@link ThreadPool.drain} waits for a helper to leave a run before giving the pool up. */
const DRAIN_TIMEOUT_MS = 10_000;
/** A plan whose words were last stamped this many runs ago is re-stamped before it runs again. */
const RESTAMP_AFTER = 1 << 30;

/** The calling thread and its helpers, over one shared memory. */
export class ThreadPool {
  /** Threads taking part in runs: 1 + running helpers. */
  get threads(): number {
    return 1 + this.helpers.length;
  }
  /** True once a helper failed a chunk; the pool then runs everything on the calling thread. */
  failed = false;
  /**
   * Why helpers asked for did not start (the first reason, and how many failed), so that the caller can say
   * why it runs on one thread; null when they all started (or none were asked for).
   */
  readonly startFailure: string | null;
  /**
   * Runs; runs a helper took part in; runs where the caller waited long for a helper; pauses of sharing;
   * runs not shared because of a pause; runs the helpers missed (benchmarks, tests).
   */
  readonly stats = { runs: 0, shared: 0, slow: 0, pauses: 0, skipped: 0, missed: 0 };

  private readonly words: Int32Array;
  private serial = 0;
  private strikes = 0;
  private pausedUntil = 0;
  private pauseMs = FIRST_PAUSE_MS;
  private grace = 0;

  private constructor(
    memory: WebAssembly.Memory,
    private readonly exports: KernelExports,
    private helpers: HelperHandle[],
    private readonly callerMayBlock: boolean,
    private readonly mainChunkLimit: number,
    startFailure: string | null,
  ) {
    this.startFailure = startFailure;
    this.words = new Int32Array(memory.buffer, CONTROL_OFFSET, 2048);
  }

  /**
   * Starts `threads − 1` helpers through `host` and waits until each has instantiated the module. With no
   * host, or if a helper fails to start, the pool runs on the calling thread alone.
   */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    exports: KernelExports,
    options: PoolOptions,
  ): Promise<ThreadPool> {
    const threads = Math.max(1, Math.min(MAX_THREADS, Math.floor(options.threads)));
    const words = new Int32Array(memory.buffer, CONTROL_OFFSET, 2048);
    for (const index of Object.values(CONTROL)) Atomics.store(words, index, 0);
    let helpers: HelperHandle[] = [];
    let startFailure: string | null = null;
    const host = options.host;
    if (host !== null && threads > 1) {
      const started = await Promise.allSettled(
        Array.from({ length: threads - 1 }, (_, i) =>
          host.spawnHelper(i + 1, {
            module,
            memory,
            control: CONTROL_OFFSET,
            index: i + 1,
            spinMicros: options.spinMicros,
          }),
        ),
      );
      helpers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const reasons = started.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
      if (reasons.length > 0) {
        const first = reasons[0] instanceof Error ? reasons[0].message : String(reasons[0]);
        startFailure = `${reasons.length} of ${threads - 1} helper threads did not start: ${first}`;
      }
      if (helpers.length !== threads - 1) {
        // Thread indices must run 1 … threads − 1 without gaps: with one missing, use none.
        Atomics.store(words, CONTROL.stop, 1);
        Atomics.notify(words, CONTROL.serial);
        await Promise.all(helpers.map((helper) => helper.terminate()));
        Atomics.store(words, CONTROL.stop, 0);
        helpers = [];
      }
    }
    return new ThreadPool(
      memory,
      exports,
      helpers,
      host?.callerMayBlock ?? true,
      options.mainChunkLimit ?? Infinity,
      startFailure,
    );
  }

  /**
   * Runs phases [header.first, header.last) of a plan on every available thread and returns when all are
   * done. `chunks` is the number of chunks in those phases and `shareable` whether any phase has more than
   * one (statistics and the pause heuristic). Throws if a helper failed (the pool is then given up).
   */
  run(plan: PlanHandle, chunks: number, shareable: boolean): void {
    const words = this.words;
    const header = plan.header;
    const allowed = shareable ? this.allowedThreads() : 1;
    const serial = this.nextSerial();
    if (((serial - plan.lastSerial) | 0) >= RESTAMP_AFTER || plan.lastSerial === 0) this.stamp(plan, serial);
    plan.lastSerial = serial;
    header[PLAN.allowed] = allowed;
    header[PLAN.mainLimit] = allowed > 1 && this.mainChunkLimit !== Infinity ? this.mainChunkLimit : 0;
    header[PLAN.longWaits] = 0;
    Atomics.store(header, PLAN.serial, serial);
    if (allowed > 1) {
      Atomics.store(words, CONTROL.plan, plan.offset);
      Atomics.store(words, CONTROL.serial, serial);
      if (Atomics.load(words, CONTROL.sleepers) > 0) Atomics.notify(words, CONTROL.serial);
    }
    const ran = this.exports.plan_run(plan.offset, 0, this.callerMayBlock ? 1 : 0, serial);
    if (ran < 0) this.fail();
    this.stats.runs++;
    if (allowed > 1) this.account(chunks - ran, header[PLAN.longWaits]);
  }

  /**
   * Makes sure no helper is still inside an earlier run (call before freeing a plan): publishes an empty
   * run and waits until every helper has left the one it was in. False when a helper did not leave within
   * seconds (it is gone or stuck): the caller must then keep the plan's memory, and the pool is given up.
   */
  drain(): boolean {
    if (this.helpers.length === 0) return true;
    const words = this.words;
    const serial = this.nextSerial();
    Atomics.store(words, CONTROL.plan, 0);
    Atomics.store(words, CONTROL.serial, serial);
    if (Atomics.load(words, CONTROL.sleepers) > 0) Atomics.notify(words, CONTROL.serial);
    const started = performance.now();
    for (let t = 1; t < this.threads; t++) {
      const busy = CONTROL.busy + 16 * t;
      for (;;) {
        const value = Atomics.load(words, busy);
        if (value === 0 || value === serial) break;
        // A helper in an abandoned run notices the new serial within a millisecond of running again.
        if (performance.now() - started > DRAIN_TIMEOUT_MS) {
          this.failed = true;
          return false;
        }
      }
    }
    return true;
  }

  /** Stops the helper threads; runs afterwards use the calling thread alone. */
  async stop(): Promise<void> {
    const helpers = this.helpers;
    if (helpers.length === 0) return;
    this.helpers = [];
    Atomics.store(this.words, CONTROL.stop, 1);
    Atomics.notify(this.words, CONTROL.serial);
    await Promise.all(helpers.map((helper) => helper.terminate()));
    Atomics.store(this.words, CONTROL.stop, 0);
    Atomics.store(this.words, CONTROL.failed, 0);
  }

  private nextSerial(): number {
    this.serial = (this.serial + 1) | 0;
    if (this.serial === 0) this.serial = 1;
    return this.serial;
  }

  /**
   * Tags every sync word of a plan as belonging to the run before `serial`: a word untouched for 2³¹ runs
   * would otherwise look newer than the run (serials wrap), and a fresh plan's zeros older or newer.
   */
  private stamp(plan: PlanHandle, serial: number): void {
    const previous = (serial - 1) | 0;
    const words = new Int32Array(plan.header.buffer, plan.sync, (plan.phases * PLAN.syncBytes) / 4);
    for (let p = 0; p < plan.phases; p++) {
      for (const line of [0, 16]) {
        const base = (p * PLAN.syncBytes) / 4 + line;
        // Little-endian 64-bit words: low half (mask or count) first, then the serial.
        Atomics.store(words, base, 0);
        Atomics.store(words, base + 1, previous);
      }
    }
  }

  /** How many threads the next shared run may use: all, or 1 while sharing is paused or broken. */
  private allowedThreads(): number {
    if (this.helpers.length === 0 || this.failed) return 1;
    if (this.pausedUntil === 0) return this.threads;
    if (performance.now() < this.pausedUntil) {
      this.stats.skipped++;
      return 1;
    }
    // Trial: share again; STRIKES bad runs in a row pause again, for longer. The first runs do not count,
    // the helpers slept through the pause and are still waking up.
    this.pausedUntil = 0;
    this.strikes = 0;
    this.grace = GRACE;
    return this.threads;
  }

  private account(theirs: number, longWaits: number): void {
    if (theirs > 0) this.stats.shared++;
    if (this.mainChunkLimit !== Infinity) return;
    if (theirs === 0) {
      this.stats.missed++;
      this.bad();
    } else if (longWaits > 0) {
      this.stats.slow++;
      this.bad();
    } else {
      this.strikes = 0;
      this.pauseMs = FIRST_PAUSE_MS;
    }
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

  private fail(): never {
    this.failed = true;
    throw new Error('warmstart: a chunk failed in a wasm helper thread; the kernels now use one thread');
  }
}
