// Shared SIMD helpers: the multiply-add every product uses, lane-masked stores, and the polynomial
// exponentials behind selu/elu/sigmoid/tanh/softmax.
//
// Everything here is `@inline`: the helpers exist to be folded into the kernels' loops, and every
// constant argument (lane counts, row counts) must disappear at compile time.

// Compile-time integers. AssemblyScript does not fold the constant arguments of `@inline` functions, and
// Binaryen then merges the inlined copies of one helper (say, a 3-vector and a 2-vector tile) into a single
// loop that tests the "constant" at run time. Generic instantiations, by contrast, are compiled separately
// and their `if`s on compile-time values are resolved before any code is emitted. So tile shapes and
// activation kinds are passed as TYPES whose `sizeof` encodes the number: see {@link num}.

/** The number 1, as a type argument. */
export type N1 = u8;
/** The number 2, as a type argument. */
export type N2 = u16;
/** The number 3, as a type argument. */
export type N3 = u64;
/** The number 4, as a type argument. */
export type N4 = u32;
/** The number 5, as a type argument. */
export type N5 = v128;
/** The number 6, as a type argument. */
export type N6 = i8;
/** The number 7, as a type argument. */
export type N7 = i16;
/** The number 8, as a type argument. */
export type N8 = i64;

/** The compile-time number a type from N1..N8 stands for (the signed types are 6, 7 and 8). */
// @ts-ignore: decorator
@inline
export function num<T>(): i32 {
  if (isSigned<T>()) return sizeof<T>() == 1 ? 6 : sizeof<T>() == 2 ? 7 : 8;
  return sizeof<T>() == 8 ? 3 : sizeof<T>() == 16 ? 5 : <i32>sizeof<T>();
}

/**
 * `a·b + c` lane-wise. The relaxed build fuses it (one rounding, `f32x4.relaxed_madd`, an FMA on any
 * machine with one); the baseline build rounds twice. Every product of a build uses this one helper,
 * so within a build each output element sees the same arithmetic whatever tile or thread computes it.
 */
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** Stores the first `count` lanes (1..4) of `v` at `p`; lanes past `count` are left untouched in memory. */
// @ts-ignore: decorator
@inline
export function storeLanes(p: usize, v: v128, count: i32): void {
  if (count >= 4) {
    v128.store(p, v);
  } else if (count == 3) {
    v128.store64_lane(p, v, 0);
    v128.store32_lane(p, v, 2, 8);
  } else if (count == 2) {
    v128.store64_lane(p, v, 0);
  } else if (count == 1) {
    v128.store32_lane(p, v, 0);
  }
}

/** A mask whose first `count` (0..4) lanes are all ones: selects the valid lanes of a row's last vector. */
// @ts-ignore: decorator
@inline
export function laneMask(count: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(count));
}

/** Horizontal sum in a fixed order, so a dot product's rounding never depends on who computes it. */
// @ts-ignore: decorator
@inline
export function hsum(v: v128): f32 {
  const pair = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(pair, 0) + f32x4.extract_lane(pair, 1);
}

// Cody–Waite split of ln 2: HI has few enough bits that k·HI is exact for every k the callers produce.
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;
// @ts-ignore: decorator
@inline const INV_LN2: f32 = 1.44269504088896341;

/**
 * expm1(r) for |r| ≤ ln2/2: the Taylor series to degree 7 (truncation error below 2⁻²⁶ relative), in a
 * Horner form that starts `r + r²·(…)`, so the result keeps full relative accuracy as r → 0.
 */
// @ts-ignore: decorator
@inline
function expm1Reduced(r: v128): v128 {
  let q = f32x4.splat(<f32>(1.0 / 5040.0));
  q = madd(q, r, f32x4.splat(<f32>(1.0 / 720.0)));
  q = madd(q, r, f32x4.splat(<f32>(1.0 / 120.0)));
  q = madd(q, r, f32x4.splat(<f32>(1.0 / 24.0)));
  q = madd(q, r, f32x4.splat(<f32>(1.0 / 6.0)));
  q = madd(q, r, f32x4.splat(<f32>0.5));
  return madd(f32x4.mul(r, r), q, r);
}

/** r = x − k·ln2 in two steps (Cody–Waite), exact enough that r keeps ~24 good bits. */
// @ts-ignore: decorator
@inline
function reduce(x: v128, kf: v128): v128 {
  const r = f32x4.sub(x, f32x4.mul(kf, f32x4.splat(LN2_HI)));
  return f32x4.sub(r, f32x4.mul(kf, f32x4.splat(LN2_LO)));
}

/** 2ᵏ built from the exponent bits; k must lie in [−126, 127]. */
// @ts-ignore: decorator
@inline
function pow2(kf: v128): v128 {
  return i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(kf), i32x4.splat(127)), 23);
}

/**
 * eˣ − 1 lane-wise for x in [−17.5, 18] (callers clamp; below −17.4 the float result is −1 anyway).
 * With x = k·ln2 + r: expm1(x) = 2ᵏ·expm1(r) + (2ᵏ − 1), and for k = 0 that is expm1(r) exactly, so small
 * arguments keep their relative accuracy (SELU/ELU near 0, tanh near 0).
 */
// @ts-ignore: decorator
@inline
export function expm1v(x: v128): v128 {
  x = f32x4.max(f32x4.min(x, f32x4.splat(18.0)), f32x4.splat(-17.5));
  const kf = f32x4.nearest(f32x4.mul(x, f32x4.splat(INV_LN2)));
  const p = expm1Reduced(reduce(x, kf));
  const s = pow2(kf);
  return madd(s, p, f32x4.sub(s, f32x4.splat(1.0)));
}

/**
 * eˣ lane-wise for x ≤ 0 (softmax's z − max, sigmoid's −|z|), relative error a few ulp down to −87.3; 0
 * below, where the float result would be subnormal (both callers clip such values at 1e−7 anyway).
 */
// @ts-ignore: decorator
@inline
export function expv(x: v128): v128 {
  const tiny = f32x4.lt(x, f32x4.splat(-87.3));
  x = f32x4.max(f32x4.min(x, f32x4.splat(0.0)), f32x4.splat(-87.3));
  const kf = f32x4.nearest(f32x4.mul(x, f32x4.splat(INV_LN2)));
  const p = expm1Reduced(reduce(x, kf));
  const s = pow2(kf);
  return v128.andnot(madd(s, p, s), tiny);
}

/**
 * For each 4-bit mask of lanes, the byte indices (for i8x16.swizzle) that move those 32-bit lanes to the front,
 * in order (then zeros).
 */
export const LANES_FIRST = memory.data<u8>([
  255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  0, 1, 2, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  4, 5, 6, 7, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  0, 1, 2, 3, 4, 5, 6, 7, 255, 255, 255, 255, 255, 255, 255, 255,
  8, 9, 10, 11, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  0, 1, 2, 3, 8, 9, 10, 11, 255, 255, 255, 255, 255, 255, 255, 255,
  4, 5, 6, 7, 8, 9, 10, 11, 255, 255, 255, 255, 255, 255, 255, 255,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255, 255, 255, 255,
  12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
  0, 1, 2, 3, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255,
  4, 5, 6, 7, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255,
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 255, 255, 255, 255,
  8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255, 255, 255, 255, 255,
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 255, 255, 255, 255,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
]);
