// Activations (forward and backward), the SGD step and the reductions. Pointers are byte offsets.

import { expm1v, expv, laneMask, storeLanes, hsum, num, N1, N2, N3, N4, N5 } from './simd';

// Activation codes, shared with src/kernels/wasm/abi.ts. RELU..ELU are also the numbers of the type
// arguments N1..N5 that select an activation at compile time (see `num` in simd.ts).
export const LINEAR: i32 = 0;
export const RELU: i32 = 1;
export const SIGMOID: i32 = 2;
export const TANH: i32 = 3;
export const SELU: i32 = 4;
export const ELU: i32 = 5;
export const SOFTMAX: i32 = 6;

// @ts-ignore: decorator
@inline const SELU_ALPHA: f32 = 1.6732632423543772;
// @ts-ignore: decorator
@inline const SELU_SCALE: f32 = 1.0507009873554805;

/** f(v) lane-wise for the element-wise activation whose code is num<TA>(). */
// @ts-ignore: decorator
@inline
export function activate<TA>(v: v128): v128 {
  const ACT = num<TA>();
  if (ACT == RELU) {
    // pmax(0, v) = 0 < v ? v : 0: the reference's `z > 0 ? z : 0`, NaN and −0 included.
    return f32x4.pmax(f32x4.splat(0), v);
  }
  if (ACT == SELU) {
    const negative = f32x4.mul(f32x4.splat(SELU_SCALE * SELU_ALPHA), expm1v(f32x4.min(v, f32x4.splat(0))));
    return v128.bitselect(f32x4.mul(v, f32x4.splat(SELU_SCALE)), negative, f32x4.gt(v, f32x4.splat(0)));
  }
  if (ACT == ELU) {
    return v128.bitselect(v, expm1v(f32x4.min(v, f32x4.splat(0))), f32x4.gt(v, f32x4.splat(0)));
  }
  if (ACT == SIGMOID) {
    // 1/(1+e^−v) for v ≥ 0, e^v/(1+e^v) below: the same split as the reference, no cancellation either way.
    const t = expv(f32x4.neg(f32x4.abs(v)));
    const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), t));
    return v128.bitselect(s, f32x4.mul(t, s), f32x4.ge(v, f32x4.splat(0)));
  }
  if (ACT == TANH) {
    // tanh|v| = e/(e+2) with e = expm1(2|v|): exact relative accuracy near 0; tanh(9) is already 1 in float.
    const a = f32x4.min(f32x4.abs(v), f32x4.splat(9));
    const e = expm1v(f32x4.add(a, a));
    const t = f32x4.div(e, f32x4.add(e, f32x4.splat(2)));
    return v128.or(t, v128.and(v, f32x4.splat(-0.0)));
  }
  return v;
}

// @ts-ignore: decorator
@inline
function activateRows<TA>(z: usize, y: usize, m: i32, stride: i32, j0: i32, j1: i32): void {
  const s4 = (<usize>stride) << 2;
  for (let i = 0; i < m; i++) {
    const zr = z + <usize>i * s4;
    const yr = y + <usize>i * s4;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const o = (<usize>j) << 2;
      v128.store(yr + o, activate<TA>(v128.load(zr + o)));
    }
    if (j < j1) {
      const o = (<usize>j) << 2;
      storeLanes(yr + o, activate<TA>(v128.load(zr + o)), j1 - j);
    }
  }
}

/**
 * y[:, j0..j1) = f(z[:, j0..j1)) over m rows of `stride` floats, for an element-wise activation
 * (`act` ≠ softmax). y may alias z. The tail of each row is stored lane by lane, so columns outside the
 * range (another thread's) are never written.
 */
export function activation_block(act: i32, z: usize, y: usize, m: i32, stride: i32, j0: i32, j1: i32): void {
  // A full-width block is one long row: fewer partial vectors.
  if (j0 == 0 && j1 == stride) {
    j1 = m * stride;
    stride = j1;
    m = 1;
  }
  switch (act) {
    case RELU:
      activateRows<N1>(z, y, m, stride, j0, j1);
      break;
    case SIGMOID:
      activateRows<N2>(z, y, m, stride, j0, j1);
      break;
    case TANH:
      activateRows<N3>(z, y, m, stride, j0, j1);
      break;
    case SELU:
      activateRows<N4>(z, y, m, stride, j0, j1);
      break;
    case ELU:
      activateRows<N5>(z, y, m, stride, j0, j1);
      break;
    default:
      // Linear: a copy, row by row (the block may be a column range of wider rows).
      if (z != y) {
        const s4 = (<usize>stride) << 2;
        const o = (<usize>j0) << 2;
        for (let i = 0; i < m; i++) memory.copy(y + <usize>i * s4 + o, z + <usize>i * s4 + o, (<usize>(j1 - j0)) << 2);
      }
  }
}

/** Row-wise softmax of an m×n block: max, exp(z − max), then division by the row's sum. y may alias z. */
export function softmax_rows(z: usize, y: usize, m: i32, n: i32): void {
  const n4 = (<usize>n) << 2;
  const full = n & ~3;
  const tail = laneMask(n - full);
  const ninf = f32x4.splat(-Infinity);
  for (let i = 0; i < m; i++) {
    const zr = z + <usize>i * n4;
    const yr = y + <usize>i * n4;
    let mx = ninf;
    let j = 0;
    for (; j < full; j += 4) mx = f32x4.max(mx, v128.load(zr + ((<usize>j) << 2)));
    if (full < n) mx = f32x4.max(mx, v128.bitselect(v128.load(zr + ((<usize>j) << 2)), ninf, tail));
    const m2 = f32x4.max(mx, v128.shuffle<f32>(mx, mx, 2, 3, 0, 1));
    const rowMax = f32x4.splat(max(f32x4.extract_lane(m2, 0), f32x4.extract_lane(m2, 1)));
    let sum = f32x4.splat(0);
    for (j = 0; j < full; j += 4) {
      const o = (<usize>j) << 2;
      const e = expv(f32x4.sub(v128.load(zr + o), rowMax));
      v128.store(yr + o, e);
      sum = f32x4.add(sum, e);
    }
    if (full < n) {
      const o = (<usize>j) << 2;
      const e = v128.and(expv(f32x4.sub(v128.load(zr + o), rowMax)), tail);
      storeLanes(yr + o, e, n - full);
      sum = f32x4.add(sum, e);
    }
    const total = f32x4.splat(hsum(sum));
    for (j = 0; j < full; j += 4) {
      const o = (<usize>j) << 2;
      v128.store(yr + o, f32x4.div(v128.load(yr + o), total));
    }
    if (full < n) {
      const o = (<usize>j) << 2;
      storeLanes(yr + o, f32x4.div(v128.load(yr + o), total), n - full);
    }
  }
}

/** dz = dy ⊙ f′(z) lane-wise, as the reference defines f′ through z and y; the activation is num<TA>(). */
// @ts-ignore: decorator
@inline
function derivative<TA>(z: v128, y: v128, dy: v128): v128 {
  const ACT = num<TA>();
  const zero = f32x4.splat(0);
  if (ACT == RELU) return v128.and(dy, f32x4.gt(z, zero));
  if (ACT == SIGMOID) return f32x4.mul(f32x4.mul(dy, y), f32x4.sub(f32x4.splat(1), y));
    // 1 − y² as (1 − y)(1 + y): no cancellation when |y| → 1 (1 − y is exact there).
  if (ACT == TANH) return f32x4.mul(dy, f32x4.mul(f32x4.sub(f32x4.splat(1), y), f32x4.add(f32x4.splat(1), y)));
  if (ACT == SELU) {
    const positive = f32x4.mul(dy, f32x4.splat(SELU_SCALE));
    const negative = f32x4.mul(dy, f32x4.add(y, f32x4.splat(SELU_SCALE * SELU_ALPHA)));
    return v128.bitselect(positive, negative, f32x4.gt(z, zero));
  }
  if (ACT == ELU) {
    return v128.bitselect(dy, f32x4.mul(dy, f32x4.add(y, f32x4.splat(1))), f32x4.gt(z, zero));
  }
  return dy;
}

// @ts-ignore: decorator
@inline
function backwardLoop<TA>(z: usize, y: usize, dy: usize, dz: usize, length: i32): void {
  const end = (<usize>(length & ~3)) << 2;
  let o: usize = 0;
  for (; o < end; o += 16) {
    v128.store(dz + o, derivative<TA>(v128.load(z + o), v128.load(y + o), v128.load(dy + o)));
  }
  if ((length & 3) != 0) {
    storeLanes(dz + o, derivative<TA>(v128.load(z + o), v128.load(y + o), v128.load(dy + o)), length & 3);
  }
}

/** Element-wise activation backward over `length` floats (not softmax). dz may alias dy. */
export function activation_backward(act: i32, z: usize, y: usize, dy: usize, dz: usize, length: i32): void {
  switch (act) {
    case RELU:
      backwardLoop<N1>(z, y, dy, dz, length);
      break;
    case SIGMOID:
      backwardLoop<N2>(z, y, dy, dz, length);
      break;
    case TANH:
      backwardLoop<N3>(z, y, dy, dz, length);
      break;
    case SELU:
      backwardLoop<N4>(z, y, dy, dz, length);
      break;
    case ELU:
      backwardLoop<N5>(z, y, dy, dz, length);
      break;
    default:
      if (dz != dy) memory.copy(dz, dy, (<usize>length) << 2);
  }
}

/** Softmax backward, per row: dz_j = y_j·(dy_j − Σ dy·y). dz may alias dy (the dot is taken first). */
export function softmax_backward(y: usize, dy: usize, dz: usize, m: i32, n: i32): void {
  const n4 = (<usize>n) << 2;
  const full = n & ~3;
  const tail = laneMask(n - full);
  for (let i = 0; i < m; i++) {
    const r = <usize>i * n4;
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j < full; j += 4) {
      const o = r + ((<usize>j) << 2);
      acc = f32x4.add(acc, f32x4.mul(v128.load(dy + o), v128.load(y + o)));
    }
    if (full < n) {
      const o = r + ((<usize>j) << 2);
      acc = f32x4.add(acc, v128.and(f32x4.mul(v128.load(dy + o), v128.load(y + o)), tail));
    }
    const dot = f32x4.splat(hsum(acc));
    for (j = 0; j < full; j += 4) {
      const o = r + ((<usize>j) << 2);
      v128.store(dz + o, f32x4.mul(v128.load(y + o), f32x4.sub(v128.load(dy + o), dot)));
    }
    if (full < n) {
      const o = r + ((<usize>j) << 2);
      storeLanes(dz + o, f32x4.mul(v128.load(y + o), f32x4.sub(v128.load(dy + o), dot)), n - full);
    }
  }
}

/** Σ x² in float64 (two f64 lanes per half-vector); order differs from the reference's, not the precision. */
export function sum_of_squares(x: usize, length: i32): f64 {
  let a = f64x2.splat(0);
  let b = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const v = v128.load(x + ((<usize>i) << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    a = f64x2.add(a, f64x2.mul(lo, lo));
    b = f64x2.add(b, f64x2.mul(hi, hi));
  }
  const s = f64x2.add(a, b);
  let sum = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < length; i++) {
    const v = <f64>load<f32>(x + ((<usize>i) << 2));
    sum += v * v;
  }
  return sum;
}

/** x *= factor, with the product taken in float64 and rounded once, as the reference does. */
export function scale(x: usize, length: i32, factor: f64): void {
  const f = f64x2.splat(factor);
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const o = (<usize>i) << 2;
    const v = v128.load(x + o);
    const lo = f64x2.mul(f64x2.promote_low_f32x4(v), f);
    const hi = f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), f);
    v128.store(x + o, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
  }
  for (; i < length; i++) {
    const o = (<usize>i) << 2;
    store<f32>(x + o, <f32>(<f64>load<f32>(x + o) * factor));
  }
}

/** Index of the first NaN or ±∞, or −1: a vector of v − v is all zeros exactly when every lane is finite. */
export function first_non_finite(x: usize, length: i32): i32 {
  let i = 0;
  for (; i + 16 <= length; i += 16) {
    const p = x + ((<usize>i) << 2);
    const a = v128.load(p);
    const b = v128.load(p, 16);
    const c = v128.load(p, 32);
    const d = v128.load(p, 48);
    const bad = v128.or(
      v128.or(f32x4.ne(f32x4.sub(a, a), f32x4.splat(0)), f32x4.ne(f32x4.sub(b, b), f32x4.splat(0))),
      v128.or(f32x4.ne(f32x4.sub(c, c), f32x4.splat(0)), f32x4.ne(f32x4.sub(d, d), f32x4.splat(0))),
    );
    if (v128.any_true(bad)) break;
  }
  for (; i < length; i++) {
    const v = load<f32>(x + ((<usize>i) << 2));
    if (!isFinite<f32>(v)) return i;
  }
  return -1;
}

/** Copies `count` rows of `rowLength` floats, row `indices[r]` of `source` to row r of `target`. */
export function gather_rows(source: usize, indices: usize, count: i32, rowLength: i32, target: usize): void {
  const bytes = (<usize>rowLength) << 2;
  for (let r = 0; r < count; r++) {
    const index = <usize>load<i32>(indices + ((<usize>r) << 2));
    memory.copy(target + <usize>r * bytes, source + index * bytes, bytes);
  }
}
