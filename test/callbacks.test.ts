import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { registerModelSaver } from '../src/models/baseModel.js';
import { Callback, type Logs } from '../src/models/callbacks.js';
import {
  CallbackArgumentError,
  CSVLogger,
  EarlyStopping,
  formatPython,
  LearningRateScheduler,
  ModelCheckpoint,
  NonFiniteLossError,
  pythonFloatRepr,
  ReduceLROnPlateau,
  TerminateOnNaN,
} from '../src/models/callbacks/index.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { globalRandom, setRandomSeed } from '../src/tensor/random.js';
import { type Tensor, tensor } from '../src/tensor/tensor.js';

/** A 3-class problem on 4 features, and a binary one. */
function problem(samples: number, seed = 1): { x: Tensor; y: Tensor; yReal: Tensor } {
  setRandomSeed(seed);
  const random = globalRandom();
  const x = new Float32Array(samples * 4);
  const y = new Float32Array(samples);
  const yReal = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    for (let j = 0; j < 4; j++) x[i * 4 + j] = random.normal();
    y[i] = x[i * 4] > 0.5 ? 2 : x[i * 4 + 1] > 0 ? 1 : 0;
    yReal[i] = 100 + 50 * x[i * 4 + 2];
  }
  return { x: tensor(x, [samples, 4]), y: tensor(y, [samples]), yReal: tensor(yReal, [samples, 1]) };
}

function classifier(learningRate = 0.05): Sequential {
  const model = new Sequential([
    new Flatten({ inputShape: [4] }),
    new Dense({ units: 6, activation: 'relu' }),
    new Dense({ units: 3, activation: 'softmax' }),
  ]);
  model.compile({
    optimizer: new SGD({ learningRate }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  return model;
}

/** Overwrites one log value per epoch with a scripted one, so a test decides what the monitor sees. */
class Scripted extends Callback {
  constructor(
    private readonly key: string,
    private readonly values: number[],
  ) {
    super();
  }
  override onEpochEnd(epoch: number, logs: Logs): void {
    logs[this.key] = this.values[epoch];
  }
}

/** Copies of the weights at each epoch end. */
class WeightsRecorder extends Callback {
  readonly weights: Tensor[][] = [];
  override onEpochEnd(): void {
    this.weights.push(this.model!.getWeights());
  }
}

function sameWeights(a: Tensor[], b: Tensor[]): boolean {
  return a.length === b.length && a.every((w, i) => w.data.every((v, j) => Object.is(v, b[i].data[j])));
}

function collector(): { write(text: string): void; text: string } {
  return {
    text: '',
    write(text: string) {
      this.text += text;
    },
  };
}

/** Fits a fresh classifier for up to `epochs` with `val_loss` (or `key`) scripted; returns epochs run. */
async function epochsRun(callback: Callback, values: number[], key = 'val_loss'): Promise<number> {
  const { x, y } = problem(40);
  const model = classifier();
  const history = await model.fit(x, y, {
    epochs: values.length,
    verbose: 0,
    validationData: [x, y],
    callbacks: [new Scripted(key, values), callback],
  });
  return history.epoch.length;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'warmstart-callbacks-'));
}

test('EarlyStopping stops after `patience` epochs without improvement, never after the first epoch', async () => {
  const patience2 = new EarlyStopping({ patience: 2 });
  assert.equal(await epochsRun(patience2, [1.0, 0.8, 0.85, 0.9, 0.7, 0.6]), 4);
  assert.equal(patience2.stoppedEpoch, 3);
  assert.equal(patience2.best, 0.8);
  assert.equal(patience2.bestEpoch, 1);
  // Default patience 0: the first epoch that does not improve stops training.
  assert.equal(await epochsRun(new EarlyStopping(), [1.0, 1.1, 0.5]), 2);
  assert.equal(await epochsRun(new EarlyStopping(), [1.0, 0.9, 0.8, 0.7]), 4);
  // minDelta: 0.95 is not an improvement on 1.0 by more than 0.1.
  assert.equal(await epochsRun(new EarlyStopping({ minDelta: 0.1, patience: 1 }), [1.0, 0.95, 0.5]), 2);
  assert.equal(await epochsRun(new EarlyStopping({ minDelta: -0.1, patience: 1 }), [1.0, 0.95, 0.5]), 2);
});

test('EarlyStopping infers the direction: val_accuracy is maximised, an unknown quantity needs a mode', async () => {
  assert.equal(
    await epochsRun(new EarlyStopping({ monitor: 'val_accuracy' }), [0.5, 0.6, 0.55, 0.9], 'val_accuracy'),
    3,
  );
  assert.equal(
    await epochsRun(
      new EarlyStopping({ monitor: 'val_accuracy', mode: 'min' }),
      [0.5, 0.6, 0.4],
      'val_accuracy',
    ),
    2,
  );
  await assert.rejects(epochsRun(new EarlyStopping({ monitor: 'val_custom' }), [1, 2], 'val_custom'), {
    name: 'CallbackArgumentError',
    message: /monitor='val_custom'.*mode: 'max'.*mode: 'min'/,
  });
  assert.equal(
    await epochsRun(new EarlyStopping({ monitor: 'val_custom', mode: 'max' }), [1, 2, 1.5], 'val_custom'),
    3,
  );
});

test('EarlyStopping baseline: waiting resets only when the value also beats the baseline', async () => {
  const values = [0.9, 0.8, 0.85, 0.3, 0.2];
  assert.equal(await epochsRun(new EarlyStopping({ patience: 2 }), values), 5);
  assert.equal(await epochsRun(new EarlyStopping({ patience: 2, baseline: 0.5 }), values), 3);
});

test('EarlyStopping startFromEpoch skips the warm-up epochs', async () => {
  assert.equal(await epochsRun(new EarlyStopping(), [1, 2, 3, 4, 5]), 2);
  assert.equal(await epochsRun(new EarlyStopping({ startFromEpoch: 2 }), [1, 2, 3, 4, 5]), 4);
});

test('EarlyStopping restoreBestWeights puts back the best epoch’s weights, and says so', async () => {
  const { x, y } = problem(60);
  const run = async (restoreBestWeights: boolean) => {
    const model = classifier();
    const recorder = new WeightsRecorder();
    const writer = collector();
    const history = await model.fit(x, y, {
      epochs: 6,
      verbose: 0,
      validationData: [x, y],
      callbacks: [
        new Scripted('val_loss', [1, 0.5, 0.7, 0.8, 0.9, 0.1]),
        recorder,
        new EarlyStopping({ patience: 2, restoreBestWeights, verbose: 1, writer }),
      ],
    });
    return { model, recorder, history, writer };
  };
  const restored = await run(true);
  assert.equal(restored.history.epoch.length, 4);
  assert.ok(
    sameWeights(restored.model.getWeights(), restored.recorder.weights[1]),
    'weights of epoch 2 (index 1)',
  );
  assert.ok(!sameWeights(restored.model.getWeights(), restored.recorder.weights[3]));
  assert.match(
    restored.writer.text,
    /Epoch 4: early stopping\nRestoring model weights from the end of the best epoch: 2\./,
  );
  const kept = await run(false);
  assert.ok(sameWeights(kept.model.getWeights(), kept.recorder.weights[3]), 'the last weights stay');
});

test('EarlyStopping rejects bad arguments clearly', () => {
  assert.throws(() => new EarlyStopping({ patience: -1 }), CallbackArgumentError);
  assert.throws(() => new EarlyStopping({ patience: 1.5 }), /patience must be an integer ≥ 0, got 1.5/);
  assert.throws(() => new EarlyStopping({ mode: 'maximum' as 'max' }), /mode must be 'auto', 'min' or 'max'/);
  assert.throws(() => new EarlyStopping({ monitor: '' }), /monitor must name a logged quantity/);
  assert.throws(() => new EarlyStopping({ minDelta: Number.NaN }), /minDelta must be a finite number/);
  assert.throws(() => new EarlyStopping({ startFromEpoch: -2 }), /startFromEpoch/);
  assert.throws(() => new EarlyStopping({ verbose: 2 as 1 }), /verbose must be 0 or 1/);
});

test('formatPython fills checkpoint paths as Python str.format does', () => {
  const values = { epoch: { int: 3 }, val_loss: { float: 0.123456 }, loss: { float: 2.5 } };
  assert.equal(formatPython('ckpt-{epoch:02d}-{val_loss:.4f}.keras', values), 'ckpt-03-0.1235.keras');
  assert.equal(
    formatPython('{epoch}-{loss}-{loss:.0f}-{val_loss:.2e}-{{x}}', values),
    '3-2.5-2-1.23e-01-{x}',
  );
  assert.equal(
    formatPython('{epoch:>4}|{epoch:<3}|{loss:08.3f}|{val_loss:.1%}', values),
    '   3|3  |0002.500|12.3%',
  );
  assert.throws(
    () => formatPython('{val_acc:.2f}', values),
    /names 'val_acc', which is not available; available: epoch, val_loss, loss/,
  );
  assert.throws(() => formatPython('{loss:d}', values), /unknown format code 'd' for 'loss', a float/);
  assert.throws(() => formatPython('{epoch', values), /unclosed/);
  assert.equal(pythonFloatRepr(1), '1.0');
  assert.equal(pythonFloatRepr(1e-5), '1e-05');
  assert.equal(pythonFloatRepr(0.0001), '0.0001');
  assert.equal(pythonFloatRepr(1.5e16), '1.5e+16');
  assert.equal(pythonFloatRepr(0.1 + 0.2), '0.30000000000000004');
  assert.equal(pythonFloatRepr(Number.NaN), 'nan');
});

test('ModelCheckpoint saves every epoch through model.save, filling {epoch:02d} and {val_loss:.4f}', async () => {
  const saves: string[] = [];
  registerModelSaver(async (model, path) => {
    assert.equal(typeof path, 'string', 'ModelCheckpoint saves to a path');
    if (typeof path !== 'string') return;
    saves.push(path);
    writeFileSync(path, JSON.stringify({ name: model.name, weights: model.getWeights().length }));
  });
  const folder = tempDir();
  try {
    const checkpoint = new ModelCheckpoint({
      filepath: join(folder, 'ckpt', 'model-{epoch:02d}-{val_loss:.4f}.keras'),
    });
    assert.equal(await epochsRun(checkpoint, [0.5, 0.25, 0.125]), 3);
    const expected = ['model-01-0.5000.keras', 'model-02-0.2500.keras', 'model-03-0.1250.keras'].map((name) =>
      join(folder, 'ckpt', name),
    );
    assert.deepEqual(saves, expected);
    assert.deepEqual(checkpoint.saved, expected);
    for (const path of expected) assert.equal(JSON.parse(readFileSync(path, 'utf8')).weights, 4);

    // saveBestOnly: only improvements are saved, with the monitored direction inferred.
    saves.length = 0;
    const best = new ModelCheckpoint({
      filepath: join(folder, 'best-{epoch}.h5'),
      saveBestOnly: true,
      monitor: 'val_accuracy',
    });
    await epochsRun(best, [0.5, 0.4, 0.7, 0.7, 0.9], 'val_accuracy');
    assert.deepEqual(
      saves,
      [1, 3, 5].map((epoch) => join(folder, `best-${epoch}.h5`)),
    );
    assert.equal(best.best, 0.9);

    // initialValueThreshold: nothing is saved until the threshold is beaten; verbose says why.
    saves.length = 0;
    const writer = collector();
    const threshold = new ModelCheckpoint({
      filepath: join(folder, 'threshold.keras'),
      saveBestOnly: true,
      initialValueThreshold: 0.3,
      verbose: 1,
      writer,
    });
    await epochsRun(threshold, [0.5, 0.2, 0.25]);
    assert.deepEqual(saves, [join(folder, 'threshold.keras')]);
    assert.match(writer.text, /Epoch 1: val_loss did not improve from 0\.30000/);
    assert.match(writer.text, /Epoch 2: val_loss improved from 0\.30000 to 0\.20000, saving model to /);
    assert.ok(existsSync(join(folder, 'threshold.keras')));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('ModelCheckpoint rejects bad paths and names a missing placeholder', async () => {
  assert.throws(
    () => new ModelCheckpoint({ filepath: 'model.txt' }),
    /must end in '\.keras' or '\.h5', got 'model\.txt'/,
  );
  assert.throws(
    () => new ModelCheckpoint({ filepath: 'model.keras', saveWeightsOnly: true }),
    /saveWeightsOnly the filepath must end in '\.weights\.h5'/,
  );
  assert.throws(() => new ModelCheckpoint({ filepath: '' }), CallbackArgumentError);
  assert.throws(
    () => new ModelCheckpoint({ filepath: 'm.keras', mode: 'up' as 'max' }),
    CallbackArgumentError,
  );
  registerModelSaver(async () => {});
  await assert.rejects(epochsRun(new ModelCheckpoint({ filepath: 'm-{val_acc:.2f}.keras' }), [1]), {
    name: 'CallbackArgumentError',
    message: /names 'val_acc', which is not available; available: .*val_loss/,
  });
  await assert.rejects(
    epochsRun(new ModelCheckpoint({ filepath: 'm.weights.h5', saveWeightsOnly: true }), [1]),
    /saveWeightsOnly needs model\.saveWeights/,
  );
});

test('ReduceLROnPlateau multiplies the rate by factor after patience epochs, honours cooldown and minLr', async () => {
  const { x, y } = problem(40);
  const run = async (options: ConstructorParameters<typeof ReduceLROnPlateau>[0], values: number[]) => {
    const model = classifier(0.1);
    const history = await model.fit(x, y, {
      epochs: values.length,
      verbose: 0,
      validationData: [x, y],
      callbacks: [new Scripted('val_loss', values), new ReduceLROnPlateau(options)],
    });
    return { rates: history.history.learning_rate, final: model.optimizer!.learningRate };
  };
  const flat = [1, 1, 1, 1, 1, 1];
  // The logged rate is the one the epoch trained with.
  // Learning rates are float32, as in Keras.
  const f32 = (values: number[]) => values.map(Math.fround);
  assert.deepEqual(await run({ factor: 0.5, patience: 2 }, flat), {
    rates: f32([0.1, 0.1, 0.1, 0.05, 0.05, 0.025]),
    final: Math.fround(0.025),
  });
  assert.deepEqual(await run({ factor: 0.5, patience: 2, cooldown: 2 }, flat), {
    rates: f32([0.1, 0.1, 0.1, 0.05, 0.05, 0.05]),
    final: Math.fround(0.025),
  });
  const floored = await run({ factor: 0.1, patience: 1, minLr: 0.005 }, [1, 1, 1, 1]);
  assert.equal(floored.final, Math.fround(0.005));
  // Improvements smaller than minDelta do not count.
  assert.deepEqual((await run({ factor: 0.5, patience: 1 }, [1, 0.99995, 0.5])).rates, f32([0.1, 0.1, 0.05]));
  // 'acc' in the name: maximised.
  const model = classifier(0.1);
  const history = await model.fit(x, y, {
    epochs: 3,
    verbose: 0,
    validationData: [x, y],
    callbacks: [
      new Scripted('val_accuracy', [0.5, 0.6, 0.7]),
      new ReduceLROnPlateau({ monitor: 'val_accuracy', patience: 1 }),
    ],
  });
  assert.deepEqual(history.history.learning_rate, f32([0.1, 0.1, 0.1]));
});

test('ReduceLROnPlateau rejects bad arguments clearly', () => {
  assert.throws(() => new ReduceLROnPlateau({ factor: 1 }), /does not support a factor ≥ 1, got factor=1/);
  assert.throws(() => new ReduceLROnPlateau({ factor: 0 }), /factor must be in \(0, 1\)/);
  assert.throws(() => new ReduceLROnPlateau({ patience: -3 }), CallbackArgumentError);
  assert.throws(() => new ReduceLROnPlateau({ cooldown: 0.5 }), /cooldown must be an integer/);
  assert.throws(() => new ReduceLROnPlateau({ minLr: -1 }), /minLr must be ≥ 0/);
});

test('LearningRateScheduler sets the rate each epoch, logs it, and the optimizer really uses it', async () => {
  const { x, y } = problem(40);
  const model = classifier(0.1);
  const writer = collector();
  const history = await model.fit(x, y, {
    epochs: 3,
    verbose: 0,
    callbacks: [
      new LearningRateScheduler((epoch, lr) => (epoch === 0 ? lr : lr / 2), { verbose: 1, writer }),
    ],
  });
  assert.deepEqual(history.history.learning_rate, [0.1, 0.05, 0.025].map(Math.fround));
  assert.match(writer.text, /Epoch 3: LearningRateScheduler setting learning rate to 0\.02500000037252903\./);

  // A rate of 0 leaves the weights untouched.
  const frozen = classifier(0.1);
  const before = frozen.getWeights();
  await frozen.fit(x, y, { epochs: 2, verbose: 0, callbacks: [new LearningRateScheduler(() => 0)] });
  assert.ok(sameWeights(frozen.getWeights(), before));

  assert.throws(
    () => new LearningRateScheduler(0.1 as unknown as () => number),
    /schedule must be a function/,
  );
  await assert.rejects(
    classifier().fit(x, y, {
      epochs: 1,
      verbose: 0,
      callbacks: [new LearningRateScheduler(() => Number.NaN)],
    }),
    /the schedule must return a finite number ≥ 0, got NaN for epoch 0/,
  );
});

test('CSVLogger writes Keras’s layout: sorted keys, 0-based epochs, Python floats, \\r\\n, and appends', async () => {
  const { x, y } = problem(40);
  const folder = tempDir();
  try {
    const file = join(folder, 'logs', 'training.csv');
    const model = classifier();
    const history = await model.fit(x, y, {
      epochs: 2,
      verbose: 0,
      validationData: [x, y],
      callbacks: [new CSVLogger(file)],
    });
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\r\n');
    assert.equal(lines.length, 4);
    assert.equal(lines[3], '');
    assert.equal(lines[0], 'epoch,accuracy,loss,val_accuracy,val_loss');
    lines.slice(1, 3).forEach((line, epoch) => {
      const fields = line.split(',');
      assert.equal(fields[0], String(epoch));
      assert.equal(fields[2], pythonFloatRepr(history.history.loss[epoch]));
      assert.equal(Number(fields[4]), history.history.val_loss[epoch]);
    });

    // append: no second header; separator; no validation → NA columns for the val_ keys.
    const semicolons = join(folder, 'semi.csv');
    await classifier().fit(x, y, {
      epochs: 1,
      verbose: 0,
      callbacks: [new CSVLogger(semicolons, { separator: ';' })],
    });
    await classifier().fit(x, y, {
      epochs: 2,
      verbose: 0,
      callbacks: [new CSVLogger(semicolons, { separator: ';', append: true })],
    });
    const rows = readFileSync(semicolons, 'utf8').split('\r\n');
    assert.equal(rows[0], 'epoch;accuracy;loss;val_accuracy;val_loss');
    assert.deepEqual(
      rows.slice(1, 4).map((row) => row.split(';')[0]),
      ['0', '0', '1'],
    );
    assert.ok(rows.slice(1, 4).every((row) => row.endsWith(';NA;NA')));
    assert.equal(rows.filter((row) => row.startsWith('epoch')).length, 1);
    // Overwrite without append.
    await classifier().fit(x, y, {
      epochs: 1,
      verbose: 0,
      callbacks: [new CSVLogger(semicolons, { separator: ';' })],
    });
    assert.equal(readFileSync(semicolons, 'utf8').split('\r\n').length, 3);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  assert.throws(() => new CSVLogger(''), CallbackArgumentError);
  assert.throws(() => new CSVLogger('a.csv', { separator: '::' }), /separator must be one character/);
});

test('TerminateOnNaN stops training on a non-finite loss, or throws with raiseError', async () => {
  const { x, yReal } = problem(64);
  const diverging = () => {
    const model = new Sequential([new Flatten({ inputShape: [4] }), new Dense({ units: 1 })]);
    model.compile({ optimizer: new SGD({ learningRate: 1e6 }), loss: 'mse' });
    return model;
  };
  const writer = collector();
  const model = diverging();
  const history = await model.fit(x, yReal, {
    epochs: 5,
    batchSize: 1,
    verbose: 0,
    callbacks: [new TerminateOnNaN({ writer })],
  });
  assert.equal(model.stopTraining, true);
  assert.ok(history.epoch.length < 5, `training went on for ${history.epoch.length} epochs`);
  assert.ok(!Number.isFinite(history.history.loss.at(-1)!));
  assert.match(writer.text, /^Batch \d+: Invalid loss, terminating training\n$/);

  const ended: string[] = [];
  class EndWatcher extends Callback {
    override onTrainEnd(): void {
      ended.push('end');
    }
  }
  await assert.rejects(
    diverging().fit(x, yReal, {
      epochs: 5,
      batchSize: 1,
      verbose: 0,
      callbacks: [new TerminateOnNaN({ raiseError: true }), new EndWatcher()],
    }),
    (error: unknown) =>
      error instanceof NonFiniteLossError && /NaN or Inf loss encountered at batch \d+/.test(error.message),
  );
  assert.deepEqual(ended, [], 'raiseError skips onTrainEnd, as in Keras');

  // A healthy run is left alone.
  const healthy = classifier();
  const { y } = problem(64);
  const fine = await healthy.fit(x, y, { epochs: 2, verbose: 0, callbacks: [new TerminateOnNaN()] });
  assert.equal(fine.epoch.length, 2);
});

test('ModelCheckpoint writes real Keras files through warmstart’s io, which load back to the same model', async () => {
  const { loadModel } = await import('../src/io/index.js'); // registers the real model.save
  const folder = tempDir();
  try {
    const { x, y } = problem(40);
    const model = classifier();
    model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    const checkpoint = new ModelCheckpoint({
      filepath: join(folder, 'best.keras'),
      monitor: 'val_accuracy',
      saveBestOnly: true,
    });
    await model.fit(x, y, {
      epochs: 3,
      verbose: 0,
      validationData: [x, y],
      callbacks: [new Scripted('val_accuracy', [0.5, 0.4, 0.3]), checkpoint],
    });
    assert.deepEqual(checkpoint.saved, [join(folder, 'best.keras')]);
    assert.deepEqual(readdirSync(folder), ['best.keras'], 'no temporary file is left behind');
    const loaded = await loadModel(join(folder, 'best.keras'));
    assert.equal(loaded.getWeights().length, model.getWeights().length);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
