import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kernels } from '../src/kernels/kernels.js';
import { setKernels } from '../src/kernels/index.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

// Mostly-zero images like Fashion-MNIST's, with a learnable rule, large enough that products get split.
const samples = 960;
const random = new RandomGenerator(5);
const images = new Float32Array(samples * 784);
const labels = new Float32Array(samples);
for (let i = 0; i < samples; i++) {
  for (let j = 0; j < 784; j++) images[i * 784 + j] = random.uniform() < 0.5 ? 0 : random.uniform();
  let left = 0;
  for (let j = 0; j < 392; j++) left += images[i * 784 + j];
  labels[i] = (left > 98 ? 2 : 0) + (images[i * 784 + 400] > 0.5 ? 1 : 0);
}
const x = new Tensor(images, [samples, 28, 28]);
const y = new Tensor(labels, [samples]);

/** The same seeded model A-like network and 3 epochs of `fit`, on the given kernels. */
async function train(
  kernels: Kernels,
  hidden: readonly number[] = [300, 100, 50],
): Promise<{ history: Record<string, number[]>; weights: Float32Array[] }> {
  setKernels(kernels);
  setRandomSeed(42);
  const model = new Sequential([new Flatten({ inputShape: [28, 28] })]);
  for (const units of hidden)
    model.add(new Dense({ units, activation: 'selu', kernelInitializer: 'lecun_normal' }));
  model.add(new Dense({ units: 4, activation: 'softmax' }));
  model.compile({
    optimizer: new SGD({ learningRate: 1e-2, momentum: 0.9 }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  const history = await model.fit(x.slice(0, 800), y.slice(0, 800), {
    epochs: 3,
    verbose: 0,
    validationData: [x.slice(800), y.slice(800)],
  });
  return { history: history.history, weights: model.getWeights().map((w) => w.data) };
}

const wasmTwo = await createWasmKernels({ threads: 2, mainChunkLimit: 1 });
const wasmOne = await createWasmKernels({ threads: 1 });
after(() => {
  wasmTwo.dispose();
  wasmOne.dispose();
  setKernels(new ReferenceKernels());
});

test('wasm and reference backends agree on a 3-epoch training run to 1e-4 in loss', async () => {
  const reference = await train(new ReferenceKernels());
  const wasm = await train(wasmTwo);
  for (const key of ['loss', 'val_loss']) {
    reference.history[key].forEach((value, epoch) => {
      assert.ok(
        Math.abs(value - wasm.history[key][epoch]) <= 1e-4,
        `${key} epoch ${epoch + 1}: reference ${value}, wasm ${wasm.history[key][epoch]}`,
      );
    });
  }
  assert.ok(reference.history.loss[2] < reference.history.loss[0], 'the run must actually learn');
});

test('1 and 2 threads give bit-identical training', async () => {
  const two = await train(wasmTwo);
  const one = await train(wasmOne);
  assert.ok((wasmTwo.threadStats?.shared ?? 0) > 0, 'the second thread must have done part of the work');
  assert.deepEqual(two.history, one.history);
  two.weights.forEach((weights, i) =>
    assert.ok(
      weights.every((v, j) => Object.is(v, one.weights[i][j])),
      `weight ${i} differs`,
    ),
  );
});

// Layers 9, 10 and 11 wide: a full column block of the products plus a remainder of 1–3 columns, in the
// forward (n = 9…11), dX (k = 9…11) and dW products, which the notebook's widths never reach.
test('widths 9, 10 and 11 (column-block remainders): wasm matches the reference, 1 and 2 threads bit for bit', async () => {
  const hidden = [11, 10, 9];
  const reference = await train(new ReferenceKernels(), hidden);
  const two = await train(wasmTwo, hidden);
  const one = await train(wasmOne, hidden);
  for (const key of ['loss', 'val_loss']) {
    reference.history[key].forEach((value, epoch) => {
      assert.ok(
        Math.abs(value - two.history[key][epoch]) <= 1e-4,
        `${key} epoch ${epoch + 1}: reference ${value}, wasm ${two.history[key][epoch]}`,
      );
    });
  }
  reference.weights.forEach((weights, i) => {
    for (let j = 0; j < weights.length; j++)
      assert.ok(
        Math.abs(weights[j] - two.weights[i][j]) <= 1e-3 * (1 + Math.abs(weights[j])),
        `weight ${i}[${j}]: reference ${weights[j]}, wasm ${two.weights[i][j]}`,
      );
  });
  assert.ok(reference.history.loss[2] < reference.history.loss[0], 'the run must actually learn');
  assert.deepEqual(two.history, one.history);
  two.weights.forEach((weights, i) =>
    assert.ok(
      weights.every((v, j) => Object.is(v, one.weights[i][j])),
      `weight ${i} differs between 1 and 2 threads`,
    ),
  );
});
