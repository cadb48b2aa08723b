/**
 * W_A through the public API: `Sequential.fit` on model A, one epoch after another, with the validation split
 * evaluated each epoch — what a user's training run costs, framework overhead included. Also records heap and
 * RSS after every epoch, to show that a training step allocates nothing that accumulates.
 * @module
 */
import type { Kernels } from '../src/kernels/kernels.js';
import { setKernels } from '../src/kernels/index.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { Dataset } from './model-a.js';

/** Per-epoch wall time and memory of `fit`. */
export interface FitRun {
  epochSeconds: number[];
  heapMiB: number[];
  rssMiB: number[];
}

/** Trains model A with `fit` for `epochs` epochs on `kernels`, one `fit` call per epoch so each is timed. */
export async function fitEpochs(
  kernels: Kernels,
  train: Dataset,
  validation: Dataset,
  epochs: number,
): Promise<FitRun> {
  setKernels(kernels);
  setRandomSeed(42);
  const model = new Sequential([new Flatten({ inputShape: [28, 28] })]);
  for (const units of [300, 100, 50, 50, 50]) {
    model.add(new Dense({ units, activation: 'selu', kernelInitializer: 'lecun_normal' }));
  }
  model.add(new Dense({ units: 8, activation: 'softmax' }));
  model.compile({
    optimizer: new SGD({ learningRate: 1e-3 }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  const x = new Tensor(train.x, [train.count, 28, 28]);
  const y = new Tensor(train.y, [train.count]);
  const validationData = [
    new Tensor(validation.x, [validation.count, 28, 28]),
    new Tensor(validation.y, [validation.count]),
  ] as const;
  const run: FitRun = { epochSeconds: [], heapMiB: [], rssMiB: [] };
  const mib = (bytes: number): number => bytes / 1048576;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const started = performance.now();
    await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0, validationData });
    run.epochSeconds.push((performance.now() - started) / 1000);
    const memory = process.memoryUsage();
    run.heapMiB.push(mib(memory.heapUsed));
    run.rssMiB.push(mib(memory.rss));
  }
  return run;
}
