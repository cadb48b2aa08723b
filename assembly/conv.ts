// The kernels of convolutional networks over channels-last (NHWC) float32 images. All pointers are byte
// offsets into the shared memory. A window's geometry is passed as a pointer to 16 int32 words (see G_* below
// and src/kernels/wasm/abi.ts): output pixel (oy, ox) reads input (oy·sh + ky·dh − padTop, ox·sw + kx·dw −
// padLeft) for each window tap (ky, kx); taps outside the input are padding.
//
// Every kernel computes a sub-range of its output (output rows, input rows, images, weight rows or channels)
// and writes each element from its own inputs only, so a caller may split a call over threads at any range
// boundary without changing a bit of the result.
//
// The 2-D convolution has three forms. `conv2d_forward` / `conv2d_weights` / `conv2d_input` are direct
// ("implicit GEMM"): the GEMM tiles of gemm.ts with the im2col addressing done on the fly, for any groups.
// `im2col` / `col2im` lay the patches out as a matrix for the GEMM kernels of gemm.ts (groups = 1).
// `conv2d_winograd` is the forward of a 3×3 stride-1 convolution by Winograd F(2×2, 3×3) (groups = 1): fewer
// products, other roundings. The JS side picks one per case (src/kernels/wasm/conv.ts).

import { LANES_FIRST, madd, storeLanes, laneMask, hsum, num, N1, N2, N3, N4, N5, N6 } from './simd';
import { tile, FROM_ZERO } from './tiles';
import { activate, activation_block, RELU } from './elementwise';

// Geometry words.
// @ts-ignore: decorator
@inline const G_BATCH: i32 = 0;
// @ts-ignore: decorator
@inline const G_IN_H: i32 = 1;
// @ts-ignore: decorator
@inline const G_IN_W: i32 = 2;
// @ts-ignore: decorator
@inline const G_IN_C: i32 = 3;
// @ts-ignore: decorator
@inline const G_OUT_H: i32 = 4;
// @ts-ignore: decorator
@inline const G_OUT_W: i32 = 5;
// @ts-ignore: decorator
@inline const G_OUT_C: i32 = 6;
// @ts-ignore: decorator
@inline const G_K_H: i32 = 7;
// @ts-ignore: decorator
@inline const G_K_W: i32 = 8;
// @ts-ignore: decorator
@inline const G_S_H: i32 = 9;
// @ts-ignore: decorator
@inline const G_S_W: i32 = 10;
// @ts-ignore: decorator
@inline const G_D_H: i32 = 11;
// @ts-ignore: decorator
@inline const G_D_W: i32 = 12;
// @ts-ignore: decorator
@inline const G_PAD_T: i32 = 13;
// @ts-ignore: decorator
@inline const G_PAD_L: i32 = 14;
// @ts-ignore: decorator
@inline const G_GROUPS: i32 = 15;
/**
 * Not a window word: a ReLU's flag. conv2d_forward and conv2d_winograd apply ReLU (`z > 0 ? z : 0`) to what they
 * store; max_pool_backward routes a window's dy only when its maximum is > 0 (the ReLU before it, folded in).
 */
// @ts-ignore: decorator
@inline const G_RELU: i32 = 16;

// @ts-ignore: decorator
@inline
function gw(geom: usize, word: i32): i32 {
  return load<i32>(geom + ((<usize>word) << 2));
}

/** First output index o ≥ 0 whose input o·stride + offset is ≥ 0. */
// @ts-ignore: decorator
@inline
function firstInside(offset: i32, stride: i32): i32 {
  return offset >= 0 ? 0 : (stride - 1 - offset) / stride;
}

/** Last output index o < outLength whose input o·stride + offset is < length (−1 when none). */
// @ts-ignore: decorator
@inline
function lastInside(offset: i32, stride: i32, length: i32, outLength: i32): i32 {
  const room = length - 1 - offset;
  if (room < 0) return -1;
  return min(outLength - 1, room / stride);
}

// ---- direct convolution: forward.

/** The type argument TC of {@link forwardTile} for one input channel in one group (a first layer on grayscale images). */
type ONE_CHANNEL = N2;

/**
 * One tile of the direct forward: R = num<TR>() adjacent output pixels of one output row × V = num<TV>()
 * vectors of filters. Each accumulator starts at the bias and adds, tap by tap (ky, kx) and channel by
 * channel, x·w, the order of the reference; a pixel whose tap falls on the padding reads `zeros` instead.
 * With TC = ONE_CHANNEL (one input channel, one group) the channel loop is gone, and so is the per-tap choice of
 * a padding pixel when every tap of the tile's row is inside the input (the same products in the same order: a
 * padding tap adds 0·w).
 */
// @ts-ignore: decorator
@inline
function forwardTile<TR, TV, TC>(
  xImage: usize,
  w: usize,
  bias: usize,
  out: usize,
  zeros: usize,
  oy: i32,
  ox: i32,
  geom: usize,
  cols: i32,
): void {
  const R = num<TR>();
  const V = num<TV>();
  const oneChannel = num<TC>() == num<ONE_CHANNEL>();
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c4: usize = oneChannel ? 4 : (<usize>gw(geom, G_IN_C)) << 2;
  const f4 = (<usize>gw(geom, G_OUT_C)) << 2;
  const cg = oneChannel ? 1 : gw(geom, G_IN_C) / gw(geom, G_GROUPS);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sW = gw(geom, G_S_W);
  const dW = gw(geom, G_D_W);
  const padL = gw(geom, G_PAD_L);
  const step = <usize>sW * c4;
  const first = ox * sW - padL;
  const inside = oneChannel && first >= 0 && (ox + R - 1) * sW + (kW - 1) * dW - padL < inW;
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
  for (let ky = 0; ky < kH; ky++) {
    const iy = oy * gw(geom, G_S_H) + ky * gw(geom, G_D_H) - gw(geom, G_PAD_T);
    if (iy < 0 || iy >= inH) continue;
    const xRow = xImage + <usize>(iy * inW) * c4;
    // The taps' rows of w follow one another: the channel loop leaves bp at the next tap's.
    let bp = w + <usize>(ky * kW * cg) * f4;
    for (let kx = 0; kx < kW; kx++) {
      const ix0 = first + kx * dW;
      let p0: usize, p1: usize, p2: usize;
      if (inside) {
        p0 = xRow + <usize>ix0 * c4;
        p1 = p0 + step;
        p2 = p1 + step;
      } else {
        const ix1 = ix0 + sW;
        const ix2 = ix1 + sW;
        p0 = ix0 >= 0 && ix0 < inW ? xRow + <usize>ix0 * c4 : zeros;
        p1 = R > 1 && ix1 >= 0 && ix1 < inW ? xRow + <usize>ix1 * c4 : zeros;
        p2 = R > 2 && ix2 >= 0 && ix2 < inW ? xRow + <usize>ix2 * c4 : zeros;
      }
      // cg ≥ 1, so a do-while runs the channels the for loop would; with one channel it is no loop at all.
      let ci = 0;
      do {
        const b0 = v128.load(bp);
        const b1 = V > 1 ? v128.load(bp, 16) : b0;
        const b2 = V > 2 ? v128.load(bp, 32) : b0;
        const a0 = v128.load32_splat(p0);
        c00 = madd(a0, b0, c00);
        if (V > 1) c01 = madd(a0, b1, c01);
        if (V > 2) c02 = madd(a0, b2, c02);
        if (R > 1) {
          const a1 = v128.load32_splat(p1);
          c10 = madd(a1, b0, c10);
          if (V > 1) c11 = madd(a1, b1, c11);
          if (V > 2) c12 = madd(a1, b2, c12);
        }
        if (R > 2) {
          const a2 = v128.load32_splat(p2);
          c20 = madd(a2, b0, c20);
          if (V > 1) c21 = madd(a2, b1, c21);
          if (V > 2) c22 = madd(a2, b2, c22);
        }
        p0 += 4;
        p1 += 4;
        p2 += 4;
        bp += f4;
        ci++;
      } while (!oneChannel && ci < cg);
    }
  }
  storeRow<TV>(out, c00, c01, c02, cols);
  if (R > 1) storeRow<TV>(out + f4, c10, c11, c12, cols);
  if (R > 2) storeRow<TV>(out + 2 * f4, c20, c21, c22, cols);
}

/** Stores the first `cols` columns of a V-vector row. */
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

/** One output row of a strip of filters: tiles of 3 pixels, then one of 2 or 1 at the row's end. */
// @ts-ignore: decorator
@inline
function forwardStrip<TV, TC>(
  xImage: usize,
  w: usize,
  bias: usize,
  out: usize,
  zeros: usize,
  oy: i32,
  geom: usize,
  cols: i32,
): void {
  const outW = gw(geom, G_OUT_W);
  const f4 = (<usize>gw(geom, G_OUT_C)) << 2;
  let ox = 0;
  for (; ox + 3 <= outW; ox += 3) {
    forwardTile<N3, TV, TC>(xImage, w, bias, out + <usize>ox * f4, zeros, oy, ox, geom, cols);
  }
  if (outW - ox == 2) forwardTile<N2, TV, TC>(xImage, w, bias, out + <usize>ox * f4, zeros, oy, ox, geom, cols);
  else if (outW - ox == 1) forwardTile<N1, TV, TC>(xImage, w, bias, out + <usize>ox * f4, zeros, oy, ox, geom, cols);
}

/** A strip of `cols` ≤ 12 filters in the tile of 1, 2 or 3 vectors that holds them. */
// @ts-ignore: decorator
@inline
function forwardStrips<TC>(
  xImage: usize,
  w: usize,
  bias: usize,
  out: usize,
  zeros: usize,
  oy: i32,
  geom: usize,
  cols: i32,
): void {
  if (cols > 8) forwardStrip<N3, TC>(xImage, w, bias, out, zeros, oy, geom, cols);
  else if (cols > 4) forwardStrip<N2, TC>(xImage, w, bias, out, zeros, oy, geom, cols);
  else forwardStrip<N1, TC>(xImage, w, bias, out, zeros, oy, geom, cols);
}

/**
 * One tile of a one-channel, one-group forward whose taps all lie inside the input's row: R = num<TR>() ≤ 6
 * adjacent output pixels × 2 vectors (8 filters). Measured on the small CNN's conv1 (one thread): 4 × 2 tiles
 * 400 µs, 5 × 2 490 µs, 6 × 2 487 µs (V8 spills their accumulators here), {@link forwardTile}'s 3 × 3 with its
 * per-tap choice of padding pixels 487 µs. Starts at the
 * bias and adds x·w tap by tap, as forwardTile does, so its results are forwardTile's bits; a tap row outside
 * the input is left out as there.
 */
// @ts-ignore: decorator
@inline
function oneChannelTile<TR>(xImage: usize, w: usize, bias: usize, out: usize, oy: i32, ox: i32, geom: usize, cols: i32): void {
  const R = num<TR>();
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const f4 = (<usize>gw(geom, G_OUT_C)) << 2;
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const step = (<usize>gw(geom, G_S_W)) << 2;
  const tapStep = (<usize>gw(geom, G_D_W)) << 2;
  let init0 = f32x4.splat(0);
  let init1 = init0;
  if (bias != 0) {
    init0 = v128.load(bias);
    init1 = v128.load(bias, 16);
  }
  let c00 = init0, c01 = init1, c10 = init0, c11 = init1, c20 = init0, c21 = init1;
  let c30 = init0, c31 = init1, c40 = init0, c41 = init1, c50 = init0, c51 = init1;
  const first = ox * gw(geom, G_S_W) - gw(geom, G_PAD_L);
  for (let ky = 0; ky < kH; ky++) {
    const iy = oy * gw(geom, G_S_H) + ky * gw(geom, G_D_H) - gw(geom, G_PAD_T);
    if (iy < 0 || iy >= inH) continue;
    let p = xImage + (<usize>(iy * inW + first) << 2);
    let bp = w + <usize>(ky * kW) * f4;
    for (let kx = 0; kx < kW; kx++) {
      const b0 = v128.load(bp);
      const b1 = v128.load(bp, 16);
      const a0 = v128.load32_splat(p);
      c00 = madd(a0, b0, c00);
      c01 = madd(a0, b1, c01);
      if (R > 1) {
        const a = v128.load32_splat(p + step);
        c10 = madd(a, b0, c10);
        c11 = madd(a, b1, c11);
      }
      if (R > 2) {
        const a = v128.load32_splat(p + 2 * step);
        c20 = madd(a, b0, c20);
        c21 = madd(a, b1, c21);
      }
      if (R > 3) {
        const a = v128.load32_splat(p + 3 * step);
        c30 = madd(a, b0, c30);
        c31 = madd(a, b1, c31);
      }
      if (R > 4) {
        const a = v128.load32_splat(p + 4 * step);
        c40 = madd(a, b0, c40);
        c41 = madd(a, b1, c41);
      }
      if (R > 5) {
        const a = v128.load32_splat(p + 5 * step);
        c50 = madd(a, b0, c50);
        c51 = madd(a, b1, c51);
      }
      p += tapStep;
      bp += f4;
    }
  }
  storeRow<N2>(out, c00, c01, c01, cols);
  if (R > 1) storeRow<N2>(out + f4, c10, c11, c11, cols);
  if (R > 2) storeRow<N2>(out + 2 * f4, c20, c21, c21, cols);
  if (R > 3) storeRow<N2>(out + 3 * f4, c30, c31, c31, cols);
  if (R > 4) storeRow<N2>(out + 4 * f4, c40, c41, c41, cols);
  if (R > 5) storeRow<N2>(out + 5 * f4, c50, c51, c51, cols);
}

/**
 * One output row of a one-channel, one-group forward: per strip of 8 filters, the pixels whose taps all lie
 * inside the input's row in tiles of 4 ({@link oneChannelTile}), the others (padding) one by one through
 * {@link forwardTile}.
 */
function oneChannelRow(xImage: usize, w: usize, bias: usize, rowOut: usize, zeros: usize, oy: i32, geom: usize): void {
  const outW = gw(geom, G_OUT_W);
  const f = gw(geom, G_OUT_C);
  const f4 = (<usize>f) << 2;
  const inW = gw(geom, G_IN_W);
  const sW = gw(geom, G_S_W);
  const padL = gw(geom, G_PAD_L);
  const reach = (gw(geom, G_K_W) - 1) * gw(geom, G_D_W);
  // Pixels [a, b) have every tap inside the row.
  const a = min(outW, firstInside(-padL, sW));
  const b = max(a, lastInside(-padL + reach, sW, inW, outW) + 1);
  for (let j = 0; j < f; j += 8) {
    const cols = min(8, f - j);
    const jb = (<usize>j) << 2;
    const wj = w + jb;
    const bj: usize = bias == 0 ? 0 : bias + jb;
    const out = rowOut + jb;
    for (let ox = 0; ox < a; ox++) {
      forwardTile<N1, N2, ONE_CHANNEL>(xImage, wj, bj, out + <usize>ox * f4, zeros, oy, ox, geom, cols);
    }
    let ox = a;
    for (; ox + 4 <= b; ox += 4) oneChannelTile<N4>(xImage, wj, bj, out + <usize>ox * f4, oy, ox, geom, cols);
    const left = b - ox;
    const at = out + <usize>ox * f4;
    if (left == 3) oneChannelTile<N3>(xImage, wj, bj, at, oy, ox, geom, cols);
    else if (left == 2) oneChannelTile<N2>(xImage, wj, bj, at, oy, ox, geom, cols);
    else if (left == 1) oneChannelTile<N1>(xImage, wj, bj, at, oy, ox, geom, cols);
    for (ox = b; ox < outW; ox++) {
      forwardTile<N1, N2, ONE_CHANNEL>(xImage, wj, bj, out + <usize>ox * f4, zeros, oy, ox, geom, cols);
    }
  }
}

/**
 * y = conv(x, w) + bias for output rows [r0, r1) (row r = image r / outH, output row r % outH), any groups.
 * Per output row and group: strips of 12 filters outside, tiles of 3 pixels inside, so a strip of w stays in
 * L1 while the row's pixels stream through it. `zeros` must hold inChannels/groups zero floats (what a tap on
 * the padding reads). Loads may read up to 11 floats past a row of w or bias (the allocator's guard).
 */
export function conv2d_forward(
  geom: usize,
  x: usize,
  w: usize,
  bias: usize,
  y: usize,
  zeros: usize,
  r0: i32,
  r1: i32,
): void {
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const f = gw(geom, G_OUT_C);
  const groups = gw(geom, G_GROUPS);
  const image4 = (<usize>(gw(geom, G_IN_H) * gw(geom, G_IN_W) * gw(geom, G_IN_C))) << 2;
  const cg4 = (<usize>(gw(geom, G_IN_C) / groups)) << 2;
  const fg = f / groups;
  // One input channel, one group: the tiles without the channel loop.
  const single = groups == 1 && gw(geom, G_IN_C) == 1;
  for (let r = r0; r < r1; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    const rowOut = y + ((<usize>r * <usize>outW * <usize>f) << 2);
    if (single) {
      oneChannelRow(x + <usize>n * image4, w, bias, rowOut, zeros, oy, geom);
    } else {
      for (let g = 0; g < groups; g++) {
        const xImage = x + <usize>n * image4 + <usize>g * cg4;
        const end = (g + 1) * fg;
        for (let j = g * fg; j < end; j += 12) {
          const cols = min(12, end - j);
          const jb = (<usize>j) << 2;
          const bj: usize = bias == 0 ? 0 : bias + jb;
          forwardStrips<N1>(xImage, w + jb, bj, rowOut + jb, zeros, oy, geom, cols);
        }
      }
    }
    // The row is still in L1: its ReLU here saves a pass over the whole output.
    if (gw(geom, G_RELU) != 0) {
      const count = outW * f;
      activation_block(RELU, rowOut, rowOut, 1, count, 0, count);
    }
  }
}

/** relu ? ReLU(v) : v, lane-wise: the activation kernels' ReLU (`z > 0 ? z : 0`, NaN and −0 to +0). */
// @ts-ignore: decorator
@inline
function activated(relu: bool, v: v128): v128 {
  return relu ? activate<N1>(v) : v;
}

// ---- direct convolution: weight gradient.

/** Output pixels per block of the dW product: the block's x and dy stay in L1 while every tile runs over it. */
// @ts-ignore: decorator
@inline const WEIGHTS_BLOCK_PIXELS: i32 = 64;

/**
 * One tile of dW: R = num<TR>() adjacent kernel rows (channels channel..channel+R−1 of one tap) × V vectors of
 * filters, adding to what `out` holds the sum over the output rows [q0, q1) (q = image·outH + oy) of
 * x[…, c]·dy[…, f] for every pixel whose tap falls inside the input.
 */
// @ts-ignore: decorator
@inline
function weightsTile<TR, TV>(
  x: usize,
  dy: usize,
  out: usize,
  ky: i32,
  kx: i32,
  channel: i32,
  column: i32,
  geom: usize,
  cols: i32,
  q0: i32,
  q1: i32,
): void {
  const R = num<TR>();
  const V = num<TV>();
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const c4 = (<usize>gw(geom, G_IN_C)) << 2;
  const f4 = (<usize>gw(geom, G_OUT_C)) << 2;
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const rowOffset = ky * gw(geom, G_D_H) - gw(geom, G_PAD_T);
  const colOffset = kx * gw(geom, G_D_W) - gw(geom, G_PAD_L);
  const ox0 = firstInside(colOffset, sW);
  const ox1 = lastInside(colOffset, sW, inW, outW);
  const oy0 = firstInside(rowOffset, sH);
  const oy1 = lastInside(rowOffset, sH, inH, outH);
  const xStep = <usize>sW * c4;
  let c00 = v128.load(out), c01 = c00, c02 = c00;
  if (V > 1) c01 = v128.load(out, 16);
  if (V > 2) c02 = v128.load(out, 32);
  let c10 = c00, c11 = c01, c12 = c02;
  if (R > 1) {
    c10 = v128.load(out + f4);
    if (V > 1) c11 = v128.load(out + f4, 16);
    if (V > 2) c12 = v128.load(out + f4, 32);
  }
  let c20 = c00, c21 = c01, c22 = c02;
  if (R > 2) {
    c20 = v128.load(out + 2 * f4);
    if (V > 1) c21 = v128.load(out + 2 * f4, 16);
    if (V > 2) c22 = v128.load(out + 2 * f4, 32);
  }
  for (let q = q0; q < q1; q++) {
    const n = q / outH;
    const oy = q - n * outH;
    if (oy < oy0 || oy > oy1) continue;
    const iy = oy * sH + rowOffset;
    let ap = x + <usize>((n * inH + iy) * inW + ox0 * sW + colOffset) * c4 + ((<usize>channel) << 2);
    let bp = dy + <usize>(q * outW + ox0) * f4 + ((<usize>column) << 2);
    for (let ox = ox0; ox <= ox1; ox++) {
      const b0 = v128.load(bp);
      const b1 = V > 1 ? v128.load(bp, 16) : b0;
      const b2 = V > 2 ? v128.load(bp, 32) : b0;
      const a0 = v128.load32_splat(ap);
      c00 = madd(a0, b0, c00);
      if (V > 1) c01 = madd(a0, b1, c01);
      if (V > 2) c02 = madd(a0, b2, c02);
      if (R > 1) {
        const a1 = v128.load32_splat(ap, 4);
        c10 = madd(a1, b0, c10);
        if (V > 1) c11 = madd(a1, b1, c11);
        if (V > 2) c12 = madd(a1, b2, c12);
      }
      if (R > 2) {
        const a2 = v128.load32_splat(ap, 8);
        c20 = madd(a2, b0, c20);
        if (V > 1) c21 = madd(a2, b1, c21);
        if (V > 2) c22 = madd(a2, b2, c22);
      }
      ap += xStep;
      bp += f4;
    }
  }
  storeRow<TV>(out, c00, c01, c02, cols);
  if (R > 1) storeRow<TV>(out + f4, c10, c11, c12, cols);
  if (R > 2) storeRow<TV>(out + 2 * f4, c20, c21, c22, cols);
}

// @ts-ignore: decorator
@inline
function weightsRows<TV>(
  x: usize,
  dy: usize,
  dw: usize,
  p0: i32,
  p1: i32,
  g: i32,
  column: i32,
  geom: usize,
  cols: i32,
  q0: i32,
  q1: i32,
): void {
  const kW = gw(geom, G_K_W);
  const cg = gw(geom, G_IN_C) / gw(geom, G_GROUPS);
  const f4 = (<usize>gw(geom, G_OUT_C)) << 2;
  // One channel per group (a first layer on grayscale images): adjacent taps of a kernel row read adjacent
  // floats, as adjacent channels do, so a tile takes up to 3 taps when they cover the same output columns.
  const tapTiles = cg == 1 && gw(geom, G_D_W) == 1;
  const inW = gw(geom, G_IN_W);
  const outW = gw(geom, G_OUT_W);
  const sW = gw(geom, G_S_W);
  const padL = gw(geom, G_PAD_L);
  let p = p0;
  while (p < p1) {
    const tap = p / cg;
    const ci = p - tap * cg;
    const ky = tap / kW;
    const kx = tap - ky * kW;
    let rows = min(3, min(cg - ci, p1 - p));
    if (tapTiles) {
      const first = firstInside(kx - padL, sW);
      const last = lastInside(kx - padL, sW, inW, outW);
      rows = 1;
      while (
        rows < 3 &&
        p + rows < p1 &&
        kx + rows < kW &&
        firstInside(kx + rows - padL, sW) == first &&
        lastInside(kx + rows - padL, sW, inW, outW) == last
      ) {
        rows++;
      }
    }
    const out = dw + <usize>p * f4 + ((<usize>column) << 2);
    const channel = g * cg + ci;
    if (rows == 3) weightsTile<N3, TV>(x, dy, out, ky, kx, channel, column, geom, cols, q0, q1);
    else if (rows == 2) weightsTile<N2, TV>(x, dy, out, ky, kx, channel, column, geom, cols, q0, q1);
    else weightsTile<N1, TV>(x, dy, out, ky, kx, channel, column, geom, cols, q0, q1);
    p += rows;
  }
}

/**
 * dw[p0..p1, :] = Σ over pixels of x-patch ⊗ dy for the kernel rows p = (ky·kw + kx)·(C/groups) + c in
 * [p0, p1), every filter (written, not accumulated). The pixels go in blocks of whole output rows (about 64
 * pixels, so their x and dy stay in L1); per block, strips of 12 filters and tiles of up to 3 channels of
 * one tap add the block's sums to dw. The blocks depend on the geometry only, so any split of [p0, p1) gives
 * the same bits.
 */
export function conv2d_weights(geom: usize, x: usize, dy: usize, dw: usize, p0: i32, p1: i32): void {
  weightsPart(geom, x, dy, dw, p0, p1, 0, gw(geom, G_OUT_C));
}

/**
 * {@link conv2d_weights} for filters [j0, j1) and every kernel row, groups 1 (j0 a multiple of 4): how a layer
 * with few kernel rows splits between the threads (a first layer on grayscale images has 9; in tiles of 3 they
 * split 6 : 3). The same sums in the same order as conv2d_weights, so the same bits.
 */
export function conv2d_weights_columns(geom: usize, x: usize, dy: usize, dw: usize, j0: i32, j1: i32): void {
  weightsPart(geom, x, dy, dw, 0, gw(geom, G_K_H) * gw(geom, G_K_W) * gw(geom, G_IN_C), j0, j1);
}

/** Kernel rows [p0, p1) × filters [j0, j1) of dW (filters either all, or within one group's). */
function weightsPart(geom: usize, x: usize, dy: usize, dw: usize, p0: i32, p1: i32, j0: i32, j1: i32): void {
  const groups = gw(geom, G_GROUPS);
  const f = gw(geom, G_OUT_C);
  const fg = f / groups;
  const rows = gw(geom, G_BATCH) * gw(geom, G_OUT_H);
  const block = max(1, WEIGHTS_BLOCK_PIXELS / gw(geom, G_OUT_W));
  const f4 = (<usize>f) << 2;
  if (j0 == 0 && j1 == f) memory.fill(dw + <usize>p0 * f4, 0, <usize>(p1 - p0) * f4);
  else {
    for (let p = p0; p < p1; p++) memory.fill(dw + <usize>p * f4 + ((<usize>j0) << 2), 0, (<usize>(j1 - j0)) << 2);
  }
  for (let q0 = 0; q0 < rows; q0 += block) {
    const q1 = min(rows, q0 + block);
    for (let g = 0; g < groups; g++) {
      const end = min(j1, (g + 1) * fg);
      for (let j = max(j0, g * fg); j < end; ) {
        // Strips of 12 filters; 16 left go as 8 + 8 rather than 12 + 4 (a 1-vector strip runs at half speed).
        const cols = end - j == 16 ? 8 : min(12, end - j);
        if (cols > 8) weightsRows<N3>(x, dy, dw, p0, p1, g, j, geom, cols, q0, q1);
        else if (cols > 4) weightsRows<N2>(x, dy, dw, p0, p1, g, j, geom, cols, q0, q1);
        else weightsRows<N1>(x, dy, dw, p0, p1, g, j, geom, cols, q0, q1);
        j += cols;
      }
    }
  }
}

/**
 * The kernel of the input gradient of a stride-1 convolution, as a forward convolution of dy: flipped in
 * both spatial axes, and input and output channels swapped within each group,
 * wt[kh−1−ky, kw−1−kx, f′, g·C_g + c′] = w[ky, kx, c′, g·F_g + f′]. `geom` is the forward convolution's.
 */
export function conv2d_flip(geom: usize, w: usize, wt: usize): void {
  const c = gw(geom, G_IN_C);
  const f = gw(geom, G_OUT_C);
  const groups = gw(geom, G_GROUPS);
  const cg = c / groups;
  const fg = f / groups;
  const taps = gw(geom, G_K_H) * gw(geom, G_K_W);
  for (let tap = 0; tap < taps; tap++) {
    const flipped = taps - 1 - tap;
    for (let ci = 0; ci < cg; ci++) {
      const source = w + (<usize>((tap * cg + ci) * f) << 2);
      for (let o = 0; o < f; o++) {
        const g = o / fg;
        const target = wt + (<usize>((flipped * fg + (o - g * fg)) * c + g * cg + ci) << 2);
        store<f32>(target, load<f32>(source + (<usize>o << 2)));
      }
    }
  }
}

// ---- direct convolution: input gradient.

/**
 * dx for input rows [r0, r1) (row r = image r / inH, input row r % inH): for each pixel and each block of 4
 * channels, dot products over the taps that read the pixel and the filters of the channel's group,
 * Σ dy[n,oy,ox,f]·w[ky,kx,c,f], in vector lanes (the last partial vector masked), then a fixed-order sum.
 */
export function conv2d_input(geom: usize, dy: usize, w: usize, dx: usize, r0: i32, r1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const f = gw(geom, G_OUT_C);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const dH = gw(geom, G_D_H);
  const dW = gw(geom, G_D_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const groups = gw(geom, G_GROUPS);
  const cg = c / groups;
  const fg = f / groups;
  const f4 = (<usize>f) << 2;
  const full = fg & ~3;
  const mask = laneMask(fg - full);
  for (let r = r0; r < r1; r++) {
    const n = r / inH;
    const iy = r - n * inH;
    for (let ix = 0; ix < inW; ix++) {
      const target = dx + (<usize>((r * inW + ix) * c) << 2);
      for (let g = 0; g < groups; g++) {
        const f0 = <usize>(g * fg) << 2;
        for (let ci = 0; ci < cg; ci += 4) {
          const count = min(4, cg - ci);
          let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
          for (let ky = 0; ky < kH; ky++) {
            const ry = iy + padT - ky * dH;
            if (ry < 0) break;
            const oy = ry / sH;
            if (oy * sH != ry || oy >= outH) continue;
            for (let kx = 0; kx < kW; kx++) {
              const rx = ix + padL - kx * dW;
              if (rx < 0) break;
              const ox = rx / sW;
              if (ox * sW != rx || ox >= outW) continue;
              const a = dy + <usize>((n * outH + oy) * outW + ox) * f4 + f0;
              const b = w + <usize>((ky * kW + kx) * cg + ci) * f4 + f0;
              let o: usize = 0;
              const end = (<usize>full) << 2;
              for (; o < end; o += 16) {
                const av = v128.load(a + o);
                s0 = madd(av, v128.load(b + o), s0);
                if (count > 1) s1 = madd(av, v128.load(b + f4 + o), s1);
                if (count > 2) s2 = madd(av, v128.load(b + 2 * f4 + o), s2);
                if (count > 3) s3 = madd(av, v128.load(b + 3 * f4 + o), s3);
              }
              if (full < fg) {
                const av = v128.and(v128.load(a + o), mask);
                s0 = madd(av, v128.and(v128.load(b + o), mask), s0);
                if (count > 1) s1 = madd(av, v128.and(v128.load(b + f4 + o), mask), s1);
                if (count > 2) s2 = madd(av, v128.and(v128.load(b + 2 * f4 + o), mask), s2);
                if (count > 3) s3 = madd(av, v128.and(v128.load(b + 3 * f4 + o), mask), s3);
              }
            }
          }
          const t = target + (<usize>(g * cg + ci) << 2);
          store<f32>(t, hsum(s0));
          if (count > 1) store<f32>(t, hsum(s1), 4);
          if (count > 2) store<f32>(t, hsum(s2), 8);
          if (count > 3) store<f32>(t, hsum(s3), 12);
        }
      }
    }
  }
}

// ---- zero-skipping convolutions (groups = 1): the gradients a ReLU and a max pooling leave behind are
// mostly zeros (about 87 % in the small CNN's training), and a term x·0 adds nothing. Lists of the non-zero
// channels of each pixel let the kernels below visit only the terms that count, in the order the dense kernels
// visit them, so each sum is the dense kernel's (a skipped term is a signed zero: the sums agree up to the sign
// of a zero result, and a non-finite weight that a zero input would have turned into NaN).

/**
 * For pixels [p0, p1) of an image batch (pixel rows of `c` channels): the channels holding a non-zero value,
 * at `lists + pixel·stride·4`: word 0 the count, then the channel indices in increasing order (`stride` ≥ c + 1
 * words). Returns the number of non-zero values in the range.
 */
export function nonzero_channels(x: usize, c: i32, lists: usize, stride: i32, p0: i32, p1: i32): i32 {
  const c4 = (<usize>c) << 2;
  const zero = f32x4.splat(0);
  const four = i32x4.splat(4);
  let total = 0;
  for (let p = p0; p < p1; p++) {
    const row = x + <usize>p * c4;
    const list = lists + ((<usize>p * <usize>stride) << 2);
    const entries = list + 4;
    let count = 0;
    let ch = 0;
    let indices = i32x4(0, 1, 2, 3);
    for (; ch + 4 <= c; ch += 4) {
      // Branch-free append: the indices of the non-zero lanes moved to the front by a table of shuffles and
      // stored as one vector, the write position advanced past them. The store may reach 3 words past the
      // last index written: callers leave a stride of at least c + 4.
      const bits = i32x4.bitmask(f32x4.ne(v128.load(row + ((<usize>ch) << 2)), zero));
      v128.store(entries + ((<usize>count) << 2), i8x16.swizzle(indices, v128.load(LANES_FIRST + ((<usize>bits) << 4))));
      count += <i32>popcnt(bits);
      indices = i32x4.add(indices, four);
    }
    for (; ch < c; ch++) {
      if (load<f32>(row + ((<usize>ch) << 2)) != 0) {
        store<i32>(entries + ((<usize>count) << 2), ch);
        count++;
      }
    }
    store<i32>(list, count);
    total += count;
  }
  return total;
}

/**
 * y = conv(x, w) + bias for output rows [r0, r1), groups 1, over the non-zero input channels only (`lists`
 * from {@link nonzero_channels} over x, `stride` words per pixel). Per output pixel, strips of up to 32 filters
 * in registers; per tap inside the input, the listed channels in order, as the dense kernel adds them. Weight
 * and bias loads stay within the strip's whole vectors, up to 3 floats past a row (the allocator keeps 64 bytes
 * readable past every block).
 */
export function conv2d_forward_lists(
  geom: usize,
  x: usize,
  w: usize,
  bias: usize,
  y: usize,
  lists: usize,
  stride: i32,
  r0: i32,
  r1: i32,
): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const f = gw(geom, G_OUT_C);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const dH = gw(geom, G_D_H);
  const dW = gw(geom, G_D_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const c4 = (<usize>c) << 2;
  const f4 = (<usize>f) << 2;
  const stride4 = (<usize>stride) << 2;
  for (let r = r0; r < r1; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    for (let ox = 0; ox < outW; ox++) {
      const out = y + <usize>(r * outW + ox) * f4;
      for (let j = 0; j < f; j += 32) {
        const cols = min(32, f - j);
        const vectors = (cols + 3) >> 2;
        const jb = (<usize>j) << 2;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        if (bias != 0) {
          const b = bias + jb;
          a0 = v128.load(b);
          if (vectors > 1) a1 = v128.load(b, 16);
          if (vectors > 2) a2 = v128.load(b, 32);
          if (vectors > 3) a3 = v128.load(b, 48);
          if (vectors > 4) a4 = v128.load(b, 64);
          if (vectors > 5) a5 = v128.load(b, 80);
          if (vectors > 6) a6 = v128.load(b, 96);
          if (vectors > 7) a7 = v128.load(b, 112);
        }
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * sH + ky * dH - padT;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * sW + kx * dW - padL;
            if (ix < 0 || ix >= inW) continue;
            const pixel = (n * inH + iy) * inW + ix;
            const list = lists + <usize>pixel * stride4;
            const count = load<i32>(list);
            const xp = x + <usize>pixel * c4;
            const wp = w + <usize>((ky * kW + kx) * c) * f4 + jb;
            for (let t = 0; t < count; t++) {
              const ci = load<i32>(list + 4 + ((<usize>t) << 2));
              const a = v128.load32_splat(xp + ((<usize>ci) << 2));
              const row = wp + <usize>ci * f4;
              a0 = madd(a, v128.load(row), a0);
              if (vectors > 1) a1 = madd(a, v128.load(row, 16), a1);
              if (vectors > 2) a2 = madd(a, v128.load(row, 32), a2);
              if (vectors > 3) a3 = madd(a, v128.load(row, 48), a3);
              if (vectors > 4) a4 = madd(a, v128.load(row, 64), a4);
              if (vectors > 5) a5 = madd(a, v128.load(row, 80), a5);
              if (vectors > 6) a6 = madd(a, v128.load(row, 96), a6);
              if (vectors > 7) a7 = madd(a, v128.load(row, 112), a7);
            }
          }
        }
        storeLanes(out + jb, a0, cols);
        if (vectors > 1) storeLanes(out + jb + 16, a1, cols - 4);
        if (vectors > 2) storeLanes(out + jb + 32, a2, cols - 8);
        if (vectors > 3) storeLanes(out + jb + 48, a3, cols - 12);
        if (vectors > 4) storeLanes(out + jb + 64, a4, cols - 16);
        if (vectors > 5) storeLanes(out + jb + 80, a5, cols - 20);
        if (vectors > 6) storeLanes(out + jb + 96, a6, cols - 24);
        if (vectors > 7) storeLanes(out + jb + 112, a7, cols - 28);
      }
    }
  }
}

/**
 * dw[:, :, :, f0..f1) = Σ over pixels of x-patch · dy for filters [f0, f1), groups 1, over the non-zero dy
 * values only (`lists` from {@link nonzero_channels} over dy). One pass over the lists sorts the non-zero values
 * into a column per filter (16-byte entries: the pixel's image, the input row and column of its window's first
 * tap (two int16), that tap's byte address in x (valid inside the input only), the value). Then image by image
 * (its x stays in L1), per filter and tap, the image's entries add to a transposed sum dwt[filter][tap][channel]
 * (32 channels at a time in registers); the sums are copied to dw at the end. Per element, pixels are added in
 * order, as the dense kernel adds them. `columns` (a count and a cursor per filter, rounded up to 4 words; then per filter `pixels` entries; then per
 * filter its taps·c sums) is indexed by filter, so
 * chunks over disjoint filter ranges share it. Needs the input channels to be a multiple of 4.
 */
export function conv2d_weights_lists(
  geom: usize,
  x: usize,
  dy: usize,
  dw: usize,
  lists: usize,
  stride: i32,
  columns: usize,
  f0: i32,
  f1: i32,
): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const f = gw(geom, G_OUT_C);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const dH = gw(geom, G_D_H);
  const dW = gw(geom, G_D_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const batch = gw(geom, G_BATCH);
  const taps = kH * kW;
  const pixels = batch * outH * outW;
  const c4 = (<usize>c) << 2;
  const f4 = (<usize>f) << 2;
  const stride4 = (<usize>stride) << 2;
  const counts = columns;
  const cursors = columns + ((<usize>f) << 2);
  const entries = columns + ((<usize>((2 * f + 3) & ~3)) << 2);
  const column16 = (<usize>pixels) << 4;
  const sums = entries + <usize>f * column16;
  const sumRow = (<usize>(taps * c)) << 2;
  for (let o = f0; o < f1; o++) {
    store<i32>(counts + ((<usize>o) << 2), 0);
    store<i32>(cursors + ((<usize>o) << 2), 0);
    memory.fill(sums + <usize>o * sumRow, 0, sumRow);
  }
  let q = 0;
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++, q++) {
        const list = lists + <usize>q * stride4;
        const listed = load<i32>(list);
        for (let t = 0; t < listed; t++) {
          const o = load<i32>(list + 4 + ((<usize>t) << 2));
          if (o < f0 || o >= f1) continue;
          const countAt = counts + ((<usize>o) << 2);
          const k = load<i32>(countAt);
          const entry = entries + <usize>o * column16 + ((<usize>k) << 4);
          const iy0 = oy * sH - padT;
          const ix0 = ox * sW - padL;
          store<i32>(entry, n);
          store<i32>(entry, (iy0 << 16) | (ix0 & 0xffff), 4);
          store<i32>(entry, <i32>x + ((((n * inH + iy0) * inW + ix0) * c) << 2), 8);
          store<f32>(entry, load<f32>(dy + <usize>q * f4 + ((<usize>o) << 2)), 12);
          store<i32>(countAt, k + 1);
        }
      }
    }
  }
  // Whether every window lies inside the input ('valid' padding): then no tap needs a check.
  const inside =
    padT == 0 &&
    padL == 0 &&
    (outH - 1) * sH + (kH - 1) * dH < inH &&
    (outW - 1) * sW + (kW - 1) * dW < inW;
  for (let n = 0; n < batch; n++) {
    for (let o = f0; o < f1; o++) {
      const count = load<i32>(counts + ((<usize>o) << 2));
      const cursorAt = cursors + ((<usize>o) << 2);
      const column = entries + <usize>o * column16;
      const begin = load<i32>(cursorAt);
      let end = begin;
      while (end < count && load<i32>(column + ((<usize>end) << 4)) == n) end++;
      store<i32>(cursorAt, end);
      if (begin == end) continue;
      const sumBase = sums + <usize>o * sumRow;
      for (let ky = 0; ky < kH; ky++) {
        const rowTap = ky * dH;
        for (let kx = 0; kx < kW; kx++) {
          const colTap = kx * dW;
          const tapOffset = <usize>(rowTap * inW + colTap) * c4;
          const tapSums = sumBase + <usize>(ky * kW + kx) * c4;
          for (let c0 = 0; c0 < c; c0 += 32) {
            const vectors = min(8, (c - c0) >> 2);
            const cb = (<usize>c0) << 2;
            const at = tapSums + cb;
            let s0 = v128.load(at), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
            if (vectors > 1) s1 = v128.load(at, 16);
            if (vectors > 2) s2 = v128.load(at, 32);
            if (vectors > 3) s3 = v128.load(at, 48);
            if (vectors > 4) s4 = v128.load(at, 64);
            if (vectors > 5) s5 = v128.load(at, 80);
            if (vectors > 6) s6 = v128.load(at, 96);
            if (vectors > 7) s7 = v128.load(at, 112);
            for (let t = begin; t < end; t++) {
              const entry = column + ((<usize>t) << 4);
              if (!inside) {
                const packed = load<i32>(entry, 4);
                const iy = (packed >> 16) + rowTap;
                const ix = ((packed << 16) >> 16) + colTap;
                if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
              }
              const v = v128.load32_splat(entry, 12);
              const xp = <usize>load<i32>(entry, 8) + tapOffset + cb;
              s0 = madd(v128.load(xp), v, s0);
              if (vectors > 1) s1 = madd(v128.load(xp, 16), v, s1);
              if (vectors > 2) s2 = madd(v128.load(xp, 32), v, s2);
              if (vectors > 3) s3 = madd(v128.load(xp, 48), v, s3);
              if (vectors > 4) s4 = madd(v128.load(xp, 64), v, s4);
              if (vectors > 5) s5 = madd(v128.load(xp, 80), v, s5);
              if (vectors > 6) s6 = madd(v128.load(xp, 96), v, s6);
              if (vectors > 7) s7 = madd(v128.load(xp, 112), v, s7);
            }
            v128.store(at, s0);
            if (vectors > 1) v128.store(at, s1, 16);
            if (vectors > 2) v128.store(at, s2, 32);
            if (vectors > 3) v128.store(at, s3, 48);
            if (vectors > 4) v128.store(at, s4, 64);
            if (vectors > 5) v128.store(at, s5, 80);
            if (vectors > 6) v128.store(at, s6, 96);
            if (vectors > 7) v128.store(at, s7, 112);
          }
        }
      }
    }
  }
  // dw[tap, channel, o] = sums[o][tap][channel].
  const rows = taps * c;
  for (let o = f0; o < f1; o++) {
    const sumBase = sums + <usize>o * sumRow;
    const target = dw + ((<usize>o) << 2);
    for (let p = 0; p < rows; p++) store<f32>(target + <usize>p * f4, load<f32>(sumBase + ((<usize>p) << 2)));
  }
}


// ---- im2col / col2im (groups = 1).

/** Copies `count` floats (vectors, then the rest). */
// @ts-ignore: decorator
@inline
function copyFloats(target: usize, source: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(target + (<usize>i << 2), v128.load(source + (<usize>i << 2)));
  for (; i < count; i++) store<f32>(target + (<usize>i << 2), load<f32>(source + (<usize>i << 2)));
}

/**
 * The patch matrix of output rows [r0, r1): one row per output pixel, `kh·kw·C` columns ordered (ky, kx, c) as
 * the kernel's rows, zeros for taps on the padding. Then conv = patches · kernel (a GEMM).
 */
export function im2col(geom: usize, x: usize, cols: usize, r0: i32, r1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const dH = gw(geom, G_D_H);
  const dW = gw(geom, G_D_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const c4 = (<usize>c) << 2;
  const rowBytes = <usize>(kH * kW) * c4;
  let target = cols + <usize>r0 * <usize>outW * rowBytes;
  for (let r = r0; r < r1; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    for (let ox = 0; ox < outW; ox++) {
      for (let ky = 0; ky < kH; ky++) {
        const iy = oy * sH + ky * dH - padT;
        for (let kx = 0; kx < kW; kx++) {
          const ix = ox * sW + kx * dW - padL;
          if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) memory.fill(target, 0, c4);
          else if (c == 1) store<f32>(target, load<f32>(x + (<usize>((n * inH + iy) * inW + ix) << 2)));
          else copyFloats(target, x + <usize>((n * inH + iy) * inW + ix) * c4, c);
          target += c4;
        }
      }
    }
  }
}

/**
 * dx of input rows [r0, r1) from the patch matrix's gradient: each input pixel gathers, channel vector by
 * channel vector, the entries of every (output pixel, tap) that read it (written, not accumulated).
 */
export function col2im(geom: usize, cols: usize, dx: usize, r0: i32, r1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const dH = gw(geom, G_D_H);
  const dW = gw(geom, G_D_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const c4 = (<usize>c) << 2;
  const rowBytes = <usize>(kH * kW) * c4;
  for (let r = r0; r < r1; r++) {
    const n = r / inH;
    const iy = r - n * inH;
    for (let ix = 0; ix < inW; ix++) {
      const target = dx + <usize>(r * inW + ix) * c4;
      for (let ch = 0; ch < c; ch += 4) {
        let acc = f32x4.splat(0);
        for (let ky = 0; ky < kH; ky++) {
          const ry = iy + padT - ky * dH;
          if (ry < 0) break;
          const oy = ry / sH;
          if (oy * sH != ry || oy >= outH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const rx = ix + padL - kx * dW;
            if (rx < 0) break;
            const ox = rx / sW;
            if (ox * sW != rx || ox >= outW) continue;
            const source = cols + <usize>((n * outH + oy) * outW + ox) * rowBytes + <usize>(ky * kW + kx) * c4;
            acc = f32x4.add(acc, v128.load(source + (<usize>ch << 2)));
          }
        }
        storeLanes(target + (<usize>ch << 2), acc, c - ch);
      }
    }
  }
}

// ---- depthwise convolution.

/**
 * One output row of a 3×3 depthwise convolution (multiplier 1) whose three input rows all lie inside the
 * input: per vector of 4 channels, the 9 weight vectors stay in registers while the row's pixels stream
 * through; a pixel whose window overhangs the left or right edge leaves those taps out. Taps are added in
 * row-major order after the bias, as the reference adds them.
 */
// @ts-ignore: decorator
@inline
function depthwiseRow3x3(
  xTop: usize,
  w: usize,
  bias: usize,
  out: usize,
  c: i32,
  inW: i32,
  outW: i32,
  sW: i32,
  dH: i32,
  dW: i32,
  padL: i32,
): void {
  const c4 = (<usize>c) << 2;
  const rowStride = <usize>(dH * inW) * c4;
  const tapStride = <usize>dW * c4;
  for (let ch = 0; ch < c; ch += 4) {
    const cb = (<usize>ch) << 2;
    const w0 = v128.load(w + cb);
    const w1 = v128.load(w + c4 + cb);
    const w2 = v128.load(w + 2 * c4 + cb);
    const w3 = v128.load(w + 3 * c4 + cb);
    const w4 = v128.load(w + 4 * c4 + cb);
    const w5 = v128.load(w + 5 * c4 + cb);
    const w6 = v128.load(w + 6 * c4 + cb);
    const w7 = v128.load(w + 7 * c4 + cb);
    const w8 = v128.load(w + 8 * c4 + cb);
    const b = bias == 0 ? f32x4.splat(0) : v128.load(bias + cb);
    const r0 = xTop + cb;
    const r1 = r0 + rowStride;
    const r2 = r1 + rowStride;
    for (let ox = 0; ox < outW; ox++) {
      const ix = ox * sW - padL;
      let acc = b;
      if (ix >= 0 && ix + 2 * dW < inW) {
        const p = <usize>ix * c4;
        acc = madd(v128.load(r0 + p), w0, acc);
        acc = madd(v128.load(r0 + p + tapStride), w1, acc);
        acc = madd(v128.load(r0 + p + 2 * tapStride), w2, acc);
        acc = madd(v128.load(r1 + p), w3, acc);
        acc = madd(v128.load(r1 + p + tapStride), w4, acc);
        acc = madd(v128.load(r1 + p + 2 * tapStride), w5, acc);
        acc = madd(v128.load(r2 + p), w6, acc);
        acc = madd(v128.load(r2 + p + tapStride), w7, acc);
        acc = madd(v128.load(r2 + p + 2 * tapStride), w8, acc);
      } else {
        const left = ix >= 0 && ix < inW;
        const middle = ix + dW >= 0 && ix + dW < inW;
        const right = ix + 2 * dW >= 0 && ix + 2 * dW < inW;
        const p = <usize>ix * c4;
        if (left) acc = madd(v128.load(r0 + p), w0, acc);
        if (middle) acc = madd(v128.load(r0 + p + tapStride), w1, acc);
        if (right) acc = madd(v128.load(r0 + p + 2 * tapStride), w2, acc);
        if (left) acc = madd(v128.load(r1 + p), w3, acc);
        if (middle) acc = madd(v128.load(r1 + p + tapStride), w4, acc);
        if (right) acc = madd(v128.load(r1 + p + 2 * tapStride), w5, acc);
        if (left) acc = madd(v128.load(r2 + p), w6, acc);
        if (middle) acc = madd(v128.load(r2 + p + tapStride), w7, acc);
        if (right) acc = madd(v128.load(r2 + p + 2 * tapStride), w8, acc);
      }
      storeLanes(out + <usize>ox * c4 + cb, acc, c - ch);
    }
  }
}

/**
 * Depthwise forward for output rows [r0, r1): with depth multiplier 1, vectors of 4 channels, each starting
 * at its bias and adding x·w tap by tap (3×3 windows inside the input's rows: the weights held in registers
 * along the row); with a larger multiplier, one output channel at a time.
 */
export function depthwise_forward(geom: usize, x: usize, w: usize, bias: usize, y: usize, r0: i32, r1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const f = gw(geom, G_OUT_C);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const dH = gw(geom, G_D_H);
  const dW = gw(geom, G_D_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const multiplier = f / c;
  const c4 = (<usize>c) << 2;
  const f4 = (<usize>f) << 2;
  for (let r = r0; r < r1; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    const kyFirst = firstInside(oy * sH - padT, dH);
    const kyLast = lastInside(oy * sH - padT, dH, inH, kH);
    if (multiplier == 1 && kH == 3 && kW == 3 && kyFirst == 0 && kyLast == 2) {
      const xTop = x + <usize>((n * inH + oy * sH - padT) * inW) * c4;
      depthwiseRow3x3(xTop, w, bias, y + <usize>(r * outW) * f4, c, inW, outW, sW, dH, dW, padL);
      continue;
    }
    for (let ox = 0; ox < outW; ox++) {
      const out = y + <usize>(r * outW + ox) * f4;
      const kxFirst = firstInside(ox * sW - padL, dW);
      const kxLast = lastInside(ox * sW - padL, dW, inW, kW);
      if (multiplier == 1) {
        for (let ch = 0; ch < c; ch += 4) {
          const cb = (<usize>ch) << 2;
          let acc = bias == 0 ? f32x4.splat(0) : v128.load(bias + cb);
          for (let ky = kyFirst; ky <= kyLast; ky++) {
            const iy = oy * sH + ky * dH - padT;
            const xRow = x + <usize>((n * inH + iy) * inW) * c4 + cb;
            const wRow = w + <usize>(ky * kW) * c4 + cb;
            for (let kx = kxFirst; kx <= kxLast; kx++) {
              const ix = ox * sW + kx * dW - padL;
              acc = madd(v128.load(xRow + <usize>ix * c4), v128.load(wRow + <usize>kx * c4), acc);
            }
          }
          storeLanes(out + cb, acc, c - ch);
        }
      } else {
        for (let o = 0; o < f; o++) {
          let acc: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>o << 2));
          const channel = o / multiplier;
          for (let ky = kyFirst; ky <= kyLast; ky++) {
            const iy = oy * sH + ky * dH - padT;
            for (let kx = kxFirst; kx <= kxLast; kx++) {
              const ix = ox * sW + kx * dW - padL;
              const xv = load<f32>(x + <usize>((n * inH + iy) * inW + ix) * c4 + (<usize>channel << 2));
              acc += xv * load<f32>(w + <usize>(ky * kW + kx) * f4 + (<usize>o << 2));
            }
          }
          store<f32>(out + (<usize>o << 2), acc);
        }
      }
    }
  }
}

/** The kernel of a stride-1 depthwise input gradient (multiplier 1) as a forward: flipped in both axes. */
export function depthwise_flip(geom: usize, w: usize, wt: usize): void {
  const taps = gw(geom, G_K_H) * gw(geom, G_K_W);
  const bytes = (<usize>gw(geom, G_OUT_C)) << 2;
  for (let tap = 0; tap < taps; tap++) memory.copy(wt + <usize>(taps - 1 - tap) * bytes, w + <usize>tap * bytes, bytes);
}

/**
 * Depthwise input gradient for input rows [r0, r1): each pixel gathers dy·w over the taps that read it,
 * found once per pixel (multiplier 1: added into dx vector by vector; larger multipliers: channel by channel).
 */
export function depthwise_input(geom: usize, dy: usize, w: usize, dx: usize, r0: i32, r1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const f = gw(geom, G_OUT_C);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const dH = gw(geom, G_D_H);
  const dW = gw(geom, G_D_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const multiplier = f / c;
  const c4 = (<usize>c) << 2;
  const f4 = (<usize>f) << 2;
  for (let r = r0; r < r1; r++) {
    const n = r / inH;
    const iy = r - n * inH;
    for (let ix = 0; ix < inW; ix++) {
      const target = dx + <usize>(r * inW + ix) * c4;
      memory.fill(target, 0, c4);
      for (let ky = 0; ky < kH; ky++) {
        const ry = iy + padT - ky * dH;
        if (ry < 0) break;
        const oy = ry / sH;
        if (oy * sH != ry || oy >= outH) continue;
        for (let kx = 0; kx < kW; kx++) {
          const rx = ix + padL - kx * dW;
          if (rx < 0) break;
          const ox = rx / sW;
          if (ox * sW != rx || ox >= outW) continue;
          const a = dy + <usize>((n * outH + oy) * outW + ox) * f4;
          const b = w + <usize>(ky * kW + kx) * f4;
          if (multiplier == 1) {
            for (let ch = 0; ch < c; ch += 4) {
              const cb = (<usize>ch) << 2;
              storeLanes(target + cb, madd(v128.load(a + cb), v128.load(b + cb), v128.load(target + cb)), c - ch);
            }
          } else {
            for (let ch = 0; ch < c; ch++) {
              let sum: f32 = 0;
              for (let d = 0; d < multiplier; d++) {
                const o = (<usize>(ch * multiplier + d)) << 2;
                sum += load<f32>(a + o) * load<f32>(b + o);
              }
              const t = target + (<usize>ch << 2);
              store<f32>(t, load<f32>(t) + sum);
            }
          }
        }
      }
    }
  }
}

/**
 * Depthwise weight gradient for output channels [o0, o1) (o0 a multiple of 4 when splitting), every tap,
 * written: per output row and tap, the row's pixels are summed in registers (blocks of 4 vectors), then added
 * to dw. `dw` rows are taps: dw[tap·outC + o].
 */
export function depthwise_weights(geom: usize, x: usize, dy: usize, dw: usize, o0: i32, o1: i32): void {
  const batch = gw(geom, G_BATCH);
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const f = gw(geom, G_OUT_C);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const dH = gw(geom, G_D_H);
  const dW = gw(geom, G_D_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const multiplier = f / c;
  const c4 = (<usize>c) << 2;
  const f4 = (<usize>f) << 2;
  for (let tap = 0; tap < kH * kW; tap++) {
    memory.fill(dw + <usize>tap * f4 + (<usize>o0 << 2), 0, (<usize>(o1 - o0)) << 2);
  }
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < outH; oy++) {
      const dyRow = dy + <usize>((n * outH + oy) * outW) * f4;
      for (let ky = 0; ky < kH; ky++) {
        const iy = oy * sH + ky * dH - padT;
        if (iy < 0 || iy >= inH) continue;
        const xRow = x + <usize>((n * inH + iy) * inW) * c4;
        for (let kx = 0; kx < kW; kx++) {
          const offset = kx * dW - padL;
          const ox0 = firstInside(offset, sW);
          const ox1 = lastInside(offset, sW, inW, outW);
          if (ox1 < ox0) continue;
          const target = dw + <usize>(ky * kW + kx) * f4;
          const xStep = <usize>sW * c4;
          if (multiplier == 1) {
            for (let o = o0; o < o1; o += 16) {
              const ob = (<usize>o) << 2;
              const count = min(16, o1 - o);
              let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
              let xp = xRow + <usize>(ox0 * sW + offset) * c4 + ob;
              let dp = dyRow + <usize>ox0 * f4 + ob;
              for (let ox = ox0; ox <= ox1; ox++) {
                a0 = madd(v128.load(xp), v128.load(dp), a0);
                if (count > 4) a1 = madd(v128.load(xp, 16), v128.load(dp, 16), a1);
                if (count > 8) a2 = madd(v128.load(xp, 32), v128.load(dp, 32), a2);
                if (count > 12) a3 = madd(v128.load(xp, 48), v128.load(dp, 48), a3);
                xp += xStep;
                dp += f4;
              }
              const t = target + ob;
              storeLanes(t, f32x4.add(v128.load(t), a0), count);
              if (count > 4) storeLanes(t + 16, f32x4.add(v128.load(t, 16), a1), count - 4);
              if (count > 8) storeLanes(t + 32, f32x4.add(v128.load(t, 32), a2), count - 8);
              if (count > 12) storeLanes(t + 48, f32x4.add(v128.load(t, 48), a3), count - 12);
            }
          } else {
            for (let o = o0; o < o1; o++) {
              const channel = o / multiplier;
              let acc: f32 = 0;
              for (let ox = ox0; ox <= ox1; ox++) {
                const ix = ox * sW + offset;
                acc += load<f32>(xRow + <usize>ix * c4 + (<usize>channel << 2)) * load<f32>(dyRow + <usize>ox * f4 + (<usize>o << 2));
              }
              const t = target + (<usize>o << 2);
              store<f32>(t, load<f32>(t) + acc);
            }
          }
        }
      }
    }
  }
}

/**
 * sums[j0..j1) = Σ_rows x[:, j] over an m×n matrix, rows in order (a bias gradient). Blocks of up to 32
 * columns in registers, so each row's bytes are read once (a pass per vector of columns read every cache line
 * of a wide matrix again for each vector).
 */
export function channel_sums(x: usize, sums: usize, m: i32, n: i32, j0: i32, j1: i32): void {
  const n4 = (<usize>n) << 2;
  for (let j = j0; j < j1; j += 32) {
    const vectors = min(8, (j1 - j + 3) >> 2);
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    let p = x + ((<usize>j) << 2);
    for (let i = 0; i < m; i++) {
      a0 = f32x4.add(a0, v128.load(p));
      if (vectors > 1) a1 = f32x4.add(a1, v128.load(p, 16));
      if (vectors > 2) a2 = f32x4.add(a2, v128.load(p, 32));
      if (vectors > 3) a3 = f32x4.add(a3, v128.load(p, 48));
      if (vectors > 4) a4 = f32x4.add(a4, v128.load(p, 64));
      if (vectors > 5) a5 = f32x4.add(a5, v128.load(p, 80));
      if (vectors > 6) a6 = f32x4.add(a6, v128.load(p, 96));
      if (vectors > 7) a7 = f32x4.add(a7, v128.load(p, 112));
      p += n4;
    }
    const out = sums + ((<usize>j) << 2);
    const left = j1 - j;
    storeLanes(out, a0, left);
    if (vectors > 1) storeLanes(out + 16, a1, left - 4);
    if (vectors > 2) storeLanes(out + 32, a2, left - 8);
    if (vectors > 3) storeLanes(out + 48, a3, left - 12);
    if (vectors > 4) storeLanes(out + 64, a4, left - 16);
    if (vectors > 5) storeLanes(out + 80, a5, left - 20);
    if (vectors > 6) storeLanes(out + 96, a6, left - 24);
    if (vectors > 7) storeLanes(out + 112, a7, left - 28);
  }
}

// ---- pooling.

/**
 * Whether a pooling's windows are 2×2 with strides 2 and all inside the input (Keras's `MaxPooling2D(2)`,
 * `valid`): the case the unrolled loops below take.
 */
// @ts-ignore: decorator
@inline
function pools2x2(geom: usize): bool {
  return (
    gw(geom, G_K_H) == 2 &&
    gw(geom, G_K_W) == 2 &&
    gw(geom, G_S_H) == 2 &&
    gw(geom, G_S_W) == 2 &&
    gw(geom, G_PAD_T) == 0 &&
    gw(geom, G_PAD_L) == 0 &&
    2 * gw(geom, G_OUT_H) <= gw(geom, G_IN_H) &&
    2 * gw(geom, G_OUT_W) <= gw(geom, G_IN_W)
  );
}

/**
 * 2×2 max pooling with strides 2 for output rows [r0, r1): per pixel the four taps' vectors, max(max(a, b),
 * max(c, d)) (max is exact: the same bits as the general loop's running max).
 */
function maxPool2x2Forward(geom: usize, x: usize, y: usize, r0: i32, r1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const c4 = (<usize>c) << 2;
  const rowBytes = <usize>inW * c4;
  for (let r = r0; r < r1; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    let top = x + <usize>(n * inH + 2 * oy) * rowBytes;
    let out = y + <usize>(r * outW) * c4;
    for (let ox = 0; ox < outW; ox++) {
      const bottom = top + rowBytes;
      let ch = 0;
      for (; ch + 4 <= c; ch += 4) {
        const cb = (<usize>ch) << 2;
        const a = f32x4.max(v128.load(top + cb), v128.load(top + c4 + cb));
        const b = f32x4.max(v128.load(bottom + cb), v128.load(bottom + c4 + cb));
        v128.store(out + cb, f32x4.max(a, b));
      }
      if (ch < c) {
        const cb = (<usize>ch) << 2;
        const a = f32x4.max(v128.load(top + cb), v128.load(top + c4 + cb));
        const b = f32x4.max(v128.load(bottom + cb), v128.load(bottom + c4 + cb));
        storeLanes(out + cb, f32x4.max(a, b), c - ch);
      }
      top += 2 * c4;
      out += c4;
    }
  }
}

/** Max pooling for output rows [r0, r1): per pixel, vectors of channels, the max over the taps inside. */
export function max_pool_forward(geom: usize, x: usize, y: usize, r0: i32, r1: i32): void {
  if (pools2x2(geom)) {
    maxPool2x2Forward(geom, x, y, r0, r1);
    return;
  }
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const c4 = (<usize>c) << 2;
  for (let r = r0; r < r1; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    const ky0 = firstInside(oy * sH - padT, 1);
    const ky1 = lastInside(oy * sH - padT, 1, inH, kH);
    for (let ox = 0; ox < outW; ox++) {
      const kx0 = firstInside(ox * sW - padL, 1);
      const kx1 = lastInside(ox * sW - padL, 1, inW, kW);
      const out = y + <usize>(r * outW + ox) * c4;
      const first = x + <usize>((n * inH + oy * sH - padT) * inW + ox * sW - padL) * c4;
      for (let ch = 0; ch < c; ch += 4) {
        const cb = (<usize>ch) << 2;
        let best = f32x4.splat(-Infinity);
        for (let ky = ky0; ky <= ky1; ky++) {
          const row = first + <usize>(ky * inW) * c4 + cb;
          for (let kx = kx0; kx <= kx1; kx++) best = f32x4.max(best, v128.load(row + <usize>kx * c4));
        }
        storeLanes(out + cb, best, c - ch);
      }
    }
  }
}

/**
 * Max pooling backward for images [n0, n1): gives each window's dy to the first tap (in window order) holding
 * the window's maximum y, lane by lane; every other element of their dx is 0.
 */
export function max_pool_backward(geom: usize, x: usize, y: usize, dy: usize, dx: usize, n0: i32, n1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  if (kH == sH && kW == sW && padT == 0 && padL == 0 && outH * kH <= inH && outW * kW <= inW) {
    tiledMaxPoolBackward(geom, x, y, dy, dx, n0, n1);
    return;
  }
  const positiveOnly = gw(geom, G_RELU) != 0;
  const zero = f32x4.splat(0);
  const c4 = (<usize>c) << 2;
  const image = <usize>(inH * inW) * c4;
  memory.fill(dx + <usize>n0 * image, 0, <usize>(n1 - n0) * image);
  for (let r = n0 * outH; r < n1 * outH; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    const ky0 = firstInside(oy * sH - padT, 1);
    const ky1 = lastInside(oy * sH - padT, 1, inH, kH);
    for (let ox = 0; ox < outW; ox++) {
      const kx0 = firstInside(ox * sW - padL, 1);
      const kx1 = lastInside(ox * sW - padL, 1, inW, kW);
      const o = <usize>(r * outW + ox) * c4;
      const offset = <usize>((n * inH + oy * sH - padT) * inW + ox * sW - padL) * c4;
      for (let ch = 0; ch < c; ch += 4) {
        const cb = (<usize>ch) << 2;
        const best = v128.load(y + o + cb);
        let gradient = v128.load(dy + o + cb);
        if (positiveOnly) gradient = v128.and(gradient, f32x4.gt(best, zero));
        let routed = i32x4.splat(0);
        for (let ky = ky0; ky <= ky1; ky++) {
          const row = offset + <usize>(ky * inW) * c4 + cb;
          for (let kx = kx0; kx <= kx1; kx++) {
            const at = row + <usize>kx * c4;
            const hit = v128.andnot(f32x4.eq(v128.load(x + at), best), routed);
            if (v128.any_true(hit)) {
              storeLanes(dx + at, f32x4.add(v128.load(dx + at), v128.and(gradient, hit)), c - ch);
              routed = v128.or(routed, hit);
            }
          }
        }
      }
    }
  }
}

/**
 * Max pooling backward when the windows tile the input (pool size = strides, every window inside it: Keras's
 * default `MaxPooling2D(2)` with `valid` padding): each input element is in one window at most, so dx is written once, tap by tap, with no
 * zero fill first and no read of dx; only the rows and columns no window covers are zeroed. The same bits as
 * the general loop: dy where the tap routes it (plus 0, as the general loop adds to a zero), else 0.
 */
function tiledMaxPoolBackward(geom: usize, x: usize, y: usize, dy: usize, dx: usize, n0: i32, n1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const c4 = (<usize>c) << 2;
  const rowBytes = <usize>inW * c4;
  const zero = f32x4.splat(0);
  // A ReLU's mask folded in: all ones, or the lanes whose window maximum is > 0.
  const positiveOnly = gw(geom, G_RELU) != 0;
  for (let n = n0; n < n1; n++) {
    const xImage = x + <usize>(n * inH) * rowBytes;
    const dxImage = dx + <usize>(n * inH) * rowBytes;
    for (let oy = 0; oy < outH; oy++) {
      const o = <usize>((n * outH + oy) * outW) * c4;
      for (let ox = 0; ox < outW; ox++) {
        const window = <usize>(oy * kH) * rowBytes + <usize>(ox * kW) * c4;
        const at0 = <usize>ox * c4;
        if (kH == 2 && kW == 2) {
          // Unrolled: the four taps in window order, each takes dy where it holds the max and no earlier tap did.
          const t00 = xImage + window;
          const t10 = t00 + rowBytes;
          const d00 = dxImage + window;
          const d10 = d00 + rowBytes;
          for (let ch = 0; ch < c; ch += 4) {
            const cb = (<usize>ch) << 2;
            const lanes = c - ch;
            const best = v128.load(y + o + at0 + cb);
            let gradient = f32x4.add(zero, v128.load(dy + o + at0 + cb));
            if (positiveOnly) gradient = v128.and(gradient, f32x4.gt(best, zero));
            const h00 = f32x4.eq(v128.load(t00 + cb), best);
            const h01 = v128.andnot(f32x4.eq(v128.load(t00 + c4 + cb), best), h00);
            let routed = v128.or(h00, h01);
            const h10 = v128.andnot(f32x4.eq(v128.load(t10 + cb), best), routed);
            routed = v128.or(routed, h10);
            const h11 = v128.andnot(f32x4.eq(v128.load(t10 + c4 + cb), best), routed);
            storeLanes(d00 + cb, v128.and(gradient, h00), lanes);
            storeLanes(d00 + c4 + cb, v128.and(gradient, h01), lanes);
            storeLanes(d10 + cb, v128.and(gradient, h10), lanes);
            storeLanes(d10 + c4 + cb, v128.and(gradient, h11), lanes);
          }
          continue;
        }
        for (let ch = 0; ch < c; ch += 4) {
          const cb = (<usize>ch) << 2;
          const best = v128.load(y + o + at0 + cb);
          let gradient = f32x4.add(zero, v128.load(dy + o + at0 + cb));
          if (positiveOnly) gradient = v128.and(gradient, f32x4.gt(best, zero));
          let routed = i32x4.splat(0);
          for (let ky = 0; ky < kH; ky++) {
            const row = window + <usize>ky * rowBytes + cb;
            for (let kx = 0; kx < kW; kx++) {
              const at = row + <usize>kx * c4;
              const hit = v128.andnot(f32x4.eq(v128.load(xImage + at), best), routed);
              storeLanes(dxImage + at, v128.and(gradient, hit), c - ch);
              routed = v128.or(routed, hit);
            }
          }
        }
      }
      // Columns right of the last window.
      const covered = outW * kW;
      if (covered < inW) {
        for (let ky = 0; ky < kH; ky++) {
          const row = dxImage + <usize>(oy * kH + ky) * rowBytes;
          memory.fill(row + <usize>covered * c4, 0, <usize>(inW - covered) * c4);
        }
      }
    }
    // Rows below the last window.
    const coveredRows = outH * kH;
    if (coveredRows < inH) memory.fill(dxImage + <usize>coveredRows * rowBytes, 0, <usize>(inH - coveredRows) * rowBytes);
  }
}

/** Average pooling for output rows [r0, r1): the sum over the taps inside, divided by their number. */
export function avg_pool_forward(geom: usize, x: usize, y: usize, r0: i32, r1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const c4 = (<usize>c) << 2;
  for (let r = r0; r < r1; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    const ky0 = firstInside(oy * sH - padT, 1);
    const ky1 = lastInside(oy * sH - padT, 1, inH, kH);
    for (let ox = 0; ox < outW; ox++) {
      const kx0 = firstInside(ox * sW - padL, 1);
      const kx1 = lastInside(ox * sW - padL, 1, inW, kW);
      const count = f32x4.splat(<f32>((ky1 - ky0 + 1) * (kx1 - kx0 + 1)));
      const out = y + <usize>(r * outW + ox) * c4;
      const first = x + <usize>((n * inH + oy * sH - padT) * inW + ox * sW - padL) * c4;
      for (let ch = 0; ch < c; ch += 4) {
        const cb = (<usize>ch) << 2;
        let sum = f32x4.splat(0);
        for (let ky = ky0; ky <= ky1; ky++) {
          const row = first + <usize>(ky * inW) * c4 + cb;
          for (let kx = kx0; kx <= kx1; kx++) sum = f32x4.add(sum, v128.load(row + <usize>kx * c4));
        }
        storeLanes(out + cb, f32x4.div(sum, count), c - ch);
      }
    }
  }
}

/** Average pooling backward for images [n0, n1): zeroes their dx, then adds dy/count over each window. */
export function avg_pool_backward(geom: usize, dy: usize, dx: usize, n0: i32, n1: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const sH = gw(geom, G_S_H);
  const sW = gw(geom, G_S_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const c4 = (<usize>c) << 2;
  const image = <usize>(inH * inW) * c4;
  memory.fill(dx + <usize>n0 * image, 0, <usize>(n1 - n0) * image);
  for (let r = n0 * outH; r < n1 * outH; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    const ky0 = firstInside(oy * sH - padT, 1);
    const ky1 = lastInside(oy * sH - padT, 1, inH, kH);
    for (let ox = 0; ox < outW; ox++) {
      const kx0 = firstInside(ox * sW - padL, 1);
      const kx1 = lastInside(ox * sW - padL, 1, inW, kW);
      const count = f32x4.splat(<f32>((ky1 - ky0 + 1) * (kx1 - kx0 + 1)));
      const o = dy + <usize>(r * outW + ox) * c4;
      const first = dx + <usize>((n * inH + oy * sH - padT) * inW + ox * sW - padL) * c4;
      for (let ch = 0; ch < c; ch += 4) {
        const cb = (<usize>ch) << 2;
        const share = f32x4.div(v128.load(o + cb), count);
        for (let ky = ky0; ky <= ky1; ky++) {
          const row = first + <usize>(ky * inW) * c4 + cb;
          for (let kx = kx0; kx <= kx1; kx++) {
            const at = row + <usize>kx * c4;
            storeLanes(at, f32x4.add(v128.load(at), share), c - ch);
          }
        }
      }
    }
  }
}

// ---- element-wise sums and zero padding (a residual Add; ZeroPadding2D and Cropping2D's gradient).

/** out[i0..i1) = a + b (out may alias a or b). */
export function add_arrays(a: usize, b: usize, out: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < i1; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/**
 * Output rows [r0, r1) of y = x zero-padded (`top`, `left` rows and columns before, the rest after), images of
 * `height`×`width`×`channels` into `heightOut`×`widthOut`: each row is its zeros and one copy.
 */
export function zero_pad(
  x: usize,
  y: usize,
  height: i32,
  width: i32,
  channels: i32,
  heightOut: i32,
  widthOut: i32,
  top: i32,
  left: i32,
  r0: i32,
  r1: i32,
): void {
  const rowIn = (<usize>(width * channels)) << 2;
  const rowOut = (<usize>(widthOut * channels)) << 2;
  const before = (<usize>(left * channels)) << 2;
  const after = rowOut - before - rowIn;
  for (let r = r0; r < r1; r++) {
    const n = r / heightOut;
    const i = r - n * heightOut - top;
    const out = y + <usize>r * rowOut;
    if (i < 0 || i >= height) {
      memory.fill(out, 0, rowOut);
      continue;
    }
    if (before > 0) memory.fill(out, 0, before);
    memory.copy(out + before, x + <usize>(n * height + i) * rowIn, rowIn);
    if (after > 0) memory.fill(out + before + rowIn, 0, after);
  }
}

// ---- the ReLU family.

/**
 * y[i0..i1) = x > threshold ? min(x, maxValue) : slope·(x − threshold) (exactly 0 when slope is 0).
 */
export function relu_forward(x: usize, y: usize, i0: i32, i1: i32, maxValue: f32, slope: f32, threshold: f32): void {
  const top = f32x4.splat(maxValue);
  const s = f32x4.splat(slope);
  const t = f32x4.splat(threshold);
  const zero = f32x4.splat(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    const v = v128.load(x + o);
    const below = slope == 0 ? zero : f32x4.mul(s, f32x4.sub(v, t));
    v128.store(y + o, v128.bitselect(f32x4.min(v, top), below, f32x4.gt(v, t)));
  }
  for (; i < i1; i++) {
    const o = (<usize>i) << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > threshold ? min(v, maxValue) : slope == 0 ? 0 : slope * (v - threshold));
  }
}

/** dx[i0..i1) = dy where threshold < x < maxValue, 0 where x ≥ maxValue, slope·dy where x ≤ threshold. */
export function relu_backward(
  x: usize,
  dy: usize,
  dx: usize,
  i0: i32,
  i1: i32,
  maxValue: f32,
  slope: f32,
  threshold: f32,
): void {
  const top = f32x4.splat(maxValue);
  const s = f32x4.splat(slope);
  const t = f32x4.splat(threshold);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = (<usize>i) << 2;
    const v = v128.load(x + o);
    const g = v128.load(dy + o);
    const above = v128.and(g, f32x4.lt(v, top));
    v128.store(dx + o, v128.bitselect(above, f32x4.mul(s, g), f32x4.gt(v, t)));
  }
  for (; i < i1; i++) {
    const o = (<usize>i) << 2;
    const v = load<f32>(x + o);
    const g = load<f32>(dy + o);
    store<f32>(dx + o, v > threshold ? (v < maxValue ? g : 0) : slope * g);
  }
}

// ---- per-channel statistics and affine maps: BatchNormalization over images, Rescaling. An m×c matrix is
// m rows (pixels) of c channels. Sums over rows accumulate in float64 (two lanes per f64x2), the precision
// of the reference: a batch of feature maps has 10⁴–10⁵ rows per channel.

/**
 * Per-channel mean μ_j = Σ_i x_ij / m and biased variance σ²_j = Σ_i (x_ij − μ_j)² / m of an m×c matrix, for
 * channels [c0, c1), in two passes accumulated in float64 (blocks of 4 channels: 2 f64x2 each).
 */
export function channel_moments(x: usize, m: i32, c: i32, mean: usize, variance: usize, c0: i32, c1: i32): void {
  const c4 = (<usize>c) << 2;
  const count = <f64>m;
  for (let j = c0; j < c1; j += 4) {
    const lanes = min(4, c1 - j);
    let p = x + ((<usize>j) << 2);
    let s0 = f64x2.splat(0);
    let s1 = s0;
    for (let i = 0; i < m; i++) {
      const v = v128.load(p);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
      p += c4;
    }
    const m0 = f64x2.div(s0, f64x2.splat(count));
    const m1 = f64x2.div(s1, f64x2.splat(count));
    p = x + ((<usize>j) << 2);
    let q0 = f64x2.splat(0);
    let q1 = q0;
    for (let i = 0; i < m; i++) {
      const v = v128.load(p);
      const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), m0);
      const d1 = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), m1);
      q0 = f64x2.add(q0, f64x2.mul(d0, d0));
      q1 = f64x2.add(q1, f64x2.mul(d1, d1));
      p += c4;
    }
    const means = v128.shuffle<f32>(f32x4.demote_f64x2_zero(m0), f32x4.demote_f64x2_zero(m1), 0, 1, 4, 5);
    const v0 = f64x2.div(q0, f64x2.splat(count));
    const v1 = f64x2.div(q1, f64x2.splat(count));
    const variances = v128.shuffle<f32>(f32x4.demote_f64x2_zero(v0), f32x4.demote_f64x2_zero(v1), 0, 1, 4, 5);
    storeLanes(mean + ((<usize>j) << 2), means, lanes);
    storeLanes(variance + ((<usize>j) << 2), variances, lanes);
  }
}

/**
 * Rows [i0, i1) of a batch normalization: x̂ = (x − μ)·inv (written to xhat when it is not 0), y = γ·x̂ + β
 * (γ = 1, β = 0 for a 0 pointer), with `inv` = 1/√(σ² + ε) per channel.
 */
export function bn_normalize(
  x: usize,
  mean: usize,
  inv: usize,
  gamma: usize,
  beta: usize,
  xhat: usize,
  y: usize,
  c: i32,
  i0: i32,
  i1: i32,
): void {
  const c4 = (<usize>c) << 2;
  for (let i = i0; i < i1; i++) {
    const row = <usize>i * c4;
    for (let j = 0; j < c; j += 4) {
      const o = (<usize>j) << 2;
      const normalized = f32x4.mul(f32x4.sub(v128.load(x + row + o), v128.load(mean + o)), v128.load(inv + o));
      if (xhat != 0) storeLanes(xhat + row + o, normalized, c - j);
      let out = normalized;
      if (gamma != 0) out = f32x4.mul(out, v128.load(gamma + o));
      if (beta != 0) out = f32x4.add(out, v128.load(beta + o));
      storeLanes(y + row + o, out, c - j);
    }
  }
}

/** Σ_i dy_ij and Σ_i dy_ij·x̂_ij for channels [c0, c1), accumulated in float64. */
export function bn_sums(dy: usize, xhat: usize, m: i32, c: i32, sumDy: usize, sumDyXhat: usize, c0: i32, c1: i32): void {
  const c4 = (<usize>c) << 2;
  for (let j = c0; j < c1; j += 4) {
    const lanes = min(4, c1 - j);
    const o = (<usize>j) << 2;
    let a0 = f64x2.splat(0), a1 = a0, b0 = a0, b1 = a0;
    let p: usize = 0;
    for (let i = 0; i < m; i++) {
      const g = v128.load(dy + p + o);
      const h = v128.load(xhat + p + o);
      const g0 = f64x2.promote_low_f32x4(g);
      const g1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(g, g, 2, 3, 0, 1));
      a0 = f64x2.add(a0, g0);
      a1 = f64x2.add(a1, g1);
      b0 = f64x2.add(b0, f64x2.mul(g0, f64x2.promote_low_f32x4(h)));
      b1 = f64x2.add(b1, f64x2.mul(g1, f64x2.promote_low_f32x4(v128.shuffle<f32>(h, h, 2, 3, 0, 1))));
      p += c4;
    }
    storeLanes(sumDy + o, v128.shuffle<f32>(f32x4.demote_f64x2_zero(a0), f32x4.demote_f64x2_zero(a1), 0, 1, 4, 5), lanes);
    storeLanes(sumDyXhat + o, v128.shuffle<f32>(f32x4.demote_f64x2_zero(b0), f32x4.demote_f64x2_zero(b1), 0, 1, 4, 5), lanes);
  }
}

/**
 * Rows [i0, i1) of y = x·scale + offset per channel (an m×c matrix; c = 1: one scale and offset for all), with
 * `xhat` ≠ 0 subtracting `xhat·slope` too: dx = k₁·dy − k₂ − k₃·x̂ is BatchNormalization's input gradient
 * (scale k₁, offset −k₂, slope k₃). Pointers of 0 stand for a zero offset or slope.
 */
export function channel_affine(
  x: usize,
  scale: usize,
  offset: usize,
  xhat: usize,
  slope: usize,
  y: usize,
  c: i32,
  i0: i32,
  i1: i32,
): void {
  if (c == 1) {
    const s = v128.load32_splat(scale);
    const b = offset == 0 ? f32x4.splat(0) : v128.load32_splat(offset);
    const k = slope == 0 ? f32x4.splat(0) : v128.load32_splat(slope);
    let i = i0;
    for (; i + 4 <= i1; i += 4) {
      const o = (<usize>i) << 2;
      let v = f32x4.add(f32x4.mul(v128.load(x + o), s), b);
      if (xhat != 0) v = f32x4.sub(v, f32x4.mul(v128.load(xhat + o), k));
      v128.store(y + o, v);
    }
    for (; i < i1; i++) {
      const o = (<usize>i) << 2;
      let v = load<f32>(x + o) * f32x4.extract_lane(s, 0) + f32x4.extract_lane(b, 0);
      if (xhat != 0) v -= load<f32>(xhat + o) * f32x4.extract_lane(k, 0);
      store<f32>(y + o, v);
    }
    return;
  }
  const c4 = (<usize>c) << 2;
  for (let i = i0; i < i1; i++) {
    const row = <usize>i * c4;
    for (let j = 0; j < c; j += 4) {
      const o = (<usize>j) << 2;
      let v = f32x4.mul(v128.load(x + row + o), v128.load(scale + o));
      if (offset != 0) v = f32x4.add(v, v128.load(offset + o));
      if (xhat != 0) v = f32x4.sub(v, f32x4.mul(v128.load(xhat + row + o), v128.load(slope + o)));
      storeLanes(y + row + o, v, c - j);
    }
  }
}

// ---- Winograd F(2×2, 3×3) forward (3×3 windows, stride 1, dilation 1, groups 1).
//
// Each 2×2 block of output pixels ("tile") comes from the 4×4 input patch d around it: y = Aᵀ[(G g Gᵀ) ⊙
// (Bᵀ d B)]A, 16 products per channel and filter instead of 36. Per tile and channel the input transform
// V = Bᵀ d B takes sums and differences only (Bᵀ rows: d0 − d2, d1 + d2, d2 − d1, d1 − d3); per channel and
// filter U = G g Gᵀ (G rows: g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2) is computed once per call; then for
// each of the 16 positions ξ of the 4×4 transform a product M_ξ = V_ξ·U_ξ over the channels, and the output
// transform Aᵀ M A (rows: m0 + m1 + m2, m1 − m2 − m3) plus the bias. Not the reference's order of sums (nor
// its products): the results differ from the direct kernel's by a few units in the last place of the sum of
// |terms|. Each output depends only on its tile's patch, so any split of the tile rows gives the same bits.

/**
 * Tiles a block handles at once: the product's register tile is 4 tiles × 8 filters (measured on the small
 * CNN's conv2, one thread, the whole forward: 1.7 ms; with 6 tiles × 8 filters, the GEMM's best shape, 2.3 ms:
 * here its 12 accumulators spill). The product then runs near the FMA peak: of conv2's 1.53 ms, the
 * transforms take about 0.3 ms.
 */
// @ts-ignore: decorator
@inline const WINOGRAD_TILES: i32 = 4;

/** Floats of U per channel row: the filters rounded up to whole 8-filter strips (the extra ones are zero). */
// @ts-ignore: decorator
@inline
function winogradWidth(f: i32): i32 {
  return (f + 7) & ~7;
}

/**
 * Bytes of a thread's scratch for {@link conv2d_winograd}: V of a block, its M for one strip, the 16 pixel
 * addresses of a patch, then the output places of the block's tiles.
 */
export function winograd_scratch_bytes(channels: i32): i32 {
  return 16 * WINOGRAD_TILES * (paddedChannels(channels) + 8) * 4 + 64 + 8 * WINOGRAD_TILES;
}

/** Bytes of U (16 × channels × the filters rounded up to 8). */
export function winograd_filter_bytes(channels: i32, filters: i32): i32 {
  return 16 * channels * winogradWidth(filters) * 4;
}

/**
 * U = (G g Gᵀ) for the kernel w[ky][kx][c][f] of a 3×3 convolution, laid out by 8-filter strips,
 * U[f / 8][ξ][c][f % 8] (filters past the last are zeros): a strip's 16 products read one contiguous block.
 */
export function winograd_filters(geom: usize, w: usize, u: usize): void {
  const c = gw(geom, G_IN_C);
  const f = gw(geom, G_OUT_C);
  const fp = winogradWidth(f);
  const f4 = (<usize>f) << 2;
  // Bytes between the ξ planes of a strip, and between strips.
  const plane = (<usize>c) << 5;
  const strip: usize = 16 * plane;
  const tap = <usize>c * f4;
  const half = f32x4.splat(0.5);
  memory.fill(u, 0, <usize>(fp >> 3) * strip);
  for (let ci = 0; ci < c; ci++) {
    for (let j = 0; j < f; j += 4) {
      const lanes = f - j;
      const source = w + <usize>ci * f4 + ((<usize>j) << 2);
      // g[ky][kx], masked past the last filter.
      const mask = laneMask(min(4, lanes));
      const g00 = v128.and(v128.load(source), mask);
      const g01 = v128.and(v128.load(source + tap), mask);
      const g02 = v128.and(v128.load(source + 2 * tap), mask);
      const g10 = v128.and(v128.load(source + 3 * tap), mask);
      const g11 = v128.and(v128.load(source + 4 * tap), mask);
      const g12 = v128.and(v128.load(source + 5 * tap), mask);
      const g20 = v128.and(v128.load(source + 6 * tap), mask);
      const g21 = v128.and(v128.load(source + 7 * tap), mask);
      const g22 = v128.and(v128.load(source + 8 * tap), mask);
      // Over ky: rows h0..h3 of 3 columns each.
      const h10 = f32x4.mul(f32x4.add(f32x4.add(g00, g10), g20), half);
      const h11 = f32x4.mul(f32x4.add(f32x4.add(g01, g11), g21), half);
      const h12 = f32x4.mul(f32x4.add(f32x4.add(g02, g12), g22), half);
      const h20 = f32x4.mul(f32x4.add(f32x4.sub(g00, g10), g20), half);
      const h21 = f32x4.mul(f32x4.add(f32x4.sub(g01, g11), g21), half);
      const h22 = f32x4.mul(f32x4.add(f32x4.sub(g02, g12), g22), half);
      const target = u + <usize>(j >> 3) * strip + ((<usize>ci) << 5) + ((<usize>(j & 7)) << 2);
      winogradFilterRow(target, plane, 0, g00, g01, g02, half);
      winogradFilterRow(target, plane, 1, h10, h11, h12, half);
      winogradFilterRow(target, plane, 2, h20, h21, h22, half);
      winogradFilterRow(target, plane, 3, g20, g21, g22, half);
    }
  }
}

/** Row `a` of U from one row of G g: the same transform over kx, stored at positions ξ = 4a … 4a + 3. */
// @ts-ignore: decorator
@inline
function winogradFilterRow(target: usize, plane: usize, a: i32, k0: v128, k1: v128, k2: v128, half: v128): void {
  const at = target + <usize>(4 * a) * plane;
  v128.store(at, k0);
  v128.store(at + plane, f32x4.mul(f32x4.add(f32x4.add(k0, k1), k2), half));
  v128.store(at + 2 * plane, f32x4.mul(f32x4.add(f32x4.sub(k0, k1), k2), half));
  v128.store(at + 3 * plane, k2);
}

/** One column of Bᵀ d: the transform over the rows of a patch column, into 4 vectors `stride` bytes apart. */
// @ts-ignore: decorator
@inline
function storeTransformed(v: usize, stride: usize, d0: v128, d1: v128, d2: v128, d3: v128): void {
  v128.store(v, f32x4.sub(d0, d2));
  v128.store(v + stride, f32x4.add(d1, d2));
  v128.store(v + 2 * stride, f32x4.sub(d2, d1));
  v128.store(v + 3 * stride, f32x4.sub(d1, d3));
}

/** Input channels rounded up to whole vectors: the length of a row of V. */
// @ts-ignore: decorator
@inline
function paddedChannels(c: i32): i32 {
  return (c + 3) & ~3;
}

/**
 * V[ξ][r][c] = (Bᵀ d B)[ξ] for the `count` tiles k0 + r (tile k: tile row k / ⌈outW/2⌉ of the batch, tile
 * column k % ⌈outW/2⌉); rows of V are the channels rounded up to 4 (the extra ones are never read), ξ planes
 * WINOGRAD_TILES rows apart. Taps outside the input read `zeros` (C floats); `taps` holds 16 addresses.
 */
function winogradInput(geom: usize, x: usize, zeros: usize, v: usize, taps: usize, k0: i32, count: i32): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const c4 = (<usize>c) << 2;
  const row4 = (<usize>paddedChannels(c)) << 2;
  const plane = <usize>WINOGRAD_TILES * row4;
  const tileRows = (gw(geom, G_OUT_H) + 1) >> 1;
  const tileCols = (gw(geom, G_OUT_W) + 1) >> 1;
  const image4 = <usize>(inH * inW) * c4;
  for (let r = 0; r < count; r++) {
    const k = k0 + r;
    const t = k / tileCols;
    const n = t / tileRows;
    const iy = 2 * (t - n * tileRows) - padT;
    const ix = 2 * (k - t * tileCols) - padL;
    const xImage = x + <usize>n * image4;
    const inside = iy >= 0 && iy + 3 < inH && ix >= 0 && ix + 3 < inW;
    if (!inside) {
      // A patch over the edge: the address of each of its 16 pixels, `zeros` for those outside the input, so
      // that the channel loop below tests nothing.
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          const py = iy + i;
          const px = ix + j;
          const at = py >= 0 && py < inH && px >= 0 && px < inW ? xImage + <usize>(py * inW + px) * c4 : zeros;
          store<u32>(taps + (<usize>(4 * i + j) << 2), <u32>at);
        }
      }
    }
    const base = v + <usize>r * row4;
    for (let ch = 0; ch < c; ch += 4) {
      const cb = (<usize>ch) << 2;
      // Rows transformed first (t_a,col = Bᵀ over the 4 rows), column by column, into the ξ = 4·a + col
      // planes; then each row a of t is transformed over its columns in place.
      for (let col = 0; col < 4; col++) {
        let d0: v128, d1: v128, d2: v128, d3: v128;
        if (inside) {
          const p = xImage + <usize>(iy * inW + ix + col) * c4 + cb;
          const row = <usize>inW * c4;
          d0 = v128.load(p);
          d1 = v128.load(p + row);
          d2 = v128.load(p + 2 * row);
          d3 = v128.load(p + 3 * row);
        } else {
          const q = taps + (<usize>col << 2);
          d0 = v128.load(<usize>load<u32>(q) + cb);
          d1 = v128.load(<usize>load<u32>(q, 16) + cb);
          d2 = v128.load(<usize>load<u32>(q, 32) + cb);
          d3 = v128.load(<usize>load<u32>(q, 48) + cb);
        }
        storeTransformed(base + <usize>col * plane + cb, 4 * plane, d0, d1, d2, d3);
      }
      for (let a = 0; a < 4; a++) {
        const p = base + <usize>(4 * a) * plane + cb;
        storeTransformed(p, plane, v128.load(p), v128.load(p + plane), v128.load(p + 2 * plane), v128.load(p + 3 * plane));
      }
    }
  }
}

/**
 * M[ξ][r][0..8) = Σ_c V[ξ][r][c]·U[ξ][c][j..j+8) for R = num<TR>() tiles and one 8-filter strip j, every ξ.
 */
function winogradProduct<TR>(v: usize, u: usize, m: usize, c: i32, j: i32): void {
  const row4 = (<usize>paddedChannels(c)) << 2;
  const vPlane = <usize>WINOGRAD_TILES * row4;
  const uPlane = (<usize>c) << 5;
  const strip = u + <usize>(j >> 3) * 16 * uPlane;
  for (let xi = 0; xi < 16; xi++) {
    // Rows r of V_ξ are row4 bytes apart, its depth steps 4 bytes; U_ξ's rows of 8 filters are 32 bytes apart.
    const out = m + <usize>(xi * WINOGRAD_TILES) * 32;
    tile<TR, N2, N1>(v + <usize>xi * vPlane, row4, 4, strip + <usize>xi * uPlane, 32, c, out, 32, FROM_ZERO, 0, 0);
  }
}

/**
 * y = Aᵀ M A + bias for the `count` tiles of M (strip j, its first `cols` filters), tile r at `places` + 8r: the
 * byte address of its first output pixel, then flags (1: its second row is inside the output, 2: its second
 * column is); outputs past the output's edge are not stored.
 */
function winogradOutput(geom: usize, m: usize, bias: usize, places: usize, count: i32, j: i32, cols: i32): void {
  const outW = gw(geom, G_OUT_W);
  const relu = gw(geom, G_RELU) != 0;
  const f4 = (<usize>gw(geom, G_OUT_C)) << 2;
  const plane: usize = WINOGRAD_TILES * 32;
  for (let r = 0; r < count; r++) {
    const place = places + (<usize>r << 3);
    const flags = load<i32>(place, 4);
    const secondRow = (flags & 1) != 0;
    const secondColumn = (flags & 2) != 0;
    const out = <usize>load<u32>(place) + ((<usize>j) << 2);
    for (let half = 0; half < 2; half++) {
      const lanes = cols - 4 * half;
      if (lanes <= 0) break;
      const hb = <usize>half * 16;
      const p = m + <usize>r * 32 + hb;
      const b = bias == 0 ? f32x4.splat(0) : v128.load(bias + ((<usize>j) << 2) + hb);
      // Over the rows a of M: s0[b] = m0b + m1b + m2b, s1[b] = m1b − m2b − m3b.
      const m00 = v128.load(p), m01 = v128.load(p + plane), m02 = v128.load(p + 2 * plane), m03 = v128.load(p + 3 * plane);
      const m10 = v128.load(p + 4 * plane), m11 = v128.load(p + 5 * plane), m12 = v128.load(p + 6 * plane), m13 = v128.load(p + 7 * plane);
      const m20 = v128.load(p + 8 * plane), m21 = v128.load(p + 9 * plane), m22 = v128.load(p + 10 * plane), m23 = v128.load(p + 11 * plane);
      const m30 = v128.load(p + 12 * plane), m31 = v128.load(p + 13 * plane), m32 = v128.load(p + 14 * plane), m33 = v128.load(p + 15 * plane);
      const s00 = f32x4.add(f32x4.add(m00, m10), m20);
      const s01 = f32x4.add(f32x4.add(m01, m11), m21);
      const s02 = f32x4.add(f32x4.add(m02, m12), m22);
      const s03 = f32x4.add(f32x4.add(m03, m13), m23);
      const s10 = f32x4.sub(f32x4.sub(m10, m20), m30);
      const s11 = f32x4.sub(f32x4.sub(m11, m21), m31);
      const s12 = f32x4.sub(f32x4.sub(m12, m22), m32);
      const s13 = f32x4.sub(f32x4.sub(m13, m23), m33);
      const at = out + hb;
      storeLanes(at, activated(relu, f32x4.add(b, f32x4.add(f32x4.add(s00, s01), s02))), lanes);
      if (secondColumn) storeLanes(at + f4, activated(relu, f32x4.add(b, f32x4.sub(f32x4.sub(s01, s02), s03))), lanes);
      if (secondRow) {
        const below = at + <usize>outW * f4;
        storeLanes(below, activated(relu, f32x4.add(b, f32x4.add(f32x4.add(s10, s11), s12))), lanes);
        if (secondColumn) {
          storeLanes(below + f4, activated(relu, f32x4.add(b, f32x4.sub(f32x4.sub(s11, s12), s13))), lanes);
        }
      }
    }
  }
}

/**
 * y = conv(x, w) + bias by Winograd F(2×2, 3×3) for tile rows [t0, t1) (tile row t = image t / ⌈outH/2⌉,
 * output rows 2·(t % ⌈outH/2⌉) and the one below), from U = {@link winograd_filters}(w). `scratch` holds
 * {@link winograd_scratch_bytes}(C) bytes, `zeros` C zero floats (what taps outside the input read). The geometry must be 3×3, stride 1, dilation 1, groups 1.
 */
export function conv2d_winograd(
  geom: usize,
  x: usize,
  u: usize,
  bias: usize,
  y: usize,
  zeros: usize,
  scratch: usize,
  t0: i32,
  t1: i32,
): void {
  const c = gw(geom, G_IN_C);
  const f = gw(geom, G_OUT_C);
  const tileCols = (gw(geom, G_OUT_W) + 1) >> 1;
  const v = scratch;
  const m = scratch + <usize>(16 * WINOGRAD_TILES) * ((<usize>paddedChannels(c)) << 2);
  const taps = m + <usize>(16 * WINOGRAD_TILES) * 32;
  const places = taps + 64;
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const tileRows = (outH + 1) >> 1;
  const f4 = (<usize>f) << 2;
  // The tiles of the range in blocks of WINOGRAD_TILES, whatever rows or images they come from.
  const end = t1 * tileCols;
  for (let k = t0 * tileCols; k < end; k += WINOGRAD_TILES) {
    const count = min(WINOGRAD_TILES, end - k);
    winogradInput(geom, x, zeros, v, taps, k, count);
    // Where each tile's outputs go, found once per block (not per strip: two divisions per tile).
    for (let r = 0; r < count; r++) {
      const t = (k + r) / tileCols;
      const n = t / tileRows;
      const oy = 2 * (t - n * tileRows);
      const ox = 2 * (k + r - t * tileCols);
      const place = places + (<usize>r << 3);
      store<u32>(place, <u32>(y + <usize>((n * outH + oy) * outW + ox) * f4));
      store<i32>(place, i32(oy + 1 < outH) | (i32(ox + 1 < outW) << 1), 4);
    }
    for (let j = 0; j < f; j += 8) {
      if (count == 4) winogradProduct<N4>(v, u, m, c, j);
      else if (count == 3) winogradProduct<N3>(v, u, m, c, j);
      else if (count == 2) winogradProduct<N2>(v, u, m, c, j);
      else winogradProduct<N1>(v, u, m, c, j);
      winogradOutput(geom, m, bias, places, count, j, min(8, f - j));
    }
  }
}

// ---- zero-skipping input gradient by rows of entries (stride 1, dilation 1, groups 1).
//
// The listed forward above walks one list per output pixel and tap: 9 short loops per pixel for a 3×3
// window, and each loop's exit is a mispredicted branch (measured on the small CNN's conv2 dX: with every
// list cut to 8 entries, so that the loops' length is predictable, 1150 → 875 µs). Here the non-zero values
// of each row of the gradient are packed pixel after pixel, so the taps of one kernel row, which read
// adjacent pixels, are one contiguous run of entries: 3 loops per output pixel instead of 9. An entry holds
// the value and the byte offset (ix·C + c)·F·4 of its kernel row relative to the tap row's first pixel, so
// the loop needs no index arithmetic. The sums are the listed forward's, term for term, in its order.

/** Bytes of one row's entries: 8 per value of the row, plus room for the 3 entries a vector append may write past. */
// @ts-ignore: decorator
@inline
function entryRowBytes(width: i32, c: i32): usize {
  return (<usize>(width * c + 4)) << 3;
}

/**
 * For rows [r0, r1) of an image batch (rows of `width` pixels of `c` channels): each row's non-zero values as
 * 8-byte entries (the value; (ix·c + channel)·f4) at `entries` + row·(width·c + 4)·8, pixel after pixel, and
 * at `starts` + (row·(width + 1) + ix)·4 the index of pixel ix's first entry (then the row's count).
 */
export function nonzero_entries(x: usize, c: i32, width: i32, f4: i32, entries: usize, starts: usize, r0: i32, r1: i32): void {
  const c4 = (<usize>c) << 2;
  const rowBytes = entryRowBytes(width, c);
  const zero = f32x4.splat(0);
  const step = i32x4.splat(4 * f4);
  for (let r = r0; r < r1; r++) {
    const region = entries + <usize>r * rowBytes;
    const rowStarts = starts + ((<usize>(r * (width + 1))) << 2);
    let count = 0;
    for (let ix = 0; ix < width; ix++) {
      store<i32>(rowStarts + ((<usize>ix) << 2), count);
      const px = x + <usize>(r * width + ix) * c4;
      const first = ix * c * f4;
      let offsets = i32x4(first, first + f4, first + 2 * f4, first + 3 * f4);
      let ch = 0;
      for (; ch + 4 <= c; ch += 4) {
        const values = v128.load(px + ((<usize>ch) << 2));
        const bits = i32x4.bitmask(f32x4.ne(values, zero));
        const order = v128.load(LANES_FIRST + ((<usize>bits) << 4));
        const v = i8x16.swizzle(values, order);
        const o = i8x16.swizzle(offsets, order);
        const at = region + ((<usize>count) << 3);
        v128.store(at, i32x4.shuffle(v, o, 0, 4, 1, 5));
        v128.store(at, i32x4.shuffle(v, o, 2, 6, 3, 7), 16);
        count += <i32>popcnt(bits);
        offsets = i32x4.add(offsets, step);
      }
      for (; ch < c; ch++) {
        const value = load<f32>(px + ((<usize>ch) << 2));
        if (value != 0) {
          const at = region + ((<usize>count) << 3);
          store<f32>(at, value);
          store<i32>(at, first + ch * f4, 4);
          count++;
        }
      }
    }
    store<i32>(rowStarts + ((<usize>width) << 2), count);
  }
}

/**
 * y = conv(x, w) + bias for output rows [r0, r1) from the entries of x's non-zero values
 * ({@link nonzero_entries} with f4 = 4·F), stride 1, dilation 1, groups 1: per output pixel, strips of up to 32
 * filters in registers; per kernel row inside the input, the run of entries of the pixels its taps read.
 */
export function conv2d_forward_entries(
  geom: usize,
  w: usize,
  bias: usize,
  y: usize,
  entries: usize,
  starts: usize,
  r0: i32,
  r1: i32,
): void {
  const inH = gw(geom, G_IN_H);
  const inW = gw(geom, G_IN_W);
  const c = gw(geom, G_IN_C);
  const outH = gw(geom, G_OUT_H);
  const outW = gw(geom, G_OUT_W);
  const f = gw(geom, G_OUT_C);
  const kH = gw(geom, G_K_H);
  const kW = gw(geom, G_K_W);
  const padT = gw(geom, G_PAD_T);
  const padL = gw(geom, G_PAD_L);
  const f4 = (<usize>f) << 2;
  const rowBytes = entryRowBytes(inW, c);
  // Bytes between the kernel rows of two adjacent taps, and of two kernel rows (ky).
  const tapBytes = <usize>c * f4;
  for (let r = r0; r < r1; r++) {
    const n = r / outH;
    const oy = r - n * outH;
    for (let ox = 0; ox < outW; ox++) {
      const out = y + <usize>(r * outW + ox) * f4;
      const left = ox - padL;
      const ixA = max(0, left);
      const ixB = min(inW - 1, left + kW - 1);
      for (let j = 0; j < f; j += 32) {
        const cols = min(32, f - j);
        const vectors = (cols + 3) >> 2;
        const jb = (<usize>j) << 2;
        let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        if (bias != 0) {
          const b = bias + jb;
          a0 = v128.load(b);
          if (vectors > 1) a1 = v128.load(b, 16);
          if (vectors > 2) a2 = v128.load(b, 32);
          if (vectors > 3) a3 = v128.load(b, 48);
          if (vectors > 4) a4 = v128.load(b, 64);
          if (vectors > 5) a5 = v128.load(b, 80);
          if (vectors > 6) a6 = v128.load(b, 96);
          if (vectors > 7) a7 = v128.load(b, 112);
        }
        if (ixA <= ixB) {
          for (let ky = 0; ky < kH; ky++) {
            const iy = oy + ky - padT;
            if (iy < 0 || iy >= inH) continue;
            const row = n * inH + iy;
            const rowStarts = starts + ((<usize>(row * (inW + 1))) << 2);
            const region = entries + <usize>row * rowBytes;
            const end = region + ((<usize>load<i32>(rowStarts + ((<usize>(ixB + 1)) << 2))) << 3);
            // The kernel row of tap kx = ix − left is (ky·kW + ix − left)·C + c: an entry's offset (ix·C + c)·F·4
            // from this base (wrapping arithmetic: the base may lie below w when left > 0).
            const base = w + jb + <usize>(ky * kW) * tapBytes - <usize>left * tapBytes;
            for (let e = region + ((<usize>load<i32>(rowStarts + ((<usize>ixA) << 2))) << 3); e < end; e += 8) {
              const a = v128.load32_splat(e);
              const p = base + <usize>load<u32>(e, 4);
              a0 = madd(a, v128.load(p), a0);
              if (vectors > 1) a1 = madd(a, v128.load(p, 16), a1);
              if (vectors > 2) a2 = madd(a, v128.load(p, 32), a2);
              if (vectors > 3) a3 = madd(a, v128.load(p, 48), a3);
              if (vectors > 4) a4 = madd(a, v128.load(p, 64), a4);
              if (vectors > 5) a5 = madd(a, v128.load(p, 80), a5);
              if (vectors > 6) a6 = madd(a, v128.load(p, 96), a6);
              if (vectors > 7) a7 = madd(a, v128.load(p, 112), a7);
            }
          }
        }
        const o = out + jb;
        storeLanes(o, a0, cols);
        if (vectors > 1) storeLanes(o + 16, a1, cols - 4);
        if (vectors > 2) storeLanes(o + 32, a2, cols - 8);
        if (vectors > 3) storeLanes(o + 48, a3, cols - 12);
        if (vectors > 4) storeLanes(o + 64, a4, cols - 16);
        if (vectors > 5) storeLanes(o + 80, a5, cols - 20);
        if (vectors > 6) storeLanes(o + 96, a6, cols - 24);
        if (vectors > 7) storeLanes(o + 112, a7, cols - 28);
      }
    }
  }
}
