/**
 * The notebook's flow after loading: `loadModel('my_model_A.h5')` in a fresh process, then its layers with a
 * new head, must not collide with the loaded names; and `loadModel` returns a typed model without a cast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHdf5Worker, loadModel, ModelFileError, saveModel } from '../src/io/index.js';
import { clearSession } from '../src/layers/layer.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { BaseModel } from '../src/models/baseModel.js';
import { cloneModel } from '../src/models/cloneModel.js';
import { Input, Model } from '../src/models/functional.js';
import { Sequential } from '../src/models/sequential.js';
import { setRandomSeed } from '../src/tensor/random.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-load-api-'));
const quiet = { onWarning: () => {} };

/** The notebook's model A (smaller), built in a fresh session: layers `flatten`, `dense` … `dense_3`. */
async function saveModelA(path: string): Promise<void> {
  clearSession();
  setRandomSeed(42);
  const modelA = new Sequential([
    new Flatten({ inputShape: [4, 4] }),
    new Dense({ units: 6, activation: 'selu' }),
    new Dense({ units: 5, activation: 'selu' }),
    new Dense({ units: 4, activation: 'selu' }),
    new Dense({ units: 8, activation: 'softmax' }),
  ]);
  assert.deepEqual(
    modelA.layers.map((layer) => layer.name),
    ['flatten', 'dense', 'dense_1', 'dense_2', 'dense_3'],
  );
  modelA.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  await saveModel(modelA, path);
}

for (const extension of ['.h5', '.keras']) {
  test(`in a fresh session, model A loaded from ${extension} takes a new Dense head without a name collision`, async () => {
    const path = join(folder, `my_model_A${extension}`);
    await saveModelA(path);
    clearSession(); // A fresh process: no automatic name has been given yet.
    const modelA = await loadModel(path, { ...quiet, expect: Sequential });
    const modelBOnA = new Sequential(modelA.layers.slice(0, -1));
    modelBOnA.add(new Dense({ units: 1, activation: 'sigmoid' }));
    assert.deepEqual(
      modelBOnA.layers.map((layer) => layer.name),
      ['flatten', 'dense', 'dense_1', 'dense_2', 'dense_4'],
      'the new head is named after the highest loaded dense_N',
    );
    // The book's variant: a clone of A (same names) gets its head too.
    const clone = cloneModel(modelA);
    const cloneOnA = new Sequential(clone.layers.slice(0, -1));
    cloneOnA.add(new Dense({ units: 1, activation: 'sigmoid' }));
    assert.equal(cloneOnA.layers[4].name, 'dense_5');
    assert.notEqual(new Flatten().name, 'flatten', 'loaded flatten is reserved too');
    assert.notEqual(new Sequential().name, modelA.name, 'and so is the model name');
  });
}

test('a real name collision says to pass another name', () => {
  const first = new Dense({ units: 2, inputShape: [3], name: 'head' });
  assert.throws(
    () => new Sequential([first, new Dense({ units: 1, name: 'head' })]),
    (error: unknown) =>
      error instanceof Error &&
      /already has a layer named 'head'/.test(error.message) &&
      /pass another name to the new layer \(for example \{ name: 'head_2' \}/.test(error.message),
  );
  const input = Input({ shape: [3] });
  const hidden = new Dense({ units: 2, name: 'twin' }).apply(input);
  assert.throws(
    () => new Model({ inputs: input, outputs: new Dense({ units: 1, name: 'twin' }).apply(hidden) }),
    /named 'twin'.*pass another name/,
  );
});

test('loadModel returns the class the file holds; expect narrows the type and checks it', async () => {
  const sequentialPath = join(folder, 'sequential.keras');
  await saveModelA(sequentialPath);
  const input = Input({ shape: [3] });
  const functional = new Model({ inputs: input, outputs: new Dense({ units: 2 }).apply(input) });
  const functionalPath = join(folder, 'functional.h5');
  await saveModel(functional, functionalPath);

  const loaded = await loadModel(sequentialPath, quiet);
  // @ts-expect-error Without `expect` the type is `Sequential | Model` (checked by `tsc -p tsconfig.check.json`).
  const unchecked: Sequential = loaded;
  assert.ok(unchecked instanceof Sequential, 'a Sequential file gives a Sequential');
  const sequential: Sequential = await loadModel(sequentialPath, { ...quiet, expect: Sequential });
  sequential.pop(); // `Sequential` methods type-check without a cast.
  const model: Model = await loadModel(functionalPath, { ...quiet, expect: Model });
  assert.ok(model instanceof Model);
  const any: BaseModel = await loadModel(functionalPath, { ...quiet, expect: BaseModel });
  assert.ok(any instanceof Model);
  assert.ok((await loadModel(functionalPath, quiet)) instanceof Model);

  await assert.rejects(loadModel(functionalPath, { ...quiet, expect: Sequential }), (error: unknown) => {
    assert.ok(error instanceof ModelFileError);
    assert.equal(error.code, 'WRONG_MODEL_CLASS');
    assert.match(
      error.message,
      /holds a functional Model, not a Sequential: load it with \{ expect: Model \}/,
    );
    return true;
  });
  await assert.rejects(
    loadModel(sequentialPath, { ...quiet, expect: Model }),
    (error: unknown) => error instanceof ModelFileError && error.code === 'WRONG_MODEL_CLASS',
  );
});

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
