/**
 * `npm run bench -- --cnn`: the convolutional workloads of issue #11, warmstart against PyTorch in one run.
 *
 * 1. One epoch of the transfer study's small CNN (Conv2D 32 3×3 relu → MaxPool 2 → Conv2D 64 3×3 relu →
 *    MaxPool 2 → Dense 128 relu → Dense 8 softmax) on Fashion-MNIST task A (43,997 real images, batch 32,
 *    SGD 1e-2, shuffled), then the evaluation of the 4,003 validation images: warmstart's `Sequential.fit`
 *    and `evaluate` (wasm, 1 and 2 threads) and PyTorch 1.13 (1 and 2 threads, `bench/torch_cnn.py`), in
 *    alternating rounds so that every contender sees the same machine load; best and median per contender.
 * 2. Images per second of `predict` with MobileNetV2 (alpha 0.35, 96×96×3): the Keras-written fixture
 *    (`test/fixtures/keras3-cnn/mobilenetv2.keras`, a keras.applications base nested in a Sequential) in
 *    warmstart, and the same architecture built layer for layer in PyTorch (torchvision is not installed
 *    here), at batch 1 and 32.
 *
 * Options (after `--cnn`): --rounds N (default 3), --quick (one round of 300 steps, extrapolated), --data-dir
 * DIR (else $WARMSTART_DATA_DIR), --no-torch, --no-mobilenet, --out FILE (default bench/results-cnn.json).
 * @module
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadFashionMnist, splitTaskAB } from '../src/datasets/index.js';
import { closeHdf5Worker, loadModel } from '../src/io/index.js';
import { setKernels } from '../src/kernels/index.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { Conv2D, Dense, Flatten, MaxPooling2D } from '../src/layers/index.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/index.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const quick = args.includes('--quick');
const rounds = quick ? 1 : Number(option('--rounds') ?? 3);
const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const outFile = option('--out') ?? join(here, 'results-cnn.json');
const PYTHON = '/usr/bin/python3';
const QUICK_STEPS = 300;

/** Runs a command, resolving its stdout (or the error). */
function run(command: string, argv: string[], timeoutMs = 1_800_000) {
  return new Promise<{ stdout: string; error: string | null }>((resolve) => {
    execFile(command, argv, { timeout: timeoutMs, maxBuffer: 1 << 24 }, (error, stdout, stderr) =>
      resolve({
        stdout,
        error: error === null ? null : `${error.message.split('\n')[0]} ${stderr.slice(-400)}`,
      }),
    );
  });
}

const lastJson = (stdout: string): Record<string, unknown> =>
  JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;

// ---- Data: task A, as the study splits it.
const dataDir = option('--data-dir') ?? process.env.WARMSTART_DATA_DIR;
const dataset = await loadFashionMnist({ dataDir, verbose: 0 });
const { taskA } = splitTaskAB(dataset);
const trainCount = taskA.train.count;
const validCount = taskA.valid.count;
const scaled = (images: Uint8Array): Float32Array => Float32Array.from(images, (v) => v / 255);
const xTrain = new Tensor(scaled(taskA.train.images), [trainCount, 28, 28, 1]);
const yTrain = new Tensor(Float32Array.from(taskA.train.labels), [trainCount]);
const xValid = new Tensor(scaled(taskA.valid.images), [validCount, 28, 28, 1]);
const yValid = new Tensor(Float32Array.from(taskA.valid.labels), [validCount]);
const steps = quick ? QUICK_STEPS : Math.ceil(trainCount / 32);
const stepsPerEpoch = Math.ceil(trainCount / 32);

/** One timed epoch: train seconds (extrapolated to a full epoch in --quick) and evaluation seconds. */
interface Epoch {
  train: number;
  evaluate: number;
}

interface Contender {
  name: string;
  epochs: Epoch[];
  note: string;
  /** Runs one epoch, or returns a reason it cannot. */
  epoch(): Promise<Epoch | string>;
}

function smallCnn(): Sequential {
  return new Sequential([
    new Conv2D({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    new MaxPooling2D({ poolSize: 2 }),
    new Conv2D({ filters: 64, kernelSize: 3, activation: 'relu' }),
    new MaxPooling2D({ poolSize: 2 }),
    new Flatten(),
    new Dense({ units: 128, activation: 'relu' }),
    new Dense({ units: 8, activation: 'softmax' }),
  ]);
}

const backends: WasmKernels[] = [];

async function warmstartContender(threads: 1 | 2): Promise<Contender> {
  const kernels = await createWasmKernels({ threads });
  backends.push(kernels);
  setKernels(kernels);
  setRandomSeed(1);
  const model = smallCnn();
  model.compile({
    optimizer: new SGD({ learningRate: 1e-2 }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  const x = quick ? xTrain.slice(0, QUICK_STEPS * 32) : xTrain;
  const y = quick ? yTrain.slice(0, QUICK_STEPS * 32) : yTrain;
  // Warm-up: compiles the code paths, sizes the buffers, wakes the pool.
  await model.fit(xTrain.slice(0, 50 * 32), yTrain.slice(0, 50 * 32), { epochs: 1, verbose: 0 });
  return {
    name: `warmstart Sequential.fit, wasm, ${threads} thread${threads > 1 ? 's' : ''}`,
    epochs: [],
    note: `${kernels.info.relaxedSimd ? 'relaxed SIMD (FMA)' : 'SIMD128'}, ${kernels.info.threads} thread(s)`,
    async epoch() {
      const t0 = performance.now();
      await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
      const t1 = performance.now();
      model.evaluate(xValid, yValid, { verbose: 0 });
      const t2 = performance.now();
      return { train: ((t1 - t0) / 1000) * (stepsPerEpoch / steps), evaluate: (t2 - t1) / 1000 };
    },
  };
}

/** Task A as raw bytes for the Python side. */
function writeRawData(): string {
  const folder = mkdtempSync(join(os.tmpdir(), 'warmstart-bench-cnn-'));
  writeFileSync(join(folder, 'train-images.u8'), taskA.train.images);
  writeFileSync(join(folder, 'train-labels.u8'), taskA.train.labels);
  writeFileSync(join(folder, 'valid-images.u8'), taskA.valid.images);
  writeFileSync(join(folder, 'valid-labels.u8'), taskA.valid.labels);
  return folder;
}

const hasTorch =
  !args.includes('--no-torch') &&
  existsSync(PYTHON) &&
  (await run(PYTHON, ['-c', 'import torch'])).error === null;
let torchConfig: string[] = [];
let rawData: string | null = null;

function torchContender(threads: number): Contender {
  return {
    name: `PyTorch, ${threads} thread${threads > 1 ? 's' : ''}`,
    epochs: [],
    note: '',
    async epoch() {
      rawData ??= writeRawData();
      const spec = {
        mode: 'epoch',
        threads,
        dir: rawData,
        train: trainCount,
        valid: validCount,
        steps: quick ? QUICK_STEPS : null,
      };
      const { stdout, error } = await run(PYTHON, [join(here, 'torch_cnn.py'), JSON.stringify(spec)]);
      if (error !== null) return `failed: ${error}`;
      const r = lastJson(stdout);
      torchConfig = r.config as string[];
      this.note = `torch ${r.torch as string}, ${r.threads as number} thread(s)`;
      return {
        train: (r.trainSeconds as number) * (stepsPerEpoch / (r.steps as number)),
        evaluate: r.evalSeconds as number,
      };
    },
  };
}

const contenders: Contender[] = [await warmstartContender(1), await warmstartContender(2)];
if (hasTorch) contenders.push(torchContender(1), torchContender(2));
const skipped: string[] = [];
const loadBefore = os.loadavg();
const started = new Date();
for (let round = 0; round < rounds; round++) {
  for (const contender of contenders) {
    process.stderr.write(`round ${round + 1}/${rounds}: ${contender.name}…\n`);
    const result = await contender.epoch();
    if (typeof result === 'string') skipped.push(`${contender.name}: ${result}`);
    else contender.epochs.push(result);
  }
}

// ---- MobileNetV2 predict.
const mobilenet: Record<string, Record<string, number> | string> = {};
if (!args.includes('--no-mobilenet')) {
  const fixture = join(root, 'test', 'fixtures', 'keras3-cnn', 'mobilenetv2.keras');
  const images = new Tensor(
    Float32Array.from({ length: 256 * 96 * 96 * 3 }, (_, i) => Math.sin(i * 0.37)),
    [256, 96, 96, 3],
  );
  for (const kernels of backends) {
    setKernels(kernels);
    const model = await loadModel(fixture, { onWarning: () => {} });
    const rates: Record<string, number> = {};
    for (const batch of [1, 32]) {
      const count = batch === 1 ? 64 : 256;
      const x = images.slice(0, count);
      model.predict(x.slice(0, batch), { batchSize: batch });
      let best = Infinity;
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        model.predict(x, { batchSize: batch });
        best = Math.min(best, performance.now() - t);
      }
      rates[String(batch)] = count / (best / 1000);
    }
    mobilenet[`warmstart wasm, ${kernels.info.threads} thread(s)`] = rates;
    model.dispose();
  }
  if (hasTorch) {
    for (const threads of [1, 2]) {
      const spec = { mode: 'mobilenet', threads, batches: [1, 32], images: 256 };
      const { stdout, error } = await run(PYTHON, [join(here, 'torch_cnn.py'), JSON.stringify(spec)]);
      mobilenet[`PyTorch (same architecture, by hand), ${threads} thread(s)`] =
        error === null ? (lastJson(stdout).imagesPerSecond as Record<string, number>) : `failed: ${error}`;
    }
  }
}
const loadAfter = os.loadavg();

// ---- Report.
const seconds = (e: Epoch): number => e.train + e.evaluate;
const summary = contenders
  .filter((c) => c.epochs.length > 0)
  .map((c) => {
    const sorted = c.epochs.map(seconds).sort((a, b) => a - b);
    return {
      name: c.name,
      best: sorted[0],
      median: sorted[Math.floor(sorted.length / 2)],
      epochs: c.epochs,
      note: c.note,
    };
  });
const torchBest = summary.filter((s) => s.name.startsWith('PyTorch')).sort((a, b) => a.best - b.best)[0];
const lines: string[] = [];
lines.push(
  `small CNN, one epoch of task A (${trainCount} images, batch 32, SGD 1e-2${quick ? `; ${QUICK_STEPS} steps timed, extrapolated` : ''}) + evaluation of ${validCount}`,
);
lines.push(
  `machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, node ${process.version}, ${started.toISOString()}`,
);
lines.push(
  `load average before/after: ${loadBefore.map((v) => v.toFixed(2)).join(' ')} / ${loadAfter.map((v) => v.toFixed(2)).join(' ')}`,
);
if (torchConfig.length > 0) lines.push(`PyTorch build: ${torchConfig.join('; ')}`);
lines.push('');
lines.push(
  `${'contender'.padEnd(40)} ${'best s'.padStart(8)} ${'median s'.padStart(9)} ${'vs best PyTorch'.padStart(16)}  rounds`,
);
for (const s of summary) {
  const ratio = torchBest === undefined ? '—' : `${(torchBest.best / s.best).toFixed(2)}×`;
  lines.push(
    `${s.name.padEnd(40)} ${s.best.toFixed(1).padStart(8)} ${s.median.toFixed(1).padStart(9)} ${ratio.padStart(16)}  ${s.epochs.map((e) => seconds(e).toFixed(1)).join(', ')}  ${s.note}`,
  );
}
for (const line of skipped) lines.push(`skipped: ${line}`);
if (Object.keys(mobilenet).length > 0) {
  lines.push('');
  lines.push('MobileNetV2 (alpha 0.35, 96×96×3) predict, images/s (best of 3):');
  for (const [name, rates] of Object.entries(mobilenet)) {
    lines.push(
      `  ${name.padEnd(50)} ${typeof rates === 'string' ? rates : `batch 1: ${rates['1'].toFixed(0)}, batch 32: ${rates['32'].toFixed(0)}`}`,
    );
  }
}
console.log(lines.join('\n'));
writeFileSync(
  outFile,
  `${JSON.stringify({ date: started.toISOString(), cpu: os.cpus()[0]?.model, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter, quick, rounds, torchConfig, epochs: summary, skipped, mobilenet }, null, 2)}\n`,
);
console.log(`\nwrote ${outFile}`);
if (rawData !== null) rmSync(rawData, { recursive: true, force: true });
for (const kernels of backends) await kernels.dispose();
await closeHdf5Worker();
