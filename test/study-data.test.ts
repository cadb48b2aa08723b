import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { loadFashionMnist, toFloat32Images } from '../src/datasets/index.js';
import { tensorsDigest } from '../src/experiments/resume.js';
import {
  heldBytes,
  prepareTransferData,
  runTransfer,
  StudySplit,
  type TransferData,
  transferDataDigest,
} from '../src/experiments/transfer.js';
import { generateDataset, PIXELS_PER_IMAGE } from './fixtures-gen/datasetFixtures.js';
import { requireFixture } from './helpers/fixtures.js';
import { SHARED_DIR } from './helpers/kerasFixtures.js';

const envDataDir = process.env['WARMSTART_DATA_DIR'] || undefined;
const realDataDir = envDataDir ?? join(SHARED_DIR, 'datasets', 'fashion-mnist-2017-08-26');
const skipRealData =
  envDataDir === undefined && requireFixture(realDataDir, 'Fashion-MNIST (the shared folder)');

function generatedData(trainCount = 5300, testCount = 400): TransferData {
  return prepareTransferData({
    ...generateDataset(trainCount, testCount, 7),
    release: 'current',
    dataDir: 'generated',
  });
}

/** The study's data as it was held before: every split's x and y as floats, in the fingerprint's order. */
function allTensors(data: TransferData) {
  return [data.taskA, data.taskB].flatMap((task) =>
    [task.train, task.valid, task.test].flatMap((split) => [split.x, split.y]),
  );
}

describe('StudySplit', () => {
  const images = Uint8Array.from({ length: 3 * PIXELS_PER_IMAGE }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.of(0, 1, 1);

  test('makes the notebook floats on first use, releases them and makes them again identical', () => {
    const split = new StudySplit({ images, labels, count: 3 }, true);
    assert.equal(split.heldBytes, images.length + labels.length);
    const x = split.x;
    assert.deepEqual(x.shape, [3, 28, 28]);
    assert.deepEqual(x.data, toFloat32Images(images));
    assert.deepEqual(split.y.shape, [3, 1]);
    assert.deepEqual([...split.y.data], [0, 1, 1]);
    assert.equal(split.x, x, 'kept until released');
    assert.equal(split.heldBytes, 5 * (images.length + labels.length));
    split.release();
    assert.equal(split.heldBytes, images.length + labels.length);
    assert.notEqual(split.x, x);
    assert.deepEqual(split.x.data, x.data);
  });

  test("'floats' drops the bytes on first use, keeps the floats on release, and discard drops all", () => {
    const split = new StudySplit(
      { images: images.slice(), labels: labels.slice(), count: 3 },
      false,
      'floats',
    );
    assert.deepEqual(split.y.shape, [3]);
    assert.equal(split.heldBytes, 4 * (images.length + labels.length), 'floats only, no second copy');
    split.release();
    assert.equal(split.heldBytes, 4 * (images.length + labels.length));
    split.discard();
    assert.equal(split.heldBytes, 0);
    assert.throws(() => split.x, /discarded/);
  });

  test('digests the same bytes as tensorsDigest of its tensors, from bytes or from floats', () => {
    const split = new StudySplit({ images, labels, count: 3 }, false);
    const fromBytes = createHash('sha256');
    split.updateDigest(fromBytes);
    const expected = tensorsDigest([split.x, split.y]);
    assert.equal(fromBytes.digest('hex'), expected);
    const fromFloats = createHash('sha256');
    split.updateDigest(fromFloats);
    assert.equal(fromFloats.digest('hex'), expected);
  });

  test('refuses images and labels that do not match the count', () => {
    assert.throws(() => new StudySplit({ images, labels, count: 2 }, false), RangeError);
  });
});

describe('the transfer study data', () => {
  test('holds one byte per pixel until a phase needs floats, and never two full copies', () => {
    const dataset = generateDataset(5300, 400, 7);
    const data = generatedData();
    const datasetBytes =
      dataset.train.images.length +
      dataset.train.labels.length +
      dataset.test.images.length +
      dataset.test.labels.length;
    const held = heldBytes(data.taskA, data.taskB);
    // Everything but task B's training images past the first 200, once, as bytes.
    assert.ok(held <= datasetBytes, `${held} bytes held, the dataset is ${datasetBytes}`);
    const trainA = data.taskA.train;
    assert.ok(held > trainA.rows * PIXELS_PER_IMAGE);
    void trainA.x;
    const trainAFloats = 4 * trainA.rows * (PIXELS_PER_IMAGE + 1);
    assert.equal(trainA.heldBytes, trainAFloats, "task A's training bytes are dropped once they are floats");
    assert.equal(
      heldBytes(data.taskA, data.taskB),
      held - trainA.rows * (PIXELS_PER_IMAGE + 1) + trainAFloats,
    );
  });

  test('fingerprints the data as the study did when it held floats (journals still resume)', () => {
    const data = generatedData();
    const digest = transferDataDigest(data);
    assert.equal(digest, tensorsDigest(allTensors(generatedData())));
    void data.taskA.train.x; // the digest of a split already in floats is the same
    assert.equal(transferDataDigest(data), digest);
  });

  test("runTransfer releases the phases' floats and leaves a caller's data usable", async () => {
    const data = generatedData();
    const outDir = mkdtempSync(join(tmpdir(), 'warmstart-study-data-'));
    try {
      await runTransfer(
        { outDir, epochsA: 1, epochsB: 1, epochsFrozen: 1, epochsUnfrozen: 1, verbose: 0, backupEvery: 1000 },
        data,
      );
      const trainA = data.taskA.train;
      assert.equal(
        trainA.heldBytes,
        4 * trainA.rows * (PIXELS_PER_IMAGE + 1),
        "task A's training floats stay",
      );
      for (const split of [
        data.taskA.valid,
        data.taskA.test,
        data.taskB.train,
        data.taskB.valid,
        data.taskB.test,
      ]) {
        assert.equal(split.heldBytes, split.rows * (PIXELS_PER_IMAGE + 1), 'released to bytes');
      }
      assert.deepEqual(data.taskA.test.x.shape, [data.taskA.test.rows, 28, 28]);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  test('real Fashion-MNIST: one byte per pixel held after loading', { skip: skipRealData }, async () => {
    const dataset = await loadFashionMnist({ dataDir: realDataDir, verbose: 0 });
    const data = prepareTransferData(dataset);
    const splits = [data.taskA, data.taskB].flatMap((task) => [task.train, task.valid, task.test]);
    const rows = splits.reduce((sum, split) => sum + split.rows, 0);
    assert.equal(data.taskA.train.rows, 43997);
    assert.ok(rows < 70000);
    // As floats (what the study held before), the same splits took four times this: 185 MB.
    assert.equal(heldBytes(data.taskA, data.taskB), rows * (PIXELS_PER_IMAGE + 1));
    if (data.release === '2017-08-26') {
      // The fingerprint journals.json holds, as the study computed it from its float tensors before.
      assert.equal(
        transferDataDigest(data),
        '2f6c9e025493f0bc83e21a1a33ab02e20fb5dd9d14a1549a9867e6164d23714e',
      );
    }
  });
});
