/**
 * Defects the fuzzers (`test/fuzz/fuzz.ts`) found, each pinned by the smallest case that showed it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ConfigContext, modelFromConfig } from '../src/io/modelConfig.js';
import { ModelFileError } from '../src/io/index.js';
import { Dense } from '../src/layers/dense.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/index.js';
import { Tensor } from '../src/tensor/tensor.js';

test('a model fitted with one-column targets, recompiled with a loss of two-column targets, fits (was RangeError)', async () => {
  const model = new Sequential([new Dense({ units: 2, activation: 'softmax', inputShape: [3] })]);
  const x = new Tensor(
    Float32Array.from({ length: 12 }, (_, i) => (i % 5) / 5),
    [4, 3],
  );
  model.compile({ optimizer: new SGD(), loss: 'sparse_categorical_crossentropy' });
  await model.fit(x, new Tensor(Float32Array.of(0, 1, 1, 0), [4]), { batchSize: 4, verbose: 0 });
  model.compile({ optimizer: new SGD(), loss: 'mse' });
  // The target buffer kept the first fit's row length: its view of 4 rows was too short for 4×2 targets
  // (a RangeError from the reference kernels; the wasm kernels wrote past the block).
  const history = await model.fit(x, new Tensor(Float32Array.of(1, 0, 0, 1, 0, 1, 1, 0), [4, 2]), {
    batchSize: 4,
    verbose: 0,
  });
  assert.equal(history.history.loss.length, 1);
  assert.ok(history.history.loss[0] > 0 && history.history.loss[0] < 1, `loss ${history.history.loss[0]}`);
});

test('an InputLayer config without a shape is BAD_CONFIG when loading (was a model that accepts no input)', () => {
  const context: ConfigContext = { path: 'model.h5', fileBytes: 1000, customObjects: {}, warn: () => {} };
  assert.throws(
    () =>
      modelFromConfig(
        {
          class_name: 'Sequential',
          config: {
            name: 'sequential',
            layers: [
              { class_name: 'InputLayer', config: { name: 'input' } },
              { class_name: 'Dense', config: { name: 'dense', units: 2 } },
            ],
          },
        },
        context,
      ),
    (error: unknown) =>
      error instanceof ModelFileError &&
      error.code === 'BAD_CONFIG' &&
      /InputLayer.*no input shape/.test(error.message),
  );
});
