import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import {
  closeHdf5Worker,
  loadModel,
  ModelFileError,
  type ModelFileErrorCode,
  saveModel,
} from '../src/io/index.js';
import { writeHdf5Bytes } from '../src/io/hdf5/client.js';
import type { WriteGroup } from '../src/io/hdf5/snapshot.js';
import { addDataset, group, nameListAttributes } from '../src/io/legacyH5.js';
import { Dense } from '../src/layers/dense.js';
import { UnknownLayerError } from '../src/layers/registry.js';
import { Sequential } from '../src/models/sequential.js';
import { setRandomSeed } from '../src/tensor/random.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-errors-'));
const quiet = { onWarning: () => {} };
let counter = 0;

/** Writes an HDF5 file from a description and returns its path. */
async function h5(root: WriteGroup): Promise<string> {
  const path = join(folder, `file-${counter++}.h5`);
  writeFileSync(path, await writeHdf5Bytes(root, { timeoutMs: 10_000 }));
  return path;
}

function file(name: string, bytes: Uint8Array | string): string {
  const path = join(folder, name);
  writeFileSync(path, bytes);
  return path;
}

async function expectCode(
  path: string,
  code: ModelFileErrorCode,
  pattern?: RegExp,
  options = {},
): Promise<void> {
  await assert.rejects(loadModel(path, { ...quiet, ...options }), (error: unknown) => {
    assert.ok(error instanceof ModelFileError, `expected a ModelFileError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.ok(error.message.includes(path), `the message names the file: ${error.message}`);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

/** A one-layer Keras-style `.h5` model with the given config and kernel shape. */
function denseModel(
  modelConfig: unknown,
  kernelShape = [3, 2],
  extra: (root: WriteGroup) => void = () => {},
): WriteGroup {
  const root = group('/');
  root.attrs.push({ name: 'keras_version', dtype: 'S', value: '2.12.0', shape: null });
  root.attrs.push({
    name: 'model_config',
    dtype: 'A',
    value: typeof modelConfig === 'string' ? modelConfig : JSON.stringify(modelConfig),
    shape: null,
  });
  const weights = group('model_weights');
  weights.attrs.push(...nameListAttributes('layer_names', ['dense']));
  const layer = group('dense');
  layer.attrs.push(...nameListAttributes('weight_names', ['dense/kernel:0', 'dense/bias:0']));
  const size = kernelShape.reduce((a, b) => a * b, 1);
  addDataset(layer, 'dense/kernel:0', {
    dtype: '<f',
    shape: kernelShape,
    data: new Float32Array(size).fill(0.5),
  });
  addDataset(layer, 'dense/bias:0', { dtype: '<f', shape: [2], data: new Float32Array(2) });
  weights.groups.push(layer);
  root.groups.push(weights);
  extra(root);
  return root;
}

const sequential = (layer: unknown): unknown => ({
  class_name: 'Sequential',
  config: {
    name: 'sequential',
    layers: [
      {
        class_name: 'InputLayer',
        config: { batch_input_shape: [null, 3], dtype: 'float32', name: 'input_1' },
      },
      layer,
    ],
  },
});
const dense = { class_name: 'Dense', config: { name: 'dense', units: 2, activation: 'relu' } };

test('a good hand-made file loads (the baseline of the cases below)', async () => {
  const model = await loadModel(await h5(denseModel(sequential(dense))), quiet);
  assert.deepEqual(Array.from(model.predict({ data: [1, 1, 1], shape: [1, 3] }).data), [1.5, 1.5]);
});

test('missing, empty, non-HDF5 and truncated files are typed errors naming the file', async () => {
  await expectCode(join(folder, 'nowhere.h5'), 'NOT_FOUND');
  await expectCode(folder, 'NOT_FOUND');
  await expectCode(file('empty.h5', ''), 'CORRUPT', /empty/);
  await expectCode(file('text.h5', 'this is not a model\n'.repeat(50)), 'UNKNOWN_FORMAT', /HDF5 signature/);
  await expectCode(file('text.keras', 'PKG but not a zip'), 'UNKNOWN_FORMAT', /zip archive/);
  const good = readFileSync(await h5(denseModel(sequential(dense))));
  for (const fraction of [0.1, 0.5, 0.9]) {
    const path = file(`truncated-${fraction}.h5`, good.subarray(0, Math.floor(good.length * fraction)));
    await assert.rejects(
      loadModel(path, quiet),
      (error: unknown) => error instanceof ModelFileError && error.message.includes(path),
    );
  }
  await expectCode(file('header-only.h5', good.subarray(0, 8)), 'CORRUPT');
});

test('HDF5 without model_config, and configs that are not JSON or not a model, are refused', async () => {
  const weightsOnly = group('/');
  weightsOnly.attrs.push(...nameListAttributes('layer_names', ['dense']));
  await expectCode(await h5(weightsOnly), 'NO_MODEL_CONFIG', /save_weights/);
  await expectCode(await h5(group('/')), 'NO_MODEL_CONFIG', /not a Keras model file/);
  await expectCode(
    await h5(denseModel('{"class_name": "Sequential", "config": {')),
    'BAD_JSON',
    /model_config is not valid JSON/,
  );
  await expectCode(await h5(denseModel({ foo: 1 })), 'BAD_CONFIG');
  await expectCode(
    await h5(denseModel({ class_name: 'Sequential', config: { name: 'x' } })),
    'BAD_CONFIG',
    /layers/,
  );
  await expectCode(await h5(denseModel({ class_name: 'MyModel', config: {} })), 'UNSUPPORTED', /MyModel/);
  await expectCode(
    await h5(denseModel({ class_name: 'Sequential', config: { name: 's', layers: [dense] } })),
    'BAD_CONFIG',
    /no input shape/,
  );
  await expectCode(
    await h5(denseModel(sequential({ class_name: 'Dense', config: { name: 'dense', units: -4 } }))),
    'BAD_CONFIG',
    /'dense' \(Dense\)/,
  );
  await expectCode(
    await h5(
      denseModel(
        sequential({ class_name: 'Dense', config: { name: 'dense', units: 2, activation: 'swishy' } }),
      ),
    ),
    'BAD_CONFIG',
    /swishy/,
  );
  await expectCode(
    await h5(denseModel(sequential({ class_name: 'Sequential', config: { layers: [] } }))),
    'BAD_CONFIG',
    /nested as a layer has no layers/,
  );
});

test('a weight whose shape disagrees with its layer, or a missing weight, is refused before any is assigned', async () => {
  await expectCode(
    await h5(denseModel(sequential(dense), [4, 2])),
    'WEIGHT_MISMATCH',
    /layer 'dense'.*\[3, 2\].*\[4, 2\]/,
  );
  await expectCode(
    await h5(denseModel(sequential({ ...dense, config: { ...dense.config, units: 3 } }))),
    'WEIGHT_MISMATCH',
  );
  const missing = denseModel(sequential(dense));
  missing.groups[0].groups[0].groups[0].datasets.pop();
  await expectCode(await h5(missing), 'MISSING_WEIGHTS', /dense\/bias:0/);
  await expectCode(
    await h5(denseModel(sequential({ ...dense, config: { ...dense.config, use_bias: false } }))),
    'MISSING_WEIGHTS',
    /1 weights, the file stores 2/,
  );
  // A config asking for far more weights than the file holds is refused before they are allocated.
  await expectCode(
    await h5(denseModel(sequential({ ...dense, config: { ...dense.config, units: 2e9 } }))),
    'WEIGHT_MISMATCH',
    /far more/,
  );
});

test('an unknown layer class is an UnknownLayerError naming the class and how to register it', async () => {
  const path = await h5(
    denseModel(sequential({ class_name: 'Custom>Frobnicate', config: { name: 'dense' } })),
  );
  await assert.rejects(loadModel(path, quiet), (error: unknown) => {
    assert.ok(error instanceof UnknownLayerError);
    assert.equal(error.className, 'Custom>Frobnicate');
    assert.match(error.message, /registerLayer\('Frobnicate'/);
    assert.match(error.message, new RegExp(path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    return true;
  });
});

test('functional configs warmstart cannot run (several inputs, shared layers) are UNSUPPORTED, broken ones BAD_CONFIG', async () => {
  const input = (name: string): unknown => ({
    class_name: 'InputLayer',
    config: { batch_input_shape: [null, 3], name },
    name,
    inbound_nodes: [],
  });
  const functional = (layers: unknown[], inputs: unknown, outputs: unknown): unknown => ({
    class_name: 'Functional',
    config: { name: 'model', layers, input_layers: inputs, output_layers: outputs },
  });
  const denseOn = (...sources: string[]): unknown => ({
    ...dense,
    name: 'dense',
    inbound_nodes: sources.map((s) => [[s, 0, 0, {}]]),
  });
  await expectCode(
    await h5(
      denseModel(
        functional(
          [input('a'), input('b'), denseOn('a')],
          [
            ['a', 0, 0],
            ['b', 0, 0],
          ],
          [['dense', 0, 0]],
        ),
      ),
    ),
    'UNSUPPORTED',
    /one input/,
  );
  await expectCode(
    await h5(denseModel(functional([input('a'), denseOn('a', 'a')], [['a', 0, 0]], [['dense', 0, 0]]))),
    'UNSUPPORTED',
    /shared/,
  );
  await expectCode(
    await h5(denseModel(functional([input('a'), denseOn('nope')], [['a', 0, 0]], [['dense', 0, 0]]))),
    'BAD_CONFIG',
    /'nope'/,
  );
  await expectCode(
    await h5(denseModel(functional([input('a'), denseOn('a')], [['a', 0, 0]], [['ghost', 0, 0]]))),
    'BAD_CONFIG',
    /ghost/,
  );
});

test('.keras archives without a config, without weights, corrupt, or with bad JSON are refused', async () => {
  await expectCode(
    file('no-config.keras', zipSync({ 'metadata.json': strToU8('{}') })),
    'NO_MODEL_CONFIG',
    /config\.json/,
  );
  const config = strToU8(JSON.stringify(sequential(dense)));
  await expectCode(
    file('no-weights.keras', zipSync({ 'config.json': config })),
    'MISSING_WEIGHTS',
    /model\.weights\.h5/,
  );
  await expectCode(
    file('npz.keras', zipSync({ 'config.json': config, 'model.weights.npz': new Uint8Array(4) })),
    'UNSUPPORTED',
    /npz/,
  );
  await expectCode(
    file('bad-json.keras', zipSync({ 'config.json': strToU8('{nope') })),
    'BAD_JSON',
    /config\.json/,
  );
  await expectCode(
    file('bad-weights.keras', zipSync({ 'config.json': config, 'model.weights.h5': strToU8('garbage') })),
    'CORRUPT',
  );
  const archive = zipSync({ 'config.json': config, 'metadata.json': strToU8('{}') });
  await expectCode(file('cut.keras', archive.subarray(0, archive.length - 30)), 'CORRUPT', /zip/);
});

test('a deadline that passes is TIMEOUT, read limits are TOO_LARGE, and loading works again afterwards', async () => {
  // A 4 MB model: reading it takes well over a millisecond, and its kernel exceeds a 1000-byte limit.
  setRandomSeed(5);
  const big = new Sequential([new Dense({ units: 1000, inputShape: [1000] })]);
  const path = join(folder, 'big.h5');
  await saveModel(big, path);
  await expectCode(path, 'TIMEOUT', /took longer/, { timeoutMs: 1 });
  await expectCode(path, 'TOO_LARGE', /declares/, {
    limits: { maxObjectBytes: 1000, maxTotalBytes: 1e9, maxObjects: 1000, maxDepth: 10 },
  });
  const model = await loadModel(path, quiet);
  assert.equal(model.countParams(), 1000 * 1000 + 1000);
});

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
