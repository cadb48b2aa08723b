/**
 * The WebAssembly backend: SIMD kernels compiled from AssemblyScript (`assembly/`), over one shared
 * memory, on up to two threads. `alloc` hands out views into that memory, so a kernel call passes byte
 * offsets and copies nothing. Any call whose views are not all in the memory (user data, or buffers of
 * another backend) falls back to the reference loops it inherits, so every `Float32Array` still works.
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
import {
  ACCURACY_CODES,
  ACTIVATION_CODES,
  CONTROL_OFFSET,
  type KernelExports,
  LOSS_CODES,
  RANGE,
  SOFTMAX,
  TASK,
} from './abi.js';
import { SPLIT_WORK, WasmConvolutions } from './conv.js';
import { WasmHeap } from './heap.js';
import { loadKernelModule } from './loader.js';
import { WasmOptimizers } from './optimizers.js';
import { WorkerPool } from './pool.js';

/** Options of {@link createWasmKernels}. */
export interface WasmKernelOptions {
  /** Threads that share the products: 2 (default where worker threads exist and 2+ cores) or 1. */
  threads?: 1 | 2;
  /** Use the relaxed-SIMD (fused multiply-add) build: default when the engine supports it. */
  relaxedSimd?: boolean;
  /** How long the helper thread spins for the next task before sleeping (µs, default 1000). */
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
   * For tests: with two threads, the calling thread runs at most this many chunks of each split product
   * and the helper thread must run the rest (and splitting is never paused). Not for production use.
   */
  mainChunkLimit?: number;
}

/** The keys of {@link WasmKernelOptions}. */
const WASM_KERNEL_OPTION_KEYS = {
  threads: true,
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
  /** 2 when the helper thread is running, else 1. */
  threads: number;
}

/**
 * Multiply-adds below which a product stays on one thread. Handing a chunk to the other thread costs a
 * few microseconds (the claim, the worker's cache misses on its inputs, the wait for its last chunk), so
 * only products of ~10 µs and more are split: model A's 784→300 and 300→100 layers, not the 50-wide ones.
 */
const SPLIT_FORWARD = 1 << 18;
/**
 * Depth from which a forward product is computed in two parts over the depth (see forwardByDepth): model
 * A's 784→300 and 300→100 layers.
 */
const SPLIT_DEPTH = 256;
/**
 * Weights (floats) above which the forward product is split by columns instead: a matrix this large no
 * longer stays in the two cores' caches between steps, so the depth split's reason is gone, and every
 * element is then one chain of multiply-adds from its bias.
 */
const SPLIT_DEPTH_MAX_WEIGHTS = 1 << 18;
/**
 * Multiply-adds from which a product is cut into four chunks rather than two (both threads claim them,
 * so a thread that another process slows down takes fewer): 256×1024×1024 and up, tens of milliseconds;
 * and only when the dimension it is cut along has 1024 or more (every chunk redoes the other operand's
 * share of the work: classifying x's rows for the forward product, for one).
 */
const SPLIT_FINE = 1 << 26;
const SPLIT_FINE_WIDTH = 1024;

/** The most chunks a task is cut into (the claim word has 4 bits for them). */
const MAX_CHUNKS = 4;

/** Chunks for a product of `work` multiply-adds cut along `width` (the same bits whatever the count). */
function productChunks(work: number, width: number): number {
  return work >= SPLIT_FINE && width >= SPLIT_FINE_WIDTH ? MAX_CHUNKS : 2;
}

/**
 * Kernels backed by WebAssembly SIMD. Create with {@link createWasmKernels} (compilation is async); call
 * {@link WasmKernels.dispose} to stop the helper thread (it never keeps the process alive meanwhile).
 */
export class WasmKernels extends ReferenceKernels {
  override readonly name: string = 'wasm';
  /** The build and thread count in use. */
  readonly info: WasmKernelInfo;
  /** The allocator and memory every kernel of this backend uses. */
  readonly heap: WasmHeap;
  private readonly wasm: KernelExports;
  private pool: WorkerPool | null;
  /** Scratch for `gatherRows`' indices (they usually live in ordinary JS memory). */
  private indexScratch: Float32Array | null = null;
  /**
   * Row length of each weight gradient seen by `denseBackwardWeights`, by byte offset: the SGD step on it
   * then splits at the same row as that product did, keeping each block of rows on one core.
   */
  private readonly rowLengths = new Map<number, number>();
  /** Scratch for the products' copied panels and sparse rows: one region per chunk, never shared. */
  private listScratch: Float32Array | null = null;
  private listStride = 0;
  private listRegions = 0;
  /** The second part of a depth-split forward product (see forwardByDepth). */
  private partial: Float32Array | null = null;
  /** @internal Depth from which forward products split by depth (benchmarks may change it). */
  splitDepth = SPLIT_DEPTH;
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
  constructor(heap: WasmHeap, wasm: KernelExports, pool: WorkerPool | null, relaxedSimd: boolean) {
    super();
    this.heap = heap;
    this.wasm = wasm;
    this.pool = pool;
    this.info = { relaxedSimd, threads: pool === null ? 1 : 2 };
    this.convolutions = new WasmConvolutions(heap, wasm, (work) => this.splitter(work, SPLIT_WORK));
    this.optimizers = new WasmOptimizers({
      heap,
      wasm,
      splitter: (work, threshold) => this.splitter(work, threshold),
      rowLengthOf: (offset) => this.rowLengths.get(offset) ?? 0,
    });
  }

  /**
   * Tasks split between the threads, those the worker took part in, those where it was too slow, pauses
   * of splitting, calls left unsplit by a pause, and tasks the worker missed (see `pool.ts`); null with one
   * thread.
   */
  get threadStats(): WorkerPool['stats'] | null {
    return this.pool === null ? null : this.pool.stats;
  }

  /** The pool when a product of `work` multiply-adds should be split now, else null. */
  private splitter(work: number, threshold: number): WorkerPool | null {
    const pool = this.pool;
    if (pool === null || work < threshold || !pool.available) return null;
    if (pool.failed) {
      void this.dispose();
      return null;
    }
    return pool;
  }

  /** Stops the helper thread; the kernels keep working on one thread. */
  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    this.info.threads = 1;
    this.convolutions.dispose();
    if (pool !== null) await pool.dispose();
  }

  /**
   * Base offset of `regions` scratch regions (one per chunk of the call: 1 unsplit, up to {@link MAX_CHUNKS})
   * of at least `bytes` each (grown on demand), and the region stride. The products ask for it through
   * `gemm_scratch_bytes`: under 1 MiB per region at any shape, since every block is bounded. Only as many
   * regions as a call has used, so that a one-thread backend keeps one.
   */
  private scratch(bytes: number, regions: number): [number, number] {
    if (this.listScratch === null || bytes > this.listStride || regions > this.listRegions) {
      if (this.listScratch !== null) this.heap.free(this.listScratch);
      // The largest request so far (a network's shapes are few: it settles within the first step);
      // 64-byte aligned regions.
      this.listStride = Math.max(this.listStride, Math.ceil(bytes / 64) * 64);
      this.listRegions = Math.max(this.listRegions, regions);
      this.listScratch = this.heap.alloc((this.listRegions * this.listStride) / 4);
    }
    return [this.listScratch.byteOffset, this.listStride];
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
    if (k >= this.splitDepth && n > 8 && m * k * n >= SPLIT_FORWARD && k * n <= SPLIT_DEPTH_MAX_WEIGHTS) {
      this.forwardByDepth(x, w, b, z, y, m, k, n, act);
      return;
    }
    const pool = n > 8 ? this.splitter(m * k * n, SPLIT_FORWARD) : null;
    const chunks = productChunks(m * k * n, n);
    const [scratch, stride] = this.scratch(this.wasm.gemm_scratch_bytes(m, k), pool === null ? 1 : chunks);
    if (pool !== null) {
      // Chunks apply element-wise activations to their own columns; softmax needs whole rows, after.
      const args = [
        x.byteOffset,
        w.byteOffset,
        b,
        z.byteOffset,
        y.byteOffset,
        m,
        k,
        n,
        act,
        0,
        0,
        0,
        scratch,
        stride,
      ];
      pool.run(TASK.forward, chunks, args);
      if (act === SOFTMAX) this.wasm.softmax_rows(z.byteOffset, y.byteOffset, m, n);
      return;
    }
    this.wasm.gemm_forward(x.byteOffset, w.byteOffset, b, z.byteOffset, m, k, n, 0, n, scratch);
    this.finishActivation(act, z, y, m, n);
  }

  /**
   * A wide-input forward product (model A's 784→300 and 300→100) in two parts over the depth, split at the same row of
   * w as the dW product and the SGD step split it, then added; with one thread or two (same bits). Split
   * by columns instead, each core would read half of the rows the other core's SGD chunk just wrote, and
   * the matrix would cross between the caches twice per step.
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
    // chunkStart(1, 2, k, 6) in assembly/index.ts: the boundary of dW's (and SGD's) row chunks.
    const split = Math.floor(Math.ceil(k / 6) / 2) * 6;
    const wasm = this.wasm;
    let partial = this.partial;
    if (partial === null || partial.length < m * n) {
      if (partial !== null) this.heap.free(partial);
      partial = this.heap.alloc(m * n);
      this.partial = partial;
    }
    const pool = this.splitter(m * k * n, SPLIT_FORWARD);
    const [scratch, stride] = this.scratch(
      Math.max(wasm.gemm_scratch_bytes(m, split), wasm.gemm_scratch_bytes(m, k - split)),
      pool === null ? 1 : 2,
    );
    if (pool !== null) {
      const args = [
        x.byteOffset,
        w.byteOffset,
        b,
        z.byteOffset,
        y.byteOffset,
        m,
        k,
        n,
        act,
        partial.byteOffset,
        split,
        0,
        scratch,
        stride,
      ];
      pool.run(TASK.forwardPart, 2, args);
    } else {
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

  /** `y = f(z)` over an m×n block after a single-threaded or depth-split product. */
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
    const pool = length >= 32 ? this.splitter(2 * length, SPLIT_WORK) : null;
    if (pool !== null)
      pool.run(TASK.range, 2, [RANGE.activationForward, length, 16, act, z.byteOffset, y.byteOffset, length]);
    else this.wasm.activation_block(act, z.byteOffset, y.byteOffset, 1, length, 0, length);
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
    const pool = length >= 32 ? this.splitter(2 * length, SPLIT_WORK) : null;
    if (pool !== null) {
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
      pool.run(TASK.range, 2, args);
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
    const pool = k > 8 ? this.splitter(m * k * n, SPLIT_FORWARD) : null;
    const chunks = productChunks(m * k * n, k);
    const [scratch, stride] = this.scratch(this.wasm.gemm_scratch_bytes(k, m), pool === null ? 1 : chunks);
    if (pool !== null) {
      const args = [x.byteOffset, dz.byteOffset, dw.byteOffset, m, k, n, 0, 0, 0, 0, 0, 0, scratch, stride];
      pool.run(TASK.weights, chunks, args);
    } else {
      this.wasm.gemm_weights(x.byteOffset, dz.byteOffset, dw.byteOffset, m, k, n, 0, k, scratch);
    }
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
    const pool = k > 8 ? this.splitter(m * k * n, SPLIT_FORWARD) : null;
    const chunks = productChunks(m * k * n, k);
    const [scratch, stride] = this.scratch(this.wasm.gemm_scratch_bytes(m, n), pool === null ? 1 : chunks);
    if (pool !== null) {
      const args = [dz.byteOffset, w.byteOffset, dx.byteOffset, m, k, n, 0, 0, 0, 0, 0, 0, scratch, stride];
      pool.run(TASK.input, chunks, args);
    } else {
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
      if (rowLength < 16 && this.heap.owns(target) && start >= 0 && start + count <= indices.length) {
        // Short rows (labels): element copies beat a subarray object and a memcpy call per row.
        const rows = Math.floor(source.length / rowLength);
        for (let r = 0; r < count; r++) {
          const index = indices[start + r];
          if (!(index >= 0 && index < rows)) {
            super.gatherRows(source, indices, start, count, rowLength, target);
            return;
          }
          const from = index * rowLength;
          const to = r * rowLength;
          for (let e = 0; e < rowLength; e++) target[to + e] = source[from + e];
        }
        return;
      }
      // Long rows: the reference's per-row TypedArray.set is a memcpy already.
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
    if (!this.heap.owns(x)) {
      this.stats.fallbacks++;
      return super.sumOfSquares(x);
    }
    return this.wasm.sum_of_squares(x.byteOffset, x.length);
  }

  override scale(x: Float32Array, factor: number): void {
    if (this.optimizers.scale(x, factor)) return;
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
    this.stats.fallbacks++;
    super.sgdUpdate(param, grad, velocity, step);
  }

  override fill(x: Float32Array, value: number): void {
    if (this.optimizers.fill(x, value)) return;
    this.stats.fallbacks++;
    super.fill(x, value);
  }

  override clipByValue(x: Float32Array, min: number, max: number): void {
    if (this.optimizers.clipByValue(x, min, max)) return;
    this.stats.fallbacks++;
    super.clipByValue(x, min, max);
  }

  override accumulateGradient(accumulator: Float32Array, gradient: Float32Array, divisor: number): void {
    if (this.optimizers.accumulateGradient(accumulator, gradient, divisor)) return;
    this.stats.fallbacks++;
    super.accumulateGradient(accumulator, gradient, divisor);
  }

  override emaUpdate(average: Float32Array, value: Float32Array, momentum: number): void {
    if (this.optimizers.emaUpdate(average, value, momentum)) return;
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
    this.stats.fallbacks++;
    super.nadamUpdate(param, grad, m, v, step);
  }

  override lionUpdate(param: Float32Array, grad: Float32Array, m: Float32Array, step: LionStep): void {
    if (this.optimizers.lion(param, grad, m, step)) return;
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
  ): void {
    if (this.convolutions.conv2dForward(x, kernel, bias, y, geometry)) return;
    this.stats.fallbacks++;
    super.conv2dForward(x, kernel, bias, y, geometry);
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
  ): void {
    if (this.convolutions.maxPool2dBackward(x, y, dy, dx, geometry)) return;
    this.stats.fallbacks++;
    super.maxPool2dBackward(x, y, dy, dx, geometry);
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
 * Compiles the kernels (the relaxed-SIMD build when supported), creates the shared memory and, unless
 * `threads: 1`, starts the helper thread.
 */
export async function createWasmKernels(options: WasmKernelOptions = {}): Promise<WasmKernels> {
  checkOptions('createWasmKernels', options, WASM_KERNEL_OPTION_KEYS);
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
  let pool: WorkerPool | null = null;
  if ((options.threads ?? (await defaultThreads())) >= 2) {
    pool = await WorkerPool.start(module, heap.memory, wasm.run_chunk, {
      spinMicros: options.spinMicros ?? 1000,
      mainChunkLimit: options.mainChunkLimit,
    });
  }
  return new WasmKernels(heap, wasm, pool, relaxedSimd);
}

/** Two threads where the platform has two cores or more (the pool falls back to one where it cannot start). */
async function defaultThreads(): Promise<1 | 2> {
  return host.availableCores() >= 2 ? 2 : 1;
}

/** Makes `setBackend('wasm')` create {@link WasmKernels} with default options. */
export function registerWasmBackend(): void {
  registerBackend('wasm', () => createWasmKernels());
}
