/**
 * BatchNormalization in training, against Keras's rule and against numbers real Keras 3 recorded
 * (`test/fixtures/keras3/batchnorm.json`, made by `test/fixtures-gen/keras_batchnorm.py`). The momenta are
 * 0.9 and 0.7, so an update that swapped `momentum` and `1 − momentum` cannot pass (at 0.5 it could).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Kernels } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Dense } from '../src/layers/dense.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { requireFixture } from './helpers/fixtures.js';
import { keras3Fixture } from './helpers/kerasFixtures.js';

interface RecordedCase {
  name: string;
  shape: number[];
  batch: number;
  momentum: number;
  epsilon: number;
  gamma: number[];
  beta: number[];
  steps: { input: number[]; output: number[]; moving_mean: number[]; moving_variance: number[] }[];
  inference: { input: number[]; output: number[] };
}

const FIXTURE = keras3Fixture('batchnorm.json');

function assertNear(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    assert.ok(
      error <= tolerance * Math.max(1, Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]}, expected ${expected[i]} (error ${error})`,
    );
  }
}

/** Per-feature mean and biased variance of `rows` rows of `features` values, in float64. */
function moments(values: ArrayLike<number>, features: number): { mean: number[]; variance: number[] } {
  const rows = values.length / features;
  const mean = new Array<number>(features).fill(0);
  const variance = new Array<number>(features).fill(0);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < features; c++) mean[c] += values[r * features + c] / rows;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < features; c++) variance[c] += (values[r * features + c] - mean[c]) ** 2 / rows;
  return { mean, variance };
}

/** A copy of `values` in the kernels' memory (the wasm backend computes on its own heap only). */
function inKernelMemory(kernels: Kernels, values: readonly number[]): Float32Array {
  const buffer = kernels.alloc(values.length);
  buffer.set(values);
  return buffer;
}

for (const backend of ['reference', 'wasm'] as const) {
  test(
    `${backend}: moving statistics, training and inference outputs match Keras 3 (momentum 0.9 and 0.7)`,
    { skip: requireFixture(FIXTURE, 'Keras 3 BatchNormalization records') },
    async () => {
      const recorded = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cases: RecordedCase[] };
      assert.ok(recorded.cases.every((c) => c.momentum !== 0.5));
      const kernels =
        backend === 'reference' ? new ReferenceKernels() : await createWasmKernels({ threads: 1 });
      try {
        for (const record of recorded.cases) {
          const layer = new BatchNormalization({ momentum: record.momentum, epsilon: record.epsilon });
          layer.build(record.shape, kernels);
          layer.gamma!.value.set(record.gamma);
          layer.beta!.value.set(record.beta);
          const features = record.shape[record.shape.length - 1];
          // Keras's rule, in float64, from the moving statistics' initial values (zeros and ones).
          let movingMean = new Array<number>(features).fill(0);
          let movingVariance = new Array<number>(features).fill(1);
          record.steps.forEach((step, index) => {
            const what = `${record.name}, step ${index + 1}`;
            const output = layer.forward(inKernelMemory(kernels, step.input), record.batch, true);
            const batch = moments(step.input, features);
            movingMean = movingMean.map(
              (m, c) => m * record.momentum + batch.mean[c] * (1 - record.momentum),
            );
            movingVariance = movingVariance.map(
              (v, c) => v * record.momentum + batch.variance[c] * (1 - record.momentum),
            );
            assertNear(layer.movingMean.value, movingMean, 1e-5, `${what}: moving mean (Keras's rule)`);
            assertNear(
              layer.movingVariance.value,
              movingVariance,
              1e-5,
              `${what}: moving variance (Keras's rule)`,
            );
            assertNear(layer.movingMean.value, step.moving_mean, 1e-5, `${what}: moving mean (Keras)`);
            assertNear(
              layer.movingVariance.value,
              step.moving_variance,
              1e-5,
              `${what}: moving variance (Keras)`,
            );
            assertNear(output, step.output, 1e-4, `${what}: training output (Keras)`);
          });
          const output = layer.forward(inKernelMemory(kernels, record.inference.input), record.batch, false);
          assertNear(output, record.inference.output, 1e-4, `${record.name}: inference output (Keras)`);
          layer.dispose();
        }
      } finally {
        if (backend === 'wasm') await (kernels as unknown as { dispose(): Promise<void> }).dispose();
      }
    },
  );
}

test('fit updates the moving statistics once per batch by Keras’s rule (momentum 0.8, two batches per epoch)', async () => {
  setRandomSeed(5);
  const normalization = new BatchNormalization({ momentum: 0.8 });
  const model = new Sequential([new Dense({ units: 2, inputShape: [3] }), normalization]);
  model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'mse' });
  const x = new Tensor(
    Float32Array.from({ length: 8 * 3 }, (_, i) => Math.sin(i) * 4 + (i % 3)),
    [8, 3],
  );
  const y = new Tensor(new Float32Array(8 * 2), [8, 2]);
  // With a zero learning rate the Dense layer's outputs are fixed: predict them, then replay the rule.
  const dense = model.layers[0] as Dense;
  const hidden = new Sequential([dense]).predict(x).data;
  await model.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
  let mean = [0, 0];
  let variance = [1, 1];
  for (const start of [0, 4]) {
    const batch = moments(hidden.subarray(start * 2, (start + 4) * 2), 2);
    mean = mean.map((m, c) => m * 0.8 + batch.mean[c] * 0.2);
    variance = variance.map((v, c) => v * 0.8 + batch.variance[c] * 0.2);
  }
  assertNear(normalization.movingMean.value, mean, 1e-5, 'moving mean after fit');
  assertNear(normalization.movingVariance.value, variance, 1e-5, 'moving variance after fit');
});
