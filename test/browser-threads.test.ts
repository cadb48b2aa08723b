// The wasm kernels' helper threads in a real browser (Debian's Chromium, driven by playwright-core): module Web
// Workers on the shared memory when the page is cross-origin isolated (served by `warmstart serve`, with
// COOP/COEP), bit-identical training on 1, 2 and 3 threads and to Node, the helpers really running chunks,
// their Workers ended by dispose(); one thread, said once, without the headers or without the helper's file;
// and the page answering while it trains on threads.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { buildBrowserArtifacts } from '../scripts/build-browser.js';
import { startStudyServer, type StudyServer } from '../src/cli/serve.js';
import { buildDenseNetwork } from '../src/experiments/transfer.js';
import * as warmstart from '../src/index.js';
import { makeTempDir } from './fixtures-gen/datasetFixtures.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../scripts/chromium.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const envDataDir = process.env['WARMSTART_DATA_DIR'] || undefined;
// `warmstart serve` needs the dataset's files (it serves them too), though these pages train on made-up data.
const dataDir = envDataDir ?? resolve(repoRoot, '../shared/datasets/fashion-mnist-2017-08-26');
const inCi = process.env['CI'] === 'true';
const skip =
  (!existsSync(CHROMIUM) && !inCi && `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`) ||
  (envDataDir === undefined && !existsSync(dataDir) && `no dataset at ${dataDir}`);
if (skip) console.log(`# browser thread tests skipped: ${skip}`);

/**
 * Runs in every page before its scripts: counts the helper Workers started and terminated (by their names,
 * `warmstart-helper-<index>`), and keeps the console's messages.
 */
const INIT_SCRIPT = `
  globalThis.__name = (target) => target;
  window.__helpers = { started: 0, terminated: 0 };
  const NativeWorker = globalThis.Worker;
  globalThis.Worker = class extends NativeWorker {
    constructor(url, options) {
      super(url, options);
      this.__helper = String(options?.name ?? '').startsWith('warmstart-helper-');
      if (this.__helper) window.__helpers.started++;
    }
    terminate() {
      if (this.__helper && !this.__ended) window.__helpers.terminated++;
      this.__ended = true;
      super.terminate();
    }
  };
`;

/** A page with the engine's API on `window.warmstart` (the bundle from `engine`, a folder beside the page). */
const enginePage = (engine: string): string => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>threads</title></head>
<body data-state="starting">
<script type="module">
  import * as warmstart from './${engine}/warmstart.js';
  window.warmstart = warmstart;
  document.body.dataset.state = 'ready';
</script>
</body></html>`;

/**
 * The notebook's model A (its hidden layers as `buildDenseNetwork` makes them, an 8-way softmax head, SGD at
 * 1e-3) trained for 50 steps of 32 made-up images, from seed 42, on kernels `kernels`: the same source runs in
 * the page and in Node. Resolves to the losses and a SHA-256 of every weight's bytes.
 */
const TRAIN_SOURCE = `async (ws, kernels, hidden, fitOptions) => {
  ws.setKernels(kernels);
  ws.setRandomSeed(42);
  const count = 50 * 32;
  const x = ws.tensor(Float32Array.from({ length: count * 784 }, (_, i) => ((i * 7919) % 251) / 251), [count, 28, 28]);
  const y = ws.tensor(Float32Array.from({ length: count }, (_, i) => (i * 37) % 8), [count]);
  const model = new ws.Sequential([new ws.Flatten({ inputShape: [28, 28] })]);
  for (const layer of hidden) model.add(new ws.Dense(layer));
  model.add(new ws.Dense({ units: 8, activation: 'softmax' }));
  model.compile({ optimizer: new ws.SGD({ learningRate: 1e-3 }), loss: 'sparse_categorical_crossentropy' });
  const history = await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0, ...fitOptions });
  const weights = model.getWeights();
  const bytes = new Uint8Array(weights.reduce((sum, w) => sum + w.data.byteLength, 0));
  let at = 0;
  for (const w of weights) {
    bytes.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), at);
    at += w.data.byteLength;
  }
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return {
    losses: history.history.loss,
    weights: Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join(''),
    parameters: at / 4,
  };
}`;

/**
 * A module Worker that trains as {@link TRAIN_SOURCE} on 2 threads (its helpers are Workers it starts) and
 * posts the result: there the calling thread may sleep in `Atomics.wait`.
 */
const TRAINING_WORKER = `
import * as warmstart from './engine/warmstart.js';
self.onmessage = async ({ data: { hidden } }) => {
  try {
    const train = ${TRAIN_SOURCE};
    const kernels = await warmstart.createWasmKernels({ threads: 2, mainChunkLimit: 1, wasmDir: 'engine/' });
    const callerMayBlock = kernels.pool.callerMayBlock;
    const result = await train(warmstart, kernels, hidden, {});
    const answer = { threads: kernels.info.threads, callerMayBlock, stats: { ...kernels.threadStats }, result };
    await kernels.dispose();
    self.postMessage(answer);
  } catch (error) {
    self.postMessage({ error: String(error && error.stack || error) });
  }
};
`;

/** What {@link TRAIN_SOURCE} resolves to. */
interface TrainResult {
  losses: number[];
  weights: string;
  parameters: number;
}

/** The hidden layers of the notebook's network, as plain options both sides build `Dense` layers from. */
function notebookHiddenLayers(): { units: number; activation: string; kernelInitializer: string }[] {
  return buildDenseNetwork(new warmstart.Dense({ units: 8, activation: 'softmax' }))
    .layers.filter((layer): layer is warmstart.Dense => layer instanceof warmstart.Dense)
    .slice(0, -1)
    .map((layer) => {
      const config = layer.getConfig();
      return {
        units: config.units as number,
        activation: config.activation as string,
        kernelInitializer: config.kernel_initializer as string,
      };
    });
}

/** A static server for `root` without COOP/COEP: the page is then not cross-origin isolated. */
async function startPlainServer(root: string): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.wasm': 'application/wasm',
  };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const file = join(root, path);
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

describe('wasm helper threads in Chromium', { skip }, () => {
  const temp = makeTempDir('browser-threads');
  let server: StudyServer;
  let plain: { url: string; server: Server };
  let browser: Browser;
  const hidden = notebookHiddenLayers();

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is required in CI: ${CHROMIUM} is missing`);
    await buildBrowserArtifacts(temp.path);
    assert.ok(
      existsSync(join(temp.path, 'browser/helper.js')),
      'the build ships helper.js beside the bundle',
    );
    const web = join(temp.path, 'web');
    writeFileSync(join(web, 'threads.html'), enginePage('engine'));
    writeFileSync(join(web, 'training-worker.js'), TRAINING_WORKER);
    // The engine as deployed by someone who copied warmstart.js and the kernels but not helper.js.
    cpSync(join(temp.path, 'browser'), join(web, 'no-helper'), {
      recursive: true,
      filter: (source) => !source.endsWith('helper.js'),
    });
    writeFileSync(join(web, 'no-helper.html'), enginePage('no-helper'));
    // For the server without the headers: the engine beside the page.
    cpSync(join(temp.path, 'browser'), join(web, 'engine'), { recursive: true });
    server = await startStudyServer({
      dataDir,
      port: 0,
      webRoot: web,
      engineRoot: join(temp.path, 'browser'),
      log: () => {},
    });
    plain = await startPlainServer(web);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    plain?.server.close();
    temp.remove();
  });

  /** A page from `url`, ready, with its errors and console messages collected. */
  async function openPage(
    url: string,
  ): Promise<{ page: Page; errors: string[]; messages: { type: string; text: string }[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    const messages: { type: string; text: string }[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => messages.push({ type: message.type(), text: message.text() }));
    await page.addInitScript(INIT_SCRIPT);
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
    return { page, errors, messages };
  }

  test('served by warmstart serve, the page is cross-origin isolated and ready() starts helper Workers', async () => {
    const { page, errors, messages } = await openPage(`${server.url}threads.html`);
    const facts = (await page.evaluate(`(async () => {
      const kernels = await warmstart.ready({ wasmDir: 'engine/' });
      const forced = await warmstart.createWasmKernels({ threads: 2, wasmDir: 'engine/' });
      const facts = {
        crossOriginIsolated, cores: navigator.hardwareConcurrency, backend: kernels.name,
        defaultThreads: kernels.info.threads, forcedThreads: forced.info.threads, helpers: { ...window.__helpers },
      };
      await forced.dispose();
      facts.afterDispose = { ...window.__helpers, threads: forced.info.threads };
      return facts;
    })()`)) as {
      crossOriginIsolated: boolean;
      cores: number;
      backend: string;
      defaultThreads: number;
      forcedThreads: number;
      helpers: { started: number; terminated: number };
      afterDispose: { started: number; terminated: number; threads: number };
    };
    console.log(`# Chromium: ${JSON.stringify(facts)}`);
    assert.equal(facts.crossOriginIsolated, true);
    assert.equal(facts.backend, 'wasm');
    assert.equal(facts.defaultThreads, Math.min(8, facts.cores), 'the default: the cores, at most 8');
    if (facts.cores >= 2) assert.ok(facts.defaultThreads >= 2);
    assert.equal(facts.forcedThreads, 2);
    // The default's helpers, and the forced pair's one.
    assert.deepEqual(facts.helpers, { started: facts.defaultThreads - 1 + 1, terminated: 0 });
    assert.deepEqual(facts.afterDispose, { started: facts.helpers.started, terminated: 1, threads: 1 });
    assert.deepEqual(errors, []);
    assert.deepEqual(
      messages.filter((message) => /thread/i.test(message.text)),
      [],
      'nothing to say about threads',
    );
    await page.close();
  });

  test('50 steps of model A: the same bits on 1, 2 and 3 threads in the page and in Node; the helpers ran chunks; dispose() ends the Workers', async () => {
    const { page, errors } = await openPage(`${server.url}threads.html`);
    const inPage = (await page.evaluate(
      `(async (hidden) => {
        const train = ${TRAIN_SOURCE};
        const runs = [];
        for (const threads of [1, 2, 3]) {
          // mainChunkLimit: the page's thread runs at most one chunk of each phase, the helpers the rest.
          const kernels = await warmstart.createWasmKernels({ threads, mainChunkLimit: 1, wasmDir: 'engine/' });
          const result = await train(warmstart, kernels, hidden, {});
          const stats = kernels.threadStats === null ? null : { ...kernels.threadStats };
          const before = { ...window.__helpers };
          await kernels.dispose();
          runs.push({ threads, info: { ...kernels.info }, stats, result, before, after: { ...window.__helpers } });
        }
        return runs;
      })(${JSON.stringify(hidden)})`,
    )) as {
      threads: number;
      info: { relaxedSimd: boolean; threads: number };
      stats: { runs: number; shared: number } | null;
      result: TrainResult;
      before: { started: number; terminated: number };
      after: { started: number; terminated: number };
    }[];
    assert.deepEqual(errors, []);
    const kernels = await warmstart.createWasmKernels({ threads: 1 });
    const train = new Function(`return ${TRAIN_SOURCE}`)() as (...args: unknown[]) => Promise<TrainResult>;
    const inNode = await train(warmstart, kernels, hidden, {});
    await kernels.dispose();
    assert.equal(inNode.losses.length, 1);
    const layerSizes = [784, 300, 100, 50, 50, 50, 8];
    assert.equal(
      inNode.parameters,
      layerSizes.slice(1).reduce((sum, units, i) => sum + (layerSizes[i]! + 1) * units, 0),
    );
    let helpersStarted = 0;
    for (const run of inPage) {
      assert.equal(run.info.threads, 1, 'dispose() leaves the kernels on one thread');
      assert.equal(run.info.relaxedSimd, kernels.info.relaxedSimd, 'the same kernel build as Node');
      assert.deepEqual(run.result, inNode, `${run.threads} threads in the page: Node's bits`);
      const helpers = run.before.started - helpersStarted;
      helpersStarted = run.before.started;
      assert.equal(helpers, run.threads - 1, `${run.threads} threads: ${helpers} helper Workers started`);
      if (helpers === 0) {
        assert.equal(run.stats, null);
      } else {
        assert.ok(
          run.stats !== null && run.stats.shared > 0,
          `the helpers ran chunks: ${JSON.stringify(run.stats)}`,
        );
      }
      assert.equal(run.after.terminated, run.after.started, 'dispose() terminated every helper Worker');
    }
    assert.deepEqual(
      inPage.map((run) => run.threads),
      [1, 2, 3],
    );
    await page.close();
  });

  test('inside a module Worker the engine starts its own helpers, sleeps at barriers, and gets the same bits', async () => {
    const { page, errors } = await openPage(`${server.url}threads.html`);
    const inWorker = (await page.evaluate(
      `new Promise((resolve) => {
        const worker = new Worker('training-worker.js', { type: 'module' });
        worker.onmessage = (event) => { resolve(event.data); worker.terminate(); };
        worker.onerror = (event) => resolve({ error: event.message || 'the worker failed to start' });
        worker.postMessage({ hidden: ${JSON.stringify(hidden)} });
      })`,
    )) as {
      error?: string;
      threads: number;
      callerMayBlock: boolean;
      stats: { shared: number };
      result: TrainResult;
    };
    assert.equal(inWorker.error, undefined, inWorker.error);
    assert.equal(inWorker.threads, 2);
    assert.equal(inWorker.callerMayBlock, true, 'a Worker may block in Atomics.wait');
    assert.ok(inWorker.stats.shared > 0, JSON.stringify(inWorker.stats));
    const kernels = await warmstart.createWasmKernels({ threads: 1 });
    const train = new Function(`return ${TRAIN_SOURCE}`)() as (...args: unknown[]) => Promise<TrainResult>;
    assert.deepEqual(inWorker.result, await train(warmstart, kernels, hidden, {}), "Node's bits");
    await kernels.dispose();
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('without COOP/COEP the page runs on one thread and says why, once', async () => {
    const { page, errors, messages } = await openPage(`${plain.url}threads.html`);
    const facts = (await page.evaluate(`(async () => {
      const kernels = await warmstart.ready({ wasmDir: 'engine/' });
      const forced = await warmstart.createWasmKernels({ threads: 2, wasmDir: 'engine/' });
      const one = await warmstart.createWasmKernels({ threads: 1, wasmDir: 'engine/' });
      return { crossOriginIsolated, backend: kernels.name, threads: [kernels.info.threads, forced.info.threads, one.info.threads], helpers: window.__helpers.started };
    })()`)) as { crossOriginIsolated: boolean; backend: string; threads: number[]; helpers: number };
    assert.equal(facts.crossOriginIsolated, false);
    assert.equal(facts.backend, 'wasm');
    assert.deepEqual(facts.threads, [1, 1, 1]);
    assert.equal(facts.helpers, 0);
    const said = messages.filter((message) => /thread/i.test(message.text));
    assert.equal(said.length, 1, JSON.stringify(said));
    assert.equal(said[0]!.type, 'info');
    assert.match(
      said[0]!.text,
      /^warmstart: the wasm kernels run on one thread: the page is not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/,
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a helper whose module file is missing does not hang the page: one thread, and a warning naming the file', async () => {
    const { page, errors, messages } = await openPage(`${server.url}no-helper.html`);
    const facts = (await page.evaluate(`(async () => {
      const kernels = await warmstart.ready({ wasmDir: 'no-helper/', threads: 3 });
      return { backend: kernels.name, threads: kernels.info.threads, helpers: { ...window.__helpers } };
    })()`)) as { backend: string; threads: number; helpers: { started: number; terminated: number } };
    assert.deepEqual(facts, { backend: 'wasm', threads: 1, helpers: { started: 2, terminated: 2 } });
    const warnings = messages.filter((message) => message.type === 'warning');
    assert.equal(warnings.length, 1, JSON.stringify(messages));
    assert.match(
      warnings[0]!.text,
      /^warmstart: the wasm kernels run on one thread: 2 of 2 helper threads did not start: could not load the helper's module file http:\/\/127\.0\.0\.1:\d+\/no-helper\/helper\.js/,
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the page answers while model A trains on threads (yieldEvery: the longest main-thread gap < 200 ms)', async () => {
    const { page, errors } = await openPage(`${server.url}threads.html`);
    const facts = (await page.evaluate(
      `(async (hidden) => {
        const train = ${TRAIN_SOURCE};
        const kernels = await warmstart.ready({ wasmDir: 'engine/' });
        // The gaps between the page's timer tasks, from the first step to the last (not the data's making).
        const probe = { training: false, last: 0, maxGap: 0, ticks: 0, seconds: 0 };
        const tick = () => {
          if (!probe.training) return;
          const now = performance.now();
          probe.maxGap = Math.max(probe.maxGap, now - probe.last);
          probe.last = now;
          probe.ticks++;
          setTimeout(tick, 0);
        };
        class Probe extends warmstart.Callback {
          onTrainBegin() {
            probe.training = true;
            probe.last = performance.now();
            probe.seconds = probe.last;
            setTimeout(tick, 0);
          }
          onTrainEnd() {
            tick();
            probe.training = false;
            probe.seconds = (performance.now() - probe.seconds) / 1000;
          }
        }
        await train(warmstart, kernels, hidden, { epochs: 4, yieldEvery: { milliseconds: 16 }, callbacks: [new Probe()] });
        return { threads: kernels.info.threads, stats: { ...kernels.threadStats }, ...probe };
      })(${JSON.stringify(hidden)})`,
    )) as { threads: number; stats: Record<string, number>; maxGap: number; ticks: number; seconds: number };
    console.log(`# responsiveness on threads: ${JSON.stringify(facts)}`);
    assert.ok(facts.threads >= 2, `on threads: ${facts.threads}`);
    assert.ok(facts.stats['runs']! >= 200, `200 steps on the pool: ${JSON.stringify(facts.stats)}`);
    assert.ok(facts.ticks > 10, `the page's timers ran while it trained: ${facts.ticks}`);
    assert.ok(facts.maxGap < 200, `longest main-thread gap ${facts.maxGap.toFixed(1)} ms`);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
