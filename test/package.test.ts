// The package as users get it: `npm pack`, installed into an empty project, then the command line, an
// import from Node that trains (on the WebAssembly kernels shipped in the package), the type declarations
// under `tsc --strict` in a project without @types/node, and a Vite build for the browser. It packs the
// current `dist/` (built by `npm ci` / `npm run build`; the test says so when it is missing). About a
// minute: npm installs the dependencies (and Vite) from its cache, or from the registry.
import assert from 'node:assert/strict';
import { execFileSync, type ExecFileSyncOptions, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  closeHdf5Worker,
  Dense,
  loadModel,
  saveModel,
  Sequential,
  setRandomSeed,
  tensor,
} from '../src/index.js';
import { makeTempDir } from './fixtures-gen/datasetFixtures.js';
import { CHROMIUM } from '../scripts/chromium.js';

/** The Vite the browser-build check uses (pinned, so the check means the same thing from run to run). */
const VITE = 'vite@8.4.0';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');

function run(command: string, args: string[], cwd: string, options: ExecFileSyncOptions = {}): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
      ...options,
    }) as string;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

/** Code a user might write against the package: it must type-check with nothing from Node. */
const USER_CODE = `
import {
  Dense, Flatten, Sequential, SGD, ready, tensor, loadFashionMnist, memoryDatasetCache, terminalProgressBar,
  type DownloadProgress, type History, type ImageDataset,
  downloadModel, inspectModelFile, loadModel, ModelFileError, saveModel, type ModelFileInfo, type ModelSource,
} from 'warmstart';

export async function train(): Promise<History> {
  await ready({ wasmDir: '/assets/' });
  const model = new Sequential([new Flatten({ inputShape: [28, 28] }), new Dense({ units: 10, activation: 'softmax' })]);
  model.compile({ optimizer: new SGD({ learningRate: 0.01 }), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  const data: ImageDataset = await loadFashionMnist({ dataUrl: '/data/', cache: memoryDatasetCache(), onProgress: (progress: DownloadProgress) => progress.receivedBytes });
  const bar = terminalProgressBar({ write: (text: string) => text.length });
  bar({ file: 'x', url: 'y', receivedBytes: 1, totalBytes: 2, finished: false });
  const x = tensor(new Float32Array(data.train.count * 784), [data.train.count, 28, 28]);
  return model.fit(x, tensor(Float32Array.from(data.train.labels), [data.train.count]), { epochs: 1, yieldEvery: { milliseconds: 16 } });
}

export async function modelFiles(file: File): Promise<Uint8Array> {
  const model: Sequential = await loadModel(file, { expect: Sequential });
  const fetched = await loadModel(new URL('/models/a.keras', 'https://example.org'));
  await downloadModel(model, 'my_model_A.h5', { includeOptimizer: false });
  const bytes: Uint8Array = await model.save({ format: 'keras' });
  const source: ModelSource = bytes.buffer;
  const info: ModelFileInfo = await inspectModelFile(source);
  if (info.error !== null) throw new ModelFileError('CORRUPT', info.path, info.error.message);
  return saveModel(fetched, { format: 'h5', onWarning: (message: string) => message.length });
}
`;

/** A tiny training from Node, through the installed package. */
const NODE_CODE = `
import { Dense, Sequential, SGD, getKernels, loadModel, setRandomSeed, tensor, wasmBackendError } from 'warmstart';
setRandomSeed(1);
const x = tensor(Float32Array.from({ length: 256 * 8 }, (_, i) => Math.sin(i)), [256, 8]);
const y = tensor(Float32Array.from({ length: 256 }, (_, i) => (Math.sin(i * 8) > 0 ? 1 : 0)), [256]);
const model = new Sequential([new Dense({ units: 16, activation: 'relu', inputShape: [8] }), new Dense({ units: 2, activation: 'softmax' })]);
model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
const history = await model.fit(x, y, { epochs: 5, verbose: 0 });
// Model files through the package's HDF5 worker (dist/src/io/hdf5/nodeWorker.js): a path and bytes.
const predictions = (m) => Array.from(m.predict(x.slice(0, 4)).data).join(',');
await model.save('model.keras');
const reloaded = [await loadModel('model.keras'), await loadModel(await model.save({ format: 'h5' }))];
console.log(JSON.stringify({
  backend: getKernels().name, error: wasmBackendError?.message ?? null, loss: history.history.loss,
  reloadedAlike: reloaded.map((m) => predictions(m) === predictions(model)),
}));
`;

describe('the packed package in an empty project', () => {
  const temp = makeTempDir('packed');
  const project = join(temp.path, 'project');

  before(() => {
    for (const built of [
      'dist/src/index.js',
      'dist/src/kernels/wasm/kernels-relaxed.wasm',
      'dist/browser/warmstart.js',
    ]) {
      assert.ok(existsSync(join(repoRoot, built)), `${built} is missing: run \`npm run build\` first`);
    }
    // The build already ran (npm ci / npm run build): pack what it made.
    run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', temp.path], repoRoot);
    const tarball = readdirSync(temp.path).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball !== undefined, 'npm pack wrote a tarball');
    run('mkdir', ['-p', project], temp.path);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'user', private: true, type: 'module' }),
    );
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        join(temp.path, tarball),
        VITE,
      ],
      project,
    );
  });
  after(async () => {
    temp.remove();
    await closeHdf5Worker();
  });

  test('npx warmstart --help lists the commands', () => {
    const help = run('npx', ['--no-install', 'warmstart', '--help'], project);
    for (const command of ['transfer', 'optimizers', 'inspect', 'serve'])
      assert.match(help, new RegExp(command));
  });

  test('an import from Node trains on the WebAssembly kernels shipped in the package, saves and loads', () => {
    writeFileSync(join(project, 'train.mjs'), NODE_CODE);
    const result = JSON.parse(run('node', ['train.mjs'], project)) as {
      backend: string;
      error: string | null;
      loss: number[];
      reloadedAlike: boolean[];
    };
    assert.equal(result.error, null);
    assert.equal(result.backend, 'wasm');
    assert.equal(result.loss.length, 5);
    assert.ok(result.loss[4]! < result.loss[0]!, `the loss falls: ${result.loss}`);
    assert.deepEqual(result.reloadedAlike, [true, true], 'saved and loaded back (.keras path, .h5 bytes)');
  });

  test('the type declarations compile under --strict without @types/node (nodenext and bundler)', () => {
    assert.ok(!existsSync(join(project, 'node_modules/@types/node')), 'no @types/node in the project');
    writeFileSync(join(project, 'user.ts'), USER_CODE);
    for (const resolution of [
      { module: 'nodenext', moduleResolution: 'nodenext' },
      { module: 'esnext', moduleResolution: 'bundler' },
    ]) {
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            target: 'es2022',
            lib: ['es2022', 'dom'],
            types: [],
            skipLibCheck: false,
            ...resolution,
          },
          files: ['user.ts'],
        }),
      );
      run('node', [tsc, '-p', 'tsconfig.json'], project);
    }
  });

  /**
   * The page of the Vite check: the README's bundler example trimmed to a tiny training, then model files
   * in the browser: both formats saved to bytes and loaded back from a Blob and a File, a file saved by Node
   * fetched from the page's server, and a damaged file.
   */
  const VITE_PAGE = {
    'index.html':
      '<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>' +
      '<body data-state="starting"><script type="module" src="./main.js"></script></body></html>',
    'main.js': `
import { ready, Sequential, Dense, SGD, tensor, setRandomSeed, loadModel, saveModel, ModelFileError } from 'warmstart';
async function main() {
  const kernels = await ready();
  setRandomSeed(3);
  const x = tensor(Float32Array.from({ length: 64 * 20 }, (_, i) => Math.sin(i * 0.37)), [64, 20]);
  const y = tensor(Float32Array.from({ length: 64 }, (_, i) => i % 3), [64]);
  const model = new Sequential([new Dense({ units: 16, activation: 'relu', inputShape: [20] }), new Dense({ units: 3, activation: 'softmax' })]);
  model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: 'sparse_categorical_crossentropy' });
  const history = await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
  const probe = tensor(Float32Array.from({ length: 5 * 20 }, (_, i) => Math.cos(i * 0.11)), [5, 20]);
  const predict = (m) => Array.from(m.predict(probe).data);
  const h5 = await saveModel(model, { format: 'h5' });
  const keras = await model.save({ format: 'keras' });
  const fromBlob = await loadModel(new Blob([h5]));
  const fromFile = await loadModel(new File([keras], 'model.keras'));
  const fromNode = await loadModel('from-node.h5');
  let damaged = null;
  try {
    await loadModel(h5.subarray(0, h5.length >> 1));
  } catch (error) {
    damaged = { isModelFileError: error instanceof ModelFileError, code: error.code };
  }
  window.result = {
    backend: kernels.name, threads: kernels.info.threads, isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency, losses: history.history.loss, predictions: predict(model),
    reloaded: [predict(fromBlob), predict(fromFile)], fromNode: predict(fromNode),
    h5: Array.from(h5), keras: Array.from(keras), damaged,
  };
  document.body.dataset.state = 'done';
}
main().catch((error) => { window.result = { error: String(error && error.stack || error) }; document.body.dataset.state = 'error'; });
`,
  };

  /** The probe the Vite page predicts on, and a model saved by Node for the page to fetch. */
  const probe = tensor(
    Float32Array.from({ length: 5 * 20 }, (_, i) => Math.cos(i * 0.11)),
    [5, 20],
  );
  let nodeModelPredictions: number[] = [];

  test('a Vite build for the browser copies the kernel files and the HDF5 worker, and sees Node code only in pool', async () => {
    for (const [name, text] of Object.entries(VITE_PAGE)) writeFileSync(join(project, name), text);
    // A model saved by Node, which Vite copies from public/ for the page to fetch.
    setRandomSeed(11);
    const fromNode = new Sequential([
      new Dense({ units: 8, activation: 'tanh', inputShape: [20] }),
      new Dense({ units: 3, activation: 'softmax' }),
    ]);
    fromNode.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
    mkdirSync(join(project, 'public'), { recursive: true });
    await saveModel(fromNode, join(project, 'public/from-node.h5'));
    nodeModelPredictions = Array.from(fromNode.predict(probe).data);
    const build = spawnSync('node', [join(project, 'node_modules/vite/bin/vite.js'), 'build'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${build.stdout}\n${build.stderr}`;
    assert.equal(build.status, 0, output);
    const assets = readdirSync(join(project, 'dist/assets'));
    for (const kernel of ['kernels-relaxed', 'kernels-simd']) {
      assert.ok(
        assets.some((name) => name.startsWith(kernel) && name.endsWith('.wasm')),
        `${kernel} emitted`,
      );
    }
    // Vite follows the worker's new URL(…, import.meta.url) and builds it with h5wasm inside.
    const worker = assets.find((name) => name.startsWith('webWorker') && name.endsWith('.js'));
    assert.ok(worker !== undefined, `the HDF5 worker is emitted: ${assets.join(', ')}`);
    assert.ok(statSync(join(project, 'dist/assets', worker)).size > 3_000_000, 'with HDF5 inside');
    // Vite externalizes (with a warning) each Node built-in a module imports: none may.
    const importers = new Set(
      [...output.matchAll(/imported by "[^"]*\/warmstart\/dist\/(src\/[^"]+)\.js"/g)].map(
        (match) => `${match[1]}.ts`,
      ),
    );
    assert.deepEqual([...importers], [], 'modules importing Node built-ins');
  });

  test(
    'the Vite-built page trains, saves and loads both formats, loads a file saved by Node, refuses a damaged one',
    { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` },
    async () => {
      const root = join(project, 'dist');
      const types: Record<string, string> = {
        '.html': 'text/html',
        '.js': 'text/javascript',
        '.wasm': 'application/wasm',
      };
      const server = createServer((request, response) => {
        const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
        const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
        if (!file.startsWith(root) || !existsSync(file)) {
          response.writeHead(404);
          response.end();
          return;
        }
        // Cross-origin isolated, so that the page runs the helper thread Vite built from helper.js.
        response.writeHead(200, {
          'content-type': types[extname(file)] ?? 'application/octet-stream',
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-embedder-policy': 'require-corp',
        });
        response.end(readFileSync(file));
      });
      await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu'],
      });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        await page
          .waitForFunction(() => document.body.dataset.state !== 'starting', null, { timeout: 60_000 })
          .catch(() => undefined);
        const result = (await page.evaluate(() => (window as unknown as { result?: unknown }).result)) as {
          error?: string;
          backend: string;
          threads: number;
          isolated: boolean;
          cores: number;
          losses: number[];
          predictions: number[];
          reloaded: number[][];
          fromNode: number[];
          h5: number[];
          keras: number[];
          damaged: { isModelFileError: boolean; code: string } | null;
        };
        assert.deepEqual(errors, []);
        assert.equal(result?.error, undefined, result?.error);
        assert.equal(result.backend, 'wasm');
        assert.equal(result.isolated, true);
        assert.equal(result.threads, Math.min(8, result.cores), 'the helper threads Vite built run');
        assert.equal(result.losses.length, 3);
        // Saved in the page and loaded back (a Blob, a File): the same predictions, bit for bit.
        assert.equal(result.predictions.length, 15);
        for (const reloaded of result.reloaded) assert.deepEqual(reloaded, result.predictions);
        // Saved by Node, fetched and loaded by the page: Node's predictions.
        assert.deepEqual(result.fromNode, nodeModelPredictions);
        assert.deepEqual(result.damaged, { isModelFileError: true, code: 'CORRUPT' });
        // Saved in the page, loaded in Node: the page's predictions.
        for (const bytes of [result.h5, result.keras]) {
          const model = await loadModel(Uint8Array.from(bytes), { onWarning: () => {} });
          assert.deepEqual(Array.from(model.predict(probe).data), result.predictions);
        }
      } finally {
        await browser.close();
        server.close();
      }
    },
  );
});
