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
 * Kernels of the range op (`OP.range`): one of the sub-range kernels of assembly/conv.ts (or an
 * element-wise one), split over its output rows, images, weight rows, channels or elements. The phase
 * record's words are the kernel, the range's length, the unit chunk boundaries fall on, then the kernel's
 * arguments before its range. Keep in step with `R_*` in assembly/range.ts.
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
  convWinograd: 27,
  convWeightsColumns: 28,
  nonzeroEntries: 29,
  convForwardEntries: 30,
} as const;

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
  softmax: 6,
  forwardParts: 7,
  addActivate: 8,
  /** A range kernel (conv.ts, element-wise passes): words kernel ({@link RANGE}), length, unit, arguments. */
  range: 9,
  /** `optimizer_update` over a variable: words descriptor, param, grad, slots, length, row length. */
  optimizer: 10,
} as const;

/**
 * Where a Dense layer's forward product is computed in two parts over the depth (then added): from this input
 * width on, with more than 8 outputs, and at most {@link DEPTH_SPLIT_MAX_WEIGHTS} weights. A rule of the shape
 * only, so that the sums are the same for every batch size and thread count; the split row is
 * {@link depthSplit}.
 */
export const DEPTH_SPLIT_FROM = 256;
/**
 * Weights (floats) above which the forward product is split by columns instead: a matrix this large no longer
 * stays in the cores' caches between steps, so the depth split's reason is gone, and every element is then one
 * chain of multiply-adds from its bias.
 */
export const DEPTH_SPLIT_MAX_WEIGHTS = 1 << 18;

/** Whether a k→n Dense layer's forward product is computed in two parts (see {@link DEPTH_SPLIT_FROM}). */
export function splitsByDepth(k: number, n: number): boolean {
  return k >= DEPTH_SPLIT_FROM && n > 8 && k * n <= DEPTH_SPLIT_MAX_WEIGHTS;
}

/**
 * The units a split GEMM product's chunk boundaries fall on (assembly/gemm.ts), so that its bits never depend
 * on the split: `columns` of z (forward) and of dx (dX), `rows` of dW (its 6-row groups) and of a batch split
 * by rows (a group's rows are fixed from row 0); `backward` when one chunk computes both dX and dW over the same
 * rows of W (the fused step: a chunk must update only rows of W its own dX read), their least common multiple.
 */
export const GEMM_UNITS = { columns: 8, rows: 6, backward: 24 } as const;

/**
 * The row of W where a depth-split product's second part starts: the boundary of the first of two dW (and
 * update) chunks, whole 6-row groups (`chunkStart(1, 2, k, 6)` in assembly/step.ts).
 */
export function depthSplit(k: number): number {
  return Math.floor(Math.ceil(k / GEMM_UNITS.rows) / 2) * GEMM_UNITS.rows;
}

/** Kinds of update records (how a parameter is updated inside a step). */
export const UPDATE = { none: 0, chain: 2 } as const;

/**
 * Bytes of one entry of an update chain (`UPDATE.chain`, assembly/step.ts): the optimizer descriptor
 * ({@link OPTIMIZER_DESCRIPTOR}), three slot addresses at byte 64, the param address at byte 80 and the
 * grad address at byte 84.
 */
export const CHAIN_ENTRY_BYTES = 96;

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
  sgdFma: 21,
  sgdMomentumFma: 22,
  sgdNesterovFma: 23,
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
 * | 8–63 | the step's scalars: float32 scalar i at byte 8 + 4i (SCALE: a float64 at byte 8) |
 *
 * Scalars and slots per kind (the fields of the matching `…Step` of `src/kernels/kernels.ts`, in order):
 *
 * | kind | scalars | slots[0], [1], [2] |
 * | --- | --- | --- |
 * | sgd, sgdMomentum, sgdNesterov (and their …Fma twins: one `relaxed_madd` per `x + α·y`, where it fuses) | learningRate, momentum | velocity (not sgd) |
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
 * The plan op {@link OP}.optimizer runs it over the threads: integer arguments desc, param, grad,
 * slots, length, rowLength (as the SGD op: chunks end on whole 6-row groups of a matrix whose dW product
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

/**
 * Words of a geometry block: {@link GEOMETRY_WORDS}, then a flag for a ReLU (1: the forward kernels
 * conv2d_forward and conv2d_winograd apply it to what they store; max_pool_backward routes only positive maxima).
 */
export const GEOMETRY_BLOCK_WORDS = GEOMETRY_WORDS.length + 1;

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
  conv2d_weights_columns(geom: number, x: number, dy: number, dw: number, j0: number, j1: number): void;
  conv2d_winograd(
    geom: number,
    x: number,
    u: number,
    bias: number,
    y: number,
    zeros: number,
    scratch: number,
    t0: number,
    t1: number,
  ): void;
  winograd_filters(geom: number, w: number, u: number): void;
  nonzero_entries(
    x: number,
    c: number,
    width: number,
    f4: number,
    entries: number,
    starts: number,
    r0: number,
    r1: number,
  ): void;
  conv2d_forward_entries(
    geom: number,
    w: number,
    bias: number,
    y: number,
    entries: number,
    starts: number,
    r0: number,
    r1: number,
  ): void;
  winograd_scratch_bytes(channels: number): number;
  winograd_filter_bytes(channels: number, filters: number): number;
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
  optimizer_update(desc: number, param: number, grad: number, slots: number, i0: number, i1: number): void;
  madd_probe(a: number, b: number, c: number): number;
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
