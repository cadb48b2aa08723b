import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerInspectCommand } from '../src/cli/inspect.js';
import { closeHdf5Worker, inspectModelFile, type ModelFileInfo, saveModel } from '../src/io/index.js';
import { Dense } from '../src/layers/dense.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/index.js';
import { requireFixture } from './helpers/fixtures.js';
import { kerasH5Fixture } from './helpers/kerasFixtures.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-inspect-'));

/** Runs `warmstart inspect …` through commander, capturing what it prints and the exit code it sets. */
async function runInspect(args: string[]): Promise<{ output: string; exitCode: number | undefined }> {
  let output = '';
  const program = new Command('warmstart')
    .exitOverride()
    .configureOutput({ writeOut: (text) => (output += text) });
  registerInspectCommand(program);
  const previousExitCode = process.exitCode;
  try {
    process.exitCode = undefined;
    await program.parseAsync(['node', 'warmstart', 'inspect', ...args]);
    return { output, exitCode: process.exitCode as number | undefined };
  } finally {
    process.exitCode = previousExitCode;
  }
}

test(
  'inspect describes model A from tf.keras 2.12: version, layers, shapes, parameters, optimizer, loss',
  { skip: requireFixture(kerasH5Fixture('dtn__my_model_A.h5'), 'the tf.keras 2.12 model A (shared folder)') },
  async () => {
    const path = kerasH5Fixture('dtn__my_model_A.h5');
    const { output, exitCode } = await runInspect([path]);
    assert.equal(exitCode, undefined);
    assert.match(output, /Saved by: Keras 2\.12\.0 \(backend: tensorflow\)/);
    assert.match(output, /dense_218 \(Dense\)\s+│ \(None, 300\)\s+│\s+235,500/);
    assert.match(output, /Total params: 276,158/);
    assert.match(output, /Optimizer: Custom>SGD \(.*learning_rate=0\.0010000000474974513.*momentum=0.*\)/);
    assert.match(output, /Optimizer state: 13 variables, 2750 iterations/);
    assert.match(output, /Loss: sparse_categorical_crossentropy/);
    assert.match(output, /Metrics: accuracy/);
    assert.match(output, /Loadable: yes/);

    const json = JSON.parse((await runInspect([path, '--json'])).output) as ModelFileInfo;
    assert.equal(json.kerasVersion, '2.12.0');
    assert.equal(json.loadable, true);
    assert.equal(json.parameters?.total, 276158);
    assert.deepEqual(json.layers[1], {
      name: 'dense_218',
      className: 'Dense',
      outputShape: [null, 300],
      parameters: 235500,
    });
  },
);

test(
  'inspect tells why a file cannot be loaded (custom layer), or only without compiling (custom loss)',
  {
    skip: requireFixture(
      [
        kerasH5Fixture('dtn__my_model_with_a_custom_layer.h5'),
        kerasH5Fixture('hopezh__my_model_with_a_custom_loss.h5'),
      ],
      'the custom-layer and custom-loss Keras files',
    ),
  },
  async () => {
    const layer = await runInspect([kerasH5Fixture('dtn__my_model_with_a_custom_layer.h5')]);
    assert.equal(layer.exitCode, 1);
    assert.match(layer.output, /my_dense \(MyDense\): 270 parameters/);
    assert.match(layer.output, /Optimizer: Custom>Nadam/);
    assert.match(layer.output, /Loadable: no: .*unknown layer class 'MyDense'/);

    const loss = await inspectModelFile(kerasH5Fixture('hopezh__my_model_with_a_custom_loss.h5'));
    assert.equal(loss.loadable, true);
    assert.equal(loss.compilable, false);
    assert.equal(loss.error?.code, 'UNKNOWN_LOSS');
    assert.equal(loss.loss, 'huber_fn');
    assert.deepEqual(loss.metrics, ['mae']);
    assert.equal(loss.optimizerState?.iterations, 3630);
  },
);

test('inspect reports files it cannot read instead of throwing, and reads warmstart’s own .keras', async () => {
  const junk = join(folder, 'junk.h5');
  writeFileSync(junk, 'not a model');
  const { output, exitCode } = await runInspect([junk]);
  assert.equal(exitCode, 1);
  assert.match(output, /Loadable: no: .*not a Keras model file/);
  const missing = await inspectModelFile(join(folder, 'missing.keras'));
  assert.equal(missing.error?.code, 'NOT_FOUND');

  const model = new Sequential(
    [new Dense({ units: 3, activation: 'relu', inputShape: [2] }), new Dense({ units: 1 })],
    { name: 'tiny' },
  );
  model.compile({ optimizer: new SGD({ learningRate: 0.1, momentum: 0.5 }), loss: 'mse' });
  const path = join(folder, 'tiny.keras');
  await saveModel(model, path);
  const info = await inspectModelFile(path);
  assert.equal(info.format, 'keras');
  assert.equal(info.compilable, true);
  assert.equal(info.optimizer?.className, 'SGD');
  assert.equal(info.optimizer?.config.momentum, 0.5);
  assert.equal(info.parameters?.total, 13);
  assert.match(info.summary ?? '', /Model: "tiny"/);
});

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
