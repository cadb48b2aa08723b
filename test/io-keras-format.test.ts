/**
 * The files warmstart writes, compared with what Python Keras writes (the shared fixtures from tf.keras 2.12,
 * and Keras 3's layout as `legacy_h5_format.py` and `saving_lib.py` define it), and files in Keras 3's own
 * flavours (which the shared fixtures do not cover) read back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { closeHdf5Worker, loadModel, saveModel, WRITTEN_KERAS_VERSION } from '../src/io/index.js';
import { writeHdf5Bytes } from '../src/io/hdf5/client.js';
import { containerNames, kerasSnakeCase } from '../src/io/kerasArchive.js';
import { addDataset, group, nameListAttributes } from '../src/io/legacyH5.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Concatenate } from '../src/layers/concatenate.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Input, Model } from '../src/models/functional.js';
import { Sequential } from '../src/models/sequential.js';
import { Adam, SGD } from '../src/optimizers/index.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { type RawAttribute, readRawHdf5 } from './helpers/h5raw.js';
import { requireFixture } from './helpers/fixtures.js';
import { kerasH5Fixture } from './helpers/kerasFixtures.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-format-'));
const quiet = { onWarning: () => {} };

function wideAndDeep(): Model {
  const input = Input({ shape: [8], name: 'input_1' });
  const hidden1 = new Dense({ units: 30, activation: 'relu', name: 'dense' }).apply(input);
  const hidden2 = new Dense({ units: 30, activation: 'relu', name: 'dense_1' }).apply(hidden1);
  const concat = new Concatenate({ name: 'concatenate' }).apply([input, hidden2]);
  return new Model({
    inputs: [input],
    outputs: [new Dense({ units: 1, name: 'dense_2' }).apply(concat)],
    name: 'model',
  });
}

/** The HDF5 type of an attribute, as far as Keras's writers and h5py's readers care. */
const typeOf = (attribute: RawAttribute): string =>
  attribute.type === 3
    ? `string vlen=${attribute.vlen} cset=${attribute.cset}`
    : `class ${attribute.type} size ${attribute.size}`;

test(
  'our .h5 has the attribute types, groups and dataset types of the .h5 tf.keras 2.12 wrote for the same model',
  { skip: requireFixture(kerasH5Fixture('dtn__my_keras_model.h5'), 'the tf.keras 2.12 regression MLP') },
  async () => {
    const reference = await readRawHdf5(kerasH5Fixture('dtn__my_keras_model.h5'));
    // The same architecture (Dense 30 relu, 30 relu, 1) and training setup.
    setRandomSeed(1);
    const model = new Sequential(
      [
        new Dense({ units: 30, activation: 'relu', inputShape: [8], name: 'dense' }),
        new Dense({ units: 30, activation: 'relu', name: 'dense_1' }),
        new Dense({ units: 1, name: 'dense_2' }),
      ],
      { name: 'sequential' },
    );
    model.compile({ optimizer: new SGD({ learningRate: 1e-3 }), loss: 'mse' });
    const path = join(folder, 'regression.h5');
    await saveModel(model, path);
    const ours = await readRawHdf5(path);

    for (const name of ['keras_version', 'backend', 'model_config', 'training_config']) {
      assert.equal(typeOf(ours.attrs[name]), typeOf(reference.attrs[name]), `root attribute ${name}`);
      assert.deepEqual(
        ours.attrs[name].shape,
        reference.attrs[name].shape,
        `root attribute ${name} is scalar`,
      );
    }
    assert.equal(ours.attrs.keras_version.value, WRITTEN_KERAS_VERSION);
    const [w, r] = [ours.groups.model_weights, reference.groups.model_weights];
    for (const name of ['keras_version', 'backend', 'layer_names'])
      assert.equal(typeOf(w.attrs[name]), typeOf(r.attrs[name]), `model_weights@${name}`);
    assert.deepEqual(w.attrs.layer_names.value, r.attrs.layer_names.value);
    assert.deepEqual(
      Object.keys(w.groups).sort(),
      Object.keys(r.groups).sort(),
      'one group per layer and top_level_model_weights',
    );
    for (const layer of ['dense', 'dense_1', 'dense_2']) {
      assert.equal(typeOf(w.groups[layer].attrs.weight_names), typeOf(r.groups[layer].attrs.weight_names));
      // Keras 3 names weights by path (`dense/kernel`), tf.keras added `:0`; both nest a group named after the layer.
      assert.deepEqual(w.groups[layer].attrs.weight_names.value, [`${layer}/kernel`, `${layer}/bias`]);
      const kernel = w.groups[layer].groups[layer].datasets.kernel;
      const referenceKernel = r.groups[layer].groups[layer].datasets['kernel:0'];
      assert.deepEqual([kernel.shape, kernel.dtype], [referenceKernel.shape, referenceKernel.dtype]);
    }
    assert.equal(
      typeOf(w.groups.top_level_model_weights.attrs.weight_names),
      typeOf(r.groups.top_level_model_weights.attrs.weight_names),
    );
    assert.deepEqual(
      w.groups.top_level_model_weights.attrs.weight_names.shape,
      [0],
      'an empty list is h5py’s float64 array of length 0',
    );
    // Optimizer state: the step count as a scalar int64 dataset, like tf.keras's iteration:0.
    const iteration = ours.groups.optimizer_weights.groups.SGD.datasets.iteration;
    const referenceIteration = reference.groups.optimizer_weights.datasets['iteration:0'];
    assert.deepEqual(
      [iteration.shape, iteration.dtype],
      [referenceIteration.shape, referenceIteration.dtype],
    );
    assert.equal(
      typeOf(ours.groups.optimizer_weights.attrs.weight_names),
      typeOf(reference.groups.optimizer_weights.attrs.weight_names),
    );

    // The config is Keras 2's schema, which tf.keras 2.x and Keras 3 both read from .h5.
    const config = JSON.parse(String(ours.attrs.model_config.value));
    const referenceConfig = JSON.parse(String(reference.attrs.model_config.value));
    assert.equal(config.class_name, 'Sequential');
    assert.deepEqual(config.config.layers[0], {
      class_name: 'InputLayer',
      config: {
        batch_input_shape: [null, 8],
        dtype: 'float32',
        sparse: false,
        ragged: false,
        name: 'dense_input',
      },
    });
    assert.deepEqual(config.config.layers[0], referenceConfig.config.layers[0]);
    const layerKeys = (entry: { config: object }): string[] => Object.keys(entry.config).sort();
    assert.deepEqual(Object.keys(config.config.layers[2]).sort(), ['class_name', 'config']);
    assert.ok(
      layerKeys(config.config.layers[2]).every((key) =>
        layerKeys(referenceConfig.config.layers[2]).includes(key),
      ),
      'Dense takes no argument tf.keras lacks',
    );
    assert.deepEqual(
      config.config.layers[2].config.kernel_initializer,
      referenceConfig.config.layers[2].config.kernel_initializer,
    );
    assert.ok(!JSON.stringify(config).includes('"module"'), 'no Keras 3 serialization keys');
    const training = JSON.parse(String(ours.attrs.training_config.value));
    assert.deepEqual(training, {
      loss: 'mean_squared_error',
      metrics: null,
      weighted_metrics: null,
      loss_weights: null,
      optimizer_config: {
        class_name: 'SGD',
        config: { name: 'SGD', learning_rate: Math.fround(1e-3), momentum: 0, nesterov: false },
      },
    });
  },
);

test('a functional model is written to .h5 as Keras 2 functional config: class Model, nested node lists', async () => {
  setRandomSeed(2);
  const model = wideAndDeep();
  const path = join(folder, 'wide.h5');
  await saveModel(model, path);
  const config = JSON.parse(String((await readRawHdf5(path)).attrs.model_config.value));
  assert.equal(config.class_name, 'Model');
  assert.deepEqual(config.config.input_layers, [['input_1', 0, 0]]);
  assert.deepEqual(config.config.output_layers, [['dense_2', 0, 0]]);
  const concat = config.config.layers.find((layer: { name: string }) => layer.name === 'concatenate');
  assert.deepEqual(concat.inbound_nodes, [
    [
      ['input_1', 0, 0, {}],
      ['dense_1', 0, 0, {}],
    ],
  ]);
  assert.deepEqual(config.config.layers[0].config.batch_input_shape, [null, 8]);
  const loaded = await loadModel(path, quiet);
  const x = new Tensor(new Float32Array(16).fill(0.3), [2, 8]);
  assert.deepEqual(Array.from(loaded.predict(x).data), Array.from(model.predict(x).data));
});

test('our .keras is Keras 3’s layout: stored members in order, config.json schema, layers/<snake_case>/vars/<i>', async () => {
  setRandomSeed(3);
  const input = Input({ shape: [4, 4] });
  const flat = new Flatten().apply(input);
  const normalized = new BatchNormalization().apply(new Dense({ units: 5 }).apply(flat));
  const model = new Model({
    inputs: input,
    outputs: new Dense({ units: 2, activation: 'softmax' }).apply(
      new Concatenate().apply([flat, normalized]),
    ),
  });
  model.compile({ optimizer: new Adam(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const path = join(folder, 'archive.keras');
  await saveModel(model, path);
  const bytes = readFileSync(path);
  // Local file headers: names in Keras's order, compression method 0 (stored).
  const names: string[] = [];
  for (let offset = 0; bytes.readUInt32LE(offset) === 0x04034b50;) {
    const method = bytes.readUInt16LE(offset + 8);
    const size = bytes.readUInt32LE(offset + 18);
    const nameLength = bytes.readUInt16LE(offset + 26);
    const extraLength = bytes.readUInt16LE(offset + 28);
    names.push(bytes.subarray(offset + 30, offset + 30 + nameLength).toString());
    assert.equal(method, 0);
    offset += 30 + nameLength + extraLength + size;
  }
  assert.deepEqual(names, ['metadata.json', 'config.json', 'model.weights.h5']);
  const members = unzipSync(bytes);
  const metadata = JSON.parse(new TextDecoder().decode(members['metadata.json']));
  assert.equal(metadata.keras_version, WRITTEN_KERAS_VERSION);
  assert.match(metadata.date_saved, /^\d{4}-\d{2}-\d{2}@\d{2}:\d{2}:\d{2}$/);
  const config = JSON.parse(new TextDecoder().decode(members['config.json']));
  assert.deepEqual(
    [config.module, config.class_name, config.registered_name],
    ['keras.src.models.functional', 'Functional', 'Functional'],
  );
  const dense = config.config.layers[2];
  assert.deepEqual([dense.module, dense.class_name, dense.registered_name], ['keras.layers', 'Dense', null]);
  assert.deepEqual(dense.inbound_nodes[0].args[0].config.keras_history, [config.config.layers[1].name, 0, 0]);
  assert.equal(config.config.layers[0].config.batch_shape[1], 4);
  assert.deepEqual(config.compile_config.optimizer.module, 'keras.optimizers');
  assert.deepEqual(Object.keys(config.compile_config).sort(), [
    'jit_compile',
    'loss',
    'loss_weights',
    'metrics',
    'optimizer',
    'run_eagerly',
    'steps_per_execution',
    'weighted_metrics',
  ]);

  const weightsPath = join(folder, 'model.weights.h5');
  writeFileSync(weightsPath, members['model.weights.h5']);
  const weights = await readRawHdf5(weightsPath);
  assert.deepEqual(Object.keys(weights.groups.layers.groups).sort(), [
    'batch_normalization',
    'dense',
    'dense_1',
  ]);
  assert.deepEqual(
    Object.keys(weights.groups.layers.groups.batch_normalization.groups.vars.datasets).sort(),
    ['0', '1', '2', '3'],
    'gamma, beta, moving_mean, moving_variance',
  );
  const optimizer = weights.groups.optimizer.groups.vars.datasets;
  assert.equal(optimizer['0'].dtype, '<q', 'iteration');
  assert.deepEqual(optimizer['1'].shape, [], 'learning_rate');
  // Adam keeps momentum and velocity per trainable weight (not for the moving statistics): 2 + 2·6.
  assert.equal(Object.keys(optimizer).length, 2 + 2 * 6);
  assert.deepEqual(optimizer['2'].shape, [16, 5], 'momentum of the first kernel');
  assert.deepEqual(optimizer['3'].shape, [16, 5], 'then its velocity (interleaved, as Keras 3 creates them)');
  assert.deepEqual(containerNames(model.layers), [
    'input_layer',
    'flatten',
    'dense',
    'batch_normalization',
    'concatenate',
    'dense_1',
  ]);
  assert.equal(kerasSnakeCase('BatchNormalization'), 'batch_normalization');
  assert.equal(kerasSnakeCase('MyDense'), 'my_dense');
});

test('a .h5 as Keras 3 writes it (batch_shape, dtype policies, path weight names, adam/ optimizer variables, split lists) loads', async () => {
  const modelConfig = {
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      trainable: true,
      dtype: 'float32',
      layers: [
        {
          class_name: 'InputLayer',
          config: { batch_shape: [null, 3], dtype: 'float32', sparse: false, name: 'input_layer' },
        },
        {
          class_name: 'Dense',
          config: {
            name: 'dense',
            trainable: true,
            dtype: {
              module: 'keras',
              class_name: 'DTypePolicy',
              config: { name: 'float32' },
              registered_name: null,
            },
            units: 2,
            activation: 'relu',
            use_bias: true,
            kernel_initializer: {
              module: 'keras.initializers',
              class_name: 'GlorotUniform',
              config: { seed: null },
              registered_name: null,
            },
            bias_initializer: {
              module: 'keras.initializers',
              class_name: 'Zeros',
              config: {},
              registered_name: null,
            },
          },
        },
        {
          class_name: 'BatchNormalization',
          config: {
            name: 'batch_normalization',
            axis: -1,
            momentum: 0.99,
            epsilon: 0.001,
            synchronized: false,
          },
        },
      ],
      build_input_shape: [null, 3],
    },
  };
  const root = group('/');
  root.attrs.push(
    { name: 'keras_version', dtype: 'S', value: '3.3.3', shape: null },
    { name: 'backend', dtype: 'S', value: 'jax', shape: null },
  );
  root.attrs.push({ name: 'model_config', dtype: 'A', value: JSON.stringify(modelConfig), shape: null });
  root.attrs.push({
    name: 'training_config',
    dtype: 'A',
    value: JSON.stringify({
      loss: 'mean_squared_error',
      loss_weights: null,
      metrics: null,
      weighted_metrics: null,
      run_eagerly: false,
      steps_per_execution: 1,
      jit_compile: false,
      optimizer_config: {
        class_name: 'Adam',
        config: {
          name: 'adam',
          learning_rate: 0.01,
          weight_decay: null,
          beta_1: 0.9,
          beta_2: 0.999,
          epsilon: 1e-7,
          amsgrad: false,
        },
      },
    }),
    shape: null,
  });
  const weights = group('model_weights');
  // Split as Keras splits lists too large for one object header (here artificially, to read the pieces).
  weights.attrs.push(
    { name: 'layer_names0', dtype: 'A', value: ['dense'], shape: [1] },
    { name: 'layer_names1', dtype: 'A', value: ['batch_normalization'], shape: [1] },
  );
  const values = (n: number, start: number): Float32Array =>
    Float32Array.from({ length: n }, (_, i) => start + i);
  const dense = group('dense');
  dense.attrs.push(
    ...nameListAttributes('weight_names', ['sequential/dense/kernel', 'sequential/dense/bias']),
  );
  addDataset(dense, 'sequential/dense/kernel', { dtype: '<f', shape: [3, 2], data: values(6, 1) });
  addDataset(dense, 'sequential/dense/bias', { dtype: '<f', shape: [2], data: values(2, 10) });
  const bn = group('batch_normalization');
  const bnNames = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((n) => `batch_normalization/${n}`);
  bn.attrs.push(...nameListAttributes('weight_names', bnNames));
  bnNames.forEach((name, i) =>
    addDataset(bn, name, { dtype: '<f', shape: [2], data: values(2, 20 + 2 * i) }),
  );
  const top = group('top_level_model_weights');
  top.attrs.push(...nameListAttributes('weight_names', []));
  weights.groups.push(dense, bn, top);
  root.groups.push(weights);
  const optimizer = group('optimizer_weights');
  const slotNames = [
    'sequential_dense_kernel',
    'sequential_dense_bias',
    'batch_normalization_gamma',
    'batch_normalization_beta',
  ].flatMap((v) => [`adam/${v}_momentum`, `adam/${v}_velocity`]);
  const names = ['adam/iteration', 'adam/learning_rate', ...slotNames];
  optimizer.attrs.push(...nameListAttributes('weight_names', names));
  addDataset(optimizer, names[0], { dtype: '<q', shape: [], data: BigInt64Array.of(17n) });
  addDataset(optimizer, names[1], { dtype: '<f', shape: [], data: Float32Array.of(0.005) });
  const shapes = [[3, 2], [2], [2], [2]];
  slotNames.forEach((name, i) => {
    const shape = shapes[Math.floor(i / 2)];
    addDataset(optimizer, name, {
      dtype: '<f',
      shape,
      data: values(
        shape.reduce((a, b) => a * b, 1),
        100 * (i + 1),
      ),
    });
  });
  root.groups.push(optimizer);
  const path = join(folder, 'keras3.h5');
  writeFileSync(path, await writeHdf5Bytes(root, { timeoutMs: 10_000 }));

  const model = await loadModel(path, quiet);
  assert.deepEqual(model.inputShape, [3]);
  assert.deepEqual(Array.from(model.getLayer('dense').weights[0].value), [1, 2, 3, 4, 5, 6]);
  const layer = model.getLayer('batch_normalization') as BatchNormalization;
  assert.deepEqual(Array.from(layer.movingVariance.value), [26, 27]);
  const adam = model.optimizer as Adam;
  assert.equal(adam.className, 'Adam');
  assert.equal(adam.iterations, 17);
  assert.equal(
    adam.learningRate,
    Math.fround(0.005),
    'the saved learning-rate variable wins over the config',
  );
  const [m, v] = adam.getSlots(layer.gamma!);
  assert.deepEqual(
    [Array.from(m), Array.from(v)],
    [
      [500, 501],
      [600, 601],
    ],
  );
});

test('a .keras as tf.keras 2.13–2.15 wrote it (_layer_checkpoint_dependencies) loads', async () => {
  setRandomSeed(4);
  const model = wideAndDeep();
  const path = join(folder, 'tf213.keras');
  await saveModel(model, path, { includeOptimizer: false });
  const members = unzipSync(readFileSync(path));
  const root = group('/');
  const layers = group('_layer_checkpoint_dependencies');
  containerNames(model.layers).forEach((name, i) =>
    model.layers[i].weights.forEach((weight, k) =>
      addDataset(layers, `${name}/vars/${k}`, {
        dtype: '<f',
        shape: [...weight.shape],
        data: Float32Array.from(weight.value),
      }),
    ),
  );
  root.groups.push(layers);
  const weights = await writeHdf5Bytes(root, { timeoutMs: 10_000 });
  const rewritten = join(folder, 'tf213-rewritten.keras');
  writeFileSync(
    rewritten,
    zipSync({
      'metadata.json': strToU8('{"keras_version": "2.13.1"}'),
      'config.json': members['config.json'],
      'model.weights.h5': weights,
    }),
  );
  const loaded = await loadModel(rewritten, quiet);
  const x = new Tensor(new Float32Array(8).fill(1), [1, 8]);
  assert.deepEqual(Array.from(loaded.predict(x).data), Array.from(model.predict(x).data));
});

test('nameListAttributes splits lists whose fixed-width array exceeds 64 KiB, as Keras does', () => {
  const names = Array.from(
    { length: 3000 },
    (_, i) => `layer_with_a_long_name_${String(i).padStart(5, '0')}`,
  );
  const attributes = nameListAttributes('layer_names', names);
  assert.equal(attributes.length, 2);
  assert.deepEqual(
    attributes.map((a) => a.name),
    ['layer_names0', 'layer_names1'],
  );
  assert.deepEqual(
    attributes.flatMap((a) => a.value as string[]),
    names,
  );
  assert.equal(nameListAttributes('weight_names', ['a', 'b']).length, 1);
});

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
