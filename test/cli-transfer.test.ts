import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitTaskAB, toFloat32Images } from '../src/datasets/index.js';
import { loadModel } from '../src/io/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import {
  generateDataset,
  generateLearnableDataset,
  type GeneratedDataset,
  makeTempDir,
  writeDataset,
} from './fixtures-gen/datasetFixtures.js';
import { requireFixture } from './helpers/fixtures.js';
import { kerasH5Fixture } from './helpers/kerasFixtures.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs the CLI from source, as a user would run the built one. */
function warmstart(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, WARMSTART_DATA_DIR: '' },
    timeout: 240_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// 5,600 training images: the first 5,000 are the validation split, as in the notebook.
const dataset = generateDataset(5600, 600, 3);
// The same sizes, with images that show their label: training must get well above chance on it.
const learnable = generateLearnableDataset(5600, 600, 3);

/**
 * Runs `warmstart transfer` over a fresh copy of a tiny dataset, then cleans up: on the reference backend unless
 * `extraArgs` choose one (the CNN runs on wasm).
 */
async function transferOnTinyData(
  label: string,
  extraArgs: string[],
  check: (run: ReturnType<typeof warmstart>, out: string) => void | Promise<void>,
  data: GeneratedDataset = dataset,
): Promise<void> {
  const folder = makeTempDir(label);
  try {
    const dataDir = join(folder.path, 'data');
    writeDataset(dataDir, data);
    const out = join(folder.path, 'out');
    const backend = extraArgs.includes('--backend') ? [] : ['--backend', 'reference'];
    await check(warmstart(['transfer', ...backend, '--data-dir', dataDir, '--out', out, ...extraArgs]), out);
  } finally {
    folder.remove();
  }
}

test('warmstart transfer runs every phase on a tiny generated dataset and writes results.json and the model', async () => {
  await transferOnTinyData(
    'cli-transfer',
    [
      '--epochs-a',
      '2',
      '--epochs-b',
      '1',
      '--epochs-frozen',
      '1',
      '--epochs-unfrozen',
      '1',
      '--verbose',
      '2',
    ],
    async (run, out) => {
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /Model A: task A/);
      assert.match(
        run.stdout,
        /Epoch 2\/2\n\d+\/\d+ \d+s \S+\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}/,
      );
      assert.match(run.stdout, /B on A \(reused\)/);
      assert.match(run.stdout, /error-rate ratio/);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      assert.equal(results.seed, 42);
      for (const model of ['modelA', 'modelB', 'modelBOnA']) {
        assert.deepEqual(Object.keys(results[model].history).sort(), [
          'accuracy',
          'loss',
          'val_accuracy',
          'val_loss',
        ]);
        assert.ok(results.seconds[model] > 0);
      }
      assert.equal(results.modelA.history.loss.length, 2);
      assert.equal(results.modelBOnA.history.loss.length, 2);
      // The images show their labels: training must learn them. Task A has 8 classes (chance 1/8); task B is
      // sandal or shirt, where always answering the commoner class would score `majority`.
      const { taskA, taskB } = splitTaskAB(learnable);
      const shirts = taskB.test.labels.reduce((total, label) => total + label, 0) / taskB.test.count;
      const majority = Math.max(shirts, 1 - shirts);
      assert.ok(results.modelA.test.accuracy > 0.6, `model A: ${results.modelA.test.accuracy}`);
      assert.ok(
        results.modelB.test.accuracy > majority + 0.15,
        `B: ${results.modelB.test.accuracy} vs ${majority}`,
      );
      assert.ok(
        results.modelBOnA.test.accuracy > majority + 0.15,
        `B on A: ${results.modelBOnA.test.accuracy} vs ${majority}`,
      );
      for (const model of ['modelA', 'modelBOnA']) {
        const [first, second] = results[model].history.loss;
        assert.ok(second < first, `${model}: the loss goes down (${first} → ${second})`);
      }
      // The reported test figures are model A's own on task A's test set: the saved file, reloaded and
      // evaluated here on the same backend, gives the same numbers.
      const saved = await loadModel(join(out, 'my_model_A.h5'));
      const x = new Tensor(toFloat32Images(taskA.test.images), [taskA.test.count, 28, 28]);
      const y = new Tensor(Float32Array.from(taskA.test.labels), [taskA.test.count]);
      const recomputed = saved.evaluate(x, y, { verbose: 0, returnDict: true });
      assert.equal(recomputed.accuracy, results.modelA.test.accuracy);
      assert.ok(Math.abs(recomputed.loss - results.modelA.test.loss) <= 1e-6 * results.modelA.test.loss);
      assert.equal(results.modelAIntact, true);
      assert.ok(statSync(join(out, 'my_model_A.h5')).size > 1000);
      assert.deepEqual(
        readdirSync(out).filter((name) => name.endsWith('.tmp')),
        [],
      );
    },
    learnable,
  );
});

test('warmstart transfer --seeds 2 reports mean ± sd', async () => {
  await transferOnTinyData(
    'cli-seeds',
    [
      '--seeds',
      '2',
      '--epochs-a',
      '1',
      '--epochs-b',
      '1',
      '--epochs-frozen',
      '1',
      '--epochs-unfrozen',
      '1',
      '--verbose',
      '0',
    ],
    (run, out) => {
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /± /);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      assert.deepEqual(
        results.runs.map((r: { seed: number }) => r.seed),
        [42, 43],
      );
      const accuracies = results.runs.map(
        (r: { modelB: { test: { accuracy: number } } }) => r.modelB.test.accuracy,
      );
      const mean = (accuracies[0] + accuracies[1]) / 2;
      assert.ok(Math.abs(results.summary.modelB.accuracy.mean - mean) < 1e-12);
    },
  );
});

test('a truncated dataset file ends in one line naming the file and the problem, and exit code 1', () => {
  const folder = makeTempDir('cli-truncated');
  try {
    writeDataset(folder.path, dataset, { gzip: false });
    const file = join(folder.path, 'train-images-idx3-ubyte');
    truncateSync(file, 100_000);
    const run = warmstart([
      'transfer',
      '--backend',
      'reference',
      '--data-dir',
      folder.path,
      '--out',
      join(folder.path, 'out'),
    ]);
    assert.equal(run.status, 1);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /train-images-idx3-ubyte/);
    assert.match(lines[0], /truncated/);
    assert.equal(existsSync(join(folder.path, 'out', 'results.json')), false);
  } finally {
    folder.remove();
  }
});

test(
  'warmstart transfer --model-a starts from a model A saved by Python Keras and skips training it',
  {
    skip: requireFixture(
      kerasH5Fixture('hopezh__my_model_A.h5'),
      "Python Keras's model A (the shared folder's Keras fixtures)",
    ),
  },
  async () => {
    const modelA = kerasH5Fixture('hopezh__my_model_A.h5');
    const phases = ['--epochs-b', '1', '--epochs-frozen', '1', '--epochs-unfrozen', '1', '--verbose', '2'];
    await transferOnTinyData('cli-model-a', ['--model-a', modelA, ...phases], (run, out) => {
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /Model A: loading .*hopezh__my_model_A\.h5/);
      assert.doesNotMatch(run.stdout, /Model A: task A/);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      assert.deepEqual(results.modelA.history, {});
      assert.equal(results.modelAIntact, true);
      assert.equal(results.modelBOnA.history.loss.length, 2);
    });
  },
);

const oneEpochEach = ['--epochs-a', '1', '--epochs-b', '1', '--epochs-frozen', '1', '--epochs-unfrozen', '1'];

test('warmstart transfer --arch cnn runs the study with the small CNN (SGD at 1e-2) and says so in the report', async () => {
  await transferOnTinyData(
    'cli-cnn',
    ['--arch', 'cnn', '--backend', 'wasm', ...oneEpochEach, '--verbose', '2'],
    (run, out) => {
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /Model A: a CNN on task A, \d+ images, 1 epochs, SGD learning rate 0\.01/);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
      assert.equal(results.architecture, 'cnn');
      assert.equal(results.learningRate, 0.01);
      assert.equal(results.modelAIntact, true);
      assert.equal(results.modelBOnA.history.loss.length, 2);
      const report = readFileSync(join(out, 'report.html'), 'utf8');
      assert.match(report, /Transfer learning with a CNN/);
      assert.match(report, /Conv2D 32, MaxPool, Conv2D 64, MaxPool, Dense 128/);
      // Model A, as saved, is the CNN (its config names the layers).
      const saved = readFileSync(join(out, 'my_model_A.h5')).toString('latin1');
      assert.match(saved, /"class_name": ?"Conv2D"/);
      assert.match(saved, /"class_name": ?"MaxPooling2D"/);
    },
  );
});

const kerasCnn = join(root, 'test', 'fixtures', 'keras3-cnn', 'small_cnn.keras');

test(
  'warmstart transfer --arch cnn --model-a starts from the CNN Keras 3 wrote (inputs 28×28×1), and a CNN without --arch cnn is refused',
  { skip: !existsSync(kerasCnn) && 'the Keras 3 CNN fixture is absent' },
  async () => {
    await transferOnTinyData(
      'cli-cnn-model-a',
      ['--arch', 'cnn', '--backend', 'wasm', '--model-a', kerasCnn, ...oneEpochEach, '--verbose', '0'],
      (run, out) => {
        assert.equal(run.status, 0, run.stderr);
        const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
        assert.deepEqual(results.modelA.history, {});
        assert.ok(results.modelA.test.accuracy >= 0 && results.modelA.test.accuracy <= 1);
        assert.equal(results.modelAIntact, true);
        assert.equal(results.modelBOnA.history.loss.length, 2);
      },
    );
    await transferOnTinyData('cli-cnn-no-arch', ['--model-a', kerasCnn, ...oneEpochEach], (run) => {
      assert.equal(run.status, 1);
      assert.match(run.stderr, /convolutional network but the study's architecture is 'dense'.*--arch cnn/);
    });
  },
);

test('warmstart transfer --arch refuses an unknown network before loading any data', () => {
  const run = warmstart(['transfer', '--arch', 'resnet', '--data-dir', '/nonexistent']);
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /--arch.*expected 'dense' \(the notebook's network\) or 'cnn', got 'resnet'/);
});
