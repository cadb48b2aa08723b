// The range kernels of the pool (op OP_RANGE of assembly/step.ts): one of the sub-range kernels of
// assembly/conv.ts, or an element-wise one, over a chunk [lo, hi) of its output rows, images, weight rows,
// channels or elements. The phase record's words 2.. hold the kernel, the range's length, the unit chunk
// boundaries fall on, then the kernel's arguments before its range (RANGE in src/kernels/wasm/abi.ts).

import { gemm_forward } from './gemm';
import { activation_backward, activation_block } from './elementwise';
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
  conv2d_weights_columns,
  conv2d_winograd,
  conv2d_forward_entries,
  nonzero_entries,
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

// Kernels of the range op (record word 2), shared with RANGE in src/kernels/wasm/abi.ts.
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
const R_CONV_WINOGRAD: i32 = 27;
const R_CONV_WEIGHTS_COLUMNS: i32 = 28;
const R_NONZERO_ENTRIES: i32 = 29;
const R_CONV_FORWARD_ENTRIES: i32 = 30;

/** Argument `index` of a range task (after its kernel, length and unit: record words 2 to 4). */
// @ts-ignore: decorator
@inline
function rangeWord(ctrl: usize, index: i32): usize {
  return <usize>load<i32>(ctrl + 20 + ((<usize>index) << 2));
}

/** A word that holds the bits of an f32. */
// @ts-ignore: decorator
@inline
function bits(word: usize): f32 {
  return reinterpret<f32>(<i32>word);
}

/**
 * One chunk [lo, hi) of a range task: the kernel of assembly/conv.ts (or an element-wise one) over that
 * sub-range of its output rows, images, weight rows, channels or elements. Each such kernel writes every element
 * of its range from its own inputs only (see conv.ts), so the split never changes a bit. `scratch` is the GEMM
 * scratch region of the thread running the chunk (the plan's, indexed by thread: no other chunk uses it now).
 */
export function run_range(ctrl: usize, kernel: i32, scratch: usize, lo: i32, hi: i32): void {
  if (lo >= hi) return;
  // The arguments, read once: a record is 128 bytes (PHASE_BYTES in step.ts), so all nine words exist, and the
  // kernels take each as a pointer or, cast, as a count or the bits of an f32.
  const a0 = rangeWord(ctrl, 0), a1 = rangeWord(ctrl, 1), a2 = rangeWord(ctrl, 2);
  const a3 = rangeWord(ctrl, 3), a4 = rangeWord(ctrl, 4), a5 = rangeWord(ctrl, 5);
  const a6 = rangeWord(ctrl, 6), a7 = rangeWord(ctrl, 7), a8 = rangeWord(ctrl, 8);
  switch (kernel) {
    case R_CONV_FORWARD:
      conv2d_forward(a0, a1, a2, a3, a4, a5, lo, hi);
      break;
    case R_CONV_WEIGHTS:
      conv2d_weights(a0, a1, a2, a3, lo, hi);
      break;
    case R_CONV_INPUT:
      conv2d_input(a0, a1, a2, a3, lo, hi);
      break;
    case R_IM2COL:
      im2col(a0, a1, a2, lo, hi);
      break;
    case R_COL2IM:
      col2im(a0, a1, a2, lo, hi);
      break;
    case R_DEPTHWISE_FORWARD:
      depthwise_forward(a0, a1, a2, a3, a4, lo, hi);
      break;
    case R_DEPTHWISE_INPUT:
      depthwise_input(a0, a1, a2, a3, lo, hi);
      break;
    case R_DEPTHWISE_WEIGHTS:
      depthwise_weights(a0, a1, a2, a3, lo, hi);
      break;
    case R_CHANNEL_SUMS:
      channel_sums(a0, a1, <i32>a2, <i32>a3, lo, hi);
      break;
    case R_MAX_POOL_FORWARD:
      max_pool_forward(a0, a1, a2, lo, hi);
      break;
    case R_MAX_POOL_BACKWARD:
      max_pool_backward(a0, a1, a2, a3, a4, lo, hi);
      break;
    case R_AVG_POOL_FORWARD:
      avg_pool_forward(a0, a1, a2, lo, hi);
      break;
    case R_AVG_POOL_BACKWARD:
      avg_pool_backward(a0, a1, a2, lo, hi);
      break;
    case R_RELU_FORWARD:
      relu_forward(a0, a1, lo, hi, bits(a2), bits(a3), bits(a4));
      break;
    case R_RELU_BACKWARD:
      relu_backward(a0, a1, a2, lo, hi, bits(a3), bits(a4), bits(a5));
      break;
    case R_CHANNEL_MOMENTS:
      channel_moments(a0, <i32>a1, <i32>a2, a3, a4, lo, hi);
      break;
    case R_BN_NORMALIZE:
      bn_normalize(a0, a1, a2, a3, a4, a5, a6, <i32>a7, lo, hi);
      break;
    case R_BN_SUMS:
      bn_sums(a0, a1, <i32>a2, <i32>a3, a4, a5, lo, hi);
      break;
    case R_CHANNEL_AFFINE:
      channel_affine(a0, a1, a2, a3, a4, a5, <i32>a6, lo, hi);
      break;
    case R_GEMM_FORWARD: {
      // Columns [lo, hi) of z = x·w + b (lo a multiple of 8: the unit must be 8), in this thread's scratch
      // (the plan's regions hold at least gemm_scratch_bytes(m, k) each).
      gemm_forward(a0, a1, a2, a3, <i32>a4, <i32>a5, <i32>a6, lo, hi, scratch);
      break;
    }
    case R_NONZERO_CHANNELS:
      nonzero_channels(a0, <i32>a1, a2, <i32>a3, lo, hi);
      break;
    case R_CONV_FORWARD_LISTS:
      conv2d_forward_lists(a0, a1, a2, a3, a4, a5, <i32>a6, lo, hi);
      break;
    case R_CONV_WEIGHTS_LISTS:
      conv2d_weights_lists(a0, a1, a2, a3, a4, <i32>a5, a6, lo, hi);
      break;
    case R_ADD:
      add_arrays(a0, a1, a2, lo, hi);
      break;
    case R_ZERO_PAD:
      zero_pad(a0, a1, <i32>a2, <i32>a3, <i32>a4, <i32>a5, <i32>a6, <i32>a7, <i32>a8, lo, hi);
      break;
    case R_CONV_WEIGHTS_COLUMNS:
      conv2d_weights_columns(a0, a1, a2, a3, lo, hi);
      break;
    case R_NONZERO_ENTRIES:
      nonzero_entries(a0, <i32>a1, <i32>a2, <i32>a3, a4, a5, lo, hi);
      break;
    case R_CONV_FORWARD_ENTRIES:
      conv2d_forward_entries(a0, a1, a2, a3, a4, a5, lo, hi);
      break;
    case R_CONV_WINOGRAD:
      // Tile rows [lo, hi), V and M in this thread's scratch (winograd_scratch_bytes each).
      conv2d_winograd(a0, a1, a2, a3, a4, a5, scratch, lo, hi);
      break;
    case R_ACTIVATION_FORWARD:
      // Elements [lo, hi) of y = f(z), the flat buffers as one row.
      activation_block(<i32>a0, a1, a2, 1, <i32>a3, lo, hi);
      break;
    case R_ACTIVATION_BACKWARD: {
      const o = (<usize>lo) << 2;
      activation_backward(<i32>a0, a1 + o, a2 + o, a3 + o, a4 + o, hi - lo);
      break;
    }
  }
}
