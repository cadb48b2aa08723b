// The three products of a dense layer. All pointers are byte offsets into the shared memory; matrices are
// row-major float32. Every kernel computes a range of output columns (dW: of output rows) so that two
// threads can split a product without changing any element's arithmetic: an element's value depends only
// on its own inputs and on the fixed depth order, never on which tile shape or thread produced it.
//
// Tiles follow what V8's register allocator can keep in the 16 xmm registers it hands to wasm: a tile of
// R rows × V vectors holds R·V accumulators, V loaded vectors and R broadcasts, and must fit in 15; the
// 3×3 (3 rows × 12 columns) tile measured fastest here, 4×3 and larger spill and run at half speed.
//
// The forward and dW products skip depth steps whose A values are all zero in a tile (image inputs are
// mostly zeros; so are ReLU outputs), from per-tile index lists built at the start of each call.

import { madd, storeLanes, laneMask, hsum, num, N1, N2, N3, N4 } from './simd';

/** Columns per forward/dW strip: three vectors (a 3×12 tile). */
export const STRIP: i32 = 12;
/** Rows of x whose zero-skipping lists the forward product builds at a time (16 row tiles). */
export const BLOCK_ROWS: i32 = 48;
/** A tile skips zeros only when that drops at least a quarter of its depth (else the dense loop wins). */
// @ts-ignore: decorator
@inline const LIST_WORTH_NUM: i32 = 3;
// @ts-ignore: decorator
@inline const LIST_WORTH_DEN: i32 = 4;

/**
 * One R×V-vector tile of `out = init + A·B` (R = num<TR>() ≤ 3, V = num<TV>() ≤ 3), where A is R×depth
 * (element (r, d) at `a + r·aRow + d·aDepth`) and B is depth×4V (row d at `b + d·bDepth`). Every row
 * starts from the V bias vectors at `bias` (or from 0 when `bias` is 0); only the first `cols` (1..4V)
 * columns are stored. The bias is loaded here, not passed in as vectors: vectors live across the caller's
 * loop would take three of the sixteen registers the tile needs.
 *
 * With TL = N2 the tile runs only over the depth indices in `list` (`count` of them): those where some row
 * of the tile has a non-zero A. A skipped term would have been `acc + 0·b`, which leaves `acc` unchanged
 * (for finite b), so both loops give the same bits; the reference skips zeros the same way.
 *
 * `transposedA` picks the dW layout (A's rows adjacent: constant offsets 4·r) over the forward layout
 * (A's rows `aRow` apart); it is a compile-time constant at every call. Every element is the same chain of
 * multiply-adds in depth order whatever R and V are, which is what keeps thread splits bit-identical.
 */
// @ts-ignore: decorator
@inline
function tile<TR, TV, TL>(
  transposedA: bool,
  a: usize,
  aRow: usize,
  aDepth: usize,
  b: usize,
  bDepth: usize,
  depth: i32,
  list: usize,
  bias: usize,
  out: usize,
  outRow: usize,
  cols: i32,
): void {
  const R = num<TR>();
  const V = num<TV>();
  const listed = num<TL>() == 2;
  let init0 = f32x4.splat(0);
  let init1 = init0;
  let init2 = init0;
  if (bias != 0) {
    init0 = v128.load(bias);
    if (V > 1) init1 = v128.load(bias, 16);
    if (V > 2) init2 = v128.load(bias, 32);
  }
  let c00 = init0, c01 = init1, c02 = init2;
  let c10 = init0, c11 = init1, c12 = init2;
  let c20 = init0, c21 = init1, c22 = init2;
  let ap = a;
  let bp = b;
  for (let t = 0; t < depth; t++) {
    if (listed) {
      const d = <usize>load<i32>(list + ((<usize>t) << 2));
      ap = a + d * aDepth;
      bp = b + d * bDepth;
    }
    const b0 = v128.load(bp);
    const b1 = V > 1 ? v128.load(bp, 16) : b0;
    const b2 = V > 2 ? v128.load(bp, 32) : b0;
    const a0 = v128.load32_splat(ap);
    c00 = madd(a0, b0, c00);
    if (V > 1) c01 = madd(a0, b1, c01);
    if (V > 2) c02 = madd(a0, b2, c02);
    if (R > 1) {
      const a1 = transposedA ? v128.load32_splat(ap, 4) : v128.load32_splat(ap + aRow);
      c10 = madd(a1, b0, c10);
      if (V > 1) c11 = madd(a1, b1, c11);
      if (V > 2) c12 = madd(a1, b2, c12);
    }
    if (R > 2) {
      const a2 = transposedA ? v128.load32_splat(ap, 8) : v128.load32_splat(ap + 2 * aRow);
      c20 = madd(a2, b0, c20);
      if (V > 1) c21 = madd(a2, b1, c21);
      if (V > 2) c22 = madd(a2, b2, c22);
    }
    if (!listed) {
      ap += aDepth;
      bp += bDepth;
    }
  }
  storeRow<TV>(out, c00, c01, c02, cols);
  if (R > 1) storeRow<TV>(out + outRow, c10, c11, c12, cols);
  if (R > 2) storeRow<TV>(out + 2 * outRow, c20, c21, c22, cols);
}

/** Stores the first `cols` columns of a V-vector row (whole vectors with plain stores). */
// @ts-ignore: decorator
@inline
function storeRow<TV>(p: usize, v0: v128, v1: v128, v2: v128, cols: i32): void {
  const V = num<TV>();
  if (cols == V * 4) {
    v128.store(p, v0);
    if (V > 1) v128.store(p, v1, 16);
    if (V > 2) v128.store(p, v2, 32);
  } else {
    storeLanes(p, v0, cols);
    if (V > 1 && cols > 4) storeLanes(p + 16, v1, cols - 4);
    if (V > 2 && cols > 8) storeLanes(p + 32, v2, cols - 8);
  }
}

/**
 * One tile of R = num<TR>() rows, dense or over its zero-skipping list: `lists` holds, per tile, a count
 * (−1: dense) followed by that many depth indices, `stride` bytes per tile.
 */
// @ts-ignore: decorator
@inline
function anyTile<TR, TV>(
  transposedA: bool,
  a: usize,
  aRow: usize,
  aDepth: usize,
  b: usize,
  bDepth: usize,
  depth: i32,
  lists: usize,
  bias: usize,
  out: usize,
  outRow: usize,
  cols: i32,
): void {
  const count = lists == 0 ? -1 : load<i32>(lists);
  if (count < 0) tile<TR, TV, N1>(transposedA, a, aRow, aDepth, b, bDepth, depth, 0, bias, out, outRow, cols);
  else tile<TR, TV, N2>(transposedA, a, aRow, aDepth, b, bDepth, count, lists + 4, bias, out, outRow, cols);
}

/**
 * All `rows` rows of one column strip of V vectors: tiles of 3 rows, then the 1 or 2 rows left. Shared by
 * the forward product (A = x, rows `aRow` apart) and dW (A = xᵀ, rows adjacent). `lists` (0: none) has one
 * entry of `listStride` bytes per tile.
 */
// @ts-ignore: decorator
@inline
function strip<TV>(
  transposedA: bool,
  a: usize,
  aRow: usize,
  aDepth: usize,
  rows: i32,
  b: usize,
  bDepth: usize,
  depth: i32,
  lists: usize,
  listStride: usize,
  bias: usize,
  out: usize,
  outRow: usize,
  cols: i32,
): void {
  let i = 0;
  let l = lists;
  for (; i + 3 <= rows; i += 3) {
    const ai = a + <usize>i * aRow;
    const oi = out + <usize>i * outRow;
    anyTile<N3, TV>(transposedA, ai, aRow, aDepth, b, bDepth, depth, l, bias, oi, outRow, cols);
    if (l != 0) l += listStride;
  }
  const ai = a + <usize>i * aRow;
  const oi = out + <usize>i * outRow;
  if (rows - i == 2) anyTile<N2, TV>(transposedA, ai, aRow, aDepth, b, bDepth, depth, l, bias, oi, outRow, cols);
  else if (rows - i == 1) anyTile<N1, TV>(transposedA, ai, aRow, aDepth, b, bDepth, depth, l, bias, oi, outRow, cols);
}

/**
 * The zero-skipping list of one forward row tile: the depth indices p < k where one of the `rows` rows of
 * x (from `x`, `k4` bytes apart) is non-zero, written after a count at `entry`; the count is −1 (dense)
 * when the list would not save a quarter of the work.
 */
function listForwardTile(x: usize, k4: usize, rows: i32, k: i32, entry: usize): void {
  const zero = f32x4.splat(0);
  const list = entry + 4;
  let count = 0;
  let p = 0;
  for (; p < k; p += 4) {
    const o = (<usize>p) << 2;
    let nonzero = f32x4.ne(v128.load(x + o), zero);
    if (rows > 1) nonzero = v128.or(nonzero, f32x4.ne(v128.load(x + k4 + o), zero));
    if (rows > 2) nonzero = v128.or(nonzero, f32x4.ne(v128.load(x + 2 * k4 + o), zero));
    // Past the end of the rows the lanes are garbage: mask them off.
    const bits = i32x4.bitmask(v128.and(nonzero, laneMask(k - p)));
    // Branch-free append: write every index, advance only over the non-zero ones.
    const at = list + ((<usize>count) << 2);
    store<i32>(at, p);
    count += bits & 1;
    store<i32>(list + ((<usize>count) << 2), p + 1);
    count += (bits >> 1) & 1;
    store<i32>(list + ((<usize>count) << 2), p + 2);
    count += (bits >> 2) & 1;
    store<i32>(list + ((<usize>count) << 2), p + 3);
    count += (bits >> 3) & 1;
  }
  store<i32>(entry, count * LIST_WORTH_DEN <= k * LIST_WORTH_NUM ? count : -1);
}

/**
 * z[:, j0..j1) = x·w (+ bias) for x m×k, w k×n. Per block of 48 rows: first the row tiles' zero-skipping
 * lists (when `scratch` ≠ 0, room for 16·(k + 1) int32s; see abi.ts), then strips of 12 columns outside and row
 * tiles of 3 inside, so a strip of w (k×12 floats) stays in L1 while every row tile streams through it;
 * the last strip narrows to 8 or 4 columns when that is all that is left. Loads may read up to 11 floats
 * past a row of w or bias: the allocator keeps 64 bytes readable past every block's end.
 */
export function small_forward(
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
  const listStride = (<usize>(k + 1)) << 2;
  for (let i0 = 0; i0 < m; i0 += BLOCK_ROWS) {
    const rows = min(BLOCK_ROWS, m - i0);
    const xb = x + <usize>i0 * k4;
    const zb = z + <usize>i0 * n4;
    if (scratch != 0) {
      let entry = scratch;
      for (let i = 0; i < rows; i += 3) {
        listForwardTile(xb + <usize>i * k4, k4, min(3, rows - i), k, entry);
        entry += listStride;
      }
    }
    for (let j = j0; j < j1; j += STRIP) {
      const cols = min(STRIP, j1 - j);
      const jb = (<usize>j) << 2;
      const bj: usize = bias == 0 ? 0 : bias + jb;
      const wj = w + jb;
      const zj = zb + jb;
      if (cols > 8) strip<N3>(false, xb, k4, 4, rows, wj, n4, k, scratch, listStride, bj, zj, n4, cols);
      else if (cols > 4) strip<N2>(false, xb, k4, 4, rows, wj, n4, k, scratch, listStride, bj, zj, n4, cols);
      else strip<N1>(false, xb, k4, 4, rows, wj, n4, k, scratch, listStride, bj, zj, n4, cols);
    }
  }
}

/**
 * dw[p0..p1, :] = (xᵀ·dz)[p0..p1, :] for x m×k, dz m×n, dw k×n; written, not accumulated. Split by ROWS
 * of dw (p0 a multiple of 3): a column split would put a chunk boundary inside a cache line of every row,
 * which both threads then write; by rows each thread also builds only its own zero-skipping lists, and
 * the SGD step on dw splits at the same row (see `run_chunk`), so those rows stay in one core's cache.
 * Tiles of 3 rows of dw (3 adjacent columns of x, broadcast with constant offsets) by 12 columns, the
 * batch as depth. `scratch` (0: dense) has room for ⌈k/3⌉·(m + 1) int32s (see abi.ts).
 */
export function small_weights(
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
  const rows = p1 - p0;
  const xp = x + ((<usize>p0) << 2);
  const dwp = dw + <usize>p0 * n4;
  const listStride = (<usize>(m + 1)) << 2;
  if (scratch != 0) {
    let entry = scratch;
    for (let p = 0; p < rows; p += 3) {
      // Rows i of x where one of columns p..p+2 is non-zero (its magnitude bits, so −0 counts as zero).
      const r = min(3, rows - p);
      const list = entry + 4;
      let count = 0;
      let a = xp + ((<usize>p) << 2);
      for (let i = 0; i < m; i++) {
        let bits = load<u32>(a);
        if (r > 1) bits |= load<u32>(a, 4);
        if (r > 2) bits |= load<u32>(a, 8);
        store<i32>(list + ((<usize>count) << 2), i);
        count += i32((bits << 1) != 0);
        a += k4;
      }
      store<i32>(entry, count * LIST_WORTH_DEN <= m * LIST_WORTH_NUM ? count : -1);
      entry += listStride;
    }
  }
  for (let j = 0; j < n; j += STRIP) {
    const cols = min(STRIP, n - j);
    const jb = (<usize>j) << 2;
    if (cols > 8) strip<N3>(true, xp, 4, k4, rows, dz + jb, n4, m, scratch, listStride, 0, dwp + jb, n4, cols);
    else if (cols > 4) strip<N2>(true, xp, 4, k4, rows, dz + jb, n4, m, scratch, listStride, 0, dwp + jb, n4, cols);
    else strip<N1>(true, xp, 4, k4, rows, dz + jb, n4, m, scratch, listStride, 0, dwp + jb, n4, cols);
  }
}


/**
 * z = x[:, p0..p1)·w[p0..p1, :] (+ bias) for x m×k, w k×n: the product over a range of the depth, all
 * columns. A wide-input layer's forward product is computed as two such parts (split at a fixed depth,
 * `split_depth`), added after: with one thread or two, so the bits are the same either way. Each thread
 * then reads only the rows of w that its dW and SGD chunks write (split at the same row), and the weight
 * matrix never moves between the cores' caches. Scratch as for gemm_forward.
 */
export function small_forward_part(
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
  const depth = p1 - p0;
  const listStride = (<usize>(k + 1)) << 2;
  const xp = x + ((<usize>p0) << 2);
  const wp = w + <usize>p0 * n4;
  for (let i0 = 0; i0 < m; i0 += BLOCK_ROWS) {
    const rows = min(BLOCK_ROWS, m - i0);
    const xb = xp + <usize>i0 * k4;
    const zb = z + <usize>i0 * n4;
    if (scratch != 0) {
      let entry = scratch;
      for (let i = 0; i < rows; i += 3) {
        listForwardTile(xb + <usize>i * k4, k4, min(3, rows - i), depth, entry);
        entry += listStride;
      }
    }
    for (let j = 0; j < n; j += STRIP) {
      const cols = min(STRIP, n - j);
      const jb = (<usize>j) << 2;
      const bj: usize = bias == 0 ? 0 : bias + jb;
      const wj = wp + jb;
      const zj = zb + jb;
      if (cols > 8) strip<N3>(false, xb, k4, 4, rows, wj, n4, depth, scratch, listStride, bj, zj, n4, cols);
      else if (cols > 4) strip<N2>(false, xb, k4, 4, rows, wj, n4, depth, scratch, listStride, bj, zj, n4, cols);
      else strip<N1>(false, xb, k4, 4, rows, wj, n4, depth, scratch, listStride, bj, zj, n4, cols);
    }
  }
}


/**
 * One RI×RP block of dot products for dx = dz·wᵀ: dx[i+r][p+s] = Σ_j dz[i+r][j]·w[p+s][j]. Lanes accumulate
 * j mod 4, the last partial vector masked to zero on both operands (so garbage past the row cannot turn
 * into NaN), then a fixed-order horizontal sum.
 */
// @ts-ignore: decorator
@inline
function dotTile<TI, TP>(dz: usize, w: usize, dx: usize, k: i32, n: i32): void {
  const RI = num<TI>();
  const RP = num<TP>();
  const n4 = (<usize>n) << 2;
  const k4 = (<usize>k) << 2;
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
  let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  const full = n & ~3;
  let o: usize = 0;
  const end = (<usize>full) << 2;
  for (; o < end; o += 16) {
    const a0 = v128.load(dz + o);
    const w0 = v128.load(w + o);
    c00 = madd(a0, w0, c00);
    if (RI > 1) {
      const a1 = v128.load(dz + n4 + o);
      c10 = madd(a1, w0, c10);
      if (RP > 1) {
        const w1 = v128.load(w + n4 + o);
        c01 = madd(a0, w1, c01);
        c11 = madd(a1, w1, c11);
      }
      if (RP > 2) {
        const w2 = v128.load(w + 2 * n4 + o);
        c02 = madd(a0, w2, c02);
        c12 = madd(a1, w2, c12);
      }
      if (RP > 3) {
        const w3 = v128.load(w + 3 * n4 + o);
        c03 = madd(a0, w3, c03);
        c13 = madd(a1, w3, c13);
      }
    } else {
      if (RP > 1) c01 = madd(a0, v128.load(w + n4 + o), c01);
      if (RP > 2) c02 = madd(a0, v128.load(w + 2 * n4 + o), c02);
      if (RP > 3) c03 = madd(a0, v128.load(w + 3 * n4 + o), c03);
    }
  }
  if (full < n) {
    const mask = laneMask(n - full);
    const a0 = v128.and(v128.load(dz + o), mask);
    // Only rows that exist are read: past the last row the padding may be shorter than a row.
    const a1 = RI > 1 ? v128.and(v128.load(dz + n4 + o), mask) : a0;
    const w0 = v128.and(v128.load(w + o), mask);
    c00 = madd(a0, w0, c00);
    if (RI > 1) c10 = madd(a1, w0, c10);
    if (RP > 1) {
      const w1 = v128.and(v128.load(w + n4 + o), mask);
      c01 = madd(a0, w1, c01);
      if (RI > 1) c11 = madd(a1, w1, c11);
    }
    if (RP > 2) {
      const w2 = v128.and(v128.load(w + 2 * n4 + o), mask);
      c02 = madd(a0, w2, c02);
      if (RI > 1) c12 = madd(a1, w2, c12);
    }
    if (RP > 3) {
      const w3 = v128.and(v128.load(w + 3 * n4 + o), mask);
      c03 = madd(a0, w3, c03);
      if (RI > 1) c13 = madd(a1, w3, c13);
    }
  }
  store<f32>(dx, hsum(c00));
  if (RP > 1) store<f32>(dx, hsum(c01), 4);
  if (RP > 2) store<f32>(dx, hsum(c02), 8);
  if (RP > 3) store<f32>(dx, hsum(c03), 12);
  if (RI > 1) {
    store<f32>(dx + k4, hsum(c10));
    if (RP > 1) store<f32>(dx + k4, hsum(c11), 4);
    if (RP > 2) store<f32>(dx + k4, hsum(c12), 8);
    if (RP > 3) store<f32>(dx + k4, hsum(c13), 12);
  }
}

/** dx[:, p0..p1) = dz·wᵀ for dz m×n, w k×n, dx m×k, as 2×4 blocks of dot products. */
export function small_input(dz: usize, w: usize, dx: usize, m: i32, k: i32, n: i32, p0: i32, p1: i32): void {
  const n4 = (<usize>n) << 2;
  const k4 = (<usize>k) << 2;
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const dzi = dz + <usize>i * n4;
    const dxi = dx + <usize>i * k4;
    let p = p0;
    for (; p + 4 <= p1; p += 4) dotTile<N2, N4>(dzi, w + <usize>p * n4, dxi + ((<usize>p) << 2), k, n);
    const rest = p1 - p;
    if (rest == 3) dotTile<N2, N3>(dzi, w + <usize>p * n4, dxi + ((<usize>p) << 2), k, n);
    else if (rest == 2) dotTile<N2, N2>(dzi, w + <usize>p * n4, dxi + ((<usize>p) << 2), k, n);
    else if (rest == 1) dotTile<N2, N1>(dzi, w + <usize>p * n4, dxi + ((<usize>p) << 2), k, n);
  }
  if (i < m) {
    const dzi = dz + <usize>i * n4;
    const dxi = dx + <usize>i * k4;
    let p = p0;
    for (; p + 4 <= p1; p += 4) dotTile<N1, N4>(dzi, w + <usize>p * n4, dxi + ((<usize>p) << 2), k, n);
    const rest = p1 - p;
    if (rest == 3) dotTile<N1, N3>(dzi, w + <usize>p * n4, dxi + ((<usize>p) << 2), k, n);
    else if (rest == 2) dotTile<N1, N2>(dzi, w + <usize>p * n4, dxi + ((<usize>p) << 2), k, n);
    else if (rest == 1) dotTile<N1, N1>(dzi, w + <usize>p * n4, dxi + ((<usize>p) << 2), k, n);
  }
}
