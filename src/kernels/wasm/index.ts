/**
 * The WebAssembly backend: SIMD kernels compiled from AssemblyScript (`assembly/`), over one shared
 * memory, on as many threads as the machine has cores (up to 8 by default). `alloc` hands out views into
 * that memory, so a kernel call passes byte offsets and copies nothing. Any call whose views are not all in
 * the memory (user data, or buffers of another backend) falls back to the reference loops it inherits, so
 * every `Float32Array` still works. A chain of Dense layers trains through fused steps (one call per step,
 * see step.ts); other models call the kernels layer by layer, sharing large products between the threads.
 * @module
 */

import * as host from '../../platform/host.js';
import { registerBackend } from '../index.js';
import { checkOptions, type OptionKeys } from '../options.js';
import type {
  AccuracyName,
  ActivationName,
  AdadeltaStep,
  AdagradStep,
  AdamaxStep,
  AdamStep,
  Conv2DGeometry,
  FtrlStep,
  LionStep,
  LossName,
  NadamStep,
  ReluOptions,
  RmspropStep,
  SgdStep,
} from '../kernels.js';
import { ReferenceKernels } from '../reference.js';
import type { FusedStepKernels, FusedStepPlan, FusedStepSpec } from '../step.js';
import {
  ACCURACY_CODES,
  ACTIVATION_CODES,
  CONTROL_OFFSET,
  depthSplit,
  GEMM_UNITS,
  type KernelExports,
  LINEAR,
  LOSS_CODES,
  MAX_THREADS,
  OP,
  RANGE,
  SOFTMAX,
  splitsByDepth,
} from './abi.js';
import { SPLIT_WORK, WasmConvolutions } from './conv.js';
import { WasmHeap } from './heap.js';
import { loadKernelModule } from './loader.js';
import { type CapturedOptimizerOp, WasmOptimizers } from './optimizers.js';
import { type HelperHost, ThreadPool } from './pool.js';
import { createWasmFusedStepPlan, TaskPlan } from './step.js';

export type { HelperHandle, HelperHost, HelperInit } from './pool.js';

/**
 * How the backend's parts (conv.ts, optimizers.ts) share a kernel call between the threads: `split` gives the
 * chunks a call of `work` (≥ `threshold` to split at all) over `units` indivisible units is cut into now (1:
 * run it whole on this thread), `run` runs plan op `op` (see `OP` in abi.ts) with its words in that many
 * chunks, with per-thread scratch of `scratchBytes`.
 */
export interface Sharing {
  threads(): number;
  split(work: number, threshold: number, units: number): number;
  run(op: number, chunks: number, m: number, args: readonly number[], scratchBytes?: number): void;
}

/** Options of {@link createWasmKernels}. */
export interface WasmKernelOptions {
  /**
   * Threads that share the work, the calling thread included (1 … 64). Default: `WARMSTART_THREADS`, else
   * the cores this process may use, at most 8 (Node); `navigator.hardwareConcurrency`, at most 8, in a
   * cross-origin isolated page or worker; 1 where the platform starts no helper threads. More threads than
   * cores still compute the same results, only slower.
   */
  threads?: number;
  /**
   * Starts the helper threads (see `HelperHost` in pool.ts). Default: Node's `worker_threads` in Node, module
   * Web Workers in a cross-origin isolated page or worker (`webHost.ts`), none elsewhere; null: no helpers.
   */
  host?: HelperHost | null;
  /** Use the relaxed-SIMD (fused multiply-add) build: default when the engine supports it. */
  relaxedSimd?: boolean;
  /**
   * How long a helper thread spins for the next run before it sleeps (µs, default 250): longer than the
   * JavaScript between two training steps, short enough that an idle helper soon stops taking a core that a
   * busy machine's other processes (or the calling thread) could use.
   */
  spinMicros?: number;
  /** Initial size of the shared memory in MiB (it grows on demand; default 16). */
  initialMiB?: number;
  /**
   * The most the shared memory may grow to, in MiB (default 4096: the whole wasm32 address space). Beyond
   * it, allocations throw `OutOfMemoryError`.
   */
  maximumMiB?: number;
  /**
   * Folder holding `kernels-simd.wasm` and `kernels-relaxed.wasm`: a URL (resolved against the page in a
   * browser) or a path (Node). Default: next to the loader module, where the build and bundlers put them.
   */
  wasmDir?: string | URL;
  /**
   * For tests: with several threads, the calling thread runs at most this many chunks of each phase and
   * the helper threads must run the rest (and sharing is never paused). Not for production use.
   */
  mainChunkLimit?: number;
}

/** The keys of {@link WasmKernelOptions}. */
const WASM_KERNEL_OPTION_KEYS = {
  threads: true,
  host: true,
  relaxedSimd: true,
  spinMicros: true,
  initialMiB: true,
  maximumMiB: true,
  wasmDir: true,
  mainChunkLimit: true,
} as const satisfies OptionKeys<WasmKernelOptions>;

/** What a {@link WasmKernels} instance runs on. */
export interface WasmKernelInfo {
  /** True when the fused-multiply-add build is in use. */
  relaxedSimd: boolean;
  /** Threads in use: the calling thread and its running helpers. */
  threads: number;
  /**
   * True when the relaxed build's multiply-add fuses on this engine and CPU (one rounding, as PyTorch's
   * `vec::fmadd`): SGD's updates then use it. Measured at start-up ({@link maddFuses}).
   */
  fusedMultiplyAdd: boolean;
}

/**
 * Whether `f32x4.relaxed_madd` rounds once here. With a = b = 1 + 2⁻¹² and c = −(1 + 2⁻¹¹), a·b + c is
 * exactly 2⁻²⁴; rounding a·b to float32 first loses that 2⁻²⁴ (a tie, to even) and leaves 0. Engines fuse
 * where the CPU has an FMA instruction (x86-64 with FMA3, every ARM64) and multiply then add elsewhere; the
 * same engine compiles every call alike, so one probe holds for every thread.
 */
export function maddFuses(wasm: Pick<KernelExports, 'madd_probe'>, relaxedSimd: boolean): boolean {
  const a = 1 + 2 ** -12;
  return relaxedSimd && wasm.madd_probe(a, a, -(1 + 2 ** -11)) === 2 ** -24;
}

/**
 * Multiply-adds below which a product stays on one thread. Sharing a product costs a few microseconds (the
 * claim, the helpers' cache misses on its inputs, the wait for the last chunk), so only products of ~10 µs
 * and more are split: model A's 784→300 and 300→100 layers, not the 50-wide ones.
 */
const SPLIT_FORWARD = 1 << 18;

/** The kernel methods an optimizer step calls, which {@link WasmKernels.captureOptimizerOps} records. */
const RECORDED_METHODS = [
  'sgdUpdate',
  'rmspropUpdate',
  'adamUpdate',
  'adadeltaUpdate',
  'adagradUpdate',
  'adamaxUpdate',
  'nadamUpdate',
  'lionUpdate',
  'ftrlUpdate',
  'fill',
  'clipByValue',
  'accumulateGradient',
  'emaUpdate',
  'scale',
  'sumOfSquares',
] as const;

/**
 * Kernels backed by WebAssembly SIMD. Create with {@link createWasmKernels} (compilation is async); call
 * {@link WasmKernels.dispose} to stop the helper threads (they never keep the process alive meanwhile).
 */
export class WasmKernels extends ReferenceKernels implements FusedStepKernels {
  override readonly name: string = 'wasm';
  /** The build and thread count in use. */
  readonly info: WasmKernelInfo;
  /** The allocator and memory every kernel of this backend uses. */
  readonly heap: WasmHeap;
  /** @internal The module's exports (fused step plans call them). */
  readonly wasm: KernelExports;
  /** @internal The threads; with one thread, runs stay on the caller. */
  readonly pool: ThreadPool;
  /** The one-phase plan through which a single product is shared between the threads. */
  private readonly task: TaskPlan;
  /** Ordinary memory in which `gatherRows` collects shuffled rows of user data before one copy into the heap. */
  private gatherStage: Float32Array | null = null;
  /** Scratch for `gatherRows`' indices (they usually live in ordinary JS memory). */
  private indexScratch: Float32Array | null = null;
  /**
   * Row length of each weight gradient seen by `denseBackwardWeights`, by byte offset: the SGD step on it
   * then splits at the same row as that product did, keeping each block of rows on one core.
   */
  private readonly rowLengths = new Map<number, number>();
  /** The second part of a depth-split forward product (see forwardByDepth). */
  private partial: Float32Array | null = null;
  /**
   * The GEMM's scratch (copied panels, sparse rows) for products on this thread alone; a shared product uses
   * the task plan's regions, one per thread.
   */
  private listScratch: Float32Array | null = null;
  /**
   * @internal Elements from which the SGD step (and the other memory-bound passes of optimizers.ts) splits;
   * benchmarks may change it.
   */
  get splitSgd(): number {
    return this.optimizers.splitLight;
  }
  set splitSgd(value: number) {
    this.optimizers.splitLight = value;
  }

  /**
   * Calls that ran the inherited reference loops because a view was outside this backend's memory (or a
   * size did not fit): a cheap way for tests and benchmarks to check the fast path really ran.
   */
  readonly stats = { fallbacks: 0 };
  /** @internal The convolutional-network kernels (`conv.ts`); benchmarks may force their algorithm. */
  readonly convolutions: WasmConvolutions;
  /** @internal The optimizer steps (`optimizers.ts`); the overrides below delegate to it. */
  readonly optimizers: WasmOptimizers;

  /** @internal Use {@link createWasmKernels}. */
  constructor(heap: WasmHeap, wasm: KernelExports, pool: ThreadPool, relaxedSimd: boolean) {
    super();
    this.heap = heap;
    this.wasm = wasm;
    this.pool = pool;
    this.task = new TaskPlan(heap, pool);
    const fusedMultiplyAdd = maddFuses(wasm, relaxedSimd);
    this.info = { relaxedSimd, threads: pool.threads, fusedMultiplyAdd };
    const sharing: Sharing = {
      threads: () => this.pool.threads,
      split: (work, threshold, units) => this.chunks(work, threshold, units),
      run: (op, chunks, m, args, scratchBytes) => this.task.run(op, chunks, m, args, scratchBytes),
    };
    this.convolutions = new WasmConvolutions(heap, wasm, sharing);
    this.optimizers = new WasmOptimizers({
      heap,
      wasm,
      sharing,
      rowLengthOf: (offset) => this.rowLengths.get(offset) ?? 0,
      fusedMultiplyAdd,
    });
  }

  /**
   * @internal Runs `body` (an optimizer's `applyVariableGradients`) without touching any array: every kernel
   * call it makes is recorded instead, in order, and returned (see {@link CapturedOptimizerOp}). The fused
   * step applies them inside its backward pass, or {@link replayOptimizerOps} after it.
   */
  captureOptimizerOps(body: () => void): CapturedOptimizerOp[] {
    const ops: CapturedOptimizerOp[] = [];
    this.optimizers.capture = ops;
    try {
      body();
    } finally {
      this.optimizers.capture = null;
    }
    return ops;
  }

  /**
   * @internal Whether {@link captureOptimizerOps} would see every kernel call of an optimizer step: false
   * while one of the methods it records is replaced on this object (tests swap in the reference loops), whose
   * calls would then run at once instead of being recorded.
   */
  canCaptureOptimizerOps(): boolean {
    return !RECORDED_METHODS.some((name) => Object.prototype.hasOwnProperty.call(this, name));
  }

  /** @internal Runs ops recorded by {@link captureOptimizerOps}, in order: what `body` would have done. */
  replayOptimizerOps(ops: readonly CapturedOptimizerOp[]): void {
    for (const op of ops) this.optimizers.replay(op);
  }

  /** A recorded call when capturing (see {@link captureOptimizerOps}): true if `run` was deferred. */
  private deferred(run: () => void): boolean {
    const capture = this.optimizers.capture;
    if (capture === null) return false;
    capture.push({ kind: 'call', run });
    return true;
  }

  /**
   * Runs, runs a helper took part in, runs where the caller waited long for a helper, pauses of sharing,
   * runs left unshared by a pause, and runs the helpers missed (see `pool.ts`); null with one thread.
   */
  get threadStats(): ThreadPool['stats'] | null {
    return this.pool.threads === 1 ? null : this.pool.stats;
  }

  /** Chunks to split a product of `work` multiply-adds over `units` units into now (1: do not split). */
  private chunks(work: number, threshold: number, units: number): number {
    const pool = this.pool;
    if (pool.threads === 1 || work < threshold) return 1;
    if (pool.failed) {
      void this.dispose();
      return 1;
    }
    // At least half a threshold's work per chunk: a 16-thread machine does not cut a small product 16 ways.
    return Math.max(1, Math.min(pool.threads, units, 32, Math.floor((2 * work) / threshold)));
  }

  /** Stops the helper threads; the kernels keep working on one thread. */
  async dispose(): Promise<void> {
    await this.pool.stop();
    this.info.threads = 1;
    this.convolutions.dispose();
  }

  /**
   * A plan that runs a whole training step of `spec` as one call (see step.ts), or null when this backend
   * cannot (a buffer outside its memory, a softmax before the last layer, …).
   */
  createFusedStepPlan(spec: FusedStepSpec): FusedStepPlan | null {
    return createWasmFusedStepPlan(this, spec);
  }

  /**
   * Offset of the GEMM scratch region (at least `bytes`, from `gemm_scratch_bytes`: under 1 MiB at any shape)
   * of a product on this thread alone. Sized to the largest request so far, without slack (a network's shapes
   * are few: it settles within the first step), so that a one-thread backend keeps one small region.
   */
  private scratch(bytes: number): number {
    if (this.listScratch === null || bytes > this.listScratch.length * 4) {
      if (this.listScratch !== null) this.heap.free(this.listScratch);
      this.listScratch = this.heap.alloc(Math.max(16, Math.ceil(bytes / 64) * 16));
    }
    return this.listScratch.byteOffset;
  }

  override alloc(length: number): Float32Array {
    return this.heap.alloc(length);
  }

  override free(buffer: Float32Array): void {
    // Storage of another backend (or user arrays) is garbage-collected: nothing to return.
    if (this.heap.owns(buffer)) {
      this.heap.free(buffer);
      this.rowLengths.delete(buffer.byteOffset);
    }
  }

  override denseForward(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    z: Float32Array,
    y: Float32Array,
    m: number,
    k: number,
    n: number,
    activation: ActivationName,
  ): void {
    const heap = this.heap;
    const act = ACTIVATION_CODES[activation];
    if (
      !heap.owns(x) ||
      !heap.owns(w) ||
      !heap.owns(z) ||
      !heap.owns(y) ||
      (bias !== null && (!heap.owns(bias) || bias.length < n)) ||
      x.length < m * k ||
      w.length < k * n ||
      z.length < m * n ||
      y.length < m * n ||
      act === undefined ||
      m <= 0 ||
      n <= 0
    ) {
      this.stats.fallbacks++;
      super.denseForward(x, w, bias, z, y, m, k, n, activation);
      return;
    }
    const b = bias === null ? 0 : bias.byteOffset;
    if (splitsByDepth(k, n)) {
      this.forwardByDepth(x, w, b, z, y, m, k, n, act);
      return;
    }
    const chunks = n > 8 ? this.chunks(m * k * n, SPLIT_FORWARD, Math.ceil(n / GEMM_UNITS.columns)) : 1;
    const scratchBytes = this.wasm.gemm_scratch_bytes(m, k);
    if (chunks > 1) {
      // Chunks apply element-wise activations to their own columns; softmax needs whole rows, after.
      const args = [x.byteOffset, w.byteOffset, b, z.byteOffset, y.byteOffset, k, n, act, 0, 0];
      this.task.run(OP.denseForward, chunks, m, args, scratchBytes);
      if (act === SOFTMAX) this.wasm.softmax_rows(z.byteOffset, y.byteOffset, m, n);
      return;
    }
    this.wasm.gemm_forward(
      x.byteOffset,
      w.byteOffset,
      b,
      z.byteOffset,
      m,
      k,
      n,
      0,
      n,
      this.scratch(scratchBytes),
    );
    this.finishActivation(act, z, y, m, n);
  }

  /**
   * A wide layer's forward product (784→300, 300→100) in two parts over the depth, split at a row fixed by
   * the shape (where the dW product and the SGD step on two threads split W), then added: on one thread or
   * several, the same sums. Each thread then reads only rows of W that its own dW and SGD chunks wrote, and
   * W never moves between the cores' caches. More than two threads also split the batch rows.
   */
  private forwardByDepth(
    x: Float32Array,
    w: Float32Array,
    b: number,
    z: Float32Array,
    y: Float32Array,
    m: number,
    k: number,
    n: number,
    act: number,
  ): void {
    let partial = this.partial;
    if (partial === null || partial.length < m * n) {
      if (partial !== null) this.heap.free(partial);
      partial = this.heap.alloc(m * n);
      this.partial = partial;
    }
    const split = depthSplit(k);
    const rowUnit = GEMM_UNITS.rows;
    const threads = this.chunks(m * k * n, SPLIT_FORWARD, 2 * Math.ceil(m / rowUnit));
    // Each part's product over its depth, for all m rows at most (a chunk takes a block of them).
    const wasm = this.wasm;
    const scratchBytes = Math.max(wasm.gemm_scratch_bytes(m, split), wasm.gemm_scratch_bytes(m, k - split));
    if (threads > 1) {
      const blocks = Math.max(1, Math.min(Math.ceil(threads / 2), Math.ceil(m / rowUnit), 16));
      const args = [x.byteOffset, w.byteOffset, b, z.byteOffset, partial.byteOffset, k, n, split, blocks];
      this.task.run(OP.forwardParts, 2 * blocks, m, args, scratchBytes);
    } else {
      const scratch = this.scratch(scratchBytes);
      this.wasm.gemm_forward_part(x.byteOffset, w.byteOffset, b, z.byteOffset, m, k, n, 0, split, scratch);
      this.wasm.gemm_forward_part(
        x.byteOffset,
        w.byteOffset,
        0,
        partial.byteOffset,
        m,
        k,
        n,
        split,
        k,
        scratch,
      );
    }
    this.wasm.add_partial(z.byteOffset, partial.byteOffset, m * n);
    this.finishActivation(act, z, y, m, n);
  }

  /** `y = f(z)` over an m×n block after a single-threaded product. */
  private finishActivation(act: number, z: Float32Array, y: Float32Array, m: number, n: number): void {
    if (act === SOFTMAX) this.wasm.softmax_rows(z.byteOffset, y.byteOffset, m, n);
    else this.wasm.activation_block(act, z.byteOffset, y.byteOffset, m, n, 0, n);
  }

  override activationForward(
    activation: ActivationName,
    z: Float32Array,
    y: Float32Array,
    m: number,
    n: number,
  ): void {
    const act = ACTIVATION_CODES[activation];
    const length = m * n;
    if (
      act === undefined ||
      !this.heap.owns(z) ||
      !this.heap.owns(y) ||
      z.length < length ||
      y.length < length ||
      length <= 0
    ) {
      this.stats.fallbacks++;
      super.activationForward(activation, z, y, m, n);
      return;
    }
    if (act === SOFTMAX) {
      this.wasm.softmax_rows(z.byteOffset, y.byteOffset, m, n);
      return;
    }
    // A convolution's feature maps (10⁵–10⁶ elements) are split in whole cache lines; a dense layer's stay whole.
    const chunks = length >= 32 ? this.chunks(2 * length, SPLIT_WORK, Math.ceil(length / 16)) : 1;
    if (chunks > 1) {
      const args = [RANGE.activationForward, length, 16, act, z.byteOffset, y.byteOffset, length];
      this.task.run(OP.range, chunks, 1, args);
    } else this.wasm.activation_block(act, z.byteOffset, y.byteOffset, 1, length, 0, length);
  }

  override activationBackward(
    activation: ActivationName,
    z: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dz: Float32Array,
    m: number,
    n: number,
  ): void {
    const act = ACTIVATION_CODES[activation];
    const length = m * n;
    const heap = this.heap;
    if (
      act === undefined ||
      !heap.owns(z) ||
      !heap.owns(y) ||
      !heap.owns(dy) ||
      !heap.owns(dz) ||
      z.length < length ||
      y.length < length ||
      dy.length < length ||
      dz.length < length ||
      length <= 0
    ) {
      this.stats.fallbacks++;
      super.activationBackward(activation, z, y, dy, dz, m, n);
      return;
    }
    if (act === SOFTMAX) {
      this.wasm.softmax_backward(y.byteOffset, dy.byteOffset, dz.byteOffset, m, n);
      return;
    }
    const chunks = length >= 32 ? this.chunks(2 * length, SPLIT_WORK, Math.ceil(length / 16)) : 1;
    if (chunks > 1) {
      const args = [
        RANGE.activationBackward,
        length,
        16,
        act,
        z.byteOffset,
        y.byteOffset,
        dy.byteOffset,
        dz.byteOffset,
      ];
      this.task.run(OP.range, chunks, 1, args);
    } else
      this.wasm.activation_backward(act, z.byteOffset, y.byteOffset, dy.byteOffset, dz.byteOffset, length);
  }

  override denseBackwardWeights(
    x: Float32Array,
    dz: Float32Array,
    dw: Float32Array,
    db: Float32Array | null,
    m: number,
    k: number,
    n: number,
  ): void {
    const heap = this.heap;
    if (
      !heap.owns(x) ||
      !heap.owns(dz) ||
      !heap.owns(dw) ||
      (db !== null && (!heap.owns(db) || db.length < n)) ||
      x.length < m * k ||
      dz.length < m * n ||
      dw.length < k * n ||
      k <= 0 ||
      n <= 0 ||
      m < 0
    ) {
      this.stats.fallbacks++;
      super.denseBackwardWeights(x, dz, dw, db, m, k, n);
      return;
    }
    // The SGD step on this gradient splits at the same row (see sgdUpdate).
    this.rowLengths.set(dw.byteOffset, n);
    const chunks = k > 8 ? this.chunks(m * k * n, SPLIT_FORWARD, Math.ceil(k / GEMM_UNITS.rows)) : 1;
    // A chunk's rows of dW (at most k) over the depth m.
    const scratchBytes = this.wasm.gemm_scratch_bytes(k, m);
    if (chunks > 1) {
      // Rows of dW by chunk, the bias gradient by columns; no update (the optimizer runs after).
      const args = [x.byteOffset, dz.byteOffset, 0, dw.byteOffset, 0, db === null ? 0 : db.byteOffset];
      const rest = [k, n, 0, 0, 0, 0, 0, 0, 0, LINEAR, 0, 0, 1, 0, 0, k, db === null ? 0 : 1];
      this.task.run(OP.denseBackward, chunks, m, [...args, ...rest], scratchBytes);
      return;
    }
    this.wasm.gemm_weights(
      x.byteOffset,
      dz.byteOffset,
      dw.byteOffset,
      m,
      k,
      n,
      0,
      k,
      this.scratch(scratchBytes),
    );
    if (db !== null) this.wasm.column_sums(dz.byteOffset, db.byteOffset, m, n);
  }

  override denseBackwardInput(
    dz: Float32Array,
    w: Float32Array,
    dx: Float32Array,
    m: number,
    k: number,
    n: number,
  ): void {
    const heap = this.heap;
    if (
      !heap.owns(dz) ||
      !heap.owns(w) ||
      !heap.owns(dx) ||
      dz.length < m * n ||
      w.length < k * n ||
      dx.length < m * k ||
      m <= 0 ||
      k <= 0 ||
      n < 0
    ) {
      this.stats.fallbacks++;
      super.denseBackwardInput(dz, w, dx, m, k, n);
      return;
    }
    const chunks = k > 8 ? this.chunks(m * k * n, SPLIT_FORWARD, Math.ceil(k / GEMM_UNITS.columns)) : 1;
    const scratchBytes = this.wasm.gemm_scratch_bytes(m, n);
    if (chunks > 1) {
      // dX only: columns of dx by chunk, nothing below to take the gradient through.
      const args = [0, dz.byteOffset, w.byteOffset, 0, 0, 0, k, n, 1, dx.byteOffset, 0, 0, 0, 0, 0, LINEAR];
      this.task.run(OP.denseBackward, chunks, m, [...args, 0, 0, 0, 0, 0, k, 0], scratchBytes);
    } else {
      const scratch = this.scratch(scratchBytes);
      this.wasm.gemm_input(dz.byteOffset, w.byteOffset, dx.byteOffset, m, k, n, 0, k, scratch);
    }
  }

  override loss(
    loss: LossName,
    yPred: Float32Array,
    yTrue: Float32Array,
    dPred: Float32Array | null,
    m: number,
    n: number,
    fusedLogits: boolean,
  ): number {
    const kind = LOSS_CODES[loss];
    const heap = this.heap;
    const trueLength = loss === 'sparse_categorical_crossentropy' ? m : m * n;
    if (
      kind === undefined ||
      !heap.owns(yPred) ||
      !heap.owns(yTrue) ||
      (dPred !== null && (!heap.owns(dPred) || dPred.length < m * n)) ||
      yPred.length < m * n ||
      yTrue.length < trueLength ||
      m <= 0 ||
      n <= 0
    ) {
      this.stats.fallbacks++;
      return super.loss(loss, yPred, yTrue, dPred, m, n, fusedLogits);
    }
    return this.wasm.loss(
      kind,
      yPred.byteOffset,
      yTrue.byteOffset,
      dPred === null ? 0 : dPred.byteOffset,
      m,
      n,
      fusedLogits ? 1 : 0,
    );
  }

  override countCorrect(
    accuracy: AccuracyName,
    yPred: Float32Array,
    yTrue: Float32Array,
    m: number,
    n: number,
  ): number {
    const kind = ACCURACY_CODES[accuracy];
    const trueLength = accuracy === 'sparse_categorical_accuracy' ? m : m * n;
    if (
      kind === undefined ||
      !this.heap.owns(yPred) ||
      !this.heap.owns(yTrue) ||
      yPred.length < m * n ||
      yTrue.length < trueLength ||
      m <= 0 ||
      n <= 0
    ) {
      this.stats.fallbacks++;
      return super.countCorrect(accuracy, yPred, yTrue, m, n);
    }
    return this.wasm.count_correct(kind, yPred.byteOffset, yTrue.byteOffset, m, n);
  }

  override gatherRows(
    source: Float32Array,
    indices: Int32Array,
    start: number,
    count: number,
    rowLength: number,
    target: Float32Array,
  ): void {
    if (
      !this.heap.owns(source) ||
      !this.heap.owns(target) ||
      target.length < count * rowLength ||
      start < 0 ||
      start + count > indices.length ||
      count <= 0
    ) {
      // User data outside the memory is this method's normal case (not counted as a fallback).
      const length = count * rowLength;
      if (
        this.heap.owns(target) &&
        count > 1 &&
        start >= 0 &&
        start + count <= indices.length &&
        indices[start + count - 1] - indices[start] !== count - 1
      ) {
        // Shuffled rows (fit's batches): one TypedArray.set per row into shared memory costs about twice one
        // into ordinary memory (V8 copies shared memory with relaxed atomic stores), so gather into an ordinary
        // array (the reference copies short rows, labels, element by element) and copy that once: 27 → 20 µs
        // for a batch of 32 images.
        let stage = this.gatherStage;
        if (stage === null || stage.length < length) stage = this.gatherStage = new Float32Array(length);
        super.gatherRows(source, indices, start, count, rowLength, stage);
        target.set(length === stage.length ? stage : stage.subarray(0, length));
        return;
      }
      // Consecutive rows (evaluation's batches): one copy already.
      super.gatherRows(source, indices, start, count, rowLength, target);
      return;
    }
    let scratch = this.indexScratch;
    if (scratch === null || scratch.length < count) {
      if (scratch !== null) this.heap.free(scratch);
      scratch = this.heap.alloc(Math.max(count, 256));
      this.indexScratch = scratch;
    }
    const slots = new Int32Array(scratch.buffer, scratch.byteOffset, count);
    const rows = Math.floor(source.length / rowLength);
    for (let r = 0; r < count; r++) {
      const index = indices[start + r];
      if (!(index >= 0 && index < rows)) {
        // Out of range: the reference's clamping copy defines what happens.
        this.stats.fallbacks++;
        super.gatherRows(source, indices, start, count, rowLength, target);
        return;
      }
      slots[r] = index;
    }
    this.wasm.gather_rows(source.byteOffset, scratch.byteOffset, count, rowLength, target.byteOffset);
  }

  override firstNonFinite(x: Float32Array): number {
    if (!this.heap.owns(x)) {
      this.stats.fallbacks++;
      return super.firstNonFinite(x);
    }
    return this.wasm.first_non_finite(x.byteOffset, x.length);
  }

  override sumOfSquares(x: Float32Array): number {
    if (this.optimizers.capture !== null) {
      // A norm read while recording would be the previous step's (see updatesInsideFusedStep).
      throw new Error('warmstart: an optimizer step that reads a norm cannot be recorded');
    }
    if (!this.heap.owns(x)) {
      this.stats.fallbacks++;
      return super.sumOfSquares(x);
    }
    return this.wasm.sum_of_squares(x.byteOffset, x.length);
  }

  override scale(x: Float32Array, factor: number): void {
    if (this.optimizers.scale(x, factor)) return;
    if (this.deferred(() => super.scale(x, factor))) return;
    this.stats.fallbacks++;
    super.scale(x, factor);
  }

  // ---- Optimizer steps: each a descriptor for `optimizer_update` (see optimizers.ts), bit-identical to the
  // reference loops they fall back to.

  override sgdUpdate(
    param: Float32Array,
    grad: Float32Array,
    velocity: Float32Array | null,
    step: SgdStep,
  ): void {
    if (this.optimizers.sgd(param, grad, velocity, step)) return;
    if (this.deferred(() => super.sgdUpdate(param, grad, velocity, step))) return;
    this.stats.fallbacks++;
    super.sgdUpdate(param, grad, velocity, step);
  }

  override fill(x: Float32Array, value: number): void {
    if (this.optimizers.fill(x, value)) return;
    if (this.deferred(() => super.fill(x, value))) return;
    this.stats.fallbacks++;
    super.fill(x, value);
  }

  override clipByValue(x: Float32Array, min: number, max: number): void {
    if (this.optimizers.clipByValue(x, min, max)) return;
    if (this.deferred(() => super.clipByValue(x, min, max))) return;
    this.stats.fallbacks++;
    super.clipByValue(x, min, max);
  }

  override accumulateGradient(accumulator: Float32Array, gradient: Float32Array, divisor: number): void {
    if (this.optimizers.accumulateGradient(accumulator, gradient, divisor)) return;
    if (this.deferred(() => super.accumulateGradient(accumulator, gradient, divisor))) return;
    this.stats.fallbacks++;
    super.accumulateGradient(accumulator, gradient, divisor);
  }

  override emaUpdate(average: Float32Array, value: Float32Array, momentum: number): void {
    if (this.optimizers.emaUpdate(average, value, momentum)) return;
    if (this.deferred(() => super.emaUpdate(average, value, momentum))) return;
    this.stats.fallbacks++;
    super.emaUpdate(average, value, momentum);
  }

  override rmspropUpdate(
    param: Float32Array,
    grad: Float32Array,
    velocity: Float32Array,
    averageGradient: Float32Array | null,
    momentum: Float32Array | null,
    step: RmspropStep,
  ): void {
    if (this.optimizers.rmsprop(param, grad, velocity, averageGradient, momentum, step)) return;
    if (this.deferred(() => super.rmspropUpdate(param, grad, velocity, averageGradient, momentum, step)))
      return;
    this.stats.fallbacks++;
    super.rmspropUpdate(param, grad, velocity, averageGradient, momentum, step);
  }

  override adamUpdate(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    vhat: Float32Array | null,
    step: AdamStep,
  ): void {
    if (this.optimizers.adam(param, grad, m, v, vhat, step)) return;
    if (this.deferred(() => super.adamUpdate(param, grad, m, v, vhat, step))) return;
    this.stats.fallbacks++;
    super.adamUpdate(param, grad, m, v, vhat, step);
  }

  override adadeltaUpdate(
    param: Float32Array,
    grad: Float32Array,
    accumulatedGrad: Float32Array,
    accumulatedDelta: Float32Array,
    step: AdadeltaStep,
  ): void {
    if (this.optimizers.adadelta(param, grad, accumulatedGrad, accumulatedDelta, step)) return;
    if (this.deferred(() => super.adadeltaUpdate(param, grad, accumulatedGrad, accumulatedDelta, step)))
      return;
    this.stats.fallbacks++;
    super.adadeltaUpdate(param, grad, accumulatedGrad, accumulatedDelta, step);
  }

  override adagradUpdate(
    param: Float32Array,
    grad: Float32Array,
    accumulator: Float32Array,
    step: AdagradStep,
  ): void {
    if (this.optimizers.adagrad(param, grad, accumulator, step)) return;
    if (this.deferred(() => super.adagradUpdate(param, grad, accumulator, step))) return;
    this.stats.fallbacks++;
    super.adagradUpdate(param, grad, accumulator, step);
  }

  override adamaxUpdate(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    u: Float32Array,
    step: AdamaxStep,
  ): void {
    if (this.optimizers.adamax(param, grad, m, u, step)) return;
    if (this.deferred(() => super.adamaxUpdate(param, grad, m, u, step))) return;
    this.stats.fallbacks++;
    super.adamaxUpdate(param, grad, m, u, step);
  }

  override nadamUpdate(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    step: NadamStep,
  ): void {
    if (this.optimizers.nadam(param, grad, m, v, step)) return;
    if (this.deferred(() => super.nadamUpdate(param, grad, m, v, step))) return;
    this.stats.fallbacks++;
    super.nadamUpdate(param, grad, m, v, step);
  }

  override lionUpdate(param: Float32Array, grad: Float32Array, m: Float32Array, step: LionStep): void {
    if (this.optimizers.lion(param, grad, m, step)) return;
    if (this.deferred(() => super.lionUpdate(param, grad, m, step))) return;
    this.stats.fallbacks++;
    super.lionUpdate(param, grad, m, step);
  }

  override ftrlUpdate(
    param: Float32Array,
    grad: Float32Array,
    accumulator: Float32Array,
    linear: Float32Array,
    step: FtrlStep,
  ): void {
    if (this.optimizers.ftrl(param, grad, accumulator, linear, step)) return;
    if (this.deferred(() => super.ftrlUpdate(param, grad, accumulator, linear, step))) return;
    this.stats.fallbacks++;
    super.ftrlUpdate(param, grad, accumulator, linear, step);
  }

  // ---- convolutional networks: thin overrides over conv.ts, which returns false for views outside the memory.

  override conv2dForward(
    x: Float32Array,
    kernel: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    geometry: Conv2DGeometry,
    relu = false,
  ): void {
    if (this.convolutions.conv2dForward(x, kernel, bias, y, geometry, relu)) return;
    this.stats.fallbacks++;
    super.conv2dForward(x, kernel, bias, y, geometry, relu);
  }

  override conv2dBackwardInput(
    dy: Float32Array,
    kernel: Float32Array,
    dx: Float32Array,
    geometry: Conv2DGeometry,
  ): void {
    if (this.convolutions.conv2dBackwardInput(dy, kernel, dx, geometry)) return;
    this.stats.fallbacks++;
    super.conv2dBackwardInput(dy, kernel, dx, geometry);
  }

  override addElementwise(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    if (this.convolutions.addElementwise(a, b, out, n)) return;
    this.stats.fallbacks++;
    super.addElementwise(a, b, out, n);
  }

  override zeroPad2d(
    x: Float32Array,
    y: Float32Array,
    batch: number,
    height: number,
    width: number,
    channels: number,
    top: number,
    bottom: number,
    left: number,
    right: number,
  ): void {
    if (this.convolutions.zeroPad2d(x, y, batch, height, width, channels, top, bottom, left, right)) return;
    this.stats.fallbacks++;
    super.zeroPad2d(x, y, batch, height, width, channels, top, bottom, left, right);
  }

  override conv2dBackward(
    x: Float32Array,
    dy: Float32Array,
    kernel: Float32Array,
    dKernel: Float32Array | null,
    dBias: Float32Array | null,
    dx: Float32Array | null,
    geometry: Conv2DGeometry,
  ): void {
    // The two passes build the lists of dy's non-zero values once.
    this.convolutions.sharingLists(dy, () => {
      if (dKernel !== null) this.conv2dBackwardWeights(x, dy, dKernel, dBias, geometry);
      if (dx !== null) this.conv2dBackwardInput(dy, kernel, dx, geometry);
    });
  }

  override conv2dBackwardWeights(
    x: Float32Array,
    dy: Float32Array,
    dKernel: Float32Array,
    dBias: Float32Array | null,
    geometry: Conv2DGeometry,
  ): void {
    if (this.convolutions.conv2dBackwardWeights(x, dy, dKernel, dBias, geometry)) return;
    this.stats.fallbacks++;
    super.conv2dBackwardWeights(x, dy, dKernel, dBias, geometry);
  }

  override depthwiseConv2dForward(
    x: Float32Array,
    kernel: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    geometry: Conv2DGeometry,
  ): void {
    if (this.convolutions.depthwiseConv2dForward(x, kernel, bias, y, geometry)) return;
    this.stats.fallbacks++;
    super.depthwiseConv2dForward(x, kernel, bias, y, geometry);
  }

  override depthwiseConv2dBackwardInput(
    dy: Float32Array,
    kernel: Float32Array,
    dx: Float32Array,
    geometry: Conv2DGeometry,
  ): void {
    if (this.convolutions.depthwiseConv2dBackwardInput(dy, kernel, dx, geometry)) return;
    this.stats.fallbacks++;
    super.depthwiseConv2dBackwardInput(dy, kernel, dx, geometry);
  }

  override depthwiseConv2dBackwardWeights(
    x: Float32Array,
    dy: Float32Array,
    dKernel: Float32Array,
    dBias: Float32Array | null,
    geometry: Conv2DGeometry,
  ): void {
    if (this.convolutions.depthwiseConv2dBackwardWeights(x, dy, dKernel, dBias, geometry)) return;
    this.stats.fallbacks++;
    super.depthwiseConv2dBackwardWeights(x, dy, dKernel, dBias, geometry);
  }

  override maxPool2dForward(x: Float32Array, y: Float32Array, geometry: Conv2DGeometry): void {
    if (this.convolutions.maxPool2dForward(x, y, geometry)) return;
    this.stats.fallbacks++;
    super.maxPool2dForward(x, y, geometry);
  }

  override maxPool2dBackward(
    x: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    geometry: Conv2DGeometry,
    positiveOnly = false,
  ): void {
    if (this.convolutions.maxPool2dBackward(x, y, dy, dx, geometry, positiveOnly)) return;
    this.stats.fallbacks++;
    super.maxPool2dBackward(x, y, dy, dx, geometry, positiveOnly);
  }

  override averagePool2dForward(x: Float32Array, y: Float32Array, geometry: Conv2DGeometry): void {
    if (this.convolutions.averagePool2dForward(x, y, geometry)) return;
    this.stats.fallbacks++;
    super.averagePool2dForward(x, y, geometry);
  }

  override averagePool2dBackward(dy: Float32Array, dx: Float32Array, geometry: Conv2DGeometry): void {
    if (this.convolutions.averagePool2dBackward(dy, dx, geometry)) return;
    this.stats.fallbacks++;
    super.averagePool2dBackward(dy, dx, geometry);
  }

  override reluForward(x: Float32Array, y: Float32Array, n: number, options: ReluOptions): void {
    if (this.convolutions.reluForward(x, y, n, options)) return;
    this.stats.fallbacks++;
    super.reluForward(x, y, n, options);
  }

  override reluBackward(
    x: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    n: number,
    options: ReluOptions,
  ): void {
    if (this.convolutions.reluBackward(x, dy, dx, n, options)) return;
    this.stats.fallbacks++;
    super.reluBackward(x, dy, dx, n, options);
  }

  override columnMoments(
    x: Float32Array,
    m: number,
    c: number,
    mean: Float32Array,
    variance: Float32Array,
  ): void {
    if (this.convolutions.columnMoments(x, m, c, mean, variance)) return;
    this.stats.fallbacks++;
    super.columnMoments(x, m, c, mean, variance);
  }

  override batchNormForward(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    epsilon: number,
    m: number,
    c: number,
    xHat: Float32Array | null,
    y: Float32Array,
  ): void {
    if (this.convolutions.batchNormForward(x, mean, variance, gamma, beta, epsilon, m, c, xHat, y)) return;
    this.stats.fallbacks++;
    super.batchNormForward(x, mean, variance, gamma, beta, epsilon, m, c, xHat, y);
  }

  override batchNormBackward(
    dy: Float32Array,
    xHat: Float32Array,
    variance: Float32Array,
    gamma: Float32Array | null,
    epsilon: number,
    m: number,
    c: number,
    batchStatistics: boolean,
    dx: Float32Array | null,
    dGamma: Float32Array | null,
    dBeta: Float32Array | null,
  ): void {
    const args = [dy, xHat, variance, gamma, epsilon, m, c, batchStatistics, dx, dGamma, dBeta] as const;
    if (this.convolutions.batchNormBackward(...args)) return;
    this.stats.fallbacks++;
    super.batchNormBackward(...args);
  }

  override channelAffine(
    x: Float32Array,
    y: Float32Array,
    m: number,
    c: number,
    scale: Float32Array,
    offset: Float32Array | null,
  ): void {
    if (this.convolutions.channelAffine(x, y, m, c, scale, offset)) return;
    this.stats.fallbacks++;
    super.channelAffine(x, y, m, c, scale, offset);
  }
}

/**
 * Compiles the kernels (the relaxed-SIMD build when supported), creates the shared memory and starts the
 * helper threads (see {@link WasmKernelOptions.threads}).
 */
export async function createWasmKernels(options: WasmKernelOptions = {}): Promise<WasmKernels> {
  checkOptions('createWasmKernels', options, WASM_KERNEL_OPTION_KEYS);
  const requested = options.threads;
  if (
    requested !== undefined &&
    !(Number.isInteger(requested) && requested >= 1 && requested <= MAX_THREADS)
  ) {
    throw new RangeError(
      `createWasmKernels: threads must be an integer in [1, ${MAX_THREADS}], got ${requested}`,
    );
  }
  const { module, relaxedSimd } = await loadKernelModule(options);
  const heap = WasmHeap.create((options.initialMiB ?? 16) * 1024 * 1024, {
    maximumBytes: options.maximumMiB === undefined ? undefined : options.maximumMiB * 1024 * 1024,
  });
  const instance = await WebAssembly.instantiate(module, { env: { memory: heap.memory } });
  const wasm = instance.exports as unknown as KernelExports;
  if (wasm.heap_base() > CONTROL_OFFSET) {
    throw new Error(
      `warmstart: kernel module's static data (${wasm.heap_base()} bytes) overlaps the control block`,
    );
  }
  let helperHost: HelperHost | null = options.host ?? null;
  let threads = requested ?? 1;
  if (options.host === undefined && requested !== 1) {
    // The platform's threads (Node: worker_threads; browsers: module Web Workers when cross-origin isolated).
    const platform = await host.wasmThreads();
    if (platform !== null) {
      helperHost = platform.host;
      threads = requested ?? platform.defaultThreads();
    }
  }
  const pool = await ThreadPool.start(module, heap.memory, wasm, {
    threads: helperHost === null ? 1 : threads,
    spinMicros: options.spinMicros ?? 250,
    host: helperHost,
    mainChunkLimit: options.mainChunkLimit,
  });
  if (pool.startFailure !== null) {
    console.warn(`warmstart: the wasm kernels run on one thread: ${pool.startFailure}`);
  }
  return new WasmKernels(heap, wasm, pool, relaxedSimd);
}

/**
 * Makes `setBackend('wasm')` create {@link WasmKernels} with `options` (default options when omitted; the
 * CLI passes `--threads` this way).
 */
export function registerWasmBackend(options: WasmKernelOptions = {}): void {
  registerBackend('wasm', () => createWasmKernels(options));
}
