/**
 * Model A (the notebook's network: Dense 300/100/50/50/50 selu, 8-way softmax) through `Sequential.fit`,
 * batch 32, one epoch = the training set plus evaluation of the validation set, on the bench's data
 * (Fashion-MNIST task A when present): the headline (SGD, learning rate 1e-3 as the transfer study trains
 * it, and predict on 10,000 images), and the per-optimizer table (the notebook's optimizers with its
 * hyperparameters, and Nadam), each against PyTorch's best configuration on the same data.
 * @module
 */
import type { Kernels } from '../src/kernels/kernels.js';
import { SEED_CONTENDERS } from '../src/experiments/optimizers.js';
import { deserializeOptimizer, type KerasConfig } from '../src/optimizers/index.js';
import { SGD } from '../src/optimizers/sgd.js';
import type { BenchData } from './data.js';
import { median, timeFit } from './fit.js';
import type { PythonSetup } from './python.js';
import { type TorchResult, torchBest } from './torch.js';

export const MODEL_A_SIZES = [784, 300, 100, 50, 50, 50, 8];

/** A warmstart-vs-PyTorch row of model A. */
export interface ModelARow {
  name: string;
  /** The Keras optimizer config warmstart ran, and PyTorch's equivalent. */
  keras: { className: string; config: KerasConfig };
  torchOptimizer: Record<string, unknown>;
  warmstartSeconds: number;
  warmstartRuns: number[];
  /** The timed fit call's start-up before its first epoch (its once-per-call input checks), seconds. */
  fitStartSeconds?: number;
  /** The same on one thread (headline only). */
  oneThread?: { seconds: number; runs: number[]; predictImagesPerSecond?: number };
  predictImagesPerSecond?: number;
  heapMiB?: number[];
  rssMiB?: number[];
  torch: TorchResult[];
  torchBest: TorchResult | null;
  /** PyTorch's best time / warmstart's. */
  speedup: number | null;
}

/** The per-optimizer table's optimizers: the notebook's seven (its hyperparameters) and Nadam. */
export function optimizerContenders(): {
  name: string;
  keras: { className: string; config: KerasConfig };
  torch: Record<string, unknown>;
}[] {
  const torchOf = (family: string, c: KerasConfig): Record<string, unknown> => {
    const lr = c.learning_rate as number;
    switch (family) {
      case 'sgd':
        return { name: 'sgd', lr };
      case 'momentum':
        return { name: 'momentum', lr, momentum: c.momentum };
      case 'nesterov':
        return { name: 'nesterov', lr, momentum: c.momentum, nesterov: true };
      case 'adagrad':
        return { name: 'adagrad', lr, initial_accumulator: c.initial_accumulator_value ?? 0.1 };
      case 'rmsprop':
        return { name: 'rmsprop', lr, rho: c.rho ?? 0.9 };
      case 'adadelta':
        return { name: 'adadelta', lr, rho: c.rho ?? 0.95 };
      default:
        return { name: family, lr, beta1: c.beta_1 ?? 0.9, beta2: c.beta_2 ?? 0.999 };
    }
  };
  const seeds = SEED_CONTENDERS.map((c) => ({
    name: c.label,
    keras: { className: c.className, config: c.config },
    torch: torchOf(c.family, c.config),
  }));
  const order = ['SGD', 'Momentum', 'Nesterov', 'Adagrad', 'RMSprop', 'Adadelta', 'Adam'];
  seeds.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const nadam = { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999 };
  return [
    ...seeds,
    { name: 'Nadam', keras: { className: 'Nadam', config: nadam }, torch: torchOf('nadam', nadam) },
  ];
}

async function row(
  kernels: Kernels,
  python: PythonSetup | null,
  data: BenchData,
  name: string,
  keras: { className: string; config: KerasConfig },
  torchOptimizer: Record<string, unknown>,
  epochs: number,
  torchEpochs: number,
  withPredict: boolean,
): Promise<ModelARow> {
  const run = await timeFit(kernels, {
    sizes: MODEL_A_SIZES,
    activation: 'selu',
    batch: 32,
    optimizer: () => deserializeOptimizer({ class_name: keras.className, config: keras.config }),
    epochs,
    warmupSteps: 50,
    train: data.train,
    validation: data.validation,
    predict: withPredict ? data.predict : undefined,
  });
  const warmstartSeconds = median(run.epochSeconds);
  let torch: { results: TorchResult[]; best: TorchResult | null } = { results: [], best: null };
  if (python?.hasTorch) {
    torch = await torchBest(
      python,
      {
        sizes: MODEL_A_SIZES,
        activation: 'selu',
        batch: 32,
        epochs: torchEpochs,
        warmupSteps: 50,
        optimizer: torchOptimizer,
        data: { kind: 'files', train: data.files.train, valid: data.files.valid },
        predict: withPredict ? [data.files.predict[0], data.files.predict[2]] : undefined,
      },
      [1, 2],
    );
  }
  return {
    name,
    keras,
    torchOptimizer,
    warmstartSeconds,
    warmstartRuns: run.epochSeconds,
    fitStartSeconds: run.startSeconds,
    predictImagesPerSecond: run.predictImagesPerSecond,
    heapMiB: withPredict ? run.heapMiB : undefined,
    rssMiB: withPredict ? run.rssMiB : undefined,
    torch: torch.results,
    torchBest: torch.best,
    speedup: torch.best?.epochSeconds ? torch.best.epochSeconds / warmstartSeconds : null,
  };
}

/** The headline row: SGD 1e-3, predict included; also on `oneThread` kernels when given. */
export async function headline(
  kernels: Kernels,
  oneThread: Kernels | null,
  python: PythonSetup | null,
  data: BenchData,
  quick: boolean,
): Promise<ModelARow> {
  const config = { learning_rate: 1e-3 };
  const result = await row(
    kernels,
    python,
    data,
    'SGD 1e-3',
    { className: 'SGD', config },
    { name: 'sgd', lr: 1e-3 },
    quick ? 2 : 7,
    quick ? 1 : 3,
    true,
  );
  if (oneThread !== null) {
    const one = await timeFit(oneThread, {
      sizes: MODEL_A_SIZES,
      activation: 'selu',
      batch: 32,
      optimizer: () => new SGD({ learningRate: 1e-3 }),
      epochs: quick ? 2 : 5,
      warmupSteps: 50,
      train: data.train,
      validation: data.validation,
      predict: data.predict,
    });
    result.oneThread = {
      seconds: median(one.epochSeconds),
      runs: one.epochSeconds,
      predictImagesPerSecond: one.predictImagesPerSecond,
    };
  }
  return result;
}

/** The per-optimizer table. */
export async function optimizerTable(
  kernels: Kernels,
  python: PythonSetup | null,
  data: BenchData,
  quick: boolean,
  progress: (line: string) => void,
  rounds = quick ? 1 : 3,
): Promise<ModelARow[]> {
  // A quick run checks the path with two optimizers, not the table.
  const contenders = optimizerContenders().filter((c) => !quick || c.name === 'SGD' || c.name === 'Adam');
  // Round-robin: every optimizer once per round (2 epochs in one fit call, then PyTorch's epoch on 1 and 2
  // threads), so that a slow minute of the shared machine spreads over the rows instead of landing on one;
  // each row is the median of its epochs over the rounds (PyTorch: per thread count, then the faster one).
  const runs = contenders.map(() => [] as ModelARow[]);
  for (let round = 0; round < rounds; round++) {
    for (const [index, contender] of contenders.entries()) {
      progress(`  ${contender.name}, round ${round + 1}/${rounds}…`);
      runs[index].push(
        await row(
          kernels,
          python,
          data,
          contender.name,
          contender.keras,
          contender.torch,
          quick ? 1 : 2,
          1,
          false,
        ),
      );
    }
  }
  return contenders.map((contender, index) => {
    const pooled = runs[index].flatMap((r) => r.warmstartRuns);
    const warmstartSeconds = median(pooled);
    const torch = [...new Set(runs[index].flatMap((r) => r.torch.map((t) => t.threads)))].map((threads) => {
      const results = runs[index].flatMap((r) => r.torch.filter((t) => t.threads === threads));
      const epochs = results.flatMap((t) => (t.epochSeconds === null ? [] : [t.epochSeconds]));
      const failed = results.find((t) => t.error !== undefined);
      return epochs.length === 0
        ? { threads, epochSeconds: null, error: failed?.error ?? 'failed' }
        : { threads, epochSeconds: median(epochs), runs: epochs };
    });
    const ran = torch.filter((t) => t.epochSeconds !== null);
    const torchBest =
      ran.length === 0 ? null : ran.reduce((a, b) => (b.epochSeconds! < a.epochSeconds! ? b : a));
    const result: ModelARow = {
      ...runs[index][0],
      warmstartSeconds,
      warmstartRuns: pooled,
      fitStartSeconds: median(
        runs[index].flatMap((r) => (r.fitStartSeconds === undefined ? [] : [r.fitStartSeconds])),
      ),
      torch,
      torchBest,
      speedup: torchBest?.epochSeconds ? torchBest.epochSeconds / warmstartSeconds : null,
    };
    progress(
      `  ${contender.name}: warmstart ${warmstartSeconds.toFixed(3)} s, PyTorch ${torchBest?.epochSeconds?.toFixed(3) ?? '—'} s` +
        `${result.speedup === null ? '' : ` (${result.speedup.toFixed(2)}×)`}`,
    );
    return result;
  });
}
