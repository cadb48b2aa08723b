/**
 * The WebAssembly optimizer kernels (`assembly/optimizers.ts`) against the reference loops, bit for bit: every
 * optimizer and variant, the element-wise helpers of the optimizer step, lengths that end inside a vector,
 * variables large enough to be split over two threads, and values that test the edges (zeros, −0, tiny and
 * huge magnitudes, NaN). Needs `npm run build:wasm`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { Kernels } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';

const f = Math.fround;
/** Lengths: shorter than a vector, ending inside one, odd row-like sizes, and large enough to split. */
const LENGTHS = [1, 3, 4, 7, 50, 301, 5000, 30_000, 70_001];

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

type Flavour = 'signed' | 'positive';

/**
 * Random float32 values spread over many magnitudes (log-uniform over 1e-8..10), with a sprinkling of exact
 * zeros, −0 and NaN (signed arrays), ∞ (positive ones), subnormals and values near the ends of the float32 range, so that rounding sees every
 * exponent and the special cases of max, sign and clip are hit.
 */
function values(random: () => number, length: number, flavour: Flavour): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const r = random();
    let v: number;
    if (r < 0.03) v = 0;
    else if (r < 0.05) v = flavour === 'signed' ? -0 : 0;
    else if (r < 0.06) v = 1e-30 * random();
    else if (r < 0.065) v = 1e30 * random();
    else if (r < 0.075)
      v = 1e-39 * random(); // subnormal
    else if (r < 0.077) v = flavour === 'signed' ? NaN : Infinity;
    else v = Math.pow(10, -8 + 9 * random());
    if (flavour === 'signed' && random() < 0.5) v = -v;
    out[i] = v;
  }
  return out;
}

/** A named set of arrays, to run the same update on both backends from the same start. */
type Arrays = Record<string, Float32Array>;

function copyInto(kernels: Kernels, arrays: Arrays): Arrays {
  const out: Arrays = {};
  for (const [name, array] of Object.entries(arrays)) {
    const copy = kernels.alloc(array.length);
    copy.set(array);
    out[name] = copy;
  }
  return out;
}

function freeAll(kernels: Kernels, arrays: Arrays): void {
  for (const array of Object.values(arrays)) kernels.free(array);
}

/** Every element has the same bits (NaN = NaN, but +0 ≠ −0). */
function assertSameBits(actual: Float32Array, expected: Float32Array, where: string): void {
  assert.equal(actual.length, expected.length, `${where}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      assert.fail(`${where}, element ${i} of ${actual.length}: wasm ${actual[i]}, reference ${expected[i]}`);
    }
  }
}

/** One case: the arrays it starts from, and the call to make on a backend's copies of them. */
interface Case {
  name: string;
  arrays(random: () => number, length: number): Arrays;
  apply(kernels: Kernels, arrays: Arrays): void;
}

const signed = (r: () => number, n: number) => values(r, n, 'signed');
const positive = (r: () => number, n: number) => values(r, n, 'positive');
const zeros = (_r: () => number, n: number) => new Float32Array(n);

const rmspropStep = {
  learningRate: f(1e-3),
  rho: f(0.9),
  oneMinusRho: f(1 - 0.9),
  momentum: f(0.5),
  epsilon: f(1e-7),
};
const adamStep = {
  alpha: f(3.1e-4),
  beta1: f(0.9),
  oneMinusBeta1: f(1 - 0.9),
  beta2: f(0.999),
  oneMinusBeta2: f(1 - 0.999),
  epsilon: f(1e-7),
};

const CASES: Case[] = [
  {
    name: 'sgd',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n) }),
    apply: (k, a) => k.sgdUpdate(a.p, a.g, null, { learningRate: f(0.01), momentum: 0, nesterov: false }),
  },
  {
    name: 'sgd with a learning rate that is not a float32 value',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n) }),
    apply: (k, a) => k.sgdUpdate(a.p, a.g, null, { learningRate: 0.1, momentum: 0, nesterov: false }),
  },
  {
    name: 'sgd momentum',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), v: signed(r, n) }),
    apply: (k, a) => k.sgdUpdate(a.p, a.g, a.v, { learningRate: f(0.01), momentum: f(0.9), nesterov: false }),
  },
  {
    name: 'sgd nesterov',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), v: signed(r, n) }),
    apply: (k, a) => k.sgdUpdate(a.p, a.g, a.v, { learningRate: f(0.01), momentum: f(0.9), nesterov: true }),
  },
  {
    name: 'sgd with a velocity but momentum 0',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), v: signed(r, n) }),
    apply: (k, a) => k.sgdUpdate(a.p, a.g, a.v, { learningRate: f(0.01), momentum: 0, nesterov: true }),
  },
  {
    name: 'rmsprop',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), v: positive(r, n) }),
    apply: (k, a) => k.rmspropUpdate(a.p, a.g, a.v, null, null, rmspropStep),
  },
  {
    name: 'rmsprop momentum',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), v: positive(r, n), b: signed(r, n) }),
    apply: (k, a) => k.rmspropUpdate(a.p, a.g, a.v, null, a.b, rmspropStep),
  },
  {
    name: 'rmsprop centered',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), v: positive(r, n), avg: signed(r, n) }),
    apply: (k, a) => k.rmspropUpdate(a.p, a.g, a.v, a.avg, null, rmspropStep),
  },
  {
    name: 'rmsprop centered momentum',
    arrays: (r, n) => ({
      p: signed(r, n),
      g: signed(r, n),
      v: positive(r, n),
      avg: signed(r, n),
      b: signed(r, n),
    }),
    apply: (k, a) => k.rmspropUpdate(a.p, a.g, a.v, a.avg, a.b, rmspropStep),
  },
  {
    name: 'adam',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), m: signed(r, n), v: positive(r, n) }),
    apply: (k, a) => k.adamUpdate(a.p, a.g, a.m, a.v, null, adamStep),
  },
  {
    name: 'adam amsgrad',
    arrays: (r, n) => ({
      p: signed(r, n),
      g: signed(r, n),
      m: signed(r, n),
      v: positive(r, n),
      vhat: positive(r, n),
    }),
    apply: (k, a) => k.adamUpdate(a.p, a.g, a.m, a.v, a.vhat, adamStep),
  },
  {
    name: 'adadelta',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), a: positive(r, n), d: positive(r, n) }),
    apply: (k, a) =>
      k.adadeltaUpdate(a.p, a.g, a.a, a.d, {
        learningRate: f(1),
        rho: f(0.95),
        oneMinusRho: f(1 - 0.95),
        epsilon: f(1e-7),
      }),
  },
  {
    name: 'adagrad',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), a: positive(r, n) }),
    apply: (k, a) => k.adagradUpdate(a.p, a.g, a.a, { learningRate: f(1e-3), epsilon: f(1e-7) }),
  },
  {
    name: 'adamax',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), m: signed(r, n), u: positive(r, n) }),
    apply: (k, a) =>
      k.adamaxUpdate(a.p, a.g, a.m, a.u, {
        learningRate: f(1e-3),
        beta1: f(0.9),
        oneMinusBeta1: f(1 - 0.9),
        beta2: f(0.999),
        epsilon: f(1e-7),
        biasCorrection: f(1 - f(0.9) ** 3),
      }),
  },
  {
    name: 'nadam',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), m: signed(r, n), v: positive(r, n) }),
    apply: (k, a) =>
      k.nadamUpdate(a.p, a.g, a.m, a.v, {
        learningRate: f(1e-3),
        beta1: f(0.9),
        oneMinusBeta1: f(1 - 0.9),
        beta2: f(0.999),
        oneMinusBeta2: f(1 - 0.999),
        epsilon: f(1e-7),
        nextMomentum: f(0.8574),
        nextProductComplement: f(0.3),
        oneMinusMomentum: f(0.1449),
        productComplement: f(0.17),
        beta2Correction: f(0.003),
      }),
  },
  {
    name: 'lion',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), m: signed(r, n) }),
    apply: (k, a) =>
      k.lionUpdate(a.p, a.g, a.m, {
        learningRate: f(1e-4),
        beta1: f(0.9),
        oneMinusBeta1: f(1 - 0.9),
        beta2: f(0.99),
        oneMinusBeta2: f(1 - 0.99),
      }),
  },
  {
    name: 'lion with zero momentum and gradient (sign of ±0)',
    arrays: (r, n) => ({ p: signed(r, n), g: zeros(r, n), m: zeros(r, n) }),
    apply: (k, a) =>
      k.lionUpdate(a.p, a.g, a.m, {
        learningRate: f(1e-4),
        beta1: f(0.9),
        oneMinusBeta1: f(0.1),
        beta2: f(0.99),
        oneMinusBeta2: f(0.01),
      }),
  },
  {
    name: 'ftrl (power ½: square roots)',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), n: positive(r, n), z: signed(r, n) }),
    apply: (k, a) =>
      k.ftrlUpdate(a.p, a.g, a.n, a.z, {
        learningRate: f(1e-3),
        power: 0.5,
        l1: f(0.01),
        twiceL2: f(0.02),
        twiceL2Shrinkage: f(0.002),
      }),
  },
  {
    name: 'ftrl (power 0.3: pow)',
    arrays: (r, n) => ({ p: signed(r, n), g: signed(r, n), n: positive(r, n), z: signed(r, n) }),
    apply: (k, a) =>
      k.ftrlUpdate(a.p, a.g, a.n, a.z, {
        learningRate: f(1e-3),
        power: f(0.3),
        l1: 0,
        twiceL2: 0,
        twiceL2Shrinkage: 0,
      }),
  },
  {
    name: 'fill',
    arrays: (r, n) => ({ x: signed(r, n) }),
    apply: (k, a) => k.fill(a.x, 0.1),
  },
  {
    name: 'clipByValue',
    arrays: (r, n) => ({ x: signed(r, n) }),
    apply: (k, a) => k.clipByValue(a.x, -0.1, 0.1),
  },
  {
    name: 'clipByValue at a bound that float32 rounds up',
    arrays: (r, n) => ({ x: signed(r, n) }),
    apply: (k, a) => k.clipByValue(a.x, -0.3, 0.3),
  },
  {
    name: 'accumulateGradient (sum)',
    arrays: (r, n) => ({ acc: signed(r, n), g: signed(r, n) }),
    apply: (k, a) => k.accumulateGradient(a.acc, a.g, 1),
  },
  {
    name: 'accumulateGradient (mean of 3)',
    arrays: (r, n) => ({ acc: signed(r, n), g: signed(r, n) }),
    apply: (k, a) => k.accumulateGradient(a.acc, a.g, 3),
  },
  {
    name: 'emaUpdate',
    arrays: (r, n) => ({ avg: signed(r, n), x: signed(r, n) }),
    apply: (k, a) => k.emaUpdate(a.avg, a.x, 0.99),
  },
  {
    name: 'scale (weight decay factor)',
    arrays: (r, n) => ({ x: signed(r, n) }),
    apply: (k, a) => k.scale(a.x, f(1 - f(f(0.004) * f(1e-3)))),
  },
  {
    name: 'scale (clipnorm factor, a float64)',
    arrays: (r, n) => ({ x: signed(r, n) }),
    apply: (k, a) => k.scale(a.x, 1 / 3),
  },
];

let wasmOne: WasmKernels;
let wasmTwo: WasmKernels;
before(async () => {
  wasmOne = await createWasmKernels({ threads: 1 });
  // The main thread runs at most one chunk: the helper thread must take the other.
  wasmTwo = await createWasmKernels({ threads: 2, mainChunkLimit: 1 });
});
after(async () => {
  await wasmOne.dispose();
  await wasmTwo.dispose();
});

describe('wasm optimizer kernels are bit-identical to the reference', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const reference = new ReferenceKernels();
      const random = rng(c.name.length * 7919 + 17);
      for (const length of LENGTHS) {
        const start = c.arrays(random, length);
        // Three steps in a row, so that slots written by one step feed the next.
        const expected = copyInto(reference, start);
        for (let s = 0; s < 3; s++) c.apply(reference, expected);
        for (const wasm of [wasmOne, wasmTwo]) {
          const fallbacks = wasm.stats.fallbacks;
          const shared = wasm.threadStats?.shared ?? 0;
          const actual = copyInto(wasm, start);
          for (let s = 0; s < 3; s++) c.apply(wasm, actual);
          assert.equal(wasm.stats.fallbacks, fallbacks, `${c.name}: the wasm kernel must run (no fallback)`);
          for (const name of Object.keys(start)) {
            assertSameBits(
              actual[name],
              expected[name],
              `${c.name}, ${wasm.info.threads} thread(s), '${name}'`,
            );
          }
          if (wasm === wasmTwo && length >= 30_000) {
            assert.ok(
              (wasmTwo.threadStats?.shared ?? 0) > shared,
              `${c.name}: length ${length} must be split`,
            );
          }
          freeAll(wasm, actual);
        }
      }
    });
  }
});

describe('wasm optimizer kernels: fallbacks', () => {
  test('arrays outside the wasm memory run the reference loop, counted', () => {
    const p = new Float32Array([1, 2, 3]);
    const g = new Float32Array([0.5, -0.5, 1]);
    const before = wasmOne.stats.fallbacks;
    wasmOne.adamUpdate(p, g, new Float32Array(3), new Float32Array(3), null, adamStep);
    assert.equal(wasmOne.stats.fallbacks, before + 1);
    const expected = new Float32Array([1, 2, 3]);
    new ReferenceKernels().adamUpdate(expected, g, new Float32Array(3), new Float32Array(3), null, adamStep);
    assert.deepEqual(p, expected);
  });

  test('a scalar that is not a float32 value runs the reference loop (the descriptor holds float32s)', () => {
    const p = wasmOne.alloc(5);
    const g = wasmOne.alloc(5);
    const a = wasmOne.alloc(5);
    p.set([1, 2, 3, 4, 5]);
    g.set([1, -1, 2, -2, 0]);
    const before = wasmOne.stats.fallbacks;
    wasmOne.adagradUpdate(p, g, a, { learningRate: 0.1, epsilon: f(1e-7) });
    assert.equal(wasmOne.stats.fallbacks, before + 1);
    const expected = new Float32Array([1, 2, 3, 4, 5]);
    new ReferenceKernels().adagradUpdate(expected, g.slice(), new Float32Array(5), {
      learningRate: 0.1,
      epsilon: f(1e-7),
    });
    assert.deepEqual(p, expected);
    for (const x of [p, g, a]) wasmOne.free(x);
  });

  test('a slot shorter than the variable runs the reference loop', () => {
    const p = wasmOne.alloc(8);
    const g = wasmOne.alloc(8);
    const m = wasmOne.alloc(4);
    const before = wasmOne.stats.fallbacks;
    wasmOne.lionUpdate(p, g, m, {
      learningRate: f(1e-4),
      beta1: f(0.9),
      oneMinusBeta1: f(0.1),
      beta2: f(0.99),
      oneMinusBeta2: f(0.01),
    });
    assert.equal(wasmOne.stats.fallbacks, before + 1);
    for (const x of [p, g, m]) wasmOne.free(x);
  });
});

test('optimizer_update traps on a kind it does not know', () => {
  const desc = wasmOne.alloc(20);
  const x = wasmOne.alloc(8);
  new Int32Array(desc.buffer, desc.byteOffset, 1)[0] = 99;
  const slots = desc.byteOffset + 64;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const exports = (wasmOne as any).wasm as { optimizer_update(...args: number[]): void };
  assert.throws(
    () => exports.optimizer_update(desc.byteOffset, x.byteOffset, 0, slots, 0, 8),
    WebAssembly.RuntimeError,
  );
  wasmOne.free(desc);
  wasmOne.free(x);
});
