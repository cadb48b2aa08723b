/**
 * Development options of the bench (`--profile`, `--threads-ab`): W_A, model A composed directly from
 * kernel calls (bench/model-a.ts), on random images with 80 % zeros. Not part of the tables.
 * @module
 */
import type { Kernels } from '../src/kernels/kernels.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { ModelA, randomDataset, runEpoch } from './model-a.js';

/**
 * `--profile [THREADS]`: time per kernel call in W_A's training steps, by wrapping every kernel method of a
 * wasm backend with a timer; prints one line per method and shape.
 */
export async function profileKernels(threads: 1 | 2, steps = 500): Promise<string[]> {
  const kernels = await createWasmKernels({ threads });
  const times = new Map<string, [number, number]>();
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
      if (at !== undefined)
        key += ` ${args[at] as number}×${args[at + 1] as number}×${args[at + 2] as number}`;
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
  const result = runEpoch(model, train, validation, steps);
  const lines: string[] = [];
  let total = 0;
  for (const [key, [t, calls]] of [...times].sort((a, b) => b[1][0] - a[1][0])) {
    total += t;
    lines.push(
      `${key.padEnd(34)} ${((t / steps) * 1000).toFixed(1).padStart(7)} µs/step ${((t / calls) * 1000).toFixed(1).padStart(7)} µs/call`,
    );
  }
  lines.push(
    `sum of kernels ${((total / steps) * 1000).toFixed(1)} µs/step; wall ${((result.trainSeconds / result.stepsPerEpoch) * 1e6).toFixed(0)} µs/step (${threads} thread${threads > 1 ? 's' : ''})`,
  );
  lines.push(`thread stats ${JSON.stringify(kernels.threadStats)}`);
  model.dispose();
  await kernels.dispose();
  return lines;
}

/**
 * `--threads-ab [ROUNDS] [STEPS]`: W_A steps on one and two threads, alternating short slices in one
 * process and keeping each configuration's best slice, which filters out other processes' interference.
 */
export async function threadsAB(rounds = 10, steps = 100): Promise<string[]> {
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
  const lines = configs.map(
    (c, i) =>
      `${c.name}: best ${best[i].toFixed(0)} µs/step (epoch train ≈ ${((best[i] * 1375) / 1e6).toFixed(3)} s)`,
  );
  lines.push(`thread stats ${JSON.stringify(configs[0].kernels.threadStats)}`);
  models.forEach((m) => m.dispose());
  for (const c of configs) await c.kernels.dispose();
  return lines;
}
