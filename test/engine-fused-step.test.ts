// Fused training steps (one call into wasm per batch) against the layer-by-layer path, and 1 against 2, 3
// and 4 threads: histories, weights and predictions must agree bit for bit. Needs `npm run build:wasm`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { setKernels } from '../src/kernels/index.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import { Flatten } from '../src/layers/flatten.js';
import type { Layer } from '../src/layers/layer.js';
import type { CompileOptions } from '../src/models/baseModel.js';
import { Callback } from '../src/models/callbacks.js';
import { Sequential } from '../src/models/sequential.js';
import { Adam } from '../src/optimizers/adam.js';
import { ExponentialDecay } from '../src/optimizers/schedules/index.js';
import { SGD } from '../src/optimizers/sgd.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

const SAMPLES = 320;
const TRAIN = 256;
const random = new RandomGenerator(11);
// 16×16 "images", half zeros (the products skip zeros), and targets of every kind the losses take.
const images = new Float32Array(SAMPLES * 256);
for (let i = 0; i < images.length; i++) images[i] = random.uniform() < 0.5 ? 0 : random.uniform();
const classes = (count: number) => {
  const labels = new Float32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    let s = 0;
    for (let j = 0; j < 128; j++) s += images[i * 256 + j];
    labels[i] = (Math.floor(s * 7) + (images[i * 256 + 200] > 0.5 ? 1 : 0)) % count;
  }
  return labels;
};
const oneHot = (labels: Float32Array, count: number) => {
  const out = new Float32Array(labels.length * count);
  labels.forEach((label, i) => (out[i * count + label] = 1));
  return out;
};
const oneHotFrom = (labels: Float32Array, count: number) => oneHot(labels, count);
const x = new Tensor(images, [SAMPLES, 16, 16]);
const sparse4 = new Tensor(classes(4), [SAMPLES]);
const sparse128 = new Tensor(classes(128), [SAMPLES]);
const sparse10 = new Tensor(classes(10), [SAMPLES]);
const binary = new Tensor(classes(2), [SAMPLES, 1]);
const categorical5 = new Tensor(oneHot(classes(5), 5), [SAMPLES, 5]);
const regression = new Tensor(
  Float32Array.from({ length: SAMPLES * 3 }, (_, i) => Math.sin(i) * 0.5),
  [SAMPLES, 3],
);

interface Case {
  name: string;
  layers: () => Layer[];
  compile: () => CompileOptions;
  y: Tensor;
  /** Layers (by index) frozen before compile. */
  frozen?: number[];
  /** Too small for any product to be shared between threads. */
  tiny?: boolean;
}

const dense = (units: number, activation: string, useBias = true) =>
  new Dense({ units, activation, useBias, kernelInitializer: 'lecun_normal' });

const cases: Case[] = [
  {
    name: 'selu + Dropout, softmax with sparse cross-entropy, SGD with momentum and a schedule',
    layers: () => [
      new Flatten({ inputShape: [16, 16] }),
      dense(64, 'selu'),
      new Dropout({ rate: 0.3 }),
      dense(48, 'relu'),
      new Dropout({ rate: 0.2, seed: 7 }),
      dense(4, 'softmax'),
    ],
    compile: () => ({
      optimizer: new SGD({
        learningRate: new ExponentialDecay({ initialLearningRate: 0.05, decaySteps: 3, decayRate: 0.9 }),
        momentum: 0.9,
      }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    }),
    y: sparse4,
  },
  {
    name: 'a wide softmax (its own phase by rows), Nesterov',
    layers: () => [new Flatten({ inputShape: [16, 16] }), dense(96, 'tanh'), dense(128, 'softmax')],
    compile: () => ({
      optimizer: new SGD({ learningRate: 0.05, momentum: 0.5, nesterov: true }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    }),
    y: sparse128,
  },
  {
    name: 'softmax regression on the inputs (a depth-split product with a softmax), then a Dropout',
    layers: () => [new Flatten({ inputShape: [16, 16] }), dense(10, 'softmax'), new Dropout({ rate: 0.1 })],
    compile: () => ({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'mse', metrics: ['accuracy'] }),
    y: new Tensor(oneHotFrom(sparse10.data, 10), [SAMPLES, 10]),
    tiny: true,
  },
  {
    name: 'sigmoid with binary cross-entropy (fused), a Dropout on the inputs',
    layers: () => [
      new Flatten({ inputShape: [16, 16] }),
      new Dropout({ rate: 0.1 }),
      dense(64, 'tanh'),
      dense(1, 'sigmoid'),
    ],
    compile: () => ({
      optimizer: new SGD({ learningRate: 0.1 }),
      loss: 'binary_crossentropy',
      metrics: ['accuracy'],
    }),
    y: binary,
  },
  {
    name: 'softmax with one-hot categorical cross-entropy, elu',
    layers: () => [new Flatten({ inputShape: [16, 16] }), dense(64, 'elu'), dense(5, 'softmax')],
    compile: () => ({ optimizer: 'sgd', loss: 'categorical_crossentropy', metrics: ['accuracy'] }),
    y: categorical5,
  },
  {
    name: 'mean squared error on a linear output, a layer without bias',
    layers: () => [new Flatten({ inputShape: [16, 16] }), dense(64, 'relu', false), dense(3, 'linear')],
    compile: () => ({ optimizer: new SGD({ learningRate: 0.01 }), loss: 'mse' }),
    y: regression,
  },
  {
    name: 'mean squared error on sigmoid outputs then a Dropout (the derivative inside the loss phase)',
    layers: () => [
      new Flatten({ inputShape: [16, 16] }),
      dense(64, 'selu'),
      dense(3, 'sigmoid'),
      new Dropout({ rate: 0.25 }),
    ],
    compile: () => ({ optimizer: new SGD({ learningRate: 0.05 }), loss: 'mean_squared_error' }),
    y: regression,
  },
  {
    name: 'frozen lower layers (dW never computed), SGD with momentum',
    layers: () => [
      new Flatten({ inputShape: [16, 16] }),
      dense(64, 'selu'),
      dense(48, 'selu'),
      dense(32, 'selu'),
      dense(4, 'softmax'),
    ],
    frozen: [1, 3],
    compile: () => ({
      optimizer: new SGD({ learningRate: 0.02, momentum: 0.9 }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    }),
    y: sparse4,
  },
  {
    name: 'Adam (the optimizer runs after the fused forward and backward)',
    layers: () => [new Flatten({ inputShape: [16, 16] }), dense(64, 'selu'), dense(4, 'softmax')],
    compile: () => ({
      optimizer: new Adam({ learningRate: 1e-3 }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    }),
    y: sparse4,
  },
];

interface Outcome {
  history: Record<string, number[]>;
  weights: Float32Array[];
  predictions: Float32Array;
  evaluation: unknown;
  /** Calls of the layer-by-layer kernels during fit (0 when every step ran fused). */
  layerCalls: number;
  /** Gradient buffers of frozen layers after fit (they start as NaN: never written means still NaN). */
  frozenGradients: Float32Array[];
  frozenBefore: Float32Array[];
  frozenAfter: Float32Array[];
}

async function train(kernels: WasmKernels, c: Case, fused: boolean): Promise<Outcome> {
  setKernels(kernels);
  setRandomSeed(42);
  const layers = c.layers();
  const model = new Sequential(layers);
  model.fusedSteps = fused;
  for (const index of c.frozen ?? []) layers[index].trainable = false;
  model.compile(c.compile());
  const frozen = (c.frozen ?? []).map((index) => layers[index] as Dense);
  for (const layer of frozen) layer.kernel.gradient.fill(NaN);
  const frozenBefore = frozen.map((layer) => layer.kernel.value.slice());
  let layerCalls = 0;
  const counted = kernels as unknown as Record<string, (...args: unknown[]) => unknown>;
  const originals = ['denseForward', 'denseBackwardWeights', 'denseBackwardInput', 'loss'].map((name) => {
    const original = counted[name];
    counted[name] = function (this: unknown, ...args: unknown[]) {
      layerCalls++;
      return original.apply(this, args);
    };
    return name;
  });
  let history;
  try {
    history = await model.fit(x.slice(0, TRAIN), c.y.slice(0, TRAIN), {
      epochs: 3,
      batchSize: 32,
      verbose: 0,
      validationData: [x.slice(TRAIN), c.y.slice(TRAIN)],
    });
  } finally {
    for (const name of originals) delete counted[name];
  }
  return {
    history: history.history,
    weights: model.getWeights().map((w) => w.data),
    predictions: model.predict(x, { batchSize: 24 }).data,
    evaluation: model.evaluate(x, c.y, { batchSize: 50 }),
    layerCalls,
    frozenGradients: frozen.map((layer) => layer.kernel.gradient.slice()),
    frozenBefore,
    frozenAfter: frozen.map((layer) => layer.kernel.value.slice()),
  };
}

function assertSame(actual: Outcome, expected: Outcome, what: string): void {
  assert.deepEqual(actual.history, expected.history, `${what}: history`);
  assert.deepEqual(actual.evaluation, expected.evaluation, `${what}: evaluate`);
  actual.weights.forEach((weights, i) => {
    const j = weights.findIndex((v, k) => !Object.is(v, expected.weights[i][k]));
    assert.equal(j, -1, `${what}: weight ${i} differs at ${j}: ${weights[j]} vs ${expected.weights[i][j]}`);
  });
  const p = actual.predictions.findIndex((v, k) => !Object.is(v, expected.predictions[k]));
  assert.equal(p, -1, `${what}: predictions differ at ${p}`);
}

const kernels: Record<string, WasmKernels> = {};
before(async () => {
  kernels.one = await createWasmKernels({ threads: 1 });
  // The helpers must take part whatever the machine's load: the caller runs at most one chunk per phase.
  for (const threads of [2, 3, 4]) {
    kernels[threads] = await createWasmKernels({ threads, mainChunkLimit: 1 });
    assert.equal(kernels[threads].info.threads, threads);
  }
});
after(async () => {
  for (const k of Object.values(kernels)) await k.dispose();
  setKernels(new ReferenceKernels());
});

describe('fused training steps', () => {
  for (const c of cases) {
    test(`${c.name}: fused = layer by layer, on 1, 2, 3 and 4 threads, bit for bit`, async () => {
      const expected = await train(kernels.one, c, false);
      assert.ok(expected.layerCalls > 0);
      assert.ok(expected.history.loss.every(Number.isFinite));
      const layers2 = await train(kernels[2], c, false);
      assertSame(layers2, expected, 'layer path, 2 threads');
      for (const threads of ['one', '2', '3', '4']) {
        const shared = kernels[threads].threadStats?.shared ?? 0;
        const fused = await train(kernels[threads], c, true);
        assert.equal(fused.layerCalls, 0, `${threads}: every step, evaluation and prediction ran fused`);
        assertSame(fused, expected, `fused, ${threads} thread(s)`);
        if (threads !== 'one' && !c.tiny) {
          assert.ok((kernels[threads].threadStats?.shared ?? 0) > shared, 'the helpers took part');
        }
      }
      if (c.frozen !== undefined) {
        const run = await train(kernels[2], c, true);
        run.frozenBefore.forEach((before, i) =>
          assert.ok(
            before.every((v, j) => Object.is(v, run.frozenAfter[i][j])),
            'a frozen layer changed',
          ),
        );
        for (const gradient of run.frozenGradients) {
          assert.ok(gradient.every(Number.isNaN), "a frozen layer's dW was computed");
        }
      }
    });
  }

  test('a callback may evaluate and predict mid-epoch, with another batch size, without changing the run', async () => {
    const run = async (fused: boolean) => {
      setKernels(kernels[2]);
      setRandomSeed(42);
      const model = new Sequential(cases[0].layers());
      model.fusedSteps = fused;
      model.compile(cases[0].compile());
      const seen: number[] = [];
      class Probe extends Callback {
        override onBatchEnd(batch: number): void {
          if (batch % 3 === 0) {
            seen.push(
              (model.evaluate(x.slice(0, 40), sparse4.slice(0, 40), { batchSize: 7 }) as number[])[0],
            );
            seen.push(model.predict(x.slice(0, 5), { batchSize: 2 }).data[0]);
          }
        }
      }
      const history = await model.fit(x.slice(0, TRAIN), sparse4.slice(0, TRAIN), {
        epochs: 2,
        verbose: 0,
        callbacks: [new Probe()],
      });
      return { history: history.history, seen, weights: model.getWeights().map((w) => [...w.data]) };
    };
    assert.deepEqual(await run(true), await run(false));
  });

  test('models the kernels cannot fuse still train, layer by layer', async () => {
    const c: Case = {
      name: 'hidden softmax and BatchNormalization',
      layers: () => [
        new Flatten({ inputShape: [16, 16] }),
        dense(32, 'softmax'),
        new BatchNormalization({}),
        dense(4, 'softmax'),
      ],
      compile: () => ({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] }),
      y: sparse4,
    };
    const fused = await train(kernels[2], c, true);
    const layered = await train(kernels[2], c, false);
    assert.ok(fused.layerCalls > 0);
    assertSame(fused, layered, 'fallback');
  });
});
