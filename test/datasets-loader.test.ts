import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import {
  DatasetError,
  type DatasetErrorCode,
  defaultCacheDir,
  type DownloadProgress,
  encodeIdx,
  hexDigest,
  IDX_DATASET_FILES,
  type IdxDatasetFile,
  loadFashionMnist,
  loadMnist,
  type ReleaseDigests,
} from '../src/datasets/index.js';
import {
  encodeDataset,
  generateDataset,
  gzipFiles,
  type LocalServer,
  makeTempDir,
  rawDigestsOf,
  sendBytes,
  sendNotFound,
  startLocalServer,
  withEnv,
  writeDataset,
} from './fixtures-gen/datasetFixtures.js';

/** Options that make sure a test never downloads from the real mirrors. */
const offline = { download: false, mirrors: [] as string[], log: () => {} };

async function assertRejectsWithDatasetError(
  promise: Promise<unknown>,
  code: DatasetErrorCode,
  mentions: readonly string[],
): Promise<DatasetError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DatasetError, `expected a DatasetError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(!caught.message.includes('\n'), 'the message is one line');
  for (const text of mentions)
    assert.ok(caught.message.includes(text), `"${caught.message}" mentions ${text}`);
  return caught;
}

/** Files left in a folder (none if it does not exist). */
function filesIn(folder: string): string[] {
  return existsSync(folder) ? readdirSync(folder).sort() : [];
}

describe('locating a dataset', () => {
  const root = makeTempDir('locate');
  // Three folders with datasets of different sizes, so the loaded one tells which folder was used.
  const optionDir = join(root.path, 'option');
  const envDir = join(root.path, 'env');
  const cacheDir = join(root.path, 'cache');
  before(() => {
    writeDataset(optionDir, generateDataset(12, 3, 1));
    writeDataset(envDir, generateDataset(14, 3, 2));
    writeDataset(cacheDir, generateDataset(16, 3, 3), { gzip: false });
  });
  after(() => root.remove());

  test('the dataDir option beats WARMSTART_DATA_DIR, which beats the cache', async () => {
    await withEnv({ WARMSTART_DATA_DIR: envDir }, async () => {
      const fromOption = await loadFashionMnist({ ...offline, dataDir: optionDir, cacheDir });
      assert.equal(fromOption.train.count, 12);
      assert.equal(fromOption.dataDir, optionDir);
      const fromEnv = await loadFashionMnist({ ...offline, cacheDir });
      assert.equal(fromEnv.train.count, 14);
      assert.equal(fromEnv.dataDir, envDir);
    });
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const fromCache = await loadFashionMnist({ ...offline, cacheDir });
      assert.equal(fromCache.train.count, 16, 'raw (not gzip) files are accepted');
      assert.equal(fromCache.dataDir, cacheDir);
      assert.equal(fromCache.release, 'unknown');
    });
  });

  test('the result has the promised shape', async () => {
    const data = await loadFashionMnist({ ...offline, dataDir: optionDir });
    const expected = generateDataset(12, 3, 1);
    assert.deepEqual(data.train.labels, expected.train.labels);
    assert.deepEqual(data.train.images, expected.train.images);
    assert.deepEqual(data.test.labels, expected.test.labels);
    assert.equal(data.test.count, 3);
    assert.deepEqual(data.imageShape, [28, 28]);
    assert.deepEqual(data.classNames, [
      'T-shirt/top',
      'Trouser',
      'Pullover',
      'Dress',
      'Coat',
      'Sandal',
      'Shirt',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ]);
  });

  test('the default cache folder honours XDG_CACHE_HOME', async () => {
    await withEnv({ XDG_CACHE_HOME: '/somewhere/cache' }, () => {
      assert.equal(defaultCacheDir('fashion-mnist'), '/somewhere/cache/warmstart/datasets/fashion-mnist');
    });
    await withEnv({ XDG_CACHE_HOME: undefined }, () => {
      assert.equal(defaultCacheDir('mnist'), join(homedir(), '.cache', 'warmstart', 'datasets', 'mnist'));
    });
  });

  test('without cacheDir, the XDG cache folder is used', async () => {
    const xdg = join(root.path, 'xdg');
    writeDataset(join(xdg, 'warmstart', 'datasets', 'fashion-mnist'), generateDataset(9, 2, 4));
    await withEnv({ WARMSTART_DATA_DIR: undefined, XDG_CACHE_HOME: xdg }, async () => {
      const data = await loadFashionMnist(offline);
      assert.equal(data.train.count, 9);
    });
  });

  test('WARMSTART_DATA_DIR serves MNIST from its mnist subfolder, and Fashion-MNIST from the folder', async () => {
    const shared = join(root.path, 'shared');
    writeDataset(shared, generateDataset(11, 2, 5));
    writeDataset(join(shared, 'mnist'), generateDataset(13, 2, 6));
    await withEnv({ WARMSTART_DATA_DIR: shared }, async () => {
      const mnist = await loadMnist({ ...offline, cacheDir });
      assert.equal(mnist.train.count, 13);
      assert.equal(mnist.dataDir, join(shared, 'mnist'));
      assert.deepEqual(mnist.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      const fashion = await loadFashionMnist({ ...offline, cacheDir });
      assert.equal(fashion.train.count, 11);
      assert.equal(fashion.dataDir, shared);
    });
  });

  test('a missing file in a user folder is a DatasetError naming it', async () => {
    const incomplete = join(root.path, 'incomplete');
    writeDataset(incomplete, generateDataset(5, 2), { omit: ['t10k-labels-idx1-ubyte'] });
    const error = await assertRejectsWithDatasetError(
      loadFashionMnist({ ...offline, dataDir: incomplete }),
      'missing-file',
      ['t10k-labels-idx1-ubyte', incomplete, 'dataDir option'],
    );
    assert.equal(error.file, join(incomplete, 't10k-labels-idx1-ubyte'));
    await withEnv({ WARMSTART_DATA_DIR: join(root.path, 'nowhere') }, () =>
      assertRejectsWithDatasetError(loadFashionMnist({ ...offline, cacheDir }), 'missing-file', [
        'WARMSTART_DATA_DIR',
        'does not exist',
      ]),
    );
  });

  test('with downloading turned off, an empty cache is "missing-file"', async () => {
    await withEnv({ WARMSTART_DATA_DIR: undefined }, () =>
      assertRejectsWithDatasetError(
        loadFashionMnist({ ...offline, cacheDir: join(root.path, 'empty-cache') }),
        'missing-file',
        ['train-images-idx3-ubyte', 'downloading is turned off'],
      ),
    );
  });

  test('inconsistent folders are rejected with the file named', async () => {
    const write = (folder: string, fileName: IdxDatasetFile, content: Uint8Array): void =>
      writeFileSync(join(folder, `${fileName}.gz`), gzipSync(content));

    const fewerLabels = join(root.path, 'fewer-labels');
    writeDataset(fewerLabels, generateDataset(6, 2));
    write(fewerLabels, 'train-labels-idx1-ubyte', encodeIdx([5], new Uint8Array(5)));
    await assertRejectsWithDatasetError(
      loadFashionMnist({ ...offline, dataDir: fewerLabels }),
      'count-mismatch',
      ['train-labels-idx1-ubyte.gz', 'holds 5 labels', '6 images'],
    );

    const badLabel = join(root.path, 'bad-label');
    writeDataset(badLabel, generateDataset(6, 2));
    write(badLabel, 't10k-labels-idx1-ubyte', encodeIdx([2], Uint8Array.of(3, 10)));
    await assertRejectsWithDatasetError(
      loadFashionMnist({ ...offline, dataDir: badLabel }),
      'label-out-of-range',
      ['t10k-labels-idx1-ubyte.gz', 'label 10 at index 1'],
    );

    const wrongShape = join(root.path, 'wrong-shape');
    writeDataset(wrongShape, generateDataset(6, 2));
    write(wrongShape, 't10k-images-idx3-ubyte', encodeIdx([2, 32, 32], new Uint8Array(2 * 32 * 32)));
    await assertRejectsWithDatasetError(loadFashionMnist({ ...offline, dataDir: wrongShape }), 'bad-shape', [
      't10k-images-idx3-ubyte.gz',
      '2×32×32',
    ]);

    const truncated = join(root.path, 'truncated');
    writeDataset(truncated, generateDataset(6, 2));
    write(
      truncated,
      'train-images-idx3-ubyte',
      encodeIdx([6, 28, 28], new Uint8Array(6 * 784)).subarray(0, 1000),
    );
    await assertRejectsWithDatasetError(loadFashionMnist({ ...offline, dataDir: truncated }), 'truncated', [
      join(truncated, 'train-images-idx3-ubyte.gz'),
      'header says 6×28×28 = 4704 bytes of data, file has 984',
    ]);
  });
});

describe('downloading', () => {
  const root = makeTempDir('download');
  const dataset = generateDataset(40, 10, 21);
  const rawFiles = encodeDataset(dataset);
  const servedFiles = gzipFiles(rawFiles);
  const expectedDigests = rawDigestsOf(rawFiles);
  // Valid IDX files whose content differs from the expected one.
  const otherFiles = gzipFiles(encodeDataset(generateDataset(40, 10, 22)));
  let server: LocalServer;
  let cacheCount = 0;
  const freshCacheDir = (): string => join(root.path, `cache-${++cacheCount}`);

  before(async () => {
    server = await startLocalServer((path, _request, response) => {
      const [, folder, name] = path.split('/');
      const fileName = name?.replace(/\.gz$/, '') as IdxDatasetFile;
      const known = IDX_DATASET_FILES.includes(fileName) && name!.endsWith('.gz');
      if (folder === 'good' && known) return sendBytes(response, servedFiles[fileName]);
      if (folder === 'other' && known) return sendBytes(response, otherFiles[fileName]);
      if (folder === 'moved') {
        response.writeHead(302, { location: `/good/${name}` });
        return response.end();
      }
      if (folder === 'cut' && known) {
        // Announces the whole file, sends half of it, then drops the connection.
        const bytes = servedFiles[fileName];
        response.writeHead(200, { 'content-length': bytes.length });
        response.write(bytes.subarray(0, bytes.length >> 1));
        setTimeout(() => response.socket?.destroy(), 20);
        return;
      }
      if (folder === 'hang') return; // never answers
      sendNotFound(response);
    });
  });
  after(async () => {
    await server.close();
    root.remove();
  });

  /** Options for a download from the local server only, into a fresh cache, with nothing else found. */
  const downloadOptions = (mirrorFolders: string[], extra: { expectedDigests?: ReleaseDigests } = {}) => {
    const log: string[] = [];
    const progress: DownloadProgress[] = [];
    return {
      log,
      progress,
      options: {
        cacheDir: freshCacheDir(),
        mirrors: mirrorFolders.map((folder) => `${server.origin}/${folder}/`),
        expectedDigests: extra.expectedDigests ?? expectedDigests,
        idleTimeoutMs: 500,
        log: (line: string) => log.push(line),
        onProgress: (event: DownloadProgress) => progress.push(event),
      },
    };
  };

  test('a good download is verified, stored atomically in the cache, and used from then on', async () => {
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const { options, log, progress } = downloadOptions(['good']);
      const requestsBefore = server.requests.length;
      const data = await loadFashionMnist(options);
      assert.equal(data.release, 'current');
      assert.equal(data.dataDir, options.cacheDir);
      assert.deepEqual(data.train.images, dataset.train.images);
      assert.deepEqual(data.test.labels, dataset.test.labels);
      assert.deepEqual(
        filesIn(options.cacheDir),
        IDX_DATASET_FILES.map((fileName) => `${fileName}.gz`).sort(),
        'exactly the four files, no temporary file left',
      );
      assert.equal(server.requests.length - requestsBefore, 4);
      for (const fileName of IDX_DATASET_FILES) {
        const finished = progress.filter((event) => event.file === `${fileName}.gz` && event.finished);
        assert.equal(finished.length, 1);
        assert.equal(finished[0]!.receivedBytes, servedFiles[fileName].length);
        assert.equal(finished[0]!.totalBytes, servedFiles[fileName].length);
      }
      assert.ok(
        log.some((line) => line.startsWith('Verified train-images-idx3-ubyte.gz (sha256 of the content)')),
      );

      const again = await loadFashionMnist({ ...options, mirrors: [] });
      assert.equal(again.train.count, 40);
      assert.equal(server.requests.length - requestsBefore, 4, 'the cache is used without downloading');
    });
  });

  test('content with a wrong digest is "checksum-mismatch" and leaves nothing in the cache', async () => {
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const { options } = downloadOptions(['other']);
      const servedDigest = await hexDigest(
        'sha256',
        encodeDataset(generateDataset(40, 10, 22))['train-images-idx3-ubyte'],
      );
      const error = await assertRejectsWithDatasetError(loadFashionMnist(options), 'checksum-mismatch', [
        'train-images-idx3-ubyte.gz',
        expectedDigests['train-images-idx3-ubyte'].rawSha256!,
        servedDigest,
      ]);
      assert.equal(error.file, join(options.cacheDir, 'train-images-idx3-ubyte.gz'));
      assert.deepEqual(filesIn(options.cacheDir), []);
    });
  });

  test('archive digests (md5, sha256) are checked when no content digest is known', async () => {
    const archiveDigests = {} as ReleaseDigests;
    for (const fileName of IDX_DATASET_FILES) {
      archiveDigests[fileName] = {
        gzipMd5: await hexDigest('md5', servedFiles[fileName]),
        gzipSha256: await hexDigest('sha256', servedFiles[fileName]),
      };
    }
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const good = downloadOptions(['good'], { expectedDigests: archiveDigests });
      const data = await loadMnist(good.options);
      assert.equal(data.release, 'current');
      assert.ok(good.log.some((line) => line.includes('md5 of the archive and sha256 of the archive')));

      const bad = downloadOptions(['other'], { expectedDigests: archiveDigests });
      await assertRejectsWithDatasetError(loadMnist(bad.options), 'checksum-mismatch', [
        'md5 of the archive',
        archiveDigests['train-images-idx3-ubyte'].gzipMd5!,
        await hexDigest('md5', otherFiles['train-images-idx3-ubyte']),
      ]);
      assert.deepEqual(filesIn(bad.options.cacheDir), []);
    });
  });

  test('a 404 on the first mirror falls through to the second', async () => {
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const { options, log } = downloadOptions(['missing', 'good']);
      const requestsBefore = server.requests.length;
      const data = await loadFashionMnist(options);
      assert.equal(data.train.count, 40);
      const requests = server.requests.slice(requestsBefore);
      assert.deepEqual(
        requests,
        IDX_DATASET_FILES.flatMap((fileName) => [`/missing/${fileName}.gz`, `/good/${fileName}.gz`]),
      );
      assert.ok(log.some((line) => line.includes('HTTP 404')));
    });
  });

  test('a wrong file on the first mirror falls through to a good second one', async () => {
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const { options } = downloadOptions(['other', 'good']);
      const data = await loadFashionMnist(options);
      assert.equal(data.release, 'current');
    });
  });

  test('redirects are followed', async () => {
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const { options } = downloadOptions(['moved']);
      const data = await loadFashionMnist(options);
      assert.deepEqual(data.train.labels, dataset.train.labels);
    });
  });

  test('a mirror that does not answer times out and the next one is used', async () => {
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const { options, log } = downloadOptions(['hang', 'good']);
      const data = await loadFashionMnist({ ...options, idleTimeoutMs: 150 });
      assert.equal(data.train.count, 40);
      assert.ok(
        log.some((line) => line.includes('timed out')),
        log.join('\n'),
      );
    });
  });

  test('a transfer cut short is "download-failed" and leaves nothing in the cache', async () => {
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const { options } = downloadOptions(['cut', 'missing']);
      await assertRejectsWithDatasetError(loadFashionMnist(options), 'download-failed', [
        'train-images-idx3-ubyte.gz',
        '/cut/',
        'HTTP 404',
      ]);
      assert.deepEqual(filesIn(options.cacheDir), []);
    });
  });

  test('only the files missing from the cache are downloaded', async () => {
    await withEnv({ WARMSTART_DATA_DIR: undefined }, async () => {
      const { options } = downloadOptions(['good']);
      mkdirSync(options.cacheDir, { recursive: true });
      writeFileSync(
        join(options.cacheDir, 'train-images-idx3-ubyte.gz'),
        servedFiles['train-images-idx3-ubyte'],
      );
      writeFileSync(join(options.cacheDir, 't10k-images-idx3-ubyte'), rawFiles['t10k-images-idx3-ubyte']);
      const requestsBefore = server.requests.length;
      const data = await loadFashionMnist(options);
      assert.equal(data.release, 'current');
      assert.deepEqual(server.requests.slice(requestsBefore).sort(), [
        '/good/t10k-labels-idx1-ubyte.gz',
        '/good/train-labels-idx1-ubyte.gz',
      ]);
    });
  });

  test('a user folder is never completed by downloading', async () => {
    const incomplete = join(root.path, 'incomplete');
    writeDataset(incomplete, dataset, { omit: ['train-labels-idx1-ubyte'] });
    const { options } = downloadOptions(['good']);
    const requestsBefore = server.requests.length;
    await assertRejectsWithDatasetError(
      loadFashionMnist({ ...options, dataDir: incomplete }),
      'missing-file',
      ['train-labels-idx1-ubyte'],
    );
    assert.equal(server.requests.length, requestsBefore);
  });
});
