// Property tests of the WebAssembly kernels against the reference oracle. Needs `npm run build:wasm`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { AccuracyName, ActivationName, Kernels, LossName } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';

const ACTIVATIONS: ActivationName[] = ['linear', 'relu', 'sigmoid', 'tanh', 'selu', 'elu', 'softmax'];
const DIMS = [1, 3, 7, 8, 13, 31, 33, 64, 100, 300, 784];

/** Deterministic generator (mulberry32), so every failure reproduces. */
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

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)];
}

/** `length` uniform floats in [−scale, scale), stored in `kernels`' memory. */
function randomArray(kernels: Kernels, random: () => number, length: number, scale = 1): Float32Array {
  const a = kernels.alloc(length);
  for (let i = 0; i < length; i++) a[i] = (random() * 2 - 1) * scale;
  return a;
}

/**
 * Like {@link randomArray}, but mostly zeros (as image inputs and ReLU outputs are), with a few −0s and
 * some all-zero rows: exercises the products' zero-skipping lists. `density` is the non-zero fraction.
 */
function sparseArray(kernels: Kernels, random: () => number, rows: number, cols: number, density: number) {
  const a = kernels.alloc(rows * cols);
  for (let i = 0; i < rows; i++) {
    if (i % 5 === 4) continue; // an all-zero row
    for (let j = 0; j < cols; j++) {
      const r = random();
      a[i * cols + j] = r < density ? random() * 2 - 1 : r < density + 0.01 ? -0 : 0;
    }
  }
  return a;
}

function copyTo(kernels: Kernels, source: Float32Array): Float32Array {
  const a = kernels.alloc(source.length);
  a.set(source);
  return a;
}

/** |a − e| ≤ rtol·bound + atol element-wise, where bound defaults to |e|. */
function assertClose(
  actual: Float32Array,
  expected: Float32Array,
  what: string,
  rtol = 1e-5,
  atol = 1e-7,
  bound?: Float32Array,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    const limit = rtol * (bound === undefined ? Math.abs(e) : bound[i]) + atol;
    if (!(Math.abs(a - e) <= limit)) {
      assert.fail(`${what}: element ${i}: got ${a}, expected ${e} (limit ${limit})`);
    }
  }
}

function assertIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]))
      assert.fail(`${what}: element ${i}: ${actual[i]} !== ${expected[i]}`);
  }
}

/** Σ_p |x_ip|·|w_pj| (+|b_j|): the scale a float32 dot product's rounding error is relative to. */
function absProduct(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  m: number,
  k: number,
  n: number,
) {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias === null ? 0 : Math.abs(bias[j]);
      for (let p = 0; p < k; p++) s += Math.abs(x[i * k + p] * w[p * n + j]);
      out[i * n + j] = s;
    }
  }
  return out;
}

const reference = new ReferenceKernels();
let wasm: WasmKernels;
let wasm2: WasmKernels;
/** Fallbacks the tests provoke on purpose (foreign arrays, out-of-range indices). */
let expectedFallbacks = 0;

/**
 * Which build these tests check: the relaxed-SIMD (FMA) one by default; the plain SIMD128 build (what engines
 * without relaxed SIMD run) when `WARMSTART_TEST_SIMD128` is '1', as `kernels-wasm-simd128.test.ts` sets it.
 */
const relaxedSimd = process.env.WARMSTART_TEST_SIMD128 !== '1';

before(async () => {
  wasm = await createWasmKernels({ threads: 1, relaxedSimd });
  // The worker must take part in every split, whatever the machine's load: the 1-vs-2-thread checks
  // below would otherwise pass vacuously when the pool pauses splitting.
  wasm2 = await createWasmKernels({ threads: 2, mainChunkLimit: 1, relaxedSimd });
  assert.equal(wasm.info.relaxedSimd, relaxedSimd, 'the build under test');
  assert.equal(wasm2.info.relaxedSimd, relaxedSimd, 'the build under test (two threads)');
});

after(async () => {
  // Every test above passes views from the backends' own memories except where it says otherwise: none
  // of those may have silently run the reference loops.
  assert.equal(wasm.stats.fallbacks, expectedFallbacks, 'unexpected fallbacks to the reference (one thread)');
  assert.equal(wasm2.stats.fallbacks, 0, 'unexpected fallbacks to the reference (two threads)');
  const threads = wasm2.threadStats!;
  assert.ok(
    threads.runs > 20 && threads.shared === threads.runs,
    `worker took part: ${JSON.stringify(threads)}`,
  );
  await wasm.dispose();
  await wasm2.dispose();
});

describe('wasm backend setup', () => {
  test('is named wasm and reports its build', () => {
    assert.equal(wasm.name, 'wasm');
    assert.equal(wasm.info.threads, 1);
    assert.equal(typeof wasm.info.relaxedSimd, 'boolean');
  });

  test('alloc hands out zeroed, 64-byte-aligned views into its memory, and reuses freed blocks', () => {
    const a = wasm.alloc(100);
    assert.equal(a.length, 100);
    assert.equal(a.byteOffset % 64, 0);
    assert.ok(a.every((v) => v === 0));
    a.fill(7);
    wasm.free(a);
    const b = wasm.alloc(100);
    assert.equal(b.byteOffset, a.byteOffset);
    assert.ok(b.every((v) => v === 0));
    assert.throws(() => wasm.free(b.subarray(1)), /not a live buffer/);
    wasm.free(b);
    assert.throws(() => wasm.free(b), /not a live buffer/);
    const empty = wasm.alloc(0);
    assert.equal(empty.length, 0);
    wasm.free(empty);
  });

  test('views stay valid and recognised after the memory grows', () => {
    const old = wasm.alloc(16);
    old.fill(3);
    const before = wasm.heap.buffer.byteLength;
    const big = wasm.alloc(Math.ceil(before / 4) + 1000);
    assert.ok(wasm.heap.buffer.byteLength > before);
    assert.notEqual(old.buffer, wasm.heap.buffer);
    assert.ok(old.every((v) => v === 3));
    // A kernel on an old-generation view must still run in wasm (and be right).
    assert.equal(wasm.sumOfSquares(old), 16 * 9);
    wasm.scale(old, 2);
    assert.ok(old.every((v) => v === 6));
    wasm.free(big);
    wasm.free(old);
  });

  test('free ignores arrays it does not own, even at the offset of a live block', () => {
    const mine = wasm.alloc(4);
    mine.fill(7);
    const live = [wasm.heap.liveBlocks, wasm.heap.liveBytes];
    // Same offset and length as `mine`, in another buffer: freeing by offset alone would free `mine`.
    const impostor = new Float32Array(new ArrayBuffer(mine.byteOffset + 16), mine.byteOffset, 4);
    wasm.free(impostor);
    wasm.free(new Float32Array(4));
    const otherBackends = wasm2.alloc(4);
    const otherLive = [wasm2.heap.liveBlocks, wasm2.heap.liveBytes];
    wasm.free(otherBackends);
    assert.deepEqual([wasm.heap.liveBlocks, wasm.heap.liveBytes], live);
    assert.deepEqual([wasm2.heap.liveBlocks, wasm2.heap.liveBytes], otherLive);
    // `mine` is still allocated: a new block does not overlap it, and its values are intact.
    const next = wasm.alloc(4);
    const overlap =
      next.byteOffset < mine.byteOffset + mine.byteLength &&
      mine.byteOffset < next.byteOffset + next.byteLength;
    assert.ok(!overlap, 'a block freed by an impostor was handed out again');
    assert.ok(mine.every((v) => v === 7));
    wasm.free(next);
    wasm.free(mine);
    wasm2.free(otherBackends);
  });

  test("another backend's memory growth does not make this one's new views foreign", () => {
    // V8 refreshes the buffer object of every shared memory when one grows.
    const before = wasm2.stats.fallbacks;
    const big = wasm.alloc(Math.ceil(wasm.heap.buffer.byteLength / 4) + 1000);
    const x = wasm2.alloc(8);
    wasm2.scale(x, 2);
    assert.equal(wasm2.stats.fallbacks, before);
    wasm.free(big);
    wasm2.free(x);
  });
});

describe('denseForward', () => {
  const random = rng(1);
  const cases: [number, number, number][] = [
    [32, 784, 300],
    [32, 300, 100],
    [32, 50, 8],
    [1, 1, 1],
    [3, 7, 13],
  ];
  for (let c = 0; c < 40; c++)
    cases.push([pick(random, DIMS.slice(0, 9)), pick(random, DIMS), pick(random, DIMS)]);
  for (const activation of ACTIVATIONS) {
    test(`matches the reference, ${activation}, ${cases.length} shapes, bias or none, z aliasing y or not`, () => {
      for (const [index, [m, k, n]] of cases.entries()) {
        const withBias = index % 3 !== 2;
        const alias = index % 2 === 0;
        // Every third case has mostly-zero inputs (the zero-skipping path), at varying density.
        const x =
          index % 3 === 1
            ? sparseArray(wasm, random, m, k, [0.2, 0.05, 0.5][index % 9 === 1 ? 0 : index % 9 === 4 ? 1 : 2])
            : randomArray(wasm, random, m * k);
        const w = randomArray(wasm, random, k * n, 1 / Math.sqrt(k));
        const bias = withBias ? randomArray(wasm, random, n, 0.5) : null;
        const z = wasm.alloc(m * n);
        const y = alias ? z : wasm.alloc(m * n);
        wasm.denseForward(x, w, bias, z, y, m, k, n, activation);
        const zRef = new Float32Array(m * n);
        const yRef = alias ? zRef : new Float32Array(m * n);
        reference.denseForward(x, w, bias, zRef, yRef, m, k, n, activation);
        const scale = absProduct(x, w, bias, m, k, n);
        const shape = `${activation} m=${m} k=${k} n=${n} bias=${withBias} alias=${alias}`;
        if (!alias) assertClose(z, zRef, `z ${shape}`, 2e-6, 1e-7, scale);
        // f is smooth with |f′| ≤ ~1.8, so y inherits z's error; plus the activation's own few ulp.
        const yBound = scale.map((s, i) => 1.8 * s + Math.abs(yRef[i]));
        assertClose(y, yRef, `y ${shape}`, 4e-6, 1e-7, yBound);
        for (const a of [x, w, z, ...(bias ? [bias] : []), ...(alias ? [] : [y])]) wasm.free(a);
      }
    });
  }

  test('k = 0 gives the bias (then the activation)', () => {
    const bias = copyTo(wasm, new Float32Array([1, -2, 3]));
    const z = wasm.alloc(6);
    const y = wasm.alloc(6);
    wasm.denseForward(wasm.alloc(0), wasm.alloc(0), bias, z, y, 2, 0, 3, 'relu');
    assert.deepEqual([...z], [1, -2, 3, 1, -2, 3]);
    assert.deepEqual([...y], [1, 0, 3, 1, 0, 3]);
  });

  test('falls back to the reference for arrays outside its memory', () => {
    const random2 = rng(2);
    const x = new Float32Array(6).map(() => random2() - 0.5);
    const w = new Float32Array(12).map(() => random2() - 0.5);
    const z = new Float32Array(8);
    const zRef = new Float32Array(8);
    const before = wasm.stats.fallbacks;
    wasm.denseForward(x, w, null, z, z, 2, 3, 4, 'tanh');
    // The reference's denseForward calls this.activationForward, which falls back once more.
    assert.equal(wasm.stats.fallbacks - before, 2);
    expectedFallbacks += 2;
    reference.denseForward(x, w, null, zRef, zRef, 2, 3, 4, 'tanh');
    assertIdentical(z, zRef, 'fallback');
  });
});

describe('activations', () => {
  /** Values across every regime: huge, moderate, tiny, signed zeros, and exactly at the clamp points. */
  function specialValues(random: () => number, length: number): Float32Array {
    const fixed = [0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 1e-4, -1e-4, 0.34, -0.35, 0.7, -0.7, 1, -1, 5, -5];
    const more = [9, -9, 17.5, -17.5, 20, -20, 50, -50, 87, -87, 88, -88, 100, -100, 1e4, -1e4];
    const a = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      if (i < fixed.length + more.length) a[i] = i < fixed.length ? fixed[i] : more[i - fixed.length];
      else a[i] = (random() * 2 - 1) * [0.01, 1, 10, 100][i % 4];
    }
    return a;
  }

  for (const activation of ACTIVATIONS) {
    test(`activationForward matches the reference: ${activation}, element-wise and in place`, () => {
      const random = rng(10);
      for (const [m, n] of [
        [1, 1],
        [3, 7],
        [13, 33],
        [32, 300],
        [32, 8],
        [100, 3],
      ]) {
        const z = copyTo(wasm, specialValues(random, m * n));
        const y = wasm.alloc(m * n);
        wasm.activationForward(activation, z, y, m, n);
        const yRef = new Float32Array(m * n);
        reference.activationForward(activation, z, yRef, m, n);
        // Relative accuracy everywhere except where the true value underflows float32's normal range.
        assertClose(y, yRef, `${activation} ${m}×${n}`, 4e-6, 1e-37);
        const inPlace = copyTo(wasm, z);
        wasm.activationForward(activation, inPlace, inPlace, m, n);
        assertIdentical(inPlace, y, `${activation} in place`);
      }
    });

    test(`activationBackward matches the reference: ${activation}, dz aliasing dy or not`, () => {
      const random = rng(11);
      for (const [m, n] of [
        [1, 1],
        [3, 7],
        [13, 33],
        [32, 300],
        [32, 8],
      ]) {
        const z = randomArray(wasm, random, m * n, 3);
        const y = wasm.alloc(m * n);
        reference.activationForward(activation, z, y, m, n);
        const dy = randomArray(wasm, random, m * n);
        const dz = wasm.alloc(m * n);
        wasm.activationBackward(activation, z, y, dy, dz, m, n);
        const dzRef = new Float32Array(m * n);
        reference.activationBackward(activation, z, y, dy, dzRef, m, n);
        // Softmax sums a row (different order); the rest are a few float ops per element.
        assertClose(dz, dzRef, `${activation} ${m}×${n}`, 1e-6, activation === 'softmax' ? 1e-7 : 0);
        wasm.activationBackward(activation, z, y, dy, dy, m, n);
        assertIdentical(dy, dz, `${activation} in place`);
      }
    });
  }
});

describe('dense backward', () => {
  const random = rng(3);
  const cases: [number, number, number][] = [
    [32, 784, 300],
    [32, 300, 100],
    [32, 50, 8],
    [1, 1, 1],
  ];
  for (let c = 0; c < 40; c++)
    cases.push([pick(random, DIMS.slice(0, 9)), pick(random, DIMS), pick(random, DIMS)]);

  test(`denseBackwardWeights matches the reference on ${cases.length} shapes`, () => {
    for (const [index, [m, k, n]] of cases.entries()) {
      const x =
        index % 2 === 1
          ? sparseArray(wasm, random, m, k, index % 4 === 1 ? 0.2 : 0.05)
          : randomArray(wasm, random, m * k);
      const dz = randomArray(wasm, random, m * n);
      const dw = randomArray(wasm, random, k * n); // stale contents must be overwritten
      const db = index % 4 === 3 ? null : randomArray(wasm, random, n);
      wasm.denseBackwardWeights(x, dz, dw, db, m, k, n);
      const dwRef = new Float32Array(k * n);
      const dbRef = new Float32Array(n);
      reference.denseBackwardWeights(x, dz, dwRef, db === null ? null : dbRef, m, k, n);
      // dw = xᵀ·dz: the error scale is |x|ᵀ·|dz|.
      const xt = new Float32Array(k * m);
      for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) xt[p * m + i] = x[i * k + p];
      assertClose(dw, dwRef, `dw m=${m} k=${k} n=${n}`, 2e-6, 1e-7, absProduct(xt, dz, null, k, m, n));
      if (db !== null) assertClose(db, dbRef, `db m=${m} n=${n}`, 1e-5, 1e-6);
      for (const a of [x, dz, dw, ...(db ? [db] : [])]) wasm.free(a);
    }
  });

  test(`denseBackwardInput matches the reference on ${cases.length} shapes`, () => {
    for (const [m, k, n] of cases) {
      const dz = randomArray(wasm, random, m * n);
      const w = randomArray(wasm, random, k * n);
      const dx = randomArray(wasm, random, m * k);
      wasm.denseBackwardInput(dz, w, dx, m, k, n);
      const dxRef = new Float32Array(m * k);
      reference.denseBackwardInput(dz, w, dxRef, m, k, n);
      const wt = new Float32Array(n * k);
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) wt[j * k + p] = w[p * n + j];
      assertClose(dx, dxRef, `dx m=${m} k=${k} n=${n}`, 2e-6, 1e-7, absProduct(dz, wt, null, m, n, k));
      for (const a of [dz, w, dx]) wasm.free(a);
    }
  });

  test('garbage (NaN, Infinity) just past a row never leaks into dx', () => {
    const m = 3;
    const k = 5;
    const n = 7;
    const dz = wasm.alloc(m * n + 8);
    const w = wasm.alloc(k * n + 8);
    dz.fill(1);
    w.fill(1);
    dz.fill(NaN, m * n);
    w.fill(Infinity, k * n);
    const dx = wasm.alloc(m * k);
    wasm.denseBackwardInput(dz.subarray(0, m * n), w.subarray(0, k * n), dx, m, k, n);
    assert.ok(dx.every((v) => v === n));
  });
});

describe('losses and accuracy', () => {
  const LOSSES: LossName[] = [
    'sparse_categorical_crossentropy',
    'categorical_crossentropy',
    'binary_crossentropy',
    'mean_squared_error',
  ];
  for (const loss of LOSSES) {
    for (const fused of [true, false]) {
      test(`loss ${loss}${fused ? ' fused' : ''} matches the reference`, () => {
        const random = rng(4);
        for (const [m, n] of [
          [1, 1],
          [32, 8],
          [7, 3],
          [13, 10],
          [32, 1],
        ]) {
          const logits = randomArray(wasm, random, m * n, 4);
          const yPred = wasm.alloc(m * n);
          const kind: ActivationName = loss.includes('categorical') ? 'softmax' : 'sigmoid';
          reference.activationForward(kind, logits, yPred, m, n);
          // Saturate a few predictions so the clipping paths run.
          yPred[0] = loss === 'binary_crossentropy' ? 1 : yPred[0];
          if (m * n > 2) yPred[2] = 1e-9;
          let yTrue: Float32Array;
          if (loss === 'sparse_categorical_crossentropy') {
            yTrue = wasm.alloc(m);
            for (let i = 0; i < m; i++) yTrue[i] = Math.floor(random() * n);
          } else {
            yTrue = wasm.alloc(m * n);
            for (let i = 0; i < m * n; i++)
              yTrue[i] = loss === 'categorical_crossentropy' ? 0 : random() < 0.5 ? 1 : 0;
            if (loss === 'categorical_crossentropy')
              for (let i = 0; i < m; i++) yTrue[i * n + ((i * 7) % n)] = 1;
            if (loss === 'mean_squared_error') for (let i = 0; i < m * n; i++) yTrue[i] = random();
          }
          const dPred = wasm.alloc(m * n);
          const dRef = new Float32Array(m * n);
          const total = wasm.loss(loss, yPred, yTrue, dPred, m, n, fused);
          const totalRef = reference.loss(loss, yPred, yTrue, dRef, m, n, fused);
          assert.ok(
            Math.abs(total - totalRef) <= 1e-12 * Math.abs(totalRef),
            `${loss} ${m}×${n}: ${total} vs ${totalRef}`,
          );
          assertClose(dPred, dRef, `${loss} gradient ${m}×${n}`, 1e-7, 0);
          assert.equal(wasm.loss(loss, yPred, yTrue, null, m, n, fused), total);
        }
      });
    }
  }

  const ACCURACIES: AccuracyName[] = [
    'sparse_categorical_accuracy',
    'categorical_accuracy',
    'binary_accuracy',
  ];
  for (const accuracy of ACCURACIES) {
    test(`countCorrect ${accuracy} matches the reference`, () => {
      const random = rng(5);
      for (const [m, n] of [
        [1, 1],
        [32, 8],
        [33, 3],
        [10, 1],
      ]) {
        const yPred = randomArray(wasm, random, m * n);
        if (m * n > 4) yPred[1] = yPred[0]; // a tie: the first index wins
        const sparse = accuracy === 'sparse_categorical_accuracy';
        const yTrue = wasm.alloc(sparse ? m : m * n);
        for (let i = 0; i < yTrue.length; i++)
          yTrue[i] = sparse ? Math.floor(random() * n) : random() < 0.5 ? 1 : 0;
        assert.equal(
          wasm.countCorrect(accuracy, yPred, yTrue, m, n),
          reference.countCorrect(accuracy, yPred, yTrue, m, n),
        );
      }
    });
  }
});

describe('vector utilities', () => {
  test('sgdUpdate matches the reference bit for bit on 1 and 2 threads: plain, momentum, Nesterov', () => {
    const random = rng(6);
    for (const length of [1, 3, 17, 1000, 70001]) {
      for (const step of [
        { learningRate: 1e-3, momentum: 0, nesterov: false },
        { learningRate: 0.01, momentum: 0.9, nesterov: false },
        { learningRate: 0.05, momentum: 0.9, nesterov: true },
      ]) {
        const results: Float32Array[][] = [];
        for (const kernels of [wasm, wasm2]) {
          const param = randomArray(kernels, random, length);
          const grad = randomArray(kernels, random, length);
          const velocity = randomArray(kernels, random, length, 0.1);
          // Same inputs for both backends: regenerate them from the first backend's copy.
          if (results.length > 0) {
            param.set(results[0][3]);
            grad.set(results[0][4]);
            velocity.set(results[0][5]);
          }
          const inputs = [param.slice(), grad.slice(), velocity.slice()];
          const paramRef = param.slice();
          const velocityRef = velocity.slice();
          kernels.sgdUpdate(param, grad, velocity, step);
          reference.sgdUpdate(paramRef, grad, velocityRef, step);
          const what = `${length} ${JSON.stringify(step)}`;
          assertIdentical(param, paramRef, `param ${what}`);
          assertIdentical(velocity, velocityRef, `velocity ${what}`);
          kernels.sgdUpdate(param, grad, null, step);
          reference.sgdUpdate(paramRef, grad, null, step);
          assertIdentical(param, paramRef, `param without velocity ${what}`);
          results.push([param.slice(), velocity.slice(), grad, ...inputs]);
        }
        assertIdentical(results[1][0], results[0][0], `two threads, param ${length}`);
        assertIdentical(results[1][1], results[0][1], `two threads, velocity ${length}`);
      }
    }
  });

  test('scale is bit-identical; sumOfSquares agrees to float64 rounding', () => {
    const random = rng(7);
    for (const length of [0, 1, 5, 4096, 10001]) {
      const x = randomArray(wasm, random, length, 3);
      const expected = x.slice();
      wasm.scale(x, 0.3);
      reference.scale(expected, 0.3);
      assertIdentical(x, expected, `scale ${length}`);
      const s = wasm.sumOfSquares(x);
      const sRef = reference.sumOfSquares(x);
      assert.ok(Math.abs(s - sRef) <= 1e-13 * sRef, `sumOfSquares ${length}: ${s} vs ${sRef}`);
    }
  });

  test('firstNonFinite finds the first NaN or ±Infinity', () => {
    for (const length of [0, 1, 15, 16, 17, 100, 1000]) {
      const x = wasm.alloc(length);
      assert.equal(wasm.firstNonFinite(x), -1);
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of [0, Math.floor(length / 2), length - 1]) {
          if (length === 0) continue;
          x.fill(1);
          x[at] = bad;
          if (at + 3 < length) x[at + 3] = NaN;
          assert.equal(wasm.firstNonFinite(x), at, `length ${length} at ${at}`);
        }
      }
    }
  });

  test('gatherRows copies rows from its memory and from user arrays alike', () => {
    const random = rng(8);
    const rows = 50;
    const rowLength = 13;
    const user = new Float32Array(rows * rowLength).map(() => random());
    const inside = copyTo(wasm, user);
    const indices = new Int32Array(40).map(() => Math.floor(random() * rows));
    for (const source of [user, inside]) {
      const target = wasm.alloc(16 * rowLength);
      const expected = new Float32Array(16 * rowLength);
      wasm.gatherRows(source, indices, 5, 16, rowLength, target);
      reference.gatherRows(source, indices, 5, 16, rowLength, expected);
      assertIdentical(target, expected, 'gather');
    }
    // Long rows of user data: shuffled (gathered in ordinary memory, then one copy), consecutive, and a
    // smaller batch after a larger one (the staging array is longer than the rows).
    for (const longRow of [16, 784]) {
      const images = new Float32Array(rows * longRow).map(() => random());
      const shuffled = new Int32Array(rows).map((_, i) => (i * 17) % rows);
      const consecutive = new Int32Array(rows).map((_, i) => i);
      for (const [order, first, count] of [
        [shuffled, 0, 32],
        [shuffled, 40, 7],
        [consecutive, 3, 20],
      ] as const) {
        const target = wasm.alloc(count * longRow + 4).fill(-2);
        const expected = new Float32Array(count * longRow + 4).fill(-2);
        wasm.gatherRows(images, order, first, count, longRow, target);
        reference.gatherRows(images, order, first, count, longRow, expected);
        assertIdentical(target, expected, `gather of ${count} rows of ${longRow}`);
        for (let r = 0; r < count; r++)
          assert.equal(target[r * longRow + 1], images[order[first + r] * longRow + 1], 'row from the order');
      }
    }
    const bad = new Int32Array([0, rows + 3]);
    const target = wasm.alloc(2 * rowLength);
    const expected = new Float32Array(2 * rowLength);
    wasm.gatherRows(inside, bad, 0, 2, rowLength, target);
    expectedFallbacks++;
    reference.gatherRows(inside, bad, 0, 2, rowLength, expected);
    assertIdentical(target, expected, 'out-of-range index');
  });
});

describe('two threads', () => {
  test('products are bit-identical with one and two threads', () => {
    const random = rng(9);
    const shapes: [number, number, number][] = [
      [32, 784, 300],
      [32, 300, 100],
      [64, 100, 50],
      [33, 257, 131],
      [7, 1000, 61],
      [32, 50, 9],
    ];
    for (const [m, k, n] of shapes) {
      for (const activation of ['selu', 'softmax', 'linear'] as ActivationName[]) {
        // Mostly-zero inputs for selu: the zero-skipping lists must not depend on the split either.
        const x =
          activation === 'selu' ? sparseArray(wasm, random, m, k, 0.2) : randomArray(wasm, random, m * k);
        const w = randomArray(wasm, random, k * n, 0.1);
        const b = randomArray(wasm, random, n);
        const results: Float32Array[][] = [];
        for (const kernels of [wasm, wasm2]) {
          // Several rounds, so both claim orders (main first, worker first) get exercised.
          for (let round = 0; round < 3; round++) {
            const xs = copyTo(kernels, x);
            const ws = copyTo(kernels, w);
            const bs = copyTo(kernels, b);
            const z = kernels.alloc(m * n);
            const y = kernels.alloc(m * n);
            const dw = kernels.alloc(k * n);
            const db = kernels.alloc(n);
            const dx = kernels.alloc(m * k);
            kernels.denseForward(xs, ws, bs, z, y, m, k, n, activation);
            kernels.denseBackwardWeights(xs, y, dw, db, m, k, n);
            kernels.denseBackwardInput(y, ws, dx, m, k, n);
            results.push([z, y, dw, db, dx].map((a) => a.slice()));
            for (const a of [xs, ws, bs, z, y, dw, db, dx]) kernels.free(a);
          }
        }
        for (let r = 1; r < results.length; r++) {
          for (let t = 0; t < 5; t++) {
            assertIdentical(
              results[r][t],
              results[0][t],
              `${['z', 'y', 'dw', 'db', 'dx'][t]} ${m}×${k}×${n} round ${r}`,
            );
          }
        }
      }
    }
  });
});

/** One SGD step of a small selu MLP with fused softmax cross-entropy, composed from kernel calls. */
function trainStep(
  kernels: Kernels,
  params: Float32Array[],
  sizes: number[],
  x: Float32Array,
  labels: Float32Array,
  m: number,
): number {
  const layers = sizes.length - 1;
  const zs: Float32Array[] = [];
  const ys: Float32Array[] = [x];
  for (let l = 0; l < layers; l++) {
    const z = kernels.alloc(m * sizes[l + 1]);
    const y = kernels.alloc(m * sizes[l + 1]);
    const act: ActivationName = l === layers - 1 ? 'softmax' : 'selu';
    kernels.denseForward(ys[l], params[2 * l], params[2 * l + 1], z, y, m, sizes[l], sizes[l + 1], act);
    zs.push(z);
    ys.push(y);
  }
  let dz = kernels.alloc(m * sizes[layers]);
  const loss = kernels.loss(
    'sparse_categorical_crossentropy',
    ys[layers],
    labels,
    dz,
    m,
    sizes[layers],
    true,
  );
  for (let l = layers - 1; l >= 0; l--) {
    const dw = kernels.alloc(sizes[l] * sizes[l + 1]);
    const db = kernels.alloc(sizes[l + 1]);
    kernels.denseBackwardWeights(ys[l], dz, dw, db, m, sizes[l], sizes[l + 1]);
    let dx: Float32Array | null = null;
    if (l > 0) {
      dx = kernels.alloc(m * sizes[l]);
      kernels.denseBackwardInput(dz, params[2 * l], dx, m, sizes[l], sizes[l + 1]);
      kernels.activationBackward('selu', zs[l - 1], ys[l], dx, dx, m, sizes[l]);
    }
    const step = { learningRate: 0.01, momentum: 0, nesterov: false };
    kernels.sgdUpdate(params[2 * l], dw, null, step);
    kernels.sgdUpdate(params[2 * l + 1], db, null, step);
    kernels.free(dw);
    kernels.free(db);
    kernels.free(dz);
    if (dx !== null) dz = dx;
  }
  for (let l = 0; l < layers; l++) {
    kernels.free(zs[l]);
    kernels.free(ys[l + 1]);
  }
  return loss;
}

describe('training', () => {
  test('a small MLP trained for 5 steps by kernel calls matches the reference, and 1 vs 2 threads exactly', () => {
    const random = rng(12);
    // Big enough that the first two layers' products and the first SGD step are split between threads.
    const sizes = [300, 120, 90, 8];
    const m = 32;
    const init: Float32Array[] = [];
    for (let l = 0; l < sizes.length - 1; l++) {
      const w = new Float32Array(sizes[l] * sizes[l + 1]);
      for (let i = 0; i < w.length; i++) w[i] = ((random() * 2 - 1) * Math.sqrt(3)) / Math.sqrt(sizes[l]);
      init.push(
        w,
        new Float32Array(sizes[l + 1]).map(() => (random() - 0.5) * 0.1),
      );
    }
    const batches = [...Array(5)].map(() => ({
      x: new Float32Array(m * sizes[0]).map(() => random() * 2 - 1),
      labels: new Float32Array(m).map(() => Math.floor(random() * 8)),
    }));
    const run = (kernels: Kernels) => {
      const params = init.map((p) => copyTo(kernels, p));
      const losses = batches.map((b) =>
        trainStep(kernels, params, sizes, copyTo(kernels, b.x), copyTo(kernels, b.labels), m),
      );
      return { params, losses };
    };
    const ref = run(reference);
    const one = run(wasm);
    const two = run(wasm2);
    for (let s = 0; s < batches.length; s++) {
      assert.ok(Math.abs(one.losses[s] - ref.losses[s]) <= 1e-5 * ref.losses[s], `loss step ${s}`);
      assert.equal(two.losses[s], one.losses[s]);
    }
    for (let p = 0; p < init.length; p++) {
      assertClose(one.params[p], ref.params[p], `param ${p}`, 1e-5, 1e-6);
      assertIdentical(two.params[p], one.params[p], `param ${p}, two threads`);
    }
  });
});
