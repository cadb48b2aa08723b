/**
 * Development helper: like ab.ts (alternating slices in one process; best and median slice per
 * configuration), comparing the current splits with the old ones (column-split forward products, SGD
 * split from 32k elements) on one and two threads.
 * Usage: node --import tsx bench/ab3.ts [ROUNDS] [STEPS_PER_SLICE]
 * @module
 */
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { ModelA, randomDataset, runEpoch } from './model-a.js';

const rounds = Number(process.argv[2] ?? 10);
const steps = Number(process.argv[3] ?? 100);
const train = randomDataset(44000, 1);
const validation = randomDataset(320, 2);
const configs = [
  { name: '2 threads', kernels: await createWasmKernels({ threads: 2 }) },
  { name: '2 thr, old splits', kernels: await createWasmKernels({ threads: 2 }) },
  { name: '1 thread', kernels: await createWasmKernels({ threads: 1 }) },
  { name: '1 thr, old splits', kernels: await createWasmKernels({ threads: 1 }) },
];
// The splits as they were before the depth-split forward product (same results with 1 and 2 threads).
for (const c of [configs[1], configs[3]]) {
  c.kernels.splitDepth = Infinity;
  c.kernels.splitSgd = 1 << 15;
}

const models = configs.map((c) => new ModelA(c.kernels));
const best = configs.map(() => Infinity);
const all: number[][] = configs.map(() => []);
for (const model of models) runEpoch(model, train, validation, 200);
for (let r = 0; r < rounds; r++) {
  configs.forEach((_, i) => {
    const e = runEpoch(models[i], train, validation, steps);
    const us = (e.trainSeconds / e.stepsPerEpoch) * 1e6;
    best[i] = Math.min(best[i], us);
    all[i].push(us);
  });
}
configs.forEach((c, i) =>
  console.log(
    `${c.name.padEnd(18)} best ${best[i].toFixed(0)} µs/step, median ${all[i].sort((a, b) => a - b)[all[i].length >> 1].toFixed(0)}`,
    JSON.stringify(c.kernels.threadStats ?? ''),
  ),
);
for (const c of configs) await c.kernels.dispose();
