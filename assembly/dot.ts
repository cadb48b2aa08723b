// dX = dz·wᵀ as dot products along the rows of dz and w, for few rows of dz (batch 32): there, copying wᵀ
// into panels for the blocked product (gemm.ts) costs more than it saves. Each element is four lane-wise
// chains over the depth (j mod 4), then a horizontal sum in a fixed order: a different rounding from the
// blocked product's single chain, so gemm_input picks one of the two by the number of rows alone.

import { madd, laneMask, hsum, num, N1, N2, N3, N4 } from './simd';

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
export function dotProducts(dz: usize, w: usize, dx: usize, m: i32, k: i32, n: i32, p0: i32, p1: i32): void {
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
