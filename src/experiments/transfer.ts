import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type DatasetRelease,
  type ImageDataset,
  loadFashionMnist,
  type LoadDatasetOptions,
  splitTaskAB,
} from '../datasets/index.js';
import { loadModel, readModelFile, saveModel } from '../io/index.js';
import { getKernels } from '../kernels/index.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Flatten } from '../layers/flatten.js';
import { MaxPooling2D } from '../layers/pooling2d.js';
import { type BaseModel, type FitOptions, leafLayers } from '../models/baseModel.js';
import { Callback, type ProgressWriter } from '../models/callbacks.js';
import { TerminateOnNaN } from '../models/callbacks/index.js';
import { cloneModel } from '../models/cloneModel.js';
import { Sequential } from '../models/sequential.js';
import { SGD } from '../optimizers/sgd.js';
import { getRandomState, type RandomState, setRandomSeed, setRandomState } from '../tensor/random.js';
import { sizeOf, Tensor } from '../tensor/tensor.js';
import { DEFAULT_BACKUP_EVERY, fitWithBackup, StudyJournal } from './resume.js';
import {
  describeDivergence,
  type DivergenceRecord,
  type MeanSd,
  meanSd,
  writeJsonAtomically,
} from './results.js';
import { type StudyTask, StudySplit } from './studyData.js';

export { describeDivergence, type DivergenceRecord, type MeanSd } from './results.js';
export { StudyResumeError } from './resume.js';
export { heldBytes, type SplitRetention, type StudyTask, StudySplit } from './studyData.js';

/**
 * The network the study reuses: `'dense'`, the notebook's (Flatten, five SELU Dense layers), or `'cnn'`, a
 * small convolutional network (Conv2D 32 → MaxPool → Conv2D 64 → MaxPool → Dense 128 → output).
 */
export type TransferArchitecture = 'dense' | 'cnn';

/**
 * The SGD learning rate of each architecture when none is given. The dense network keeps the notebook's 1e-3.
 * The CNN's is 1e-2, Keras's default for SGD: at 1e-3 its model A reaches only 0.898 validation accuracy in
 * 20 epochs (seed 42; still rising by about 0.005 per epoch), at 1e-2 0.932–0.944 (seeds 42–44), past 0.93,
 * the bar a CNN should clear on task A. Plain SGD without momentum, as in the notebook, so that the two
 * studies differ in the network and its learning rate only. Figures: README, "The CNN study".
 */
export const DEFAULT_LEARNING_RATES: Readonly<Record<TransferArchitecture, number>> = {
  dense: 1e-3,
  cnn: 1e-2,
};

/** The notebook's hyperparameters, each overridable. */
export interface TransferOptions {
  /** Which network to train and reuse (default `'dense'`, the notebook's). */
  architecture?: TransferArchitecture;
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
  /** Learning rate of every phase's SGD (default {@link DEFAULT_LEARNING_RATES}: 1e-3 dense, 1e-2 CNN). */
  learningRate?: number;
  /** Batch size (default 32). */
  batchSize?: number;
  /** Start from this saved model A (a Keras `.h5` or `.keras`) instead of training one. */
  modelA?: string;
  /**
   * Kernel initializer of the hidden layers (Dense; Conv2D and Dense in the CNN) (default `'glorot_uniform'`,
   * Keras's default and what the notebook's `Dense(n_hidden, activation="selu")` gets). `'lecun_normal'` is
   * the book's later advice for self-normalizing SELU networks; any Keras initializer name works.
   */
  kernelInitializer?: string;
  /** 0 silent, 1 progress bars, 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Where progress and phase headings go (default stdout). */
  writer?: ProgressWriter;
  /** Extra callbacks for every `fit` (reports, say). */
  callbacks?: () => Callback[];
  /** Start over: forget what an earlier, interrupted run of the study in `outDir` finished (default false). */
  fresh?: boolean;
  /**
   * Back the running phase up at the end of the first epoch after at least this many batches (default
   * {@link DEFAULT_BACKUP_EVERY}, 1,000: every epoch of model A; 1: every epoch of every phase).
   */
  backupEvery?: number;
}

/** One model's record in `results.json`. */
export interface ModelRecord {
  /** Per-epoch logs (`loss`, `accuracy`, `val_loss`, `val_accuracy`; NaN is written as null in JSON). */
  history: Record<string, number[]>;
  /** Loss and accuracy on the task's test set; null when the model's training diverged. */
  test: { loss: number; accuracy: number } | null;
}

/** One run of the study, as `results.json` holds it. */
export interface TransferRun {
  seed: number;
  /** The network (`dense` for runs recorded before the CNN study existed). */
  architecture?: TransferArchitecture;
  /** The SGD learning rate of every phase. */
  learningRate?: number;
  /** The hidden layers' kernel initializer of models A and B (model A's when it was loaded: its file's). */
  kernelInitializer?: string;
  modelA: ModelRecord;
  /** Null when an earlier phase diverged. */
  modelB: ModelRecord | null;
  /** Null when an earlier phase diverged. */
  modelBOnA:
    | (ModelRecord & {
        phases: { frozen: Record<string, number[]>; unfrozen: Record<string, number[]> };
      })
    | null;
  /** Test error of B from scratch divided by B on A's: how many times fewer errors reuse makes (null: diverged). */
  errorRateRatio: number | null;
  /** Whether model A's weights were bit-identical after B on A trained (the clone kept it intact); null: not run. */
  modelAIntact: boolean | null;
  /** Wall time of each phase (of the run that finished it, when the study was resumed); null: not run. */
  seconds: { modelA: number; modelB: number | null; modelBOnA: number | null };
  /** Where training diverged, if it did (the study stopped there). */
  diverged?: DivergenceRecord | null;
}

/** Several runs and their summary. */
export interface TransferSummary {
  /** Every run, the one that diverged (if any) last. */
  runs: TransferRun[];
  /** Mean ± sd over the runs that finished (NaN when none did). */
  summary: Record<'modelA' | 'modelB' | 'modelBOnA', { accuracy: MeanSd; loss: MeanSd }> & {
    errorRateRatio: MeanSd;
  };
  /** Where training diverged, if it did (the study stopped there). */
  diverged?: DivergenceRecord | null;
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

/**
 * The study's small CNN for 28×28 grayscale images: `Conv2D(32, 3, relu)`, `MaxPooling2D(2)`, `Conv2D(64, 3,
 * relu)`, `MaxPooling2D(2)`, `Flatten`, `Dense(128, relu)`, then the given head; inputs `[28, 28, 1]`, as a
 * Keras CNN takes them (the study reshapes its `[n, 28, 28]` images for it).
 */
export function buildConvNetwork(
  head: Dense,
  name?: string,
  kernelInitializer: string = NOTEBOOK_KERNEL_INITIALIZER,
): Sequential {
  return new Sequential(
    [
      new Conv2D({
        filters: 32,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer,
        inputShape: [28, 28, 1],
      }),
      new MaxPooling2D({ poolSize: 2 }),
      new Conv2D({ filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer }),
      new MaxPooling2D({ poolSize: 2 }),
      new Flatten(),
      new Dense({ units: 128, activation: 'relu', kernelInitializer }),
      head,
    ],
    { name },
  );
}

/** The network of an architecture with the given head. */
export function buildNetwork(
  architecture: TransferArchitecture,
  head: Dense,
  name?: string,
  kernelInitializer?: string,
): Sequential {
  return architecture === 'cnn'
    ? buildConvNetwork(head, name, kernelInitializer)
    : buildDenseNetwork(head, name, kernelInitializer);
}

/**
 * The images as the model takes them: `[n, 28, 28]` reshaped to the model's input shape when it is another
 * shape of the same size (a CNN's `[28, 28, 1]`, a Keras file's `[784]`).
 */
function asInputs(x: Tensor, model: BaseModel): Tensor {
  const shape = model.inputShape;
  if (shape === null || shape.join(',') === x.shape.slice(1).join(',')) return x;
  if (sizeOf(shape) !== sizeOf(x.shape.slice(1))) return x; // fit's input check explains the mismatch.
  return x.reshape([x.rows, ...shape]);
}

/** A split's images as `model` takes them, with its labels. */
function splitFor(model: BaseModel, part: { x: Tensor; y: Tensor }): { x: Tensor; y: Tensor } {
  return { x: asInputs(part.x, model), y: part.y };
}

function sameWeights(a: Tensor[], b: Tensor[]): boolean {
  return a.every((weight, i) => weight.data.every((value, j) => Object.is(value, b[i].data[j])));
}

/**
 * The data of both tasks. Each split's `x` (pixels scaled to [0, 1], as the notebook divides by 255) and `y`
 * are float tensors made on first use; the study releases them when the phase that used them ends, keeping
 * the bytes (see {@link StudySplit}). Task A's training set turns into floats for good on first use.
 */
export interface TransferData {
  /** Which release of Fashion-MNIST the files are. */
  release: DatasetRelease;
  /** Where the files were found. */
  dataDir: string;
  /** Task A: 8 classes. */
  taskA: StudyTask;
  /** Task B: sandal (0) or shirt (1), labels `[n, 1]`. */
  taskB: StudyTask;
}

/** Loads Fashion-MNIST and splits it into the notebook's tasks. */
export async function loadTransferData(
  options: LoadDatasetOptions & { verbose?: 0 | 1 } = {},
): Promise<TransferData> {
  return prepareTransferData(await loadFashionMnist(options));
}

/**
 * The notebook's tasks of a loaded Fashion-MNIST (`splitTaskAB`), as the study holds them: the splits' bytes,
 * floats made when a phase needs them. Holds no reference to `dataset`.
 */
export function prepareTransferData(
  dataset: Pick<ImageDataset, 'train' | 'test' | 'release' | 'dataDir'>,
): TransferData {
  const { taskA, taskB } = splitTaskAB(dataset);
  return {
    release: dataset.release,
    dataDir: dataset.dataDir,
    taskA: {
      train: new StudySplit(taskA.train, false, 'floats'),
      valid: new StudySplit(taskA.valid, false),
      test: new StudySplit(taskA.test, false),
    },
    taskB: {
      train: new StudySplit(taskB.train, true),
      valid: new StudySplit(taskB.valid, true),
      test: new StudySplit(taskB.test, true),
    },
  };
}

/** The model's record: its history, and its loss and accuracy on `test` (whose floats are released after). */
function record(model: BaseModel, history: Record<string, number[]>, test: StudySplit): ModelRecord {
  try {
    const { loss, accuracy } = model.evaluate(asInputs(test.x, model), test.y, {
      verbose: 0,
      returnDict: true,
    });
    return { history, test: { loss, accuracy } };
  } finally {
    test.release();
  }
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

/**
 * One line saying where the study diverged: the phase, the batch and the learning rate, and that the phases
 * after it did not run.
 */
export function describeTransferDivergence(diverged: DivergenceRecord): string {
  return `${describeDivergence(diverged)}, and the phases after it did not run (try a lower --learning-rate)`;
}

/** What the journal keeps of a finished phase. */
interface PhaseEntry {
  history: Record<string, number[]>;
  test: ModelRecord['test'];
  seconds: number;
  /** warmstart's global generator after the phase: a rerun that skips the phase continues from it. */
  randomAfter: RandomState;
}

/**
 * Runs the notebook's transfer-learning study once, with one seed, recording each finished phase in
 * `journal` and skipping the phases it already holds (see {@link runTransfer}). With `discardTaskA`, task
 * A's splits are discarded once model A is trained or loaded (the caller will not use them again).
 */
export async function runTransferOnce(
  data: TransferData,
  options: TransferOptions,
  seed: number,
  journal: StudyJournal,
  { discardTaskA = false }: { discardTaskA?: boolean } = {},
): Promise<TransferRun> {
  const verbose = options.verbose ?? 1;
  const say = (line: string): void => {
    if (verbose > 0) (options.writer ?? process.stdout).write(line + '\n');
  };
  const key = (phase: string): string => `seed-${seed}/${phase}`;
  const finished = journal.get<TransferRun>(key('run'));
  if (finished !== undefined) {
    say(`Seed ${seed}: finished in an earlier run (${journal.folder})`);
    // A run killed right after recording the seed left its files.
    await journal.discardBackup(`seed-${seed}`);
    return finished;
  }
  const architecture = options.architecture ?? 'dense';
  const learningRate = options.learningRate ?? DEFAULT_LEARNING_RATES[architecture];
  const batchSize = options.batchSize ?? 32;
  const fitOptions = (
    epochs: number,
    validation: { x: Tensor; y: Tensor },
    model: BaseModel,
  ): FitOptions => ({
    epochs,
    batchSize,
    verbose,
    validationData: [asInputs(validation.x, model), validation.y] as const,
    progressWriter: options.writer,
    callbacks: options.callbacks?.() ?? [],
  });
  await mkdir(options.outDir, { recursive: true });
  const modelAPath = join(options.outDir, 'my_model_A.h5');
  setRandomSeed(seed);
  const { taskA, taskB } = data;
  const kernelInitializer =
    options.modelA === undefined
      ? (options.kernelInitializer ?? NOTEBOOK_KERNEL_INITIALIZER)
      : `${options.kernelInitializer ?? NOTEBOOK_KERNEL_INITIALIZER} (model B; model A from ${options.modelA})`;
  const divergence = (
    phase: string,
    stoppedAt: NonNullable<TerminateOnNaN['stoppedAt']>,
    trainRows: number,
  ): DivergenceRecord => ({
    phase,
    seed,
    epoch: stoppedAt.epoch + 1,
    batch: stoppedAt.batch + 1,
    batches: Math.ceil(trainRows / batchSize),
    loss: stoppedAt.loss,
    learningRate,
  });
  const skipped = async (phase: string, key: string, entry: PhaseEntry): Promise<void> => {
    say(`${phase}: finished in an earlier run`);
    setRandomState(entry.randomAfter);
    // A run killed right after recording the phase left its backup.
    await journal.discardBackup(key);
  };
  const sgd = (): SGD => new SGD({ learningRate });
  // What every record of this run starts with, finished or stopped by a divergence.
  const settings = { seed, architecture, learningRate, kernelInitializer } as const;
  /**
   * Trains one phase on `task`'s training split, validating on its validation split, with backups; then
   * releases the splits' floats (task A's training floats stay: every seed's model A trains on them).
   */
  const trainPhase = async (
    model: BaseModel,
    task: StudyTask,
    epochs: number,
    phase: string,
  ): ReturnType<typeof fitWithBackup> => {
    try {
      return await fitWithBackup(
        model,
        splitFor(model, task.train),
        fitOptions(epochs, task.valid, model),
        journal,
        key(phase),
        say,
        options.backupEvery,
      );
    } finally {
      task.train.release();
      task.valid.release();
    }
  };

  // Model A on task A (or a model A someone saved, possibly from Python Keras).
  let entryA = journal.get<PhaseEntry>(key('modelA'));
  if (entryA !== undefined) await skipped('Model A', key('modelA'), entryA);
  else {
    const started = performance.now();
    let modelA: BaseModel;
    let historyA: Record<string, number[]> = {};
    if (options.modelA !== undefined) {
      say(`Model A: loading ${options.modelA}`);
      modelA = await loadModel(options.modelA, { compile: false });
      // Model B from scratch must be the same kind of network as model A, or the comparison means nothing.
      const convolutional = leafLayers(modelA).some((layer) => layer.className.includes('Conv'));
      if (convolutional !== (architecture === 'cnn')) {
        throw new RangeError(
          `model A (${options.modelA}) is ${convolutional ? 'a convolutional' : 'not a convolutional'} network but the study's architecture is '${architecture}': pass ${convolutional ? "architecture 'cnn' (--arch cnn)" : "architecture 'dense' (--arch dense)"}`,
        );
      }
      modelA.compile({ optimizer: sgd(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    } else {
      say(
        architecture === 'dense'
          ? `Model A: task A, ${taskA.train.rows} images, ${options.epochsA ?? 20} epochs (seed ${seed})`
          : `Model A: a CNN on task A, ${taskA.train.rows} images, ${options.epochsA ?? 20} epochs, SGD learning rate ${learningRate} (seed ${seed})`,
      );
      modelA = buildNetwork(
        architecture,
        new Dense({ units: 8, activation: 'softmax' }),
        'model_A',
        options.kernelInitializer,
      );
      modelA.compile({ optimizer: sgd(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
      const trained = await trainPhase(modelA, taskA, options.epochsA ?? 20, 'modelA');
      historyA = trained.history;
      if (trained.stoppedAt !== null) {
        // A diverged model A is not saved: nothing could reuse it.
        return {
          ...settings,
          modelA: { history: historyA, test: null },
          modelB: null,
          modelBOnA: null,
          errorRateRatio: null,
          modelAIntact: null,
          seconds: { modelA: (performance.now() - started) / 1000, modelB: null, modelBOnA: null },
          diverged: divergence('model A', trained.stoppedAt, taskA.train.rows),
        };
      }
    }
    // The last model A is trained: its 138 MB of training floats need not stay while the test set's are made.
    if (discardTaskA) taskA.train.discard();
    const recordA = record(modelA, historyA, taskA.test);
    await modelA.save(modelAPath);
    entryA = { ...recordA, seconds: (performance.now() - started) / 1000, randomAfter: getRandomState() };
    await journal.record(key('modelA'), entryA);
  }
  const recordA: ModelRecord = { history: entryA.history, test: entryA.test };
  if (discardTaskA) {
    // Nothing reads task A again (model A may also have been loaded or skipped, its floats never made).
    taskA.train.discard();
    taskA.valid.discard();
    taskA.test.discard();
  }
  const notRun = { modelBOnA: null, errorRateRatio: null, modelAIntact: null } as const;

  // Model B from scratch on task B's 200 images.
  let entryB = journal.get<PhaseEntry>(key('modelB'));
  if (entryB !== undefined) await skipped('Model B', key('modelB'), entryB);
  else {
    const started = performance.now();
    say(`Model B: task B from scratch, ${taskB.train.rows} images, ${options.epochsB ?? 20} epochs`);
    const modelB = buildNetwork(
      architecture,
      new Dense({ units: 1, activation: 'sigmoid' }),
      'model_B',
      options.kernelInitializer,
    );
    modelB.compile({ optimizer: sgd(), loss: 'binary_crossentropy', metrics: ['accuracy'] });
    const trained = await trainPhase(modelB, taskB, options.epochsB ?? 20, 'modelB');
    const seconds = (performance.now() - started) / 1000;
    if (trained.stoppedAt !== null) {
      return {
        ...settings,
        modelA: recordA,
        modelB: { history: trained.history, test: null },
        ...notRun,
        seconds: { modelA: entryA.seconds, modelB: seconds, modelBOnA: null },
        diverged: divergence('model B', trained.stoppedAt, taskB.train.rows),
      };
    }
    const recordB = record(modelB, trained.history, taskB.test);
    entryB = { ...recordB, seconds, randomAfter: getRandomState() };
    await journal.record(key('modelB'), entryB);
  }
  const recordB: ModelRecord = { history: entryB.history, test: entryB.test };

  // Model B on A: load A, clone it and copy its weights so A stays intact, swap the head, freeze, train,
  // unfreeze, recompile, train more.
  const started = performance.now();
  const loadedA = await loadModel(modelAPath, { compile: false });
  const cloneA = cloneModel(loadedA);
  cloneA.setWeights(loadedA.getWeights());
  const weightsOfA = loadedA.getWeights();
  const modelBOnA = new Sequential(cloneA.layers.slice(0, -1), { name: 'model_B_on_A' });
  modelBOnA.add(new Dense({ units: 1, activation: 'sigmoid' }));
  const frozenPath = journal.path(`${key('b_on_a_frozen')}.keras`);
  let entryFrozen = journal.get<PhaseEntry>(key('modelBOnAFrozen'));
  if (entryFrozen !== undefined) {
    // The weights the frozen phase ended with; the generator as it stood then.
    (await readModelFile(frozenPath)).assignWeights(modelBOnA);
    await skipped('Model B on A, frozen', key('modelBOnAFrozen'), entryFrozen);
  } else {
    for (const layer of modelBOnA.layers.slice(0, -1)) layer.trainable = false;
    modelBOnA.compile({ optimizer: sgd(), loss: 'binary_crossentropy', metrics: ['accuracy'] });
    say(`Model B on A: reused layers frozen, ${options.epochsFrozen ?? 4} epochs`);
    const trained = await trainPhase(modelBOnA, taskB, options.epochsFrozen ?? 4, 'modelBOnAFrozen');
    const seconds = (performance.now() - started) / 1000;
    if (trained.stoppedAt !== null) {
      return {
        ...settings,
        modelA: recordA,
        modelB: recordB,
        modelBOnA: {
          history: trained.history,
          test: null,
          phases: { frozen: trained.history, unfrozen: {} },
        },
        errorRateRatio: null,
        modelAIntact: null,
        seconds: { modelA: entryA.seconds, modelB: entryB.seconds, modelBOnA: seconds },
        diverged: divergence('model B on A (frozen)', trained.stoppedAt, taskB.train.rows),
      };
    }
    await mkdir(dirname(frozenPath), { recursive: true });
    await saveModel(modelBOnA, frozenPath, { includeOptimizer: false });
    entryFrozen = { history: trained.history, test: null, seconds, randomAfter: getRandomState() };
    await journal.record(key('modelBOnAFrozen'), entryFrozen);
  }
  const frozen = entryFrozen.history;
  for (const layer of modelBOnA.layers.slice(0, -1)) layer.trainable = true;
  modelBOnA.compile({ optimizer: sgd(), loss: 'binary_crossentropy', metrics: ['accuracy'] });
  say(`Model B on A: unfrozen, ${options.epochsUnfrozen ?? 16} epochs`);
  const unfrozenStarted = performance.now();
  const trained = await trainPhase(modelBOnA, taskB, options.epochsUnfrozen ?? 16, 'modelBOnAUnfrozen');
  const unfrozen = trained.history;
  const secondsBOnA = entryFrozen.seconds + (performance.now() - unfrozenStarted) / 1000;
  if (trained.stoppedAt !== null) {
    return {
      ...settings,
      modelA: recordA,
      modelB: recordB,
      modelBOnA: { history: mergeHistories(frozen, unfrozen), test: null, phases: { frozen, unfrozen } },
      errorRateRatio: null,
      modelAIntact: null,
      seconds: { modelA: entryA.seconds, modelB: entryB.seconds, modelBOnA: secondsBOnA },
      diverged: divergence('model B on A (unfrozen)', trained.stoppedAt, taskB.train.rows),
    };
  }
  const recordBOnA = record(modelBOnA, mergeHistories(frozen, unfrozen), taskB.test);
  const run: TransferRun = {
    ...settings,
    modelA: recordA,
    modelB: recordB,
    modelBOnA: { ...recordBOnA, phases: { frozen, unfrozen } },
    errorRateRatio: (1 - recordB.test!.accuracy) / (1 - recordBOnA.test!.accuracy),
    modelAIntact: sameWeights(loadedA.getWeights(), weightsOfA),
    seconds: { modelA: entryA.seconds, modelB: entryB.seconds, modelBOnA: secondsBOnA },
  };
  await journal.record(key('run'), run);
  // The seed's backups and files are no longer needed: the journal holds its results.
  await journal.discardBackup(`seed-${seed}`);
  return run;
}

/**
 * The whole study: one run per seed, `results.json` written atomically into `outDir` after each run (one run:
 * the run's object; several: `{ runs, summary }` with mean ± sd of test accuracy and loss per model).
 *
 * It resumes: each finished phase is recorded in `<outDir>/resume/journal.json`, and the running phase backs
 * up after every epoch (`BackupAndRestore`), so the same call after an interruption skips what finished,
 * continues the interrupted phase from its backup, and ends with the results an uninterrupted run gives
 * (only the `seconds` differ). A journal of other settings is a {@link StudyResumeError}; `fresh: true`
 * (the CLI's `--fresh`) starts over. A phase whose loss becomes NaN or infinite stops at that batch, the
 * study stops there (`diverged` says where) and its backup is dropped.
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
  const backupEvery = options.backupEvery ?? DEFAULT_BACKUP_EVERY;
  if (!Number.isInteger(backupEvery) || backupEvery < 1)
    throw new RangeError(`backupEvery must be a positive integer (batches), got ${backupEvery}`);
  // Model A will train on task A's floats: made now, the fingerprint hashes them instead of converting the
  // 34 million pixels once more.
  if (options.modelA === undefined) void loaded.taskA.train.x;
  const journal = await StudyJournal.open(
    options.outDir,
    'transfer',
    await transferSettings(options, loaded),
    {
      fresh: options.fresh,
    },
  );
  const runs: TransferRun[] = [];
  let result: TransferRun | TransferSummary | null = null;
  for (let i = 0; i < seeds; i++) {
    // Data the study loaded itself is its own to drop: task A's, after the last model A.
    const run = await runTransferOnce(loaded, options, first + i, journal, {
      discardTaskA: data === undefined && i === seeds - 1,
    });
    runs.push(run);
    result = seeds === 1 ? runs[0] : summarize(runs);
    await writeJsonAtomically(join(options.outDir, 'results.json'), result);
    if (run.diverged) break;
  }
  return result!;
}

/** Everything that decides a transfer study's numbers (what a resumed study must share with the first run). */
async function transferSettings(
  options: TransferOptions,
  data: TransferData,
): Promise<Record<string, unknown>> {
  return {
    epochsA: options.epochsA ?? 20,
    epochsB: options.epochsB ?? 20,
    epochsFrozen: options.epochsFrozen ?? 4,
    epochsUnfrozen: options.epochsUnfrozen ?? 16,
    // Only the CNN says so: a dense study's journal from before the CNN study existed still resumes.
    ...(options.architecture === 'cnn' ? { architecture: 'cnn' } : {}),
    learningRate: options.learningRate ?? DEFAULT_LEARNING_RATES[options.architecture ?? 'dense'],
    batchSize: options.batchSize ?? 32,
    kernelInitializer: options.kernelInitializer ?? NOTEBOOK_KERNEL_INITIALIZER,
    modelA:
      options.modelA === undefined
        ? null
        : {
            path: options.modelA,
            sha256: createHash('sha256')
              .update(await readFile(options.modelA))
              .digest('hex'),
          },
    backend: getKernels().name,
    data: transferDataDigest(data),
  };
}

/**
 * sha256 of the study's data, the same as `tensorsDigest` (resume.ts) of every split's `x` and `y` in order
 * (task A's train, valid, test, then task B's), so that journals written when the study held floats still
 * resume; computed from the bytes where the floats are not made yet.
 */
export function transferDataDigest(data: TransferData): string {
  const hash = createHash('sha256');
  for (const task of [data.taskA, data.taskB]) {
    for (const split of [task.train, task.valid, task.test]) split.updateDigest(hash);
  }
  return hash.digest('hex');
}

/** Mean ± sd over the runs that finished (a diverged run has no test figures). */
export function summarize(runs: TransferRun[]): TransferSummary {
  const complete = runs.filter((run) => !run.diverged);
  const of = (model: 'modelA' | 'modelB' | 'modelBOnA') => ({
    accuracy: meanSd(complete.map((run) => run[model]!.test!.accuracy)),
    loss: meanSd(complete.map((run) => run[model]!.test!.loss)),
  });
  return {
    runs,
    summary: {
      modelA: of('modelA'),
      modelB: of('modelB'),
      modelBOnA: of('modelBOnA'),
      errorRateRatio: meanSd(complete.map((run) => run.errorRateRatio!)),
    },
    diverged: runs.find((run) => run.diverged)?.diverged ?? null,
  };
}

/** The closing table: test loss and accuracy of each model, and the error-rate ratio (none after a divergence). */
export function formatTransferTable(result: TransferRun | TransferSummary): string {
  const multi = 'runs' in result;
  const diverged = result.diverged ?? null;
  const divergedModel =
    diverged === null
      ? null
      : diverged.phase.startsWith('model B on A')
        ? 'modelBOnA'
        : diverged.phase === 'model B'
          ? 'modelB'
          : 'modelA';
  const complete = multi ? result.runs.filter((run) => !run.diverged).length : diverged === null ? 1 : 0;
  const cell = (model: 'modelA' | 'modelB' | 'modelBOnA', metric: 'loss' | 'accuracy'): string => {
    if (!multi) {
      const test = result[model]?.test ?? null;
      if (test !== null) return test[metric].toFixed(4);
      return model === divergedModel ? 'diverged' : 'not run';
    }
    if (complete === 0) return model === divergedModel ? 'diverged' : 'not run';
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
  let ratio: string;
  if (complete === 0) ratio = `none: ${diverged!.phase} diverged (seed ${diverged!.seed})`;
  else if (multi) {
    const { mean, sd } = result.summary.errorRateRatio;
    ratio = `${mean.toFixed(2)} ± ${sd.toFixed(2)} over ${complete} seeds`;
    if (diverged !== null) ratio += ` (seed ${diverged.seed} diverged and is left out)`;
  } else ratio = result.errorRateRatio!.toFixed(2);
  return [
    line(rows[0]),
    widths.map((width) => '─'.repeat(width)).join('  '),
    ...rows.slice(1).map(line),
    '',
    `error-rate ratio (B's test error / B on A's): ${ratio}`,
  ].join('\n');
}
