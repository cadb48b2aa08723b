/**
 * Development helper: per-kernel times of model A's first layer (32×784×300) in a training-like sequence
 * (forward, dW, SGD) on one and two threads, alternating, to see what cross-core traffic costs.
 * Usage: node --import tsx bench/l0.ts
 * @module
 */
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';

const [m, k, n] = [32, 784, 300];
function setup(kern: WasmKernels) {
  const a = (len: number, s: number) => {
    const v = kern.alloc(len);
    for (let i = 0; i < len; i++) v[i] = Math.sin(i * s) * 0.1;
    return v;
  };
  return {
    x: a(m * k, 0.37),
    w: a(k * n, 0.11),
    b: a(n, 0.5),
    z: a(m * n, 0),
    y: a(m * n, 0),
    dz: a(m * n, 0.29),
    dw: a(k * n, 0),
  };
}
const kernelsList = [
  await createWasmKernels({ threads: 2 }),
  await createWasmKernels({ threads: 2 }),
  await createWasmKernels({ threads: 1 }),
];
kernelsList[1].splitDepth = Infinity;
const bufs = kernelsList.map(setup);
const names = ['fwd', 'dW', 'sgd', 'fwd-only', 'sgd-only'];
const best = kernelsList.map(() => names.map(() => Infinity));
const step = { learningRate: 1e-6, momentum: 0, nesterov: false };
for (let round = 0; round < 30; round++) {
  kernelsList.forEach((kern, c) => {
    const { x, w, b, z, y, dz, dw } = bufs[c];
    const t = [0, 0, 0, 0, 0];
    const reps = 50;
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      kern.denseForward(x, w, b, z, y, m, k, n, 'selu');
      let t1 = performance.now();
      t[0] += t1 - t0;
      kern.denseBackwardWeights(x, dz, dw, null, m, k, n);
      t0 = performance.now();
      t[1] += t0 - t1;
      kern.sgdUpdate(w, dw, null, step);
      t1 = performance.now();
      t[2] += t1 - t0;
    }
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      kern.denseForward(x, w, b, z, y, m, k, n, 'selu');
      t[3] += performance.now() - t0;
    }
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      kern.sgdUpdate(w, dw, null, step);
      t[4] += performance.now() - t0;
    }
    for (let i = 0; i < 5; i++) best[c][i] = Math.min(best[c][i], (t[i] / reps) * 1000);
  });
}
['2 threads', '2 t old fwd', '1 thread'].forEach((name, c) =>
  console.log(name.padEnd(10), names.map((s, i) => `${s} ${best[c][i].toFixed(1)}`).join('  '), 'µs/call'),
);
console.log(kernelsList[0].threadStats);
for (const kern of kernelsList) await kern.dispose();
