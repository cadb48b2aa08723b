// Fashion-MNIST as a browser loads it: the datasets module bundled for browsers (so with the browser
// platform modules: fetch, crypto.subtle, the TypeScript gunzip and MD5, no file system), run in Node
// against a local HTTP server. Node 20 has fetch and crypto.subtle but no Cache API: the cache is in memory.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import * as nodeDatasets from '../src/datasets/index.js';
import type { DownloadProgress, IdxDatasetFile, ReleaseDigests } from '../src/datasets/index.js';
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
} from './fixtures-gen/datasetFixtures.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const envDataDir = process.env['WARMSTART_DATA_DIR'] || undefined;
const realDataDir = envDataDir ?? resolve(repoRoot, '../shared/datasets/fashion-mnist-2017-08-26');
// When WARMSTART_DATA_DIR is set the test must run (and fail if the folder is missing).
const skipRealData = envDataDir === undefined && !existsSync(realDataDir) && `no dataset at ${realDataDir}`;

type Datasets = typeof nodeDatasets;
const FILES = nodeDatasets.IDX_DATASET_FILES;

/** The datasets module as a browser bundle gets it. */
async function importBrowserBuild(folder: string): Promise<Datasets> {
  const outfile = join(folder, 'datasets.browser.mjs');
  await build({
    entryPoints: [join(repoRoot, 'src/datasets/index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outfile,
    logLevel: 'silent',
  });
  return (await import(pathToFileURL(outfile).href)) as Datasets;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string, mentions: string[] = []) {
  const error = await promise.then(
    () => assert.fail(`expected a DatasetError ${code}`),
    (caught: unknown) => caught as { name: string; code: string; message: string },
  );
  assert.equal(error.name, 'DatasetError', String(error));
  assert.equal(error.code, code, error.message);
  for (const text of mentions) assert.ok(error.message.includes(text), `"${error.message}" mentions ${text}`);
}

/** Counts calls of crypto.subtle.digest, to see that the browser build hashes with it. */
function spyOnSubtleDigest(): { calls: () => number; restore: () => void } {
  const subtle = globalThis.crypto.subtle;
  const original = subtle.digest;
  let calls = 0;
  Object.defineProperty(subtle, 'digest', {
    configurable: true,
    value: (...args: Parameters<SubtleCrypto['digest']>) => {
      calls++;
      return original.apply(subtle, args);
    },
  });
  return { calls: () => calls, restore: () => delete (subtle as { digest?: unknown }).digest };
}

describe('datasets in a browser', () => {
  const temp = makeTempDir('browser-datasets');
  let browser: Datasets;
  let server: LocalServer;
  const generated = generateDataset(40, 10, 31);
  const rawFiles = encodeDataset(generated);
  const servedFiles = gzipFiles(rawFiles);
  const expectedDigests = rawDigestsOf(rawFiles);
  const otherFiles = gzipFiles(encodeDataset(generateDataset(40, 10, 32)));

  before(async () => {
    browser = await importBrowserBuild(temp.path);
    server = await startLocalServer((path, _request, response) => {
      const [, folder, name = ''] = path.split('/');
      const fileName = name.replace(/\.gz$/, '') as IdxDatasetFile;
      const known = FILES.includes(fileName) && name.endsWith('.gz');
      if (folder === 'real' && existsSync(join(realDataDir, name)) && name !== '') {
        return sendBytes(response, readFileSync(join(realDataDir, name)));
      }
      if (folder === 'good' && known) return sendBytes(response, servedFiles[fileName]);
      if (folder === 'other' && known) return sendBytes(response, otherFiles[fileName]);
      if (folder === 'raw' && FILES.includes(name as IdxDatasetFile)) {
        return sendBytes(response, rawFiles[name as IdxDatasetFile]);
      }
      sendNotFound(response);
    });
  });
  after(async () => {
    await server.close();
    temp.remove();
  });

  test('the bundle is the browser one: no file system', async () => {
    await rejectsWithCode(browser.loadFashionMnist({ dataDir: realDataDir }), 'not-available', ['dataUrl']);
    assert.throws(() => browser.readIdxFile('x.gz'), /not-available/);
  });

  test(
    'the shared files from a URL: accepted as a folder is, identified, the same bytes as from disk, cached',
    { skip: skipRealData },
    async () => {
      const cache = browser.memoryDatasetCache();
      const log: string[] = [];
      const progress: DownloadProgress[] = [];
      const spy = spyOnSubtleDigest();
      const before = server.requests.length;
      let data;
      try {
        data = await browser.loadFashionMnist({
          dataUrl: `${server.origin}/real`,
          cache,
          log: (line) => log.push(line),
          onProgress: (event) => progress.push(event),
        });
      } finally {
        spy.restore();
      }
      assert.ok(spy.calls() >= 4, 'crypto.subtle hashed the files');
      const fromDisk = await nodeDatasets.loadFashionMnist({ dataDir: realDataDir, log: () => {} });
      assert.equal(data.release, fromDisk.release);
      assert.ok(data.release === '2017-08-26' || data.release === 'current', data.release);
      if (data.release === '2017-08-26') assert.ok(log.some((line) => line.includes('superseded release')));
      assert.equal(data.train.count, 60_000);
      assert.equal(data.test.count, 10_000);
      assert.ok(Buffer.from(data.train.images).equals(Buffer.from(fromDisk.train.images)), 'same pixels');
      assert.ok(Buffer.from(data.test.labels).equals(Buffer.from(fromDisk.test.labels)));
      assert.equal(data.dataDir, `${server.origin}/real/`);
      for (const fileName of FILES) {
        const finished = progress.filter((event) => event.file === `${fileName}.gz` && event.finished);
        assert.equal(finished.length, 1, `one final progress report for ${fileName}`);
        assert.equal(finished[0]!.receivedBytes, finished[0]!.totalBytes);
      }
      assert.ok(progress.length > 8, 'progress while the large files arrive');
      assert.equal(server.requests.length - before, 4);
      assert.equal(cache.entries.size, 4);

      const again = await browser.loadFashionMnist({
        dataUrl: `${server.origin}/real/`,
        cache,
        log: () => {},
      });
      assert.equal(server.requests.length - before, 4, 'the second load comes from the cache');
      assert.equal(again.train.count, 60_000);
    },
  );

  const mirrorOptions = (folders: string[], extra: { expectedDigests?: ReleaseDigests } = {}) => {
    const log: string[] = [];
    return {
      log,
      options: {
        mirrors: folders.map((folder) => `${server.origin}/${folder}/`),
        expectedDigests: extra.expectedDigests ?? expectedDigests,
        cache: browser.memoryDatasetCache(),
        idleTimeoutMs: 2000,
        log: (line: string) => log.push(line),
      },
    };
  };

  test('from the mirrors: verified, cached, and downloaded again when the cached copy no longer verifies', async () => {
    const { options, log } = mirrorOptions(['good']);
    const data = await browser.loadFashionMnist(options);
    assert.equal(data.release, 'current');
    assert.deepEqual(data.train.images, generated.train.images);
    assert.ok(
      log.some((line) => line.startsWith('Verified train-images-idx3-ubyte.gz (sha256 of the content)')),
    );
    assert.deepEqual(
      [...options.cache.entries.keys()].sort(),
      FILES.map((f) => `fashion-mnist/${f}.gz`).sort(),
    );

    const before = server.requests.length;
    await browser.loadFashionMnist({ ...options, mirrors: [] });
    assert.equal(server.requests.length, before, 'served from the cache');

    options.cache.entries.set(
      'fashion-mnist/train-labels-idx1-ubyte.gz',
      otherFiles['train-labels-idx1-ubyte'],
    );
    const repaired = await browser.loadFashionMnist(options);
    assert.deepEqual(repaired.train.labels, generated.train.labels);
    assert.equal(server.requests.length, before + 1, 'only the bad file is downloaded again');
    assert.ok(log.some((line) => line.startsWith('Cached train-labels-idx1-ubyte.gz is unusable')));
    await rejectsWithCode(
      browser.loadFashionMnist({ ...options, cache: browser.memoryDatasetCache(), download: false }),
      'missing-file',
    );
  });

  test('a wrong file from the mirrors is checksum-mismatch, and nothing is cached', async () => {
    const { options } = mirrorOptions(['other']);
    await rejectsWithCode(browser.loadFashionMnist(options), 'checksum-mismatch', [
      'train-images-idx3-ubyte.gz',
      expectedDigests['train-images-idx3-ubyte'].rawSha256!,
    ]);
    assert.equal(options.cache.entries.size, 0);
  });

  test('archive digests are checked with MD5 (in TypeScript) and SHA-256 when no content digest is known', async () => {
    const archiveDigests = {} as ReleaseDigests;
    for (const fileName of FILES) {
      archiveDigests[fileName] = {
        gzipMd5: await nodeDatasets.hexDigest('md5', servedFiles[fileName]),
        gzipSha256: await nodeDatasets.hexDigest('sha256', servedFiles[fileName]),
      };
    }
    const good = mirrorOptions(['good'], { expectedDigests: archiveDigests });
    assert.equal((await browser.loadMnist(good.options)).release, 'current');
    assert.ok(good.log.some((line) => line.includes('md5 of the archive and sha256 of the archive')));
    const bad = mirrorOptions(['other'], { expectedDigests: archiveDigests });
    await rejectsWithCode(browser.loadMnist(bad.options), 'checksum-mismatch', ['md5 of the archive']);
  });

  test('raw files at a URL are found after the .gz 404s; a missing file names its URL', async () => {
    const data = await browser.loadFashionMnist({
      dataUrl: `${server.origin}/raw/`,
      cache: false,
      log: () => {},
    });
    assert.deepEqual(data.test.images, generated.test.images);
    await rejectsWithCode(
      browser.loadFashionMnist({ dataUrl: `${server.origin}/nothing/`, cache: false, log: () => {} }),
      'missing-file',
      [`${server.origin}/nothing/train-images-idx3-ubyte.gz`, 'dataUrl'],
    );
  });

  test('Node loads from a URL too, with no cache unless one is given', async () => {
    const data = await nodeDatasets.loadFashionMnist({ dataUrl: `${server.origin}/raw`, log: () => {} });
    assert.deepEqual(data.train.labels, generated.train.labels);
    assert.equal(nodeDatasets.browserDatasetCache(), null);
  });
});
