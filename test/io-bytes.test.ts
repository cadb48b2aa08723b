/**
 * Model files without paths: `loadModel` from bytes, a `Blob`, a `File` and URLs (`file:` and `http:`),
 * `saveModel(model, { format })` and `model.save({ format })` making bytes, `downloadModel` refusing Node,
 * and damaged files giving the same codes from bytes as from a path. What the page does with the same API
 * is tested in Chromium (`browser-study.test.ts`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  closeHdf5Worker,
  downloadModel,
  inspectModelFile,
  loadModel,
  ModelFileError,
  readModelFile,
  saveModel,
} from '../src/io/index.js';
import { Dense } from '../src/layers/dense.js';
import { Sequential } from '../src/models/sequential.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { tensor, type Tensor } from '../src/tensor/tensor.js';
import { damagedModels, EXPECTED_DAMAGE_CODES } from './helpers/damagedModels.js';

const quiet = { onWarning: () => {} };
const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-bytes-'));

function trainedModel(): Sequential {
  setRandomSeed(21);
  const model = new Sequential([
    new Dense({ units: 6, activation: 'relu', inputShape: [4] }),
    new Dense({ units: 3, activation: 'softmax' }),
  ]);
  model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
  return model;
}

const probe = tensor(
  Float32Array.from({ length: 7 * 4 }, (_, i) => Math.sin(i * 0.7)),
  [7, 4],
);
const predictions = (model: { predict(x: Tensor): Tensor }): number[] =>
  Array.from(model.predict(probe).data);

/** A model trained a few steps (so that the optimizer has state to save). */
async function fitted(): Promise<Sequential> {
  const model = trainedModel();
  const x = tensor(
    Float32Array.from({ length: 32 * 4 }, (_, i) => Math.cos(i)),
    [32, 4],
  );
  const y = tensor(
    Float32Array.from({ length: 32 }, (_, i) => i % 3),
    [32],
  );
  await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
  return model;
}

/** The code of the ModelFileError loading `source` fails with. */
async function codeOf(source: Parameters<typeof loadModel>[0]): Promise<string> {
  try {
    await loadModel(source, quiet);
  } catch (error) {
    assert.ok(error instanceof ModelFileError, `a ModelFileError, got ${String(error)}`);
    return error.code;
  }
  throw new Error('it loaded');
}

describe('model files as bytes, Blobs and URLs', () => {
  let server: Server;
  let base: string;

  before(async () => {
    // A static server for the fetched files.
    server = createServer((request, response) => {
      const name = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname.slice(1));
      try {
        const bytes = readFileSync(join(folder, name));
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end(bytes);
      } catch {
        response.writeHead(404);
        response.end();
      }
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    await new Promise((closed) => server.close(closed));
    await closeHdf5Worker();
    rmSync(folder, { recursive: true, force: true });
  });

  test('saveModel and model.save make the bytes of both formats, which load as the model', async () => {
    const model = await fitted();
    const expected = predictions(model);
    for (const format of ['h5', 'keras'] as const) {
      const before = readdirSync(folder);
      const fromSaveModel = await saveModel(model, { format });
      const fromSave = await model.save({ format });
      assert.ok(fromSaveModel instanceof Uint8Array && fromSave instanceof Uint8Array);
      assert.deepEqual(readdirSync(folder), before, 'nothing is written to disk');
      // The format is in the bytes: HDF5's signature, or a zip archive's.
      const signature = format === 'h5' ? [0x89, 0x48, 0x44, 0x46] : [0x50, 0x4b, 0x03, 0x04];
      assert.deepEqual(Array.from(fromSaveModel.subarray(0, 4)), signature);
      for (const bytes of [fromSaveModel, fromSave]) {
        const loaded = await loadModel(bytes, quiet);
        assert.deepEqual(predictions(loaded), expected, `${format}: the same predictions, bit for bit`);
        assert.equal(loaded.optimizer?.iterations, model.optimizer?.iterations, 'with the optimizer state');
      }
      // And the same model as a file written to a path.
      const path = join(folder, `model.${format}`);
      await saveModel(model, path);
      assert.deepEqual(predictions(await loadModel(path, quiet)), expected);
      const fromPath = await readModelFile(path);
      const fromBytes = await readModelFile(fromSave);
      assert.deepEqual(fromBytes.layerWeights, fromPath.layerWeights);
      assert.deepEqual(fromBytes.modelConfig, fromPath.modelConfig);
    }
  });

  test('loadModel takes bytes (Uint8Array, a view, ArrayBuffer, Buffer), a Blob, a File and URLs', async () => {
    const model = await fitted();
    const expected = predictions(model);
    const path = join(folder, 'sources.keras');
    await saveModel(model, path);
    const file = readFileSync(path);
    const padded = new Uint8Array(file.length + 10);
    padded.set(file, 3);
    const sources: Array<[string, Parameters<typeof loadModel>[0], RegExp]> = [
      ['a Buffer', file, /^<\d+ bytes>$/],
      ['a Uint8Array', new Uint8Array(file), /^<\d+ bytes>$/],
      ['a view into a larger buffer', padded.subarray(3, 3 + file.length), /^<\d+ bytes>$/],
      ['an ArrayBuffer', new Uint8Array(file).buffer, /^<\d+ bytes>$/],
      ['a Blob', new Blob([file]), /^<Blob of \d+ bytes>$/],
      ['a File', new File([file], 'my_model.keras'), /^my_model\.keras$/],
      ['a file: URL', pathToFileURL(path), /sources\.keras$/],
      ['a file: URL as a string', pathToFileURL(path).href, /sources\.keras$/],
      ['an http: URL', new URL('sources.keras', base), /^http:.*sources\.keras$/],
      ['an http: URL as a string', `${base}sources.keras`, /^http:.*sources\.keras$/],
    ];
    for (const [what, source, name] of sources) {
      const loaded = await loadModel(source, quiet);
      assert.deepEqual(predictions(loaded), expected, what);
      const info = await inspectModelFile(source);
      assert.equal(info.compilable, true, `${what}: ${JSON.stringify(info.error)}`);
      assert.match(info.path, name, `${what} is named ${info.path}`);
    }
  });

  test('a missing URL or file is NOT_FOUND naming it; something else is a TypeError', async () => {
    for (const source of [`${base}missing.h5`, new URL('missing.h5', base), join(folder, 'missing.h5')]) {
      await assert.rejects(
        loadModel(source, quiet),
        (error: unknown) =>
          error instanceof ModelFileError &&
          error.code === 'NOT_FOUND' &&
          error.message.includes(String(source)) &&
          (typeof source === 'string' && !source.startsWith('http') ? true : /HTTP 404/.test(error.message)),
      );
    }
    await assert.rejects(
      loadModel(42 as unknown as string, quiet),
      (error: unknown) => error instanceof TypeError && /path or URL, a Blob or File/.test(error.message),
    );
  });

  test('damaged bytes give the codes the same damaged files give from a path', async () => {
    const model = await fitted();
    const damaged = await damagedModels(model, (bytes) => codeOf(bytes));
    for (const { name, bytes, code } of damaged) {
      assert.ok(EXPECTED_DAMAGE_CODES[name]!.includes(code), `${name}: ${code}`);
      const path = join(folder, name);
      writeFileSync(path, bytes);
      assert.equal(await codeOf(path), code, `${name} from a path`);
      assert.equal(await codeOf(new Blob([bytes as Uint8Array<ArrayBuffer>])), code, `${name} from a Blob`);
      assert.equal(await codeOf(new URL(name, base)), code, `${name} from a URL`);
    }
    // The message names the file as it was given.
    await assert.rejects(
      loadModel(new File([damaged[3]!.bytes as Uint8Array<ArrayBuffer>], 'half.h5'), quiet),
      (error: unknown) => error instanceof ModelFileError && error.message.startsWith('half.h5: '),
    );
  });

  test('bad save options are refused before any work; downloadModel needs a page', async () => {
    const model = trainedModel();
    await assert.rejects(
      saveModel(model, { format: 'zip' as 'h5' }),
      (error: unknown) =>
        error instanceof ModelFileError && error.code === 'UNKNOWN_FORMAT' && /'h5'/.test(error.message),
    );
    await assert.rejects(
      saveModel(model, { format: 'h5', overwrite: false } as never),
      (error: unknown) => error instanceof Error && /overwrite/.test(error.message),
    );
    await assert.rejects(
      downloadModel(model, 'my_model.txt'),
      (error: unknown) => error instanceof ModelFileError && error.code === 'UNKNOWN_FORMAT',
    );
    await assert.rejects(
      downloadModel(model, 'my_model_A.h5'),
      (error: unknown) =>
        error instanceof ModelFileError &&
        error.code === 'WRITE_FAILED' &&
        /in Node, save it to a path/.test(error.message),
    );
  });
});
