// The platform modules: both hosts agree where they overlap (digests, gunzip and its errors), the browser's
// plain-TypeScript pieces (MD5, gunzip) match Node's native ones, fit's yielding to the event loop, and io's
// twins (model files by path or URL, what a browser refuses and how).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ModelFileError } from '../src/io/errors.js';
import * as browserIo from '../src/io/platform.browser.js';
import * as nodeIo from '../src/io/platform.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { InputDataError } from '../src/models/errors.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { crc32, GzipError, gunzipBytes } from '../src/platform/gzip.js';
import * as browserHost from '../src/platform/host.browser.js';
import * as nodeHost from '../src/platform/host.js';
import { md5Hex } from '../src/platform/md5.js';
import { NotAvailableError } from '../src/platform/errors.js';
import { globalRandom, setRandomSeed } from '../src/tensor/random.js';
import { tensor } from '../src/tensor/tensor.js';

describe('digests', () => {
  test('MD5 in TypeScript matches node:crypto at every length around the block boundaries', () => {
    const bytes = randomBytes(300);
    for (let length = 0; length <= 200; length++) {
      const part = bytes.subarray(0, length);
      assert.equal(md5Hex(part), createHash('md5').update(part).digest('hex'), `length ${length}`);
    }
    const large = randomBytes(3_000_017);
    assert.equal(md5Hex(large), createHash('md5').update(large).digest('hex'));
    assert.equal(md5Hex(new TextEncoder().encode('abc')), '900150983cd24fb0d6963f7d28e17f72'); // RFC 1321
  });

  test('both hosts give the same md5 and sha256, also of a view into a larger buffer', async () => {
    const buffer = randomBytes(100_000);
    const view = new Uint8Array(buffer.buffer, buffer.byteOffset + 13, 50_000);
    for (const algorithm of ['md5', 'sha256'] as const) {
      const expected = createHash(algorithm).update(view).digest('hex');
      assert.equal(await nodeHost.digestHex(algorithm, view), expected);
      assert.equal(await browserHost.digestHex(algorithm, view), expected);
    }
  });
});

describe('gunzip', () => {
  /** A gzip member with every optional header field, which zlib writes none of. */
  function gzipWithHeaderFields(content: Uint8Array, headerCrcDelta = 0): Uint8Array {
    const plain = gzipSync(content);
    const extra = [4, 0, 1, 2, 3, 4];
    const name = [...new TextEncoder().encode('name.idx'), 0];
    const comment = [...new TextEncoder().encode('a comment'), 0];
    const header = [0x1f, 0x8b, 8, 2 | 4 | 8 | 16, ...plain.subarray(4, 10), ...extra, ...name, ...comment];
    const headerCrc = (crc32(Uint8Array.from(header)) + headerCrcDelta) & 0xffff;
    return Uint8Array.from([...header, headerCrc & 255, headerCrc >> 8, ...plain.subarray(10)]);
  }

  test('the TypeScript gunzip returns what zlib compressed, header fields or not', () => {
    const content = new Uint8Array(randomBytes(200_000).map((byte) => byte & 7));
    assert.deepEqual(gunzipBytes(gzipSync(content)), content);
    assert.deepEqual(gunzipBytes(gzipWithHeaderFields(content)), content);
    assert.deepEqual(nodeHost.gunzip(gzipWithHeaderFields(content)), content);
    assert.deepEqual(gunzipBytes(gzipSync(new Uint8Array(0))), new Uint8Array(0));
  });

  test('both hosts call the same damaged archives truncated or corrupt', () => {
    const archive = gzipSync(new Uint8Array(randomBytes(50_000).map((byte) => byte & 15)));
    const flip = (at: number): Uint8Array => {
      const copy = Uint8Array.from(archive);
      copy[at]! ^= 0x01;
      return copy;
    };
    const cases: [string, Uint8Array, GzipError['reason']][] = [
      ['cut in the header', archive.subarray(0, 6), 'truncated'],
      ['cut in the data', archive.subarray(0, archive.length >> 1), 'truncated'],
      ['cut in the trailer', archive.subarray(0, archive.length - 3), 'truncated'],
      [
        'unknown method',
        (() => {
          const copy = Uint8Array.from(archive);
          copy[2] = 9;
          return copy;
        })(),
        'corrupt',
      ],
      ['wrong CRC', flip(archive.length - 8), 'corrupt'],
      ['wrong length', flip(archive.length - 4), 'corrupt'],
      ['wrong header CRC', gzipWithHeaderFields(new Uint8Array(100), 1), 'corrupt'],
    ];
    for (const [what, bytes, reason] of cases) {
      for (const [host, gunzip] of [
        ['node', nodeHost.gunzip],
        ['browser', browserHost.gunzip],
      ] as const) {
        assert.throws(
          () => gunzip(bytes),
          (error: unknown) => error instanceof GzipError && error.reason === reason,
          `${host}: ${what} is ${reason}`,
        );
      }
    }
  });
});

describe('locations and files', () => {
  test('Node resolves paths against the working folder and keeps URLs', () => {
    assert.equal(nodeHost.resolveLocation('/tmp/wasm').href, 'file:///tmp/wasm');
    assert.equal(
      nodeHost.resolveLocation('build/wasm').href,
      new URL(`file://${process.cwd()}/build/wasm`).href,
    );
    assert.equal(nodeHost.resolveLocation('https://example.org/a/').href, 'https://example.org/a/');
  });

  test('a browser resolves against the page, and has no files to open', async () => {
    const scope = globalThis as { location?: unknown };
    scope.location = { href: 'http://127.0.0.1:8080/study/index.html?epochs=2' };
    try {
      assert.equal(browserHost.resolveLocation('../engine/').href, 'http://127.0.0.1:8080/engine/');
      assert.equal(browserHost.resolveLocation('/data/').href, 'http://127.0.0.1:8080/data/');
    } finally {
      delete scope.location;
    }
    await assert.rejects(browserHost.openTextFile('log.csv', 'w'), NotAvailableError);
    assert.equal(browserHost.parentFolder('runs/a/log.csv'), 'runs/a');
    assert.equal(browserHost.parentFolder('log.csv'), '.');
    assert.equal(browserHost.environmentVariable('HOME'), undefined);
  });

  test('both hosts yield to the event loop: a timer queued before runs before the turn ends', async () => {
    for (const host of [nodeHost, browserHost]) {
      let ran = false;
      setImmediate(() => (ran = true));
      await host.yieldToEventLoop();
      await host.yieldToEventLoop();
      assert.ok(ran);
    }
  });
});

describe("fit's turns for the event loop", () => {
  function setup(): { model: Sequential; x: ReturnType<typeof tensor>; y: ReturnType<typeof tensor> } {
    setRandomSeed(7);
    const random = globalRandom();
    const x = Float32Array.from({ length: 100 * 4 }, () => random.normal());
    const y = Float32Array.from({ length: 100 }, (_, i) => (x[i * 4]! > 0 ? 1 : 0));
    const model = new Sequential([
      new Flatten({ inputShape: [4] }),
      new Dense({ units: 5, activation: 'relu' }),
      new Dense({ units: 2, activation: 'softmax' }),
    ]);
    model.compile({ optimizer: new SGD({ learningRate: 0.05 }), loss: 'sparse_categorical_crossentropy' });
    return { model, x: tensor(x, [100, 4]), y: tensor(y, [100]) };
  }

  /** Trains 10 batches and counts how often other tasks ran meanwhile. */
  async function countTurns(yieldEvery?: { batches: number } | { milliseconds: number } | false) {
    const { model, x, y } = setup();
    let training = true;
    let turns = 0;
    const tick = (): void => {
      if (!training) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const history = await model.fit(x, y, {
      epochs: 1,
      batchSize: 10,
      verbose: 0,
      shuffle: false,
      validationData: [x.slice(0, 50), y.slice(0, 50)],
      yieldEvery,
    });
    training = false;
    return { turns, loss: history.history.loss![0]!, valLoss: history.history.val_loss![0]! };
  }

  test('every N batches of training and validation, or never (Node), with the same arithmetic', async () => {
    // Without yieldEvery, Node turns the event loop at most once per epoch (fit may, between epochs).
    const never = await countTurns();
    assert.ok(never.turns <= 1, `Node does not yield within an epoch by default (${never.turns} turns)`);
    assert.equal((await countTurns(false)).turns, never.turns);
    // One turn after the data is checked, 10 training batches, then 5 validation batches.
    const everyTwo = await countTurns({ batches: 2 });
    assert.equal(everyTwo.turns - never.turns, 1 + 5 + 2);
    const everyBatch = await countTurns({ milliseconds: 1e-9 });
    assert.equal(everyBatch.turns - never.turns, 1 + 10 + 5);
    for (const run of [everyTwo, everyBatch]) {
      assert.equal(run.loss, never.loss);
      assert.equal(run.valLoss, never.valLoss);
    }
  });

  test('a bad yieldEvery is an InputDataError naming it', async () => {
    const { model, x, y } = setup();
    for (const bad of [{ batches: 0 }, { batches: 1.5 }, { milliseconds: -1 }, { milliseconds: NaN }, {}]) {
      await assert.rejects(
        model.fit(x, y, { verbose: 0, yieldEvery: bad as { batches: number } }),
        (error: unknown) => error instanceof InputDataError && /yieldEvery/.test(error.message),
      );
    }
  });
});

describe("io's platform twins", () => {
  test('Node opens a path, a file: URL and an http: URL alike; a browser fetches URLs resolved against the page', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-platform-'));
    const bytes = randomBytes(10_000);
    writeFileSync(join(folder, 'model.h5'), bytes);
    const server = createServer((request, response) => {
      if (request.url === '/models/model.h5') response.end(bytes);
      else response.writeHead(404, 'Not Found').end();
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const scope = globalThis as { location?: unknown };
    try {
      const path = join(folder, 'model.h5');
      for (const location of [
        path,
        pathToFileURL(path),
        pathToFileURL(path).href,
        `${origin}/models/model.h5`,
      ]) {
        const input = await nodeIo.openModelLocation(location);
        assert.equal(input.size, bytes.length);
        assert.deepEqual(await input.head(8), new Uint8Array(bytes.subarray(0, 8)));
        assert.deepEqual(await input.bytes(), new Uint8Array(bytes));
      }
      await assert.rejects(
        nodeIo.openModelLocation(join(folder, 'other.h5')),
        (error: unknown) =>
          error instanceof ModelFileError && error.code === 'NOT_FOUND' && /ENOENT/.test(error.message),
      );
      await assert.rejects(
        nodeIo.openModelLocation(folder),
        (error: unknown) =>
          error instanceof ModelFileError && error.code === 'NOT_FOUND' && /not a file/.test(error.message),
      );
      scope.location = { href: `${origin}/models/page.html?x=1` };
      const fetched = await browserIo.openModelLocation('model.h5');
      assert.equal(fetched.name, `${origin}/models/model.h5`);
      assert.deepEqual(await fetched.bytes(), new Uint8Array(bytes));
      await assert.rejects(
        browserIo.openModelLocation('../missing.h5'),
        (error: unknown) =>
          error instanceof ModelFileError &&
          error.code === 'NOT_FOUND' &&
          error.message === `${origin}/missing.h5: cannot fetch the file (HTTP 404 Not Found)`,
      );
    } finally {
      delete scope.location;
      await new Promise((closed) => server.close(closed));
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a browser has no paths to save to nor files for BackupAndRestore: NotAvailableError naming the alternative', async () => {
    await assert.rejects(
      browserIo.prepareModelFileWrite('models/a.h5', true),
      (error: unknown) =>
        error instanceof NotAvailableError &&
        /saveModel\(model, \{ format: 'h5' \}\)/.test(error.message) &&
        /downloadModel/.test(error.message),
    );
    for (const call of [
      () => browserIo.writeTextAtomically('backup/state.json', '{}'),
      () => browserIo.readTextIfExists('backup/state.json'),
      () => browserIo.listFolder('backup'),
      () => browserIo.makeFolder('backup'),
      () => browserIo.removeFile('backup/state.json'),
      () => browserIo.removeFolderIfEmpty('backup'),
      () => browserIo.removeStaleTemporaries('backup'),
    ]) {
      await assert.rejects(
        call(),
        (error: unknown) => error instanceof NotAvailableError && /file system/.test(error.message),
      );
    }
    assert.equal(browserIo.joinPath('backup/', 'checkpoint-1.keras'), 'backup/checkpoint-1.keras');
    assert.equal(nodeIo.joinPath('backup/', 'checkpoint-1.keras'), join('backup', 'checkpoint-1.keras'));
  });

  test('downloads need a page; HDF5 in a browser twin needs Web Workers', () => {
    assert.throws(
      () => browserIo.offerDownload('a.h5', new Uint8Array(4)),
      (error: unknown) => error instanceof NotAvailableError && /outside a page/.test(error.message),
    );
    assert.throws(
      () => nodeIo.offerDownload('a.h5', new Uint8Array(4)),
      (error: unknown) => error instanceof ModelFileError && error.code === 'WRITE_FAILED',
    );
    // Node has no Web Worker: the browser twin says so instead of failing on an undefined name.
    assert.equal(typeof (globalThis as { Worker?: unknown }).Worker, 'undefined');
    assert.throws(
      () => browserIo.startHdf5Worker(),
      (error: unknown) => error instanceof NotAvailableError && /Web Workers/.test(error.message),
    );
  });
});
