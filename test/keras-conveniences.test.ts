import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getKernels } from '../src/kernels/index.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { getLoss } from '../src/losses/index.js';
import {
  AUC,
  getMetric,
  type Metric,
  MetricShapeError,
  Precision,
  SparseTopKCategoricalAccuracy,
  TopKCategoricalAccuracy,
  UnknownMetricError,
} from '../src/metrics/index.js';
import { EarlyStopping } from '../src/models/callbacks/index.js';
import { InputDataError } from '../src/models/errors.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { globalRandom, setRandomSeed } from '../src/tensor/random.js';
import { type Tensor, tensor } from '../src/tensor/tensor.js';

/*
 * Keras 3.11.3 (PyTorch backend) computed these with test/fixtures-gen/keras-metrics.py on the same inputs
 * (built below by the same formulas), each metric updated with rows 0–24 then 25–39.
 */
const KERAS = {
  auc: 0.8922989368438721,
  auc_pr: 0.8242369890213013,
  auc_minoring_50: 0.8851946592330933,
  precision: 0.7358490824699402,
  recall: 0.7647058963775635,
  mae: 0.3275333046913147,
  mse: 0.1438189297914505,
  top2: 0.699999988079071,
  sparse_top2: 0.699999988079071,
  top1: 0.3499999940395355,
};

const m = 40;
const n = 3;
const yTrue = Float32Array.from({ length: m * n }, (_, k) =>
  (Math.floor(k / n) * 3 + (k % n) * 5) % 7 < 3 ? 1 : 0,
);
const yPred = Float32Array.from({ length: m * n }, (_, k) => {
  const i = Math.floor(k / n);
  const j = k % n;
  return 0.35 * yTrue[k] + 0.65 * (((i * 7 + j * 13) % 101) / 100);
});
yPred.set([0.5, 0, 1], 0);
const classIndex = Float32Array.from({ length: m }, (_, i) => (i * 5) % n);
const oneHot = Float32Array.from({ length: m * n }, (_, k) =>
  classIndex[Math.floor(k / n)] === k % n ? 1 : 0,
);

/** The metric over the two batches Keras saw, through the kernels. */
function compute(metric: Metric, targets: Float32Array, targetWidth: number): number {
  const kernels = getKernels();
  const accumulator = metric.accumulator({ loss: getLoss('mse'), outputWidth: n, targetWidth });
  accumulator.update(kernels, yPred.subarray(0, 25 * n), targets.subarray(0, 25 * targetWidth), 25, n);
  accumulator.update(kernels, yPred.subarray(25 * n), targets.subarray(25 * targetWidth), 15, n);
  return accumulator.result(kernels);
}

test('mae, mse, AUC, Precision, Recall and the top-k accuracies give what Keras gives on the same data', () => {
  const close = (actual: number, expected: number, name: string): void =>
    assert.ok(Math.abs(actual - expected) < 2e-6, `${name}: ${actual} vs Keras ${expected}`);
  close(compute(getMetric('AUC'), yTrue, n), KERAS.auc, 'AUC');
  close(compute(new AUC({ curve: 'PR' }), yTrue, n), KERAS.auc_pr, 'AUC PR');
  close(
    compute(new AUC({ numThresholds: 50, summationMethod: 'minoring' }), yTrue, n),
    KERAS.auc_minoring_50,
    'AUC minoring',
  );
  close(compute(getMetric('Precision'), yTrue, n), KERAS.precision, 'Precision');
  close(compute(getMetric('recall'), yTrue, n), KERAS.recall, 'Recall');
  close(compute(getMetric('mae'), yTrue, n), KERAS.mae, 'mae');
  close(compute(getMetric('mse'), yTrue, n), KERAS.mse, 'mse');
  close(compute(new TopKCategoricalAccuracy({ k: 2 }), oneHot, n), KERAS.top2, 'top 2');
  close(
    compute(new SparseTopKCategoricalAccuracy({ k: 2 }), classIndex, 1),
    KERAS.sparse_top2,
    'sparse top 2',
  );
  close(compute(new TopKCategoricalAccuracy({ k: 1 }), oneHot, n), KERAS.top1, 'top 1');
  // The default k is Keras's 5: with 3 classes every target is in the top 5.
  assert.equal(compute(getMetric('top_k_categorical_accuracy'), oneHot, n), 1);
  // A tie with the k-th largest counts as in, as Keras's in_top_k on PyTorch.
  const tie = new TopKCategoricalAccuracy({ k: 2 }).accumulator({
    loss: getLoss('mse'),
    outputWidth: 3,
    targetWidth: 3,
  });
  tie.update(new ReferenceKernels(), Float32Array.of(0.2, 0.2, 0.6), Float32Array.of(1, 0, 0), 1, 3);
  assert.equal(tie.result(new ReferenceKernels()), 1);
});

test('the wasm backend computes the metrics as the reference kernels do', async () => {
  const { setBackend } = await import('../src/kernels/index.js');
  const { registerWasmBackend } = await import('../src/kernels/wasm/index.js');
  registerWasmBackend();
  const wasm = await setBackend('wasm');
  try {
    const wasmValue = compute(new AUC(), yTrue, n);
    assert.equal(wasm.name, 'wasm');
    const reference = new AUC().accumulator({ loss: getLoss('mse'), outputWidth: n, targetWidth: n });
    reference.update(new ReferenceKernels(), yPred, yTrue, m, n);
    assert.equal(wasmValue, reference.result(new ReferenceKernels()));
  } finally {
    await setBackend('reference');
  }
});

function binaryProblem(samples: number): { x: Tensor; y: Tensor; classes: Tensor } {
  setRandomSeed(21);
  const random = globalRandom();
  const x = Float32Array.from({ length: samples * 4 }, () => random.normal());
  const y = Float32Array.from({ length: samples }, (_, i) => (x[i * 4] + x[i * 4 + 1] > 0 ? 1 : 0));
  const classes = Float32Array.from(
    { length: samples },
    (_, i) => (x[i * 4] > 0 ? 1 : 0) + (x[i * 4 + 2] > 0 ? 1 : 0),
  );
  return { x: tensor(x, [samples, 2, 2]), y: tensor(y, [samples, 1]), classes: tensor(classes, [samples]) };
}

function binaryModel(): Sequential {
  setRandomSeed(2);
  return new Sequential([
    new Flatten({ inputShape: [2, 2] }),
    new Dense({ units: 6, activation: 'selu' }),
    new Dense({ units: 1, activation: 'sigmoid' }),
  ]);
}

test('logs carry the names given to compile, as Keras 3: mae, AUC, Precision, and their val_ twins', async () => {
  const { x, y } = binaryProblem(200);
  const model = binaryModel();
  model.compile({
    optimizer: new SGD({ learningRate: 0.1 }),
    loss: 'binary_crossentropy',
    metrics: ['accuracy', 'mae', 'AUC', 'Precision', new Precision({ threshold: 0.7, name: 'precision_70' })],
  });
  const history = await model.fit(x.slice(0, 150), y.slice(0, 150), {
    epochs: 3,
    verbose: 0,
    validationData: [x.slice(150), y.slice(150)],
  });
  assert.deepEqual(Object.keys(history.history).sort(), [
    'AUC',
    'Precision',
    'accuracy',
    'loss',
    'mae',
    'precision_70',
    'val_AUC',
    'val_Precision',
    'val_accuracy',
    'val_loss',
    'val_mae',
    'val_precision_70',
  ]);
  const logs = model.evaluate(x.slice(150), y.slice(150), { verbose: 0, returnDict: true });
  assert.equal(logs.AUC, history.history.val_AUC[2]);
  assert.ok(logs.AUC > 0.8, `AUC ${logs.AUC}`);
  // mae is a loss-like metric: EarlyStopping with mode 'auto' minimises it, as Keras's direction says.
  const stopper = new EarlyStopping({ monitor: 'val_mae', patience: 0 });
  await model.fit(x.slice(0, 150), y.slice(0, 150), {
    epochs: 2,
    verbose: 0,
    validationData: [x.slice(150), y.slice(150)],
    callbacks: [stopper],
  });
  assert.equal((stopper as unknown as { greaterIsBetter: boolean }).greaterIsBetter, false);
});

test('an unknown metric is refused at compile, with the known names; a metric that cannot apply, at fit', async () => {
  const model = binaryModel();
  assert.throws(
    () => model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy', metrics: ['accuracy', 'f1_score'] }),
    (error: unknown) =>
      error instanceof UnknownMetricError &&
      /unknown metric 'f1_score': known metrics are accuracy/.test(error.message),
  );
  // Keras cannot compare one class index with three outputs either.
  const { x, classes } = binaryProblem(20);
  const classifier = new Sequential([
    new Flatten({ inputShape: [2, 2] }),
    new Dense({ units: 3, activation: 'softmax' }),
  ]);
  classifier.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy', metrics: ['mae'] });
  await assert.rejects(
    classifier.fit(x, classes, { verbose: 0 }),
    (error: unknown) =>
      error instanceof MetricShapeError &&
      /metric 'mae' .* needs 3 target values per sample/.test(error.message),
  );
  assert.throws(() => classifier.evaluate(x, classes, { verbose: 0 }), MetricShapeError);
});

test('evaluate: the loss alone without metrics, [loss, ...metrics] with, returnDict; verbose prints one line', () => {
  const { x, y } = binaryProblem(100);
  const model = binaryModel();
  model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy' });
  const loss = model.evaluate(x, y, { verbose: 0 });
  assert.equal(typeof loss, 'number');
  model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy', metrics: ['accuracy', 'mse'] });
  const values = model.evaluate(x, y, { verbose: 0 });
  assert.ok(Array.isArray(values) && values.length === 3);
  assert.equal(values[0], loss);
  const dict = model.evaluate(x, y, { verbose: 0, returnDict: true });
  assert.deepEqual(dict, { loss, accuracy: values[1], mse: values[2] });
  const lines: string[] = [];
  const writer = { write: (text: string) => lines.push(text) };
  for (const verbose of [1, 'auto'] as const)
    model.evaluate(x, y, { verbose, progressWriter: writer, batchSize: 25 });
  model.evaluate(x, y, { verbose: 2, progressWriter: writer, batchSize: 25 });
  model.evaluate(x, y, { verbose: 0, progressWriter: writer });
  assert.equal(lines.length, 3);
  assert.match(
    lines[0],
    /^4\/4 ━{20} \d+s \d+[mu]s\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - mse: \d\.\d{4}\n$/,
  );
  assert.equal(lines[1].replace(/\d+[mu]?s/g, ''), lines[0].replace(/\d+[mu]?s/g, ''));
  assert.doesNotMatch(lines[2], /━/);
  assert.throws(() => model.evaluate(x, y, { verbose: 3 as never }), /verbose must be 0 \(silent\), 1/);
});

test("fit takes verbose 'auto' (a progress bar, as Keras) and refuses other values", async () => {
  const { x, y } = binaryProblem(64);
  const model = binaryModel();
  model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy' });
  const lines: string[] = [];
  await model.fit(x, y, { verbose: 'auto', progressWriter: { write: (text: string) => lines.push(text) } });
  assert.deepEqual(lines[0], 'Epoch 1/1\n');
  assert.match(lines[1], /^2\/2 ━{20} /);
  await assert.rejects(model.fit(x, y, { verbose: 7 as never }), InputDataError);
});

test('model.trainable = false freezes every layer at the next compile; true again unfreezes', async () => {
  const { x, y } = binaryProblem(64);
  const model = binaryModel();
  model.trainable = false;
  assert.ok(model.layers.every((layer) => !layer.trainable));
  assert.equal(model.trainableWeights.length, 0);
  assert.equal(model.nonTrainableWeights.length, 4);
  assert.equal((model.getConfig() as { trainable: boolean }).trainable, false);
  model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'binary_crossentropy' });
  const before = model.getWeights();
  await model.fit(x, y, { verbose: 0 });
  assert.deepEqual(model.getWeights(), before);
  // Keras: while the model's own flag is false, a layer set trainable again still does not train.
  model.layers[1].trainable = true;
  model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'binary_crossentropy' });
  await model.fit(x, y, { verbose: 0 });
  assert.deepEqual(model.getWeights(), before);
  // A model built from the frozen model's layers sees them frozen (layers are shared).
  const reused = new Sequential(model.layers.slice(0, -1));
  reused.add(new Dense({ units: 1, activation: 'sigmoid' }));
  reused.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'binary_crossentropy' });
  assert.equal(reused.trainableWeights.length, 2 + 2); // layer 1 was set trainable again, and the new head
  model.trainable = true;
  model.compile({ optimizer: new SGD({ learningRate: 0.5 }), loss: 'binary_crossentropy' });
  await model.fit(x, y, { verbose: 0 });
  assert.notDeepEqual(model.getWeights(), before);
  assert.throws(() => {
    model.trainable = 'no' as never;
  }, TypeError);
});

test('an input of shape [n, 784] is refused by a model declared for [28, 28], with the reshape to use', async () => {
  const model = new Sequential([
    new Flatten({ inputShape: [28, 28] }),
    new Dense({ units: 2, activation: 'softmax' }),
  ]);
  model.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' });
  const flat = tensor(new Float32Array(3 * 784), [3, 784]);
  const labels = tensor([0, 1, 0]);
  assert.throws(
    () => model.predict(flat),
    (error: unknown) =>
      error instanceof InputDataError &&
      /expects samples of shape \[28, 28\], got \[784\].*x\.reshape\(\[3, 28, 28\]\)/.test(error.message),
  );
  await assert.rejects(model.fit(flat, labels, { verbose: 0 }), InputDataError);
  assert.throws(() => model.evaluate(flat, labels, { verbose: 0 }), InputDataError);
  assert.equal(model.predict(flat.reshape([3, 28, 28])).rows, 3);
});
