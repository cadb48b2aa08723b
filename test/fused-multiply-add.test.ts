/**
 * SGD's fused multiply-add (`x + α·y` rounded once, as Keras-on-PyTorch's `vec::fmadd`): the reference's
 * `fusedMultiplyAdd` on ties that a float64 sum rounds the wrong way, against the CPU's own FMA where the
 * engine fuses `relaxed_madd`; and the wasm SGD kinds (fused and float64 lanes) on the same ties.
 * Needs `npm run build:wasm`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { fusedMultiplyAdd, ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, maddFuses, type WasmKernels } from '../src/kernels/wasm/index.js';

const f = Math.fround;

/** Half the float32 spacing above |c| (c a normal float32). */
function halfUlp(c: number): number {
  const exponent = Math.floor(Math.log2(Math.abs(c)));
  let e = exponent;
  if (2 ** (e + 1) <= Math.abs(c)) e++;
  if (2 ** e > Math.abs(c)) e--;
  return 2 ** (e - 24);
}

/**
 * Triples (a, b, c) whose exact a·b + c lies just below the float32 midpoint c + h (h = half an ulp of c,
 * c > 0 with an odd last bit): a·b = h·(1 − 2⁻⁴⁶) exactly, which a float64 sum rounds up to the midpoint, and
 * ties-to-even then takes c + 2h. One rounding gives c.
 */
function ties(count: number): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (let i = 0; out.length < count; i++) {
    const c = f((1 + ((i * 2654435761) % 2 ** 22) * 2 ** -22 + 2 ** -23) * 2 ** ((i % 40) - 20));
    const bits = new Uint32Array(new Float32Array([c]).buffer)[0];
    if ((bits & 1) === 0) continue;
    const h = halfUlp(c);
    const a = h * (1 + 2 ** -23);
    const b = 1 - 2 ** -23;
    assert.equal(f(a), a);
    assert.equal(f(b), b);
    for (const sign of [1, -1]) out.push([sign * a, b, sign * c, sign * c]);
  }
  return out;
}

let wasm: WasmKernels;
let simd: WasmKernels;
before(async () => {
  wasm = await createWasmKernels({ threads: 1 });
  simd = await createWasmKernels({ threads: 1, relaxedSimd: false });
});
after(() => {
  wasm.dispose();
  simd.dispose();
});

describe('fused multiply-add', () => {
  test('one rounding where a float64 sum lands on a float32 tie', () => {
    for (const [a, b, c, expected] of ties(200)) {
      const float64Sum = f(a * b + c);
      assert.notEqual(float64Sum, expected, 'the triple is a double-rounding case');
      assert.equal(fusedMultiplyAdd(a, b, c), expected, `${a}·${b} + ${c}`);
    }
  });

  test("matches this CPU's FMA (relaxed_madd) on random triples and on ties", (t) => {
    if (!maddFuses(wasm.wasm, wasm.info.relaxedSimd)) {
      // Only an engine without a fused multiply-add gets here; the tie test above still checks the reference.
      t.diagnostic('relaxed_madd does not fuse on this engine: no hardware oracle');
      return;
    }
    assert.equal(wasm.info.fusedMultiplyAdd, true);
    let seed = 7;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const value = (): number => f((random() - 0.5) * 2 ** Math.floor(random() * 60 - 30));
    let checked = 0;
    for (let i = 0; i < 200_000; i++) {
      const a = value();
      const b = value();
      const c = random() < 0.5 ? value() : f(-a * b * (1 + (random() - 0.5) * 2 ** -20)); // cancellation
      assert.equal(fusedMultiplyAdd(a, b, c), wasm.wasm.madd_probe(a, b, c), `${a}·${b} + ${c}`);
      checked++;
    }
    for (const [a, b, c] of ties(200)) assert.equal(fusedMultiplyAdd(a, b, c), wasm.wasm.madd_probe(a, b, c));
    assert.equal(checked, 200_000);
  });

  test('the baseline build does not claim to fuse', () => {
    assert.equal(simd.info.relaxedSimd, false);
    assert.equal(simd.info.fusedMultiplyAdd, false);
  });

  test('SGD on ties: the reference and the fused wasm kinds round once; float64 lanes round twice', () => {
    const reference = new ReferenceKernels();
    const triples = ties(64);
    // p ← p − η·g with η = −a, g = b: the tie triples as SGD steps.
    const learningRate = triples[0][0];
    for (const kernels of [wasm, simd]) {
      const rows = triples.filter(([a]) => a === learningRate);
      const param = kernels.alloc(rows.length);
      const grad = kernels.alloc(rows.length);
      rows.forEach(([, b, c], i) => {
        param[i] = c;
        grad[i] = b;
      });
      const expected = Float32Array.from(param);
      const referenceGrad = Float32Array.from(grad);
      reference.sgdUpdate(expected, referenceGrad, null, {
        learningRate: -learningRate,
        momentum: 0,
        nesterov: false,
      });
      kernels.sgdUpdate(param, grad, null, { learningRate: -learningRate, momentum: 0, nesterov: false });
      rows.forEach(([, , , tieFree], i) => assert.equal(expected[i], tieFree));
      const differing = param.filter((v, i) => v !== expected[i]).length;
      if (kernels.info.fusedMultiplyAdd) assert.equal(differing, 0, 'fused kinds: the reference bits');
      else assert.equal(differing, rows.length, 'float64 lanes round twice on every tie');
    }
  });
});
