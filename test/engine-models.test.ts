import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { InputLayer } from '../src/layers/inputLayer.js';
import { cloneModel } from '../src/models/cloneModel.js';
import { InputDataError, NotCompiledError } from '../src/models/errors.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { globalRandom, setRandomSeed } from '../src/tensor/random.js';
import { type Tensor, tensor } from '../src/tensor/tensor.js';

/** A small 3-class problem on 2×3 "images". */
function problem(samples: number, seed: number): { x: Tensor; y: Tensor; yBinary: Tensor } {
  setRandomSeed(seed);
  const random = globalRandom();
  const x = new Float32Array(samples * 6);
  const y = new Float32Array(samples);
  const yBinary = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    for (let j = 0; j < 6; j++) x[i * 6 + j] = random.normal();
    y[i] = x[i * 6] > 0.5 ? 2 : x[i * 6 + 1] > 0 ? 1 : 0;
    yBinary[i] = x[i * 6 + 2] + x[i * 6 + 3] > 0 ? 1 : 0;
  }
  return { x: tensor(x, [samples, 2, 3]), y: tensor(y, [samples]), yBinary: tensor(yBinary, [samples, 1]) };
}

function modelA(): Sequential {
  return new Sequential([
    new Flatten({ inputShape: [2, 3] }),
    new Dense({ units: 8, activation: 'selu', kernelInitializer: 'lecun_normal' }),
    new Dense({ units: 6, activation: 'selu', kernelInitializer: 'lecun_normal' }),
    new Dense({ units: 3, activation: 'softmax' }),
  ]);
}

function sameWeights(a: Tensor[], b: Tensor[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (w, i) => w.data.length === b[i].data.length && w.data.every((v, j) => Object.is(v, b[i].data[j])),
    )
  );
}

test('fit learns, history has Keras keys, and the same seed gives the same history bit for bit', async () => {
  const run = async (): Promise<Record<string, number[]>> => {
    const { x, y } = problem(600, 3);
    const model = modelA();
    model.compile({
      optimizer: new SGD({ learningRate: 0.05 }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    });
    const history = await model.fit(x.slice(0, 500), y.slice(0, 500), {
      epochs: 4,
      verbose: 0,
      validationData: [x.slice(500), y.slice(500)],
    });
    return history.history;
  };
  const first = await run();
  const second = await run();
  assert.deepEqual(Object.keys(first).sort(), ['accuracy', 'loss', 'val_accuracy', 'val_loss']);
  assert.equal(first.loss.length, 4);
  assert.ok(first.loss[3] < first.loss[0], `loss should fall: ${first.loss}`);
  assert.ok(first.val_accuracy[3] > 0.6, `val_accuracy ${first.val_accuracy[3]}`);
  assert.deepEqual(second, first);
});

test('layers are shared between models built from the same layer objects', async () => {
  const { x, yBinary } = problem(200, 5);
  const a = modelA();
  const b = new Sequential(a.layers.slice(0, -1));
  b.add(new Dense({ units: 1, activation: 'sigmoid' }));
  assert.equal(b.layers[1], a.layers[1]);
  const before = a.layers[1].getWeights();
  b.compile({
    optimizer: new SGD({ learningRate: 0.1 }),
    loss: 'binary_crossentropy',
    metrics: ['accuracy'],
  });
  await b.fit(x, yBinary, { epochs: 1, verbose: 0 });
  assert.ok(!sameWeights(a.layers[1].getWeights(), before), 'training B must change the shared layer of A');
});

test('cloneModel + setWeights gives an independent copy with identical predictions', async () => {
  const { x, yBinary } = problem(200, 6);
  const a = modelA();
  const clone = cloneModel(a);
  assert.notEqual(clone.layers[1], a.layers[1]);
  assert.deepEqual(
    clone.layers.map((l) => l.name),
    a.layers.map((l) => l.name),
  );
  clone.setWeights(a.getWeights());
  assert.deepEqual(clone.predict(x).data, a.predict(x).data);
  const aWeights = a.getWeights();
  const b = new Sequential(clone.layers.slice(0, -1));
  b.add(new Dense({ units: 1, activation: 'sigmoid' }));
  b.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'binary_crossentropy' });
  await b.fit(x, yBinary, { epochs: 2, verbose: 0 });
  assert.ok(sameWeights(a.getWeights(), aWeights), 'the original must stay intact');
  assert.ok(!sameWeights(clone.getWeights(), aWeights), 'the clone trained');
});

test('frozen layers stay bit-identical; trainable takes effect at the next compile', async () => {
  const { x, yBinary } = problem(300, 7);
  const a = modelA();
  const b = new Sequential(a.layers.slice(0, -1));
  b.add(new Dense({ units: 1, activation: 'sigmoid' }));
  b.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'binary_crossentropy' });
  for (const layer of b.layers.slice(0, -1)) layer.trainable = false;
  // Not recompiled yet: Keras keeps training them.
  const beforeRecompile = b.layers[1].getWeights();
  await b.fit(x, yBinary, { epochs: 1, verbose: 0 });
  assert.ok(!sameWeights(b.layers[1].getWeights(), beforeRecompile), 'flag changes wait for compile');
  b.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'binary_crossentropy' });
  const frozen = b.layers.slice(0, -1).map((layer) => layer.getWeights());
  const head = b.layers[b.layers.length - 1].getWeights();
  await b.fit(x, yBinary, { epochs: 3, verbose: 0 });
  b.layers
    .slice(0, -1)
    .forEach((layer, i) => assert.ok(sameWeights(layer.getWeights(), frozen[i]), `${layer.name} changed`));
  assert.ok(!sameWeights(b.layers[b.layers.length - 1].getWeights(), head), 'the head trains');
  for (const layer of b.layers) layer.trainable = true;
  b.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'binary_crossentropy' });
  await b.fit(x, yBinary, { epochs: 1, verbose: 0 });
  assert.ok(!sameWeights(b.layers[1].getWeights(), frozen[1]), 'unfrozen layers train again');
});

test('summary counts trainable and non-trainable parameters', () => {
  const model = modelA();
  model.layers[1].trainable = false;
  const text = model.summary(null);
  const total = 6 * 8 + 8 + 8 * 6 + 6 + 6 * 3 + 3;
  assert.equal(model.countParams(), total);
  assert.match(text, new RegExp(`Total params: ${total} `));
  assert.match(text, new RegExp(`Trainable params: ${total - 56} `));
  assert.match(text, /Non-trainable params: 56 /);
  assert.match(text, /dense(_\d+)? \(Dense\) +│ \(None, 8\) +│ +56 │/);
});

test('an InputLayer declares the shape; evaluate and predict agree', () => {
  const { x, y } = problem(64, 8);
  const model = new Sequential([
    new InputLayer({ shape: [2, 3] }),
    new Flatten(),
    new Dense({ units: 3, activation: 'softmax' }),
  ]);
  assert.equal(model.layers.length, 2);
  model.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const [loss, accuracy] = model.evaluate(x, y, { verbose: 0 }) as number[];
  const probabilities = model.predict(x);
  let expectedLoss = 0;
  let correct = 0;
  for (let i = 0; i < 64; i++) {
    const row = Array.from(probabilities.data.subarray(i * 3, i * 3 + 3));
    expectedLoss -= Math.log(row[y.data[i]]);
    if (row.indexOf(Math.max(...row)) === y.data[i]) correct++;
  }
  assert.ok(Math.abs(loss - expectedLoss / 64) < 1e-5, `${loss} vs ${expectedLoss / 64}`);
  assert.equal(accuracy, correct / 64);
  assert.deepEqual(model.evaluate(x, y, { returnDict: true, verbose: 0 }), { loss, accuracy });
});

test('bad input gets a typed error that names the problem', async () => {
  const { x, y } = problem(20, 9);
  const model = modelA();
  assert.throws(() => model.evaluate(x, y), NotCompiledError);
  model.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' });
  const labels = y.clone();
  labels.data[4] = 3;
  await assert.rejects(
    model.fit(x, labels, { verbose: 0 }),
    (error: Error) =>
      error instanceof InputDataError && /label 3 of sample 4 is out of range/.test(error.message),
  );
  labels.data[4] = 0.5;
  await assert.rejects(model.fit(x, labels, { verbose: 0 }), /label 0.5 of sample 4/);
  const nan = x.clone();
  nan.data[13] = NaN;
  await assert.rejects(model.fit(nan, y, { verbose: 0 }), /non-finite value \(NaN\) in sample 2/);
  assert.throws(
    () => model.predict(tensor(new Float32Array(20 * 5), [20, 5])),
    /expects samples of shape \[2, 3\], got \[5\]/,
  );
  await assert.rejects(model.fit(x, y.slice(0, 10), { verbose: 0 }), /20 input samples but 10 targets/);
  await assert.rejects(model.fit(x, y, { verbose: 0, batchSize: 0 }), /batchSize must be a positive integer/);
});

test('progress output follows Keras: Epoch i/N then a bar line with loss and accuracy', async () => {
  const { x, y } = problem(100, 10);
  const model = modelA();
  model.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  let output = '';
  await model.fit(x, y, {
    epochs: 2,
    batchSize: 32,
    validationData: [x, y],
    progressWriter: { write: (text: string) => (output += text) },
  });
  const lines = output.trim().split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[0], 'Epoch 1/2');
  assert.match(
    lines[1],
    /^4\/4 ━{20} \d+s \d+(ms|us)\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$/,
  );
});
