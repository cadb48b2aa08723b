import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import {
  DatasetError,
  type DatasetErrorCode,
  encodeIdx,
  type ImageSplit,
  loadFashionMnist,
  readIdx,
  readIdxFile,
  splitTaskAB,
  type TaskABSplit,
  TASK_A_CLASS_NAMES,
  toFloat32Images,
} from '../src/datasets/index.js';
import {
  generateDataset,
  type GeneratedDataset,
  makeTempDir,
  PIXELS_PER_IMAGE,
} from './fixtures-gen/datasetFixtures.js';
import { requireFixture } from './helpers/fixtures.js';
import { SHARED_DIR } from './helpers/kerasFixtures.js';

const sharedFashionMnistDir = resolve(SHARED_DIR, 'datasets', 'fashion-mnist-2017-08-26');
const envDataDir = process.env['WARMSTART_DATA_DIR'] || undefined;
/** The real dataset: the folder CI names in WARMSTART_DATA_DIR, else the shared 2017-08-26 release. */
const realDataDir = envDataDir ?? sharedFashionMnistDir;
// When WARMSTART_DATA_DIR is set the test must run (and fail if the folder is missing).
// Otherwise it is skipped with the reason printed, except under CI, where a missing dataset fails.
const skipRealData =
  envDataDir === undefined && requireFixture(realDataDir, 'Fashion-MNIST (the shared folder)');
const skipSharedFolder = requireFixture(
  sharedFashionMnistDir,
  "the shared folder's 2017-08-26 Fashion-MNIST",
);

/** Asserts that `run` throws a DatasetError with `code` whose message names `fileName`. */
function assertDatasetError(
  run: () => unknown,
  code: DatasetErrorCode,
  fileName: string,
  detail?: RegExp,
): DatasetError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DatasetError, `expected a DatasetError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.file, fileName);
  assert.ok(caught.message.startsWith(`${fileName}: ${code}: `), caught.message);
  assert.ok(!caught.message.includes('\n'), 'the message is one line');
  if (detail) assert.match(caught.message, detail);
  return caught;
}

describe('IDX reader', () => {
  const imageDims = [3, 2, 2];
  const imageData = Uint8Array.from({ length: 12 }, (_, index) => index * 20);
  const imageFile = encodeIdx(imageDims, imageData);

  test('a small raw file round-trips', () => {
    const { dims, data } = readIdx(imageFile, 'images-idx3-ubyte');
    assert.deepEqual(dims, imageDims);
    assert.deepEqual([...data], [...imageData]);
  });

  test('a small gzip file round-trips, and labels (1 dimension) too', () => {
    const read = readIdx(gzipSync(imageFile), 'images-idx3-ubyte.gz');
    assert.deepEqual(read.dims, imageDims);
    assert.deepEqual([...read.data], [...imageData]);
    const labels = readIdx(gzipSync(encodeIdx([5], Uint8Array.of(9, 0, 3, 5, 6))), 'labels.gz');
    assert.deepEqual(labels.dims, [5]);
    assert.deepEqual([...labels.data], [9, 0, 3, 5, 6]);
  });

  test('readIdxFile reads gzip and raw files from disk', () => {
    const folder = makeTempDir('idx');
    try {
      const rawPath = join(folder.path, 'images-idx3-ubyte');
      const gzipPath = `${rawPath}.gz`;
      writeFileSync(rawPath, imageFile);
      writeFileSync(gzipPath, gzipSync(imageFile));
      for (const path of [rawPath, gzipPath]) {
        const { dims, data } = readIdxFile(path);
        assert.deepEqual(dims, imageDims);
        assert.deepEqual([...data], [...imageData]);
      }
    } finally {
      folder.remove();
    }
  });

  test('truncated data is "truncated", with the announced and actual sizes', () => {
    assertDatasetError(
      () => readIdx(imageFile.subarray(0, imageFile.length - 1), 'images-idx3-ubyte'),
      'truncated',
      'images-idx3-ubyte',
      /header says 3×2×2 = 12 bytes of data, file has 11$/,
    );
  });

  test('a truncated header is "truncated"', () => {
    assertDatasetError(
      () => readIdx(imageFile.subarray(0, 10), 'short'),
      'truncated',
      'short',
      /needs 16 bytes, file has 10/,
    );
    assertDatasetError(() => readIdx(imageFile.subarray(0, 3), 'tiny'), 'truncated', 'tiny');
    assertDatasetError(() => readIdx(new Uint8Array(0), 'empty'), 'truncated', 'empty');
  });

  test('a wrong magic number is "bad-magic"', () => {
    const wrongMagic = imageFile.slice();
    wrongMagic[0] = 0x01;
    assertDatasetError(
      () => readIdx(wrongMagic, 'wrong-magic'),
      'bad-magic',
      'wrong-magic',
      /starts with 01 00 08 03/,
    );
    const noDimensions = imageFile.slice(0, 4);
    noDimensions[3] = 0;
    assertDatasetError(() => readIdx(noDimensions, 'no-dims'), 'bad-magic', 'no-dims', /0 dimensions/);
  });

  test('an element type other than unsigned byte is "bad-magic"', () => {
    const floats = imageFile.slice();
    floats[2] = 0x0d;
    assertDatasetError(() => readIdx(floats, 'floats-idx3'), 'bad-magic', 'floats-idx3', /element type 0x0d/);
  });

  test('extra bytes after the data are "bad-length"', () => {
    const longer = new Uint8Array(imageFile.length + 3);
    longer.set(imageFile);
    assertDatasetError(() => readIdx(longer, 'long'), 'bad-length', 'long', /file has 15 \(3 extra\)/);
  });

  test('a corrupt gzip stream is "bad-gzip"', () => {
    const gzipped = gzipSync(imageFile);
    const wrongMethod = gzipped.slice();
    wrongMethod[2] = 0x09; // compression method other than deflate
    assertDatasetError(() => readIdx(wrongMethod, 'method.gz'), 'bad-gzip', 'method.gz');
    const wrongChecksum = gzipped.slice();
    wrongChecksum[wrongChecksum.length - 6] ^= 0xff; // inside the CRC32 trailer
    assertDatasetError(() => readIdx(wrongChecksum, 'crc.gz'), 'bad-gzip', 'crc.gz');
  });

  test('a truncated gzip stream is "truncated"', () => {
    const gzipped = gzipSync(
      encodeIdx(
        [1000],
        new Uint8Array(1000).map((_, index) => index * 7),
      ),
    );
    const cut = gzipped.subarray(0, Math.floor(gzipped.length / 2));
    assertDatasetError(() => readIdx(cut, 'labels.gz'), 'truncated', 'labels.gz', /gzip stream ends early/);
  });

  test('the file path is in the message of readIdxFile, and a missing file is "missing-file"', () => {
    const folder = makeTempDir('idx');
    try {
      const path = join(folder.path, 'train-images-idx3-ubyte.gz');
      writeFileSync(path, gzipSync(imageFile.subarray(0, 14)));
      assertDatasetError(() => readIdxFile(path), 'truncated', path);
      assertDatasetError(
        () => readIdxFile(join(folder.path, 'absent')),
        'missing-file',
        join(folder.path, 'absent'),
      );
    } finally {
      folder.remove();
    }
  });
});

/**
 * Checks a task A / task B split against the notebook's definition, element by element, with every count
 * computed from the labels.
 */
function assertNotebookSplit(
  data: GeneratedDataset,
  split: TaskABSplit,
  validationCount = 5000,
  taskBTrainCount = 200,
): void {
  const pixels = data.train.images.length / data.train.count;
  const imageOf = (set: ImageSplit, index: number): Uint8Array =>
    set.images.subarray(index * pixels, (index + 1) * pixels);
  const parts: [string, ImageSplit, number, number, ImageSplit, ImageSplit, number][] = [
    [
      'train',
      data.train,
      validationCount,
      data.train.count,
      split.taskA.train,
      split.taskB.train,
      taskBTrainCount,
    ],
    ['valid', data.train, 0, validationCount, split.taskA.valid, split.taskB.valid, Infinity],
    ['test', data.test, 0, data.test.count, split.taskA.test, split.taskB.test, Infinity],
  ];
  for (const [name, source, start, end, taskA, taskB, taskBLimit] of parts) {
    const sourceLabels = [...source.labels.subarray(start, end)];
    const expectedCountA = sourceLabels.filter((label) => label !== 5 && label !== 6).length;
    const expectedCountB = Math.min(sourceLabels.length - expectedCountA, taskBLimit);
    assert.equal(taskA.count, expectedCountA, `${name} A count`);
    assert.equal(taskB.count, expectedCountB, `${name} B count`);
    assert.equal(taskA.labels.length, taskA.count);
    assert.equal(taskA.images.length, taskA.count * pixels);
    assert.equal(taskB.labels.length, taskB.count);
    assert.equal(taskB.images.length, taskB.count * pixels);
    assert.ok(
      taskA.labels.every((label) => label < 8),
      `${name}: every label of A is below 8`,
    );
    assert.ok(
      taskB.labels.every((label) => label === 0 || label === 1),
      `${name}: every label of B is 0 or 1`,
    );
    let nextA = 0;
    let nextB = 0;
    for (let index = start; index < end; index++) {
      const label = source.labels[index]!;
      if (label === 5 || label === 6) {
        if (nextB >= taskB.count) continue;
        assert.equal(taskB.labels[nextB], label === 6 ? 1 : 0, `${name} B label ${nextB}`);
        assert.ok(
          Buffer.from(imageOf(taskB, nextB)).equals(imageOf(source, index)),
          `${name} B image ${nextB}`,
        );
        nextB++;
      } else {
        const expectedLabel = label === 7 ? 5 : label === 8 ? 6 : label === 9 ? 7 : label;
        assert.equal(taskA.labels[nextA], expectedLabel, `${name} A label ${nextA}`);
        assert.ok(
          Buffer.from(imageOf(taskA, nextA)).equals(imageOf(source, index)),
          `${name} A image ${nextA}`,
        );
        nextA++;
      }
    }
    assert.equal(nextA, taskA.count);
    assert.equal(nextB, taskB.count);
  }
  assert.deepEqual(split.classNamesA, [...TASK_A_CLASS_NAMES]);
  assert.equal(split.classNamesA.length, 8);
  assert.deepEqual(split.classNamesB, ['Sandal', 'Shirt']);
}

describe('task A / task B split', () => {
  test('reproduces the notebook on a generated dataset', () => {
    const data = generateDataset(6500, 1500, 7);
    const split = splitTaskAB(data);
    assert.equal(split.taskB.train.count, 200, 'more than 200 sandals and shirts after the first 5000');
    assertNotebookSplit(data, split);
  });

  test('takes other sizes, and keeps fewer than 200 B images when there are fewer', () => {
    const data = generateDataset(300, 40, 3);
    const split = splitTaskAB(data, { validationCount: 100, taskBTrainCount: 20 });
    assertNotebookSplit(data, split, 100, 20);
    const small = generateDataset(5100, 10, 5);
    const smallSplit = splitTaskAB(small);
    assert.ok(smallSplit.taskB.train.count < 200);
    assertNotebookSplit(small, smallSplit);
  });

  test('does not share memory with its input', () => {
    const data = generateDataset(5300, 20, 11);
    const split = splitTaskAB(data);
    const before = split.taskA.valid.images[0];
    data.train.images[0] = (data.train.images[0]! + 1) & 255;
    assert.equal(split.taskA.valid.images[0], before);
  });

  test('rejects a training set smaller than the validation set', () => {
    assert.throws(() => splitTaskAB(generateDataset(10, 10)), RangeError);
  });
});

test('toFloat32Images scales bytes by 1/255 by default', () => {
  const floats = toFloat32Images(Uint8Array.of(0, 51, 255));
  assert.ok(floats instanceof Float32Array);
  assert.deepEqual([...floats], [0, Math.fround(51 / 255), 1]);
  assert.deepEqual([...toFloat32Images(Uint8Array.of(2, 4), 0.5)], [1, 2]);
});

describe('real Fashion-MNIST', () => {
  test('loads, and the split matches the notebook element by element', { skip: skipRealData }, async () => {
    const log: string[] = [];
    const data = await loadFashionMnist({
      dataDir: realDataDir,
      download: false,
      mirrors: [],
      log: (line) => log.push(line),
    });
    assert.equal(data.train.count, 60000);
    assert.equal(data.test.count, 10000);
    assert.equal(data.train.images.length, 60000 * PIXELS_PER_IMAGE);
    assert.equal(data.test.images.length, 10000 * PIXELS_PER_IMAGE);
    assert.deepEqual(data.imageShape, [28, 28]);
    assert.equal(data.classNames.length, 10);
    assert.equal(data.classNames[6], 'Shirt');
    assert.notEqual(data.release, 'unknown');
    const split = splitTaskAB(data);
    assert.equal(split.taskB.train.count, 200);
    assertNotebookSplit(data, split);
    const trainLabelsAfterValidation = [...data.train.labels.subarray(5000)];
    assert.equal(
      split.taskA.train.count,
      trainLabelsAfterValidation.filter((label) => label !== 5 && label !== 6).length,
    );
  });

  test('the shared folder is identified as the 2017-08-26 release', { skip: skipSharedFolder }, async () => {
    const log: string[] = [];
    const data = await loadFashionMnist({
      dataDir: sharedFashionMnistDir,
      download: false,
      mirrors: [],
      log: (line) => log.push(line),
    });
    assert.equal(data.release, '2017-08-26');
    assert.equal(data.dataDir, sharedFashionMnistDir);
    assert.ok(
      log.some((line) => line.includes('superseded release 2017-08-26')),
      log.join('\n'),
    );
  });
});
