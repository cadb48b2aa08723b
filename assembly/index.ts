// Entry point of the kernels module. Each kernel is its own export (the JS side calls them directly for
// work that stays on one thread), and `run_chunk` runs one chunk of a task described in the shared
// control block, which is how both threads split a large product. The module imports a shared memory and
// owns none of it beyond its (tiny) static data: the JS side allocates every buffer.

import { gemm_forward, gemm_forward_part, gemm_weights } from './gemm';
import { activation_backward, activation_block, sgd_update, SOFTMAX } from './elementwise';
import { gemm_input } from './gemm';
import {
  add_arrays,
  zero_pad,
  avg_pool_backward,
  avg_pool_forward,
  bn_normalize,
  bn_sums,
  channel_affine,
  channel_moments,
  channel_sums,
  col2im,
  conv2d_forward,
  conv2d_forward_lists,
  conv2d_input,
  conv2d_weights,
  conv2d_weights_lists,
  depthwise_forward,
  depthwise_input,
  depthwise_weights,
  im2col,
  max_pool_backward,
  max_pool_forward,
  nonzero_channels,
  relu_backward,
  relu_forward,
} from './conv';
import { optimizer_update } from './optimizers';

export {
  gemm_forward,
  gemm_forward_part,
  add_partial,
  gemm_weights,
  gemm_input,
  column_sums,
  gemm_scratch_bytes,
  gemm_tune,
} from './gemm';
export {
  activation_block,
  softmax_rows,
  activation_backward,
  softmax_backward,
  sgd_update,
  sum_of_squares,
  scale,
  first_non_finite,
  gather_rows,
} from './elementwise';
export { loss, count_correct } from './loss';
export {
  add_arrays,
  zero_pad,
  conv2d_forward,
  conv2d_forward_lists,
  conv2d_weights,
  conv2d_weights_lists,
  nonzero_channels,
  conv2d_input,
  conv2d_flip,
  im2col,
  col2im,
  depthwise_forward,
  depthwise_input,
  depthwise_flip,
  depthwise_weights,
  channel_sums,
  max_pool_forward,
  max_pool_backward,
  avg_pool_forward,
  avg_pool_backward,
  relu_forward,
  relu_backward,
  channel_moments,
  bn_normalize,
  bn_sums,
  channel_affine,
} from './conv';
export { optimizer_update } from './optimizers';

// Task codes in the control block (word 0), shared with src/kernels/wasm/abi.ts.
const TASK_FORWARD: i32 = 1;
const TASK_WEIGHTS: i32 = 2;
const TASK_INPUT: i32 = 3;
const TASK_SGD: i32 = 4;
const TASK_FORWARD_PART: i32 = 5;
const TASK_OPTIMIZER: i32 = 6;
const TASK_RANGE: i32 = 7;

// Kernels of TASK_RANGE (word 2), shared with RANGE in src/kernels/wasm/abi.ts.
const R_CONV_FORWARD: i32 = 0;
const R_CONV_WEIGHTS: i32 = 1;
const R_CONV_INPUT: i32 = 2;
const R_IM2COL: i32 = 3;
const R_COL2IM: i32 = 4;
const R_DEPTHWISE_FORWARD: i32 = 5;
const R_DEPTHWISE_INPUT: i32 = 6;
const R_DEPTHWISE_WEIGHTS: i32 = 7;
const R_CHANNEL_SUMS: i32 = 8;
const R_MAX_POOL_FORWARD: i32 = 9;
const R_MAX_POOL_BACKWARD: i32 = 10;
const R_AVG_POOL_FORWARD: i32 = 11;
const R_AVG_POOL_BACKWARD: i32 = 12;
const R_RELU_FORWARD: i32 = 13;
const R_RELU_BACKWARD: i32 = 14;
const R_CHANNEL_MOMENTS: i32 = 15;
const R_BN_NORMALIZE: i32 = 16;
const R_BN_SUMS: i32 = 17;
const R_CHANNEL_AFFINE: i32 = 18;
const R_GEMM_FORWARD: i32 = 19;
const R_ACTIVATION_FORWARD: i32 = 20;
const R_ACTIVATION_BACKWARD: i32 = 21;
const R_NONZERO_CHANNELS: i32 = 22;
const R_CONV_FORWARD_LISTS: i32 = 23;
const R_CONV_WEIGHTS_LISTS: i32 = 24;
const R_ADD: i32 = 25;
const R_ZERO_PAD: i32 = 26;

/** End of this module's static data: the JS allocator must start above it. */
export function heap_base(): usize {
  return __heap_base;
}

// @ts-ignore: decorator
@inline
function arg(ctrl: usize, index: i32): i32 {
  return load<i32>(ctrl + 8 + ((<usize>index) << 2));
}

// @ts-ignore: decorator
@inline
function chunkStart(c: i32, chunks: i32, total: i32, align: i32): i32 {
  const units = (total + align - 1) / align;
  return min(total, ((units * c) / chunks) * align);
}

/**
 * The scratch region of chunk `c` (copied panels, sparse rows): words 14 and 15 hold the base and the bytes
 * per chunk, so chunks that run at the same time never share one. The products require it.
 */
// @ts-ignore: decorator
@inline
function scratchOf(ctrl: usize, c: i32): usize {
  const base = <usize>arg(ctrl, 12);
  return base == 0 ? 0 : base + <usize>c * <usize>arg(ctrl, 13);
}

/**
 * Runs chunk `c` of the task in the control block at `ctrl`: word 0 the task, word 1 the number of chunks,
 * words 2.. the integer arguments, float64 arguments at byte 64. A split never changes any element's
 * arithmetic; boundaries fall on whole vectors (forward, dX), at a depth fixed by the shape (a wide
 * forward product's two parts, added after the task on one thread or two alike), whole 6-row groups (dW,
 * and the SGD step of a matrix, split at the same row as its gradient), or whole cache lines (other SGD
 * steps).
 */
export function run_chunk(ctrl: usize, c: i32): void {
  const task = load<i32>(ctrl);
  const chunks = load<i32>(ctrl, 4);
  if (task == TASK_RANGE) {
    // Word 2 the kernel, 3 the range's length, 4 the unit its chunk boundaries fall on, 5.. its arguments.
    const total = arg(ctrl, 1);
    const unit = arg(ctrl, 2);
    runRange(ctrl, arg(ctrl, 0), c, chunkStart(c, chunks, total, unit), chunkStart(c + 1, chunks, total, unit));
  } else if (task == TASK_FORWARD) {
    const m = arg(ctrl, 5);
    const k = arg(ctrl, 6);
    const n = arg(ctrl, 7);
    const act = arg(ctrl, 8);
    // Whole 8-column tiles, not whole 32-column panels: 300 columns split 144/156 rather than 160/140.
    const j0 = chunkStart(c, chunks, n, 8);
    const j1 = chunkStart(c + 1, chunks, n, 8);
    const z = <usize>arg(ctrl, 3);
    const scratch = scratchOf(ctrl, c);
    gemm_forward(<usize>arg(ctrl, 0), <usize>arg(ctrl, 1), <usize>arg(ctrl, 2), z, m, k, n, j0, j1, scratch);
    if (act != SOFTMAX) activation_block(act, z, <usize>arg(ctrl, 4), m, n, j0, j1);
  } else if (task == TASK_FORWARD_PART) {
    // Chunk 0: depth [0, split) with the bias into z; chunk 1: [split, k) into the partial buffer (word 9).
    const k = arg(ctrl, 6);
    const split = arg(ctrl, 10);
    const x = <usize>arg(ctrl, 0);
    const w = <usize>arg(ctrl, 1);
    const m = arg(ctrl, 5);
    const n = arg(ctrl, 7);
    if (c == 0) gemm_forward_part(x, w, <usize>arg(ctrl, 2), <usize>arg(ctrl, 3), m, k, n, 0, split, scratchOf(ctrl, 0));
    else gemm_forward_part(x, w, 0, <usize>arg(ctrl, 9), m, k, n, split, k, scratchOf(ctrl, 1));
  } else if (task == TASK_WEIGHTS) {
    const k = arg(ctrl, 4);
    // Whole groups of 6 rows: the same groups, and dense-or-sparse decisions, whatever the split.
    const p0 = chunkStart(c, chunks, k, 6);
    const p1 = chunkStart(c + 1, chunks, k, 6);
    gemm_weights(
      <usize>arg(ctrl, 0),
      <usize>arg(ctrl, 1),
      <usize>arg(ctrl, 2),
      arg(ctrl, 3),
      k,
      arg(ctrl, 5),
      p0,
      p1,
      scratchOf(ctrl, c),
    );
  } else if (task == TASK_INPUT) {
    const k = arg(ctrl, 4);
    const p0 = chunkStart(c, chunks, k, 8);
    const p1 = chunkStart(c + 1, chunks, k, 8);
    const dx = <usize>arg(ctrl, 2);
    gemm_input(<usize>arg(ctrl, 0), <usize>arg(ctrl, 1), dx, arg(ctrl, 3), k, arg(ctrl, 5), p0, p1, scratchOf(ctrl, c));
  } else if (task == TASK_SGD) {
    const length = arg(ctrl, 3);
    const rowLength = arg(ctrl, 5);
    const param = <usize>arg(ctrl, 0);
    const grad = <usize>arg(ctrl, 1);
    const velocity = <usize>arg(ctrl, 2);
    const lr = load<f64>(ctrl, 64);
    const momentum = load<f64>(ctrl, 72);
    const nesterov = arg(ctrl, 4);
    if (rowLength > 0) {
      // A weight matrix: split at the same row as its gradient's product (whole rows, units of 6), so each
      // thread updates rows already in its cache, and no cache line but one is written by both.
      const rows = length / rowLength;
      const i0 = chunkStart(c, chunks, rows, 6) * rowLength;
      const i1 = chunkStart(c + 1, chunks, rows, 6) * rowLength;
      sgd_update(param, grad, velocity, lr, momentum, nesterov, i0, i1);
    } else {
      sgd_update(param, grad, velocity, lr, momentum, nesterov, chunkStart(c, chunks, length, 16), chunkStart(c + 1, chunks, length, 16));
    }
  } else if (task == TASK_OPTIMIZER) {
    // optimizer_update (assembly/optimizers.ts) over this chunk's elements, split as TASK_SGD splits.
    const length = arg(ctrl, 4);
    const rowLength = arg(ctrl, 5);
    let i0: i32, i1: i32;
    if (rowLength > 0) {
      const rows = length / rowLength;
      // Whole groups of 6 rows, as dW's product split them (see TASK_SGD).
      i0 = chunkStart(c, chunks, rows, 6) * rowLength;
      i1 = chunkStart(c + 1, chunks, rows, 6) * rowLength;
    } else {
      i0 = chunkStart(c, chunks, length, 16);
      i1 = chunkStart(c + 1, chunks, length, 16);
    }
    optimizer_update(<usize>arg(ctrl, 0), <usize>arg(ctrl, 1), <usize>arg(ctrl, 2), <usize>arg(ctrl, 3), i0, i1);
  }
}

/** Argument `index` of a range task (after its kernel, length and unit). */
// @ts-ignore: decorator
@inline
function rangeArg(ctrl: usize, index: i32): i32 {
  return arg(ctrl, 3 + index);
}

// @ts-ignore: decorator
@inline
function rangePointer(ctrl: usize, index: i32): usize {
  return <usize>arg(ctrl, 3 + index);
}

/**
 * One chunk [lo, hi) of a range task: the kernel of assembly/conv.ts (or an element-wise one) over that
 * sub-range of its output rows, images, weight rows, channels or elements. Each such kernel writes every element
 * of its range from its own inputs only (see conv.ts), so the split never changes a bit.
 */
function runRange(ctrl: usize, kernel: i32, chunk: i32, lo: i32, hi: i32): void {
  if (lo >= hi) return;
  switch (kernel) {
    case R_CONV_FORWARD:
      conv2d_forward(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangePointer(ctrl, 2),
        rangePointer(ctrl, 3),
        rangePointer(ctrl, 4),
        rangePointer(ctrl, 5),
        lo,
        hi,
      );
      break;
    case R_CONV_WEIGHTS:
      conv2d_weights(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), rangePointer(ctrl, 3), lo, hi);
      break;
    case R_CONV_INPUT:
      conv2d_input(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), rangePointer(ctrl, 3), lo, hi);
      break;
    case R_IM2COL:
      im2col(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), lo, hi);
      break;
    case R_COL2IM:
      col2im(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), lo, hi);
      break;
    case R_DEPTHWISE_FORWARD:
      depthwise_forward(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangePointer(ctrl, 2),
        rangePointer(ctrl, 3),
        rangePointer(ctrl, 4),
        lo,
        hi,
      );
      break;
    case R_DEPTHWISE_INPUT:
      depthwise_input(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), rangePointer(ctrl, 3), lo, hi);
      break;
    case R_DEPTHWISE_WEIGHTS:
      depthwise_weights(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), rangePointer(ctrl, 3), lo, hi);
      break;
    case R_CHANNEL_SUMS:
      channel_sums(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangeArg(ctrl, 2), rangeArg(ctrl, 3), lo, hi);
      break;
    case R_MAX_POOL_FORWARD:
      max_pool_forward(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), lo, hi);
      break;
    case R_MAX_POOL_BACKWARD:
      max_pool_backward(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangePointer(ctrl, 2),
        rangePointer(ctrl, 3),
        rangePointer(ctrl, 4),
        lo,
        hi,
      );
      break;
    case R_AVG_POOL_FORWARD:
      avg_pool_forward(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), lo, hi);
      break;
    case R_AVG_POOL_BACKWARD:
      avg_pool_backward(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), lo, hi);
      break;
    case R_RELU_FORWARD:
      relu_forward(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        lo,
        hi,
        reinterpret<f32>(rangeArg(ctrl, 2)),
        reinterpret<f32>(rangeArg(ctrl, 3)),
        reinterpret<f32>(rangeArg(ctrl, 4)),
      );
      break;
    case R_RELU_BACKWARD:
      relu_backward(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangePointer(ctrl, 2),
        lo,
        hi,
        reinterpret<f32>(rangeArg(ctrl, 3)),
        reinterpret<f32>(rangeArg(ctrl, 4)),
        reinterpret<f32>(rangeArg(ctrl, 5)),
      );
      break;
    case R_CHANNEL_MOMENTS:
      channel_moments(
        rangePointer(ctrl, 0),
        rangeArg(ctrl, 1),
        rangeArg(ctrl, 2),
        rangePointer(ctrl, 3),
        rangePointer(ctrl, 4),
        lo,
        hi,
      );
      break;
    case R_BN_NORMALIZE:
      bn_normalize(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangePointer(ctrl, 2),
        rangePointer(ctrl, 3),
        rangePointer(ctrl, 4),
        rangePointer(ctrl, 5),
        rangePointer(ctrl, 6),
        rangeArg(ctrl, 7),
        lo,
        hi,
      );
      break;
    case R_BN_SUMS:
      bn_sums(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangeArg(ctrl, 2),
        rangeArg(ctrl, 3),
        rangePointer(ctrl, 4),
        rangePointer(ctrl, 5),
        lo,
        hi,
      );
      break;
    case R_CHANNEL_AFFINE:
      channel_affine(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangePointer(ctrl, 2),
        rangePointer(ctrl, 3),
        rangePointer(ctrl, 4),
        rangePointer(ctrl, 5),
        rangeArg(ctrl, 6),
        lo,
        hi,
      );
      break;
    case R_GEMM_FORWARD: {
      // Columns [lo, hi) of z = x·w + b (lo a multiple of 8: the unit must be 8); each chunk has its own
      // scratch region (argument 7: base, argument 8: bytes per chunk, at least gemm_scratch_bytes(m, k)).
      const scratch: usize = rangePointer(ctrl, 7) + <usize>chunk * <usize>rangeArg(ctrl, 8);
      gemm_forward(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangePointer(ctrl, 2),
        rangePointer(ctrl, 3),
        rangeArg(ctrl, 4),
        rangeArg(ctrl, 5),
        rangeArg(ctrl, 6),
        lo,
        hi,
        scratch,
      );
      break;
    }
    case R_NONZERO_CHANNELS:
      nonzero_channels(rangePointer(ctrl, 0), rangeArg(ctrl, 1), rangePointer(ctrl, 2), rangeArg(ctrl, 3), lo, hi);
      break;
    case R_CONV_FORWARD_LISTS:
      conv2d_forward_lists(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangePointer(ctrl, 2),
        rangePointer(ctrl, 3),
        rangePointer(ctrl, 4),
        rangePointer(ctrl, 5),
        rangeArg(ctrl, 6),
        lo,
        hi,
      );
      break;
    case R_CONV_WEIGHTS_LISTS:
      conv2d_weights_lists(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangePointer(ctrl, 2),
        rangePointer(ctrl, 3),
        rangePointer(ctrl, 4),
        rangeArg(ctrl, 5),
        rangePointer(ctrl, 6),
        lo,
        hi,
      );
      break;
    case R_ADD:
      add_arrays(rangePointer(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), lo, hi);
      break;
    case R_ZERO_PAD:
      zero_pad(
        rangePointer(ctrl, 0),
        rangePointer(ctrl, 1),
        rangeArg(ctrl, 2),
        rangeArg(ctrl, 3),
        rangeArg(ctrl, 4),
        rangeArg(ctrl, 5),
        rangeArg(ctrl, 6),
        rangeArg(ctrl, 7),
        rangeArg(ctrl, 8),
        lo,
        hi,
      );
      break;
    case R_ACTIVATION_FORWARD:
      // Elements [lo, hi) of y = f(z), the flat buffers as one row.
      activation_block(rangeArg(ctrl, 0), rangePointer(ctrl, 1), rangePointer(ctrl, 2), 1, rangeArg(ctrl, 3), lo, hi);
      break;
    case R_ACTIVATION_BACKWARD: {
      const o = (<usize>lo) << 2;
      activation_backward(
        rangeArg(ctrl, 0),
        rangePointer(ctrl, 1) + o,
        rangePointer(ctrl, 2) + o,
        rangePointer(ctrl, 3) + o,
        rangePointer(ctrl, 4) + o,
        hi - lo,
      );
      break;
    }
  }
}
