import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  loadFashionMnist,
  type LoadDatasetOptions,
  splitTaskAB,
  toFloat32Images,
} from '../datasets/index.js';
import { loadModel } from '../io/index.js';
import { Dense } from '../layers/dense.js';
import { Flatten } from '../layers/flatten.js';
import type { BaseModel } from '../models/baseModel.js';
import type { Callback, ProgressWriter } from '../models/callbacks.js';
import { cloneModel } from '../models/cloneModel.js';
import { Sequential } from '../models/sequential.js';
import { SGD } from '../optimizers/sgd.js';
import { setRandomSeed } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { type MeanSd, meanSd, writeJsonAtomically } from './results.js';

export type { MeanSd } from './results.js';

/** The notebook's hyperparameters, each overridable. */
export interface TransferOptions {
  /** Folder with the four Fashion-MNIST IDX files (else `WARMSTART_DATA_DIR`, the cache, a download). */
  dataDir?: string;
  /** Where `results.json` and `my_model_A.h5` go. */
  outDir: string;
  /** Seed of the first run (default 42). */
  seed?: number;
  /** Number of runs, seeds `seed`, `seed + 1`, … (default 1). */
  seeds?: number;
  /** Epochs of model A on task A (default 20). */
  epochsA?: number;
  /** Epochs of model B from scratch (default 20). */
  epochsB?: number;
  /** Epochs of B on A with the reused layers frozen (default 4). */
  epochsFrozen?: number;
  /** Epochs of B on A after unfreezing (default 16). */
  epochsUnfrozen?: number;
  /** Learning rate of every phase's SGD (default 1e-3). */
  learningRate?: number;
  /** Batch size (default 32). */
  batchSize?: number;
  /** Start from this saved model A (a Keras `.h5` or `.keras`) instead of training one. */
  modelA?: string;
  /**
   * Kernel initializer of the hidden Dense layers (default `'glorot_uniform'`, Keras's default and what the
   * notebook's `Dense(n_hidden, activation="selu")` gets). `'lecun_normal'` is the book's later advice for
   * self-normalizing SELU networks; any Keras initializer name works.
   */
  kernelInitializer?: string;
  /** 0 silent, 1 progress bars, 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Where progress and phase headings go (default stdout). */
  writer?: ProgressWriter;
  /** Extra callbacks for every `fit` (reports, say). */
  callbacks?: () => Callback[];
}

/** One model's record in `results.json`. */
export interface ModelRecord {
  history: Record<string, number[]>;
  test: { loss: number; accuracy: number };
}

/** One run of the study, as `results.json` holds it. */
export interface TransferRun {
  seed: number;
  /** The hidden layers' kernel initializer of models A and B (model A's when it was loaded: its file's). */
  kernelInitializer?: string;
  modelA: ModelRecord;
  modelB: ModelRecord;
  modelBOnA: ModelRecord & {
    phases: { frozen: Record<string, number[]>; unfrozen: Record<string, number[]> };
  };
  /** Test error of B from scratch divided by B on A's: how many times fewer errors reuse makes. */
  errorRateRatio: number;
  /** Whether model A's weights were bit-identical after B on A trained (the clone kept it intact). */
  modelAIntact: boolean;
  seconds: { modelA: number; modelB: number; modelBOnA: number };
}

/** Several runs and their summary. */
export interface TransferSummary {
  runs: TransferRun[];
  summary: Record<'modelA' | 'modelB' | 'modelBOnA', { accuracy: MeanSd; loss: MeanSd }> & {
    errorRateRatio: MeanSd;
  };
}

/** The hidden layers' kernel initializer the notebook uses: Keras's default for `Dense`. */
export const NOTEBOOK_KERNEL_INITIALIZER = 'glorot_uniform';

/**
 * The notebook's dense network, exactly its layers: `Flatten(input_shape=[28, 28])`, then
 * `Dense(n_hidden, activation="selu")` for n_hidden in (300, 100, 50, 50, 50), then the given head. The hidden
 * layers' kernels start from `kernelInitializer` (default Keras's `glorot_uniform`, as in the notebook).
 */
export function buildDenseNetwork(
  head: Dense,
  name?: string,
  kernelInitializer: string = NOTEBOOK_KERNEL_INITIALIZER,
): Sequential {
  const model = new Sequential([new Flatten({ inputShape: [28, 28] })], { name });
  for (const units of [300, 100, 50, 50, 50]) {
    model.add(new Dense({ units, activation: 'selu', kernelInitializer }));
  }
  model.add(head);
  return model;
}

function asTensor(images: Uint8Array, count: number): Tensor {
  return new Tensor(toFloat32Images(images), [count, 28, 28]);
}

function labels(values: Uint8Array, width?: number): Tensor {
  return new Tensor(
    Float32Array.from(values),
    width === undefined ? [values.length] : [values.length, width],
  );
}

function sameWeights(a: Tensor[], b: Tensor[]): boolean {
  return a.every((weight, i) => weight.data.every((value, j) => Object.is(value, b[i].data[j])));
}

/** The data of both tasks as float tensors (pixels scaled to [0, 1], as the notebook divides by 255). */
export type TransferData = Awaited<ReturnType<typeof loadTransferData>>;

/** Loads Fashion-MNIST and splits it into the notebook's tasks. */
export async function loadTransferData(options: LoadDatasetOptions & { verbose?: 0 | 1 } = {}) {
  const dataset = await loadFashionMnist(options);
  const { taskA, taskB } = splitTaskAB(dataset);
  const pack = (part: { images: Uint8Array; labels: Uint8Array; count: number }, binary: boolean) => ({
    x: asTensor(part.images, part.count),
    y: labels(part.labels, binary ? 1 : undefined),
  });
  return {
    release: dataset.release,
    dataDir: dataset.dataDir,
    taskA: {
      train: pack(taskA.train, false),
      valid: pack(taskA.valid, false),
      test: pack(taskA.test, false),
    },
    taskB: { train: pack(taskB.train, true), valid: pack(taskB.valid, true), test: pack(taskB.test, true) },
  };
}

function record(model: BaseModel, history: Record<string, number[]>, x: Tensor, y: Tensor): ModelRecord {
  const { loss, accuracy } = model.evaluate(x, y, { verbose: 0, returnDict: true });
  return { history, test: { loss, accuracy } };
}

function mergeHistories(
  first: Record<string, number[]>,
  second: Record<string, number[]>,
): Record<string, number[]> {
  const merged: Record<string, number[]> = {};
  for (const key of new Set([...Object.keys(first), ...Object.keys(second)])) {
    merged[key] = [...(first[key] ?? []), ...(second[key] ?? [])];
  }
  return merged;
}

/** Runs the notebook's transfer-learning study once, with one seed. */
export async function runTransferOnce(
  data: TransferData,
  options: TransferOptions,
  seed: number,
): Promise<TransferRun> {
  const verbose = options.verbose ?? 1;
  const say = (line: string): void => {
    if (verbose > 0) (options.writer ?? process.stdout).write(line + '\n');
  };
  const learningRate = options.learningRate ?? 1e-3;
  const batchSize = options.batchSize ?? 32;
  const fitOptions = (epochs: number, validation: { x: Tensor; y: Tensor }) => ({
    epochs,
    batchSize,
    verbose,
    validationData: [validation.x, validation.y] as const,
    progressWriter: options.writer,
    callbacks: options.callbacks?.() ?? [],
  });
  await mkdir(options.outDir, { recursive: true });
  const modelAPath = join(options.outDir, 'my_model_A.h5');
  setRandomSeed(seed);
  const { taskA, taskB } = data;

  // Model A on task A (or a model A someone saved, possibly from Python Keras).
  let started = performance.now();
  let modelA: BaseModel;
  let historyA: Record<string, number[]> = {};
  if (options.modelA !== undefined) {
    say(`Model A: loading ${options.modelA}`);
    modelA = await loadModel(options.modelA, { compile: false });
    modelA.compile({
      optimizer: new SGD({ learningRate }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    });
  } else {
    say(`Model A: task A, ${taskA.train.x.rows} images, ${options.epochsA ?? 20} epochs (seed ${seed})`);
    modelA = buildDenseNetwork(
      new Dense({ units: 8, activation: 'softmax' }),
      'model_A',
      options.kernelInitializer,
    );
    modelA.compile({
      optimizer: new SGD({ learningRate }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    });
    historyA = (
      await modelA.fit(taskA.train.x, taskA.train.y, fitOptions(options.epochsA ?? 20, taskA.valid))
    ).history;
  }
  const recordA = record(modelA, historyA, taskA.test.x, taskA.test.y);
  await modelA.save(modelAPath);
  const secondsA = (performance.now() - started) / 1000;

  // Model B from scratch on task B's 200 images.
  started = performance.now();
  say(`Model B: task B from scratch, ${taskB.train.x.rows} images, ${options.epochsB ?? 20} epochs`);
  const modelB = buildDenseNetwork(
    new Dense({ units: 1, activation: 'sigmoid' }),
    'model_B',
    options.kernelInitializer,
  );
  modelB.compile({
    optimizer: new SGD({ learningRate }),
    loss: 'binary_crossentropy',
    metrics: ['accuracy'],
  });
  const historyB = (
    await modelB.fit(taskB.train.x, taskB.train.y, fitOptions(options.epochsB ?? 20, taskB.valid))
  ).history;
  const recordB = record(modelB, historyB, taskB.test.x, taskB.test.y);
  const secondsB = (performance.now() - started) / 1000;

  // Model B on A: load A, clone it and copy its weights so A stays intact, swap the head, freeze, train,
  // unfreeze, recompile, train more.
  started = performance.now();
  const loadedA = await loadModel(modelAPath, { compile: false });
  const cloneA = cloneModel(loadedA);
  cloneA.setWeights(loadedA.getWeights());
  const weightsOfA = loadedA.getWeights();
  const modelBOnA = new Sequential(cloneA.layers.slice(0, -1), { name: 'model_B_on_A' });
  modelBOnA.add(new Dense({ units: 1, activation: 'sigmoid' }));
  for (const layer of modelBOnA.layers.slice(0, -1)) layer.trainable = false;
  modelBOnA.compile({
    optimizer: new SGD({ learningRate }),
    loss: 'binary_crossentropy',
    metrics: ['accuracy'],
  });
  say(`Model B on A: reused layers frozen, ${options.epochsFrozen ?? 4} epochs`);
  const frozen = (
    await modelBOnA.fit(taskB.train.x, taskB.train.y, fitOptions(options.epochsFrozen ?? 4, taskB.valid))
  ).history;
  for (const layer of modelBOnA.layers.slice(0, -1)) layer.trainable = true;
  modelBOnA.compile({
    optimizer: new SGD({ learningRate }),
    loss: 'binary_crossentropy',
    metrics: ['accuracy'],
  });
  say(`Model B on A: unfrozen, ${options.epochsUnfrozen ?? 16} epochs`);
  const unfrozen = (
    await modelBOnA.fit(taskB.train.x, taskB.train.y, fitOptions(options.epochsUnfrozen ?? 16, taskB.valid))
  ).history;
  const recordBOnA = record(modelBOnA, mergeHistories(frozen, unfrozen), taskB.test.x, taskB.test.y);
  const secondsBOnA = (performance.now() - started) / 1000;

  return {
    seed,
    kernelInitializer:
      options.modelA === undefined
        ? (options.kernelInitializer ?? NOTEBOOK_KERNEL_INITIALIZER)
        : `${options.kernelInitializer ?? NOTEBOOK_KERNEL_INITIALIZER} (model B; model A from ${options.modelA})`,
    modelA: recordA,
    modelB: recordB,
    modelBOnA: { ...recordBOnA, phases: { frozen, unfrozen } },
    errorRateRatio: (1 - recordB.test.accuracy) / (1 - recordBOnA.test.accuracy),
    modelAIntact: sameWeights(loadedA.getWeights(), weightsOfA),
    seconds: { modelA: secondsA, modelB: secondsB, modelBOnA: secondsBOnA },
  };
}

/**
 * The whole study: one run per seed, `results.json` written atomically into `outDir` after each run (one run:
 * the run's object; several: `{ runs, summary }` with mean ± sd of test accuracy and loss per model).
 */
export async function runTransfer(
  options: TransferOptions,
  data?: TransferData,
): Promise<TransferRun | TransferSummary> {
  const loaded =
    data ?? (await loadTransferData({ dataDir: options.dataDir, verbose: options.verbose === 0 ? 0 : 1 }));
  const seeds = options.seeds ?? 1;
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new RangeError(`seeds must be a positive integer, got ${seeds}`);
  const first = options.seed ?? 42;
  const runs: TransferRun[] = [];
  let result: TransferRun | TransferSummary | null = null;
  for (let i = 0; i < seeds; i++) {
    runs.push(await runTransferOnce(loaded, options, first + i));
    result = seeds === 1 ? runs[0] : summarize(runs);
    await writeJsonAtomically(join(options.outDir, 'results.json'), result);
  }
  return result!;
}

/** Mean ± sd over runs. */
export function summarize(runs: TransferRun[]): TransferSummary {
  const of = (model: 'modelA' | 'modelB' | 'modelBOnA') => ({
    accuracy: meanSd(runs.map((run) => run[model].test.accuracy)),
    loss: meanSd(runs.map((run) => run[model].test.loss)),
  });
  return {
    runs,
    summary: {
      modelA: of('modelA'),
      modelB: of('modelB'),
      modelBOnA: of('modelBOnA'),
      errorRateRatio: meanSd(runs.map((run) => run.errorRateRatio)),
    },
  };
}

/** The closing table: test loss and accuracy of each model, and the error-rate ratio. */
export function formatTransferTable(result: TransferRun | TransferSummary): string {
  const multi = 'runs' in result;
  const cell = (model: 'modelA' | 'modelB' | 'modelBOnA', metric: 'loss' | 'accuracy'): string => {
    if (!multi) return result[model].test[metric].toFixed(4);
    const { mean, sd } = result.summary[model][metric];
    return `${mean.toFixed(4)} ± ${sd.toFixed(4)}`;
  };
  const rows = [
    ['model', 'task', 'test loss', 'test accuracy'],
    ['A', 'A (8 classes)', cell('modelA', 'loss'), cell('modelA', 'accuracy')],
    ['B (from scratch)', 'B (sandal/shirt)', cell('modelB', 'loss'), cell('modelB', 'accuracy')],
    ['B on A (reused)', 'B (sandal/shirt)', cell('modelBOnA', 'loss'), cell('modelBOnA', 'accuracy')],
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]): string => row.map((text, column) => text.padEnd(widths[column])).join('  ');
  const ratio = multi
    ? `${result.summary.errorRateRatio.mean.toFixed(2)} ± ${result.summary.errorRateRatio.sd.toFixed(2)} over ${result.runs.length} seeds`
    : result.errorRateRatio.toFixed(2);
  return [
    line(rows[0]),
    widths.map((width) => '─'.repeat(width)).join('  '),
    ...rows.slice(1).map(line),
    '',
    `error-rate ratio (B's test error / B on A's): ${ratio}`,
  ].join('\n');
}
