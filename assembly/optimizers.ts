// Optimizer updates: every optimizer's fused step (one pass over the variable, slots updated in place), and the
// element-wise helpers around it (fill, clip by value, gradient accumulation, EMA, scale).
//
// Each update reproduces `ReferenceKernels` (src/kernels/reference.ts) bit for bit: the same float32
// operations in the same order, each rounded once. `f32x4.sqrt` and `f32x4.div` are correctly rounded, as
// `Math.fround(Math.sqrt(x))` and `Math.fround(a / b)` are (float64 has more than 2·24 + 2 bits, so the double
// rounding of one float32 operation done in float64 is harmless). Nothing here uses `madd`: a fused
// multiply-add would round once where the reference rounds twice. SGD is the exception that proves it: Keras's
// PyTorch SGD (`torch_sgd.py`) updates with `_foreach_add_(x, y, alpha=…)`, which is a fused multiply-add
// on CPU (`vec::fmadd`), so its reference rounds `x + α·y` once; the float64 lanes below compute that sum
// as the reference does (an f32·f32 product is exact in float64; the sum is rounded to float64, then to
// float32, which differs from one rounding only if the float64 sum lands exactly on a float32 tie: about
// once in 2²⁹ sums). Where the engine's `relaxed_madd` fuses (the relaxed build on a CPU with an FMA
// instruction; `madd_probe` tells), the …_FMA kinds use it instead: one float32 rounding, exactly the
// reference's `fusedMultiplyAdd` (ties included) and PyTorch's, at a third of the float64 lanes' cost.
// Elsewhere `relaxed_madd` rounds twice, so the float64 lanes stay as the portable path.
//
// Shape, for the later fusion into the dW product: each update is an `@inline` per-vector function
// (`xxxVector`) taking the gradient as a v128, the element's addresses in the variable and its slots, the
// step's scalars already splatted, and how many lanes to store (4 in the body of a loop; 1..3 at a tail or
// at a chunk boundary). `xxxRange` loads the scalars from the descriptor once and runs the vector function
// over [i0, i1). A caller that holds a tile of gradients in registers does as `xxxRange` does: switch on the
// kind once, load the scalars once (`scalar(desc, i)`), then call
// e.g. `adamVector<Off, Full>(g, param + o, m + o, v + o, 0, alpha, …, 4)` for each vector of the tile, with
// `Part` and the lane count for a vector that the variable's end (or the caller's range) cuts short.
//
// The descriptor (`desc`, layout in src/kernels/wasm/abi.ts, `OPTIMIZER_DESCRIPTOR`): i32 kind at byte 0, i32
// reserved at byte 4, float32 scalars from byte 8 (scalar i at byte 8 + 4i), or one float64 at byte 8 for
// SCALE. `slots` points to three u32 slot addresses (0 where the kind has no such slot).

import { num, storeLanes, N1, N2, N4 } from './simd';

// Kinds (word 0 of the descriptor), shared with OPTIMIZER_KINDS in src/kernels/wasm/abi.ts.
export const OPT_SGD: i32 = 1;
export const OPT_SGD_MOMENTUM: i32 = 2;
export const OPT_SGD_NESTEROV: i32 = 3;
export const OPT_RMSPROP: i32 = 4;
export const OPT_RMSPROP_MOMENTUM: i32 = 5;
export const OPT_RMSPROP_CENTERED: i32 = 6;
export const OPT_RMSPROP_CENTERED_MOMENTUM: i32 = 7;
export const OPT_ADAM: i32 = 8;
export const OPT_ADAM_AMSGRAD: i32 = 9;
export const OPT_ADADELTA: i32 = 10;
export const OPT_ADAGRAD: i32 = 11;
export const OPT_ADAMAX: i32 = 12;
export const OPT_NADAM: i32 = 13;
export const OPT_LION: i32 = 14;
export const OPT_FTRL: i32 = 15;
export const OPT_FILL: i32 = 16;
export const OPT_CLIP: i32 = 17;
export const OPT_ACCUMULATE: i32 = 18;
export const OPT_EMA: i32 = 19;
export const OPT_SCALE: i32 = 20;
// SGD's kinds whose `x + α·y` use `f32x4.relaxed_madd`: chosen only where `madd_fuses` found that it fuses
// (see sgdFusedVector), in the relaxed build; the baseline build traps on them.
export const OPT_SGD_FMA: i32 = 21;
export const OPT_SGD_MOMENTUM_FMA: i32 = 22;
export const OPT_SGD_NESTEROV_FMA: i32 = 23;

// Variant flags and store widths are types, not values (see `num` in simd.ts: generic instantiations are
// specialised at compile time, the constant arguments of `@inline` functions are not).
/** A variant flag that is on. */
export type On = N1;
/** A variant flag that is off. */
export type Off = N2;
/** Store all four lanes. */
export type Full = N4;
/** Store the first `count` lanes only (a tail, or a chunk that ends inside a vector). */
export type Part = N1;

// @ts-ignore: decorator
@inline
function on<T>(): bool {
  return num<T>() == 1;
}

/** Stores v at p: the whole vector (`Full`), or its first `count` lanes (`Part`). */
// @ts-ignore: decorator
@inline
function put<T>(p: usize, v: v128, count: i32): void {
  if (num<T>() == 4) v128.store(p, v);
  else storeLanes(p, v, count);
}

/** Float32 scalar `index` of the descriptor, in all four lanes. */
// @ts-ignore: decorator
@inline
export function scalar(desc: usize, index: i32): v128 {
  return v128.load32_splat(desc + 8 + ((<usize>index) << 2));
}

// ---- float64 lanes, for SGD's fused multiply-adds and SCALE's float64 product, each rounded once.

// @ts-ignore: decorator
@inline
function low64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

// @ts-ignore: decorator
@inline
function high64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}

/** Rounds two float64 pairs to one float32 vector (lanes lo.0, lo.1, hi.0, hi.1). */
// @ts-ignore: decorator
@inline
function narrow(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

// ---- The per-vector updates. `g` is the gradient; p and the slot arguments are the addresses of the same
// four elements in the variable and its slots. The scalars are those of the matching Step interface in
// src/kernels/kernels.ts, splatted.

/**
 * SGD in Keras's PyTorch order (see src/optimizers/sgd.ts): `p ← p − η·g`; momentum `v ← (v·μ) − η·g`, then
 * `p ← p + v`, or (Nesterov) `p ← (p − η·g) + μ·v`. Each `x − η·g` / `x + μ·v` is a fused multiply-add:
 * float64 lanes, rounded once; `v·μ` and `p + v` are float32 operations. `lr` and `mu64` are float64 pairs
 * (of float32 values), `mu` float32 lanes.
 */
// @ts-ignore: decorator
@inline
export function sgdVector<MOMENTUM, NESTEROV, T>(
  g: v128,
  p: usize,
  velocity: usize,
  lr: v128,
  mu: v128,
  mu64: v128,
  count: i32,
): void {
  const param = v128.load(p);
  const gLow = f64x2.mul(lr, low64(g));
  const gHigh = f64x2.mul(lr, high64(g));
  if (!on<MOMENTUM>()) {
    put<T>(p, narrow(f64x2.sub(low64(param), gLow), f64x2.sub(high64(param), gHigh)), count);
    return;
  }
  const decayed = f32x4.mul(v128.load(velocity), mu);
  const updated = narrow(f64x2.sub(low64(decayed), gLow), f64x2.sub(high64(decayed), gHigh));
  put<T>(velocity, updated, count);
  if (on<NESTEROV>()) {
    const stepped = narrow(f64x2.sub(low64(param), gLow), f64x2.sub(high64(param), gHigh));
    const lowSum = f64x2.add(low64(stepped), f64x2.mul(mu64, low64(updated)));
    const highSum = f64x2.add(high64(stepped), f64x2.mul(mu64, high64(updated)));
    put<T>(p, narrow(lowSum, highSum), count);
  } else {
    put<T>(p, f32x4.add(param, updated), count);
  }
}

/**
 * {@link sgdVector} with one float32 fused multiply-add (`f32x4.relaxed_madd`) for each `x + α·y`: the same
 * single rounding as PyTorch's `vec::fmadd`, and as the reference's `fusedMultiplyAdd`, at a third of the
 * float64 lanes' cost. `negLr` is −η in all four lanes. Only for the relaxed build on an engine whose
 * `relaxed_madd` fuses (`madd_fuses`): elsewhere it would round twice.
 */
// @ts-ignore: decorator
@inline
export function sgdFusedVector<MOMENTUM, NESTEROV, T>(
  g: v128,
  p: usize,
  velocity: usize,
  negLr: v128,
  mu: v128,
  count: i32,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const param = v128.load(p);
    if (!on<MOMENTUM>()) {
      put<T>(p, f32x4.relaxed_madd(negLr, g, param), count);
      return;
    }
    const updated = f32x4.relaxed_madd(negLr, g, f32x4.mul(v128.load(velocity), mu));
    put<T>(velocity, updated, count);
    if (on<NESTEROV>()) {
      put<T>(p, f32x4.relaxed_madd(mu, updated, f32x4.relaxed_madd(negLr, g, param)), count);
    } else {
      put<T>(p, f32x4.add(param, updated), count);
    }
  } else {
    unreachable();
  }
}

/**
 * RMSprop: `v ← ρ·v + (1 − ρ)·g²`; centered `ḡ ← ρ·ḡ + (1 − ρ)·g`, `d = (v + ε) − ḡ²`, else `d = v + ε`;
 * `Δ = η·g / √d`; momentum `b ← μ·b + Δ`, `p ← p − b`, else `p ← p − Δ`.
 */
// @ts-ignore: decorator
@inline
export function rmspropVector<MOMENTUM, CENTERED, T>(
  g: v128,
  p: usize,
  velocity: usize,
  momentum: usize,
  average: usize,
  lr: v128,
  rho: v128,
  oneMinusRho: v128,
  mu: v128,
  epsilon: v128,
  count: i32,
): void {
  const v = f32x4.add(f32x4.mul(v128.load(velocity), rho), f32x4.mul(oneMinusRho, f32x4.mul(g, g)));
  put<T>(velocity, v, count);
  let denominator = f32x4.add(v, epsilon);
  if (on<CENTERED>()) {
    const a = f32x4.add(f32x4.mul(v128.load(average), rho), f32x4.mul(oneMinusRho, g));
    put<T>(average, a, count);
    denominator = f32x4.sub(denominator, f32x4.mul(a, a));
  }
  const increment = f32x4.div(f32x4.mul(g, lr), f32x4.sqrt(denominator));
  if (on<MOMENTUM>()) {
    const b = f32x4.add(f32x4.mul(v128.load(momentum), mu), increment);
    put<T>(momentum, b, count);
    put<T>(p, f32x4.sub(v128.load(p), b), count);
  } else {
    put<T>(p, f32x4.sub(v128.load(p), increment), count);
  }
}

/**
 * Adam: `m ← β₁·m + (1 − β₁)·g`, `v ← β₂·v + (1 − β₂)·g²`; AMSGrad `v̂ ← max(v̂, v)` used in place of v;
 * `p ← p − (m·α) / (√v + ε)`.
 */
// @ts-ignore: decorator
@inline
export function adamVector<AMSGRAD, T>(
  g: v128,
  p: usize,
  m: usize,
  v: usize,
  vhat: usize,
  alpha: v128,
  beta1: v128,
  oneMinusBeta1: v128,
  beta2: v128,
  oneMinusBeta2: v128,
  epsilon: v128,
  count: i32,
): void {
  const mi = f32x4.add(f32x4.mul(v128.load(m), beta1), f32x4.mul(oneMinusBeta1, g));
  put<T>(m, mi, count);
  let vi = f32x4.add(f32x4.mul(v128.load(v), beta2), f32x4.mul(oneMinusBeta2, f32x4.mul(g, g)));
  put<T>(v, vi, count);
  if (on<AMSGRAD>()) {
    vi = f32x4.max(v128.load(vhat), vi);
    put<T>(vhat, vi, count);
  }
  const step = f32x4.div(f32x4.mul(mi, alpha), f32x4.add(f32x4.sqrt(vi), epsilon));
  put<T>(p, f32x4.sub(v128.load(p), step), count);
}

/**
 * Adadelta: `a ← ρ·a + (1 − ρ)·g²`, `Δ = −(√(d + ε)·g) / √(a + ε)`, `d ← ρ·d + (1 − ρ)·Δ²`, `p ← p + η·Δ`.
 */
// @ts-ignore: decorator
@inline
export function adadeltaVector<T>(
  g: v128,
  p: usize,
  accumulatedGrad: usize,
  accumulatedDelta: usize,
  lr: v128,
  rho: v128,
  oneMinusRho: v128,
  epsilon: v128,
  count: i32,
): void {
  const a = f32x4.add(f32x4.mul(v128.load(accumulatedGrad), rho), f32x4.mul(oneMinusRho, f32x4.mul(g, g)));
  put<T>(accumulatedGrad, a, count);
  const d = v128.load(accumulatedDelta);
  const rmsDelta = f32x4.sqrt(f32x4.add(d, epsilon));
  const delta = f32x4.neg(f32x4.div(f32x4.mul(rmsDelta, g), f32x4.sqrt(f32x4.add(a, epsilon))));
  put<T>(accumulatedDelta, f32x4.add(f32x4.mul(d, rho), f32x4.mul(oneMinusRho, f32x4.mul(delta, delta))), count);
  put<T>(p, f32x4.add(v128.load(p), f32x4.mul(lr, delta)), count);
}

/** Adagrad: `a ← a + g²`, `p ← p − (g·η) / √(a + ε)`. */
// @ts-ignore: decorator
@inline
export function adagradVector<T>(g: v128, p: usize, accumulator: usize, lr: v128, epsilon: v128, count: i32): void {
  const a = f32x4.add(v128.load(accumulator), f32x4.mul(g, g));
  put<T>(accumulator, a, count);
  const step = f32x4.div(f32x4.mul(g, lr), f32x4.sqrt(f32x4.add(a, epsilon)));
  put<T>(p, f32x4.sub(v128.load(p), step), count);
}

/** Adamax: `m ← β₁·m + (1 − β₁)·g`, `u ← max(β₂·u, |g|)`, `p ← p − (m·η) / ((u + ε)·(1 − β₁ᵗ))`. */
// @ts-ignore: decorator
@inline
export function adamaxVector<T>(
  g: v128,
  p: usize,
  m: usize,
  u: usize,
  lr: v128,
  beta1: v128,
  oneMinusBeta1: v128,
  beta2: v128,
  epsilon: v128,
  biasCorrection: v128,
  count: i32,
): void {
  const mi = f32x4.add(f32x4.mul(v128.load(m), beta1), f32x4.mul(oneMinusBeta1, g));
  put<T>(m, mi, count);
  const ui = f32x4.max(f32x4.mul(v128.load(u), beta2), f32x4.abs(g));
  put<T>(u, ui, count);
  const step = f32x4.div(f32x4.mul(mi, lr), f32x4.mul(f32x4.add(ui, epsilon), biasCorrection));
  put<T>(p, f32x4.sub(v128.load(p), step), count);
}

/**
 * Nadam: `m ← β₁·m + (1 − β₁)·g`, `v ← β₂·v + (1 − β₂)·g²`,
 * `m̂ = (m·u_{t+1}) / (1 − Π_{t+1}) + (g·(1 − u_t)) / (1 − Π_t)`, `v̂ = v / (1 − β₂ᵗ)`,
 * `p ← p − (m̂·η) / (√v̂ + ε)`.
 */
// @ts-ignore: decorator
@inline
export function nadamVector<T>(
  g: v128,
  p: usize,
  m: usize,
  v: usize,
  lr: v128,
  beta1: v128,
  oneMinusBeta1: v128,
  beta2: v128,
  oneMinusBeta2: v128,
  epsilon: v128,
  nextMomentum: v128,
  nextProductComplement: v128,
  oneMinusMomentum: v128,
  productComplement: v128,
  beta2Correction: v128,
  count: i32,
): void {
  const mi = f32x4.add(f32x4.mul(v128.load(m), beta1), f32x4.mul(oneMinusBeta1, g));
  put<T>(m, mi, count);
  const vi = f32x4.add(f32x4.mul(v128.load(v), beta2), f32x4.mul(oneMinusBeta2, f32x4.mul(g, g)));
  put<T>(v, vi, count);
  const mHat = f32x4.add(
    f32x4.div(f32x4.mul(mi, nextMomentum), nextProductComplement),
    f32x4.div(f32x4.mul(g, oneMinusMomentum), productComplement),
  );
  const vHat = f32x4.div(vi, beta2Correction);
  const step = f32x4.div(f32x4.mul(mHat, lr), f32x4.add(f32x4.sqrt(vHat), epsilon));
  put<T>(p, f32x4.sub(v128.load(p), step), count);
}

/** Lion: `c = β₁·m + (1 − β₁)·g`, `p ← p − sign(c)·η`, `m ← β₂·m + (1 − β₂)·g` (sign(±0) = ±0, sign(NaN) = NaN). */
// @ts-ignore: decorator
@inline
export function lionVector<T>(
  g: v128,
  p: usize,
  m: usize,
  lr: v128,
  beta1: v128,
  oneMinusBeta1: v128,
  beta2: v128,
  oneMinusBeta2: v128,
  count: i32,
): void {
  const mOld = v128.load(m);
  const c = f32x4.add(f32x4.mul(mOld, beta1), f32x4.mul(oneMinusBeta1, g));
  const zero = f32x4.splat(0);
  const sign = v128.bitselect(
    f32x4.splat(1),
    v128.bitselect(f32x4.splat(-1), c, f32x4.lt(c, zero)),
    f32x4.gt(c, zero),
  );
  put<T>(p, f32x4.sub(v128.load(p), f32x4.mul(sign, lr)), count);
  put<T>(m, f32x4.add(f32x4.mul(mOld, beta2), f32x4.mul(oneMinusBeta2, g)), count);
}

/**
 * FTRL-proximal (`n` accumulator, `z` linear term, c = power): `g' = g + 2λ₂ₛ·p`, `n' = n + g²`,
 * `σ = (n'^c − n^c) / η`, `z ← z + (g' − σ·p)`, `p ← (clip(z, −λ₁, λ₁) − z) / (n'^c / η + 2λ₂)`, `n ← n'`.
 * With c = ½ (`SQRT` on) the powers are square roots; otherwise each lane calls {@link fdlibmPow}.
 */
// @ts-ignore: decorator
@inline
export function ftrlVector<SQRT, T>(
  g: v128,
  p: usize,
  accumulator: usize,
  linear: usize,
  lr: v128,
  power: f64,
  l1: v128,
  twiceL2: v128,
  twiceL2Shrinkage: v128,
  count: i32,
): void {
  const param = v128.load(p);
  const n = v128.load(accumulator);
  const gradToUse = f32x4.add(g, f32x4.mul(twiceL2Shrinkage, param));
  const nNew = f32x4.add(n, f32x4.mul(g, g));
  let nNewPow: v128;
  let nPow: v128;
  if (on<SQRT>()) {
    // Math.pow(x, 0.5) is Math.sqrt(x) for every x ≥ 0 (and n, n' are never negative).
    nNewPow = f32x4.sqrt(nNew);
    nPow = f32x4.sqrt(n);
  } else {
    nNewPow = powLanes(nNew, power);
    nPow = powLanes(n, power);
  }
  const sigma = f32x4.div(f32x4.sub(nNewPow, nPow), lr);
  const z = f32x4.add(v128.load(linear), f32x4.sub(gradToUse, f32x4.mul(sigma, param)));
  put<T>(linear, z, count);
  const quadratic = f32x4.add(f32x4.div(nNewPow, lr), twiceL2);
  const negL1 = f32x4.neg(l1);
  const clipped = v128.bitselect(negL1, v128.bitselect(l1, z, f32x4.gt(z, l1)), f32x4.lt(z, negL1));
  put<T>(p, f32x4.div(f32x4.sub(clipped, z), quadratic), count);
  put<T>(accumulator, nNew, count);
}

/** `fround(pow(x, power))` per lane, the power in float64 as the reference's Math.pow. */
// @ts-ignore: decorator
@inline
function powLanes(x: v128, power: f64): v128 {
  let r = f32x4.splat(<f32>fdlibmPow(<f64>f32x4.extract_lane(x, 0), power));
  r = f32x4.replace_lane(r, 1, <f32>fdlibmPow(<f64>f32x4.extract_lane(x, 1), power));
  r = f32x4.replace_lane(r, 2, <f32>fdlibmPow(<f64>f32x4.extract_lane(x, 2), power));
  return f32x4.replace_lane(r, 3, <f32>fdlibmPow(<f64>f32x4.extract_lane(x, 3), power));
}

// ---- Range loops: the scalars loaded once, the vector function over [i0, i1).

// @ts-ignore: decorator
@inline
function sgdStep<MOMENTUM, NESTEROV, FUSED, T>(
  g: v128, p: usize, velocity: usize, lr: v128, negLr: v128, mu: v128, mu64: v128, count: i32,
): void {
  if (on<FUSED>()) sgdFusedVector<MOMENTUM, NESTEROV, T>(g, p, velocity, negLr, mu, count);
  else sgdVector<MOMENTUM, NESTEROV, T>(g, p, velocity, lr, mu, mu64, count);
}

/** SGD over [i0, i1): float64 lanes, or with FUSED = On one `relaxed_madd` per `x + α·y` (sgdFusedVector). */
// @ts-ignore: decorator
@inline
function sgdRange<MOMENTUM, NESTEROV, FUSED>(
  desc: usize, param: usize, grad: usize, velocity: usize, i0: i32, i1: i32,
): void {
  const lr = f64x2.splat(<f64>load<f32>(desc, 8));
  const negLr = f32x4.neg(scalar(desc, 0));
  const mu = scalar(desc, 1);
  const mu64 = f64x2.splat(<f64>load<f32>(desc, 12));
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    sgdStep<MOMENTUM, NESTEROV, FUSED, Full>(v128.load(grad + o), param + o, velocity + o, lr, negLr, mu, mu64, 4);
  }
  if (i < i1) {
    const o = (<usize>i) << 2;
    sgdStep<MOMENTUM, NESTEROV, FUSED, Part>(v128.load(grad + o), param + o, velocity + o, lr, negLr, mu, mu64, i1 - i);
  }
}

// @ts-ignore: decorator
@inline
function rmspropRange<MOMENTUM, CENTERED>(
  desc: usize,
  param: usize,
  grad: usize,
  velocity: usize,
  momentum: usize,
  average: usize,
  i0: i32,
  i1: i32,
): void {
  const lr = scalar(desc, 0);
  const rho = scalar(desc, 1);
  const oneMinusRho = scalar(desc, 2);
  const mu = scalar(desc, 3);
  const epsilon = scalar(desc, 4);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    rmspropVector<MOMENTUM, CENTERED, Full>(
      v128.load(grad + o), param + o, velocity + o, momentum + o, average + o,
      lr, rho, oneMinusRho, mu, epsilon, 4,
    );
  }
  if (i < i1) {
    const o = (<usize>i) << 2;
    rmspropVector<MOMENTUM, CENTERED, Part>(
      v128.load(grad + o), param + o, velocity + o, momentum + o, average + o,
      lr, rho, oneMinusRho, mu, epsilon, i1 - i,
    );
  }
}

// @ts-ignore: decorator
@inline
function adamRange<AMSGRAD>(
  desc: usize,
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  vhat: usize,
  i0: i32,
  i1: i32,
): void {
  const alpha = scalar(desc, 0);
  const beta1 = scalar(desc, 1);
  const oneMinusBeta1 = scalar(desc, 2);
  const beta2 = scalar(desc, 3);
  const oneMinusBeta2 = scalar(desc, 4);
  const epsilon = scalar(desc, 5);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    adamVector<AMSGRAD, Full>(
      v128.load(grad + o), param + o, m + o, v + o, vhat + o,
      alpha, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, 4,
    );
  }
  if (i < i1) {
    const o = (<usize>i) << 2;
    adamVector<AMSGRAD, Part>(
      v128.load(grad + o), param + o, m + o, v + o, vhat + o,
      alpha, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, i1 - i,
    );
  }
}

// @ts-ignore: decorator
@inline
function adadeltaRange(desc: usize, param: usize, grad: usize, a: usize, d: usize, i0: i32, i1: i32): void {
  const lr = scalar(desc, 0);
  const rho = scalar(desc, 1);
  const oneMinusRho = scalar(desc, 2);
  const epsilon = scalar(desc, 3);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    adadeltaVector<Full>(v128.load(grad + o), param + o, a + o, d + o, lr, rho, oneMinusRho, epsilon, 4);
  }
  if (i < i1) {
    const o = (<usize>i) << 2;
    adadeltaVector<Part>(v128.load(grad + o), param + o, a + o, d + o, lr, rho, oneMinusRho, epsilon, i1 - i);
  }
}

// @ts-ignore: decorator
@inline
function adagradRange(desc: usize, param: usize, grad: usize, accumulator: usize, i0: i32, i1: i32): void {
  const lr = scalar(desc, 0);
  const epsilon = scalar(desc, 1);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    adagradVector<Full>(v128.load(grad + o), param + o, accumulator + o, lr, epsilon, 4);
  }
  if (i < i1) {
    const o = (<usize>i) << 2;
    adagradVector<Part>(v128.load(grad + o), param + o, accumulator + o, lr, epsilon, i1 - i);
  }
}

// @ts-ignore: decorator
@inline
function adamaxRange(desc: usize, param: usize, grad: usize, m: usize, u: usize, i0: i32, i1: i32): void {
  const lr = scalar(desc, 0);
  const beta1 = scalar(desc, 1);
  const oneMinusBeta1 = scalar(desc, 2);
  const beta2 = scalar(desc, 3);
  const epsilon = scalar(desc, 4);
  const biasCorrection = scalar(desc, 5);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    adamaxVector<Full>(
      v128.load(grad + o), param + o, m + o, u + o,
      lr, beta1, oneMinusBeta1, beta2, epsilon, biasCorrection, 4,
    );
  }
  if (i < i1) {
    const o = (<usize>i) << 2;
    adamaxVector<Part>(
      v128.load(grad + o), param + o, m + o, u + o,
      lr, beta1, oneMinusBeta1, beta2, epsilon, biasCorrection, i1 - i,
    );
  }
}

// @ts-ignore: decorator
@inline
function nadamRange(desc: usize, param: usize, grad: usize, m: usize, v: usize, i0: i32, i1: i32): void {
  const lr = scalar(desc, 0);
  const beta1 = scalar(desc, 1);
  const oneMinusBeta1 = scalar(desc, 2);
  const beta2 = scalar(desc, 3);
  const oneMinusBeta2 = scalar(desc, 4);
  const epsilon = scalar(desc, 5);
  const nextMomentum = scalar(desc, 6);
  const nextProductComplement = scalar(desc, 7);
  const oneMinusMomentum = scalar(desc, 8);
  const productComplement = scalar(desc, 9);
  const beta2Correction = scalar(desc, 10);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    nadamVector<Full>(
      v128.load(grad + o), param + o, m + o, v + o,
      lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon,
      nextMomentum, nextProductComplement, oneMinusMomentum, productComplement, beta2Correction, 4,
    );
  }
  if (i < i1) {
    const o = (<usize>i) << 2;
    nadamVector<Part>(
      v128.load(grad + o), param + o, m + o, v + o,
      lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon,
      nextMomentum, nextProductComplement, oneMinusMomentum, productComplement, beta2Correction, i1 - i,
    );
  }
}

// @ts-ignore: decorator
@inline
function lionRange(desc: usize, param: usize, grad: usize, m: usize, i0: i32, i1: i32): void {
  const lr = scalar(desc, 0);
  const beta1 = scalar(desc, 1);
  const oneMinusBeta1 = scalar(desc, 2);
  const beta2 = scalar(desc, 3);
  const oneMinusBeta2 = scalar(desc, 4);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    lionVector<Full>(v128.load(grad + o), param + o, m + o, lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, 4);
  }
  if (i < i1) {
    const o = (<usize>i) << 2;
    lionVector<Part>(v128.load(grad + o), param + o, m + o, lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, i1 - i);
  }
}

// @ts-ignore: decorator
@inline
function ftrlRange<SQRT>(desc: usize, param: usize, grad: usize, n: usize, z: usize, i0: i32, i1: i32): void {
  const lr = scalar(desc, 0);
  const power = <f64>load<f32>(desc, 12);
  const l1 = scalar(desc, 2);
  const twiceL2 = scalar(desc, 3);
  const twiceL2Shrinkage = scalar(desc, 4);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    ftrlVector<SQRT, Full>(v128.load(grad + o), param + o, n + o, z + o, lr, power, l1, twiceL2, twiceL2Shrinkage, 4);
  }
  if (i < i1) {
    const o = (<usize>i) << 2;
    ftrlVector<SQRT, Part>(
      v128.load(grad + o), param + o, n + o, z + o, lr, power, l1, twiceL2, twiceL2Shrinkage, i1 - i,
    );
  }
}

// ---- The element-wise helpers of the optimizer step (`param` is the array written, `grad` the one read).

/** x ← value. */
// @ts-ignore: decorator
@inline
function fillRange(desc: usize, x: usize, i0: i32, i1: i32): void {
  const value = scalar(desc, 0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(x + ((<usize>i) << 2), value);
  if (i < i1) storeLanes(x + ((<usize>i) << 2), value, i1 - i);
}

/** x ← x < min ? min : x > max ? max : x (NaN and −0 kept, as the reference's comparisons keep them). */
// @ts-ignore: decorator
@inline
function clipRange(desc: usize, x: usize, i0: i32, i1: i32): void {
  const low = scalar(desc, 0);
  const high = scalar(desc, 1);
  let i = i0;
  for (; i < i1; i += 4) {
    const p = x + ((<usize>i) << 2);
    const v = v128.load(p);
    const clipped = v128.bitselect(low, v128.bitselect(high, v, f32x4.gt(v, high)), f32x4.lt(v, low));
    if (i + 4 <= i1) v128.store(p, clipped);
    else storeLanes(p, clipped, i1 - i);
  }
}

/** acc ← acc + g, or with a divisor d ≠ 1 (the applying step) acc ← (acc + g) / d. */
// @ts-ignore: decorator
@inline
function accumulateRange(desc: usize, accumulator: usize, gradient: usize, i0: i32, i1: i32): void {
  const divisor = scalar(desc, 0);
  const divide = load<f32>(desc, 8) != 1;
  for (let i = i0; i < i1; i += 4) {
    const o = (<usize>i) << 2;
    let sum = f32x4.add(v128.load(accumulator + o), v128.load(gradient + o));
    if (divide) sum = f32x4.div(sum, divisor);
    if (i + 4 <= i1) v128.store(accumulator + o, sum);
    else storeLanes(accumulator + o, sum, i1 - i);
  }
}

/** average ← μ·average + (1 − μ)·value. */
// @ts-ignore: decorator
@inline
function emaRange(desc: usize, average: usize, value: usize, i0: i32, i1: i32): void {
  const mu = scalar(desc, 0);
  const rest = scalar(desc, 1);
  for (let i = i0; i < i1; i += 4) {
    const o = (<usize>i) << 2;
    const updated = f32x4.add(f32x4.mul(mu, v128.load(average + o)), f32x4.mul(rest, v128.load(value + o)));
    if (i + 4 <= i1) v128.store(average + o, updated);
    else storeLanes(average + o, updated, i1 - i);
  }
}

/**
 * x ← x·factor, the product in float64 (the factor is a float64 at byte 8) and rounded once. When the factor
 * is a float32 value (weight decay's `1 − λη`), a float32 product is the same correctly rounded result.
 */
// @ts-ignore: decorator
@inline
function scaleRange(desc: usize, x: usize, i0: i32, i1: i32): void {
  const factor = load<f64>(desc, 8);
  if (<f64>(<f32>factor) == factor) {
    const factor32 = f32x4.splat(<f32>factor);
    for (let i = i0; i < i1; i += 4) {
      const p = x + ((<usize>i) << 2);
      const scaled = f32x4.mul(v128.load(p), factor32);
      if (i + 4 <= i1) v128.store(p, scaled);
      else storeLanes(p, scaled, i1 - i);
    }
    return;
  }
  const factor64 = f64x2.splat(factor);
  for (let i = i0; i < i1; i += 4) {
    const p = x + ((<usize>i) << 2);
    const v = v128.load(p);
    const scaled = narrow(f64x2.mul(low64(v), factor64), f64x2.mul(high64(v), factor64));
    if (i + 4 <= i1) v128.store(p, scaled);
    else storeLanes(p, scaled, i1 - i);
  }
}

/**
 * `f32x4.relaxed_madd(a, b, c)` in lane 0: whether this engine fuses it on this CPU (one rounding) shows on
 * arguments whose two roundings differ (see `maddFuses` in src/kernels/wasm/index.ts). The baseline build
 * multiplies and adds.
 */
export function madd_probe(a: f32, b: f32, c: f32): f32 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.extract_lane(f32x4.relaxed_madd(f32x4.splat(a), f32x4.splat(b), f32x4.splat(c)), 0);
  } else {
    return a * b + c;
  }
}

/**
 * The one entry point: the update (or helper) described at `desc`, over elements [i0, i1) of the variable
 * at `param`, its gradient at `grad` and its slots at the three addresses stored at `slots`. Elements are
 * independent, so any split of [0, length) into ranges, on any threads, gives the same bits.
 */
export function optimizer_update(desc: usize, param: usize, grad: usize, slots: usize, i0: i32, i1: i32): void {
  const kind = load<i32>(desc);
  const s0 = <usize>load<u32>(slots);
  const s1 = <usize>load<u32>(slots, 4);
  const s2 = <usize>load<u32>(slots, 8);
  switch (kind) {
    case OPT_SGD: sgdRange<Off, Off, Off>(desc, param, grad, 0, i0, i1); break;
    case OPT_SGD_MOMENTUM: sgdRange<On, Off, Off>(desc, param, grad, s0, i0, i1); break;
    case OPT_SGD_NESTEROV: sgdRange<On, On, Off>(desc, param, grad, s0, i0, i1); break;
    case OPT_SGD_FMA: sgdRange<Off, Off, On>(desc, param, grad, 0, i0, i1); break;
    case OPT_SGD_MOMENTUM_FMA: sgdRange<On, Off, On>(desc, param, grad, s0, i0, i1); break;
    case OPT_SGD_NESTEROV_FMA: sgdRange<On, On, On>(desc, param, grad, s0, i0, i1); break;
    case OPT_RMSPROP: rmspropRange<Off, Off>(desc, param, grad, s0, 0, 0, i0, i1); break;
    case OPT_RMSPROP_MOMENTUM: rmspropRange<On, Off>(desc, param, grad, s0, s1, 0, i0, i1); break;
    case OPT_RMSPROP_CENTERED: rmspropRange<Off, On>(desc, param, grad, s0, 0, s2, i0, i1); break;
    case OPT_RMSPROP_CENTERED_MOMENTUM: rmspropRange<On, On>(desc, param, grad, s0, s1, s2, i0, i1); break;
    case OPT_ADAM: adamRange<Off>(desc, param, grad, s0, s1, 0, i0, i1); break;
    case OPT_ADAM_AMSGRAD: adamRange<On>(desc, param, grad, s0, s1, s2, i0, i1); break;
    case OPT_ADADELTA: adadeltaRange(desc, param, grad, s0, s1, i0, i1); break;
    case OPT_ADAGRAD: adagradRange(desc, param, grad, s0, i0, i1); break;
    case OPT_ADAMAX: adamaxRange(desc, param, grad, s0, s1, i0, i1); break;
    case OPT_NADAM: nadamRange(desc, param, grad, s0, s1, i0, i1); break;
    case OPT_LION: lionRange(desc, param, grad, s0, i0, i1); break;
    case OPT_FTRL:
      if (load<f32>(desc, 12) == 0.5) ftrlRange<On>(desc, param, grad, s0, s1, i0, i1);
      else ftrlRange<Off>(desc, param, grad, s0, s1, i0, i1);
      break;
    case OPT_FILL: fillRange(desc, param, i0, i1); break;
    case OPT_CLIP: clipRange(desc, param, i0, i1); break;
    case OPT_ACCUMULATE: accumulateRange(desc, param, grad, i0, i1); break;
    case OPT_EMA: emaRange(desc, param, grad, i0, i1); break;
    case OPT_SCALE: scaleRange(desc, param, i0, i1); break;
    // A kind this module does not know is a caller's bug: trap (a RuntimeError in JS) rather than do nothing.
    default: unreachable();
  }
}

// SUN COPYRIGHT NOTICE
//
// Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
// Developed at SunPro, a Sun Microsystems, Inc. business.
// Permission to use, copy, modify, and distribute this software
// is freely granted, provided that this notice is preserved.
//
// Applies to fdlibmPow below: fdlibm's e_pow.c, as AssemblyScript's standard library ports it (its
// `NativeMath.pow` with shrinkLevel ≥ 1). The library's default pow is a table-driven one whose ~6 KiB of
// tables would not fit below the control block; this one needs no tables. Both are within one float64 ulp
// of V8's Math.pow, which the reference uses, so after rounding to float32 they agree with it except when
// the float64 result lies within an ulp of a float32 rounding boundary (about 2⁻²⁸ of random inputs; none
// in 2·10⁷ tried).

/** x^y in float64 (fdlibm's algorithm; JS semantics for NaN and ±1^±∞). */
function fdlibmPow(x: f64, y: f64): f64 {
  const dp_h1 = reinterpret<f64>(0x3FE2B80340000000);
  const dp_l1 = reinterpret<f64>(0x3E4CFDEB43CFD006);
  const two53 = reinterpret<f64>(0x4340000000000000);
  const huge = reinterpret<f64>(0x7E37E43C8800759C);
  const tiny = reinterpret<f64>(0x01A56E1FC2F8F359);
  const L1 = reinterpret<f64>(0x3FE3333333333303);
  const L2 = reinterpret<f64>(0x3FDB6DB6DB6FABFF);
  const L3 = reinterpret<f64>(0x3FD55555518F264D);
  const L4 = reinterpret<f64>(0x3FD17460A91D4101);
  const L5 = reinterpret<f64>(0x3FCD864A93C9DB65);
  const L6 = reinterpret<f64>(0x3FCA7E284A454EEF);
  const P1 = reinterpret<f64>(0x3FC555555555553E);
  const P2 = reinterpret<f64>(0xBF66C16C16BEBD93);
  const P3 = reinterpret<f64>(0x3F11566AAF25DE2C);
  const P4 = reinterpret<f64>(0xBEBBBD41C5D26BF1);
  const P5 = reinterpret<f64>(0x3E66376972BEA4D0);
  const lg2 = reinterpret<f64>(0x3FE62E42FEFA39EF);
  const lg2_h = reinterpret<f64>(0x3FE62E4300000000);
  const lg2_l = reinterpret<f64>(0xBE205C610CA86C39);
  const ovt = reinterpret<f64>(0x3C971547652B82FE);
  const cp = reinterpret<f64>(0x3FEEC709DC3A03FD);
  const cp_h = reinterpret<f64>(0x3FEEC709E0000000);
  const cp_l = reinterpret<f64>(0xBE3E2FE0145B01F5);
  const ivln2 = reinterpret<f64>(0x3FF71547652B82FE);
  const ivln2_h = reinterpret<f64>(0x3FF7154760000000);
  const ivln2_l = reinterpret<f64>(0x3E54AE0BF85DDF44);
  const inv3 = reinterpret<f64>(0x3FD5555555555555);

  let u_ = reinterpret<u64>(x);
  const hx = <i32>(u_ >> 32);
  const lx = <u32>u_;
  u_ = reinterpret<u64>(y);
  const hy = <i32>(u_ >> 32);
  const ly = <u32>u_;
  let ix = hx & 0x7FFFFFFF;
  const iy = hy & 0x7FFFFFFF;
  if ((iy | ly) == 0) return 1.0;
  if (ix > 0x7FF00000 || (ix == 0x7FF00000 && lx != 0) || iy > 0x7FF00000 || (iy == 0x7FF00000 && ly != 0)) {
    return x + y;
  }
  let yisint = 0;
  let k: i32;
  if (hx < 0) {
    if (iy >= 0x43400000) yisint = 2;
    else if (iy >= 0x3FF00000) {
      k = (iy >> 20) - 0x3FF;
      const offset = select<u32>(52, 20, k > 20) - k;
      const Ly = select<u32>(ly, iy, k > 20);
      const jj = Ly >> offset;
      if ((jj << offset) == Ly) yisint = 2 - (jj & 1);
    }
  }
  if (ly == 0) {
    if (iy == 0x7FF00000) {
      if (((ix - 0x3FF00000) | lx) == 0) return NaN;
      else if (ix >= 0x3FF00000) return hy >= 0 ? y : 0.0;
      else return hy >= 0 ? 0.0 : -y;
    }
    if (iy == 0x3FF00000) {
      if (hy >= 0) return x;
      return 1 / x;
    }
    if (hy == 0x40000000) return x * x;
    if (hy == 0x3FE00000) {
      if (hx >= 0) return sqrt<f64>(x);
    }
  }
  let ax = abs<f64>(x);
  let z: f64;
  if (lx == 0) {
    if (ix == 0 || ix == 0x7FF00000 || ix == 0x3FF00000) {
      z = ax;
      if (hy < 0) z = 1.0 / z;
      if (hx < 0) {
        if (((ix - 0x3FF00000) | yisint) == 0) {
          const d = z - z;
          z = d / d;
        } else if (yisint == 1) z = -z;
      }
      return z;
    }
  }
  let s = 1.0;
  if (hx < 0) {
    if (yisint == 0) {
      const d = x - x;
      return d / d;
    }
    if (yisint == 1) s = -1.0;
  }
  let t1: f64, t2: f64, p_h: f64, p_l: f64, r: f64, t: f64, u: f64, v: f64, w: f64;
  let j: i32, n: i32;
  if (iy > 0x41E00000) {
    if (iy > 0x43F00000) {
      if (ix <= 0x3FEFFFFF) return hy < 0 ? huge * huge : tiny * tiny;
      if (ix >= 0x3FF00000) return hy > 0 ? huge * huge : tiny * tiny;
    }
    if (ix < 0x3FEFFFFF) return hy < 0 ? s * huge * huge : s * tiny * tiny;
    if (ix > 0x3FF00000) return hy > 0 ? s * huge * huge : s * tiny * tiny;
    t = ax - 1.0;
    w = t * t * (0.5 - t * (inv3 - t * 0.25));
    u = ivln2_h * t;
    v = t * ivln2_l - w * ivln2;
    t1 = u + v;
    t1 = reinterpret<f64>(reinterpret<u64>(t1) & 0xFFFFFFFF00000000);
    t2 = v - (t1 - u);
  } else {
    let ss: f64, s2: f64, s_h: f64, s_l: f64, t_h: f64, t_l: f64;
    n = 0;
    if (ix < 0x00100000) {
      ax *= two53;
      n -= 53;
      ix = <u32>(reinterpret<u64>(ax) >> 32);
    }
    n += (ix >> 20) - 0x3FF;
    j = ix & 0x000FFFFF;
    ix = j | 0x3FF00000;
    if (j <= 0x3988E) k = 0;
    else if (j < 0xBB67A) k = 1;
    else {
      k = 0;
      n += 1;
      ix -= 0x00100000;
    }
    ax = reinterpret<f64>((reinterpret<u64>(ax) & 0xFFFFFFFF) | (<u64>ix << 32));
    const bp = select<f64>(1.5, 1.0, k);
    u = ax - bp;
    v = 1.0 / (ax + bp);
    ss = u * v;
    s_h = ss;
    s_h = reinterpret<f64>(reinterpret<u64>(s_h) & 0xFFFFFFFF00000000);
    t_h = reinterpret<f64>(<u64>(((ix >> 1) | 0x20000000) + 0x00080000 + (k << 18)) << 32);
    t_l = ax - (t_h - bp);
    s_l = v * (u - s_h * t_h - s_h * t_l);
    s2 = ss * ss;
    r = s2 * s2 * (L1 + s2 * (L2 + s2 * (L3 + s2 * (L4 + s2 * (L5 + s2 * L6)))));
    r += s_l * (s_h + ss);
    s2 = s_h * s_h;
    t_h = 3.0 + s2 + r;
    t_h = reinterpret<f64>(reinterpret<u64>(t_h) & 0xFFFFFFFF00000000);
    t_l = r - (t_h - 3.0 - s2);
    u = s_h * t_h;
    v = s_l * t_h + t_l * ss;
    p_h = u + v;
    p_h = reinterpret<f64>(reinterpret<u64>(p_h) & 0xFFFFFFFF00000000);
    p_l = v - (p_h - u);
    const z_h = cp_h * p_h;
    const dp_l = select<f64>(dp_l1, 0.0, k);
    const z_l = cp_l * p_h + p_l * cp + dp_l;
    t = <f64>n;
    const dp_h = select<f64>(dp_h1, 0.0, k);
    t1 = z_h + z_l + dp_h + t;
    t1 = reinterpret<f64>(reinterpret<u64>(t1) & 0xFFFFFFFF00000000);
    t2 = z_l - (t1 - t - dp_h - z_h);
  }
  let y1 = y;
  y1 = reinterpret<f64>(reinterpret<u64>(y1) & 0xFFFFFFFF00000000);
  p_l = (y - y1) * t1 + y * t2;
  p_h = y1 * t1;
  z = p_l + p_h;
  u_ = reinterpret<u64>(z);
  j = <u32>(u_ >> 32);
  let i = <i32>u_;
  if (j >= 0x40900000) {
    if (((j - 0x40900000) | i) != 0) return s * huge * huge;
    if (p_l + ovt > z - p_h) return s * huge * huge;
  } else if ((j & 0x7FFFFFFF) >= 0x4090CC00) {
    if (((j - 0xC090CC00) | i) != 0) return s * tiny * tiny;
    if (p_l <= z - p_h) return s * tiny * tiny;
  }
  i = j & 0x7FFFFFFF;
  k = (i >> 20) - 0x3FF;
  n = 0;
  if (i > 0x3FE00000) {
    n = j + (0x00100000 >> (k + 1));
    k = ((n & 0x7FFFFFFF) >> 20) - 0x3FF;
    t = reinterpret<f64>(<u64>(n & ~(0x000FFFFF >> k)) << 32);
    n = ((n & 0x000FFFFF) | 0x00100000) >> (20 - k);
    if (j < 0) n = -n;
    p_h -= t;
  }
  t = p_l + p_h;
  t = reinterpret<f64>(reinterpret<u64>(t) & 0xFFFFFFFF00000000);
  u = t * lg2_h;
  v = (p_l - (t - p_h)) * lg2 + t * lg2_l;
  z = u + v;
  w = v - (z - u);
  t = z * z;
  t1 = z - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  r = (z * t1) / (t1 - 2.0) - (w + z * w);
  z = 1.0 - (r - z);
  j = <u32>(reinterpret<u64>(z) >> 32);
  j += n << 20;
  if (j >> 20 <= 0) z = NativeMath.scalbn(z, n);
  else z = reinterpret<f64>((reinterpret<u64>(z) & 0xFFFFFFFF) | (<u64>j << 32));
  return s * z;
}
