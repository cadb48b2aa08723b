// The wasm kernels of convolutional networks against the reference oracle: every kernel, forward and backward,
// odd sizes and edge tiles, both convolution algorithms, buffers in wasm memory (no fallback). Needs
// `npm run build:wasm`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Conv2DGeometry, Kernels, ReluOptions } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import type { KernelExports } from '../src/kernels/wasm/abi.js';
import type { ConvolutionPath } from '../src/kernels/wasm/conv.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { type PaddingMode, windowGeometry } from '../src/layers/spatial.js';

const reference = new ReferenceKernels();

/** Deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  batch: number;
  height: number;
  width: number;
  channels: number;
  outChannels: number;
  kernel: [number, number];
  strides?: [number, number];
  dilation?: [number, number];
  padding?: PaddingMode;
  groups?: number;
}

function geometryOf(c: Case): Conv2DGeometry {
  const window = {
    kernelSize: c.kernel,
    strides: c.strides ?? [1, 1],
    dilationRate: c.dilation ?? [1, 1],
    padding: c.padding ?? 'valid',
  } as const;
  const shape = [c.height, c.width, c.channels];
  return { ...windowGeometry(shape, window, c.outChannels, c.groups ?? 1, 'geometryOf'), batch: c.batch };
}

const sizes = (g: Conv2DGeometry) => ({
  input: g.batch * g.inHeight * g.inWidth * g.inChannels,
  output: g.batch * g.outHeight * g.outWidth * g.outChannels,
});

/** Random values (a fifth of them zeros, as after a ReLU) in `kernels`' memory. */
function randomIn(kernels: Kernels, random: () => number, length: number): Float32Array {
  const a = kernels.alloc(length);
  for (let i = 0; i < length; i++) a[i] = random() < 0.2 ? 0 : random() * 2 - 1;
  return a;
}

function copyIn(kernels: Kernels, source: Float32Array): Float32Array {
  const a = kernels.alloc(source.length);
  a.set(source);
  return a;
}

const absolute = (a: Float32Array): Float32Array => a.map(Math.abs);

/** |actual − expected| ≤ 1e-5·bound + 1e-6, bound the same sum over |terms| (the rounding error's scale). */
function assertWithin(actual: Float32Array, expected: Float32Array, bound: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(actual[i]) && Number.isNaN(expected[i])) continue;
    const limit = 1e-5 * (Number.isNaN(bound[i]) ? 0 : bound[i]) + 1e-6;
    if (!(Math.abs(actual[i] - expected[i]) <= limit)) {
      assert.fail(`${what}: element ${i}: wasm ${actual[i]}, reference ${expected[i]} (limit ${limit})`);
    }
  }
}

function assertIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]) && !(actual[i] === 0 && expected[i] === 0)) {
      assert.fail(`${what}: element ${i}: ${actual[i]} vs ${expected[i]}`);
    }
  }
}

const CONV_CASES: Case[] = [
  { batch: 2, height: 7, width: 6, channels: 1, outChannels: 5, kernel: [3, 3] },
  // One channel per group: dW tiles take adjacent taps, except where the padding gives them other columns.
  { batch: 2, height: 9, width: 11, channels: 1, outChannels: 6, kernel: [3, 5], padding: 'same' },
  {
    batch: 2,
    height: 8,
    width: 9,
    channels: 1,
    outChannels: 4,
    kernel: [3, 3],
    strides: [2, 2],
    padding: 'same',
  },
  { batch: 2, height: 7, width: 8, channels: 4, outChannels: 8, kernel: [3, 3], padding: 'same', groups: 4 },
  { batch: 3, height: 9, width: 8, channels: 3, outChannels: 13, kernel: [3, 3], padding: 'same' },
  {
    batch: 2,
    height: 7,
    width: 9,
    channels: 5,
    outChannels: 8,
    kernel: [3, 3],
    strides: [2, 2],
    padding: 'same',
  },
  {
    batch: 1,
    height: 6,
    width: 7,
    channels: 4,
    outChannels: 25,
    kernel: [2, 3],
    strides: [2, 1],
    padding: 'same',
  },
  {
    batch: 2,
    height: 9,
    width: 7,
    channels: 6,
    outChannels: 7,
    kernel: [3, 3],
    dilation: [2, 2],
    padding: 'same',
  },
  { batch: 2, height: 8, width: 8, channels: 3, outChannels: 4, kernel: [3, 2], dilation: [1, 3] },
  { batch: 2, height: 5, width: 6, channels: 7, outChannels: 9, kernel: [1, 1] },
  { batch: 2, height: 7, width: 7, channels: 4, outChannels: 6, kernel: [1, 1], strides: [2, 2] },
  { batch: 2, height: 6, width: 5, channels: 6, outChannels: 10, kernel: [3, 3], padding: 'same', groups: 2 },
  { batch: 2, height: 5, width: 7, channels: 9, outChannels: 15, kernel: [2, 2], strides: [2, 2], groups: 3 },
  { batch: 2, height: 6, width: 6, channels: 8, outChannels: 8, kernel: [3, 3], padding: 'same', groups: 8 },
  { batch: 4, height: 13, width: 13, channels: 32, outChannels: 64, kernel: [3, 3] },
  // Winograd F(2×2, 3×3) under 'auto' (16 input channels or more): odd output sizes (a last tile half
  // outside), padding on every side, filters not a multiple of 8, channels not a multiple of 4.
  { batch: 3, height: 7, width: 9, channels: 17, outChannels: 11, kernel: [3, 3], padding: 'same' },
  { batch: 2, height: 8, width: 7, channels: 16, outChannels: 20, kernel: [3, 3] },
  // Few kernel rows (9): the direct dW by filter columns.
  { batch: 2, height: 9, width: 8, channels: 1, outChannels: 20, kernel: [3, 3], padding: 'same' },
];

const DEPTHWISE_CASES: Case[] = [
  { batch: 2, height: 7, width: 6, channels: 3, outChannels: 3, kernel: [3, 3], padding: 'same' },
  {
    batch: 2,
    height: 8,
    width: 9,
    channels: 17,
    outChannels: 17,
    kernel: [3, 3],
    strides: [2, 2],
    padding: 'same',
  },
  {
    batch: 2,
    height: 7,
    width: 7,
    channels: 16,
    outChannels: 16,
    kernel: [3, 3],
    strides: [2, 2],
    padding: 'same',
  },
  {
    batch: 1,
    height: 6,
    width: 7,
    channels: 5,
    outChannels: 15,
    kernel: [2, 3],
    dilation: [2, 2],
    padding: 'same',
  },
  { batch: 2, height: 6, width: 6, channels: 4, outChannels: 8, kernel: [3, 3] },
  { batch: 2, height: 5, width: 5, channels: 37, outChannels: 37, kernel: [5, 5], padding: 'same' },
];

const POOL_CASES: Case[] = [
  { batch: 2, height: 6, width: 6, channels: 3, outChannels: 3, kernel: [2, 2], strides: [2, 2] },
  {
    batch: 2,
    height: 7,
    width: 6,
    channels: 5,
    outChannels: 5,
    kernel: [3, 3],
    strides: [2, 2],
    padding: 'same',
  },
  { batch: 2, height: 5, width: 7, channels: 9, outChannels: 9, kernel: [2, 3], strides: [1, 1] },
  {
    batch: 3,
    height: 5,
    width: 5,
    channels: 1,
    outChannels: 1,
    kernel: [2, 2],
    strides: [2, 2],
    padding: 'same',
  },
  { batch: 2, height: 4, width: 3, channels: 6, outChannels: 6, kernel: [4, 3], strides: [1, 1] },
  // Windows that tile the input (pool size = strides): the last row and column no window covers.
  { batch: 2, height: 7, width: 9, channels: 5, outChannels: 5, kernel: [2, 2], strides: [2, 2] },
  { batch: 2, height: 8, width: 7, channels: 8, outChannels: 8, kernel: [3, 2], strides: [3, 2] },
];

const label = (c: Case): string =>
  `${c.batch}×${c.height}×${c.width}×${c.channels} → ${c.outChannels}, ${c.kernel.join('×')}` +
  `${c.strides ? ` s${c.strides.join('×')}` : ''}${c.dilation ? ` d${c.dilation.join('×')}` : ''}` +
  ` ${c.padding ?? 'valid'}${c.groups ? ` g${c.groups}` : ''}`;

describe('wasm convolution kernels against the reference', () => {
  let wasm: WasmKernels;
  before(async () => {
    wasm = await createWasmKernels({ threads: 1 });
  });
  after(async () => {
    wasm.convolutions.path = 'auto';
    await wasm.dispose();
  });

  /** Runs `body` and checks the wasm kernels never fell back to the reference loops. */
  function noFallback(body: () => void): void {
    const before = wasm.stats.fallbacks;
    body();
    assert.equal(wasm.stats.fallbacks, before, 'wasm fell back to the reference loops');
  }

  for (const c of CONV_CASES) {
    test(`Conv2D ${label(c)}: forward, dW, dB and dX on both algorithms`, () => {
      const g = geometryOf(c);
      const { input, output } = sizes(g);
      const random = rng(input + output);
      const depth = g.kernelHeight * g.kernelWidth * (g.inChannels / g.groups);
      const x = randomIn(reference, random, input);
      const w = randomIn(reference, random, depth * g.outChannels);
      const bias = randomIn(reference, random, g.outChannels);
      const dy = randomIn(reference, random, output);
      const y = new Float32Array(output);
      const yBound = new Float32Array(output);
      reference.conv2dForward(x, w, bias, y, g);
      reference.conv2dForward(absolute(x), absolute(w), absolute(bias), yBound, g);
      const dw = new Float32Array(w.length);
      const dwBound = new Float32Array(w.length);
      const db = new Float32Array(g.outChannels);
      const dbBound = new Float32Array(g.outChannels);
      reference.conv2dBackwardWeights(x, dy, dw, db, g);
      reference.conv2dBackwardWeights(absolute(x), absolute(dy), dwBound, dbBound, g);
      const dx = new Float32Array(input);
      const dxBound = new Float32Array(input);
      reference.conv2dBackwardInput(dy, w, dx, g);
      reference.conv2dBackwardInput(absolute(dy), absolute(w), dxBound, g);
      const paths: ConvolutionPath[] =
        g.groups > 1 ? ['direct', 'sparse'] : ['direct', 'im2col', 'sparse', 'winograd', 'auto'];
      for (const path of paths) {
        wasm.convolutions.path = path;
        const [wx, ww, wb, wdy] = [x, w, bias, dy].map((a) => copyIn(wasm, a));
        const wy = wasm.alloc(output);
        const wdw = wasm.alloc(w.length).fill(NaN);
        const wdb = wasm.alloc(g.outChannels).fill(NaN);
        const wdx = wasm.alloc(input).fill(NaN);
        const wyRelu = wasm.alloc(output).fill(NaN);
        noFallback(() => {
          wasm.conv2dForward(wx, ww, wb, wy, g);
          wasm.conv2dForward(wx, ww, wb, wyRelu, g, true);
          wasm.conv2dBackwardWeights(wx, wdy, wdw, wdb, g);
          wasm.conv2dBackwardInput(wdy, ww, wdx, g);
        });
        assertWithin(wy, y, yBound, `${path} forward`);
        // The ReLU applied inside the convolution: the same path's sums, then `z > 0 ? z : 0`, bit for bit.
        let positives = 0;
        for (let i = 0; i < output; i++) {
          if (wy[i] > 0) positives++;
          assert.ok(Object.is(wyRelu[i], wy[i] > 0 ? wy[i] : 0), `${path} forward with ReLU at ${i}`);
        }
        assert.ok(positives > 0 && positives < output, 'the case has outputs on both sides of 0');
        assertWithin(wdw, dw, dwBound, `${path} dW`);
        assertWithin(wdb, db, dbBound, `${path} dB`);
        assertWithin(wdx, dx, dxBound, `${path} dX`);
        for (const a of [wx, ww, wb, wdy, wy, wdw, wdb, wdx, wyRelu]) wasm.free(a);
      }
      wasm.convolutions.path = 'auto';
    });
  }

  for (const c of DEPTHWISE_CASES) {
    test(`DepthwiseConv2D ${label(c)}: forward, dW, dB and dX`, () => {
      const g = geometryOf(c);
      const { input, output } = sizes(g);
      const random = rng(7 * input + output);
      const x = randomIn(reference, random, input);
      const w = randomIn(reference, random, g.kernelHeight * g.kernelWidth * g.outChannels);
      const bias = randomIn(reference, random, g.outChannels);
      const dy = randomIn(reference, random, output);
      const expect = {
        y: new Float32Array(output),
        yBound: new Float32Array(output),
        dw: new Float32Array(w.length),
        dwBound: new Float32Array(w.length),
        db: new Float32Array(g.outChannels),
        dbBound: new Float32Array(g.outChannels),
        dx: new Float32Array(input),
        dxBound: new Float32Array(input),
      };
      reference.depthwiseConv2dForward(x, w, bias, expect.y, g);
      reference.depthwiseConv2dForward(absolute(x), absolute(w), absolute(bias), expect.yBound, g);
      reference.depthwiseConv2dBackwardWeights(x, dy, expect.dw, expect.db, g);
      reference.depthwiseConv2dBackwardWeights(absolute(x), absolute(dy), expect.dwBound, expect.dbBound, g);
      reference.depthwiseConv2dBackwardInput(dy, w, expect.dx, g);
      reference.depthwiseConv2dBackwardInput(absolute(dy), absolute(w), expect.dxBound, g);
      const [wx, ww, wb, wdy] = [x, w, bias, dy].map((a) => copyIn(wasm, a));
      const wy = wasm.alloc(output);
      const wdw = wasm.alloc(w.length).fill(NaN);
      const wdb = wasm.alloc(g.outChannels).fill(NaN);
      const wdx = wasm.alloc(input).fill(NaN);
      noFallback(() => {
        wasm.depthwiseConv2dForward(wx, ww, wb, wy, g);
        wasm.depthwiseConv2dBackwardWeights(wx, wdy, wdw, wdb, g);
        wasm.depthwiseConv2dBackwardInput(wdy, ww, wdx, g);
      });
      assertWithin(wy, expect.y, expect.yBound, 'forward');
      assertWithin(wdw, expect.dw, expect.dwBound, 'dW');
      assertWithin(wdb, expect.db, expect.dbBound, 'dB');
      assertWithin(wdx, expect.dx, expect.dxBound, 'dX');
      for (const a of [wx, ww, wb, wdy, wy, wdw, wdb, wdx]) wasm.free(a);
    });
  }

  for (const c of POOL_CASES) {
    test(`MaxPooling2D and AveragePooling2D ${label(c)}: forward and backward`, () => {
      const g = geometryOf(c);
      const { input, output } = sizes(g);
      const random = rng(3 * input + output);
      // Some ties (a quantized input) check that the gradient goes to the first maximum.
      const x = reference.alloc(input).map(() => Math.round(random() * 6) / 2 - 1);
      const dy = randomIn(reference, random, output);
      const yMax = new Float32Array(output);
      const dxMax = new Float32Array(input);
      const yAverage = new Float32Array(output);
      const dxAverage = new Float32Array(input);
      reference.maxPool2dForward(x, yMax, g);
      reference.maxPool2dBackward(x, yMax, dy, dxMax, g);
      reference.averagePool2dForward(x, yAverage, g);
      reference.averagePool2dBackward(dy, dxAverage, g);
      const [wx, wdy] = [x, dy].map((a) => copyIn(wasm, a));
      const wy = wasm.alloc(output);
      const wdx = wasm.alloc(input).fill(NaN);
      const wyAverage = wasm.alloc(output);
      const wdxAverage = wasm.alloc(input).fill(NaN);
      noFallback(() => {
        wasm.maxPool2dForward(wx, wy, g);
        wasm.maxPool2dBackward(wx, wy, wdy, wdx, g);
        wasm.averagePool2dForward(wx, wyAverage, g);
        wasm.averagePool2dBackward(wdy, wdxAverage, g);
      });
      assertIdentical(wy, yMax, 'max forward');
      assertIdentical(wdx, dxMax, 'max backward');
      // Folding a ReLU that made x (`positiveOnly`): the bits of the max backward, then the ReLU's backward.
      // Shifted down, so that some windows (up to 12 positions) have no positive value and some do.
      const xRelu = x.map((v) => (v - 1.5 > 0 ? v - 1.5 : 0));
      const yRelu = new Float32Array(output);
      reference.maxPool2dForward(xRelu, yRelu, g);
      const twoPasses = new Float32Array(input);
      reference.maxPool2dBackward(xRelu, yRelu, dy, twoPasses, g);
      reference.activationBackward('relu', xRelu, xRelu, twoPasses, twoPasses, 1, input);
      const folded = new Float32Array(input);
      reference.maxPool2dBackward(xRelu, yRelu, dy, folded, g, true);
      assertIdentical(folded, twoPasses, 'reference max backward folding a ReLU');
      assert.ok(
        yRelu.some((v) => v === 0) && twoPasses.some((v) => v !== 0),
        'the case has windows on both sides',
      );
      const [wxRelu, wyRelu] = [xRelu, yRelu].map((a) => copyIn(wasm, a));
      const wFolded = wasm.alloc(input).fill(NaN);
      noFallback(() => wasm.maxPool2dBackward(wxRelu, wyRelu, wdy, wFolded, g, true));
      assertIdentical(wFolded, twoPasses, 'max backward folding a ReLU');
      for (const a of [wxRelu, wyRelu, wFolded]) wasm.free(a);
      assertIdentical(wyAverage, yAverage, 'average forward');
      assertWithin(wdxAverage, dxAverage, absolute(dxAverage), 'average backward');
      for (const a of [wx, wdy, wy, wdx, wyAverage, wdxAverage]) wasm.free(a);
    });
  }

  test('the ReLU family: forward and backward, every option, odd lengths', () => {
    const options: ReluOptions[] = [
      { maxValue: Infinity, negativeSlope: 0, threshold: 0 },
      { maxValue: 6, negativeSlope: 0, threshold: 0 },
      { maxValue: Infinity, negativeSlope: 0.3, threshold: 0 },
      { maxValue: 2, negativeSlope: 0.125, threshold: 0.5 },
    ];
    for (const n of [1, 3, 4, 17, 1001]) {
      const random = rng(n);
      const x = reference.alloc(n).map(() => (random() * 2 - 1) * 8);
      if (n > 3) x[0] = NaN;
      if (n > 3) x[1] = 6;
      const dy = randomIn(reference, random, n);
      for (const option of options) {
        const y = new Float32Array(n);
        const dx = new Float32Array(n);
        reference.reluForward(x, y, n, option);
        reference.reluBackward(x, dy, dx, n, option);
        const [wx, wdy] = [x, dy].map((a) => copyIn(wasm, a));
        const wy = wasm.alloc(n);
        const wdx = wasm.alloc(n);
        noFallback(() => {
          wasm.reluForward(wx, wy, n, option);
          wasm.reluBackward(wx, wdy, wdx, n, option);
        });
        assertWithin(wy, y, absolute(y), `forward ${JSON.stringify(option)} n=${n}`);
        // The slope is a float32 in wasm, a float64 in the reference: equal up to rounding.
        assertWithin(wdx, dx, absolute(dx), `backward ${JSON.stringify(option)} n=${n}`);
        for (const a of [wx, wdy, wy, wdx]) wasm.free(a);
      }
    }
  });

  test('batch normalization over channels (moments, forward, backward) and per-channel affine maps', () => {
    for (const [m, c] of [
      [1, 1],
      [7, 3],
      [64, 16],
      [3 * 9 * 9, 37],
      [2000, 5],
    ]) {
      const random = rng(m * c);
      const x = reference.alloc(m * c).map(() => 3 + 2 * (random() * 2 - 1));
      const dy = randomIn(reference, random, m * c);
      const gamma = randomIn(reference, random, c);
      const beta = randomIn(reference, random, c);
      const mean = new Float32Array(c);
      const variance = new Float32Array(c);
      reference.columnMoments(x, m, c, mean, variance);
      const [wx, wdy, wgamma, wbeta] = [x, dy, gamma, beta].map((a) => copyIn(wasm, a));
      const [wmean, wvariance] = [wasm.alloc(c), wasm.alloc(c)];
      noFallback(() => wasm.columnMoments(wx, m, c, wmean, wvariance));
      assertWithin(wmean, mean, absolute(mean), `mean m=${m} c=${c}`);
      assertWithin(
        wvariance,
        variance,
        variance.map((v, j) => v + mean[j] ** 2),
        `variance m=${m} c=${c}`,
      );
      for (const [withAffine, batchStatistics] of [
        [true, true],
        [false, false],
        [true, false],
      ]) {
        const g = withAffine ? gamma : null;
        const b = withAffine ? beta : null;
        const xHat = new Float32Array(m * c);
        const y = new Float32Array(m * c);
        reference.batchNormForward(x, mean, variance, g, b, 1e-3, m, c, xHat, y);
        const dx = new Float32Array(m * c);
        const dGamma = new Float32Array(c);
        const dBeta = new Float32Array(c);
        reference.batchNormBackward(dy, xHat, variance, g, 1e-3, m, c, batchStatistics, dx, dGamma, dBeta);
        const wxHat = wasm.alloc(m * c);
        const wy = wasm.alloc(m * c);
        const wdx = wasm.alloc(m * c).fill(NaN);
        const wdGamma = wasm.alloc(c).fill(NaN);
        const wdBeta = wasm.alloc(c).fill(NaN);
        const [wg, wb] = withAffine ? [wgamma, wbeta] : [null, null];
        noFallback(() => {
          wasm.batchNormForward(wx, wmean, wvariance, wg, wb, 1e-3, m, c, wxHat, wy);
          wasm.batchNormBackward(
            wdy,
            wxHat,
            wvariance,
            wg,
            1e-3,
            m,
            c,
            batchStatistics,
            wdx,
            wdGamma,
            wdBeta,
          );
        });
        const what = `m=${m} c=${c} affine=${withAffine} batch=${batchStatistics}`;
        // Normalised values are O(1); sums over m rows are bounded by Σ|terms|.
        const ones = new Float32Array(m * c).fill(4);
        assertWithin(wxHat, xHat, ones, `x̂ ${what}`);
        assertWithin(wy, y, ones, `y ${what}`);
        const rowsBound = new Float32Array(c).fill(4 * m);
        assertWithin(wdBeta, dBeta, rowsBound, `dβ ${what}`);
        assertWithin(wdGamma, dGamma, rowsBound, `dγ ${what}`);
        assertWithin(
          wdx,
          dx,
          ones.map(() => 10),
          `dx ${what}`,
        );
        for (const a of [wxHat, wy, wdx, wdGamma, wdBeta]) wasm.free(a);
      }
      for (const columns of [1, c]) {
        const scale = randomIn(reference, random, columns);
        const offset = randomIn(reference, random, columns);
        const rows = (m * c) / columns;
        const y = new Float32Array(m * c);
        reference.channelAffine(x, y, rows, columns, scale, offset);
        const [wscale, woffset] = [scale, offset].map((a) => copyIn(wasm, a));
        const wy = wasm.alloc(m * c);
        noFallback(() => wasm.channelAffine(wx, wy, rows, columns, wscale, woffset));
        assertWithin(
          wy,
          y,
          x.map((v) => Math.abs(v) + 1),
          `affine columns=${columns}`,
        );
        for (const a of [wscale, woffset, wy]) wasm.free(a);
      }
      for (const a of [wx, wdy, wgamma, wbeta, wmean, wvariance]) wasm.free(a);
    }
  });

  test('zero padding (every side, and none) and element-wise sums: the same bits as the reference', () => {
    const random = rng(5);
    for (const [top, bottom, left, right] of [
      [1, 2, 3, 0],
      [0, 0, 0, 0],
      [0, 1, 0, 1],
    ]) {
      const [batch, height, width, channels] = [2, 5, 4, 3];
      const x = randomIn(wasm, random, batch * height * width * channels);
      const out = batch * (height + top + bottom) * (width + left + right) * channels;
      const y = wasm.alloc(out).fill(NaN);
      const expected = new Float32Array(out);
      noFallback(() => wasm.zeroPad2d(x, y, batch, height, width, channels, top, bottom, left, right));
      reference.zeroPad2d(
        Float32Array.from(x),
        expected,
        batch,
        height,
        width,
        channels,
        top,
        bottom,
        left,
        right,
      );
      assertIdentical(y, expected, `padding ${[top, bottom, left, right].join(',')}`);
      wasm.free(x);
      wasm.free(y);
    }
    const a = randomIn(wasm, random, 37);
    const b = randomIn(wasm, random, 37);
    const sum = wasm.alloc(37).fill(NaN);
    noFallback(() => wasm.addElementwise(a, b, sum, 37));
    assertIdentical(
      sum,
      Float32Array.from(a, (v, i) => v + b[i]),
      'sum',
    );
    for (const v of [a, b, sum]) wasm.free(v);
  });

  test("the zero-skipping input gradient (rows of entries) gives the dense kernel's bits", () => {
    const cases: Case[] = [
      { batch: 3, height: 13, width: 13, channels: 32, outChannels: 64, kernel: [3, 3] },
      { batch: 2, height: 9, width: 8, channels: 12, outChannels: 6, kernel: [3, 3], padding: 'same' },
      { batch: 2, height: 6, width: 7, channels: 40, outChannels: 37, kernel: [3, 3] },
    ];
    for (const c of cases) {
      const g = geometryOf(c);
      const { input, output } = sizes(g);
      const random = rng(input + 3 * output);
      const w = randomIn(wasm, random, 9 * g.inChannels * g.outChannels);
      const dy = randomIn(wasm, random, output);
      // Two thirds zeros, as a ReLU and a max pooling leave (and so over the 'auto' threshold).
      for (let i = 0; i < dy.length; i++) if (random() < 0.67) dy[i] = 0;
      const dense = wasm.alloc(input);
      const skipping = wasm.alloc(input).fill(NaN);
      try {
        noFallback(() => {
          wasm.convolutions.path = 'direct';
          wasm.conv2dBackwardInput(dy, w, dense, g);
          wasm.convolutions.path = 'auto';
          wasm.conv2dBackwardInput(dy, w, skipping, g);
        });
      } finally {
        wasm.convolutions.path = 'auto';
      }
      assertIdentical(skipping, dense, `dX ${label(c)}`);
      for (const a of [w, dy, dense, skipping]) wasm.free(a);
    }
  });

  test('views outside the wasm memory fall back to the reference loops (and say so)', () => {
    const g = geometryOf(CONV_CASES[0]);
    const { input, output } = sizes(g);
    const x = new Float32Array(input).fill(1);
    const w = new Float32Array(9 * g.outChannels).fill(1);
    const y = new Float32Array(output);
    const before = wasm.stats.fallbacks;
    wasm.conv2dForward(x, w, null, y, g);
    assert.equal(wasm.stats.fallbacks, before + 1);
    assert.equal(y[0], 9);
  });

  test('every range kernel gives the same bits when its range is split (as threads will split it)', () => {
    const exports = (wasm as unknown as { wasm: KernelExports }).wasm;
    const c: Case = {
      batch: 3,
      height: 7,
      width: 8,
      channels: 6,
      outChannels: 10,
      kernel: [3, 3],
      padding: 'same',
    };
    const g = geometryOf(c);
    const { input, output } = sizes(g);
    const random = rng(99);
    const x = randomIn(wasm, random, input);
    const w = randomIn(wasm, random, 9 * g.inChannels * g.outChannels);
    const dy = randomIn(wasm, random, output);
    const geometryBlock = wasm.alloc(16);
    const words = new Int32Array(geometryBlock.buffer, geometryBlock.byteOffset, 16);
    const fill = (geometry: Conv2DGeometry): number => {
      const values = [
        geometry.batch,
        geometry.inHeight,
        geometry.inWidth,
        geometry.inChannels,
        geometry.outHeight,
        geometry.outWidth,
        geometry.outChannels,
        geometry.kernelHeight,
        geometry.kernelWidth,
        geometry.strideHeight,
        geometry.strideWidth,
        geometry.dilationHeight,
        geometry.dilationWidth,
        geometry.padTop,
        geometry.padLeft,
        geometry.groups,
      ];
      words.set(values);
      return geometryBlock.byteOffset;
    };
    const zeros = wasm.alloc(64);
    const whole = wasm.alloc(Math.max(input, output, w.length));
    const parts = wasm.alloc(Math.max(input, output, w.length));
    /** Runs `kernel(range start, range end, target)` whole and in two uneven parts; compares. */
    const compare = (
      what: string,
      total: number,
      cut: number,
      kernel: (a: number, b: number, t: number) => void,
    ): void => {
      whole.fill(NaN);
      parts.fill(NaN);
      kernel(0, total, whole.byteOffset);
      kernel(0, cut, parts.byteOffset);
      kernel(cut, total, parts.byteOffset);
      assertIdentical(parts, whole, what);
    };
    const geom = fill(g);
    const rows = g.batch * g.outHeight;
    compare('conv2d_forward', rows, 5, (a, b, t) =>
      exports.conv2d_forward(geom, x.byteOffset, w.byteOffset, 0, t, zeros.byteOffset, a, b),
    );
    compare('conv2d_weights', 9 * g.inChannels, 7, (a, b, t) =>
      exports.conv2d_weights(geom, x.byteOffset, dy.byteOffset, t, a, b),
    );
    compare('conv2d_input', g.batch * g.inHeight, 4, (a, b, t) =>
      exports.conv2d_input(geom, dy.byteOffset, w.byteOffset, t, a, b),
    );
    compare('im2col', rows, 3, (a, b, t) => exports.im2col(geom, x.byteOffset, t, a, b));
    const depthwise = fill({ ...g, outChannels: g.inChannels });
    compare('depthwise_forward', rows, 8, (a, b, t) =>
      exports.depthwise_forward(depthwise, x.byteOffset, w.byteOffset, 0, t, a, b),
    );
    compare('depthwise_input', g.batch * g.inHeight, 11, (a, b, t) =>
      exports.depthwise_input(depthwise, dy.byteOffset, w.byteOffset, t, a, b),
    );
    compare('depthwise_weights', g.inChannels, 4, (a, b, t) =>
      exports.depthwise_weights(depthwise, x.byteOffset, dy.byteOffset, t, a, b),
    );
    compare('max_pool_forward', rows, 2, (a, b, t) =>
      exports.max_pool_forward(depthwise, x.byteOffset, t, a, b),
    );
    compare('avg_pool_backward', g.batch, 1, (a, b, t) =>
      exports.avg_pool_backward(depthwise, dy.byteOffset, t, a, b),
    );
    for (const a of [x, w, dy, geometryBlock, zeros, whole, parts]) wasm.free(a);
  });
});
