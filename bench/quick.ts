/**
 * Development helper (not part of `npm run bench`): three full W_A epochs on the wasm backend.
 *
 * Usage: node --import tsx bench/quick.ts [THREADS] [simd]
 * @module
 */

import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { ModelA, randomDataset, runEpoch } from './model-a.js';

const threads = Number(process.argv[2] ?? 2) === 1 ? 1 : 2;
const kernels = await createWasmKernels({ threads, relaxedSimd: process.argv[3] !== 'simd' });
const train = randomDataset(44000, 1);
const validation = randomDataset(5000, 2);
const model = new ModelA(kernels);
runEpoch(model, train, validation, 100);
for (let r = 0; r < 3; r++) {
  const e = runEpoch(model, train, validation);
  console.log(
    `${JSON.stringify(kernels.info)} epoch ${e.seconds.toFixed(3)} s (train ${e.trainSeconds.toFixed(3)}, eval ${e.evalSeconds.toFixed(3)}), ` +
      `${((e.trainSeconds / e.stepsPerEpoch) * 1e6).toFixed(0)} µs/step, mean loss ${e.meanLoss.toFixed(4)}, fallbacks ${kernels.stats.fallbacks}`,
  );
}
console.log('thread stats', kernels.threadStats);
await kernels.dispose();
