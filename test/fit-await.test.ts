import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Callback } from '../src/models/callbacks.js';
import { ModelBusyError } from '../src/models/errors.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { globalRandom, setRandomSeed } from '../src/tensor/random.js';
import { type Tensor, tensor } from '../src/tensor/tensor.js';

function data(samples: number): { x: Tensor; y: Tensor; yBinary: Tensor } {
  setRandomSeed(11);
  const random = globalRandom();
  const x = Float32Array.from({ length: samples * 6 }, () => random.normal());
  const y = Float32Array.from(
    { length: samples },
    (_, i) => (x[i * 6] > 0 ? 1 : 0) + (x[i * 6 + 1] > 0.5 ? 1 : 0),
  );
  const yBinary = Float32Array.from({ length: samples }, (_, i) => (x[i * 6 + 2] > 0 ? 1 : 0));
  return { x: tensor(x, [samples, 2, 3]), y: tensor(y, [samples]), yBinary: tensor(yBinary, [samples, 1]) };
}

function compiledModel(): Sequential {
  setRandomSeed(3);
  const model = new Sequential([
    new Flatten({ inputShape: [2, 3] }),
    new Dense({ units: 8, activation: 'selu' }),
    new Dense({ units: 3, activation: 'softmax' }),
  ]);
  model.compile({
    optimizer: new SGD({ learningRate: 0.05 }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  return model;
}

const quiet = { verbose: 0 } as const;

test('a fit without await: evaluate, predict, compile and a second fit throw ModelBusyError naming the await', async () => {
  const { x, y } = data(256);
  const model = compiledModel();
  const running = model.fit(x, y, { epochs: 3, ...quiet }); // the forgotten await
  assert.throws(
    () => model.evaluate(x, y, quiet),
    (error: unknown) => {
      assert.ok(error instanceof ModelBusyError);
      assert.match(error.message, /model 'sequential\S*' is still training: its fit\(\) has not finished/);
      assert.match(error.message, /forget `await`\?/);
      assert.match(error.message, /evaluateAsync/);
      return true;
    },
  );
  assert.throws(() => model.predict(x), ModelBusyError);
  assert.throws(
    () => model.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' }),
    ModelBusyError,
  );
  await assert.rejects(model.fit(x, y, quiet), /a second fit\(\) would train the same layers/);
  const history = await running;
  assert.equal(history.history.loss.length, 3);
  // Once the fit settled, the model is free again.
  assert.equal((model.evaluate(x, y, quiet) as number[]).length, 2);
});

test('evaluateAsync and predictAsync wait for the running fit and see the trained weights', async () => {
  const { x, y } = data(256);
  const awaited = compiledModel();
  await awaited.fit(x, y, { epochs: 2, shuffle: false, ...quiet });
  const trained = awaited.evaluate(x, y, quiet) as number[];
  const expectedPredictions = awaited.predict(x);

  const model = compiledModel();
  const untrained = model.evaluate(x, y, quiet) as number[];
  void model.fit(x, y, { epochs: 2, shuffle: false, ...quiet });
  const [evaluated, predicted] = await Promise.all([model.evaluateAsync(x, y, quiet), model.predictAsync(x)]);
  assert.deepEqual(evaluated, trained);
  assert.notDeepEqual(evaluated, untrained);
  assert.deepEqual(predicted.data, expectedPredictions.data);
  // Without a running fit they answer at once.
  assert.deepEqual(await model.evaluateAsync(x, y, { ...quiet, returnDict: true }), {
    loss: trained[0],
    accuracy: trained[1],
  });
});

test('the guard is per layer: a model sharing layers with a training model refuses too, an unrelated one does not', async () => {
  const { x, y, yBinary } = data(128);
  const modelA = compiledModel();
  const modelBOnA = new Sequential(modelA.layers.slice(0, -1));
  modelBOnA.add(new Dense({ units: 1, activation: 'sigmoid' }));
  modelBOnA.compile({ optimizer: new SGD({ learningRate: 0.05 }), loss: 'binary_crossentropy' });
  const other = compiledModel();
  const running = modelBOnA.fit(x, yBinary, { epochs: 2, ...quiet });
  assert.throws(
    () => modelA.evaluate(x, y, quiet),
    /model 'sequential\S*' shares layers with model 'sequential\S*', whose fit\(\) has not finished/,
  );
  await assert.rejects(modelA.fit(x, y, quiet), ModelBusyError);
  assert.equal(other.predict(x).rows, 128);
  await running;
  assert.equal(modelA.predict(x).rows, 128);
});

test('callbacks may evaluate and predict with the model while it trains; a failed fit releases the model', async () => {
  const { x, y } = data(128);
  const model = compiledModel();
  const seen: number[] = [];
  class Probe extends Callback {
    override onEpochEnd(): void {
      seen.push((this.model!.evaluate(x, y, quiet) as number[])[0]);
      seen.push(this.model!.predict(x.slice(0, 4)).rows);
    }
  }
  await model.fit(x, y, { epochs: 2, callbacks: [new Probe()], ...quiet });
  assert.equal(seen.length, 4);
  assert.equal(seen[1], 4);

  class Failing extends Callback {
    override onEpochEnd(): void {
      throw new Error('callback failed');
    }
  }
  await assert.rejects(
    model.fit(x, y, { epochs: 2, callbacks: [new Failing()], ...quiet }),
    /callback failed/,
  );
  assert.equal(model.predict(x).rows, 128);
  await assert.rejects(model.fit(x, tensor([1, 2]), quiet), /input samples but 2 targets/);
  assert.equal(model.predict(x).rows, 128);
});

test('dispose() refuses while an un-awaited fit still trains the model, and works once it is awaited', async () => {
  const model = new Sequential([new Dense({ inputShape: [2], units: 1, activation: 'sigmoid' })]);
  model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy' });
  const x = tensor(
    Float32Array.from({ length: 64 }, (_, i) => (i % 7) / 7),
    [32, 2],
  );
  const y = tensor(
    Float32Array.from({ length: 32 }, (_, i) => i % 2),
    [32, 1],
  );
  const running = model.fit(x, y, { epochs: 3, verbose: 0 });
  assert.throws(() => model.dispose(), ModelBusyError);
  assert.equal(model.isDisposed, false);
  await running;
  model.dispose();
  assert.equal(model.isDisposed, true);
});
