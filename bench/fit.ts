/**
 * Epochs through the public API: `Sequential.fit` on a dense network (Flatten, Dense hidden layers, Dense
 * softmax head, sparse categorical cross-entropy fused with the softmax, accuracy), one `fit` call per
 * timed epoch. What a user's training run costs, framework overhead included. Also the heap and RSS after
 * every epoch.
 * @module
 */
import type { ActivationName, Kernels } from '../src/kernels/kernels.js';
import { setKernels } from '../src/kernels/index.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Callback } from '../src/models/callbacks.js';
import { Sequential } from '../src/models/sequential.js';
import type { Optimizer } from '../src/optimizers/optimizer.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

/** Images (count × 784 floats) and integer labels (as floats), in ordinary JS memory like user data. */
export interface Dataset {
  x: Float32Array;
  y: Float32Array;
  count: number;
}

/** What to train. */
export interface FitSpec {
  /** Layer widths, input (784) first, classes last. */
  sizes: number[];
  /** Activation of the hidden layers. */
  activation: ActivationName;
  batch: number;
  optimizer: () => Optimizer;
  /** Timed epochs (after a warm-up `fit` on `warmupSteps` batches). */
  epochs: number;
  warmupSteps: number;
  train: Dataset;
  validation?: Dataset;
  /** Images to run `predict` on after the epochs (batch 32, best of 3). */
  predict?: Dataset;
}

/** Per-epoch wall time and memory of `fit`. */
export interface FitRun {
  /** Each timed epoch, `onEpochBegin` to `onEpochEnd` (its batches and its validation) within one `fit` call. */
  epochSeconds: number[];
  /**
   * The timed `fit` call's start-up, before its first epoch: the checks of every input and target value
   * (NaN, ±Infinity, labels in range), done once per call, and the plan's reuse check.
   */
  startSeconds: number;
  heapMiB: number[];
  rssMiB: number[];
  predictImagesPerSecond?: number;
}

function tensors(data: Dataset): [Tensor, Tensor] {
  return [new Tensor(data.x, [data.count, 28, 28]), new Tensor(data.y, [data.count])];
}

/** Trains the spec's network with `fit` on `kernels`; frees its layers after. */
export async function timeFit(kernels: Kernels, spec: FitSpec): Promise<FitRun> {
  setKernels(kernels);
  setRandomSeed(42);
  const model = new Sequential([new Flatten({ inputShape: [28, 28] })]);
  const sizes = spec.sizes;
  for (const units of sizes.slice(1, -1)) {
    model.add(new Dense({ units, activation: spec.activation, kernelInitializer: 'lecun_normal' }));
  }
  model.add(new Dense({ units: sizes[sizes.length - 1], activation: 'softmax' }));
  model.compile({
    optimizer: spec.optimizer(),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  const [x, y] = tensors(spec.train);
  const validationData = spec.validation === undefined ? undefined : tensors(spec.validation);
  const warmup = Math.min(spec.train.count, spec.warmupSteps * spec.batch);
  if (warmup > 0) {
    await model.fit(x.slice(0, warmup), y.slice(0, warmup), { epochs: 1, batchSize: spec.batch, verbose: 0 });
  }
  const run: FitRun = { epochSeconds: [], startSeconds: 0, heapMiB: [], rssMiB: [] };
  const mib = (bytes: number): number => bytes / 1048576;
  // The epochs of one fit call, as a notebook trains (and as PyTorch's loop in torch_fit.py is timed): each
  // from its onEpochBegin to its onEpochEnd, which follows the epoch's validation.
  const called = performance.now();
  let began = called;
  const timer = new (class extends Callback {
    override onEpochBegin(epoch: number): void {
      began = performance.now();
      if (epoch === 0) run.startSeconds = (began - called) / 1000;
    }
    override onEpochEnd(): void {
      run.epochSeconds.push((performance.now() - began) / 1000);
      const memory = process.memoryUsage();
      run.heapMiB.push(mib(memory.heapUsed));
      run.rssMiB.push(mib(memory.rss));
    }
  })();
  await model.fit(x, y, {
    epochs: spec.epochs,
    batchSize: spec.batch,
    verbose: 0,
    validationData,
    callbacks: [timer],
  });
  if (spec.predict !== undefined) {
    const [px] = tensors(spec.predict);
    model.predict(px.slice(0, 2000), { batchSize: 32 });
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const started = performance.now();
      model.predict(px, { batchSize: 32 });
      best = Math.min(best, performance.now() - started);
    }
    run.predictImagesPerSecond = spec.predict.count / (best / 1000);
  }
  for (const layer of model.layers) layer.dispose();
  return run;
}

/** Deterministic generator (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` random images with about `zeros` of their pixels 0 (the rest uniform in (0, 1)), labels in 0..classes−1. */
export function randomImages(count: number, zeros: number, classes: number, seed: number): Dataset {
  const random = rng(seed);
  const x = new Float32Array(count * 784);
  for (let i = 0; i < x.length; i++) {
    const r = random();
    x[i] = r < zeros ? 0 : (r - zeros) / (1 - zeros);
  }
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) y[i] = Math.floor(random() * classes);
  return { x, y, count };
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
