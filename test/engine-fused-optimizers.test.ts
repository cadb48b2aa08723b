// Every optimizer inside the fused step (one call into wasm per batch, the optimizer's recorded kernel calls
// applied in the backward pass): fit's histories and weights equal the layer-by-layer path's bit for bit, on
// 1, 2, 3 and 4 threads, with Dropout drawing from fit's seeded generator, and across a mid-epoch resume.
// Needs `npm run build:wasm`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { setKernels } from '../src/kernels/index.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import { Flatten } from '../src/layers/flatten.js';
import { Callback } from '../src/models/callbacks.js';
import { updatesInsideFusedStep } from '../src/models/fusedStep.js';
import { Sequential } from '../src/models/sequential.js';
import { Adadelta } from '../src/optimizers/adadelta.js';
import { Adagrad } from '../src/optimizers/adagrad.js';
import { Adam } from '../src/optimizers/adam.js';
import { Adamax } from '../src/optimizers/adamax.js';
import { AdamW } from '../src/optimizers/adamw.js';
import { Ftrl } from '../src/optimizers/ftrl.js';
import { Lion } from '../src/optimizers/lion.js';
import { Nadam } from '../src/optimizers/nadam.js';
import type { Optimizer } from '../src/optimizers/optimizer.js';
import { RMSprop } from '../src/optimizers/rmsprop.js';
import { SGD } from '../src/optimizers/sgd.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

const SAMPLES = 200;
const random = new RandomGenerator(5);
const images = new Float32Array(SAMPLES * 300);
for (let i = 0; i < images.length; i++) images[i] = random.uniform() < 0.4 ? 0 : random.uniform();
const labels = Float32Array.from(
  { length: SAMPLES },
  (_, i) => (images[i * 300 + 7] > 0.5 ? 1 : 0) + (i % 3),
);
const x = new Tensor(images, [SAMPLES, 20, 15]);
const y = new Tensor(labels, [SAMPLES]);

/** Optimizer configurations; `inside` says whether the fused step applies their updates itself. */
const optimizers: { name: string; make: () => Optimizer; inside: boolean }[] = [
  { name: 'sgd', make: () => new SGD({ learningRate: 0.05 }), inside: true },
  {
    name: 'sgd nesterov',
    make: () => new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true }),
    inside: true,
  },
  {
    name: 'sgd clipvalue',
    make: () => new SGD({ learningRate: 0.05, momentum: 0.5, clipvalue: 0.01 }),
    inside: true,
  },
  {
    name: 'sgd accumulation',
    make: () => new SGD({ learningRate: 0.05, gradientAccumulationSteps: 3 }),
    inside: true,
  },
  { name: 'adam', make: () => new Adam({ learningRate: 0.003 }), inside: true },
  {
    name: 'adam amsgrad ema',
    make: () => new Adam({ learningRate: 0.003, amsgrad: true, useEma: true }),
    inside: true,
  },
  { name: 'adamw', make: () => new AdamW({ learningRate: 0.003, weightDecay: 0.05 }), inside: true },
  {
    name: 'rmsprop centered momentum',
    make: () => new RMSprop({ learningRate: 0.002, centered: true, momentum: 0.5 }),
    inside: true,
  },
  {
    name: 'rmsprop weight decay',
    make: () => new RMSprop({ learningRate: 0.002, weightDecay: 0.01 }),
    inside: true,
  },
  { name: 'nadam', make: () => new Nadam({ learningRate: 0.003 }), inside: true },
  { name: 'adagrad', make: () => new Adagrad({ learningRate: 0.05 }), inside: true },
  { name: 'adadelta', make: () => new Adadelta({ learningRate: 1 }), inside: true },
  { name: 'adamax', make: () => new Adamax({ learningRate: 0.003 }), inside: true },
  { name: 'lion', make: () => new Lion({ learningRate: 0.0005 }), inside: true },
  {
    name: 'ftrl',
    make: () =>
      new Ftrl({
        learningRate: 0.05,
        l1RegularizationStrength: 0.001,
        l2ShrinkageRegularizationStrength: 0.01,
      }),
    inside: true,
  },
  // After the step (the norms need whole gradients; the overwrite is a copy outside the kernels).
  { name: 'adam clipnorm', make: () => new Adam({ learningRate: 0.003, clipnorm: 0.05 }), inside: false },
  {
    name: 'sgd global clipnorm',
    make: () => new SGD({ learningRate: 0.05, globalClipnorm: 0.1 }),
    inside: false,
  },
  {
    name: 'adam ema overwrite',
    make: () => new Adam({ learningRate: 0.003, useEma: true, emaOverwriteFrequency: 4 }),
    inside: false,
  },
];

interface Run {
  history: Record<string, number[]>;
  weights: Float32Array[];
  /** Steps whose recorded optimizer calls were replayed after the fused step instead of applied inside it. */
  replays: number;
  /** Steps whose optimizer calls were recorded (to be applied inside the step). */
  captures: number;
}

function model(optimizer: Optimizer, fused: boolean): Sequential {
  setRandomSeed(3);
  const m = new Sequential([
    new Flatten({ inputShape: [20, 15] }),
    new Dense({ units: 40, activation: 'relu' }),
    new Dropout({ rate: 0.25 }),
    new Dense({ units: 24, activation: 'tanh' }),
    new Dense({ units: 4, activation: 'softmax' }),
  ]);
  m.fusedSteps = fused;
  m.compile({ optimizer, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  return m;
}

async function train(
  kernels: WasmKernels,
  make: () => Optimizer,
  fused: boolean,
  callbacks: Callback[] = [],
  existing?: Sequential,
): Promise<Run & { model: Sequential }> {
  setKernels(kernels);
  const m = existing ?? model(make(), fused);
  let replays = 0;
  let captures = 0;
  const replay = kernels.replayOptimizerOps;
  const capture = kernels.captureOptimizerOps;
  kernels.replayOptimizerOps = function (ops) {
    replays++;
    replay.call(this, ops);
  };
  kernels.captureOptimizerOps = function (body) {
    captures++;
    return capture.call(this, body);
  };
  try {
    const history = await m.fit(x, y, { epochs: 2, batchSize: 16, seed: 99, verbose: 0, callbacks });
    const weights = m.getWeights().map((w) => w.data);
    return { history: history.history, weights, replays, captures, model: m };
  } finally {
    delete (kernels as Partial<WasmKernels>).replayOptimizerOps;
    delete (kernels as Partial<WasmKernels>).captureOptimizerOps;
  }
}

function assertSameWeights(actual: Float32Array[], expected: Float32Array[], what: string): void {
  actual.forEach((weights, i) => {
    const j = weights.findIndex((v, k) => !Object.is(v, expected[i][k]));
    assert.equal(j, -1, `${what}: weight ${i} differs at ${j}: ${weights[j]} vs ${expected[i][j]}`);
  });
}

const kernels: Record<string, WasmKernels> = {};
before(async () => {
  kernels[1] = await createWasmKernels({ threads: 1 });
  for (const threads of [2, 3, 4]) kernels[threads] = await createWasmKernels({ threads, mainChunkLimit: 1 });
});
after(async () => {
  for (const k of Object.values(kernels)) await k.dispose();
  setKernels(new ReferenceKernels());
});

describe('every optimizer in the fused step', () => {
  for (const o of optimizers) {
    test(`${o.name}: fused = layer by layer on 1–4 threads, bit for bit (${o.inside ? 'inside the step' : 'after it'})`, async () => {
      assert.equal(updatesInsideFusedStep(o.make()), o.inside);
      const expected = await train(kernels[1], o.make, false);
      assert.ok(expected.history.loss.every(Number.isFinite));
      for (const threads of [1, 2, 3, 4]) {
        const run = await train(kernels[threads], o.make, true);
        assert.deepEqual(run.history, expected.history, `${threads} threads: history`);
        assertSameWeights(run.weights, expected.weights, `${threads} threads`);
        // Applied inside every step (never replayed) whenever the optimizer allows it.
        assert.equal(run.replays, 0, `${threads} threads: replayed steps`);
        // 2 epochs of 13 batches.
        assert.equal(run.captures, o.inside ? 26 : 0, `${threads} threads: steps with updates inside`);
      }
      // The weights moved: a step that applied nothing would fail here.
      const initial = model(o.make(), false)
        .getWeights()
        .map((w) => w.data);
      assert.ok(expected.weights.some((w, i) => w.some((v, k) => v !== initial[i][k])));
    });
  }

  test('a fit stopped mid-epoch and resumed from getFitState repeats the uninterrupted run (Adam, Nadam)', async () => {
    for (const make of [() => new Adam({ learningRate: 0.003 }), () => new Nadam({ learningRate: 0.003 })]) {
      const whole = await train(kernels[2], make, false);
      let state: ReturnType<Sequential['getFitState']> | null = null;
      class StopAt extends Callback {
        override onBatchEnd(batch: number): void {
          if (this.model!.getFitState().epoch === 1 && batch === 4) {
            state = this.model!.getFitState();
            this.model!.stopTraining = true;
          }
        }
      }
      const first = await train(kernels[2], make, true, [new StopAt()]);
      assert.ok(state !== null, 'stopped mid-epoch');
      class Resume extends Callback {
        override onTrainBegin(): void {
          this.model!.restoreFitState(state!);
        }
      }
      const resumed = await train(kernels[2], make, true, [new Resume()], first.model);
      assertSameWeights(resumed.weights, whole.weights, 'resumed');
      assert.deepEqual(resumed.history.loss.at(-1), whole.history.loss.at(-1));
      assert.deepEqual(resumed.history.accuracy.at(-1), whole.history.accuracy.at(-1));
    }
  });
});
