/**
 * Development helper (not part of `npm run bench`): W_A steps on one and two threads, alternating short
 * slices in one process and keeping each configuration's best slice, which filters out interference from
 * other processes on a shared machine.
 *
 * Usage: node --import tsx bench/ab.ts [ROUNDS] [STEPS_PER_SLICE]
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
  { name: '1 thread', kernels: await createWasmKernels({ threads: 1 }) },
];
const models = configs.map((c) => new ModelA(c.kernels));
const best = configs.map(() => Infinity);
for (const model of models) runEpoch(model, train, validation, 200);
for (let r = 0; r < rounds; r++) {
  configs.forEach((_, i) => {
    const e = runEpoch(models[i], train, validation, steps);
    best[i] = Math.min(best[i], (e.trainSeconds / e.stepsPerEpoch) * 1e6);
  });
}
configs.forEach((c, i) =>
  console.log(
    `${c.name}: best ${best[i].toFixed(0)} µs/step (epoch train ≈ ${((best[i] * 1375) / 1e6).toFixed(3)} s)`,
  ),
);
console.log('thread stats', configs[0].kernels.threadStats);
for (const c of configs) await c.kernels.dispose();
