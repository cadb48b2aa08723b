/**
 * Files real Keras 3.11 wrote, with optimizer state (test/fixtures/keras3, recorded by
 * test/fixtures-gen/keras3_fixtures.py): warmstart reads the weights and restores each slot into the slot of
 * the same meaning (Adam's m into m, v into v; a reader and writer that both swap them fail here, since both
 * are compared with Keras, not with each other), continues training exactly as Keras did, and writes the
 * optimizer variables in Keras's order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { closeHdf5Worker, loadModel, saveModel } from '../src/io/index.js';
import type { BaseModel } from '../src/models/baseModel.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { Variable } from '../src/tensor/variable.js';
import { requireFixture } from './helpers/fixtures.js';
import { readRawHdf5, type RawGroup } from './helpers/h5raw.js';
import { keras3Fixture } from './helpers/kerasFixtures.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-keras3-'));
const quiet = { onWarning: () => {} };

/** What the generator recorded with Keras next to each model file. */
interface KerasRecord {
  keras_version: string;
  probe: number[];
  probe_shape: number[];
  predictions: number[];
  weights: Array<{ path: string; shape: number[]; values: number[] }>;
  optimizer_variables: Array<{ path: string; name: string; shape: number[]; values: number[] }>;
  next_batch: { x: number[]; x_shape: number[]; y: number[] };
  weights_after_next_batch: Array<{ path: string; values: number[] }>;
}

/** Each recorded model, and the Keras names of its optimizer's slots in warmstart's `getSlots` order. */
const MODELS = {
  adam: { optimizer: 'Adam', slots: ['momentum', 'velocity'] },
  sgd_momentum: { optimizer: 'SGD', slots: ['momentum'] },
  rmsprop_centered: { optimizer: 'RMSprop', slots: ['velocity', 'momentum', 'average_gradient'] },
} as const;

const record = (name: string): KerasRecord =>
  JSON.parse(readFileSync(keras3Fixture(`${name}.json`), 'utf8')) as KerasRecord;

/** Keras 3.11 prefixes a Sequential's variable paths with the model's name (`sgd_model/dense_2/kernel`). */
const kerasPathOf = (model: BaseModel, variable: Variable, kerasPaths: readonly string[]): string => {
  const prefixed = `${model.name}/${variable.path}`;
  return kerasPaths.includes(prefixed) ? prefixed : variable.path;
};

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    worst = Math.max(worst, error);
  }
  assert.ok(worst <= tolerance, `${what}: worst difference ${worst} > ${tolerance}`);
}

for (const [name, expected] of Object.entries(MODELS)) {
  for (const extension of ['.keras', '.h5']) {
    const file = keras3Fixture(`${name}${extension}`);
    test(
      `${name}${extension} from Keras 3.11: weights, predictions, every optimizer slot in its place, and the next step as Keras took it`,
      { skip: requireFixture([file, keras3Fixture(`${name}.json`)], 'Keras 3 files with optimizer state') },
      async () => {
        const keras = record(name);
        const model = await loadModel(file, quiet);
        const kerasWeights = new Map(keras.weights.map((weight) => [weight.path, weight]));
        const kerasPaths = [...kerasWeights.keys()];
        assert.equal(model.weights.length, keras.weights.length);
        for (const variable of model.weights) {
          const stored = kerasWeights.get(kerasPathOf(model, variable, kerasPaths));
          assert.ok(stored !== undefined, `${variable.path} is one of Keras's weights`);
          assert.deepEqual(Array.from(variable.value), stored.values.map(Math.fround), variable.path);
        }
        const probe = new Tensor(Float32Array.from(keras.probe), keras.probe_shape);
        assertClose(model.predict(probe).data, keras.predictions, 1e-5, 'predictions');

        // Optimizer state, by meaning: each slot of each variable equals the Keras variable of that name.
        const optimizer = model.optimizer!;
        assert.equal(optimizer.className, expected.optimizer);
        const kerasVariables = new Map(
          keras.optimizer_variables.map((variable) => [variable.name, variable]),
        );
        assert.equal(optimizer.rawIterations, kerasVariables.get('iteration')!.values[0]);
        assert.equal(optimizer.learningRate, Math.fround(kerasVariables.get('learning_rate')!.values[0]));
        let slotsCompared = 0;
        for (const variable of model.trainableWeights) {
          const flat = kerasPathOf(model, variable, kerasPaths).replace(/\//g, '_');
          optimizer.getSlots(variable).forEach((slot, index) => {
            const kerasName = `${flat}_${expected.slots[index]}`;
            const stored = kerasVariables.get(kerasName);
            assert.ok(stored !== undefined, `Keras has ${kerasName}`);
            assert.deepEqual(
              Array.from(slot),
              stored.values.map(Math.fround),
              `${kerasName} restored in place`,
            );
            slotsCompared++;
          });
        }
        assert.equal(
          slotsCompared,
          keras.optimizer_variables.length - 2,
          'every Keras slot variable compared',
        );

        // One more step on the batch Keras took next: the restored state gives Keras's weights.
        const x = new Tensor(Float32Array.from(keras.next_batch.x), keras.next_batch.x_shape);
        const y = new Tensor(Float32Array.from(keras.next_batch.y), [keras.next_batch.y.length]);
        await model.fit(x, y, {
          epochs: 1,
          batchSize: keras.next_batch.y.length,
          shuffle: false,
          verbose: 0,
        });
        const after = new Map(keras.weights_after_next_batch.map((weight) => [weight.path, weight.values]));
        for (const variable of model.weights) {
          assertClose(
            variable.value,
            after.get(kerasPathOf(model, variable, kerasPaths))!,
            2e-5,
            `${variable.path} after one more step`,
          );
        }
      },
    );
  }
}

/** The optimizer variables of a `.keras` archive's weights file, in stored (index) order. */
async function archiveOptimizerVariables(path: string): Promise<number[][]> {
  const weights = join(folder, 'extracted.weights.h5');
  writeFileSync(weights, unzipSync(readFileSync(path))['model.weights.h5']);
  const vars = (await readRawHdf5(weights)).groups.optimizer.groups.vars;
  return Object.keys(vars.datasets)
    .map(Number)
    .sort((a, b) => a - b)
    .map((index) => vars.datasets[String(index)].data);
}

/** A `.h5` file's optimizer variables in `weight_names` order, as [name, values]. */
function h5OptimizerVariables(file: RawGroup): Array<[string, number[]]> {
  const group = file.groups.optimizer_weights;
  const names = group.attrs.weight_names.value as string[];
  return names.map((name) => {
    let current = group;
    const parts = name.split('/');
    for (const part of parts.slice(0, -1)) current = current.groups[part];
    return [name, current.datasets[parts[parts.length - 1]].data];
  });
}

for (const name of Object.keys(MODELS)) {
  test(
    `${name}: warmstart writes the optimizer variables Keras wrote, in Keras's order (.keras by position, .h5 by name)`,
    {
      skip: requireFixture(
        [keras3Fixture(`${name}.keras`), keras3Fixture(`${name}.h5`)],
        'Keras 3 files with optimizer state',
      ),
    },
    async () => {
      const model = await loadModel(keras3Fixture(`${name}.keras`), quiet);
      const oursKeras = join(folder, `${name}.keras`);
      await saveModel(model, oursKeras);
      assert.deepEqual(
        await archiveOptimizerVariables(oursKeras),
        await archiveOptimizerVariables(keras3Fixture(`${name}.keras`)),
      );

      const oursH5 = join(folder, `${name}.h5`);
      await saveModel(model, oursH5);
      const theirs = h5OptimizerVariables(await readRawHdf5(keras3Fixture(`${name}.h5`)));
      const ours = h5OptimizerVariables(await readRawHdf5(oursH5));
      assert.equal(ours.length, theirs.length);
      ours.forEach(([oursName, oursValues], i) => {
        const [theirName, theirValues] = theirs[i];
        // Keras 3.11 prefixes a Sequential's variables with the model name; the rest of the name must agree.
        assert.ok(
          theirName.replace(`/${model.name}_`, '/').toLowerCase() === oursName.toLowerCase(),
          `variable ${i}: ours ${oursName}, Keras's ${theirName}`,
        );
        assert.deepEqual(oursValues, theirValues, oursName);
      });
    },
  );
}

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
