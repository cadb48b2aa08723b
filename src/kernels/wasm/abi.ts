/**
 * The contract between the TypeScript side and the AssemblyScript module (`assembly/`): numeric codes,
 * the layout of the shared control block, and the shape of the module's exports. Keep in step with
 * `assembly/index.ts`, `assembly/elementwise.ts` and `assembly/loss.ts`.
 * @module
 */

import type { AccuracyName, ActivationName, LossName } from '../kernels.js';

/** Activation codes understood by the module. */
export const ACTIVATION_CODES: Readonly<Record<ActivationName, number>> = {
  linear: 0,
  relu: 1,
  sigmoid: 2,
  tanh: 3,
  selu: 4,
  elu: 5,
  softmax: 6,
};

/** The softmax code: the one activation that works per row and so is never split by columns. */
export const SOFTMAX = 6;
/** The linear (identity) activation's code. */
export const LINEAR = 0;

/** Loss codes understood by the module. */
export const LOSS_CODES: Readonly<Record<LossName, number>> = {
  sparse_categorical_crossentropy: 0,
  categorical_crossentropy: 1,
  binary_crossentropy: 2,
  mean_squared_error: 3,
};

/** Accuracy codes understood by the module. */
export const ACCURACY_CODES: Readonly<Record<AccuracyName, number>> = {
  sparse_categorical_accuracy: 0,
  categorical_accuracy: 1,
  binary_accuracy: 2,
};

/**
 * Byte offset of the control block. The module's static data (the float64 log table) ends at
 * `heap_base()` (about 5 KiB); the loader checks it stays below this.
 */
export const CONTROL_OFFSET = 8192;
/** Bytes reserved for the control block. */
export const CONTROL_BYTES = 8192;
/** First byte the allocator hands out: everything below belongs to the module and the control block. */
export const HEAP_START = 65536;

/** Most threads a pool runs (the calling thread and its helpers); the control block has room for this many. */
export const MAX_THREADS = 64;

/**
 * Int32 word indices inside the control block through which the calling thread hands runs to the helper
 * threads (see pool.ts and helper.js). Every word has a 64-byte line to itself, so spinning threads do not
 * bounce each other's lines.
 */
export const CONTROL = {
  /** Serial of the latest published run; helpers wait on this word. */
  serial: 0,
  /** Byte offset of the plan of that run (0: none, the pool is only draining its helpers). */
  plan: 16,
  /** Set to 1 to make the helpers leave their loop. */
  stop: 32,
  /** Helpers asleep in `Atomics.wait` on the serial word (the caller must notify). */
  sleepers: 48,
  /** Chunks run by helpers, ever (statistics: did the helpers take part?). */
  helperChunks: 64,
  /** Set to 1 by a helper whose chunk threw (a bug): the run is abandoned and the pool given up. */
  failed: 80,
  /** Word of helper t is `busy + 16·t`: the serial it is working on, 0 while idle. */
  busy: 128,
} as const;

/**
 * Layout of a plan (assembly/step.ts): int32 header words, float64 scalars, then one record of
 * {@link PLAN.phaseBytes} bytes per phase. Keep in step with assembly/step.ts.
 */
export const PLAN = {
  serial: 0,
  phases: 1,
  m: 2,
  allowed: 3,
  scratch: 4,
  scratchStride: 5,
  sync: 6,
  first: 7,
  last: 8,
  train: 9,
  mainLimit: 10,
  longWaits: 11,
  sleepers: 12,
  control: 13,
  /** Float64 index (over the plan) of the learning rate. */
  learningRate: 8,
  /** Byte offset of the first phase record, and bytes per record. */
  phaseTable: 128,
  phaseBytes: 128,
  /** Bytes of sync words per phase (claim word and done word, each on its own cache line). */
  syncBytes: 128,
  /** Most chunks in a phase (bits of the claim word). */
  maxChunks: 32,
} as const;

/** Operations of a plan's phases (word 0 of a phase record). */
export const OP = {
  denseForward: 1,
  dropout: 2,
  loss: 3,
  denseBackward: 4,
  sgd: 5,
  softmax: 6,
  forwardParts: 7,
  addActivate: 8,
} as const;

/**
 * Where a Dense layer's forward product is computed in two parts over the depth (then added): from this input
 * width on, with more than 8 outputs. A rule of the shape only, so that the sums are the same for every
 * batch size and thread count; the split row is {@link depthSplit}.
 */
export const DEPTH_SPLIT_FROM = 256;

/** Whether a k→n Dense layer's forward product is computed in two parts (see {@link DEPTH_SPLIT_FROM}). */
export function splitsByDepth(k: number, n: number): boolean {
  return k >= DEPTH_SPLIT_FROM && n > 8;
}

/**
 * The row of W where a depth-split product's second part starts: the boundary of the first of two dW (and
 * update) chunks, whole 3-row tiles (`chunkStart(1, 2, k, 3)` in assembly/step.ts).
 */
export function depthSplit(k: number): number {
  return Math.floor(Math.ceil(k / 3) / 2) * 3;
}

/** Kinds of update records (how a parameter is updated inside a step). */
export const UPDATE = { none: 0, sgd: 1 } as const;

/**
 * Bytes of zero-skipping scratch one thread needs for a forward product of depth k: 16 row tiles (a block
 * of 48 rows) of a count and up to k indices each. Mirrors `gemm_forward` in assembly/gemm.ts.
 */
export function forwardScratchBytes(k: number): number {
  return 16 * (k + 1) * 4;
}

/** Bytes of zero-skipping scratch for a dW product (x m×k): ⌈k/3⌉ row tiles of a count and ≤ m indices. */
export function weightsScratchBytes(m: number, k: number): number {
  return Math.floor((k + 2) / 3) * (m + 1) * 4;
}

/** Above this many bytes per thread, products run without zero-skipping lists rather than allocate them. */
export const MAX_SCRATCH_BYTES = 16 << 20;

/** The exports of the kernels module (all pointers are byte offsets into the shared memory). */
export interface KernelExports {
  heap_base(): number;
  /** Runs a plan as thread `thread` of run `serial` (see assembly/step.ts): 1, 0 (no part in it), −1 (failed). */
  plan_run(plan: number, thread: number, canBlock: number, serial: number): number;
  gemm_forward(
    x: number,
    w: number,
    bias: number,
    z: number,
    m: number,
    k: number,
    n: number,
    j0: number,
    j1: number,
    scratch: number,
  ): void;
  gemm_forward_part(
    x: number,
    w: number,
    bias: number,
    z: number,
    m: number,
    k: number,
    n: number,
    p0: number,
    p1: number,
    scratch: number,
  ): void;
  add_partial(z: number, partial: number, length: number): void;
  gemm_weights(
    x: number,
    dz: number,
    dw: number,
    m: number,
    k: number,
    n: number,
    p0: number,
    p1: number,
    scratch: number,
  ): void;
  gemm_input(
    dz: number,
    w: number,
    dx: number,
    m: number,
    k: number,
    n: number,
    p0: number,
    p1: number,
  ): void;
  column_sums(dz: number, db: number, m: number, n: number): void;
  activation_block(
    act: number,
    z: number,
    y: number,
    m: number,
    stride: number,
    j0: number,
    j1: number,
  ): void;
  softmax_rows(z: number, y: number, m: number, n: number): void;
  activation_backward(act: number, z: number, y: number, dy: number, dz: number, length: number): void;
  softmax_backward(y: number, dy: number, dz: number, m: number, n: number): void;
  sgd_update(
    param: number,
    grad: number,
    velocity: number,
    lr: number,
    momentum: number,
    nesterov: number,
    i0: number,
    i1: number,
  ): void;
  sum_of_squares(x: number, length: number): number;
  scale(x: number, length: number, factor: number): void;
  first_non_finite(x: number, length: number): number;
  gather_rows(source: number, indices: number, count: number, rowLength: number, target: number): void;
  loss(
    kind: number,
    yPred: number,
    yTrue: number,
    dPred: number,
    m: number,
    n: number,
    fused: number,
  ): number;
  count_correct(kind: number, yPred: number, yTrue: number, m: number, n: number): number;
}
