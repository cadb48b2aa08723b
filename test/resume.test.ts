import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BACKUP_STATE_FILE,
  BackupAndRestore,
  BackupError,
  loadModel,
  type SaveModelOptions,
  saveModel,
} from '../src/io/index.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import type { BaseModel } from '../src/models/baseModel.js';
import { Callback } from '../src/models/callbacks.js';
import { ModelCheckpoint, TerminateOnNaN } from '../src/models/callbacks/index.js';
import { FitStateError } from '../src/models/errors.js';
import { Sequential } from '../src/models/sequential.js';
import { Adam } from '../src/optimizers/adam.js';
import type { Optimizer } from '../src/optimizers/optimizer.js';
import { SGD } from '../src/optimizers/sgd.js';
import {
  getRandomState,
  globalRandom,
  RandomGenerator,
  RandomStateError,
  setRandomSeed,
  setRandomState,
} from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'warmstart-resume-'));
}

/** A binary problem on 6 features (so AUC and Precision, whose state is a confusion matrix, apply). */
function binaryData(count: number, seed: number): { x: Tensor; y: Tensor } {
  const random = new RandomGenerator(seed);
  const x = new Float32Array(count * 6);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    for (let f = 0; f < 6; f++) x[i * 6 + f] = random.normal();
    y[i] = x[i * 6] + 0.5 * x[i * 6 + 1] > 0 ? 1 : 0;
  }
  return { x: new Tensor(x, [count, 6]), y: new Tensor(y, [count, 1]) };
}

const OPTIMIZERS: Record<string, () => Optimizer> = {
  sgd: () => new SGD({ learningRate: 0.05 }),
  momentum: () => new SGD({ learningRate: 0.02, momentum: 0.9, nesterov: true }),
  adam: () => new Adam({ learningRate: 0.01 }),
};

/** The same model every time (seeded weights, explicit names), as a restarted program would build it. */
function buildModel(optimizer: string): Sequential {
  setRandomSeed(5);
  const model = new Sequential([
    new Dense({ units: 12, activation: 'relu', inputShape: [6], name: 'hidden' }),
    new Dropout({ rate: 0.25, name: 'drop' }),
    new Dense({ units: 8, activation: 'tanh', name: 'hidden_2' }),
    new Dropout({ rate: 0.2, seed: 17, name: 'drop_seeded' }),
    new Dense({ units: 1, activation: 'sigmoid', name: 'head' }),
  ]);
  model.compile({
    optimizer: OPTIMIZERS[optimizer](),
    loss: 'binary_crossentropy',
    metrics: ['accuracy', 'AUC', 'Precision'],
  });
  return model;
}

/** Throws at the end of a given batch (or epoch, with batch null) of a given epoch: a crash. */
class Crash extends Callback {
  private epoch = 0;
  constructor(
    private readonly atEpoch: number,
    private readonly atBatch: number | null,
  ) {
    super();
  }
  override onEpochBegin(epoch: number): void {
    this.epoch = epoch;
  }
  override onBatchEnd(batch: number): void {
    if (this.epoch === this.atEpoch && batch === this.atBatch) throw new Error('crash');
  }
  override onEpochEnd(epoch: number): void {
    if (epoch === this.atEpoch && this.atBatch === null) throw new Error('crash');
  }
}

function bits(model: BaseModel): string[] {
  return model.getWeights().map((weight) => Buffer.from(weight.data.buffer).toString('hex'));
}

const train = binaryData(90, 1);
const valid = binaryData(30, 2);
/** 90 samples in batches of 8: 12 batches per epoch, the last of 2 samples. */
const FIT = { epochs: 4, batchSize: 8, verbose: 0, validationData: [valid.x, valid.y] } as const;

test('getRandomState/setRandomState continue the global sequence exactly, a pending Box–Muller spare included', () => {
  setRandomSeed(3);
  globalRandom().normal(); // leaves a spare normal deviate
  const state = getRandomState();
  assert.notEqual(state.spareNormal, null);
  const expected = [globalRandom().normal(), globalRandom().uniform(), globalRandom().nextUint32()];
  setRandomSeed(99);
  setRandomState(JSON.parse(JSON.stringify(state)));
  assert.deepEqual(
    [globalRandom().normal(), globalRandom().uniform(), globalRandom().nextUint32()],
    expected,
  );
  assert.throws(() => setRandomState({ ...state, words: [0, 0, 0, 0] }), RandomStateError);
  assert.throws(() => setRandomState({ ...state, words: [1, 2, 3] as never }), /four integers/);
  assert.throws(() => setRandomState({ ...state, algorithm: 'mt19937' as never }), RandomStateError);
});

test('fit draws its seed once from the global generator; epoch k’s order and masks depend on (seed, k) only', async () => {
  const run = async (options: { seed?: number; initialEpoch?: number; epochs: number }) => {
    const model = buildModel('sgd');
    const seen: number[] = [];
    const history = await model.fit(train.x, train.y, {
      ...FIT,
      ...options,
      callbacks: [
        new (class extends Callback {
          override onTrainBegin(): void {
            seen.push(this.params!.seed);
          }
        })(),
      ],
    });
    return { model, history, seed: seen[0] };
  };
  // The default seed is the global generator's next 32-bit number after the model was built.
  setRandomSeed(5);
  const model = buildModel('sgd');
  const expectedSeed = globalRandom().nextUint32();
  void model;
  const first = await run({ epochs: 2 });
  assert.equal(first.seed, expectedSeed);
  const again = await run({ epochs: 2 });
  assert.deepEqual(bits(again.model), bits(first.model), 'the same program gives the same weights');
  const explicit = await run({ epochs: 2, seed: expectedSeed });
  assert.deepEqual(bits(explicit.model), bits(first.model), 'the seed option is that same seed');
  const other = await run({ epochs: 2, seed: expectedSeed + 1 });
  assert.notDeepEqual(bits(other.model), bits(first.model), 'another seed, other batches and masks');
  await assert.rejects(run({ epochs: 1, seed: -1 }), /seed must be an integer in \[0, 2³²\)/);
});

test('fit({ initialEpoch: k }) on a model saved after epoch k − 1 continues exactly as the uninterrupted run', async () => {
  const folder = tempDir();
  try {
    for (const optimizer of ['sgd', 'adam']) {
      // Without the seeded Dropout: a layer's own generator is not in a model file (BackupAndRestore keeps it).
      const plain = (): Sequential => {
        setRandomSeed(8);
        const model = new Sequential([
          new Dense({ units: 10, activation: 'relu', inputShape: [6] }),
          new Dropout({ rate: 0.3 }),
          new Dense({ units: 1, activation: 'sigmoid' }),
        ]);
        model.compile({
          optimizer: OPTIMIZERS[optimizer](),
          loss: 'binary_crossentropy',
          metrics: ['accuracy'],
        });
        return model;
      };
      const whole = plain();
      const checkpoint = new ModelCheckpoint({ filepath: join(folder, `${optimizer}-{epoch}.keras`) });
      const full = await whole.fit(train.x, train.y, { ...FIT, seed: 4242, callbacks: [checkpoint] });
      const resumed = await loadModel(join(folder, `${optimizer}-2.keras`));
      const rest = await resumed.fit(train.x, train.y, { ...FIT, seed: 4242, initialEpoch: 2 });
      assert.deepEqual(bits(resumed), bits(whole), optimizer);
      assert.deepEqual(rest.epoch, [2, 3]);
      assert.deepEqual(rest.history.loss, full.history.loss.slice(2), optimizer);
      assert.deepEqual(rest.history.val_accuracy, full.history.val_accuracy.slice(2), optimizer);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

for (const optimizer of Object.keys(OPTIMIZERS)) {
  test(`BackupAndRestore (every 4 batches): a run crashed twice resumes bit for bit (${optimizer}, Dropout, AUC)`, async () => {
    const folder = tempDir();
    try {
      const uninterrupted = buildModel(optimizer);
      const expected = await uninterrupted.fit(train.x, train.y, FIT);
      const expectedRandom = getRandomState();

      const backupDir = join(folder, 'backup');
      const attempt = (crash: Callback | null) => {
        const model = buildModel(optimizer);
        const backup = new BackupAndRestore({ backupDir, saveFreq: 4, restoreHistory: true });
        const fit = model.fit(train.x, train.y, { ...FIT, callbacks: [backup, ...(crash ? [crash] : [])] });
        return { model, backup, fit };
      };
      // 12 batches per epoch, a backup after every 4th counted from the start: after batches 3, 7 and 11 of
      // each epoch. Crash after batch 6 of epoch 1 (its last backup: after batch 3), then at the end of epoch
      // 2, whose last backup came after its last batch, before validation.
      const first = attempt(new Crash(1, 6));
      await assert.rejects(first.fit, /crash/);
      assert.ok(existsSync(join(backupDir, BACKUP_STATE_FILE)));
      const second = attempt(new Crash(2, null));
      await assert.rejects(second.fit, /crash/);
      assert.deepEqual(
        second.backup.restoredFrom,
        { epoch: 1, step: 4 },
        'restored after batch 3 of epoch 1',
      );
      const last = attempt(null);
      const history = await last.fit;
      assert.deepEqual(last.backup.restoredFrom, { epoch: 2, step: 12 }, 'after the last batch of epoch 2');

      assert.deepEqual(bits(last.model), bits(uninterrupted));
      assert.deepEqual(history.epoch, expected.epoch);
      assert.deepEqual(history.history, expected.history);
      assert.deepEqual(getRandomState(), expectedRandom, 'the global generator ends where it would have');
      assert.equal(existsSync(backupDir), false, 'deleteCheckpoint removes the backup once fit ends');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
}

test('BackupAndRestore every epoch (Keras’s default) restarts an interrupted epoch from its first batch, still exactly', async () => {
  const folder = tempDir();
  try {
    const uninterrupted = buildModel('adam');
    const expected = await uninterrupted.fit(train.x, train.y, FIT);
    const backupDir = join(folder, 'backup');
    const crashed = buildModel('adam');
    await assert.rejects(
      crashed.fit(train.x, train.y, {
        ...FIT,
        callbacks: [new BackupAndRestore({ backupDir }), new Crash(2, 6)],
      }),
    );
    const model = buildModel('adam');
    const backup = new BackupAndRestore({ backupDir });
    const history = await model.fit(train.x, train.y, { ...FIT, callbacks: [backup] });
    assert.deepEqual(backup.restoredFrom, { epoch: 2, step: 0 });
    assert.deepEqual(bits(model), bits(uninterrupted));
    // As Keras: without restoreHistory, the resumed fit's History holds the epochs it ran.
    assert.deepEqual(history.epoch, [2, 3]);
    assert.deepEqual(history.history.loss, expected.history.loss.slice(2));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('BackupAndRestore keeps its backup with deleteCheckpoint: false; a finished backup trains nothing more', async () => {
  const folder = tempDir();
  try {
    const backupDir = join(folder, 'backup');
    const options = { backupDir, deleteCheckpoint: false, restoreHistory: true };
    const model = buildModel('sgd');
    const full = await model.fit(train.x, train.y, { ...FIT, callbacks: [new BackupAndRestore(options)] });
    assert.deepEqual(readdirSync(backupDir).sort(), ['checkpoint-4.keras', BACKUP_STATE_FILE]);
    const again = buildModel('sgd');
    const backup = new BackupAndRestore(options);
    const history = await again.fit(train.x, train.y, { ...FIT, callbacks: [backup] });
    assert.deepEqual(backup.restoredFrom, { epoch: 4, step: 0 });
    assert.deepEqual(history.history, full.history);
    assert.deepEqual(bits(again), bits(model));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('BackupAndRestore refuses a backup of another run, bad state files and bad arguments, naming the fix', async () => {
  const folder = tempDir();
  try {
    const backupDir = join(folder, 'backup');
    await assert.rejects(
      buildModel('sgd').fit(train.x, train.y, {
        ...FIT,
        callbacks: [new BackupAndRestore({ backupDir, saveFreq: 3 }), new Crash(0, 4)],
      }),
      /crash/,
    );
    // Another batch size: other batches per epoch.
    await assert.rejects(
      buildModel('sgd').fit(train.x, train.y, {
        ...FIT,
        batchSize: 16,
        callbacks: [new BackupAndRestore({ backupDir })],
      }),
      (error: unknown) =>
        error instanceof BackupError &&
        /saved by a fit of 12 batches per epoch, this one has 6 .*batch size 16.*remove the folder/.test(
          error.message,
        ),
    );
    // Another optimizer: its state does not fit.
    const other = buildModel('sgd');
    other.compile({
      optimizer: new Adam(),
      loss: 'binary_crossentropy',
      metrics: ['accuracy', 'AUC', 'Precision'],
    });
    await assert.rejects(
      other.fit(train.x, train.y, { ...FIT, callbacks: [new BackupAndRestore({ backupDir })] }),
      BackupError,
    );
    // Other metrics: their running sums cannot be restored.
    const fewer = buildModel('sgd');
    fewer.compile({
      optimizer: new SGD({ learningRate: 0.05 }),
      loss: 'binary_crossentropy',
      metrics: ['accuracy'],
    });
    await assert.rejects(
      fewer.fit(train.x, train.y, { ...FIT, callbacks: [new BackupAndRestore({ backupDir })] }),
      /3 metric states, the model was compiled with 1 metrics/,
    );
    writeFileSync(join(backupDir, BACKUP_STATE_FILE), '{"format": "warmstart-backup"');
    await assert.rejects(
      buildModel('sgd').fit(train.x, train.y, { ...FIT, callbacks: [new BackupAndRestore({ backupDir })] }),
      (error: unknown) =>
        error instanceof BackupError && /not a backup state .*remove the folder/.test(error.message),
    );
    assert.throws(() => new BackupAndRestore({ backupDir: '' }), /backupDir must be a non-empty folder path/);
    assert.throws(
      () => new BackupAndRestore({ backupDir, saveFreq: 0 }),
      /saveFreq must be 'epoch' or a positive/,
    );
    assert.throws(() => new BackupAndRestore({ backupDir, saveFreq: 'batch' as never }), /saveFreq/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('getFitState and restoreFitState work only inside fit, and restoring only from onTrainBegin', async () => {
  const model = buildModel('sgd');
  assert.throws(() => model.getFitState(), FitStateError);
  let state: ReturnType<BaseModel['getFitState']> | null = null;
  let late: unknown = null;
  await model.fit(train.x, train.y, {
    ...FIT,
    epochs: 1,
    callbacks: [
      new (class extends Callback {
        override onBatchEnd(batch: number): void {
          if (batch !== 2) return;
          state = this.model!.getFitState();
          try {
            this.model!.restoreFitState(state);
          } catch (error) {
            late = error;
          }
        }
      })(),
    ],
  });
  assert.ok(late instanceof FitStateError && /onTrainBegin/.test(late.message));
  assert.equal(state!.step, 3);
  assert.equal(state!.seen, 24);
  assert.equal(state!.metrics.length, 3);
});

test('ModelCheckpoint saveFreq: N saves every N batches across epochs, filling {batch}', async () => {
  const folder = tempDir();
  try {
    const checkpoint = new ModelCheckpoint({
      filepath: join(folder, 'm-{epoch}-{batch}.keras'),
      saveFreq: 5,
    });
    const model = buildModel('sgd');
    const weightsAtSave: string[][] = [];
    await model.fit(train.x, train.y, {
      ...FIT,
      epochs: 2,
      callbacks: [
        checkpoint,
        new (class extends Callback {
          override onBatchEnd(): void {
            if (checkpoint.saved.length > weightsAtSave.length) weightsAtSave.push(bits(this.model!));
          }
        })(),
      ],
    });
    // 24 batches: after global batches 5, 10, 15, 20 = epoch 1 batch 5, epoch 1 batch 10, epoch 2 batch 3, 8.
    const expected = ['m-1-5', 'm-1-10', 'm-2-3', 'm-2-8'].map((name) => join(folder, `${name}.keras`));
    assert.deepEqual(checkpoint.saved, expected);
    const saved = await loadModel(expected[2]);
    assert.deepEqual(bits(saved), weightsAtSave[2], 'the file holds the weights of that batch');
    assert.throws(
      () => new ModelCheckpoint({ filepath: 'm.keras', saveFreq: -2 }),
      /saveFreq must be 'epoch'/,
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('the progress line of an epoch stopped by a NaN loss shows the batches that ran, not all of them', async () => {
  const model = new Sequential([new Dense({ units: 1, inputShape: [6] })]);
  model.compile({ optimizer: new SGD({ learningRate: 1e6 }), loss: 'mse' });
  const bigTargets = new Tensor(
    train.y.data.map((value) => 100 * value + 50),
    [90, 1],
  );
  let text = '';
  const guard = new TerminateOnNaN({ writer: { write: () => true } });
  await model.fit(train.x, bigTargets, {
    epochs: 3,
    batchSize: 2,
    verbose: 2,
    progressWriter: { write: (chunk: string) => (text += chunk) },
    callbacks: [guard],
  });
  assert.notEqual(guard.stoppedAt, null);
  const { epoch, batch } = guard.stoppedAt!;
  assert.equal(epoch, 0);
  assert.ok(batch < 44, `stopped at batch ${batch}`);
  assert.match(text, new RegExp(`^Epoch 1/3\\n *${batch + 1}/45 \\d+s`), text);
  assert.doesNotMatch(text, /45\/45/);
});

test('saving a model whose weights are NaN warns through the io warning channel, and saves (as Keras)', async () => {
  const folder = tempDir();
  try {
    const model = buildModel('sgd');
    const weights = model.getWeights();
    weights[2].data[3] = NaN;
    weights[4].data[0] = Infinity;
    model.setWeights(weights);
    const warnings: string[] = [];
    const options: SaveModelOptions = { onWarning: (message) => warnings.push(message) };
    await saveModel(model, join(folder, 'nan.keras'), options);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /nan\.keras: model '.*' has 2 weight values that are NaN or infinite, in hidden_2\/kernel \(1 of 96\), head\/kernel \(1 of 8\); it is saved anyway/,
    );
    assert.ok(existsSync(join(folder, 'nan.keras')));
    // model.save without a handler: a process warning of type WarmstartWarning.
    const emitted: string[] = [];
    const listener = (warning: Error): void => void emitted.push(`${warning.name}: ${warning.message}`);
    process.on('warning', listener);
    try {
      await model.save(join(folder, 'nan.h5'));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    assert.equal(emitted.length, 1);
    assert.match(emitted[0], /^WarmstartWarning: .*nan\.h5: model .* NaN or infinite/);
    // A healthy model saves silently.
    const healthy: string[] = [];
    await saveModel(buildModel('sgd'), join(folder, 'fine.keras'), {
      onWarning: (message) => healthy.push(message),
    });
    assert.deepEqual(healthy, []);
    assert.deepEqual(readdirSync(folder).sort(), ['fine.keras', 'nan.h5', 'nan.keras']);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
