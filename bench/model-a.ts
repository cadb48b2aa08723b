/**
 * Workload W_A: one epoch of "model A" (Flatten 28×28 → Dense 300/100/50/50/50 selu → Dense 8 softmax,
 * sparse categorical cross-entropy fused with the softmax, SGD lr 1e-3, batch 32) composed directly from
 * kernel calls, the way a model's fit loop drives the kernels: gather a batch, forward, fused loss,
 * backward, one SGD step per parameter, accuracy count; then evaluation on the validation images.
 * @module
 */

import type { ActivationName, Kernels } from '../src/kernels/kernels.js';

/** Layer widths of model A, input first. */
export const MODEL_A_SIZES = [784, 300, 100, 50, 50, 50, 8];
/** Batch size of W_A. */
export const BATCH = 32;

/** Images and integer labels (as floats), row-major, in ordinary JS memory like user data. */
export interface Dataset {
  x: Float32Array;
  y: Float32Array;
  count: number;
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

/**
 * Random "images": pixels in [0, 1) with ~80 % zeros like MNIST-style digits (or none when `dense`, to
 * measure without the kernels' zero-skipping), labels in 0..7.
 */
export function randomDataset(count: number, seed: number, dense = false): Dataset {
  const random = rng(seed);
  const x = new Float32Array(count * 784);
  for (let i = 0; i < x.length; i++) {
    const r = random();
    x[i] = dense ? r : r < 0.8 ? 0 : (r - 0.8) * 5;
  }
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) y[i] = Math.floor(random() * 8);
  return { x, y, count };
}

/** Model A's parameters and per-batch work buffers, all allocated by the backend. */
export class ModelA {
  readonly weights: Float32Array[] = [];
  readonly biases: Float32Array[] = [];
  private readonly zs: Float32Array[] = [];
  private readonly ys: Float32Array[] = [];
  private readonly dws: Float32Array[] = [];
  private readonly dbs: Float32Array[] = [];
  private readonly deltas: Float32Array[] = [];
  private readonly input: Float32Array;
  private readonly labels: Float32Array;
  private readonly dLogits: Float32Array;
  private readonly layers = MODEL_A_SIZES.length - 1;

  constructor(
    readonly kernels: Kernels,
    seed = 1,
    readonly batch = BATCH,
  ) {
    const random = rng(seed);
    const sizes = MODEL_A_SIZES;
    for (let l = 0; l < this.layers; l++) {
      // LeCun-uniform, what selu wants (the exact initialiser does not matter for timing).
      const w = kernels.alloc(sizes[l] * sizes[l + 1]);
      const limit = Math.sqrt(3 / sizes[l]);
      for (let i = 0; i < w.length; i++) w[i] = (random() * 2 - 1) * limit;
      this.weights.push(w);
      this.biases.push(kernels.alloc(sizes[l + 1]));
      this.zs.push(kernels.alloc(batch * sizes[l + 1]));
      this.ys.push(kernels.alloc(batch * sizes[l + 1]));
      this.dws.push(kernels.alloc(sizes[l] * sizes[l + 1]));
      this.dbs.push(kernels.alloc(sizes[l + 1]));
      this.deltas.push(kernels.alloc(batch * sizes[l + 1]));
    }
    this.input = kernels.alloc(batch * sizes[0]);
    this.labels = kernels.alloc(batch);
    this.dLogits = this.deltas[this.layers - 1];
  }

  private forward(m: number): Float32Array {
    const k = this.kernels;
    const sizes = MODEL_A_SIZES;
    let x = this.input;
    for (let l = 0; l < this.layers; l++) {
      const act: ActivationName = l === this.layers - 1 ? 'softmax' : 'selu';
      k.denseForward(
        x,
        this.weights[l],
        this.biases[l],
        this.zs[l],
        this.ys[l],
        m,
        sizes[l],
        sizes[l + 1],
        act,
      );
      x = this.ys[l];
    }
    return x;
  }

  /** Loads rows `order[start .. start+m)` of the data into the input and label buffers. */
  private load(data: Dataset, order: Int32Array, start: number, m: number): void {
    this.kernels.gatherRows(data.x, order, start, m, 784, this.input);
    this.kernels.gatherRows(data.y, order, start, m, 1, this.labels);
  }

  /** One training step on `m` rows; returns [loss sum, correct count]. */
  trainStep(
    data: Dataset,
    order: Int32Array,
    start: number,
    m: number,
    learningRate: number,
  ): [number, number] {
    const k = this.kernels;
    const sizes = MODEL_A_SIZES;
    this.load(data, order, start, m);
    const probabilities = this.forward(m);
    const n = sizes[this.layers];
    const loss = k.loss(
      'sparse_categorical_crossentropy',
      probabilities,
      this.labels,
      this.dLogits,
      m,
      n,
      true,
    );
    const correct = k.countCorrect('sparse_categorical_accuracy', probabilities, this.labels, m, n);
    for (let l = this.layers - 1; l >= 0; l--) {
      const x = l === 0 ? this.input : this.ys[l - 1];
      k.denseBackwardWeights(x, this.deltas[l], this.dws[l], this.dbs[l], m, sizes[l], sizes[l + 1]);
      if (l > 0) {
        // The input layer's dx is never needed: skipping it saves a 32×300×784 product per step.
        k.denseBackwardInput(this.deltas[l], this.weights[l], this.deltas[l - 1], m, sizes[l], sizes[l + 1]);
        k.activationBackward(
          'selu',
          this.zs[l - 1],
          this.ys[l - 1],
          this.deltas[l - 1],
          this.deltas[l - 1],
          m,
          sizes[l],
        );
      }
    }
    const step = { learningRate, momentum: 0, nesterov: false };
    for (let l = 0; l < this.layers; l++) {
      k.sgdUpdate(this.weights[l], this.dws[l], null, step);
      k.sgdUpdate(this.biases[l], this.dbs[l], null, step);
    }
    return [loss, correct];
  }

  /** Loss sum and correct count of the model on `data` (batches of this model's batch size). */
  evaluate(data: Dataset): [number, number] {
    const order = new Int32Array(data.count).map((_, i) => i);
    let loss = 0;
    let correct = 0;
    const n = MODEL_A_SIZES[this.layers];
    for (let start = 0; start < data.count; start += this.batch) {
      const m = Math.min(this.batch, data.count - start);
      this.load(data, order, start, m);
      const p = this.forward(m);
      loss += this.kernels.loss('sparse_categorical_crossentropy', p, this.labels, null, m, n, true);
      correct += this.kernels.countCorrect('sparse_categorical_accuracy', p, this.labels, m, n);
    }
    return [loss, correct];
  }

  /** Class probabilities for `count` rows of `x` (predict), batch by batch into `out` (count×8). */
  predict(x: Float32Array, count: number, out: Float32Array): void {
    const order = new Int32Array(count).map((_, i) => i);
    const n = MODEL_A_SIZES[this.layers];
    for (let start = 0; start < count; start += this.batch) {
      const m = Math.min(this.batch, count - start);
      this.kernels.gatherRows(x, order, start, m, 784, this.input);
      const p = this.forward(m);
      out.set(p.subarray(0, m * n), start * n);
    }
  }

  /** Returns every buffer to the backend. */
  dispose(): void {
    for (const list of [this.weights, this.biases, this.zs, this.ys, this.dws, this.dbs, this.deltas]) {
      for (const a of list) this.kernels.free(a);
    }
    this.kernels.free(this.input);
    this.kernels.free(this.labels);
  }
}

/** Timing of one epoch (or of a slice of one, extrapolated). */
export interface EpochResult {
  /** Seconds for the whole epoch: measured, or extrapolated from `stepsTimed` steps. */
  seconds: number;
  trainSeconds: number;
  evalSeconds: number;
  stepsTimed: number;
  stepsPerEpoch: number;
  extrapolated: boolean;
  meanLoss: number;
}

/**
 * Trains one epoch (or only `maxSteps` steps and `maxSteps`-proportional evaluation, extrapolated) in a
 * shuffled order, then evaluates; returns the timings.
 */
export function runEpoch(
  model: ModelA,
  train: Dataset,
  validation: Dataset,
  maxSteps = Infinity,
): EpochResult {
  const random = rng(99);
  const order = new Int32Array(train.count).map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const stepsPerEpoch = Math.ceil(train.count / model.batch);
  const steps = Math.min(stepsPerEpoch, maxSteps);
  let loss = 0;
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const start = s * model.batch;
    loss += model.trainStep(train, order, start, Math.min(model.batch, train.count - start), 1e-3)[0];
  }
  const t1 = performance.now();
  const fraction = steps / stepsPerEpoch;
  const evalCount =
    fraction === 1 ? validation.count : Math.max(model.batch, Math.round(validation.count * fraction));
  model.evaluate({ x: validation.x, y: validation.y, count: evalCount });
  const t2 = performance.now();
  const trainSeconds = (t1 - t0) / 1000 / fraction;
  const evalSeconds = ((t2 - t1) / 1000) * (validation.count / evalCount);
  return {
    seconds: trainSeconds + evalSeconds,
    trainSeconds,
    evalSeconds,
    stepsTimed: steps,
    stepsPerEpoch,
    extrapolated: fraction < 1,
    meanLoss: loss / (steps * model.batch),
  };
}
