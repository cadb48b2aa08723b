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
export const TASK = {
  forward: 1,
  weights: 2,
  input: 3,
  sgd: 4,
  forwardPart: 5,
  optimizer: 6,
  range: 7,
} as const;

/**
 * Kernels of the range task (`TASK.range`): one of the sub-range kernels of assembly/conv.ts (or an
 * element-wise one), split over its output rows, images, weight rows, channels or elements. The task's words
 * are the kernel, the range's length, the unit chunk boundaries fall on, then the kernel's arguments before
 * its range. Keep in step with `R_*` in assembly/index.ts.
 */
export const RANGE = {
  convForward: 0,
  convWeights: 1,
  convInput: 2,
  im2col: 3,
  col2im: 4,
  depthwiseForward: 5,
  depthwiseInput: 6,
  depthwiseWeights: 7,
  channelSums: 8,
  maxPoolForward: 9,
  maxPoolBackward: 10,
  avgPoolForward: 11,
  avgPoolBackward: 12,
  reluForward: 13,
  reluBackward: 14,
  channelMoments: 15,
  bnNormalize: 16,
  bnSums: 17,
  channelAffine: 18,
  gemmForward: 19,
  activationForward: 20,
  activationBackward: 21,
  nonzeroChannels: 22,
  convForwardLists: 23,
  convWeightsLists: 24,
  add: 25,
  zeroPad: 26,
} as const;

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

/**
 * Kinds of `optimizer_update` (word 0 of its descriptor), shared with `assembly/optimizers.ts`. Each
 * variant (momentum, Nesterov, centered, AMSGrad) has its own kind, so that the loop it selects is compiled
 * for it.
 */
export const OPTIMIZER_KINDS = {
  sgd: 1,
  sgdMomentum: 2,
  sgdNesterov: 3,
  rmsprop: 4,
  rmspropMomentum: 5,
  rmspropCentered: 6,
  rmspropCenteredMomentum: 7,
  adam: 8,
  adamAmsgrad: 9,
  adadelta: 10,
  adagrad: 11,
  adamax: 12,
  nadam: 13,
  lion: 14,
  ftrl: 15,
  fill: 16,
  clip: 17,
  accumulate: 18,
  ema: 19,
  scale: 20,
} as const;

/**
 * The optimizer descriptor: what `optimizer_update(desc, param, grad, slots, i0, i1)` reads at `desc`
 * (`assembly/optimizers.ts`). It updates elements [i0, i1) of the variable at `param` in place from the
 * gradient at `grad`; `slots` points to three u32 addresses of the variable's slots (0 for a slot the kind
 * has not). Elements are independent: any split of a variable into ranges, on any threads, gives the same
 * bits. All addresses are byte offsets into the shared memory; every array has the variable's length.
 *
 * | bytes | field |
 * | --- | --- |
 * | 0–3 | i32 kind ({@link OPTIMIZER_KINDS}) |
 * | 4–7 | reserved (0) |
 * | 8–63 | the step's scalars: float32 scalar i at byte 8 + 4i (SGD and SCALE: float64s from byte 8) |
 *
 * Scalars and slots per kind (the fields of the matching `…Step` of `src/kernels/kernels.ts`, in order):
 *
 * | kind | scalars | slots[0], [1], [2] |
 * | --- | --- | --- |
 * | sgd, sgdMomentum, sgdNesterov | f64 learningRate (byte 8), f64 momentum (byte 16) | velocity (not sgd) |
 * | rmsprop, …Momentum, …Centered, …CenteredMomentum | learningRate, rho, oneMinusRho, momentum, epsilon | velocity, momentum buffer, average gradient |
 * | adam, adamAmsgrad | alpha, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon | m, v, v̂ (AMSGrad) |
 * | adadelta | learningRate, rho, oneMinusRho, epsilon | accumulated gradient, accumulated delta |
 * | adagrad | learningRate, epsilon | accumulator |
 * | adamax | learningRate, beta1, oneMinusBeta1, beta2, epsilon, biasCorrection | m, u |
 * | nadam | learningRate, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, nextMomentum, nextProductComplement, oneMinusMomentum, productComplement, beta2Correction | m, v |
 * | lion | learningRate, beta1, oneMinusBeta1, beta2, oneMinusBeta2 | m |
 * | ftrl | learningRate, power (0.5: square roots), l1, twiceL2, twiceL2Shrinkage | accumulator, linear |
 * | fill | value (param ← value) | — |
 * | clip | min, max (param ← min(max(param, min), max)) | — |
 * | accumulate | divisor (param ← (param + grad) / divisor; 1: no division) | — |
 * | ema | μ, 1 − μ (param ← μ·param + (1 − μ)·grad) | — |
 * | scale | f64 factor at byte 8 (param ← param·factor, rounded once) | — |
 *
 * `run_chunk`'s task {@link TASK}.optimizer runs it over both threads: integer arguments desc, param, grad,
 * slots, length, rowLength (as the SGD task: chunks end on whole 6-row groups of a matrix whose dW product
 * split it so, else on 16-element boundaries).
 */
export const OPTIMIZER_DESCRIPTOR = {
  /** Bytes of the descriptor. */
  bytes: 64,
  /** Byte offset of the kind (i32). */
  kind: 0,
  /** Byte offset of the first scalar. */
  scalars: 8,
  /** Number of float32 scalar slots. */
  maxScalars: 14,
} as const;

/**
 * Above this many bytes, the zero-skipping lists of a convolution's dW (assembly/conv.ts) are not allocated and
 * the dense kernels run instead. (The GEMM's scratch needs no such cap: `gemm_scratch_bytes` is bounded.)
 */
export const MAX_SCRATCH_BYTES = 16 << 20;

/**
 * Int32 words of a window's geometry block (assembly/conv.ts), in the order of `Conv2DGeometry`'s fields;
 * the kernels of convolutional networks take a pointer to one.
 */
export const GEOMETRY_WORDS = [
  'batch',
  'inHeight',
  'inWidth',
  'inChannels',
  'outHeight',
  'outWidth',
  'outChannels',
  'kernelHeight',
  'kernelWidth',
  'strideHeight',
  'strideWidth',
  'dilationHeight',
  'dilationWidth',
  'padTop',
  'padLeft',
  'groups',
] as const;

/** The exports of assembly/conv.ts; `geom` points to a geometry block (see {@link GEOMETRY_WORDS}). */
export interface ConvExports {
  conv2d_forward(
    geom: number,
    x: number,
    w: number,
    bias: number,
    y: number,
    zeros: number,
    r0: number,
    r1: number,
  ): void;
  conv2d_weights(geom: number, x: number, dy: number, dw: number, p0: number, p1: number): void;
  nonzero_channels(x: number, c: number, lists: number, stride: number, p0: number, p1: number): number;
  add_arrays(a: number, b: number, out: number, i0: number, i1: number): void;
  zero_pad(
    x: number,
    y: number,
    height: number,
    width: number,
    channels: number,
    heightOut: number,
    widthOut: number,
    top: number,
    left: number,
    r0: number,
    r1: number,
  ): void;
  conv2d_forward_lists(
    geom: number,
    x: number,
    w: number,
    bias: number,
    y: number,
    lists: number,
    stride: number,
    r0: number,
    r1: number,
  ): void;
  conv2d_weights_lists(
    geom: number,
    x: number,
    dy: number,
    dw: number,
    lists: number,
    stride: number,
    columns: number,
    f0: number,
    f1: number,
  ): void;
  conv2d_input(geom: number, dy: number, w: number, dx: number, r0: number, r1: number): void;
  conv2d_flip(geom: number, w: number, wt: number): void;
  im2col(geom: number, x: number, cols: number, r0: number, r1: number): void;
  col2im(geom: number, cols: number, dx: number, r0: number, r1: number): void;
  depthwise_forward(
    geom: number,
    x: number,
    w: number,
    bias: number,
    y: number,
    r0: number,
    r1: number,
  ): void;
  depthwise_flip(geom: number, w: number, wt: number): void;
  depthwise_input(geom: number, dy: number, w: number, dx: number, r0: number, r1: number): void;
  depthwise_weights(geom: number, x: number, dy: number, dw: number, o0: number, o1: number): void;
  channel_sums(x: number, sums: number, m: number, n: number, j0: number, j1: number): void;
  max_pool_forward(geom: number, x: number, y: number, r0: number, r1: number): void;
  max_pool_backward(geom: number, x: number, y: number, dy: number, dx: number, n0: number, n1: number): void;
  avg_pool_forward(geom: number, x: number, y: number, r0: number, r1: number): void;
  avg_pool_backward(geom: number, dy: number, dx: number, n0: number, n1: number): void;
  channel_moments(
    x: number,
    m: number,
    c: number,
    mean: number,
    variance: number,
    c0: number,
    c1: number,
  ): void;
  bn_normalize(
    x: number,
    mean: number,
    inv: number,
    gamma: number,
    beta: number,
    xhat: number,
    y: number,
    c: number,
    i0: number,
    i1: number,
  ): void;
  bn_sums(
    dy: number,
    xhat: number,
    m: number,
    c: number,
    sumDy: number,
    sumDyXhat: number,
    c0: number,
    c1: number,
  ): void;
  channel_affine(
    x: number,
    scale: number,
    offset: number,
    xhat: number,
    slope: number,
    y: number,
    c: number,
    i0: number,
    i1: number,
  ): void;
  relu_forward(
    x: number,
    y: number,
    i0: number,
    i1: number,
    maxValue: number,
    slope: number,
    threshold: number,
  ): void;
  relu_backward(
    x: number,
    dy: number,
    dx: number,
    i0: number,
    i1: number,
    maxValue: number,
    slope: number,
    threshold: number,
  ): void;
}

/** The exports of the kernels module (all pointers are byte offsets into the shared memory). */
export interface KernelExports extends ConvExports {
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
  optimizer_update(desc: number, param: number, grad: number, slots: number, i0: number, i1: number): void;
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
