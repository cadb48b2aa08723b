// Entry point of the kernels module. Each kernel is its own export (the JS side calls them directly for
// work that stays on one thread), and `run_chunk` runs one chunk of a task described in the shared
// control block, which is how both threads split a large product. The module imports a shared memory and
// owns none of it beyond its (tiny) static data: the JS side allocates every buffer.

import { gemm_forward, gemm_forward_part, gemm_weights } from './gemm';
import { activation_block, sgd_update, SOFTMAX } from './elementwise';
import { gemm_input } from './gemm';

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

// Task codes in the control block (word 0), shared with src/kernels/wasm/abi.ts.
const TASK_FORWARD: i32 = 1;
const TASK_WEIGHTS: i32 = 2;
const TASK_INPUT: i32 = 3;
const TASK_SGD: i32 = 4;
const TASK_FORWARD_PART: i32 = 5;

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
 * The zero-skipping scratch of chunk `c`: words 14 and 15 hold its base (0: none) and the bytes per chunk,
 * so chunks that run at the same time never share lists.
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
  if (task == TASK_FORWARD) {
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
  }
}
