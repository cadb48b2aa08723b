/**
 * Development helper (not part of `npm run bench`): time per kernel call of W_A's training steps, by
 * wrapping every kernel method of a wasm backend with a timer.
 *
 * Usage: node --import tsx bench/profile.ts [THREADS]
 * @module
 */

import type { Kernels } from '../src/kernels/kernels.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { ModelA, randomDataset, runEpoch } from './model-a.js';

const threads = Number(process.argv[2] ?? 1) === 2 ? 2 : 1;
const kernels = await createWasmKernels({ threads });
const times = new Map<string, [number, number]>();

/** Where a method's (m, k, n) arguments start, for the products. */
const shapeAt: Record<string, number> = { denseForward: 5, denseBackwardWeights: 4, denseBackwardInput: 3 };
const methods = [
  'denseForward',
  'activationBackward',
  'denseBackwardWeights',
  'denseBackwardInput',
  'loss',
  'countCorrect',
  'gatherRows',
  'sgdUpdate',
] as const;
const table = kernels as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of methods) {
  const original = table[name].bind(kernels);
  table[name] = (...args: unknown[]) => {
    const t = performance.now();
    const result = original(...args);
    const dt = performance.now() - t;
    let key: string = name;
    const at = shapeAt[name];
    if (at !== undefined) key += ` ${args[at] as number}x${args[at + 1] as number}x${args[at + 2] as number}`;
    if (name === 'sgdUpdate') key += (args[0] as Float32Array).length > 1000 ? ' W' : ' b';
    const entry = times.get(key) ?? [0, 0];
    entry[0] += dt;
    entry[1]++;
    times.set(key, entry);
    return result;
  };
}

const train = randomDataset(44000, 1);
const validation = randomDataset(5000, 2);
const model = new ModelA(kernels as Kernels);
runEpoch(model, train, validation, 300);
times.clear();
const steps = 500;
const result = runEpoch(model, train, validation, steps);
let total = 0;
for (const [key, [t, calls]] of [...times].sort((a, b) => b[1][0] - a[1][0])) {
  total += t;
  console.log(
    `${key.padEnd(34)} ${((t / steps) * 1000).toFixed(1).padStart(7)} µs/step ${((t / calls) * 1000).toFixed(1).padStart(7)} µs/call`,
  );
}
console.log(
  `sum of kernels ${((total / steps) * 1000).toFixed(1)} µs/step; wall ${((result.trainSeconds / result.stepsPerEpoch) * 1e6).toFixed(0)} µs/step`,
);
console.log('thread stats', kernels.threadStats);
await kernels.dispose();
