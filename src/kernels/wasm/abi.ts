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

/** Task codes of `run_chunk`. */
export const TASK = { forward: 1, weights: 2, input: 3, sgd: 4, forwardPart: 5 } as const;

/**
 * Byte offset of the control block. The module's static data (the float64 log table) ends at
 * `heap_base()` (about 5 KiB); the loader checks it stays below this.
 */
export const CONTROL_OFFSET = 8192;
/** Bytes reserved for the control block. */
export const CONTROL_BYTES = 1024;
/** First byte the allocator hands out: everything below belongs to the module and the control block. */
export const HEAP_START = 65536;

/**
 * Int32 word indices inside the control block. The task words (0..15) and float64 arguments (bytes 64..79)
 * sit on their own cache lines; each synchronisation word has a 64-byte line to itself so the two
 * threads' spinning does not bounce the task's line.
 */
export const WORD = {
  task: 0,
  chunks: 1,
  /** First integer argument; arguments are words 2..15. */
  args: 2,
  /** Float64 index (in a Float64Array over the block) of the first float argument. */
  f64Args: 8,
  /** Claim word: `serial << 8 | chunks << 4 | claimedMask`; a compare-exchange on it claims a chunk. */
  next: 32,
  /** Chunks finished by the worker for the current task. */
  done: 48,
  /** 1 while the worker sleeps in `Atomics.wait` on the claim word (the poster must notify). */
  sleeping: 64,
  /** Set to 1 to make the worker leave its loop. */
  stop: 80,
  /** 1 while the main thread sleeps in `Atomics.wait` on `done` (the worker must notify). */
  mainSleeping: 96,
  /** Set to 1 by the worker when a chunk threw (a bug): the main thread then gives up the pool. */
  failed: 112,
} as const;

/** The exports of the kernels module (all pointers are byte offsets into the shared memory). */
export interface KernelExports {
  heap_base(): number;
  run_chunk(ctrl: number, chunk: number): void;
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
    scratch: number,
  ): void;
  gemm_scratch_bytes(rows: number, depth: number): number;
  gemm_tune(which: number, value: number): number;
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
