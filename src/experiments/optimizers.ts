import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFashionMnist, splitTaskAB, toFloat32Images } from '../datasets/index.js';
import type { ImageSplit } from '../datasets/index.js';
import { getKernels } from '../kernels/index.js';
import { Dense } from '../layers/dense.js';
import type { BaseModel } from '../models/baseModel.js';
import type { ProgressWriter } from '../models/callbacks.js';
import { pythonFloatRepr } from '../models/callbacks/index.js';
import { cloneModel } from '../models/cloneModel.js';
import { deserializeOptimizer, type KerasConfig, type Optimizer } from '../optimizers/index.js';
import { setRandomSeed } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { DEFAULT_BACKUP_EVERY, fitWithBackup, StudyJournal, tensorsDigest } from './resume.js';
import { type DivergenceRecord, type MeanSd, meanSd, writeJsonAtomically } from './results.js';
import { buildDenseNetwork, NOTEBOOK_KERNEL_INITIALIZER } from './transfer.js';

/** Which hyperparameters a contender uses: the seed notebook's, or a learning rate that suits this network. */
export type ContenderVariant = 'seed' | 'tuned';

/** One runner of the race: an optimizer as a Keras config. */
export interface OptimizerContender {
  /** Identifier for `--only` and in `results.json`: `adam`, `adagrad-tuned`, … */
  name: string;
  /** The optimizer family (`sgd`, `momentum`, `nesterov`, `adagrad`, `rmsprop`, `adam`, `adadelta`). */
  family: string;
  /** What people call it: `SGD`, `Momentum`, `Nesterov`, `Adagrad`, … */
  label: string;
  /** Seed hyperparameters or a tuned learning rate. */
  variant: ContenderVariant;
  /** Keras's class name. */
  className: string;
  /** The constructor arguments given (Keras's snake_case names, as the notebook passes them); the rest default. */
  config: KerasConfig;
  /** Whether this learning rate suits the network, with the sweep's evidence (see {@link TUNED_CONTENDERS}). */
  note: string;
}

/*
 * The evidence behind the notes: task A, batch 32, seed 42, wasm backend; validation accuracy after 5 epochs
 * (4,000 validation images: one standard error is about 0.4 points, and epoch-to-epoch wobble is as large, so
 * differences under ~0.5 points are noise).
 *
 * Every contender at its own rate, on the notebook's network (glorot_uniform), measured with
 * `warmstart optimizers --epochs 5` (2026-12-01):
 *
 *   sgd 0.925   momentum 0.926   nesterov 0.928   adagrad 0.124 (chance)   rmsprop 0.919 (best 0.923)
 *   adam 0.928   adadelta 0.838   adagrad-tuned 0.930   adadelta-tuned 0.928
 *
 * The learning-rate sweep, measured earlier with lecun_normal hidden kernels (`--kernel-initializer
 * lecun_normal`); where the two overlap (the seed rates) they agree within noise:
 *
 *   SGD        0.01: 0.922   0.02: 0.925   0.05: 0.926   0.1: NaN loss in epoch 1
 *   Momentum   0.003: 0.926  0.01: 0.920   0.03: 0.923
 *   Nesterov   0.003: 0.928  0.01: 0.926   0.03: NaN loss in epoch 1
 *   Adagrad    0.01: 0.927   0.03: 0.930   0.1: 0.922    1.0: 0.123 (chance; the loss stays at ln 8 ≈ 2.08)
 *   RMSprop    1e-4: 0.924   3e-4: 0.931   1e-3: 0.930   3e-3: 0.920
 *   Adam       1e-4: 0.928   3e-4: 0.926   1e-3: 0.923   3e-3: 0.921
 *   Adadelta   ρ = 0.95: 0.1: 0.924   0.3: 0.932   1.0: 0.925;   the seed's 0.001 with ρ = 0.9: 0.844
 */

/**
 * The seed notebook's seven optimizers with its hyperparameters, as recorded from Python Keras in
 * `shared/reference/optimizers/seed_*.json` (a test checks them against those files). The notebook's typos
 * are fixed as there: `Adadelta` for its `AdaDelta`, and Adam without the `rho` it passed.
 */
export const SEED_CONTENDERS: readonly OptimizerContender[] = [
  seed(
    'sgd',
    'SGD',
    'SGD',
    { learning_rate: 0.01 },
    'sensible: 0.925 after 5 epochs; with lecun_normal 0.01–0.05 all reach ~0.925 and 0.1 diverges',
  ),
  seed(
    'momentum',
    'Momentum',
    'SGD',
    { learning_rate: 0.01, momentum: 0.9 },
    'sensible: 0.926 after 5 epochs; with lecun_normal 0.003–0.03 all reach 0.920–0.926',
  ),
  seed(
    'nesterov',
    'Nesterov',
    'SGD',
    { learning_rate: 0.01, momentum: 0.9, nesterov: true },
    'sensible: 0.928 after 5 epochs; with lecun_normal 0.003 and 0.01 reach ~0.927 and 0.03 diverges',
  ),
  seed(
    'adagrad',
    'Adagrad',
    'Adagrad',
    { learning_rate: 1.0, initial_accumulator_value: 0.1, epsilon: 1e-7 },
    'far too high: stuck at chance (0.124, loss ln 8) for 5 epochs; see adagrad-tuned',
  ),
  seed(
    'rmsprop',
    'RMSprop',
    'RMSprop',
    { learning_rate: 0.001, rho: 0.9 },
    'sensible: 0.919 after 5 epochs (best 0.923); with lecun_normal 1e-4–1e-3 reach 0.924–0.931',
  ),
  seed(
    'adam',
    'Adam',
    'Adam',
    { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999 },
    'sensible: 0.928 after 5 epochs; with lecun_normal 1e-4–3e-3 reach 0.921–0.928',
  ),
  seed(
    'adadelta',
    'Adadelta',
    'Adadelta',
    { learning_rate: 0.001, rho: 0.9 },
    'far too low: 0.838 after 5 epochs against ~0.93; see adadelta-tuned',
  ),
];

/**
 * The same optimizers at a learning rate that suits this network (the notebook's six selu Dense layers,
 * batch 32, pixels in [0, 1]), where the seed's rate does not: Adagrad's 1.0 never leaves chance level and
 * Adadelta's 0.001 crawls. Every other seed rate is within noise of the best of a short sweep (the table above
 * {@link SEED_CONTENDERS}), so a tuned copy of it would only duplicate its curve.
 */
export const TUNED_CONTENDERS: readonly OptimizerContender[] = [
  tuned(
    'adagrad',
    'Adagrad',
    'Adagrad',
    { learning_rate: 0.01 },
    'the usual Adagrad rate (PyTorch’s default, and Keras 2.2’s): 0.930 after 5 epochs; with lecun_normal 0.01–0.03 all within noise',
  ),
  tuned(
    'adadelta',
    'Adadelta',
    'Adadelta',
    { learning_rate: 1.0, rho: 0.95 },
    'the paper’s setting (no learning rate, i.e. 1.0, and ρ = 0.95; Keras 2.2’s default): 0.928 after 5 epochs; with lecun_normal 0.1–1.0 all within noise',
  ),
];

function seed(
  family: string,
  label: string,
  className: string,
  config: KerasConfig,
  note: string,
): OptimizerContender {
  return { name: family, family, label, variant: 'seed', className, config, note };
}

function tuned(
  family: string,
  label: string,
  className: string,
  config: KerasConfig,
  note: string,
): OptimizerContender {
  return { name: `${family}-tuned`, family, label, variant: 'tuned', className, config, note };
}

/** Every contender, seed variants first. */
export function listContenders(): OptimizerContender[] {
  return [...SEED_CONTENDERS, ...TUNED_CONTENDERS];
}

/**
 * The contenders `names` pick, in race order: contender names (`adam`, `sgd-tuned`), or `seed` / `tuned` for
 * a whole variant. An unknown name is an error listing the known ones.
 */
export function selectContenders(names?: readonly string[]): OptimizerContender[] {
  const all = listContenders();
  if (names === undefined || names.length === 0) return all;
  const wanted = new Set<OptimizerContender>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    const matches = all.filter((contender) => contender.name === name || contender.variant === name);
    if (matches.length === 0) {
      throw new RangeError(
        `unknown contender '${raw}': choose from ${all.map((contender) => contender.name).join(', ')}, or seed / tuned`,
      );
    }
    for (const match of matches) wanted.add(match);
  }
  if (wanted.size === 0) throw new RangeError('no contender selected');
  return all.filter((contender) => wanted.has(contender));
}

/** A fresh optimizer for a contender, through Keras's config path (`deserializeOptimizer`). */
export function createOptimizer(contender: OptimizerContender): Optimizer {
  return deserializeOptimizer({ class_name: contender.className, config: contender.config });
}

/** `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999)`: the contender as the notebook writes it. */
export function describeContender(contender: OptimizerContender): string {
  const python = (value: unknown): string =>
    typeof value === 'number'
      ? pythonFloatRepr(value)
      : value === true
        ? 'True'
        : value === false
          ? 'False'
          : value === null
            ? 'None'
            : String(value);
  const args = Object.entries(contender.config).map(([key, value]) => `${key}=${python(value)}`);
  return `${contender.className}(${args.join(', ')})`;
}

/** Inputs and integer labels. */
export interface LabelledImages {
  /** Images (or any samples), first axis the batch. */
  x: Tensor;
  /** One class index per sample. */
  y: Tensor;
}

/** What the race trains on. */
export interface OptimizerRaceData {
  /** `'A'` (the transfer study's 8-class task A), `'full'` (all 10 classes), or a caller's name. */
  task: string;
  /** Number of classes (the softmax head's width). */
  classes: number;
  /** Training set. */
  train: LabelledImages;
  /** Validation set, evaluated after every epoch. */
  valid: LabelledImages;
}

/** Which data the race uses. */
export type OptimizerRaceTask = 'A' | 'full';

function labelledImages(split: ImageSplit): LabelledImages {
  return {
    x: new Tensor(toFloat32Images(split.images), [split.count, 28, 28]),
    y: new Tensor(Float32Array.from(split.labels), [split.count]),
  };
}

/**
 * Loads Fashion-MNIST for the race: task A (the notebook's 8 classes without sandals and shirts) or the full
 * 10-class set; either way the first 5,000 training images are the validation set, as in the notebook.
 */
export async function loadOptimizerRaceData(
  options: { dataDir?: string; task?: OptimizerRaceTask; verbose?: 0 | 1 } = {},
): Promise<OptimizerRaceData> {
  const task = options.task ?? 'A';
  if (task !== 'A' && task !== 'full')
    throw new RangeError(`task must be 'A' or 'full', got '${String(task)}'`);
  const dataset = await loadFashionMnist({ dataDir: options.dataDir, verbose: options.verbose });
  if (task === 'A') {
    const { taskA } = splitTaskAB(dataset);
    return { task, classes: 8, train: labelledImages(taskA.train), valid: labelledImages(taskA.valid) };
  }
  const validationCount = 5000;
  const pixels = 28 * 28;
  const { images, labels, count } = dataset.train;
  const part = (from: number, to: number): ImageSplit => ({
    images: images.subarray(from * pixels, to * pixels),
    labels: labels.subarray(from, to),
    count: to - from,
  });
  return {
    task,
    classes: 10,
    train: labelledImages(part(validationCount, count)),
    valid: labelledImages(part(0, validationCount)),
  };
}

/** Options of {@link runOptimizerRace}. */
export interface OptimizerRaceOptions {
  /** Where `results.json` goes. */
  outDir: string;
  /** Which contenders run (default all): see {@link selectContenders}. */
  only?: readonly string[];
  /** Or the contenders themselves (overrides `only`). */
  contenders?: readonly OptimizerContender[];
  /** Epochs per contender (default 10). */
  epochs?: number;
  /** Batch size (default 32). */
  batchSize?: number;
  /** Seed of the first run (default 42). */
  seed?: number;
  /** Number of runs, seeds `seed`, `seed + 1`, … (default 1). */
  seeds?: number;
  /** The network for `classes` outputs (default: the notebook's dense network, {@link buildDenseNetwork}). */
  network?: (classes: number) => BaseModel;
  /**
   * Kernel initializer of the default network's hidden layers (default `'glorot_uniform'`, the notebook's);
   * ignored when `network` is given.
   */
  kernelInitializer?: string;
  /** 0 silent, 1 progress bars, 2 one line per epoch (default 1). */
  verbose?: 0 | 1 | 2;
  /** Where progress and headings go (default stdout). */
  writer?: ProgressWriter;
  /** Start over: forget the contenders an earlier, interrupted race in `outDir` finished (default false). */
  fresh?: boolean;
  /**
   * Back the running contender up at the end of the first epoch after at least this many batches (default
   * `DEFAULT_BACKUP_EVERY`, 1,000: every epoch of task A's 1,375 batches; 1: every epoch).
   */
  backupEvery?: number;
}

export type { DivergenceRecord, MeanSd } from './results.js';

/** One contender's run with one seed. */
export interface ContenderRun {
  /** The seed of the initial weights and of the batch order. */
  seed: number;
  /** SHA-256 of the weights the run started from: the same for every contender of a seed. */
  initialWeightsSha256: string;
  /** Per-epoch `loss`, `accuracy`, `val_loss`, `val_accuracy` (NaN is written as null in JSON). */
  history: Record<string, number[]>;
  /** Last epoch's validation accuracy. */
  finalValAccuracy: number;
  /** Best validation accuracy. */
  bestValAccuracy: number;
  /** 1-based epoch of the best validation accuracy. */
  bestEpoch: number;
  /** First 1-based epoch whose validation accuracy reached 90 %, or null. */
  epochsTo90: number | null;
  /** Whether the loss became NaN or infinite (training then stopped). */
  diverged: boolean;
  /** Where it did (the batch training stopped at), or null. */
  divergedAt?: DivergenceRecord | null;
  /** Wall time of `fit`, seconds. */
  seconds: number;
}

/** One contender's results over all seeds. */
export interface ContenderResult {
  /** See {@link OptimizerContender.name}. */
  name: string;
  /** See {@link OptimizerContender.family}. */
  family: string;
  /** See {@link OptimizerContender.label}. */
  label: string;
  /** See {@link OptimizerContender.variant}. */
  variant: ContenderVariant;
  /** `Adam(learning_rate=0.001, …)`. */
  description: string;
  /** Whether the learning rate suits the network, and the evidence. */
  note: string;
  /** The optimizer's full Keras config, as serialized by warmstart. */
  optimizer: { class_name: string; config: KerasConfig };
  /** One run per seed. */
  runs: ContenderRun[];
  /** Per-epoch mean over seeds of each history key. */
  meanHistory: Record<string, number[]>;
  /** Figures over the seeds. */
  summary: {
    /** Last epoch's validation accuracy. */
    finalValAccuracy: MeanSd;
    /** Best validation accuracy of each run. */
    bestValAccuracy: MeanSd;
    /** 1-based epoch of the best mean validation accuracy. */
    bestEpoch: number;
    /** First 1-based epoch where the mean validation accuracy reached 90 %, or null. */
    epochsTo90: number | null;
    /** Wall time of `fit`. */
    seconds: MeanSd;
  };
}

/** The race, as `results.json` holds it. */
export interface OptimizerRaceResult {
  /** `'A'`, `'full'`, or the caller's data's name. */
  task: string;
  /** Width of the softmax head. */
  classes: number;
  /** Training and validation set sizes. */
  samples: { train: number; valid: number };
  /** Epochs per contender. */
  epochs: number;
  /** Batch size. */
  batchSize: number;
  /** The kernels that trained (`wasm`, `reference`). */
  backend: string;
  /** The default network's hidden kernel initializer, or null when the caller gave the network. */
  kernelInitializer?: string | null;
  /** The seeds, one run each. */
  seeds: number[];
  /** Per seed: SHA-256 of the initial weights every contender started from. */
  initialWeights: { seed: number; sha256: string }[];
  /** Contenders in race order (those finished so far, while the race runs). */
  contenders: ContenderResult[];
  /** Every run that diverged, in race order (each stopped at its first non-finite loss; the others ran). */
  diverged?: DivergenceRecord[];
}

/** The 90 % mark of the "epochs to 90 %" column. */
export const TARGET_VAL_ACCURACY = 0.9;

/** SHA-256 of the weights' float32 bytes, in order. */
export function weightsDigest(weights: readonly Tensor[]): string {
  const hash = createHash('sha256');
  for (const weight of weights)
    hash.update(new Uint8Array(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength));
  return hash.digest('hex');
}

/** Best value, its 1-based epoch, and the first epoch at or above the 90 % mark. */
function accuracyFigures(curve: readonly number[]): {
  best: number;
  bestEpoch: number;
  epochsTo90: number | null;
} {
  let best = -Infinity;
  let bestEpoch = 0;
  curve.forEach((value, index) => {
    if (value > best) {
      best = value;
      bestEpoch = index + 1;
    }
  });
  const reached = curve.findIndex((value) => value >= TARGET_VAL_ACCURACY);
  return { best: bestEpoch === 0 ? NaN : best, bestEpoch, epochsTo90: reached < 0 ? null : reached + 1 };
}

/** Per-epoch mean over runs (a run that stopped early contributes to the epochs it has). */
function meanHistory(histories: Record<string, number[]>[]): Record<string, number[]> {
  const keys = [...new Set(histories.flatMap((history) => Object.keys(history)))];
  const result: Record<string, number[]> = {};
  for (const key of keys) {
    const length = Math.max(...histories.map((history) => history[key]?.length ?? 0));
    result[key] = Array.from(
      { length },
      (_, epoch) =>
        meanSd(
          histories
            .filter((history) => epoch < (history[key]?.length ?? 0))
            .map((history) => history[key][epoch]),
        ).mean,
    );
  }
  return result;
}

function summarizeContender(contender: OptimizerContender, runs: ContenderRun[]): ContenderResult {
  const mean = meanHistory(runs.map((run) => run.history));
  const figures = accuracyFigures(mean.val_accuracy ?? []);
  const optimizer = createOptimizer(contender);
  return {
    name: contender.name,
    family: contender.family,
    label: contender.label,
    variant: contender.variant,
    description: describeContender(contender),
    note: contender.note,
    optimizer: { class_name: optimizer.className, config: optimizer.getConfig() },
    runs,
    meanHistory: mean,
    summary: {
      finalValAccuracy: meanSd(runs.map((run) => run.finalValAccuracy)),
      bestValAccuracy: meanSd(runs.map((run) => run.bestValAccuracy)),
      bestEpoch: figures.bestEpoch,
      epochsTo90: figures.epochsTo90,
      seconds: meanSd(runs.map((run) => run.seconds)),
    },
  };
}

/**
 * The notebook's dense network with a softmax head of `classes` units (hidden kernels from
 * `kernelInitializer`, by default the notebook's `glorot_uniform`).
 */
export function buildRaceNetwork(classes: number, kernelInitializer?: string): BaseModel {
  return buildDenseNetwork(
    new Dense({ units: classes, activation: 'softmax' }),
    'optimizer_race',
    kernelInitializer,
  );
}

/**
 * The optimizer race: for each seed, the network is built once and its weights copied into a clone per
 * contender (`cloneModel` + `setWeights`), so every optimizer starts from the same weights and sees the
 * batches in the same order; each trains `epochs` epochs with sparse categorical cross-entropy, validated
 * after every epoch. A contender whose loss turns NaN or infinite stops at that batch (`divergedAt` and the
 * result's `diverged` say where) and the race goes on. `results.json` is rewritten atomically in `outDir`
 * after every contender, so a long race can be watched.
 *
 * It resumes: each finished contender is recorded in `<outDir>/resume/journal.json` and the running one backs
 * up after every epoch (`BackupAndRestore`), so the same call after an interruption skips the contenders that
 * finished, continues the interrupted one from its backup, and ends with the results of an uninterrupted race
 * (only the `seconds` differ). A journal of other settings is a `StudyResumeError`; `fresh: true` (the CLI's
 * `--fresh`) starts over.
 */
export async function runOptimizerRace(
  options: OptimizerRaceOptions,
  data?: OptimizerRaceData,
  loadOptions: { dataDir?: string; task?: OptimizerRaceTask } = {},
): Promise<OptimizerRaceResult> {
  const epochs = options.epochs ?? 10;
  const batchSize = options.batchSize ?? 32;
  const seeds = options.seeds ?? 1;
  const firstSeed = options.seed ?? 42;
  const verbose = options.verbose ?? 1;
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new RangeError(`epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new RangeError(`seeds must be a positive integer, got ${seeds}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const backupEvery = options.backupEvery ?? DEFAULT_BACKUP_EVERY;
  if (!Number.isInteger(backupEvery) || backupEvery < 1)
    throw new RangeError(`backupEvery must be a positive integer (batches), got ${backupEvery}`);
  const contenders = options.contenders ?? selectContenders(options.only);
  if (contenders.length === 0) throw new RangeError('no contender selected');
  const writer = options.writer ?? process.stdout;
  const say = (line: string): void => {
    if (verbose > 0) writer.write(line + '\n');
  };
  const loaded = data ?? (await loadOptimizerRaceData({ verbose: verbose === 0 ? 0 : 1, ...loadOptions }));
  const network =
    options.network ?? ((classes: number) => buildRaceNetwork(classes, options.kernelInitializer));
  await mkdir(options.outDir, { recursive: true });
  const resultsPath = join(options.outDir, 'results.json');
  const journal = await StudyJournal.open(
    options.outDir,
    'optimizers',
    {
      task: loaded.task,
      classes: loaded.classes,
      epochs,
      batchSize,
      backend: getKernels().name,
      network:
        options.network === undefined
          ? { kernelInitializer: options.kernelInitializer ?? NOTEBOOK_KERNEL_INITIALIZER }
          : 'given by the caller',
      data: tensorsDigest([loaded.train.x, loaded.train.y, loaded.valid.x, loaded.valid.y]),
    },
    { fresh: options.fresh },
  );

  const seedList = Array.from({ length: seeds }, (_, i) => firstSeed + i);
  const runs = new Map<OptimizerContender, ContenderRun[]>(contenders.map((contender) => [contender, []]));
  const result: OptimizerRaceResult = {
    task: loaded.task,
    classes: loaded.classes,
    samples: { train: loaded.train.x.rows, valid: loaded.valid.x.rows },
    epochs,
    batchSize,
    backend: getKernels().name,
    kernelInitializer:
      options.network === undefined ? (options.kernelInitializer ?? NOTEBOOK_KERNEL_INITIALIZER) : null,
    seeds: seedList,
    initialWeights: [],
    contenders: [],
    diverged: [],
  };

  for (const seed of seedList) {
    setRandomSeed(seed);
    const base = network(loaded.classes);
    if (!base.built) base.build(loaded.train.x.shape.slice(1));
    result.backend = base.kernels.name;
    const initial = base.getWeights();
    const digest = weightsDigest(initial);
    result.initialWeights.push({ seed, sha256: digest });
    for (const [index, contender] of contenders.entries()) {
      const key = `seed-${seed}/${contender.name}`;
      const description = describeContender(contender);
      const heading = `\n[${index + 1}/${contenders.length}] ${contender.name}: ${description}, seed ${seed}`;
      const done = journal.get<{ description: string; run: ContenderRun }>(key);
      let run: ContenderRun;
      if (
        done !== undefined &&
        done.description === description &&
        done.run.initialWeightsSha256 === digest
      ) {
        say(`${heading}: finished in an earlier run`);
        run = done.run;
        // A race killed right after recording the contender left its backup.
        await journal.discardBackup(key);
      } else {
        say(heading);
        const model = cloneModel(base);
        model.setWeights(initial);
        const startDigest = weightsDigest(model.getWeights());
        if (startDigest !== digest)
          throw new Error(`contender '${contender.name}' would not start from the shared weights`);
        const optimizer = createOptimizer(contender);
        model.compile({ optimizer, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
        // The same seed before each fit: every contender sees the batches in the same order.
        setRandomSeed(seed);
        const started = performance.now();
        const { history, stoppedAt } = await fitWithBackup(
          model,
          loaded.train,
          {
            epochs,
            batchSize,
            verbose,
            validationData: [loaded.valid.x, loaded.valid.y],
            progressWriter: writer,
          },
          journal,
          key,
          say,
          backupEvery,
        );
        const seconds = (performance.now() - started) / 1000;
        const curve = history.val_accuracy ?? [];
        const figures = accuracyFigures(curve);
        const learningRate =
          typeof optimizer.learningRate === 'number'
            ? optimizer.learningRate
            : Number(contender.config.learning_rate ?? NaN);
        run = {
          seed,
          initialWeightsSha256: startDigest,
          history,
          finalValAccuracy: curve.length > 0 ? curve[curve.length - 1] : NaN,
          bestValAccuracy: figures.best,
          bestEpoch: figures.bestEpoch,
          epochsTo90: figures.epochsTo90,
          diverged: stoppedAt !== null,
          divergedAt:
            stoppedAt === null
              ? null
              : {
                  phase: contender.name,
                  seed,
                  epoch: stoppedAt.epoch + 1,
                  batch: stoppedAt.batch + 1,
                  batches: Math.ceil(loaded.train.x.rows / batchSize),
                  loss: stoppedAt.loss,
                  learningRate,
                },
          seconds,
        };
        // A diverged run is a result too: the rerun would diverge at the same batch.
        await journal.record(key, { description, run });
        model.dispose();
      }
      runs.get(contender)!.push(run);
      if (run.divergedAt) result.diverged!.push(run.divergedAt);
      result.contenders = contenders
        .filter((entry) => runs.get(entry)!.length > 0)
        .map((entry) => summarizeContender(entry, runs.get(entry)!));
      await writeJsonAtomically(resultsPath, result);
    }
    base.dispose();
  }
  return result;
}

function formatMeanSd(value: MeanSd, runs: number): string {
  // NaN is null once results.json has been read back.
  if (typeof value.mean !== 'number' || Number.isNaN(value.mean)) return 'NaN';
  return runs > 1 ? `${value.mean.toFixed(4)} ± ${value.sd.toFixed(4)}` : value.mean.toFixed(4);
}

/**
 * The race's table: per contender, final and best validation accuracy (mean ± sd over seeds), the epoch of
 * the best, epochs to reach 90 % ('—' if never), and the mean wall time of training.
 */
export function formatOptimizerTable(result: OptimizerRaceResult): string {
  const rows = [
    ['contender', 'optimizer', 'final val_acc', 'best val_acc', 'best epoch', 'epochs to 90%', 'time'],
    ...result.contenders.map((contender) => {
      const { summary, runs } = contender;
      return [
        contender.name,
        contender.description,
        formatMeanSd(summary.finalValAccuracy, runs.length),
        formatMeanSd(summary.bestValAccuracy, runs.length),
        summary.bestEpoch === 0 ? '—' : String(summary.bestEpoch),
        summary.epochsTo90 === null ? '—' : String(summary.epochsTo90),
        `${summary.seconds.mean.toFixed(1)} s`,
      ];
    }),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const numeric = new Set([2, 3, 4, 5, 6]);
  const line = (row: string[]): string =>
    row
      .map((text, column) =>
        numeric.has(column) ? text.padStart(widths[column]) : text.padEnd(widths[column]),
      )
      .join('  ')
      .trimEnd();
  const seeds = result.seeds.length;
  return [
    `Task ${result.task}: ${result.samples.train} training and ${result.samples.valid} validation images, ` +
      `${result.epochs} epochs, batch ${result.batchSize}, ${seeds} seed${seeds > 1 ? 's (mean ± sd)' : ''}, ${result.backend} backend`,
    '',
    line(rows[0]),
    widths.map((width) => '─'.repeat(width)).join('  '),
    ...rows.slice(1).map(line),
  ].join('\n');
}
