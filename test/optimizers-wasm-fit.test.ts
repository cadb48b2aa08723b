/**
 * Every optimizer and option through 3 epochs of `fit` on the wasm backend, against:
 *
 * - the same wasm backend with every optimizer step run by the reference loops instead (the kernels of
 *   assembly/optimizers.ts replaced, everything else the same): histories and final weights BIT-IDENTICAL,
 *   since those kernels reproduce the reference's float32 arithmetic exactly;
 * - the same run with 2 threads (the helper thread forced to take part): bit-identical;
 * - the reference backend: within a stated tolerance, because the products and activations of the two
 *   backends round differently (summation order, FMA, polynomial exponentials), and training amplifies that.
 *
 * The network (784 → 64 selu → 4 softmax) is wide enough that its kernel matrix (50,176 elements) is split
 * over the two threads by every optimizer kernel, and its bias is not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { Kernels } from '../src/kernels/kernels.js';
import { setKernels } from '../src/kernels/index.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Sequential } from '../src/models/sequential.js';
import {
  Adadelta,
  Adagrad,
  Adam,
  Adamax,
  AdamW,
  Ftrl,
  Lion,
  Nadam,
  type Optimizer,
  RMSprop,
  SGD,
} from '../src/optimizers/index.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

/** Every optimizer, each variant, and each option of the base class. */
const CONFIGS: ReadonlyArray<readonly [string, () => Optimizer]> = [
  ['SGD', () => new SGD({ learningRate: 0.05 })],
  ['SGD momentum', () => new SGD({ learningRate: 0.02, momentum: 0.9 })],
  ['SGD nesterov', () => new SGD({ learningRate: 0.02, momentum: 0.9, nesterov: true })],
  ['RMSprop', () => new RMSprop({ learningRate: 0.001 })],
  ['RMSprop centered momentum', () => new RMSprop({ learningRate: 0.001, centered: true, momentum: 0.5 })],
  ['RMSprop momentum', () => new RMSprop({ learningRate: 0.001, momentum: 0.5 })],
  ['RMSprop centered', () => new RMSprop({ learningRate: 0.001, centered: true })],
  ['Adam', () => new Adam({ learningRate: 0.002 })],
  ['Adam amsgrad', () => new Adam({ learningRate: 0.002, amsgrad: true })],
  ['AdamW', () => new AdamW({ learningRate: 0.002, weightDecay: 0.05 })],
  ['Adamax', () => new Adamax({ learningRate: 0.002 })],
  ['Nadam', () => new Nadam({ learningRate: 0.002 })],
  ['Adadelta', () => new Adadelta({ learningRate: 1.0, rho: 0.95 })],
  ['Adagrad', () => new Adagrad({ learningRate: 0.02 })],
  ['Lion', () => new Lion({ learningRate: 0.0003 })],
  ['Ftrl', () => new Ftrl({ learningRate: 0.05 })],
  [
    'Ftrl regularized, power −0.3',
    () =>
      new Ftrl({
        learningRate: 0.05,
        learningRatePower: -0.3,
        l1RegularizationStrength: 0.001,
        l2RegularizationStrength: 0.01,
        l2ShrinkageRegularizationStrength: 0.01,
        beta: 0.1,
      }),
  ],
  ['SGD clipnorm', () => new SGD({ learningRate: 0.05, clipnorm: 0.5 })],
  ['Adam clipvalue', () => new Adam({ learningRate: 0.002, clipvalue: 0.002 })],
  ['Nadam globalClipnorm', () => new Nadam({ learningRate: 0.002, globalClipnorm: 0.5 })],
  ['SGD momentum weightDecay', () => new SGD({ learningRate: 0.02, momentum: 0.9, weightDecay: 0.1 })],
  ['Adam useEma', () => new Adam({ learningRate: 0.002, useEma: true, emaOverwriteFrequency: 4 })],
  [
    'RMSprop gradientAccumulationSteps',
    () => new RMSprop({ learningRate: 0.002, gradientAccumulationSteps: 3 }),
  ],
];

/** The Kernels methods of the optimizer step that assembly/optimizers.ts implements. */
const OPTIMIZER_METHODS = [
  'sgdUpdate',
  'fill',
  'clipByValue',
  'accumulateGradient',
  'emaUpdate',
  'scale',
  'rmspropUpdate',
  'adamUpdate',
  'adadeltaUpdate',
  'adagradUpdate',
  'adamaxUpdate',
  'nadamUpdate',
  'lionUpdate',
  'ftrlUpdate',
] as const;

/**
 * Tolerances between the backends after 3 epochs (18 steps): relative, on each epoch's loss; absolute, on
 * every weight. The two backends' forward and backward passes round differently (~1e-7 relative per
 * operation), and the updates carry that over: the worst seen among these configurations is 1.5e-7 (loss,
 * Nadam with globalClipnorm) and 1.9e-6 (weights, Nadam), so the bounds leave a factor 10 for other
 * engines and machines, while a wrong update rule or a mixed-up slot moves them by 1e-3 or more.
 * Accuracies may differ by one sample per epoch (a prediction at a tie).
 */
const LOSS_TOLERANCE = 1e-5;
const WEIGHT_TOLERANCE = 2e-5;

// Mostly-zero images with a learnable rule (like backends-fit.test.ts), 192 samples: 6 steps per epoch.
const samples = 192;
const random = new RandomGenerator(11);
const images = new Float32Array(samples * 784);
const labels = new Float32Array(samples);
for (let i = 0; i < samples; i++) {
  for (let j = 0; j < 784; j++) images[i * 784 + j] = random.uniform() < 0.5 ? 0 : random.uniform();
  let left = 0;
  for (let j = 0; j < 392; j++) left += images[i * 784 + j];
  labels[i] = (left > 98 ? 2 : 0) + (images[i * 784 + 400] > 0.5 ? 1 : 0);
}

interface Run {
  history: Record<string, number[]>;
  weights: Float32Array[];
}

/** 3 epochs of `fit` of the seeded network with a fresh optimizer from `make`, on `kernels`. */
async function train(kernels: Kernels, make: () => Optimizer): Promise<Run> {
  setKernels(kernels);
  setRandomSeed(7);
  // Inputs in the backend's memory, so that every kernel call of the run can be counted.
  const x = kernels.alloc(images.length);
  x.set(images);
  const model = new Sequential([
    new Flatten({ inputShape: [28, 28] }),
    new Dense({ units: 64, activation: 'selu', kernelInitializer: 'lecun_normal' }),
    new Dense({ units: 4, activation: 'softmax' }),
  ]);
  model.compile({ optimizer: make(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const history = await model.fit(new Tensor(x, [samples, 28, 28]), new Tensor(labels, [samples]), {
    epochs: 3,
    batchSize: 32,
    verbose: 0,
    shuffle: true,
  });
  const weights = model.getWeights().map((w) => w.data.slice());
  for (const layer of model.layers) layer.dispose();
  kernels.free(x);
  return { history: history.history, weights };
}

/** Runs `work` with the optimizer step of `kernels` done by the reference loops. */
async function withReferenceOptimizers<T>(kernels: WasmKernels, work: () => Promise<T>): Promise<T> {
  const own = kernels as unknown as Record<string, unknown>;
  const reference = ReferenceKernels.prototype as unknown as Record<string, unknown>;
  for (const name of OPTIMIZER_METHODS) own[name] = reference[name];
  try {
    return await work();
  } finally {
    for (const name of OPTIMIZER_METHODS) delete own[name];
  }
}

function assertSameRun(actual: Run, expected: Run, what: string): void {
  assert.deepEqual(actual.history, expected.history, `${what}: histories`);
  actual.weights.forEach((weights, i) => {
    const j = weights.findIndex((v, k) => !Object.is(v, expected.weights[i][k]));
    assert.equal(j, -1, `${what}: weight ${i}, element ${j}: ${weights[j]} vs ${expected.weights[i][j]}`);
  });
}

let wasmOne: WasmKernels;
let wasmTwo: WasmKernels;
before(async () => {
  wasmOne = await createWasmKernels({ threads: 1 });
  wasmTwo = await createWasmKernels({ threads: 2, mainChunkLimit: 1 });
});
after(async () => {
  await wasmOne.dispose();
  await wasmTwo.dispose();
  setKernels(new ReferenceKernels());
});

describe('fit with every optimizer: wasm kernels against the reference loops', () => {
  for (const [name, make] of CONFIGS) {
    test(name, async () => {
      const fallbacks = wasmOne.stats.fallbacks;
      const one = await train(wasmOne, make);
      assert.equal(wasmOne.stats.fallbacks, fallbacks, 'every kernel call of the run ran in wasm');
      assert.ok(
        one.history.loss.every(Number.isFinite) && one.history.loss[2] < one.history.loss[0],
        `${name}: the run must learn (loss ${one.history.loss.join(', ')})`,
      );

      // Same backend, optimizer steps by the reference loops: bit for bit.
      const referenceSteps = await withReferenceOptimizers(wasmOne, () => train(wasmOne, make));
      assertSameRun(one, referenceSteps, `${name}, wasm optimizer kernels vs reference loops`);

      // Two threads, the helper thread taking part in every split task: bit for bit.
      const shared = wasmTwo.threadStats!.shared;
      const two = await train(wasmTwo, make);
      assert.ok(wasmTwo.threadStats!.shared > shared, 'the helper thread took part');
      assertSameRun(two, one, `${name}, 2 threads vs 1`);

      // The reference backend: close, not identical (its products round differently).
      const reference = await train(new ReferenceKernels(), make);
      for (const key of ['loss', 'accuracy']) {
        reference.history[key].forEach((expected, epoch) => {
          const actual = one.history[key][epoch];
          const bound = key === 'loss' ? LOSS_TOLERANCE * Math.abs(expected) : 1 / samples + 1e-9;
          assert.ok(
            Math.abs(actual - expected) <= bound,
            `${name}, ${key} epoch ${epoch + 1}: wasm ${actual}, reference ${expected}`,
          );
        });
      }
      let worstWeight = 0;
      reference.weights.forEach((weights, i) => {
        let worst = 0;
        weights.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - one.weights[i][k]))));
        assert.ok(worst <= WEIGHT_TOLERANCE, `${name}, weight ${i}: worst difference ${worst}`);
        worstWeight = Math.max(worstWeight, worst);
      });
      if (process.env['WARMSTART_VERBOSE']) {
        const lossError = Math.max(
          ...reference.history.loss.map((v, e) => Math.abs(v - one.history.loss[e]) / Math.abs(v)),
        );
        console.log(`${name}: loss ${lossError.toExponential(2)}, weights ${worstWeight.toExponential(2)}`);
      }
    });
  }
});
