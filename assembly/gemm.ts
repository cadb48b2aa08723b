// The three products of a dense layer, blocked and packed the way BLAS libraries do it, for any shape.
// All pointers are byte offsets into the shared memory; matrices are row-major float32.
//
//   forward  z = x·w + bias   A = x (m×k), B = w (k×n)        split by columns of z
//   dW       dw = xᵀ·dz       A = xᵀ (k×m), B = dz (m×n)      split by rows of dw
//   dX       dx = dz·wᵀ       A = dz (m×n), B = wᵀ (n×k)      split by columns of dx
//
// `product` computes any block C[i0..i1, j0..j1) of C = init + A·B. The depth runs in blocks of at most
// KC steps (their sizes depend on the depth only); rows in blocks of MC, in groups of 6 (the tile
// height); columns in panels of 32. Per depth block and row block it classifies each group of rows,
// dense or sparse, and copies A where its layout would alias in the caches; per panel it either reads B
// in place (few rows of C, and rows of B whose stride does not alias in L1) or copies the panel (kc × 32,
// transposed for wᵀ) into scratch, where it stays in L1 while every group streams through it. A sparse
// group (mostly zeros, like images and ReLU outputs) runs one row at a time over that row's non-zero A
// values only.
//
// Every element of C is one chain of multiply-adds in depth order from its bias (or 0): a later depth
// block continues from what the previous one stored, and a skipped zero term would have left the sum
// unchanged (0·b adds +0, and the reference skips such terms too). Which tile, block, copy or thread
// computes an element never changes its bits; the choices that could in a corner case (−0 sums, an
// infinite weight times a zero input) depend only on the shape and the data: the depth blocks, the
// groups (fixed from row 0: callers split rows at multiples of 6), dense or sparse. So 1 and N threads
// give identical results.
//
// Entry points (exported by assembly/index.ts; pointers are byte offsets, sizes in elements). Every product
// takes a `scratch` region (required, never 0) of gemm_scratch_bytes(rows, depth) bytes that no other call
// uses at the same time: when a product is split over threads, the plan's region of the thread running the
// chunk (assembly/step.ts: header words 4–5, base and bytes per thread). A split boundary must fall where noted, so that the bits never depend on it.
//
//   gemm_forward(x, w, bias, z, m, k, n, j0, j1, scratch)
//       z[:, j0..j1) = x·w (+ bias, 0 for none); x m×k, w k×n. j0 a multiple of 8.
//       scratch: gemm_scratch_bytes(m, k).
//   gemm_forward_part(x, w, bias, z, m, k, n, p0, p1, scratch)
//       z = x[:, p0..p1)·w[p0..p1, :] (+ bias), all columns: one part of a forward product split over the
//       depth (the parts are then summed with add_partial). scratch: gemm_scratch_bytes(m, p1 − p0).
//   gemm_weights(x, dz, dw, m, k, n, p0, p1, scratch)
//       dw[p0..p1, :] = (xᵀ·dz)[p0..p1, :]; x m×k, dz m×n, dw k×n, written (not accumulated). p0 a multiple
//       of 6. scratch: gemm_scratch_bytes(p1 − p0, m).
//   gemm_input(dz, w, dx, m, k, n, p0, p1, scratch)
//       dx[:, p0..p1) = dz·wᵀ; dz m×n, w k×n, dx m×k. p0 a multiple of 8. Below 48 rows (m) it runs as dot
//       products and leaves scratch alone. scratch: gemm_scratch_bytes(m, n).
//   gemm_scratch_bytes(rows, depth) → bytes of scratch for `rows` rows of C over `depth` (< 1 MiB for any
//       shape at the default tunables; 0 when either is ≤ 0).
//   gemm_tune(which, value) → the previous value: sets a tunable (0 KC, 1 MC, 2 SPARSE_PER_MILLE,
//       3 DIRECT_B, 4 PACK_A, 5 BLOCK_PANELS, 6 TOUCH_C). Speed only, never results; it changes
//       gemm_scratch_bytes. For benchmarks and tests; not thread-safe (call it with no product running).
//   column_sums(dz, db, m, n)       db = Σ_rows dz (the bias gradient).
//   add_partial(z, partial, length) z += partial (the second part of a depth-split forward product).
//
// Changes since 41ff6df (the 3×3-tile kernels): the signatures are the same except gemm_input, which gained
// `scratch` (9th argument); scratch is now required for every product (0 used to mean "no zero-skipping")
// and sized by gemm_scratch_bytes (abi.ts's forwardScratchBytes/weightsScratchBytes are gone); split units
// changed: forward and dX columns 4 → 8, dW rows 3 → 6 (the plans' SGD and optimizer ops split a matrix
// at the same 6-row boundaries; a fused backward chunk doing both dX and dW splits W's rows by 24); gemm_scratch_bytes and gemm_tune are new.

import { tile, copyEdge, FROM_ZERO, FROM_BIAS, FROM_C, LISTED } from './tiles';
import { LANES_FIRST, laneMask, storeLanes, N1, N2, N3, N4, N5, N6, N7, N8 } from './simd';
import { dotProducts } from './dot';

/** Columns of a B panel. */
export const PANEL: i32 = 32;
/**
 * Panels copied per sweep over B's rows: 512 contiguous bytes a row rather than 128, so that a wide B
 * (4096 columns: a 16 KiB row stride) costs a quarter of the TLB misses and its rows stream.
 */
let BLOCK_PANELS: i32 = 4;
/** Bytes per depth step of a copied B panel. */
const PANEL_STEP: usize = 128;
/** Rows per group: the height of the dense tiles. */
const GROUP: i32 = 6;
/** Bytes of a group's header: its mode, then up to 6 row counts. */
const HEADER: usize = 32;
/** Bytes of the edge buffer (a tile of up to 6 rows × 32 columns at the matrix's right edge). */
const EDGE: usize = 6 * 128;
const DENSE: i32 = 0;
const SPARSE: i32 = 1;

// Tunables: globals, so that benchmarks can try other values (gemm_tune) without a rebuild.
/** Largest depth block. */
let KC: i32 = 256;
/** Largest row block (a multiple of 6). */
let MC: i32 = 384;
/** A group runs sparse when at most this fraction (per mille) of its A values is non-zero. */
let SPARSE_PER_MILLE: i32 = 650;
/** B is read in place (when its row stride does not alias in L1) for at most this many rows of C. */
let DIRECT_B: i32 = 64;
/** dX runs as dot products below this many rows (see gemm_input). */
const DOT_ROWS: i32 = 48;
/** 1: load the next group's lines of C ahead of its tiles (later depth blocks). */
let TOUCH_C: i32 = 1;
/** 0: never copy A; 1: when its layout aliases in the caches; 2: also every row-major A. */
let PACK_A: i32 = 1;

/**
 * Sets a tunable and returns its previous value: 0 KC, 1 MC, 2 SPARSE_PER_MILLE, 3 DIRECT_B, 4 PACK_A,
 * 5 BLOCK_PANELS, 6 TOUCH_C. For benchmarks and tests; the results never change, only the speed (and
 * gemm_scratch_bytes).
 */
export function gemm_tune(which: i32, value: i32): i32 {
  let old = 0;
  if (which == 0) {
    old = KC;
    KC = max(4, value & ~3);
  } else if (which == 1) {
    old = MC;
    MC = max(6, value - (value % 6));
  } else if (which == 2) {
    old = SPARSE_PER_MILLE;
    SPARSE_PER_MILLE = value;
  } else if (which == 3) {
    old = DIRECT_B;
    DIRECT_B = value;
  } else if (which == 4) {
    old = PACK_A;
    PACK_A = value;
  } else if (which == 5) {
    old = BLOCK_PANELS;
    BLOCK_PANELS = max(1, value);
  } else if (which == 6) {
    old = TOUCH_C;
    TOUCH_C = value;
  }
  return old;
}

/**
 * The depth block: ⌈depth/KC⌉ blocks of equal size (rounded up to 4), so that a 784-deep product runs
 * as 4 × 196 rather than 3 × 256 + 16. A function of the depth alone.
 */
// @ts-ignore: decorator
@inline
function blockDepth(depth: i32): i32 {
  const blocks = (depth + KC - 1) / KC;
  return (((depth + blocks - 1) / blocks + 3) >> 2) << 2;
}

/** Bytes of scratch one call of a product needs for `rows` rows of C and this depth (see abi.ts). */
export function gemm_scratch_bytes(rows: i32, depth: i32): i32 {
  if (rows <= 0 || depth <= 0) return 0;
  const kc = blockDepth(depth);
  const groups = (min(rows, MC) + GROUP - 1) / GROUP;
  const panels = BLOCK_PANELS * (kc + 4) * <i32>PANEL_STEP;
  return <i32>EDGE + groups * <i32>HEADER + groups * GROUP * kc * 8 + panels;
}

/** True when rows `stride` bytes apart spread over L1's sets (64 sets of 64-byte lines). */
// @ts-ignore: decorator
@inline
function friendly(stride: usize): bool {
  return (stride & 127) != 0;
}

/** Non-zero values among n floats `step` bytes apart (−0 counts as zero, as in the reference). */
function countNonZero(p: usize, step: usize, n: i32): i32 {
  if (step != 4) {
    let count = 0;
    for (let t = 0; t < n; t++) {
      count += i32((load<u32>(p) << 1) != 0);
      p += step;
    }
    return count;
  }
  // Lanes of f32x4.ne are −1 where non-zero: subtracting them counts, four lanes at a time.
  const zero = f32x4.splat(0);
  let acc0 = i32x4.splat(0);
  let acc1 = acc0;
  let t = 0;
  for (; t + 8 <= n; t += 8) {
    const q = p + ((<usize>t) << 2);
    acc0 = i32x4.sub(acc0, f32x4.ne(v128.load(q), zero));
    acc1 = i32x4.sub(acc1, f32x4.ne(v128.load(q, 16), zero));
  }
  for (; t < n; t += 4) {
    const nonzero = v128.and(f32x4.ne(v128.load(p + ((<usize>t) << 2)), zero), laneMask(n - t));
    acc0 = i32x4.sub(acc0, nonzero);
  }
  const acc = i32x4.add(acc0, acc1);
  return i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
}

/**
 * Non-zero values of each row of a block of A whose rows are adjacent floats (xᵀ in dW: row r of the
 * block is column r of x, step t its row t), `rows` ≤ 6 rows from `a`, into `counts` (6 int32s).
 */
function countColumns(a: usize, step: usize, rows: i32, n: i32, counts: usize): void {
  // Four columns at a time, down the steps; the last vector's lanes past `rows` are masked off.
  const zero = f32x4.splat(0);
  const mask0 = laneMask(rows);
  const mask1 = laneMask(rows - 4);
  let acc0 = i32x4.splat(0);
  let acc1 = acc0;
  let p = a;
  for (let t = 0; t < n; t++) {
    acc0 = i32x4.sub(acc0, v128.and(f32x4.ne(v128.load(p), zero), mask0));
    if (rows > 4) acc1 = i32x4.sub(acc1, v128.and(f32x4.ne(v128.load64_zero(p, 16), zero), mask1));
    p += step;
  }
  v128.store(counts, acc0);
  v128.store64_lane(counts, acc1, 0, 16);
}

/**
 * The entries of one sparse row: for each non-zero A value (n of them, `step` bytes apart), the value and
 * the byte offset of its B row (t·bStep). Returns the count. Branch-free: on a contiguous row, four values
 * at a time, moved together by a table of shuffles, both entry vectors stored whole and the write position
 * advanced past the non-zero ones (the stores stay inside the row's n·8 bytes, as count ≤ t); elsewhere,
 * one value at a time the same way.
 */
function listRow(p: usize, step: usize, n: i32, bStep: usize, entries: usize): i32 {
  let count = 0;
  let t = 0;
  if (step == 4) {
    const zero = f32x4.splat(0);
    const s = <i32>bStep;
    let offsets = i32x4(0, s, 2 * s, 3 * s);
    const advance = i32x4.splat(4 * s);
    for (; t + 4 <= n; t += 4) {
      const values = v128.load(p + ((<usize>t) << 2));
      const bits = i32x4.bitmask(f32x4.ne(values, zero));
      const order = v128.load(LANES_FIRST + ((<usize>bits) << 4));
      const v = i8x16.swizzle(values, order);
      const o = i8x16.swizzle(offsets, order);
      const e = entries + ((<usize>count) << 3);
      v128.store(e, i32x4.shuffle(v, o, 0, 4, 1, 5));
      v128.store(e, i32x4.shuffle(v, o, 2, 6, 3, 7), 16);
      count += <i32>popcnt(bits);
      offsets = i32x4.add(offsets, advance);
    }
    p += (<usize>t) << 2;
  }
  let offset: usize = <usize>t * bStep;
  for (; t < n; t++) {
    const bits = load<u32>(p);
    const e = entries + ((<usize>count) << 3);
    store<u32>(e, bits);
    store<u32>(e, <u32>offset, 4);
    count += i32((bits << 1) != 0);
    offset += bStep;
    p += step;
  }
  return count;
}

/**
 * Copies a group of A: row-major rows (aStep = 4) row by row, kc·4 bytes apart; or, when A's rows are
 * adjacent floats (aRow = 4), `rows` floats per step, rows·4 bytes a step.
 */
function packGroup(a: usize, aRow: usize, step: usize, rows: i32, kc: i32, to: usize): void {
  if (aRow != 4) {
    const rowBytes = (<usize>kc) << 2;
    for (let r = 0; r < rows; r++) {
      const from = a + <usize>r * aRow;
      const d = to + <usize>r * rowBytes;
      let o: usize = 0;
      for (; o + 16 <= rowBytes; o += 16) v128.store(d + o, v128.load(from + o));
      for (; o < rowBytes; o += 4) store<u32>(d + o, load<u32>(from + o));
    }
    return;
  }
  const bytes = (<usize>rows) << 2;
  if (rows == GROUP) {
    for (let t = 0; t < kc; t++) {
      v128.store(to, v128.load(a));
      v128.store64_lane(to, v128.load64_zero(a, 16), 0, 16);
      a += step;
      to += bytes;
    }
    return;
  }
  for (let t = 0; t < kc; t++) {
    for (let r = 0; r < rows; r++) store<u32>(to + ((<usize>r) << 2), load<u32>(a + ((<usize>r) << 2)));
    a += step;
    to += bytes;
  }
}

/**
 * Copies B[t, j] for t < kc, j < w (≤ 32·BLOCK_PANELS) into panels of 32 columns, `panelBytes` apart,
 * 128 bytes a step, row by row of B.
 */
function copyB(b: usize, bStep: usize, kc: i32, w: i32, panels: usize, panelBytes: usize): void {
  const vectors = (w + 3) >> 2;
  for (let t = 0; t < kc; t++) {
    const from = b + <usize>t * bStep;
    const to = panels + <usize>t * PANEL_STEP;
    let v = 0;
    for (; v + 8 <= vectors; v += 8) {
      const f = from + ((<usize>v) << 4);
      const d = to + <usize>(v >> 3) * panelBytes;
      v128.store(d, v128.load(f));
      v128.store(d, v128.load(f, 16), 16);
      v128.store(d, v128.load(f, 32), 32);
      v128.store(d, v128.load(f, 48), 48);
      v128.store(d, v128.load(f, 64), 64);
      v128.store(d, v128.load(f, 80), 80);
      v128.store(d, v128.load(f, 96), 96);
      v128.store(d, v128.load(f, 112), 112);
    }
    const d = to + <usize>(v >> 3) * panelBytes;
    for (let u = 0; v < vectors; v++, u++) v128.store(d + ((<usize>u) << 4), v128.load(from + ((<usize>v) << 4)));
  }
}

/** Transposes B[t, j] = b[t·4 + j·bCol] for t < kc, j < w ≤ 32 into a panel, 128 bytes a step. */
function transposeB(b: usize, bCol: usize, kc: i32, w: i32, panel: usize): void {
  // Column j of B is a contiguous row (of w in dX). Four such rows at a time, four depth steps at a time,
  // through a 4×4 transpose; rows past w are zeros (they may not exist).
  const zero = f32x4.splat(0);
  for (let j = 0; j < w; j += 4) {
    const r0 = b + <usize>j * bCol;
    const rows = w - j;
    const to = panel + ((<usize>j) << 2);
    for (let t = 0; t < kc; t += 4) {
      const o = (<usize>t) << 2;
      const x0 = v128.load(r0 + o);
      const x1 = rows > 1 ? v128.load(r0 + bCol + o) : zero;
      const x2 = rows > 2 ? v128.load(r0 + 2 * bCol + o) : zero;
      const x3 = rows > 3 ? v128.load(r0 + 3 * bCol + o) : zero;
      const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
      const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
      const d = to + <usize>t * PANEL_STEP;
      v128.store(d, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(d + PANEL_STEP, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(d + 2 * PANEL_STEP, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(d + 3 * PANEL_STEP, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
  }
}

/**
 * One row over a panel of w ≤ 32 columns: dense (TL = N1) or over its entries (TL = LISTED). A w that is
 * not a multiple of 4 (the matrix's right edge) goes through the edge buffer at `edgeBuffer`.
 */
function rowTile<TL>(
  a: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  depth: i32,
  c: usize,
  init: i32,
  bias: usize,
  w: i32,
  edgeBuffer: usize,
): void {
  const vectors = (w + 3) >> 2;
  const edge: usize = (w & 3) != 0 ? edgeBuffer : 0;
  if (vectors >= 8) tile<N1, N8, TL>(a, 0, aStep, b, bStep, depth, c, 0, init, bias, edge);
  else if (vectors == 7) tile<N1, N7, TL>(a, 0, aStep, b, bStep, depth, c, 0, init, bias, edge);
  else if (vectors == 6) tile<N1, N6, TL>(a, 0, aStep, b, bStep, depth, c, 0, init, bias, edge);
  else if (vectors == 5) tile<N1, N5, TL>(a, 0, aStep, b, bStep, depth, c, 0, init, bias, edge);
  else if (vectors == 4) tile<N1, N4, TL>(a, 0, aStep, b, bStep, depth, c, 0, init, bias, edge);
  else if (vectors == 3) tile<N1, N3, TL>(a, 0, aStep, b, bStep, depth, c, 0, init, bias, edge);
  else if (vectors == 2) tile<N1, N2, TL>(a, 0, aStep, b, bStep, depth, c, 0, init, bias, edge);
  else tile<N1, N1, TL>(a, 0, aStep, b, bStep, depth, c, 0, init, bias, edge);
  if (edge != 0) copyEdge(edge, c, 0, 1, w);
}

/** Two rows over 16 ≥ w columns (edges as in rowTile). */
function pairTile(
  a: usize,
  aRow: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  depth: i32,
  c: usize,
  cRow: usize,
  init: i32,
  bias: usize,
  w: i32,
  edgeBuffer: usize,
): void {
  const vectors = (w + 3) >> 2;
  const edge: usize = (w & 3) != 0 ? edgeBuffer : 0;
  if (vectors >= 4) tile<N2, N4, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
  else if (vectors == 3) tile<N2, N3, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
  else if (vectors == 2) tile<N2, N2, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
  else tile<N2, N1, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
  if (edge != 0) copyEdge(edge, c, cRow, 2, w);
}

/** R (4..6) rows over 8 ≥ w columns (edges as in rowTile). */
function tallTile(
  rows: i32,
  a: usize,
  aRow: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  depth: i32,
  c: usize,
  cRow: usize,
  init: i32,
  bias: usize,
  w: i32,
  edgeBuffer: usize,
): void {
  const edge: usize = (w & 3) != 0 ? edgeBuffer : 0;
  if (w > 4) {
    if (rows == 6) tile<N6, N2, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
    else if (rows == 5) tile<N5, N2, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
    else tile<N4, N2, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
  } else {
    if (rows == 6) tile<N6, N1, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
    else if (rows == 5) tile<N5, N1, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
    else tile<N4, N1, N1>(a, aRow, aStep, b, bStep, depth, c, cRow, init, bias, edge);
  }
  if (edge != 0) copyEdge(edge, c, cRow, rows, w);
}

/** A dense group of `rows` (1..6) rows over one panel of w ≤ 32 columns. */
function denseGroup(
  rows: i32,
  a: usize,
  aRow: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  depth: i32,
  c: usize,
  cRow: usize,
  init: i32,
  bias: usize,
  w: i32,
  edge: usize,
): void {
  if (rows >= 4) {
    for (let q = 0; q < w; q += 8) {
      const o = (<usize>q) << 2;
      const bq: usize = bias == 0 ? 0 : bias + o;
      tallTile(rows, a, aRow, aStep, b + o, bStep, depth, c + o, cRow, init, bq, min(8, w - q), edge);
    }
    return;
  }
  if (rows >= 2) {
    for (let h = 0; h < w; h += 16) {
      const o = (<usize>h) << 2;
      const bh: usize = bias == 0 ? 0 : bias + o;
      pairTile(a, aRow, aStep, b + o, bStep, depth, c + o, cRow, init, bh, min(16, w - h), edge);
    }
    if (rows == 3) rowTile<N1>(a + 2 * aRow, aStep, b, bStep, depth, c + 2 * cRow, init, bias, w, edge);
    return;
  }
  rowTile<N1>(a, aStep, b, bStep, depth, c, init, bias, w, edge);
}

/**
 * C[i0..i1, j0..j1) = init + A·B over `depth`, where A(i, t) is at `a + i·aRow + t·aStep`, B(t, j) at
 * `b + t·bStep + j·bCol` (bCol = 4, or bStep = 4 for a transposed B), C(i, j) at `c + i·cRow + 4j`, and
 * init is the bias row (`bias + 4j`) or 0. `skip` lets groups of mostly-zero rows of A run sparse.
 * `scratch` holds gemm_scratch_bytes(i1 − i0, depth) bytes.
 */
function product(
  a: usize,
  aRow: usize,
  aStep: usize,
  b: usize,
  bStep: usize,
  bCol: usize,
  bias: usize,
  c: usize,
  cRow: usize,
  i0: i32,
  i1: i32,
  j0: i32,
  j1: i32,
  depth: i32,
  skip: bool,
  scratch: usize,
): void {
  if (i1 <= i0 || j1 <= j0) return;
  if (depth <= 0) {
    fill(bias, c, cRow, i0, i1, j0, j1);
    return;
  }
  const kcb = blockDepth(depth);
  const direct = bCol == 4 && i1 - i0 <= DIRECT_B && friendly(bStep);
  // A is copied (its dense groups; sparse ones have their entries) when its layout aliases in the caches:
  // xᵀ in dW, read a step per row of x, interleaved 6 values a step; x or dz row-major with a row stride
  // that is a multiple of 128 bytes (a 4096-wide x: every row of a block in the same L2 sets), row by row.
  const packA = PACK_A != 0 ? (aRow == 4 ? !friendly(aStep) : !friendly(aRow) || PACK_A > 1) : false;
  const rowsA = aRow != 4;
  const panelStep = direct ? bStep : PANEL_STEP;
  const groupsMax = (min(i1 - i0, MC) + GROUP - 1) / GROUP;
  const entriesPerGroup = <usize>(GROUP * kcb) << 3;
  const edge = scratch;
  const headers = scratch + EDGE;
  const entries = headers + <usize>groupsMax * HEADER;
  const panels = entries + <usize>groupsMax * entriesPerGroup;
  const panelBytes = <usize>(kcb + 4) * PANEL_STEP;
  let touched = f32x4.splat(0);
  for (let pc = 0; pc < depth; pc += kcb) {
    const kc = min(kcb, depth - pc);
    const init = pc > 0 ? FROM_C : bias != 0 ? FROM_BIAS : FROM_ZERO;
    for (let ic = i0; ic < i1; ic += MC) {
      const mc = min(MC, i1 - ic);
      const ab = a + <usize>ic * aRow + <usize>pc * aStep;
      const groups = (mc + GROUP - 1) / GROUP;
      if (skip) {
        for (let g = 0; g < groups; g++) {
          const rows = min(GROUP, mc - g * GROUP);
          const ag = ab + <usize>(g * GROUP) * aRow;
          const header = headers + <usize>g * HEADER;
          let total = 0;
          if (aRow == 4) {
            // The group's rows are adjacent floats: count them together, a step at a time.
            countColumns(ag, aStep, rows, kc, header + 4);
            for (let r = 0; r < rows; r++) total += load<i32>(header + 4 + ((<usize>r) << 2));
          } else {
            for (let r = 0; r < rows; r++) total += countNonZero(ag + <usize>r * aRow, aStep, kc);
          }
          if (total * 1000 <= rows * kc * SPARSE_PER_MILLE) {
            store<i32>(header, SPARSE);
            const eg = entries + <usize>g * entriesPerGroup;
            for (let r = 0; r < rows; r++) {
              const er = eg + ((<usize>(r * kc)) << 3);
              store<i32>(header + 4 + ((<usize>r) << 2), listRow(ag + <usize>r * aRow, aStep, kc, panelStep, er));
            }
          } else {
            store<i32>(header, DENSE);
            if (packA) packGroup(ag, aRow, aStep, rows, kc, entries + <usize>g * entriesPerGroup);
          }
        }
      } else if (packA) {
        for (let g = 0; g < groups; g++) {
          const rows = min(GROUP, mc - g * GROUP);
          const ag = ab + <usize>(g * GROUP) * aRow;
          packGroup(ag, aRow, aStep, rows, kc, entries + <usize>g * entriesPerGroup);
        }
      }
      for (let jc = j0; jc < j1; jc += PANEL) {
        const w = min(PANEL, j1 - jc);
        let bp = b + <usize>pc * bStep + <usize>jc * bCol;
        if (!direct) {
          // A block of panels is copied at its first panel; a transposed B, panel by panel.
          const slot = ((jc - j0) / PANEL) % BLOCK_PANELS;
          if (bCol != 4) transposeB(bp, bCol, kc, w, panels);
          else if (slot == 0) copyB(bp, bStep, kc, min(PANEL * BLOCK_PANELS, j1 - jc), panels, panelBytes);
          bp = bCol != 4 ? panels : panels + <usize>slot * panelBytes;
        }
        const cj = c + ((<usize>jc) << 2);
        const biasj: usize = bias == 0 ? 0 : bias + ((<usize>jc) << 2);
        for (let g = 0; g < groups; g++) {
          const rows = min(GROUP, mc - g * GROUP);
          const first = ic + g * GROUP;
          const cg = cj + <usize>first * cRow;
          if (init == FROM_C && TOUCH_C != 0 && g + 1 < groups) {
            // The next group's tiles start from C, which a large C has long evicted: ask for its lines
            // now (one load per line, results kept), so that they arrive while this group computes.
            const next = cg + <usize>GROUP * cRow;
            const lastRow = min(GROUP, mc - (g + 1) * GROUP);
            for (let r = 0; r < lastRow; r++) {
              const line = next + <usize>r * cRow;
              touched = v128.or(touched, v128.load(line));
              if (w > 16) touched = v128.or(touched, v128.load(line, 64));
            }
          }
          if (skip && load<i32>(headers + <usize>g * HEADER) == SPARSE) {
            const header = headers + <usize>g * HEADER;
            const eg = entries + <usize>g * entriesPerGroup;
            for (let r = 0; r < rows; r++) {
              const count = load<i32>(header + 4 + ((<usize>r) << 2));
              const er = eg + ((<usize>(r * kc)) << 3);
              rowTile<LISTED>(er, 8, bp, 0, count, cg + <usize>r * cRow, init, biasj, w, edge);
            }
          } else if (packA) {
            const ag = entries + <usize>g * entriesPerGroup;
            const pRow: usize = rowsA ? (<usize>kc) << 2 : 4;
            const pStep: usize = rowsA ? 4 : (<usize>rows) << 2;
            denseGroup(rows, ag, pRow, pStep, bp, panelStep, kc, cg, cRow, init, biasj, w, edge);
          } else {
            const ag = ab + <usize>(g * GROUP) * aRow;
            denseGroup(rows, ag, aRow, aStep, bp, panelStep, kc, cg, cRow, init, biasj, w, edge);
          }
        }
      }
    }
  }
  // Kept, so that no compiler drops the loads that bring C's lines in early.
  v128.store(edge, touched);
}

/** C[i0..i1, j0..j1) = the bias row, or 0 (a product over an empty depth). */
function fill(bias: usize, c: usize, cRow: usize, i0: i32, i1: i32, j0: i32, j1: i32): void {
  for (let i = i0; i < i1; i++) {
    const row = c + <usize>i * cRow;
    for (let j = j0; j < j1; j += 4) {
      const o = (<usize>j) << 2;
      storeLanes(row + o, bias == 0 ? f32x4.splat(0) : v128.load(bias + o), j1 - j);
    }
  }
}

/**
 * z[:, j0..j1) = x·w (+ bias) for x m×k, w k×n; j0 a multiple of 8 (whole tiles: any split of the columns
 * gives the same bits). Scratch (required): gemm_scratch_bytes(m, k) bytes, a region no other call uses
 * at the same time.
 */
export function gemm_forward(
  x: usize,
  w: usize,
  bias: usize,
  z: usize,
  m: i32,
  k: i32,
  n: i32,
  j0: i32,
  j1: i32,
  scratch: usize,
): void {
  const k4 = (<usize>k) << 2;
  const n4 = (<usize>n) << 2;
  product(x, k4, 4, w, n4, 4, bias, z, n4, 0, m, j0, j1, k, true, scratch);
}

/**
 * z = x[:, p0..p1)·w[p0..p1, :] (+ bias) for x m×k, w k×n: the product over a range of the depth, all
 * columns (a wide-input forward product computed as two such parts, added after: see index.ts).
 * Scratch (required): gemm_scratch_bytes(m, p1 − p0).
 */
export function gemm_forward_part(
  x: usize,
  w: usize,
  bias: usize,
  z: usize,
  m: i32,
  k: i32,
  n: i32,
  p0: i32,
  p1: i32,
  scratch: usize,
): void {
  const k4 = (<usize>k) << 2;
  const n4 = (<usize>n) << 2;
  const xp = x + ((<usize>p0) << 2);
  const wp = w + <usize>p0 * n4;
  product(xp, k4, 4, wp, n4, 4, bias, z, n4, 0, m, 0, n, p1 - p0, true, scratch);
}

/**
 * dw[p0..p1, :] = (xᵀ·dz)[p0..p1, :] for x m×k, dz m×n, dw k×n; written, not accumulated. Split by rows
 * of dw (p0 a multiple of 6, so that the groups of rows, and with them every dense-or-sparse decision,
 * are the same whatever the split). Scratch (required): gemm_scratch_bytes(p1 − p0, m).
 */
export function gemm_weights(
  x: usize,
  dz: usize,
  dw: usize,
  m: i32,
  k: i32,
  n: i32,
  p0: i32,
  p1: i32,
  scratch: usize,
): void {
  const k4 = (<usize>k) << 2;
  const n4 = (<usize>n) << 2;
  product(x, 4, k4, dz, n4, 4, 0, dw, n4, p0, p1, 0, n, m, true, scratch);
}

/**
 * dx[:, p0..p1) = dz·wᵀ for dz m×n, w k×n, dx m×k: wᵀ's panels are transposed into scratch
 * (gemm_scratch_bytes(m, n) bytes). Below 48 rows the transposition costs more than it saves, and dot
 * products along w's rows run instead (a different summation order: the choice depends on m alone, so
 * every split of the columns gives the same bits).
 */
export function gemm_input(
  dz: usize,
  w: usize,
  dx: usize,
  m: i32,
  k: i32,
  n: i32,
  p0: i32,
  p1: i32,
  scratch: usize,
): void {
  if (m < DOT_ROWS) {
    dotProducts(dz, w, dx, m, k, n, p0, p1);
    return;
  }
  const k4 = (<usize>k) << 2;
  const n4 = (<usize>n) << 2;
  product(dz, n4, 4, w, 4, n4, 0, dx, k4, 0, m, p0, p1, n, false, scratch);
}

/** db = Σ_rows dz (n floats), vector columns, rows in order. */
export function column_sums(dz: usize, db: usize, m: i32, n: i32): void {
  const n4 = (<usize>n) << 2;
  for (let j = 0; j < n; j += 4) {
    let acc = f32x4.splat(0);
    let p = dz + ((<usize>j) << 2);
    for (let i = 0; i < m; i++) {
      acc = f32x4.add(acc, v128.load(p));
      p += n4;
    }
    storeLanes(db + ((<usize>j) << 2), acc, n - j);
  }
}

/** z[0..length) += partial[0..length) (the second part of a depth-split forward product). */
export function add_partial(z: usize, partial: usize, length: i32): void {
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(z + o, f32x4.add(v128.load(z + o), v128.load(partial + o)));
  }
  for (; i < length; i++) {
    const o = (<usize>i) << 2;
    store<f32>(z + o, load<f32>(z + o) + load<f32>(partial + o));
  }
}
