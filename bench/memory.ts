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
 * Then `epochs`: model A compiled with Adam trains 20 epochs in one `fit` on real Fashion-MNIST task A
 * (`--data-dir` or `$WARMSTART_DATA_DIR`; validating on task A's validation set, as the study does), in a
 * process started with `--expose-gc`; after each epoch a callback collects garbage and reads the V8 heap used
 * and the RSS. Prints both per epoch, their growth from the first epoch to the last and the largest growth over
 * the first epoch, against the issue's bar (no growth over 2 %). `--epochs-subset N` trains on the first N
 * images of each epoch's data instead of all 43,997 (the output says so).
 *
 * Options: `--iterations N` (default 5000), `--only load|fit|epochs`, `--only-dispose` / `--no-dispose-only`,
 * `--model-a FILE` (default: a model A built and saved by warmstart in a temporary folder), `--data-dir DIR`,
 * `--epochs N` (default 20), `--epochs-subset N`, `--out FILE` (also write the figures as JSON).
 * @module
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadTransferData } from '../src/experiments/transfer.js';
import {
  Adam,
  Callback,
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

/** What the `epochs` run reports: heap used and RSS (MiB) after each epoch, after a garbage collection. */
interface EpochsResult {
  scenario: 'epochs';
  epochs: number;
  /** Images trained on per epoch, of `trainRows` in task A's training set. */
  samples: number;
  trainRows: number;
  /** Whether the process could collect garbage before each reading (`--expose-gc`). */
  collected: boolean;
  heapUsedMiB: number[];
  rssMiB: number[];
  /** Growth from the first epoch's reading to the last one's, %. */
  heapGrowthPercent: number;
  rssGrowthPercent: number;
  /** The largest growth over the first epoch's reading, %. */
  heapMaxGrowthPercent: number;
  rssMaxGrowthPercent: number;
  seconds: number;
}

/** The bar for the `epochs` run: heap and RSS flat within this many percent. */
const EPOCHS_BAR_PERCENT = 2;

/** Reads heap used and RSS after a collection, when the process exposes `gc`. */
class EpochMemory extends Callback {
  readonly heapUsed: number[] = [];
  readonly rss: number[] = [];
  override onEpochEnd(): void {
    // Twice: the second collection takes what the first one's finalizers let go of.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const usage = process.memoryUsage();
    this.heapUsed.push(usage.heapUsed / MiB);
    this.rss.push(usage.rss / MiB);
  }
}

function growthPercent(readings: number[]): { last: number; max: number } {
  const first = readings[0]!;
  return {
    last: ((readings[readings.length - 1]! - first) / first) * 100,
    max: ((Math.max(...readings) - first) / first) * 100,
  };
}

/** The `epochs` run, in this process: prints its {@link EpochsResult} as a JSON line. */
async function epochsChild(
  dataDir: string | undefined,
  epochs: number,
  subset: number | null,
): Promise<void> {
  const { taskA } = await loadTransferData({ dataDir, verbose: 0 });
  const rows = subset === null ? taskA.train.rows : Math.min(subset, taskA.train.rows);
  const x = subset === null ? taskA.train.x : taskA.train.x.slice(0, rows);
  const y = subset === null ? taskA.train.y : taskA.train.y.slice(0, rows);
  setRandomSeed(42);
  const model = modelA();
  model.compile({
    optimizer: new Adam({ learningRate: 1e-3 }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  const memory = new EpochMemory();
  const started = performance.now();
  await model.fit(x, y, {
    epochs,
    batchSize: 32,
    verbose: 0,
    validationData: [taskA.valid.x, taskA.valid.y],
    callbacks: [memory],
  });
  const heap = growthPercent(memory.heapUsed);
  const rss = growthPercent(memory.rss);
  const result: EpochsResult = {
    scenario: 'epochs',
    epochs,
    samples: rows,
    trainRows: taskA.train.rows,
    collected: typeof (globalThis as { gc?: unknown }).gc === 'function',
    heapUsedMiB: memory.heapUsed,
    rssMiB: memory.rss,
    heapGrowthPercent: heap.last,
    rssGrowthPercent: rss.last,
    heapMaxGrowthPercent: heap.max,
    rssMaxGrowthPercent: rss.max,
    seconds: (performance.now() - started) / 1000,
  };
  model.dispose();
  console.log(JSON.stringify(result));
}

function runEpochsChild(): Promise<EpochsResult> {
  const childArgs = ['epochs'];
  for (const name of ['--data-dir', '--epochs', '--epochs-subset']) {
    const value = option(name);
    if (value !== undefined) childArgs.push(name, value);
  }
  return runSelf<EpochsResult>('epochs', childArgs, ['--expose-gc']);
}

/** Prints the `epochs` run and whether it keeps within the bar; returns whether it does. */
function printEpochs(result: EpochsResult): boolean {
  const of = (values: number[], digits: number) => values.map((value) => value.toFixed(digits)).join(' ');
  const verdict = (last: number, max: number) =>
    Math.max(last, max) <= EPOCHS_BAR_PERCENT ? 'pass' : 'FAIL';
  const data =
    result.samples === result.trainRows
      ? `all ${result.trainRows} task A training images`
      : `the first ${result.samples} of the ${result.trainRows} task A training images (a subset)`;
  const readings = result.collected ? 'after gc()' : 'without gc (run with --expose-gc)';
  console.log(
    `model A, Adam, ${result.epochs} epochs in one fit on ${data}, validating on task A's validation set, batch 32 (${result.seconds.toFixed(0)} s); heap used and RSS after each epoch, ${readings}:`,
  );
  console.log(`  heap used MiB: ${of(result.heapUsedMiB, 2)}`);
  console.log(`  RSS MiB:       ${of(result.rssMiB, 0)}`);
  const heapVerdict = verdict(result.heapGrowthPercent, result.heapMaxGrowthPercent);
  const rssVerdict = verdict(result.rssGrowthPercent, result.rssMaxGrowthPercent);
  console.log(
    `  heap ${result.heapUsedMiB[0]!.toFixed(2)} → ${result.heapUsedMiB.at(-1)!.toFixed(2)} MiB (${signed(result.heapGrowthPercent)} %, largest growth ${signed(result.heapMaxGrowthPercent)} %): ${heapVerdict}; ` +
      `RSS ${result.rssMiB[0]!.toFixed(0)} → ${result.rssMiB.at(-1)!.toFixed(0)} MiB (${signed(result.rssGrowthPercent)} %, largest growth ${signed(result.rssMaxGrowthPercent)} %): ${rssVerdict} (bar: ${EPOCHS_BAR_PERCENT} %)`,
  );
  return heapVerdict === 'pass' && rssVerdict === 'pass';
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
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
  const childArgs = [scenario, dispose ? 'dispose' : 'keep'];
  childArgs.push('--iterations', String(iterations), '--model-a', modelFile);
  return runSelf<RunResult>(scenario, childArgs);
}

/** Runs this file as `--child …childArgs` in a fresh process (after `nodeFlags`); resolves its last JSON line. */
function runSelf<T>(name: string, childArgs: string[], nodeFlags: string[] = []): Promise<T> {
  const self = fileURLToPath(import.meta.url);
  const argv = [...nodeFlags, '--import', 'tsx', self, '--child', ...childArgs];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${name} run failed: ${error.message}\n${stderr}`));
        return;
      }
      const line = stdout.trim().split('\n').pop() ?? '';
      resolve(JSON.parse(line) as T);
    });
  });
}

async function main(): Promise<void> {
  const childIndex = args.indexOf('--child');
  if (childIndex >= 0 && args[childIndex + 1] === 'epochs') {
    const subset = option('--epochs-subset');
    await epochsChild(
      option('--data-dir') ?? process.env['WARMSTART_DATA_DIR'],
      Number(option('--epochs') ?? 20),
      subset === undefined ? null : Number(subset),
    );
    return;
  }
  if (childIndex >= 0) {
    const scenario = args[childIndex + 1] as 'load' | 'fit';
    await child(scenario, args[childIndex + 2] === 'dispose', option('--model-a')!);
    return;
  }
  if (!(Number.isInteger(iterations) && iterations >= WARM_UP)) {
    throw new Error(`--iterations must be an integer ≥ ${WARM_UP}, got ${option('--iterations')}`);
  }
  const only = option('--only');
  const scenarios = only === undefined ? ['load', 'fit', 'epochs'] : [only];
  const iterated = scenarios.filter((scenario) => scenario !== 'epochs');
  const results: RunResult[] = [];
  let folder: string | null = null;
  if (iterated.length > 0) {
    let modelFile = option('--model-a');
    if (modelFile === undefined) {
      folder = mkdtempSync(join(tmpdir(), 'warmstart-bench-memory-'));
      modelFile = join(folder, 'my_model_A.h5');
      await saveModelA(modelFile);
      await closeHdf5Worker();
    }
    const disposals = args.includes('--only-dispose')
      ? [true]
      : args.includes('--no-dispose-only')
        ? [false]
        : [true, false];
    console.log(
      `memory benchmark: ${iterations} iterations per run, RSS after ${WARM_UP} and after ${iterations}`,
    );
    console.log(
      'run                             | RSS@100 MiB | RSS@end MiB | ratio | peak MiB | heap live MiB | heap size MiB | seconds',
    );
    for (const scenario of iterated) {
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
  }
  let epochs: EpochsResult | null = null;
  if (scenarios.includes('epochs')) {
    if (option('--data-dir') === undefined && process.env['WARMSTART_DATA_DIR'] === undefined) {
      console.log('epochs: skipped, no Fashion-MNIST (--data-dir or WARMSTART_DATA_DIR)');
    } else {
      epochs = await runEpochsChild();
      if (!printEpochs(epochs)) process.exitCode = 1;
    }
  }
  const out = option('--out');
  if (out !== undefined)
    writeFileSync(
      out,
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results, epochs }, null, 2)}\n`,
    );
  if (folder !== null) rmSync(folder, { recursive: true, force: true });
}

await main();
