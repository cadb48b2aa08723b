import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerOptimizersCommand } from '../src/cli/optimizers.js';
import { registerTransferCommand } from '../src/cli/transfer.js';
import { buildRaceNetwork } from '../src/experiments/optimizers.js';
import { buildDenseNetwork } from '../src/experiments/transfer.js';
import { loadModel } from '../src/io/index.js';
import { Dense } from '../src/layers/dense.js';
import type { BaseModel } from '../src/models/baseModel.js';
import { requireFixture } from './helpers/fixtures.js';
import { kerasH5Fixture } from './helpers/kerasFixtures.js';

/** Each layer as `Class:units:activation:kernel initializer`, from its Keras config. */
function describeLayers(model: BaseModel): string[] {
  return model.layers.map((layer) => {
    const config = layer.getConfig() as {
      units?: number;
      activation?: string;
      kernel_initializer?: { class_name: string };
    };
    return [
      layer.className,
      config.units ?? '',
      config.activation ?? '',
      config.kernel_initializer?.class_name ?? '',
    ].join(':');
  });
}

/** The notebook's model A: `Flatten(input_shape=[28, 28])`, `Dense(n, activation="selu")` ×5, `Dense(8, "softmax")`. */
const NOTEBOOK_MODEL_A = [
  'Flatten:::',
  'Dense:300:selu:GlorotUniform',
  'Dense:100:selu:GlorotUniform',
  'Dense:50:selu:GlorotUniform',
  'Dense:50:selu:GlorotUniform',
  'Dense:50:selu:GlorotUniform',
  'Dense:8:softmax:GlorotUniform',
];

test("the study's network is the notebook's: every Dense starts from Keras's default glorot_uniform", () => {
  const modelA = buildDenseNetwork(new Dense({ units: 8, activation: 'softmax' }));
  assert.deepEqual(describeLayers(modelA), NOTEBOOK_MODEL_A);
  assert.deepEqual(modelA.inputShape, [28, 28]);
  // The optimizer race trains the same network.
  assert.deepEqual(describeLayers(buildRaceNetwork(8)), NOTEBOOK_MODEL_A);
});

test('lecun_normal stays available for the hidden layers (the book’s later advice for SELU)', () => {
  const model = buildDenseNetwork(new Dense({ units: 1, activation: 'sigmoid' }), 'b', 'lecun_normal');
  assert.deepEqual(describeLayers(model).slice(1, 6), [
    'Dense:300:selu:LecunNormal',
    'Dense:100:selu:LecunNormal',
    'Dense:50:selu:LecunNormal',
    'Dense:50:selu:LecunNormal',
    'Dense:50:selu:LecunNormal',
  ]);
  assert.deepEqual(describeLayers(buildRaceNetwork(10, 'lecun_normal'))[1], 'Dense:300:selu:LecunNormal');
});

test(
  'the same layers as the model A that Python Keras saved when the notebook ran',
  {
    skip: requireFixture(
      [kerasH5Fixture('hopezh__my_model_A.h5'), kerasH5Fixture('dtn__my_model_A.h5')],
      "Python Keras's model A files (the shared folder's Keras fixtures)",
    ),
  },
  async () => {
    for (const file of ['hopezh__my_model_A.h5', 'dtn__my_model_A.h5']) {
      const saved = await loadModel(kerasH5Fixture(file), { compile: false });
      const built = buildDenseNetwork(new Dense({ units: 8, activation: 'softmax' }));
      assert.deepEqual(describeLayers(built), describeLayers(saved), file);
    }
  },
);

/** Parses a command line without running the command's action. */
function parse(register: (program: Command) => void, args: string[]): Record<string, unknown> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program);
  let options: Record<string, unknown> = {};
  const command = program.commands[0];
  command.action((parsed: Record<string, unknown>) => {
    options = parsed;
  });
  program.parse(['node', 'warmstart', command.name(), ...args]);
  return options;
}

test('--kernel-initializer: glorot_uniform by default, any Keras initializer by name, a typo refused', () => {
  for (const register of [registerTransferCommand, (p: Command) => registerOptimizersCommand(p)]) {
    assert.equal(parse(register, []).kernelInitializer, 'glorot_uniform');
    assert.equal(parse(register, ['--kernel-initializer', 'lecun_normal']).kernelInitializer, 'lecun_normal');
    assert.throws(
      () => parse(register, ['--kernel-initializer', 'lecun_normall']),
      /unknown initializer 'lecun_normall'/,
    );
  }
});
