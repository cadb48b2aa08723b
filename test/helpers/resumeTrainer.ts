/**
 * A training run that a test kills with SIGKILL and starts again, as a user would after a crash:
 * `node --import tsx test/helpers/resumeTrainer.ts <outDir> [optimizers]` trains a small model with Dropout
 * (one layer drawing from fit's generator, one with its own seed) on generated data, once per optimizer
 * (default `sgd,momentum,adam`), each with `BackupAndRestore` backing up every 3 batches. Each finished
 * optimizer's weights (float32 bytes as hex) and history go to `<outDir>/result-<optimizer>.json`, and a
 * rerun skips it, so the same command, repeated until it exits 0, finishes the whole job.
 *
 * stdout, one line per event (the killing test reads it): `start <optimizer>`, `resumed <optimizer> <epoch>
 * <batches done>` (0-based epoch), `batch <optimizer> <epoch> <batch>` after every batch, `saved <optimizer>
 * <epoch> <batch>` once the backup after that batch is written, `done <optimizer>`.
 */
import { existsSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  BackupAndRestore,
  Callback,
  Dense,
  Dropout,
  type Logs,
  type Optimizer,
  RandomGenerator,
  Sequential,
  SGD,
  Adam,
  setRandomSeed,
  Tensor,
} from '../../src/index.js';

const [outDir, list = 'sgd,momentum,adam'] = process.argv.slice(2);
if (outDir === undefined) throw new Error('usage: resumeTrainer.ts <outDir> [optimizers]');

const OPTIMIZERS: Record<string, () => Optimizer> = {
  sgd: () => new SGD({ learningRate: 0.05 }),
  momentum: () => new SGD({ learningRate: 0.02, momentum: 0.9 }),
  adam: () => new Adam({ learningRate: 0.01 }),
};

/** Three classes in 12 features: each class lifts its own third of the features. */
function generatedData(count: number, seed: number): { x: Tensor; y: Tensor } {
  const random = new RandomGenerator(seed);
  const x = new Float32Array(count * 12);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const label = random.integer(3);
    y[i] = label;
    for (let f = 0; f < 12; f++) x[i * 12 + f] = random.normal() + (Math.floor(f / 4) === label ? 1.5 : 0);
  }
  return { x: new Tensor(x, [count, 12]), y: new Tensor(y, [count]) };
}

const SAVE_FREQ = 3;

/** Reports progress; it runs after BackupAndRestore's hooks, so a backup it reports is complete. */
class Progress extends Callback {
  private epoch = 0;
  constructor(
    private readonly name: string,
    private readonly backup: BackupAndRestore,
  ) {
    super();
  }
  override onTrainBegin(): void {
    const from = this.backup.restoredFrom;
    if (from !== null) process.stdout.write(`resumed ${this.name} ${from.epoch} ${from.step}\n`);
  }
  override onEpochBegin(epoch: number): void {
    this.epoch = epoch;
  }
  override onBatchEnd(batch: number, _logs: Logs): void {
    process.stdout.write(`batch ${this.name} ${this.epoch} ${batch}\n`);
    if ((this.epoch * this.params!.steps + batch + 1) % SAVE_FREQ === 0)
      process.stdout.write(`saved ${this.name} ${this.epoch} ${batch}\n`);
  }
}

const train = generatedData(200, 11);
const valid = generatedData(60, 12);

for (const name of list.split(',')) {
  const resultPath = join(outDir, `result-${name}.json`);
  if (existsSync(resultPath)) continue;
  process.stdout.write(`start ${name}\n`);
  setRandomSeed(1234);
  const model = new Sequential([
    new Dense({ units: 24, activation: 'relu', inputShape: [12], name: 'hidden' }),
    new Dropout({ rate: 0.3, name: 'dropout_global' }),
    new Dense({ units: 16, activation: 'relu', name: 'hidden_2' }),
    new Dropout({ rate: 0.2, seed: 99, name: 'dropout_seeded' }),
    new Dense({ units: 3, activation: 'softmax', name: 'head' }),
  ]);
  model.compile({
    optimizer: OPTIMIZERS[name](),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  const backup = new BackupAndRestore({
    backupDir: join(outDir, `backup-${name}`),
    saveFreq: SAVE_FREQ,
    restoreHistory: true,
  });
  const history = await model.fit(train.x, train.y, {
    epochs: 5,
    batchSize: 16,
    verbose: 0,
    validationData: [valid.x, valid.y],
    callbacks: [backup, new Progress(name, backup)],
  });
  const weights = model
    .getWeights()
    .map((weight) =>
      Buffer.from(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength).toString('hex'),
    );
  const temporary = `${resultPath}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ weights, epoch: history.epoch, history: history.history }));
  renameSync(temporary, resultPath);
  process.stdout.write(`done ${name}\n`);
}
