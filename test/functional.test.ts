import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Add } from '../src/layers/add.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Concatenate } from '../src/layers/concatenate.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import { Flatten } from '../src/layers/flatten.js';
import { deserializeLayer } from '../src/layers/registry.js';
import { cloneModel } from '../src/models/cloneModel.js';
import {
  functionalFromConfig,
  GraphError,
  Input,
  Model,
  type SymbolicTensor,
} from '../src/models/functional.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { ShapeError, Tensor } from '../src/tensor/tensor.js';

/** The book's wide-and-deep network (chapter 10): the input feeds the deep path and, directly, the output. */
function wideAndDeep(): { model: Model; input: SymbolicTensor } {
  const input = Input({ shape: [8], name: 'input' });
  const hidden1 = new Dense({ units: 30, activation: 'relu', name: 'hidden1' }).apply(input);
  const hidden2 = new Dense({ units: 30, activation: 'relu', name: 'hidden2' }).apply(hidden1);
  const concat = new Concatenate({ name: 'concat' }).apply([input, hidden2]);
  const output = new Dense({ units: 1, name: 'output' }).apply(concat);
  return { model: new Model({ inputs: [input], outputs: [output], name: 'wide_deep' }), input };
}

function regression(samples: number, seed: number): { x: Tensor; y: Tensor } {
  const random = new RandomGenerator(seed);
  const x = Float32Array.from({ length: samples * 8 }, () => random.normal());
  const y = Float32Array.from(
    { length: samples },
    (_, i) => x[i * 8] * 0.5 - x[i * 8 + 3] + 0.1 * x[i * 8 + 5] ** 2,
  );
  return { x: new Tensor(x, [samples, 8]), y: new Tensor(y, [samples, 1]) };
}

test('the wide-and-deep model lists its layers in Keras’s order and summarises them with shapes and parameters', () => {
  setRandomSeed(1);
  const { model } = wideAndDeep();
  assert.deepEqual(
    model.layers.map((layer) => layer.name),
    ['input', 'hidden1', 'hidden2', 'concat', 'output'],
  );
  assert.deepEqual(model.inputShape, [8]);
  assert.deepEqual(model.outputShape, [1]);
  assert.deepEqual(model.outputShapeOf(model.getLayer('concat')), [38]);
  assert.equal(model.countParams(), 8 * 30 + 30 + 30 * 30 + 30 + 38 + 1);
  const summary = model.summary(null);
  assert.match(summary, /input \(InputLayer\)\s+│ \(None, 8\)/);
  assert.match(summary, /concat \(Concatenate\)\s+│ \(None, 38\)/);
  assert.match(summary, /Total params: 1,239/);
});

test('ties in depth are broken by the order a depth-first walk from the output meets layers, as in Keras', () => {
  for (const swap of [false, true]) {
    const input = Input({ shape: [4], name: 'in' });
    const a = new Dense({ units: 3, name: 'a' }).apply(input);
    const b = new Dense({ units: 3, name: 'b' }).apply(input);
    const model = new Model({
      inputs: input,
      outputs: new Add({ name: 'sum' }).apply(swap ? [b, a] : [a, b]),
    });
    assert.deepEqual(
      model.layers.map((layer) => layer.name),
      swap ? ['in', 'b', 'a', 'sum'] : ['in', 'a', 'b', 'sum'],
    );
  }
});

test('a functional chain trains exactly like the Sequential model with the same weights', async () => {
  const { x, y } = regression(64, 2);
  setRandomSeed(3);
  const sequential = new Sequential([
    new Dense({ units: 16, activation: 'selu', inputShape: [8] }),
    new Dense({ units: 1 }),
  ]);
  const input = Input({ shape: [8] });
  const output = new Dense({ units: 1 }).apply(new Dense({ units: 16, activation: 'selu' }).apply(input));
  const functional = new Model({ inputs: input, outputs: output });
  functional.setWeights(sequential.getWeights());
  const histories = [];
  for (const model of [sequential, functional]) {
    model.compile({ optimizer: new SGD({ learningRate: 0.01, momentum: 0.9 }), loss: 'mse' });
    setRandomSeed(4);
    histories.push((await model.fit(x, y, { epochs: 3, batchSize: 16, verbose: 0 })).history.loss);
  }
  assert.deepEqual(histories[0], histories[1]);
  assert.deepEqual(
    functional.getWeights().map((w) => Array.from(w.data)),
    sequential.getWeights().map((w) => Array.from(w.data)),
  );
});

test('the wide-and-deep model learns, with batch normalization and dropout inside', async () => {
  setRandomSeed(5);
  const input = Input({ shape: [8] });
  const hidden = new Dropout({ rate: 0.1 }).apply(
    new BatchNormalization().apply(new Dense({ units: 30, activation: 'relu' }).apply(input)),
  );
  const output = new Dense({ units: 1 }).apply(new Concatenate().apply([input, hidden]));
  const model = new Model({ inputs: input, outputs: output });
  const { x, y } = regression(512, 6);
  model.compile({ optimizer: new SGD({ learningRate: 0.01 }), loss: 'mse' });
  const before = model.evaluate(x, y, { verbose: 0 }) as number;
  await model.fit(x, y, { epochs: 10, verbose: 0 });
  const after = model.evaluate(x, y, { verbose: 0 }) as number;
  assert.ok(after < before * 0.7, `loss ${before} → ${after}`);
  // Inference is deterministic (dropout off, moving statistics).
  assert.deepEqual(Array.from(model.predict(x).data), Array.from(model.predict(x).data));
});

test('graphs warmstart cannot run are refused with clear errors', () => {
  const input = Input({ shape: [4] });
  const other = Input({ shape: [4] });
  const dense = new Dense({ units: 4 });
  const once = dense.apply(input);
  assert.throws(() => new Add().apply(input), GraphError, 'a merge layer needs a list');
  assert.throws(() => new Dense({ units: 2 }).apply([input, input]), /takes one tensor/);
  assert.throws(() => new Model({ inputs: input, outputs: dense.apply(once) }), /used twice in one model/);
  assert.throws(() => new Model({ inputs: [input, other], outputs: once }), /exactly one input/);
  assert.throws(
    () => new Model({ inputs: input, outputs: new Dense({ units: 1 }).apply(other) }),
    /graph disconnected/,
  );
  assert.throws(
    () => new Model({ inputs: once, outputs: new Dense({ units: 1 }).apply(once) }),
    /must come from Input/,
  );
  assert.throws(() => dense.apply(Input({ shape: [5] })), ShapeError);
  assert.throws(() => new Concatenate().apply([input, Input({ shape: [2, 2] })]), ShapeError);
});

test('the config round-trips (Keras 3 form), a clone is independent, and layers can be reused in a new model', () => {
  setRandomSeed(7);
  const { model } = wideAndDeep();
  const { x } = regression(10, 8);
  const config = model.getConfig();
  assert.deepEqual(config.input_layers, [['input', 0, 0]]);
  const concat = (config.layers as Array<Record<string, unknown>>)[3];
  assert.deepEqual(concat.build_config, {
    input_shape: [
      [null, 8],
      [null, 30],
    ],
  });
  assert.deepEqual(
    (
      (concat.inbound_nodes as Array<{ args: unknown[] }>)[0].args[0] as Array<{
        config: { keras_history: unknown };
      }>
    ).map((tensor) => tensor.config.keras_history),
    [
      ['input', 0, 0],
      ['hidden2', 0, 0],
    ],
  );
  const rebuilt = functionalFromConfig(JSON.parse(JSON.stringify(config)), (entry) =>
    deserializeLayer(entry),
  );
  rebuilt.setWeights(model.getWeights());
  assert.deepEqual(Array.from(rebuilt.predict(x).data), Array.from(model.predict(x).data));
  assert.deepEqual(rebuilt.getConfig(), config);

  const clone = cloneModel(model);
  assert.ok(clone instanceof Model);
  assert.deepEqual(
    clone.layers.map((layer) => layer.name),
    model.layers.map((layer) => layer.name),
  );
  clone.setWeights(model.getWeights());
  assert.deepEqual(Array.from(clone.predict(x).data), Array.from(model.predict(x).data));
  clone.getLayer('output').weights[1].value[0] += 1;
  assert.notDeepEqual(Array.from(clone.predict(x).data), Array.from(model.predict(x).data));

  // Model B on top of model A's hidden layers (shared objects, as in Keras's transfer learning).
  const inputB = Input({ shape: [8] });
  const reused = model.getLayer('hidden2').apply(model.getLayer('hidden1').apply(inputB));
  const modelB = new Model({
    inputs: inputB,
    outputs: new Dense({ units: 1, activation: 'sigmoid' }).apply(reused),
  });
  assert.equal(modelB.getLayer('hidden1'), model.getLayer('hidden1'));
  assert.equal(modelB.layers.length, 4);
});

test('a functional model over images flattens like a Sequential one', () => {
  const input = Input({ shape: [28, 28] });
  const output = new Dense({ units: 10, activation: 'softmax' }).apply(new Flatten().apply(input));
  const model = new Model({ inputs: input, outputs: output });
  const x = new Tensor(new Float32Array(2 * 784).fill(0.5), [2, 28, 28]);
  const p = model.predict(x);
  assert.deepEqual(p.shape, [2, 10]);
  assert.ok(Math.abs(p.data.slice(0, 10).reduce((a, b) => a + b, 0) - 1) < 1e-5);
});
