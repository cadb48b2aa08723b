import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitTaskAB, toFloat32Images } from '../src/datasets/index.js';
import { closeHdf5Worker, loadModel, ModelFileError } from '../src/io/index.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { Dense } from '../src/layers/dense.js';
import { inputShapeFromConfig, registerLayer, UnknownLayerError } from '../src/layers/registry.js';
import { Loss } from '../src/losses/loss.js';
import { Nadam } from '../src/optimizers/index.js';
import { RandomGenerator } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { readRawHdf5 } from './helpers/h5raw.js';
import { requireFixture } from './helpers/fixtures.js';
import {
  FASHION_MNIST_DIR,
  FASHION_MNIST_PROBE,
  fashionMnist,
  float64Forward,
  kerasH5Fixture,
} from './helpers/kerasFixtures.js';

const fixture = kerasH5Fixture;
/** Skips (or, under CI, fails) a test whose Keras files are missing. */
const needs = (...names: string[]): string | false =>
  requireFixture(
    names.map(kerasH5Fixture),
    `Python Keras fixture${names.length > 1 ? 's' : ''} ${names.join(', ')}`,
  );
const quiet = { onWarning: () => {} };

/** 100 inputs: the first Fashion-MNIST test images (scaled to [0, 1]) when available, else seeded noise. */
async function inputsFor(shape: readonly number[]): Promise<Tensor> {
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.join(',') === '28,28' && FASHION_MNIST_DIR !== null) {
    const data = await fashionMnist();
    return new Tensor(toFloat32Images(data.test.images.subarray(0, 100 * size)), [100, ...shape]);
  }
  const random = new RandomGenerator(7);
  return new Tensor(
    Float32Array.from({ length: 100 * size }, () => random.normal()),
    [100, ...shape],
  );
}

/** Loads a fixture and checks its predictions against a float64 forward pass over the file's raw weights. */
async function checkPredictions(name: string, inputShape: number[], options = {}): Promise<void> {
  const model = await loadModel(fixture(name), { ...quiet, ...options });
  assert.deepEqual(model.inputShape, inputShape);
  const x = await inputsFor(inputShape);
  const predicted = model.predict(x);
  const expected = float64Forward(await readRawHdf5(fixture(name)), x.data, 100);
  const width = expected[0].length;
  assert.deepEqual(predicted.shape, [100, width]);
  let worst = 0;
  expected.forEach((row, i) =>
    row.forEach((value, j) => (worst = Math.max(worst, Math.abs(value - predicted.data[i * width + j])))),
  );
  assert.ok(worst <= 1e-5, `${name}: largest difference from the float64 forward pass is ${worst}`);
}

test(
  'model A as tf.keras 2.3 saved it (no InputLayer, SGD v2 state) predicts as a float64 pass over its raw weights',
  { skip: needs('hopezh__my_model_A.h5') },
  async () => {
    await checkPredictions('hopezh__my_model_A.h5', [28, 28]);
    const model = await loadModel(fixture('hopezh__my_model_A.h5'), quiet);
    assert.equal(model.optimizer?.className, 'SGD');
    assert.equal(model.optimizer?.learningRate, Math.fround(0.001));
    assert.equal(model.optimizer?.iterations, 27500, 'SGD/iter:0 restores the step count');
    assert.equal(model.loss?.name, 'sparse_categorical_crossentropy');
    assert.deepEqual(model.compileMetricNames, ['accuracy']);
    assert.deepEqual(
      model.layers.map((layer) => layer.name),
      ['flatten_14', 'dense_449', 'dense_450', 'dense_451', 'dense_452', 'dense_453', 'dense_454'],
    );
  },
);

test(
  'model A as tf.keras 2.12 saved it (InputLayer, Custom>SGD, new optimizer state) predicts as the float64 pass',
  { skip: needs('dtn__my_model_A.h5') },
  async () => {
    await checkPredictions('dtn__my_model_A.h5', [28, 28]);
    const model = await loadModel(fixture('dtn__my_model_A.h5'), quiet);
    assert.equal(model.optimizer?.className, 'SGD');
    assert.equal(model.optimizer?.iterations, 2750, 'iteration:0 restores the step count');
    assert.deepEqual(model.compileMetricNames, ['accuracy'], 'MeanMetricWrapper(accuracy) becomes accuracy');
  },
);

test(
  'the tf.keras 2.12 regression MLP predicts as the float64 pass and keeps its mse loss',
  { skip: needs('dtn__my_keras_model.h5') },
  async () => {
    await checkPredictions('dtn__my_keras_model.h5', [8]);
    const model = await loadModel(fixture('dtn__my_keras_model.h5'), quiet);
    assert.equal(model.loss?.name, 'mean_squared_error');
    assert.equal(model.optimizer?.iterations, 26499);
  },
);

/** The book's MyDense: a dense layer with `units` and `activation`. */
function registerMyDense(): void {
  registerLayer(
    'MyDense',
    (config) =>
      new Dense({
        name: config.name as string,
        units: config.units as number,
        activation: config.activation as string,
        inputShape: inputShapeFromConfig(config),
      }),
  );
}

test(
  'a custom layer class is an UnknownLayerError naming it until it is registered; then it loads and predicts',
  { skip: needs('dtn__my_model_with_a_custom_layer.h5') },
  async () => {
    await assert.rejects(
      loadModel(fixture('dtn__my_model_with_a_custom_layer.h5'), quiet),
      (error: unknown) => {
        assert.ok(error instanceof UnknownLayerError);
        assert.equal(error.className, 'MyDense');
        assert.match(error.message, /MyDense/);
        assert.match(error.message, /registerLayer\('MyDense'/);
        assert.match(error.message, /dtn__my_model_with_a_custom_layer\.h5/);
        return true;
      },
    );
    // Also through customObjects, for one load only.
    const viaCustomObjects = await loadModel(fixture('dtn__my_model_with_a_custom_layer.h5'), {
      ...quiet,
      customObjects: {
        MyDense: (config) =>
          new Dense({
            units: config.units as number,
            activation: config.activation as string,
            inputShape: inputShapeFromConfig(config),
            name: config.name as string,
          }),
      },
    });
    assert.equal(viaCustomObjects.layers.length, 2);

    registerMyDense();
    await checkPredictions('dtn__my_model_with_a_custom_layer.h5', [8]);
    const model = await loadModel(fixture('dtn__my_model_with_a_custom_layer.h5'), quiet);
    assert.ok(model.optimizer instanceof Nadam, 'Custom>Nadam becomes Nadam');
    assert.equal(model.optimizer.iterations, 726);
    // tf.keras 2.13 does not save Nadam's running product Π: it is rebuilt from the step count.
    let product = 1;
    const f = Math.fround;
    for (let t = 1; t <= 726; t++) product = f(product * f(f(0.9) * f(1 - f(0.5 * f(Math.pow(f(0.96), t))))));
    assert.equal(model.optimizer.momentumProduct, product);
    const m = model.optimizer.getSlots(model.trainableWeights[0]);
    assert.equal(m.length, 2);
    const raw = await readRawHdf5(fixture('dtn__my_model_with_a_custom_layer.h5'));
    const savedM =
      raw.groups.optimizer_weights.groups.Nadam.groups.m.groups.my_dense.datasets['kernel:0'].data;
    const savedV =
      raw.groups.optimizer_weights.groups.Nadam.groups.v.groups.my_dense.datasets['kernel:0'].data;
    assert.deepEqual(Array.from(m[0]), savedM.map(Math.fround));
    assert.deepEqual(Array.from(m[1]), savedV.map(Math.fround));
  },
);

/** The book's `huber_fn`: ½e² where |e| < 1, |e| − ½ beyond, averaged over outputs. */
class HuberLoss extends Loss {
  readonly className = 'HuberLoss';
  readonly name = 'mean_squared_error' as const;
  readonly fusableActivation = null;
  override compute(
    _kernels: Kernels,
    yPred: Float32Array,
    yTrue: Float32Array,
    gradient: Float32Array | null,
    m: number,
    n: number,
  ): number {
    let total = 0;
    for (let i = 0; i < m * n; i++) {
      const error = yPred[i] - yTrue[i];
      const small = Math.abs(error) < 1;
      total += (small ? 0.5 * error * error : Math.abs(error) - 0.5) / n;
      if (gradient !== null) gradient[i] = (small ? error : Math.sign(error)) / (m * n);
    }
    return total;
  }
}

test(
  'a custom loss is an error naming it and how to pass it; compile: false or customObjects load the model',
  { skip: needs('hopezh__my_model_with_a_custom_loss.h5') },
  async () => {
    const path = fixture('hopezh__my_model_with_a_custom_loss.h5');
    await assert.rejects(loadModel(path, quiet), (error: unknown) => {
      assert.ok(error instanceof ModelFileError);
      assert.equal(error.code, 'UNKNOWN_LOSS');
      assert.match(error.message, /'huber_fn'/);
      assert.match(error.message, /customObjects: \{ huber_fn:/);
      assert.match(error.message, /compile: false/);
      return true;
    });
    await checkPredictions('hopezh__my_model_with_a_custom_loss.h5', [8], { compile: false });
    const uncompiled = await loadModel(path, { ...quiet, compile: false });
    assert.equal(uncompiled.optimizer, null);

    const warnings: string[] = [];
    const model = await loadModel(path, {
      customObjects: { huber_fn: new HuberLoss() },
      onWarning: (w) => warnings.push(w),
    });
    assert.ok(model.loss instanceof HuberLoss);
    assert.deepEqual(model.compileMetricNames, ['mae'], 'the mae metric the file was compiled with is kept');
    assert.ok(!warnings.some((w) => /'mae'|"mae"/.test(w)), 'mae is supported: no warning drops it');
    assert.ok(model.optimizer instanceof Nadam);
    assert.equal(model.optimizer.iterations, 3630);
    const raw = await readRawHdf5(path);
    const cache = raw.groups.optimizer_weights.groups.Nadam.datasets['momentum_cache:0'].data[0];
    assert.equal(
      model.optimizer.momentumProduct,
      Math.fround(cache),
      'tf.keras 2.3 momentum_cache is Nadam’s Π',
    );
    const slots = model.optimizer.getSlots(model.trainableWeights[1]);
    const savedV = raw.groups.optimizer_weights.groups.Nadam.groups.dense.groups.bias.datasets['v:0'].data;
    assert.deepEqual(
      Array.from(slots[1]),
      savedV.map(Math.fround),
      'v slots grouped by name in tf.keras 2.3 land on their variables',
    );
    // Training continues from the restored state: one step over all 64 samples reports the loss of the
    // weights it started from (what evaluate gives just before), counts one more iteration and moves every
    // weight.
    const random = new RandomGenerator(3);
    const x = new Tensor(
      Float32Array.from({ length: 64 * 8 }, () => random.normal()),
      [64, 8],
    );
    const y = new Tensor(
      Float32Array.from({ length: 64 }, () => random.normal()),
      [64, 1],
    );
    const before = model.evaluate(x, y, { batchSize: 64, verbose: 0, returnDict: true }).loss;
    const weightsBefore = model.getWeights();
    const history = await model.fit(x, y, { epochs: 1, batchSize: 64, shuffle: false, verbose: 0 });
    assert.ok(
      Math.abs(history.history.loss[0] - before) <= 1e-6 * before,
      `fit's loss ${history.history.loss[0]}, evaluate's ${before}`,
    );
    assert.equal(model.optimizer.iterations, 3631);
    model
      .getWeights()
      .forEach((weight, i) => assert.notDeepEqual(weight.data, weightsBefore[i].data, `weight ${i} moved`));
  },
);

test(
  'model A from Python Keras evaluates above 90% accuracy on task A (test set) of the shared Fashion-MNIST',
  {
    skip:
      needs('hopezh__my_model_A.h5', 'dtn__my_model_A.h5') ||
      requireFixture(FASHION_MNIST_PROBE, 'Fashion-MNIST ($WARMSTART_DATA_DIR or the shared folder)'),
  },
  async () => {
    const data = await fashionMnist();
    const { taskA } = splitTaskAB(data);
    const x = new Tensor(toFloat32Images(taskA.test.images), [taskA.test.count, 28, 28]);
    const y = new Tensor(Float32Array.from(taskA.test.labels), [taskA.test.count]);
    // hopezh's model A was trained for the notebook's 20 epochs (27,500 steps); d-t-n's for a tenth of that
    // (2,750 steps), which the book's own run puts below 90%.
    for (const [name, floor] of [
      ['hopezh__my_model_A.h5', 0.9],
      ['dtn__my_model_A.h5', 0.85],
    ] as const) {
      const model = await loadModel(fixture(name), quiet);
      const [loss, accuracy] = model.evaluate(x, y, { batchSize: 256, verbose: 0 }) as number[];
      assert.ok(
        accuracy > floor,
        `${name}: accuracy ${accuracy} (loss ${loss}) on task A's ${taskA.test.count} test images`,
      );
    }
  },
);

test('the HDF5 worker is released', async () => {
  await closeHdf5Worker();
});
