// Micro-kernels of the products: one tile of C = init + A·B over one block of the depth, with every
// accumulator in a register. Every element is one chain of multiply-adds in depth order, started from
// zero, the bias or what C already holds (the previous depth block), so the value of an element never
// depends on the tile shape, the block or the thread that computes it.
//
// Shapes follow what V8 keeps in the 15 xmm registers it allocates: R rows × V vectors with R·V ≤ 12
// accumulators plus the B vectors and one broadcast. Measured on Zen 5 (FMA latency 4, two FMA pipes, so
// eight independent chains keep both pipes busy): 6×2 runs at 95–98 % of the 16 flops/cycle peak, 5×2
// 90–94 %, 4×2 and 2×4 about 90 %, 1×8 over a zero-skipping list about 70 %; 3×3, the old shape, 86 %;
// 4×3 and larger spill and run at half speed.

import { madd, storeLanes, num, N2 } from './simd';

/** The accumulators start from zero (first depth block, no bias). */
export const FROM_ZERO: i32 = 0;
/** The accumulators start from the bias row (first depth block). */
export const FROM_BIAS: i32 = 1;
/** The accumulators start from C: a later depth block continues the chains the previous one stored. */
export const FROM_C: i32 = 2;

/**
 * One tile of R = num<TR>() rows × V = num<TV>() vectors: R ≤ 6 with V ≤ 2, R = 2 with V ≤ 4, or R = 1
 * with V ≤ 8, all 4V columns stored to C, or to `edge` when that is not 0. The loads of B, C and the
 * bias may read up to 3 floats past the columns that exist, which the allocator's guard keeps readable.
 *
 * Dense (TL = N1): depth step t multiplies A(r, t) at `a + r·aRow + t·aStep` by B's row t at
 * `b + t·bStep`. Listed (TL = N2, R = 1 only): `depth` entries of 8 bytes at `a`, each an A value and
 * the byte offset of its B row from `b`: the row's non-zero A values only. A skipped term would have
 * added 0·b, which leaves the sum unchanged, so both give the reference's result (which skips zeros too).
 */
// @ts-ignore: decorator
@inline
export function tile<TR, TV, TL>(
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
  edge: usize,
): void {
  const R = num<TR>();
  const V = num<TV>();
  const listed = num<TL>() == 2;
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00, c04 = c00, c05 = c00, c06 = c00, c07 = c00;
  let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  let c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  if (init != FROM_ZERO) {
    // Row 0 from C or the bias; the other rows from C, or copies of row 0's bias.
    const fromC = init == FROM_C;
    const r0 = fromC ? c : bias;
    c00 = v128.load(r0);
    if (V > 1) c01 = v128.load(r0, 16);
    if (V > 2) c02 = v128.load(r0, 32);
    if (V > 3) c03 = v128.load(r0, 48);
    if (V > 4) c04 = v128.load(r0, 64);
    if (V > 5) c05 = v128.load(r0, 80);
    if (V > 6) c06 = v128.load(r0, 96);
    if (V > 7) c07 = v128.load(r0, 112);
    if (R > 1) {
      const r1 = fromC ? c + cRow : bias;
      c10 = v128.load(r1);
      if (V > 1) c11 = v128.load(r1, 16);
      if (V > 2) c12 = v128.load(r1, 32);
      if (V > 3) c13 = v128.load(r1, 48);
    }
    if (R > 2) {
      const r2 = fromC ? c + 2 * cRow : bias;
      c20 = v128.load(r2);
      if (V > 1) c21 = v128.load(r2, 16);
    }
    if (R > 3) {
      const r3 = fromC ? c + 3 * cRow : bias;
      c30 = v128.load(r3);
      if (V > 1) c31 = v128.load(r3, 16);
    }
    if (R > 4) {
      const r4 = fromC ? c + 4 * cRow : bias;
      c40 = v128.load(r4);
      if (V > 1) c41 = v128.load(r4, 16);
    }
    if (R > 5) {
      const r5 = fromC ? c + 5 * cRow : bias;
      c50 = v128.load(r5);
      if (V > 1) c51 = v128.load(r5, 16);
    }
  }
  let ap = a;
  let bp = b;
  for (let t = 0; t < depth; t++) {
    const a0 = v128.load32_splat(ap);
    if (listed) bp = b + <usize>load<i32>(ap, 4);
    if (R == 1) {
      // Each B vector right before its multiply-add: 8 accumulators, a broadcast and one B vector live.
      c00 = madd(a0, v128.load(bp), c00);
      if (V > 1) c01 = madd(a0, v128.load(bp, 16), c01);
      if (V > 2) c02 = madd(a0, v128.load(bp, 32), c02);
      if (V > 3) c03 = madd(a0, v128.load(bp, 48), c03);
      if (V > 4) c04 = madd(a0, v128.load(bp, 64), c04);
      if (V > 5) c05 = madd(a0, v128.load(bp, 80), c05);
      if (V > 6) c06 = madd(a0, v128.load(bp, 96), c06);
      if (V > 7) c07 = madd(a0, v128.load(bp, 112), c07);
    } else if (R == 2) {
      const a1 = v128.load32_splat(ap + aRow);
      const b0 = v128.load(bp);
      c00 = madd(a0, b0, c00);
      c10 = madd(a1, b0, c10);
      if (V > 1) {
        const b1 = v128.load(bp, 16);
        c01 = madd(a0, b1, c01);
        c11 = madd(a1, b1, c11);
      }
      if (V > 2) {
        const b2 = v128.load(bp, 32);
        c02 = madd(a0, b2, c02);
        c12 = madd(a1, b2, c12);
      }
      if (V > 3) {
        const b3 = v128.load(bp, 48);
        c03 = madd(a0, b3, c03);
        c13 = madd(a1, b3, c13);
      }
    } else {
      // The B vectors first, then one broadcast per row: 12 accumulators, 2 B vectors, 1 broadcast.
      const b0 = v128.load(bp);
      const b1 = V > 1 ? v128.load(bp, 16) : b0;
      c00 = madd(a0, b0, c00);
      if (V > 1) c01 = madd(a0, b1, c01);
      const a1 = v128.load32_splat(ap + aRow);
      c10 = madd(a1, b0, c10);
      if (V > 1) c11 = madd(a1, b1, c11);
      const a2 = v128.load32_splat(ap + 2 * aRow);
      c20 = madd(a2, b0, c20);
      if (V > 1) c21 = madd(a2, b1, c21);
      if (R > 3) {
        const a3 = v128.load32_splat(ap + 3 * aRow);
        c30 = madd(a3, b0, c30);
        if (V > 1) c31 = madd(a3, b1, c31);
      }
      if (R > 4) {
        const a4 = v128.load32_splat(ap + 4 * aRow);
        c40 = madd(a4, b0, c40);
        if (V > 1) c41 = madd(a4, b1, c41);
      }
      if (R > 5) {
        const a5 = v128.load32_splat(ap + 5 * aRow);
        c50 = madd(a5, b0, c50);
        if (V > 1) c51 = madd(a5, b1, c51);
      }
    }
    ap += aStep;
    if (!listed) bp += bStep;
  }
  // Stores without a branch: a run-time column count after the loop makes V8 spill accumulators inside
  // it (measured: half speed). A tile at the matrix's right edge writes whole vectors to `edge` instead
  // (rows 128 bytes apart), and the caller copies the columns that exist.
  const out = edge == 0 ? c : edge;
  const outRow = edge == 0 ? cRow : 128;
  v128.store(out, c00);
  if (V > 1) v128.store(out, c01, 16);
  if (V > 2) v128.store(out, c02, 32);
  if (V > 3) v128.store(out, c03, 48);
  if (V > 4) v128.store(out, c04, 64);
  if (V > 5) v128.store(out, c05, 80);
  if (V > 6) v128.store(out, c06, 96);
  if (V > 7) v128.store(out, c07, 112);
  if (R > 1) {
    const r1 = out + outRow;
    v128.store(r1, c10);
    if (V > 1) v128.store(r1, c11, 16);
    if (V > 2) v128.store(r1, c12, 32);
    if (V > 3) v128.store(r1, c13, 48);
  }
  if (R > 2) {
    v128.store(out + 2 * outRow, c20);
    if (V > 1) v128.store(out + 2 * outRow, c21, 16);
  }
  if (R > 3) {
    v128.store(out + 3 * outRow, c30);
    if (V > 1) v128.store(out + 3 * outRow, c31, 16);
  }
  if (R > 4) {
    v128.store(out + 4 * outRow, c40);
    if (V > 1) v128.store(out + 4 * outRow, c41, 16);
  }
  if (R > 5) {
    v128.store(out + 5 * outRow, c50);
    if (V > 1) v128.store(out + 5 * outRow, c51, 16);
  }
}

/** Copies the first `cols` columns of `rows` rows of an edge tile (rows 128 bytes apart) into C. */
export function copyEdge(edge: usize, c: usize, cRow: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const from = edge + ((<usize>r) << 7);
    const to = c + <usize>r * cRow;
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(to + ((<usize>j) << 2), v128.load(from + ((<usize>j) << 2)));
    if (j < cols) storeLanes(to + ((<usize>j) << 2), v128.load(from + ((<usize>j) << 2)), cols - j);
  }
}

/** True when a listed tile is meant: the type argument that selects it. */
export type LISTED = N2;
