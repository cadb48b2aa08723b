import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { registerOptimizersCommand } from '../src/cli/optimizers.js';
import { registerTransferCommand } from '../src/cli/transfer.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { InputDataError } from '../src/models/errors.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { ShapeError, tensor } from '../src/tensor/tensor.js';

const quiet = { verbose: 0 } as const;

function classifier(units: number, activation: 'softmax' | 'sigmoid', loss: string): Sequential {
  setRandomSeed(4);
  const model = new Sequential([new Flatten({ inputShape: [2] }), new Dense({ units, activation })]);
  model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss, metrics: ['accuracy'] });
  return model;
}

const x = tensor(
  Float32Array.from({ length: 20 }, (_, i) => Math.sin(i)),
  [10, 2],
);

test('fit refuses an initialEpoch that is negative, NaN or fractional, naming it', async () => {
  const model = classifier(3, 'softmax', 'sparse_categorical_crossentropy');
  const y = tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
  for (const initialEpoch of [-5, NaN, 1.5]) {
    await assert.rejects(
      model.fit(x, y, { ...quiet, epochs: 2, initialEpoch }),
      (error: unknown) =>
        error instanceof InputDataError && /initialEpoch must be an integer ≥ 0/.test(error.message),
      String(initialEpoch),
    );
  }
  const history = await model.fit(x, y, { ...quiet, epochs: 3, initialEpoch: 1 });
  assert.deepEqual(history.epoch, [1, 2]);
});

test('a validationSplit that leaves no training (or no validation) sample is an error, not a silent no-op', async () => {
  const model = classifier(3, 'softmax', 'sparse_categorical_crossentropy');
  const y = tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
  await assert.rejects(
    model.fit(x, y, { ...quiet, validationSplit: 0.95 }),
    /validationSplit 0\.95 of 10 samples leaves no training samples/,
  );
  await assert.rejects(
    model.fit(x.slice(0, 1), y.slice(0, 1), { ...quiet, validationSplit: 0.5 }),
    InputDataError,
  );
  await assert.rejects(model.fit(x, y, { ...quiet, validationSplit: 1e-20 }), /leaves no validation samples/);
  const history = await model.fit(x, y, { ...quiet, validationSplit: 0.2 });
  assert.equal(history.history.val_loss.length, 1);
});

test('binary_crossentropy refuses targets outside [0, 1]; soft labels are fine', async () => {
  const model = classifier(1, 'sigmoid', 'binary_crossentropy');
  const labels = [0, 1, 1, 0, 2, 0, 1, 0, 1, 1];
  await assert.rejects(
    model.fit(x, tensor(labels, [10, 1]), quiet),
    (error: unknown) =>
      error instanceof InputDataError &&
      /binary_crossentropy takes targets in \[0, 1\].*got 2 in sample 4: for class indices use sparse_categorical_crossentropy/.test(
        error.message,
      ),
  );
  assert.throws(
    () =>
      model.evaluate(
        x,
        tensor(
          labels.map((v) => -v),
          [10, 1],
        ),
        quiet,
      ),
    InputDataError,
  );
  // Soft labels train: the one step over the 10 samples reports the loss evaluate gives before it.
  const softTargets = tensor([0.1, 0.9, 0.8, 0.2, 0.5, 0, 1, 0, 1, 0.95], [10, 1]);
  const expected = model.evaluate(x, softTargets, { ...quiet, returnDict: true }).loss;
  const soft = await model.fit(x, softTargets, quiet);
  assert.ok(
    Math.abs(soft.history.loss[0] - expected) <= 1e-6 * expected,
    `${soft.history.loss[0]} vs ${expected}`,
  );
});

test('categorical_crossentropy refuses what cannot be a distribution; one-hot and smoothed rows are fine', async () => {
  const model = classifier(3, 'softmax', 'categorical_crossentropy');
  const oneHot = (i: number): number[] => [0, 1, 2].map((j) => (j === i % 3 ? 1 : 0));
  const rows = Array.from({ length: 10 }, (_, i) => oneHot(i));
  await model.fit(x, tensor(rows), quiet);
  // Label smoothing 0.1, as Keras's CategoricalCrossentropy(label_smoothing=0.1) makes them.
  await model.fit(x, tensor(rows.map((row) => row.map((v) => v * 0.9 + 0.1 / 3))), quiet);
  const broken = (row: number[]): number[][] => rows.map((r, i) => (i === 6 ? row : r));
  await assert.rejects(
    model.fit(x, tensor(broken([0, 2, 0])), quiet),
    /the targets of sample 6 sum to 2, not 1/,
  );
  await assert.rejects(model.fit(x, tensor(broken([-0.5, 1, 0.5])), quiet), /got -0\.5 in sample 6/);
  await assert.rejects(model.fit(x, tensor(broken([NaN, 1, 0])), quiet), /got NaN in sample 6/);
  await assert.rejects(model.fit(x, tensor(broken([0.2, 0.2, 0.2])), quiet), /sum to 0\.6/);
  // Class indices given to the one-hot loss: said plainly.
  await assert.rejects(
    model.fit(x, tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]), quiet),
    /needs 3 target values per sample \(the model's output width\), got 1: for class indices use sparse_categorical_crossentropy/,
  );
});

test('fit on 0 rows says there are no samples; plain arrays work on a model without an input shape', async () => {
  const model = classifier(3, 'softmax', 'sparse_categorical_crossentropy');
  await assert.rejects(
    model.fit(tensor(new Float32Array(0), [0, 2]), tensor(new Float32Array(0)), quiet),
    (error: unknown) => error instanceof InputDataError && /fit: no training samples/.test(error.message),
  );
  assert.throws(() => model.evaluate(tensor(new Float32Array(0), [0, 2]), tensor([]), quiet), /no samples/);

  const bare = new Sequential([new Dense({ units: 2, activation: 'softmax' })]);
  bare.compile({ optimizer: 'sgd', loss: 'sparse_categorical_crossentropy' });
  const history = await bare.fit([[1, 2]], [0], quiet);
  assert.equal(history.history.loss.length, 1);
  assert.deepEqual(bare.inputShape, [2]);
  assert.equal(bare.predict([[3, 4]]).rows, 1);
  await assert.rejects(
    bare.fit({ rows: [[1, 2]] } as never, [0], quiet),
    (error: unknown) =>
      error instanceof ShapeError &&
      /fit: inputs must be a Tensor, nested arrays of numbers/.test(error.message),
  );
  assert.throws(() => bare.predict(tensor([1, 2])), /inputs need a batch axis.*reshape it to \[1, 2\]/);
});

/** Runs the command line's parser only: what the user sees before any data loads. */
function parseError(register: (program: Command) => void, args: string[]): string | null {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program);
  const command = program.commands[0];
  command.action(() => {});
  try {
    program.parse(['node', 'warmstart', command.name(), ...args]);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

test('every numeric CLI option is checked at parse time, with the same words in both study commands', () => {
  const commands = {
    transfer: registerTransferCommand,
    optimizers: (p: Command) => registerOptimizersCommand(p),
  };
  for (const [name, register] of Object.entries(commands)) {
    assert.match(
      parseError(register, ['--verbose', '7'])!,
      /--verbose.*expected 0 \(silent\), 1 \(progress bars\) or 2/,
      name,
    );
    assert.match(
      parseError(register, ['--batch-size', '0'])!,
      /--batch-size.*expected an integer ≥ 1, got '0'/,
      name,
    );
    assert.match(parseError(register, ['--batch-size', '1.5'])!, /expected an integer ≥ 1/, name);
    assert.match(parseError(register, ['--seeds', '0'])!, /--seeds.*expected an integer ≥ 1/, name);
    assert.match(
      parseError(register, ['--seed', '-1'])!,
      /--seed.*expected an integer in \[0, 4294967295\]/,
      name,
    );
    assert.match(parseError(register, ['--seed', 'abc'])!, /expected an integer/, name);
    assert.equal(parseError(register, ['--verbose', '2', '--batch-size', '64', '--seed', '0']), null, name);
  }
  assert.match(
    parseError(commands.optimizers, ['--epochs', '-1'])!,
    /--epochs.*expected an integer ≥ 1, got '-1'/,
  );
  assert.match(parseError(commands.optimizers, ['--epochs', '0'])!, /expected an integer ≥ 1, got '0'/);
  assert.match(
    parseError(commands.transfer, ['--epochs-a', '-1'])!,
    /--epochs-a.*expected an integer ≥ 0, got '-1'/,
  );
  assert.equal(parseError(commands.transfer, ['--epochs-frozen', '0']), null);
  assert.match(
    parseError(commands.transfer, ['--learning-rate', '0'])!,
    /expected a finite number > 0, got '0'/,
  );
  assert.match(parseError(commands.transfer, ['--learning-rate', 'Infinity'])!, /finite number > 0/);
});
