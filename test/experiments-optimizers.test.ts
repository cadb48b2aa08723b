import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerOptimizersCommand } from '../src/cli/optimizers.js';
import {
  createOptimizer,
  describeContender,
  formatOptimizerTable,
  listContenders,
  type OptimizerContender,
  type OptimizerRaceData,
  type OptimizerRaceResult,
  runOptimizerRace,
  SEED_CONTENDERS,
  selectContenders,
  TUNED_CONTENDERS,
  weightsDigest,
} from '../src/experiments/optimizers.js';
import { writeOptimizerReport } from '../src/report/index.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Sequential } from '../src/models/sequential.js';
import { deserializeOptimizer } from '../src/optimizers/index.js';
import { globalRandom, setRandomSeed } from '../src/tensor/random.js';
import { tensor } from '../src/tensor/tensor.js';
import { generateDataset, makeTempDir, writeDataset } from './fixtures-gen/datasetFixtures.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A 3-class problem on 4×4 "images": the class is where the bright quadrant is. */
function tinyData(train: number, valid: number): OptimizerRaceData {
  setRandomSeed(7);
  const random = globalRandom();
  const make = (count: number) => {
    const x = new Float32Array(count * 16);
    const y = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const label = i % 3;
      y[i] = label;
      for (let p = 0; p < 16; p++) {
        const quadrant = (p % 4 < 2 ? 0 : 1) + (p < 8 ? 0 : 1);
        x[i * 16 + p] = 0.2 * random.normal() + (quadrant === label ? 1 : 0);
      }
    }
    return { x: tensor(x, [count, 4, 4]), y: tensor(y, [count]) };
  };
  return { task: 'tiny', classes: 3, train: make(train), valid: make(valid) };
}

function tinyNetwork(classes: number): Sequential {
  return new Sequential([
    new Flatten({ inputShape: [4, 4] }),
    new Dense({ units: 8, activation: 'selu', kernelInitializer: 'lecun_normal' }),
    new Dense({ units: classes, activation: 'softmax' }),
  ]);
}

test('the seed contenders are exactly the seed notebook’s seven optimizers as Keras recorded them', () => {
  assert.deepEqual(
    SEED_CONTENDERS.map((contender) => contender.name),
    ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adadelta'],
  );
  const folder = join(root, 'test', 'fixtures', 'keras-optimizers');
  const files = {
    sgd: 'seed_sgd.json',
    momentum: 'seed_sgd_momentum.json',
    nesterov: 'seed_sgd_nesterov.json',
    adagrad: 'seed_adagrad.json',
    rmsprop: 'seed_rmsprop.json',
    adam: 'seed_adam.json',
    adadelta: 'seed_adadelta.json',
  } as const;
  for (const contender of SEED_CONTENDERS) {
    const recorded = JSON.parse(
      readFileSync(join(folder, files[contender.name as keyof typeof files]), 'utf8'),
    );
    assert.equal(contender.className, recorded.class_name);
    const { name: _ours, ...ours } = createOptimizer(contender).getConfig();
    const { name: _theirs, ...theirs } = deserializeOptimizer(recorded.config).getConfig();
    assert.deepEqual(
      ours,
      theirs,
      `${contender.name} differs from ${files[contender.name as keyof typeof files]}`,
    );
  }
  // Tuned variants only change hyperparameters of the same optimizer classes; every rate says why.
  for (const contender of TUNED_CONTENDERS) {
    assert.ok(
      SEED_CONTENDERS.some(
        (seed) => seed.family === contender.family && seed.className === contender.className,
      ),
    );
  }
  for (const contender of listContenders())
    assert.ok(contender.note.length > 20, `${contender.name} needs a note`);
});

test('selectContenders picks by name or variant, in race order, and names the choices on a typo', () => {
  assert.equal(selectContenders().length, listContenders().length);
  assert.deepEqual(
    selectContenders(['adam', 'sgd']).map((contender) => contender.name),
    ['sgd', 'adam'],
  );
  assert.equal(selectContenders(['seed']).length, 7);
  assert.ok(selectContenders(['tuned']).every((contender) => contender.variant === 'tuned'));
  assert.throws(
    () => selectContenders(['adamm']),
    /unknown contender 'adamm': choose from sgd, momentum, .*, or seed \/ tuned/,
  );
  assert.equal(describeContender(SEED_CONTENDERS[2]), 'SGD(learning_rate=0.01, momentum=0.9, nesterov=True)');
  assert.equal(
    describeContender(SEED_CONTENDERS[3]),
    'Adagrad(learning_rate=1.0, initial_accumulator_value=0.1, epsilon=1e-07)',
  );
});

test('the race trains every contender from the same initial weights and writes results.json', async () => {
  const folder = makeTempDir('optimizer-race');
  try {
    const data = tinyData(90, 30);
    const result = await runOptimizerRace(
      {
        outDir: folder.path,
        only: ['momentum', 'adam'],
        epochs: 2,
        batchSize: 16,
        verbose: 0,
        network: tinyNetwork,
      },
      data,
    );
    const written: OptimizerRaceResult = JSON.parse(readFileSync(join(folder.path, 'results.json'), 'utf8'));
    assert.deepEqual(written, JSON.parse(JSON.stringify(result)));
    assert.deepEqual(
      readdirSync(folder.path).sort(),
      ['results.json', 'resume'],
      'no temporary file is left behind',
    );
    // The journal of the finished race stays (a rerun skips it all); its backups are gone.
    assert.deepEqual(readdirSync(join(folder.path, 'resume')), ['journal.json']);
    assert.equal(written.task, 'tiny');
    assert.deepEqual(written.samples, { train: 90, valid: 30 });
    assert.equal(written.epochs, 2);
    assert.equal(written.batchSize, 16);
    assert.equal(written.backend, 'reference');
    assert.deepEqual(written.seeds, [42]);
    assert.deepEqual(
      written.contenders.map((contender) => [
        contender.name,
        contender.variant,
        contender.optimizer.class_name,
      ]),
      [
        ['momentum', 'seed', 'SGD'],
        ['adam', 'seed', 'Adam'],
      ],
    );

    // The same initial weights for every contender: the network the seed builds, bit for bit.
    setRandomSeed(42);
    const expected = weightsDigest(tinyNetwork(3).getWeights());
    assert.deepEqual(written.initialWeights, [{ seed: 42, sha256: expected }]);
    for (const contender of written.contenders) {
      assert.equal(contender.runs.length, 1);
      const [run] = contender.runs;
      assert.equal(run.initialWeightsSha256, expected, `${contender.name} started elsewhere`);
      assert.deepEqual(Object.keys(run.history).sort(), ['accuracy', 'loss', 'val_accuracy', 'val_loss']);
      assert.equal(run.history.val_accuracy.length, 2);
      assert.equal(run.finalValAccuracy, run.history.val_accuracy[1]);
      assert.equal(run.bestValAccuracy, Math.max(...run.history.val_accuracy));
      assert.equal(run.history.val_accuracy[run.bestEpoch - 1], run.bestValAccuracy);
      assert.ok(run.epochsTo90 === null || run.history.val_accuracy[run.epochsTo90 - 1] >= 0.9);
      assert.equal(run.diverged, false);
      assert.ok(run.seconds > 0);
      assert.deepEqual(contender.meanHistory, run.history);
      assert.deepEqual(contender.summary.finalValAccuracy, { mean: run.finalValAccuracy, sd: 0 });
      assert.equal(contender.summary.bestEpoch, run.bestEpoch);
    }
    // Different optimizers from the same start end in different places.
    assert.notDeepEqual(
      written.contenders[0].runs[0].history.loss,
      written.contenders[1].runs[0].history.loss,
    );

    const table = formatOptimizerTable(result);
    assert.match(
      table,
      /^Task tiny: 90 training and 30 validation images, 2 epochs, batch 16, 1 seed, reference backend/,
    );
    assert.match(
      table,
      /momentum +SGD\(learning_rate=0\.01, momentum=0\.9\) +\d\.\d{4} +\d\.\d{4} +[12] +(—|[12]) +\d+\.\d s/,
    );
    assert.match(table, /adam +Adam\(learning_rate=0\.001, beta_1=0\.9, beta_2=0\.999\)/);
  } finally {
    folder.remove();
  }
});

test('several seeds: one start per seed shared by all contenders, and mean ± sd', async () => {
  const folder = makeTempDir('optimizer-race-seeds');
  try {
    const result = await runOptimizerRace(
      {
        outDir: folder.path,
        only: ['sgd', 'rmsprop'],
        epochs: 1,
        seeds: 2,
        seed: 5,
        verbose: 0,
        network: tinyNetwork,
      },
      tinyData(60, 30),
    );
    assert.deepEqual(result.seeds, [5, 6]);
    assert.equal(
      new Set(result.initialWeights.map((entry) => entry.sha256)).size,
      2,
      'each seed its own start',
    );
    for (const contender of result.contenders) {
      assert.deepEqual(
        contender.runs.map((run) => run.initialWeightsSha256),
        result.initialWeights.map((entry) => entry.sha256),
      );
      const finals = contender.runs.map((run) => run.finalValAccuracy);
      assert.ok(Math.abs(contender.summary.finalValAccuracy.mean - (finals[0] + finals[1]) / 2) < 1e-12);
    }
    assert.match(formatOptimizerTable(result), /\d\.\d{4} ± \d\.\d{4}/);
  } finally {
    folder.remove();
  }
});

test('the race rejects bad settings clearly', async () => {
  const data = tinyData(30, 30);
  const options = { outDir: '/nonexistent', verbose: 0 as const, network: tinyNetwork };
  await assert.rejects(
    runOptimizerRace({ ...options, epochs: 0 }, data),
    /epochs must be a positive integer, got 0/,
  );
  await assert.rejects(
    runOptimizerRace({ ...options, seeds: 1.5 }, data),
    /seeds must be a positive integer/,
  );
  await assert.rejects(runOptimizerRace({ ...options, only: ['nope'] }, data), /unknown contender 'nope'/);
});

test('warmstart optimizers runs the race on Fashion-MNIST files and writes results, charts and report', async () => {
  const folder = makeTempDir('cli-optimizers');
  let text = '';
  const stdout = { write: (chunk: string) => (text += chunk) };
  try {
    writeDataset(join(folder.path, 'data'), generateDataset(5200, 10, 3));
    const program = new Command('warmstart').exitOverride();
    registerOptimizersCommand(program, { stdout });
    const out = join(folder.path, 'out');
    await program.parseAsync(
      [
        'optimizers',
        '--data-dir',
        join(folder.path, 'data'),
        '--out',
        out,
        '--epochs',
        '1',
        '--only',
        'sgd,adam',
        '--verbose',
        '0',
      ],
      { from: 'user' },
    );
    assert.match(text, /Task A: \d+ training and \d+ validation images, 1 epochs, batch 32/);
    assert.match(text, /\nsgd +SGD\(learning_rate=0\.01\)/);
    assert.match(
      text,
      /wrote .*results\.json, val_accuracy\.svg, val_accuracy_top\.svg, loss\.svg, val_loss\.svg, accuracy\.svg and .*report\.html/,
    );
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.classes, 8);
    assert.deepEqual(
      results.contenders.map((contender: { name: string }) => contender.name),
      ['sgd', 'adam'],
    );
    assert.deepEqual(readdirSync(out).sort(), [
      'accuracy.svg',
      'loss.svg',
      'report.html',
      'results.json',
      'resume',
      'val_accuracy.svg',
      'val_accuracy_top.svg',
      'val_loss.svg',
    ]);
    await assert.rejects(
      program.parseAsync(['optimizers', '--only', 'sgd,nadam'], { from: 'user' }),
      /unknown contender 'nadam'/,
    );
    await assert.rejects(
      program.parseAsync(['optimizers', '--task', 'B'], { from: 'user' }),
      /expected 'A' or 'full'/,
    );
  } finally {
    folder.remove();
  }
});

test('a contender whose loss turns NaN stops at that batch, is marked in results.json and the report, and the race goes on', async () => {
  const folder = makeTempDir('optimizer-race-nan');
  try {
    const data = tinyData(90, 30);
    const exploding: OptimizerContender = {
      name: 'sgd-huge',
      family: 'sgd',
      label: 'SGD',
      variant: 'tuned',
      className: 'SGD',
      config: { learning_rate: 1e6 },
      note: 'far too high, on purpose',
    };
    const adam = SEED_CONTENDERS.find((contender) => contender.name === 'adam')!;
    const result = await runOptimizerRace(
      {
        outDir: folder.path,
        contenders: [exploding, adam],
        epochs: 3,
        batchSize: 16,
        verbose: 0,
        network: tinyNetwork,
      },
      data,
    );
    assert.equal(result.diverged!.length, 1);
    const [diverged] = result.diverged!;
    assert.equal(diverged.phase, 'sgd-huge');
    assert.equal(diverged.seed, 42);
    assert.equal(diverged.epoch, 1);
    assert.equal(diverged.batches, 6);
    assert.ok(diverged.batch >= 1 && diverged.batch <= 6);
    assert.equal(diverged.learningRate, 1e6);
    assert.ok(!Number.isFinite(diverged.loss));
    const [hugeRun] = result.contenders[0].runs;
    assert.equal(hugeRun.diverged, true);
    assert.deepEqual(hugeRun.divergedAt, diverged);
    assert.equal(hugeRun.history.loss.length, 1, 'it stopped in its first epoch');
    const [adamRun] = result.contenders[1].runs;
    assert.equal(adamRun.diverged, false);
    assert.equal(adamRun.history.loss.length, 3, 'the race went on');
    const written = JSON.parse(readFileSync(join(folder.path, 'results.json'), 'utf8'));
    assert.equal(written.diverged[0].phase, 'sgd-huge');
    assert.equal(written.diverged[0].loss, null);
    const report = await writeOptimizerReport(result, folder.path);
    const html = readFileSync(report.html, 'utf8');
    assert.match(html, /<h2>Diverged<\/h2>/);
    assert.match(
      html,
      new RegExp(
        `sgd-huge diverged \\(seed 42\\): the loss became (NaN|-?Infinity) at epoch 1, batch ${diverged.batch}/6, with learning rate 1000000`,
      ),
    );
    assert.match(html, /<td>sgd-huge \(diverged\)<\/td>/);
    // A rerun finds both in the journal: the diverged run is a result, not an interruption. A backup that a
    // race killed between recording a contender and removing its backup left behind goes then.
    mkdirSync(join(folder.path, 'resume', 'seed-42', 'adam'), { recursive: true });
    writeFileSync(join(folder.path, 'resume', 'seed-42', 'adam', 'training_state.json'), '{}');
    const again = await runOptimizerRace(
      {
        outDir: folder.path,
        contenders: [exploding, adam],
        epochs: 3,
        batchSize: 16,
        verbose: 0,
        network: tinyNetwork,
      },
      data,
    );
    assert.deepEqual(
      JSON.parse(JSON.stringify(again.contenders.map((c) => c.runs.map((r) => r.history)))),
      JSON.parse(JSON.stringify(result.contenders.map((c) => c.runs.map((r) => r.history)))),
    );
    assert.deepEqual(readdirSync(join(folder.path, 'resume')), ['journal.json']);
  } finally {
    folder.remove();
  }
});
