// The blocked, packed products (assembly/gemm.ts) at shapes that cross every block boundary: against the
// reference, and bit for bit against themselves under any split of the output, any block sizes, B read
// in place or packed, rows run dense or sparse. Needs `npm run build:wasm`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';

/** The module's exports, for calls over sub-ranges the Kernels interface does not offer. */
type Exports = Record<string, (...args: number[]) => number>;

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

const reference = new ReferenceKernels();
let wasm: WasmKernels;
let exports: Exports;

/**
 * Which build these tests check: the relaxed-SIMD (FMA) one by default; the plain SIMD128 build (multiply, then
 * add) when `WARMSTART_TEST_SIMD128` is '1', as `kernels-wasm-gemm-simd128.test.ts` sets it.
 */
const relaxedSimd = process.env.WARMSTART_TEST_SIMD128 !== '1';

before(async () => {
  wasm = await createWasmKernels({ threads: 1, relaxedSimd });
  assert.equal(wasm.info.relaxedSimd, relaxedSimd, 'the build under test');
  exports = (wasm as unknown as { wasm: Exports }).wasm;
});
after(async () => {
  assert.equal(wasm.stats.fallbacks, 0, 'no product may fall back to the reference');
  await wasm.dispose();
});

/** m×k values, `zeros` of them 0 (with some −0), in the backend's memory. */
function matrix(random: () => number, rows: number, cols: number, zeros: number, scale = 1): Float32Array {
  const a = wasm.alloc(rows * cols);
  for (let i = 0; i < a.length; i++) {
    const r = random();
    a[i] = r < zeros ? (r < zeros * 0.05 ? -0 : 0) : (random() * 2 - 1) * scale;
  }
  return a;
}

/** |a − e| ≤ 2e-6·Σ|terms| + 1e-7: float32 rounding of a sum, whatever its order. */
function assertClose(actual: Float32Array, expected: Float32Array, bound: Float32Array, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const limit = 2e-6 * bound[i] + 1e-7;
    if (!(Math.abs(actual[i] - expected[i]) <= limit))
      assert.fail(`${what}: element ${i}: ${actual[i]} vs ${expected[i]} (limit ${limit})`);
  }
}

function assertIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  for (let i = 0; i < expected.length; i++)
    if (!Object.is(actual[i], expected[i]))
      assert.fail(`${what}: element ${i}: ${actual[i]} !== ${expected[i]}`);
}

/** Σ_p |a(i,p)|·|b(p,j)| (+|bias_j|) with a(i, p) = a[i·aRow + p·aStep] and b(p, j) = b[p·bStep + j·bCol]. */
function absProduct(
  a: Float32Array,
  aRow: number,
  aStep: number,
  b: Float32Array,
  bStep: number,
  bCol: number,
  bias: Float32Array | null,
  m: number,
  depth: number,
  n: number,
): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = bias === null ? 0 : Math.abs(bias[j]);
      for (let p = 0; p < depth; p++) s += Math.abs(a[i * aRow + p * aStep] * b[p * bStep + j * bCol]);
      out[i * n + j] = s;
    }
  return out;
}

// Rows past the 384-row block, depths past the 256-deep block (and not multiples of 4), widths past a
// 32-column panel and not multiples of 4; n = 64 and 1024 have row strides that alias in L1, so their B
// is packed; 300 and 37 are read in place.
const SHAPES: [number, number, number][] = [
  [400, 600, 70],
  [7, 1030, 1024],
  [50, 64, 64],
  [13, 5, 3],
  [390, 300, 37],
  [1, 257, 33],
];

describe('blocked products against the reference', () => {
  for (const [m, k, n] of SHAPES) {
    for (const zeros of [0, 0.5, 0.9]) {
      test(`${m}×${k}×${n}, ${zeros * 100} % zeros in x`, () => {
        const random = rng(m * 7 + k * 13 + n + zeros * 1000);
        const x = matrix(random, m, k, zeros);
        const w = matrix(random, k, n, 0, 1 / Math.sqrt(k));
        const bias = matrix(random, 1, n, 0);
        const dz = matrix(random, m, n, 0);
        const z = wasm.alloc(m * n);
        const dw = wasm.alloc(k * n);
        const dx = wasm.alloc(m * k);
        wasm.denseForward(x, w, bias, z, z, m, k, n, 'linear');
        wasm.denseBackwardWeights(x, dz, dw, null, m, k, n);
        wasm.denseBackwardInput(dz, w, dx, m, k, n);
        const zRef = new Float32Array(m * n);
        const dwRef = new Float32Array(k * n);
        const dxRef = new Float32Array(m * k);
        reference.denseForward(x, w, bias, zRef, zRef, m, k, n, 'linear');
        reference.denseBackwardWeights(x, dz, dwRef, null, m, k, n);
        reference.denseBackwardInput(dz, w, dxRef, m, k, n);
        const shape = `${m}×${k}×${n} zeros ${zeros}`;
        assertClose(z, zRef, absProduct(x, k, 1, w, n, 1, bias, m, k, n), `z ${shape}`);
        assertClose(dw, dwRef, absProduct(x, 1, k, dz, n, 1, null, k, m, n), `dw ${shape}`);
        assertClose(dx, dxRef, absProduct(dz, n, 1, w, 1, n, null, m, n, k), `dx ${shape}`);
        for (const a of [x, w, bias, dz, z, dw, dx]) wasm.free(a);
      });
    }
  }
});

/** chunkStart of assembly/index.ts: chunk c of `chunks` over `total`, boundaries on multiples of `align`. */
function chunkStart(c: number, chunks: number, total: number, align: number): number {
  const units = Math.ceil(total / align);
  return Math.min(total, Math.floor((units * c) / chunks) * align);
}

describe('every split and every blocking gives the same bits', () => {
  const TUNABLES = { depthBlock: 0, rowBlock: 1, sparsePerMille: 2, directB: 3 };
  /** The three products of one shape, each computed as `chunks` sub-range calls. */
  function products(m: number, k: number, n: number, zeros: number, chunks: number): Float32Array[] {
    const random = rng(42);
    const x = matrix(random, m, k, zeros);
    const w = matrix(random, k, n, 0, 0.1);
    const bias = matrix(random, 1, n, 0);
    const dz = matrix(random, m, n, 0);
    const z = wasm.alloc(m * n);
    const dw = wasm.alloc(k * n);
    const dx = wasm.alloc(m * k);
    const scratch = wasm.alloc(
      Math.max(
        exports.gemm_scratch_bytes(m, k),
        exports.gemm_scratch_bytes(k, m),
        exports.gemm_scratch_bytes(m, n),
      ) / 4,
    );
    const s = scratch.byteOffset;
    // Last chunk first: the order chunks run in must not matter either.
    for (let c = chunks - 1; c >= 0; c--) {
      const [j0, j1] = [chunkStart(c, chunks, n, 8), chunkStart(c + 1, chunks, n, 8)];
      exports.gemm_forward(x.byteOffset, w.byteOffset, bias.byteOffset, z.byteOffset, m, k, n, j0, j1, s);
      const [p0, p1] = [chunkStart(c, chunks, k, 6), chunkStart(c + 1, chunks, k, 6)];
      exports.gemm_weights(x.byteOffset, dz.byteOffset, dw.byteOffset, m, k, n, p0, p1, s);
      const [q0, q1] = [chunkStart(c, chunks, k, 8), chunkStart(c + 1, chunks, k, 8)];
      exports.gemm_input(dz.byteOffset, w.byteOffset, dx.byteOffset, m, k, n, q0, q1, s);
    }
    const out = [z.slice(), dw.slice(), dx.slice()];
    for (const a of [x, w, bias, dz, z, dw, dx, scratch]) wasm.free(a);
    return out;
  }

  for (const [m, k, n] of [
    [400, 600, 70],
    [33, 1030, 130],
    [256, 300, 1024],
  ] as [number, number, number][]) {
    test(`${m}×${k}×${n}: 1 to 16 chunks, other block sizes, B packed or in place, dense or sparse rows`, () => {
      for (const zeros of [0, 0.5]) {
        const base = products(m, k, n, zeros, 1);
        const check = (what: string, result: Float32Array[]) =>
          ['z', 'dw', 'dx'].forEach((name, i) => assertIdentical(result[i], base[i], `${name} ${what}`));
        for (const chunks of [2, 3, 7, 16]) check(`${chunks} chunks`, products(m, k, n, zeros, chunks));
        const variations: [keyof typeof TUNABLES, number][] = [
          ['depthBlock', 64],
          ['depthBlock', 1024],
          ['rowBlock', 12],
          ['directB', 0],
          ['sparsePerMille', 0],
          ['sparsePerMille', 1000],
        ];
        for (const [name, value] of variations) {
          const old = exports.gemm_tune(TUNABLES[name], value);
          try {
            check(`${name} ${value}`, products(m, k, n, zeros, 3));
          } finally {
            exports.gemm_tune(TUNABLES[name], old);
          }
        }
      }
    });
  }
});

describe('through the Kernels interface on two threads', () => {
  test('large products split between the threads give the same bits as one thread', async () => {
    // mainChunkLimit: the helper thread must take a chunk of every split product, whatever the load.
    const two = await createWasmKernels({ threads: 2, mainChunkLimit: 1, relaxedSimd });
    try {
      // 600×700 weights: split by columns (forward) rather than by depth; 1030×1024: packed panels.
      for (const [m, k, n] of [
        [64, 600, 700],
        [100, 1030, 1024],
      ] as [number, number, number][]) {
        const outputs = [wasm, two].map((kernels) => {
          const random = rng(m + k + n);
          const fill = (length: number, zeros: number) => {
            const a = kernels.alloc(length);
            for (let i = 0; i < length; i++) a[i] = random() < zeros ? 0 : random() - 0.5;
            return a;
          };
          const x = fill(m * k, 0.5);
          const w = fill(k * n, 0);
          const bias = fill(n, 0);
          const dz = fill(m * n, 0);
          const z = kernels.alloc(m * n);
          const y = kernels.alloc(m * n);
          const dw = kernels.alloc(k * n);
          const db = kernels.alloc(n);
          const dx = kernels.alloc(m * k);
          kernels.denseForward(x, w, bias, z, y, m, k, n, 'selu');
          kernels.denseBackwardWeights(x, dz, dw, db, m, k, n);
          kernels.denseBackwardInput(dz, w, dx, m, k, n);
          const out = [z, y, dw, db, dx].map((a) => a.slice());
          for (const a of [x, w, bias, dz, z, y, dw, db, dx]) kernels.free(a);
          return out;
        });
        ['z', 'y', 'dw', 'db', 'dx'].forEach((name, i) =>
          assertIdentical(outputs[1][i], outputs[0][i], `${name} ${m}×${k}×${n}`),
        );
      }
      assert.ok(two.threadStats!.shared > 0, 'the helper thread must have computed part of the products');
      assert.equal(two.stats.fallbacks, 0);
    } finally {
      await two.dispose();
    }
  });
});

// Every tile remainder: rows 1–13 (every height mod 6, and a second group), columns 1–17 and 33 (vectors of
// 1–8 and the masked last lanes: 9–11 columns are 2 vectors + 1–3 lanes), depths 1–9 (not multiples of 4)
// and 259 (two depth blocks); for dX, 48–53 rows (its blocked path starts at 48) with columns 1–17. Each
// with B read in place and packed, A copied or not, and rows forced dense and forced sparse.
describe('every tile remainder against the reference', () => {
  const CONFIGS: [string, [number, number][]][] = [
    ['default', []],
    [
      'B packed, A copied',
      [
        [3, 0],
        [4, 2],
      ],
    ],
    ['sparse rows', [[2, 1000]]],
    ['dense rows', [[2, 0]]],
  ];
  const configured = (settings: [number, number][], body: () => void) => {
    const old = settings.map(([which, value]) => [which, exports.gemm_tune(which, value)]);
    try {
      body();
    } finally {
      for (const [which, value] of old.reverse()) exports.gemm_tune(which, value);
    }
  };
  const COLUMNS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 33];

  /** The three products of m×k×n through the Kernels interface against the reference. */
  function check(m: number, k: number, n: number, zeros: number, seed: number, what: string): void {
    const random = rng(seed);
    const x = matrix(random, m, k, zeros);
    const w = matrix(random, k, n, 0.1);
    const bias = matrix(random, 1, n, 0);
    const dz = matrix(random, m, n, zeros / 2);
    const z = wasm.alloc(m * n);
    const dw = wasm.alloc(k * n);
    const db = wasm.alloc(n);
    const dx = wasm.alloc(m * k);
    // Stale values everywhere: a product must write every element it owns, and no other.
    for (const a of [z, dw, dx]) a.fill(Number.NaN);
    wasm.denseForward(x, w, bias, z, z, m, k, n, 'linear');
    wasm.denseBackwardWeights(x, dz, dw, db, m, k, n);
    wasm.denseBackwardInput(dz, w, dx, m, k, n);
    const zRef = new Float32Array(m * n);
    const dwRef = new Float32Array(k * n);
    const dbRef = new Float32Array(n);
    const dxRef = new Float32Array(m * k);
    reference.denseForward(x, w, bias, zRef, zRef, m, k, n, 'linear');
    reference.denseBackwardWeights(x, dz, dwRef, dbRef, m, k, n);
    reference.denseBackwardInput(dz, w, dxRef, m, k, n);
    const shape = `${m}×${k}×${n} zeros ${zeros}, ${what}`;
    assertClose(z, zRef, absProduct(x, k, 1, w, n, 1, bias, m, k, n), `z ${shape}`);
    assertClose(dw, dwRef, absProduct(x, 1, k, dz, n, 1, null, k, m, n), `dw ${shape}`);
    assertClose(dx, dxRef, absProduct(dz, n, 1, w, 1, n, null, m, n, k), `dx ${shape}`);
    assertClose(
      db,
      dbRef,
      absProduct(dz, 1, n, new Float32Array(m).fill(1), 1, 0, null, n, m, 1),
      `db ${shape}`,
    );
    for (const a of [x, w, bias, dz, z, dw, db, dx]) wasm.free(a);
  }

  for (const [name, settings] of CONFIGS) {
    test(`rows 1–13, columns 1–17 and 33, depths 1–9 and 259: ${name}`, () => {
      configured(settings, () => {
        for (let m = 1; m <= 13; m++)
          for (const n of COLUMNS)
            for (const k of [1, 2, 3, 5, 9, 259]) {
              if (k === 259 && m % 3 !== 1) continue;
              check(m, k, n, 0.5, m * 1000 + n * 10 + k, name);
            }
      });
    });
    test(`dX's blocked path: rows 48–53, columns 1–17, depths 3 and 67: ${name}`, () => {
      configured(settings, () => {
        for (let m = 48; m <= 53; m++)
          for (const k of COLUMNS) for (const n of [3, 67]) check(m, k, n, 0.6, m * 1000 + k * 10 + n, name);
      });
    });
  }
});
