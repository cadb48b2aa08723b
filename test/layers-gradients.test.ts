import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getKernels, setKernels } from '../src/kernels/index.js';
import type { ActivationName } from '../src/kernels/kernels.js';
import { Activation } from '../src/layers/activation.js';
import { Add } from '../src/layers/add.js';
import { AlphaDropout } from '../src/layers/alphaDropout.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Concatenate } from '../src/layers/concatenate.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import type { Layer } from '../src/layers/layer.js';
import type { Merge } from '../src/layers/merge.js';
import { Input, Model } from '../src/models/functional.js';
import { SGD } from '../src/optimizers/sgd.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { type Shape, sizeOf, Tensor } from '../src/tensor/tensor.js';
import { Float64Kernels, float64 } from './helpers/float64.js';

const kernels = new Float64Kernels();
const h = 1e-6;

/** Compares gradients, relative to their scale. */
function assertClose(analytic: ArrayLike<number>, numeric: ArrayLike<number>, what: string): void {
  assert.equal(analytic.length, numeric.length, `${what}: lengths`);
  for (let i = 0; i < analytic.length; i++) {
    const scale = Math.max(1, Math.abs(analytic[i]), Math.abs(numeric[i]));
    assert.ok(
      Math.abs(analytic[i] - numeric[i]) <= 1e-6 * scale,
      `${what}[${i}]: backward gives ${analytic[i]}, central differences ${numeric[i]}`,
    );
  }
}

/**
 * Checks a single-input layer's backward against central differences of `L = Σ c ⊙ y` (c random), for the
 * input and every trainable weight. `before` runs before each forward pass (reseeding keeps dropout's mask).
 */
function checkLayer(
  layer: Layer,
  shape: Shape,
  m: number,
  training: boolean,
  seed: number,
  before = (): void => {},
): void {
  const random = new RandomGenerator(seed);
  layer.build(shape, kernels);
  const n = sizeOf(shape);
  const out = sizeOf(layer.computeOutputShape(shape));
  const x = float64(Array.from({ length: m * n }, () => random.normal()));
  const c = float64(Array.from({ length: m * out }, () => random.normal()));
  const loss = (): number => {
    before();
    const y = layer.forward(x, m, training);
    let sum = 0;
    for (let i = 0; i < m * out; i++) sum += c[i] * y[i];
    return sum;
  };
  loss();
  const dx = Float64Array.from(layer.backward(c, m, true, true, false)!);
  const targets = [{ name: 'input', values: x, analytic: dx as ArrayLike<number> }];
  for (const weight of layer.trainableWeights) {
    targets.push({ name: weight.name, values: weight.value, analytic: Float64Array.from(weight.gradient) });
  }
  for (const { name, values, analytic } of targets) {
    const numeric = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + h;
      const up = loss();
      values[i] = saved - h;
      const down = loss();
      values[i] = saved;
      numeric[i] = (up - down) / (2 * h);
    }
    assertClose(analytic, numeric, `${layer.className} ${name}`);
  }
}

test('Dropout: backward matches central differences with the mask held (training), identity at inference', () => {
  checkLayer(new Dropout({ rate: 0.3 }), [6], 4, true, 1, () => setRandomSeed(11));
  checkLayer(new Dropout({ rate: 0.3 }), [2, 3], 3, false, 2);
  // The mask really drops about `rate` of the inputs and rescales the rest by 1/(1 − rate).
  setRandomSeed(3);
  const layer = new Dropout({ rate: 0.25 });
  layer.build([1000], kernels);
  const ones = float64(new Array(4000).fill(1));
  const y = layer.forward(ones, 4, true);
  const kept = Array.from(y).filter((v) => v !== 0);
  assert.ok(Math.abs(kept.length / 4000 - 0.75) < 0.03, `kept ${kept.length} of 4000`);
  for (const value of kept) assert.equal(value, Math.fround(1 / 0.75));
});

test('AlphaDropout: backward matches central differences (training), and keeps mean 0 and variance 1 of SELU outputs', () => {
  checkLayer(new AlphaDropout({ rate: 0.2 }), [5], 4, true, 3, () => setRandomSeed(12));
  checkLayer(new AlphaDropout({ rate: 0.2 }), [5], 4, false, 4);
  setRandomSeed(5);
  const layer = new AlphaDropout({ rate: 0.1 });
  layer.build([10000], kernels);
  const random = new RandomGenerator(9);
  const x = float64(Array.from({ length: 20000 }, () => random.normal()));
  const y = layer.forward(x, 2, true);
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const variance = y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `mean ${mean}, variance ${variance}`);
});

test('Activation: backward matches central differences for every activation', () => {
  const activations: ActivationName[] = ['linear', 'relu', 'sigmoid', 'tanh', 'selu', 'elu', 'softmax'];
  activations.forEach((activation, i) => checkLayer(new Activation({ activation }), [2, 5], 3, true, 20 + i));
});

test('BatchNormalization: backward through the batch statistics (training) and the moving ones (inference)', () => {
  const random = new RandomGenerator(8);
  const training = new BatchNormalization({ momentum: 0.9 });
  training.build([4], kernels);
  for (const weight of [training.gamma!, training.beta!]) {
    for (let i = 0; i < weight.size; i++) weight.value[i] = random.normal();
  }
  checkLayer(training, [4], 6, true, 30);
  const inference = new BatchNormalization({ center: false });
  inference.build([3, 4], kernels);
  for (let i = 0; i < 4; i++) {
    inference.movingMean.value[i] = random.normal();
    inference.movingVariance.value[i] = 0.5 + random.uniform();
    inference.gamma!.value[i] = random.normal();
  }
  checkLayer(inference, [3, 4], 2, false, 31);
  assert.equal(inference.beta, null);
  assert.deepEqual(
    inference.weights.map((w) => w.name),
    ['gamma', 'moving_mean', 'moving_variance'],
  );
});

test('BatchNormalization normalises a batch and moves its statistics as Keras 3 does (biased variance)', () => {
  const layer = new BatchNormalization({ momentum: 0.5, epsilon: 1e-3 });
  layer.build([2], kernels);
  const x = float64([1, 10, 3, 20, 5, 30]);
  const y = layer.forward(x, 3, true);
  // Column 0: mean 3, biased variance 8/3.
  const scale = 1 / Math.sqrt(8 / 3 + 1e-3);
  assertClose([y[0], y[2], y[4]], [-2 * scale, 0, 2 * scale], 'normalised column');
  assertClose(layer.movingMean.value, [0.5 * 3, 0.5 * 20], 'moving mean');
  assertClose(layer.movingVariance.value, [0.5 + 0.5 * (8 / 3), 0.5 + 0.5 * (200 / 3)], 'moving variance');
  // Frozen, it uses the moving statistics even in training, and they stay put.
  layer.trainable = false;
  const before = Float64Array.from(layer.movingMean.value);
  layer.forward(x, 3, true);
  assertClose(layer.movingMean.value, before, 'frozen moving mean');
  assert.deepEqual(layer.trainableWeights, []);
  assert.equal(layer.nonTrainableWeights.length, 4);
});

/** Checks a merge layer's backward against central differences of `Σ c ⊙ y` for each input. */
function checkMerge(layer: Merge, shapes: Shape[], m: number, seed: number): void {
  const random = new RandomGenerator(seed);
  layer.buildMerged(shapes, kernels);
  const out = sizeOf(layer.computeMergedShape(shapes));
  const inputs = shapes.map((shape) =>
    float64(Array.from({ length: m * sizeOf(shape) }, () => random.normal())),
  );
  const c = float64(Array.from({ length: m * out }, () => random.normal()));
  const loss = (): number => {
    const y = layer.forwardMerged(inputs, m, true);
    let sum = 0;
    for (let i = 0; i < m * out; i++) sum += c[i] * y[i];
    return sum;
  };
  loss();
  const gradients = layer
    .backwardMerged(
      c,
      m,
      shapes.map(() => true),
    )
    .map((g) => Float64Array.from(g!));
  inputs.forEach((values, k) => {
    const numeric = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + h;
      const up = loss();
      values[i] = saved - h;
      const down = loss();
      values[i] = saved;
      numeric[i] = (up - down) / (2 * h);
    }
    assertClose(gradients[k], numeric, `${layer.className} input ${k}`);
  });
}

test('Add and Concatenate: backward matches central differences for each input', () => {
  checkMerge(
    new Add(),
    [
      [2, 3],
      [2, 3],
      [2, 3],
    ],
    3,
    40,
  );
  checkMerge(
    new Concatenate(),
    [
      [2, 3],
      [2, 1],
      [2, 4],
    ],
    3,
    41,
  );
  checkMerge(
    new Concatenate({ axis: 2 }),
    [[4], [2]].map((s) => [2, ...s]),
    2,
    42,
  );
  assert.throws(
    () =>
      new Concatenate({ axis: 1 }).buildMerged(
        [
          [2, 3],
          [2, 3],
        ],
        kernels,
      ),
    /only the last axis/,
  );
  assert.throws(() => new Add().buildMerged([[2], [3]], kernels), /one shape/);
});

test('a functional model sums gradients where a tensor feeds several layers (fan-out), as central differences say', async () => {
  const previous = getKernels();
  setKernels(kernels);
  try {
    setRandomSeed(50);
    const input = Input({ shape: [3] });
    const a = new Dense({ units: 4, activation: 'tanh' }).apply(input);
    const b = new Dense({ units: 4, activation: 'sigmoid' }).apply(a);
    const sum = new Add().apply([a, b]); // a feeds b and the Add
    const joined = new Concatenate().apply([input, sum, a]); // input and a fan out again
    const output = new Dense({ units: 2 }).apply(joined);
    const model = new Model({ inputs: input, outputs: output });
    const random = new RandomGenerator(51);
    const m = 5;
    const x = new Tensor(
      Float32Array.from({ length: m * 3 }, () => random.normal()),
      [m, 3],
    );
    const y = new Tensor(
      Float32Array.from({ length: m * 2 }, () => random.normal()),
      [m, 2],
    );
    // One SGD step with η = 1 on the whole batch moves each weight by exactly −∂L/∂w.
    model.compile({ optimizer: new SGD({ learningRate: 1 }), loss: 'mse' });
    const before = model.weights.map((w) => Float64Array.from(w.value));
    const lossAt = (): number => model.evaluate(x, y, { batchSize: m, verbose: 0 }) as number;
    const numeric = model.weights.map((weight) =>
      Float64Array.from(weight.value, (_, i) => {
        const saved = weight.value[i];
        weight.value[i] = saved + h;
        const up = lossAt();
        weight.value[i] = saved - h;
        const down = lossAt();
        weight.value[i] = saved;
        return (up - down) / (2 * h);
      }),
    );
    await model.fit(x, y, { epochs: 1, batchSize: m, shuffle: false, verbose: 0 });
    model.weights.forEach((weight, k) => {
      const analytic = Float64Array.from(weight.value, (value, i) => before[k][i] - value);
      assertClose(analytic, numeric[k], weight.path);
    });
  } finally {
    setKernels(previous);
  }
});
