/**
 * Models nested as layers, the way `keras.applications` bases are reused: a functional model inside a
 * Sequential, a model called on a tensor of a functional model, a Sequential inside a Sequential. Backward
 * through them is checked against float64 central differences; `trainable = false` on a nested model freezes
 * all of it (at the next compile); a cut model (`layer.outputTensor`) computes what the full model computes
 * up to that layer; clones and saved copies behave like the original.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHdf5Worker, loadModel } from '../src/io/index.js';
import { DisposedError } from '../src/kernels/errors.js';
import { getKernels, setKernels } from '../src/kernels/index.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { Add } from '../src/layers/add.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Conv2D } from '../src/layers/conv2d.js';
import { Dense } from '../src/layers/dense.js';
import { DepthwiseConv2D } from '../src/layers/depthwiseConv2D.js';
import { Flatten } from '../src/layers/flatten.js';
import { GlobalAveragePooling2D } from '../src/layers/globalPooling2d.js';
import { MaxPooling2D } from '../src/layers/pooling2d.js';
import { ReLU } from '../src/layers/relu.js';
import type { BaseModel } from '../src/models/baseModel.js';
import { cloneModel } from '../src/models/cloneModel.js';
import { GraphError, Input, Model, UnsupportedGraphError } from '../src/models/functional.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/index.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { ShapeError, sizeOf, Tensor } from '../src/tensor/tensor.js';
import { Float64Kernels, float64 } from './helpers/float64.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-nested-'));

/** A small residual CNN base (Conv2D, BatchNormalization, ReLU6, DepthwiseConv2D, Add), as MobileNetV2's blocks. */
function residualBase(name = 'base'): Model {
  const input = Input({ shape: [5, 5, 2] });
  const conv = new Conv2D({ filters: 3, kernelSize: 3, padding: 'same', name: `${name}_conv` }).apply(input);
  const normalized = new BatchNormalization({ name: `${name}_bn` }).apply(conv);
  const relu = new ReLU({ maxValue: 6, name: `${name}_relu` }).apply(normalized);
  const depthwise = new DepthwiseConv2D({ kernelSize: 3, padding: 'same', name: `${name}_dw` }).apply(relu);
  return new Model({
    inputs: input,
    outputs: new Add({ name: `${name}_add` }).apply([relu, depthwise]),
    name,
  });
}

/** `Sequential([Conv2D 1×1, base, GlobalAveragePooling2D, Dense])`: something trains before and after the base. */
function transferModel(base: Model): Sequential {
  return new Sequential(
    [
      new Conv2D({ filters: 2, kernelSize: 1, inputShape: [5, 5, 2], name: 'stem' }),
      base,
      new GlobalAveragePooling2D({ name: 'pool' }),
      new Dense({ units: 3, activation: 'softmax', name: 'head' }),
    ],
    { name: 'transfer' },
  );
}

function randomize(model: BaseModel, random: RandomGenerator): void {
  for (const weight of model.weights) {
    for (let i = 0; i < weight.size; i++) {
      weight.value[i] = weight.path.endsWith('moving_variance')
        ? 0.5 + random.uniform()
        : 0.5 * random.normal();
    }
  }
}

/** Builds with `kernels` as the current backend (Input() builds on the current one). */
function withKernels<T>(kernels: Kernels, make: () => T): T {
  const previous = getKernels();
  setKernels(kernels);
  try {
    return make();
  } finally {
    setKernels(previous);
  }
}

/**
 * Central differences of `L = Σ c ⊙ model(x)` against the model's backward, used as a layer (the path an outer
 * model takes): the input gradient and every weight `compile` would train.
 */
function checkGradients(model: BaseModel, batch: number, training: boolean, seed: number): number {
  const random = new RandomGenerator(seed);
  const inputShape = model.inputShape!;
  const x = float64(Array.from({ length: batch * sizeOf(inputShape) }, () => random.normal()));
  const width = sizeOf(model.outputShape);
  const c = float64(Array.from({ length: batch * width }, () => random.normal()));
  const loss = (): number => {
    const y = model.forward(x, batch, training);
    let sum = 0;
    for (let i = 0; i < batch * width; i++) sum += c[i] * y[i];
    return sum;
  };
  loss();
  for (const weight of model.weights) weight.gradient.fill(0);
  const dx = Float64Array.from(model.backward(c, batch, true, true, false)!);
  const targets = [{ name: 'input', values: x, analytic: dx as ArrayLike<number> }];
  for (const weight of model.trainableWeights) {
    targets.push({ name: weight.path, values: weight.value, analytic: Float64Array.from(weight.gradient) });
  }
  const h = 1e-6;
  let checked = 0;
  for (const { name, values, analytic } of targets) {
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + h;
      const up = loss();
      values[i] = saved - h;
      const down = loss();
      values[i] = saved;
      const numeric = (up - down) / (2 * h);
      const scale = Math.max(1, Math.abs(numeric), Math.abs(analytic[i]));
      assert.ok(
        Math.abs(numeric - analytic[i]) <= 1e-6 * scale,
        `${name}[${i}]: backward gives ${analytic[i]}, central differences ${numeric}`,
      );
      checked++;
    }
  }
  return checked;
}

test('a functional base nested in a Sequential: backward of the whole model matches float64 central differences', () => {
  const kernels = new Float64Kernels();
  const model = withKernels(kernels, () => transferModel(residualBase()));
  randomize(model, new RandomGenerator(3));
  const checked = checkGradients(model, 3, true, 5);
  // stem 2×2+2, base 3·3·2·3+3 + 3+3 (BN γ, β) + 3·3·3+3, head 3·3+3, input 3·50.
  assert.equal(checked, 6 + 57 + 6 + 30 + 12 + 150);
  // In inference mode too (BatchNormalization then uses its moving statistics).
  checkGradients(model, 2, false, 6);
});

test('a frozen nested base passes the gradient through to the layers before it, and gets none itself', () => {
  const kernels = new Float64Kernels();
  const model = withKernels(kernels, () => transferModel(residualBase()));
  const base = model.layers[1] as Model;
  base.trainable = false;
  assert.deepEqual(
    model.trainableWeights.map((weight) => weight.path),
    ['stem/kernel', 'stem/bias', 'head/kernel', 'head/bias'],
  );
  randomize(model, new RandomGenerator(4));
  checkGradients(model, 2, true, 7);
  for (const weight of base.weights)
    assert.ok(
      weight.gradient.every((value) => value === 0),
      weight.path,
    );
});

test('a model called on a tensor of a functional model, and a Sequential inside a Sequential: gradients check', () => {
  const kernels = new Float64Kernels();
  const functional = withKernels(kernels, () => {
    const base = residualBase('inner');
    const input = Input({ shape: [5, 5, 2] });
    const stem = new Conv2D({ filters: 2, kernelSize: 1, name: 'f_stem' }).apply(input);
    const features = base.apply(stem);
    // The base's output also skips past the head's pooling: a tensor with two consumers.
    const pooled = new GlobalAveragePooling2D().apply(
      new Add().apply([features, new ReLU().apply(features)]),
    );
    return new Model({ inputs: input, outputs: new Dense({ units: 2, name: 'f_head' }).apply(pooled) });
  });
  randomize(functional, new RandomGenerator(8));
  checkGradients(functional, 2, true, 9);

  const nested = withKernels(
    kernels,
    () =>
      new Sequential([
        new Sequential(
          [
            new Conv2D({ filters: 2, kernelSize: 2, inputShape: [4, 4, 1] }),
            new MaxPooling2D({ poolSize: 2 }),
          ],
          { name: 'features' },
        ),
        new Flatten(),
        new Dense({ units: 3, activation: 'tanh' }),
      ]),
  );
  randomize(nested, new RandomGenerator(10));
  checkGradients(nested, 2, true, 11);
});

test('a wrong gradient in a nested model is caught by the check', () => {
  const kernels = new Float64Kernels();
  const model = withKernels(kernels, () => transferModel(residualBase()));
  randomize(model, new RandomGenerator(12));
  const original = kernels.depthwiseConv2dBackwardInput.bind(kernels);
  kernels.depthwiseConv2dBackwardInput = (...args: Parameters<typeof original>) => {
    original(...args);
    const dx = args[2];
    for (let i = 0; i < dx.length; i++) dx[i] *= 1.01;
  };
  try {
    assert.throws(() => checkGradients(model, 2, true, 13), /central differences/);
  } finally {
    kernels.depthwiseConv2dBackwardInput = original;
  }
});

test('trainable = false on a nested model freezes all of it at the next compile: its weights stay bit-identical through fit', async () => {
  setRandomSeed(21);
  const base = residualBase();
  const model = transferModel(base);
  const random = new RandomGenerator(22);
  const x = new Tensor(
    Float32Array.from({ length: 16 * 50 }, () => random.normal()),
    [16, 5, 5, 2],
  );
  const y = new Tensor(
    Float32Array.from({ length: 16 }, () => random.integer(3)),
    [16],
  );

  base.trainable = false;
  assert.ok(
    base.layers.every((layer) => !layer.trainable),
    "the flag is set on every layer, as Keras's setter does",
  );
  model.compile({
    optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }),
    loss: 'sparse_categorical_crossentropy',
  });
  const frozen = base.weights.map((weight) => Float32Array.from(weight.value));
  const stem = Float32Array.from(model.getLayer('stem').weights[0].value);
  const head = Float32Array.from(model.getLayer('head').weights[0].value);
  await model.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0 });
  base.weights.forEach((weight, i) => assert.deepEqual(weight.value, frozen[i], `${weight.path} unchanged`));
  assert.notDeepEqual(model.getLayer('stem').weights[0].value, stem, 'the stem before the base trains');
  assert.notDeepEqual(model.getLayer('head').weights[0].value, head, 'the head trains');

  // Unfreezing takes effect at the next compile for what the optimizer updates (BatchNormalization's moving
  // statistics follow its flag at once, as in Keras, where a trainable BN layer normalizes with batch statistics).
  base.trainable = true;
  await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
  base.weights.forEach((weight, i) => {
    if (!weight.path.includes('moving'))
      assert.deepEqual(weight.value, frozen[i], `${weight.path} until compile`);
  });
  model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'sparse_categorical_crossentropy' });
  await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
  assert.notDeepEqual(
    base.getLayer('base_conv').weights[0].value,
    frozen[0],
    'the base trains once recompiled',
  );
  // The moving statistics follow the batches again (BatchNormalization in training mode).
  assert.notDeepEqual(base.getLayer('base_bn').weights[2].value, frozen[4]);
});

test('a frozen nested model inside a trainable one stays frozen; a trainable model frozen from outside trains nothing', () => {
  const inner = residualBase('deep');
  const middle = new Sequential([inner, new GlobalAveragePooling2D()], { name: 'middle' });
  const outer = new Sequential([middle, new Dense({ units: 2, name: 'out' })], { name: 'outer' });
  inner.trainable = false;
  assert.deepEqual(
    outer.trainableWeights.map((weight) => weight.path),
    ['out/kernel', 'out/bias'],
  );
  // Keras's weight order for a nested model: trainable weights, then the others.
  assert.deepEqual(middle.nonTrainableWeights.length, inner.weights.length);
  inner.trainable = true;
  middle.setOwnTrainableFlag(false);
  assert.ok(inner.trainable, 'the own flag leaves the layers alone');
  assert.deepEqual(
    outer.trainableWeights.map((weight) => weight.path),
    ['out/kernel', 'out/bias'],
    'a model frozen by its own flag has no trainable weights, whatever its layers say',
  );
});

test('outputTensor cuts a model at an inner layer: the cut computes what the model computes up to there, sharing its layers', () => {
  setRandomSeed(31);
  const base = residualBase();
  const model = transferModel(base);
  randomize(model, new RandomGenerator(32));
  const random = new RandomGenerator(33);
  const x = new Tensor(
    Float32Array.from({ length: 3 * 50 }, () => random.normal()),
    [3, 5, 5, 2],
  );

  const upToPool = new Model({ inputs: model.input, outputs: model.getLayer('pool').outputTensor });
  assert.deepEqual(
    upToPool.layers.slice(1).map((layer) => layer.name),
    ['stem', 'base', 'pool'],
  );
  const head = model.getLayer('head') as Dense;
  const pooled = upToPool.predict(x);
  const full = model.predict(x);
  const manual = new Sequential([head]);
  manual.build([3]);
  assert.deepEqual(manual.predict(pooled).data, full.data, 'head(cut(x)) is the model');

  const insideBase = new Model({ inputs: base.input, outputs: base.getLayer('base_relu').outputTensor });
  assert.deepEqual([...insideBase.outputShape], [5, 5, 3]);
  assert.equal(
    insideBase.getLayer('base_conv'),
    base.getLayer('base_conv'),
    'layers are shared, as in Keras',
  );
  assert.throws(
    () => new Dense({ units: 1 }).outputTensor,
    (error: unknown) => error instanceof GraphError && /never been applied/.test(error.message),
  );
});

test('cloneModel copies nested models into new layer objects; saved .h5 and .keras copies predict the same and keep the flags', async () => {
  setRandomSeed(41);
  const model = transferModel(residualBase());
  randomize(model, new RandomGenerator(42));
  (model.layers[1] as Model).trainable = false;
  const random = new RandomGenerator(43);
  const x = new Tensor(
    Float32Array.from({ length: 4 * 50 }, () => random.normal()),
    [4, 5, 5, 2],
  );
  const expected = model.predict(x).data;

  const clone = cloneModel(model);
  clone.setWeights(model.getWeights());
  assert.deepEqual(clone.predict(x).data, expected);
  assert.notEqual(clone.layers[1], model.layers[1]);
  assert.ok(clone.layers[1] instanceof Model);
  assert.equal(clone.layers[1].trainable, false);
  assert.notEqual((clone.layers[1] as Model).layers[1], (model.layers[1] as Model).layers[1]);

  for (const extension of ['.h5', '.keras']) {
    const path = join(folder, `nested${extension}`);
    await model.save(path);
    const copy = await loadModel(path, { onWarning: () => {} });
    assert.deepEqual(copy.predict(x).data, expected, extension);
    assert.equal(copy.layers[1].trainable, false, `${extension}: the base stays frozen`);
    assert.deepEqual(
      copy.trainableWeights.map((weight) => weight.path),
      model.trainableWeights.map((weight) => weight.path),
    );
  }
});

test('cloneModel of a functional model calling a nested Sequential: new layers, same outputs', () => {
  setRandomSeed(51);
  const features = new Sequential(
    [
      new Conv2D({ filters: 3, kernelSize: 3, padding: 'same', inputShape: [5, 5, 2], name: 'f_conv' }),
      new ReLU({ name: 'f_relu' }),
    ],
    { name: 'features' },
  );
  const input = Input({ shape: [5, 5, 2] });
  const model = new Model({
    inputs: input,
    outputs: new Dense({ units: 2, name: 'out' }).apply(
      new GlobalAveragePooling2D().apply(features.apply(input)),
    ),
  });
  randomize(model, new RandomGenerator(52));
  const clone = cloneModel(model);
  clone.setWeights(model.getWeights());
  const random = new RandomGenerator(53);
  const x = new Tensor(
    Float32Array.from({ length: 3 * 50 }, () => random.normal()),
    [3, 5, 5, 2],
  );
  assert.deepEqual(clone.predict(x).data, model.predict(x).data);
  const nested = clone.layers[1];
  assert.ok(nested instanceof Sequential && nested !== features);
  assert.notEqual(nested.layers[0], features.layers[0]);
  assert.deepEqual(
    nested.layers.map((layer) => layer.name),
    ['f_conv', 'f_relu'],
  );
});

test('nesting errors are clear: a model inside itself, a model applied to a tensor of the wrong shape or to its own output', () => {
  const base = residualBase();
  const outer = new Sequential([base]);
  assert.throws(
    () => outer.add(outer),
    (error: unknown) => error instanceof ShapeError && /itself/.test(error.message),
  );
  const inner = new Sequential([new Dense({ units: 2, inputShape: [3] })]);
  const wrapper = new Sequential([inner]);
  assert.throws(
    () => inner.add(wrapper),
    (error: unknown) => error instanceof ShapeError && /cannot contain itself/.test(error.message),
  );
  assert.throws(
    () => base.apply(Input({ shape: [6, 6, 2] })),
    (error: unknown) =>
      error instanceof ShapeError && /takes inputs of shape \[5, 5, 2\]/.test(error.message),
  );
  // Applied to its own output, a model would run its layers twice in one pass (their buffers are theirs).
  const square = new Sequential([new Conv2D({ filters: 2, kernelSize: 1, inputShape: [3, 3, 2] })]);
  assert.throws(
    () => new Model({ inputs: square.input, outputs: square.apply(square.output) }),
    (error: unknown) => error instanceof UnsupportedGraphError && /used twice/.test(error.message),
  );
  assert.throws(
    () => new Sequential([square, square.layers[0]]),
    (error: unknown) => error instanceof ShapeError && /already in model/.test(error.message),
  );
});

test('dispose frees a nested model with its outer model, unless another live model still uses it', () => {
  const base = residualBase('owned');
  const inner = base.layers;
  const first = new Sequential([base, new GlobalAveragePooling2D()]);
  const second = new Sequential([base, new Flatten()]);
  first.dispose();
  assert.ok(!base.isDisposed, 'the base is still used by the second model');
  assert.doesNotThrow(() => second.predict(new Tensor(new Float32Array(50), [1, 5, 5, 2])));
  second.dispose();
  assert.ok(base.isDisposed, 'the last model using the base frees it');
  assert.ok(
    inner.every((layer) => layer.isDisposed),
    'and the base frees its layers',
  );
  assert.throws(() => base.layers, DisposedError);
});

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
