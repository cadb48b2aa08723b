import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHdf5Worker, loadModel, ModelFileError, saveModel } from '../src/io/index.js';
import { Activation } from '../src/layers/activation.js';
import { AlphaDropout } from '../src/layers/alphaDropout.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Concatenate } from '../src/layers/concatenate.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import { Flatten } from '../src/layers/flatten.js';
import type { BaseModel } from '../src/models/baseModel.js';
import { Input, Model } from '../src/models/functional.js';
import { Sequential } from '../src/models/sequential.js';
import { Adam, Nadam, type Optimizer, RMSprop, SGD } from '../src/optimizers/index.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-roundtrip-'));
const quiet = { onWarning: () => {} };

function classification(samples: number, seed: number): { x: Tensor; y: Tensor } {
  const random = new RandomGenerator(seed);
  const x = Float32Array.from({ length: samples * 16 }, () => random.normal());
  const y = Float32Array.from(
    { length: samples },
    (_, i) => (x[i * 16] > 0 ? 1 : 0) + (x[i * 16 + 1] > 0 ? 2 : 0),
  );
  return { x: new Tensor(x, [samples, 4, 4]), y: new Tensor(y, [samples]) };
}

function sequentialModel(): Sequential {
  return new Sequential(
    [
      new Flatten({ inputShape: [4, 4] }),
      new Dense({ units: 12, activation: 'selu', kernelInitializer: 'lecun_normal' }),
      new AlphaDropout({ rate: 0.1 }),
      new Dense({ units: 8, activation: 'relu' }),
      new Dense({ units: 4, activation: 'softmax' }),
    ],
    { name: 'model_a' },
  );
}

function functionalModel(): Model {
  const input = Input({ shape: [4, 4] });
  const flat = new Flatten().apply(input);
  const hidden = new Dropout({ rate: 0.2 }).apply(
    new BatchNormalization().apply(new Dense({ units: 10, activation: 'elu' }).apply(flat)),
  );
  const deep = new Dense({ units: 6, activation: 'tanh' }).apply(hidden);
  const logits = new Dense({ units: 4 }).apply(new Concatenate().apply([flat, deep]));
  return new Model({
    inputs: input,
    outputs: new Activation({ activation: 'softmax' }).apply(logits),
    name: 'wide_deep',
  });
}

function slotsOf(model: BaseModel): number[][] {
  const optimizer = model.optimizer!;
  return model.trainableWeights.flatMap((weight) =>
    optimizer.getSlots(weight).map((slot) => Array.from(slot)),
  );
}

/**
 * Trains a few steps, saves, loads, and checks that the two models are the same model in the same training
 * state: predictions, weights, optimizer class, settings, slots and step count; then one more step on each
 * (same seed, so the same shuffle and dropout masks) must leave them identical.
 */
async function checkRoundTrip(
  build: () => BaseModel,
  optimizer: () => Optimizer,
  extension: '.h5' | '.keras',
): Promise<void> {
  setRandomSeed(10);
  const model = build();
  model.compile({ optimizer: optimizer(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const { x, y } = classification(96, 11);
  await model.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0 });
  const path = join(folder, `${model.name}-${model.optimizer!.className}${extension}`);
  await model.save(path);
  const loaded = await loadModel(path, quiet);
  assert.equal(loaded.constructor, model.constructor);
  assert.deepEqual(
    loaded.layers.map((layer) => [layer.name, layer.className]),
    model.layers.map((layer) => [layer.name, layer.className]),
  );
  assert.deepEqual(Array.from(loaded.predict(x).data), Array.from(model.predict(x).data), 'predictions');
  assert.deepEqual(loaded.optimizer!.getConfig(), model.optimizer!.getConfig(), 'optimizer settings');
  assert.equal(loaded.optimizer!.className, model.optimizer!.className);
  assert.equal(loaded.optimizer!.iterations, 6);
  assert.deepEqual(slotsOf(loaded), slotsOf(model), 'optimizer slots');
  assert.ok(slotsOf(model).length > 0 || model.optimizer!.className === 'SGD');
  assert.equal(loaded.loss!.name, model.loss!.name);
  assert.deepEqual(loaded.compileMetricNames, ['accuracy']);
  if (model.optimizer instanceof Nadam) {
    assert.equal((loaded.optimizer as Nadam).momentumProduct, model.optimizer.momentumProduct);
  }
  for (const m of [model, loaded]) {
    setRandomSeed(12);
    await m.fit(x.slice(0, 32), y.slice(0, 32), { epochs: 1, batchSize: 32, verbose: 0 });
  }
  assert.deepEqual(
    loaded.getWeights().map((w) => Array.from(w.data)),
    model.getWeights().map((w) => Array.from(w.data)),
    'weights after one more step',
  );
  assert.deepEqual(slotsOf(loaded), slotsOf(model), 'slots after one more step');
  assert.equal(loaded.optimizer!.iterations, 7);
}

for (const extension of ['.h5', '.keras'] as const) {
  test(`Sequential + SGD with momentum: warmstart → ${extension} → warmstart continues training identically`, async () => {
    await checkRoundTrip(
      sequentialModel,
      () => new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true }),
      extension,
    );
  });
  test(`functional model (BatchNormalization, Dropout, Concatenate) + Adam: ${extension} round trip`, async () => {
    await checkRoundTrip(functionalModel, () => new Adam({ learningRate: 0.01, amsgrad: true }), extension);
  });
  test(`Nadam and RMSprop (momentum, centered) states survive a ${extension} round trip`, async () => {
    await checkRoundTrip(sequentialModel, () => new Nadam({ learningRate: 0.002 }), extension);
    await checkRoundTrip(functionalModel, () => new RMSprop({ momentum: 0.5, centered: true }), extension);
  });
}

test('includeOptimizer: false saves the architecture and weights only; the loaded model is not compiled', async () => {
  setRandomSeed(13);
  const model = functionalModel();
  model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
  for (const extension of ['.h5', '.keras']) {
    const path = join(folder, `no-optimizer${extension}`);
    await saveModel(model, path, { includeOptimizer: false });
    const warnings: string[] = [];
    const loaded = await loadModel(path, { onWarning: (w) => warnings.push(w) });
    assert.equal(loaded.optimizer, null);
    assert.ok(warnings.some((w) => /not compiled/.test(w)));
  }
});

test('saving is atomic: a failed save leaves the previous file untouched and no temporary file behind', async () => {
  const path = join(folder, 'atomic.h5');
  setRandomSeed(14);
  const model = sequentialModel();
  await model.save(path);
  const good = readFileSync(path);
  const before = readdirSync(folder).sort();

  // A layer name HDF5 cannot hold fails mid-write.
  const broken = sequentialModel();
  broken.layers[1].name = 'bad/name';
  await assert.rejects(broken.save(path), (error: unknown) => {
    assert.ok(error instanceof ModelFileError);
    assert.equal(error.code, 'WRITE_FAILED');
    assert.match(error.message, /atomic\.h5/);
    assert.match(error.message, /previous file/);
    return true;
  });
  // A deadline that cannot be met fails too.
  await assert.rejects(saveModel(model, path, { timeoutMs: 0 }), { code: 'WRITE_FAILED' });
  await assert.rejects(saveModel(model, path, { overwrite: false }), { code: 'WRITE_FAILED' });
  assert.deepEqual(readFileSync(path), good);
  assert.deepEqual(readdirSync(folder).sort(), before);
  const reloaded = await loadModel(path, quiet);
  assert.equal(reloaded.layers.length, model.layers.length);

  await assert.rejects(saveModel(model, join(folder, 'model.txt')), { code: 'UNKNOWN_FORMAT' });
  await assert.rejects(saveModel(model, join(folder, 'missing', 'model.keras')), { code: 'WRITE_FAILED' });
});

test('temporary HDF5 files of .keras archives are removed', async () => {
  const mine = (): string[] =>
    readdirSync(tmpdir()).filter((name) => name.startsWith(`warmstart-${process.pid}-`));
  const path = join(folder, 'tmp-check.keras');
  await saveModel(functionalModel(), path);
  await loadModel(path, quiet);
  writeFileSync(join(folder, 'broken.keras'), readFileSync(path).subarray(0, 2000));
  await assert.rejects(loadModel(join(folder, 'broken.keras'), quiet), ModelFileError);
  assert.deepEqual(mine(), []);
});

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
