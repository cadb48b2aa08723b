/**
 * `npm run bench:memory`: does memory come back? Four runs, each in its own process (so that one run's heap
 * does not colour the next):
 *
 * - `load`: `loadModel('model_A.h5')` + `predict` on 32 images, N times;
 * - `fit`: build the notebook's model A (784-300-100-50-50-50-8, SELU), compile it with Adam, `fit` one batch
 *   of 32, drop it, N times;
 *
 * each with `model.dispose()` at the end of every iteration and without (the garbage collector's safety net
 * alone). Prints the resident set size (RSS) after the first 100 iterations and after N, their ratio (the
 * issue's bar: within 10 %), the peak, and the kernels' heap at the end.
 *
 * Options: `--iterations N` (default 5000), `--only load|fit`, `--only-dispose` / `--no-dispose-only`,
 * `--model-a FILE` (default: a model A built and saved by warmstart in a temporary folder), `--out FILE`
 * (also write the figures as JSON).
 * @module
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  Adam,
  closeHdf5Worker,
  Dense,
  Flatten,
  getKernels,
  loadModel,
  OwnedMemory,
  Sequential,
  SGD,
  setRandomSeed,
  Tensor,
  WasmKernels,
} from '../src/index.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};
const iterations = Number(option('--iterations') ?? 5000);
const WARM_UP = 100;
const MiB = 2 ** 20;

/** What one run reports. */
interface RunResult {
  scenario: 'load' | 'fit';
  dispose: boolean;
  iterations: number;
  rssAfter100MiB: number;
  rssAfterAllMiB: number;
  ratio: number;
  peakRssMiB: number;
  /** RSS every 500 iterations. */
  trace: number[];
  heapLiveMiB: number;
  heapCapacityMiB: number;
  reclaimedBlocks: number;
  seconds: number;
}

/** The notebook's model A. */
function modelA(): Sequential {
  return new Sequential([
    new Flatten({ inputShape: [28, 28] }),
    ...[300, 100, 50, 50, 50].map(
      (units) => new Dense({ units, activation: 'selu', kernelInitializer: 'lecun_normal' }),
    ),
    new Dense({ units: 8, activation: 'softmax' }),
  ]);
}

function images(count: number): Tensor {
  return new Tensor(
    Float32Array.from({ length: count * 784 }, (_, i) => ((i * 7919) % 3 === 0 ? ((i * 31) % 255) / 255 : 0)),
    [count, 28, 28],
  );
}

/** One run, in this process: prints its {@link RunResult} as a JSON line. */
async function child(scenario: 'load' | 'fit', dispose: boolean, modelFile: string): Promise<void> {
  const x = images(32);
  const y = new Tensor(
    Float32Array.from({ length: 32 }, (_, i) => i % 8),
    [32],
  );
  const trace: number[] = [];
  let rssAfter100 = 0;
  let peak = 0;
  const started = performance.now();
  for (let i = 1; i <= iterations; i++) {
    if (scenario === 'load') {
      const model = await loadModel(modelFile, { onWarning: () => {} });
      model.predict(x);
      if (dispose) model.dispose();
    } else {
      const model = modelA();
      model.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparse_categorical_crossentropy' });
      await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
      if (dispose) model.dispose();
    }
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    if (i === WARM_UP) rssAfter100 = rss;
    if (i % 500 === 0) trace.push(Math.round(rss / MiB));
  }
  const rss = process.memoryUsage().rss;
  const kernels = getKernels();
  const heap = kernels instanceof WasmKernels ? kernels.heap : null;
  const result: RunResult = {
    scenario,
    dispose,
    iterations,
    rssAfter100MiB: rssAfter100 / MiB,
    rssAfterAllMiB: rss / MiB,
    ratio: rss / rssAfter100,
    peakRssMiB: peak / MiB,
    trace,
    heapLiveMiB: (heap?.liveBytes ?? 0) / MiB,
    heapCapacityMiB: (heap?.capacityBytes ?? 0) / MiB,
    reclaimedBlocks: OwnedMemory.reclaimedBlocks,
    seconds: (performance.now() - started) / 1000,
  };
  console.log(JSON.stringify(result));
  await closeHdf5Worker();
}

/** Saves a model A trained for one batch with SGD (as the notebook saves its model A). */
async function saveModelA(path: string): Promise<void> {
  setRandomSeed(42);
  const model = modelA();
  model.compile({ optimizer: new SGD({ learningRate: 1e-3 }), loss: 'sparse_categorical_crossentropy' });
  const y = new Tensor(
    Float32Array.from({ length: 32 }, (_, i) => i % 8),
    [32],
  );
  await model.fit(images(32), y, { epochs: 1, verbose: 0 });
  await model.save(path);
  model.dispose();
}

function runChild(scenario: string, dispose: boolean, modelFile: string): Promise<RunResult> {
  const self = fileURLToPath(import.meta.url);
  const childArgs = ['--import', 'tsx', self, '--child', scenario, dispose ? 'dispose' : 'keep'];
  childArgs.push('--iterations', String(iterations), '--model-a', modelFile);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, childArgs, { maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${scenario} run failed: ${error.message}\n${stderr}`));
        return;
      }
      const line = stdout.trim().split('\n').pop() ?? '';
      resolve(JSON.parse(line) as RunResult);
    });
  });
}

async function main(): Promise<void> {
  const childIndex = args.indexOf('--child');
  if (childIndex >= 0) {
    const scenario = args[childIndex + 1] as 'load' | 'fit';
    await child(scenario, args[childIndex + 2] === 'dispose', option('--model-a')!);
    return;
  }
  if (!(Number.isInteger(iterations) && iterations >= WARM_UP)) {
    throw new Error(`--iterations must be an integer ≥ ${WARM_UP}, got ${option('--iterations')}`);
  }
  let folder: string | null = null;
  let modelFile = option('--model-a');
  if (modelFile === undefined) {
    folder = mkdtempSync(join(tmpdir(), 'warmstart-bench-memory-'));
    modelFile = join(folder, 'my_model_A.h5');
    await saveModelA(modelFile);
    await closeHdf5Worker();
  }
  const only = option('--only');
  const scenarios = only === undefined ? ['load', 'fit'] : [only];
  const disposals = args.includes('--only-dispose')
    ? [true]
    : args.includes('--no-dispose-only')
      ? [false]
      : [true, false];
  const results: RunResult[] = [];
  console.log(
    `memory benchmark: ${iterations} iterations per run, RSS after ${WARM_UP} and after ${iterations}`,
  );
  console.log(
    'run                             | RSS@100 MiB | RSS@end MiB | ratio | peak MiB | heap live MiB | heap size MiB | seconds',
  );
  for (const scenario of scenarios) {
    for (const dispose of disposals) {
      const result = await runChild(scenario, dispose, modelFile);
      results.push(result);
      const name = `${scenario === 'load' ? 'loadModel + predict' : 'build + fit 1 batch'}, ${dispose ? 'dispose' : 'no dispose'}`;
      console.log(
        [
          name.padEnd(31),
          result.rssAfter100MiB.toFixed(0).padStart(11),
          result.rssAfterAllMiB.toFixed(0).padStart(11),
          result.ratio.toFixed(3).padStart(5),
          result.peakRssMiB.toFixed(0).padStart(8),
          result.heapLiveMiB.toFixed(1).padStart(13),
          result.heapCapacityMiB.toFixed(0).padStart(13),
          result.seconds.toFixed(0).padStart(7),
        ].join(' | '),
      );
      console.log(`  RSS every 500 iterations (MiB): ${result.trace.join(' ')}`);
    }
  }
  const worst = Math.max(...results.map((result) => result.ratio));
  console.log(`worst ratio ${worst.toFixed(3)}: ${worst <= 1.1 ? 'within' : 'OUTSIDE'} the 10 % bar`);
  const out = option('--out');
  if (out !== undefined)
    writeFileSync(
      out,
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`,
    );
  if (folder !== null) rmSync(folder, { recursive: true, force: true });
}

await main();
