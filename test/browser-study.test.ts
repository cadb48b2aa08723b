// The study page in a real browser: Debian's Chromium (never a downloaded one), driven by playwright-core.
// A shortened study (model A: 2 epochs on 5,000 images; B and B on A as in the notebook; a 2-contender race)
// must draw its curves, fill its tables with accuracies above chance, and keep the page answering while it
// trains; its download button must save model A as an .h5 (and the page a .keras) that Node loads with the
// page's predictions, bit for bit. A second page runs the README's <script type="module"> example and must
// match Node bit for bit; a third loads model files saved by Node (same predictions) and damaged ones (Node's
// error codes). Screenshots go to /work/team/screens (WARMSTART_SCREENSHOT_DIR), outside the repository.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { buildBrowserArtifacts } from '../scripts/build-browser.js';
import { startStudyServer, type StudyServer } from '../src/cli/serve.js';
import {
  closeHdf5Worker,
  Dense,
  loadModel,
  ModelFileError,
  ready,
  saveModel,
  Sequential,
  setRandomSeed,
  SGD,
  tensor,
  type Tensor,
} from '../src/index.js';
import { makeTempDir } from './fixtures-gen/datasetFixtures.js';
import { damagedModels, EXPECTED_DAMAGE_CODES } from './helpers/damagedModels.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../scripts/chromium.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const envDataDir = process.env['WARMSTART_DATA_DIR'] || undefined;
const dataDir = envDataDir ?? resolve(repoRoot, '../shared/datasets/fashion-mnist-2017-08-26');
const screenshotDir =
  process.env['WARMSTART_SCREENSHOT_DIR'] ??
  (existsSync('/work/team') ? '/work/team/screens' : join(tmpdir(), 'warmstart-screens'));

// Without Chromium the test is skipped with the reason, except in CI, where .ci/run installs it: there a
// missing browser must fail.
const inCi = process.env['CI'] === 'true';
const skip =
  (!existsSync(CHROMIUM) && !inCi && `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`) ||
  (envDataDir === undefined && !existsSync(dataDir) && `no dataset at ${dataDir}`);
if (skip) console.log(`# browser tests skipped: ${skip}`);

/** Runs in the page before its own script: the longest gap between timer tasks while it trains. */
const GAP_PROBE = `
  // tsx compiles this test with esbuild's keepNames, so functions sent to page.evaluate call __name.
  globalThis.__name = (target) => target;
  // paused: while the test itself holds the page's thread (a screenshot), which is not the page's doing.
  window.__probe = { maxGap: 0, samples: 0, frames: 0, paused: false, longest: [] };
  let last = performance.now();
  let lastStatus = '';
  // Each change of the page's state goes into the browser's trace, to find the training in it.
  new MutationObserver(() => console.timeStamp('state:' + document.body.dataset.state)).observe(document, {
    subtree: true, attributes: true, attributeFilter: ['data-state'],
  });
  const tick = () => {
    const now = performance.now();
    const status = document.getElementById('status')?.textContent ?? '';
    if (document.body && document.body.dataset.state === 'training' && !window.__probe.paused) {
      window.__probe.maxGap = Math.max(window.__probe.maxGap, now - last);
      window.__probe.samples++;
      // The five longest gaps, with what the page said before and after, for the failure message.
      window.__probe.longest.push([Math.round(now - last), lastStatus, status]);
      window.__probe.longest.sort((a, b) => b[0] - a[0]).splice(5);
    }
    last = now;
    lastStatus = status;
    setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  const frame = () => {
    if (document.body && document.body.dataset.state === 'training') window.__probe.frames++;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
`;

/** What GAP_PROBE records. */
interface Probe {
  maxGap: number;
  samples: number;
  frames: number;
  /** The five longest gaps: milliseconds, the page's status before and after. */
  longest: [number, string, string][];
}

/** A task of the page's main thread, from the browser's trace: wall time and the thread's own CPU time. */
interface MainThreadTask {
  wallMs: number;
  cpuMs: number;
}

/**
 * The page's main-thread tasks while it was training, from a Chromium trace (categories `devtools.timeline`):
 * `RunTask` events on `CrRendererMain` that overlap the time from a `state:training` stamp to the next change
 * of state.
 */
function trainingTasks(trace: Buffer): MainThreadTask[] {
  type TraceEvent = {
    name: string;
    pid: number;
    tid: number;
    ts: number;
    dur?: number;
    tdur?: number;
    args?: { name?: string; data?: { message?: string } };
  };
  const events = (JSON.parse(trace.toString()) as { traceEvents: TraceEvent[] }).traceEvents;
  const main = new Set(
    events
      .filter((event) => event.name === 'thread_name' && event.args?.name === 'CrRendererMain')
      .map((event) => `${event.pid}:${event.tid}`),
  );
  const changes = events
    .filter((event) => event.name === 'TimeStamp' && String(event.args?.data?.message).startsWith('state:'))
    .map((event) => ({ ts: event.ts, training: event.args?.data?.message === 'state:training' }))
    .sort((a, b) => a.ts - b.ts);
  // Training windows [start, end): from a `state:training` stamp to the next change of state.
  const windows = changes.flatMap((change, i) =>
    change.training ? [[change.ts, changes[i + 1]?.ts ?? Infinity] as const] : [],
  );
  // A task overlapping a window counts: the state flips inside the task that goes on to train (the
  // stamp is written by a microtask of that task).
  const overlaps = (start: number, end: number): boolean =>
    windows.some(([from, to]) => start < to && end > from);
  return events
    .filter(
      (event) =>
        event.name === 'RunTask' &&
        main.has(`${event.pid}:${event.tid}`) &&
        overlaps(event.ts, event.ts + (event.dur ?? 0)),
    )
    .map((event) => ({ wallMs: (event.dur ?? 0) / 1000, cpuMs: (event.tdur ?? event.dur ?? 0) / 1000 }));
}

/** The README's `<script type="module">` example, plus a tiny deterministic training to compare with Node. */
const MODULE_EXAMPLE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>module example</title></head>
<body data-state="starting">
<script type="module">
  import { ready, Sequential, Dense, SGD, tensor, setRandomSeed } from './engine/warmstart.js';
  const kernels = await ready({ wasmDir: 'engine/' });   // a relative URL, resolved against this page
  document.body.dataset.state = 'training';
  ${tinyTrainingSource()}
  window.result = { backend: kernels.name, losses: history.history.loss };
  document.body.dataset.state = 'done';
</script>
</body></html>`;

/** The same few lines run in the page and in Node. */
function tinyTrainingSource(): string {
  return `
  setRandomSeed(3);
  const x = tensor(Float32Array.from({ length: 64 * 20 }, (_, i) => Math.sin(i * 0.37)), [64, 20]);
  const y = tensor(Float32Array.from({ length: 64 }, (_, i) => i % 3), [64]);
  const model = new Sequential([new Dense({ units: 16, activation: 'relu', inputShape: [20] }), new Dense({ units: 3, activation: 'softmax' })]);
  model.compile({ optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }), loss: 'sparse_categorical_crossentropy' });
  const history = await model.fit(x, y, { epochs: 5, batchSize: 8, verbose: 0 });`;
}

/** A page with the engine's API on `window.warmstart`, for the model-file tests to drive. */
const IO_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>model files</title></head>
<body data-state="starting">
<script type="module">
  import * as warmstart from './engine/warmstart.js';
  await warmstart.ready({ wasmDir: 'engine/' });
  window.warmstart = warmstart;
  document.body.dataset.state = 'ready';
</script>
</body></html>`;

/**
 * The inputs both sides predict on: \`count\` rows of \`shape\`, the same values in the page (this source) and
 * in Node ({@link probeTensor}).
 */
const PROBE_SOURCE = `(count, shape) => warmstart.tensor(
  Float32Array.from({ length: count * shape.reduce((a, b) => a * b, 1) }, (_, i) => ((i * 7919) % 256) / 255),
  [count, ...shape])`;
function probeTensor(count: number, shape: number[]): Tensor {
  return new Function('warmstart', `return (${PROBE_SOURCE})`)({ tensor })(count, shape) as Tensor;
}

describe('the study page in Chromium', { skip }, () => {
  const temp = makeTempDir('browser-study');
  let server: StudyServer;
  let browser: Browser;
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is required in CI: ${CHROMIUM} is missing`);
    await buildBrowserArtifacts(temp.path);
    writeFileSync(join(temp.path, 'web/module-example.html'), MODULE_EXAMPLE);
    writeFileSync(join(temp.path, 'web/io.html'), IO_PAGE);
    // The engine as an esbuild user might deploy it, without the HDF5 worker beside it.
    cpSync(join(temp.path, 'browser'), join(temp.path, 'web/no-worker'), {
      recursive: true,
      filter: (source) => !source.includes('hdf5'),
    });
    writeFileSync(
      join(temp.path, 'web/no-worker.html'),
      IO_PAGE.replaceAll('./engine/', './no-worker/').replace("wasmDir: 'engine/'", "wasmDir: 'no-worker/'"),
    );
    mkdirSync(join(temp.path, 'web/models'));
    // The README's example imports the browser build from ./warmstart/, as a site serving dist/browser would.
    cpSync(join(temp.path, 'browser'), join(temp.path, 'web/warmstart'), { recursive: true });
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const example = /```html\n(<script type="module">[\s\S]*?<\/script>)\n```/.exec(readme);
    assert.ok(example !== null, 'the README has a <script type="module"> example');
    writeFileSync(
      join(temp.path, 'web/readme-example.html'),
      `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>${example[1]}</body></html>`,
    );
    server = await startStudyServer({
      dataDir,
      port: 0,
      webRoot: join(temp.path, 'web'),
      engineRoot: join(temp.path, 'browser'),
      log: () => {},
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    mkdirSync(screenshotDir, { recursive: true });
  });
  after(async () => {
    await studyPage?.close();
    await browser?.close();
    await server?.close();
    await closeHdf5Worker();
    temp.remove();
  });
  /** The study's page, kept open after its test for the download test. */
  let studyPage: Page | undefined;

  async function openPage(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.addInitScript(GAP_PROBE);
    await page.goto(server.url + path);
    return page;
  }

  test('a shortened study trains, draws its curves, fills its tables and stays responsive', async () => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.addInitScript(GAP_PROBE);
    await browser.startTracing(page, {
      categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'],
    });
    await page.goto(`${server.url}?epochsA=2&slice=5000&run=all&only=sgd,adam&raceEpochs=2`);
    await page.waitForFunction(() => document.body.dataset.state === 'training', null, { timeout: 120_000 });
    // Mid-training, when B on A has unfrozen (so the screenshot shows curves on both sides of the boundary),
    // some input: switch tabs and back; the page records how long each click waited.
    await page.waitForFunction(
      () =>
        /B on A, unfrozen: epoch ([4-9]|1\d)\//.test(document.getElementById('status')!.textContent ?? ''),
      null,
      { timeout: 120_000, polling: 10 },
    );
    await page.evaluate(
      () => ((window as unknown as { __probe: { paused: boolean } }).__probe.paused = true),
    );
    await page.screenshot({ path: join(screenshotDir, 'study-training.png'), fullPage: true });
    // The first tick after this measures from here, not from before the screenshot.
    await page.evaluate(
      () =>
        new Promise<void>((resume) =>
          setTimeout(() => {
            (window as unknown as { __probe: { paused: boolean } }).__probe.paused = false;
            resume();
          }, 0),
        ),
    );
    await page.click('[data-tab=race]');
    await page.click('[data-tab=transfer]');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state!), null, {
      timeout: 240_000,
    });
    assert.equal(await page.evaluate(() => document.getElementById('error')!.textContent), '');
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'done');
    assert.deepEqual(pageErrors, []);

    const facts = await page.evaluate(() => {
      const study = (window as unknown as { study: Record<string, unknown> }).study;
      const lines = (id: string) =>
        Array.from(
          document.querySelectorAll(`#${id} svg .mark-line path`),
          (path) => path.getAttribute('d') ?? '',
        );
      const ids = [
        'chart-model-a-accuracy',
        'chart-model-a-loss',
        'chart-task-b-accuracy',
        'chart-task-b-loss',
        'chart-race-val-accuracy',
        'chart-race-loss',
      ];
      const table = (id: string) =>
        Array.from(document.querySelectorAll(`#${id} tbody tr`), (row) =>
          Array.from(row.querySelectorAll('td'), (cell) => cell.textContent ?? ''),
        );
      return {
        crossOriginIsolated,
        backend: study.backend as string,
        lines: Object.fromEntries(ids.map((id) => [id, lines(id)])),
        markers: Array.from(
          document.querySelectorAll('#chart-task-b-accuracy svg .mark-text text'),
          (text) => text.textContent,
        ),
        transfer: table('transfer-table'),
        race: table('race-table'),
        probe: (window as unknown as { __probe: Probe }).__probe,
        inputDelays: study.inputDelays as number[],
      };
    });

    const tasks = trainingTasks(await browser.stopTracing());
    await page.screenshot({ path: join(screenshotDir, 'study-done-race.png'), fullPage: true });
    await page.click('[data-tab=transfer]');
    await page.screenshot({ path: join(screenshotDir, 'study-done-transfer.png'), fullPage: true });

    assert.equal(facts.crossOriginIsolated, true, 'COOP/COEP make the page cross-origin isolated');
    assert.match(facts.backend, /^WebAssembly SIMD/);
    // Curves: every chart has lines, and each line joins several epochs (an SVG path with line segments).
    for (const [id, paths] of Object.entries(facts.lines)) {
      assert.ok(paths.length >= 2, `${id} draws its lines (${paths.length})`);
      for (const d of paths) assert.match(d, /^M[\d.,-]+L[\d.,-]+/, `${id}: a line through several points`);
    }
    assert.equal(facts.lines['chart-task-b-accuracy']!.length, 4, 'B and B on A, training and validation');
    assert.ok(facts.markers.includes('reused layers unfrozen after epoch 4'), 'the unfreeze boundary');
    // Tables: accuracies well above chance (1/8 for task A, 1/2 for task B).
    const accuracy = (row: string[] | undefined): number => Number(row?.[3]);
    assert.equal(facts.transfer.length, 3);
    assert.ok(accuracy(facts.transfer[0]) > 0.6, `model A: ${facts.transfer[0]}`);
    assert.ok(accuracy(facts.transfer[1]) > 0.6, `B from scratch: ${facts.transfer[1]}`);
    assert.ok(accuracy(facts.transfer[2]) > 0.6, `B on A: ${facts.transfer[2]}`);
    assert.deepEqual(
      facts.race.map((row) => row[0]),
      ['sgd', 'adam'],
    );
    for (const row of facts.race) assert.ok(Number(row[2]) > 0.5, `race: ${row}`);
    // Responsiveness. What the page controls: no task of its main thread ran 200 ms of CPU while it trained
    // (thread time from the browser's trace, which the machine's load does not inflate).
    assert.ok(tasks.length > 100, `the trace holds the training's tasks (${tasks.length})`);
    const longestCpu = Math.max(...tasks.map((task) => task.cpuMs));
    const longestWall = Math.max(...tasks.map((task) => task.wallMs));
    assert.ok(longestCpu < 200, `a main-thread task ran ${longestCpu.toFixed(0)} ms of CPU while training`);
    // What a person sees: timers, frames and clicks got their turn within 200 ms, by the wall clock. On a
    // machine with more runnable processes than cores the wall clock measures the machine (the OS
    // preempts the browser for hundreds of milliseconds): then the figures are printed, not asserted.
    assert.ok(facts.probe.samples > 20, `the probe ran during training (${facts.probe.samples} times)`);
    assert.ok(facts.probe.frames > 10, `frames were drawn during training (${facts.probe.frames})`);
    assert.equal(facts.inputDelays.length, 2);
    const load = loadavg()[0]!;
    const oversubscribed = load > availableParallelism();
    const wallClock = `longest main-thread gap while training ${facts.probe.maxGap.toFixed(0)} ms; the longest, with the page's status before and after: ${JSON.stringify(facts.probe.longest)}; clicks answered in ${facts.inputDelays.map((d) => d.toFixed(0)).join(', ')} ms`;
    if (oversubscribed) {
      console.log(
        `# wall-clock gap not asserted: load average ${load.toFixed(1)} on ${availableParallelism()} cores; ${wallClock}`,
      );
    } else {
      assert.ok(facts.probe.maxGap < 200, wallClock);
      for (const delay of facts.inputDelays) assert.ok(delay < 200, `a click waited ${delay} ms`);
    }
    console.log(
      `# browser study: longest training task ${longestCpu.toFixed(0)} ms CPU (${longestWall.toFixed(0)} ms wall), ` +
        `longest gap ${facts.probe.maxGap.toFixed(0)} ms over ${facts.probe.samples} probes, ` +
        `${facts.probe.frames} frames, clicks answered in ${facts.inputDelays.map((d) => d.toFixed(0)).join(', ')} ms; ` +
        `test accuracies ${facts.transfer.map((row) => row[3]).join(', ')}; screenshots in ${screenshotDir}`,
    );
    studyPage = page;
  });

  test("the page's download button saves model A as an .h5 that Node loads with the page's predictions", async () => {
    const page = studyPage;
    assert.ok(page !== undefined, 'the study ran');
    assert.equal(
      await page.isDisabled('#download-model-a'),
      false,
      'the button is enabled once A has trained',
    );
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-model-a')]);
    assert.equal(download.suggestedFilename(), 'my_model_A.h5');
    const path = join(temp.path, 'my_model_A.h5');
    await download.saveAs(path);
    await page.waitForFunction(() =>
      /^Saved/.test(document.getElementById('download-note')!.textContent ?? ''),
    );
    await page.screenshot({ path: join(screenshotDir, 'study-download-model-a.png'), fullPage: true });
    // The page predicts with its model A, and saves it as .keras too.
    const inPage = (await page.evaluate(`(async () => {
      const warmstart = await import('./engine/warmstart.js');
      const probe = (${PROBE_SOURCE})(16, [28, 28]);
      const keras = await study.modelA.save({ format: 'keras' });
      return { predictions: Array.from(study.modelA.predict(probe).data), keras: Array.from(keras) };
    })()`)) as { predictions: number[]; keras: number[] };
    assert.equal(inPage.predictions.length, 16 * 8);
    const probe = probeTensor(16, [28, 28]);
    const fromH5 = await loadModel(path, { expect: Sequential });
    assert.deepEqual(Array.from(fromH5.predict(probe).data), inPage.predictions, '.h5: bit for bit');
    const kerasPath = join(temp.path, 'my_model_A.keras');
    writeFileSync(kerasPath, Uint8Array.from(inPage.keras));
    const fromKeras = await loadModel(kerasPath, { expect: Sequential });
    assert.deepEqual(Array.from(fromKeras.predict(probe).data), inPage.predictions, '.keras: bit for bit');
    // As the notebook saves it: compiled, with the optimizer and its state.
    for (const model of [fromH5, fromKeras]) {
      assert.equal(model.optimizer?.className, 'SGD');
      assert.ok(Number(model.optimizer?.iterations) > 0, 'the optimizer state came along');
    }
    console.log(
      `# model A downloaded from the page: ${statSync(path).size} bytes (.h5), ${inPage.keras.length} bytes (.keras)`,
    );
    assert.deepEqual(pageErrors, []);
  });

  test('without its worker file, model files fail with an error that names the missing file, not the model', async () => {
    const page = await openPage('no-worker.html');
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
    const errorsBefore = pageErrors.length;
    const failure = (await page.evaluate(`(async () => {
      const model = new warmstart.Sequential([new warmstart.Dense({ units: 2, inputShape: [3] })]);
      const outcome = async (promise) => promise.then(() => null, (error) => ({ name: error.name, code: error.code ?? null, message: error.message }));
      const bytes = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0);
      return { load: await outcome(warmstart.loadModel(bytes)), save: await outcome(model.save({ format: 'h5' })) };
    })()`)) as Record<'load' | 'save', { name: string; code: string | null; message: string }>;
    assert.equal(failure.load.name, 'Hdf5Failure', JSON.stringify(failure.load));
    assert.match(
      failure.load.message,
      /the HDF5 worker did not start: it could not load its module file http:.*\/no-worker\/hdf5\/webWorker\.js .*; this is not about the file$/,
    );
    assert.equal(failure.save.name, 'ModelFileError');
    assert.equal(failure.save.code, 'WRITE_FAILED');
    assert.match(failure.save.message, /the HDF5 worker did not start/);
    // The browser logs the failed request for the worker's script (one per attempt); nothing else.
    for (const message of pageErrors.splice(errorsBefore)) assert.match(message, /404|webWorker/);
    await page.close();
  });

  test('files saved by Node load in the page with the same predictions, from a URL, a Blob and bytes', async () => {
    setRandomSeed(17);
    const model = new Sequential([
      new Dense({ units: 12, activation: 'relu', inputShape: [20] }),
      new Dense({ units: 4, activation: 'softmax' }),
    ]);
    model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
    const x = tensor(
      Float32Array.from({ length: 40 * 20 }, (_, i) => Math.sin(i * 0.3)),
      [40, 20],
    );
    const y = tensor(
      Float32Array.from({ length: 40 }, (_, i) => i % 4),
      [40],
    );
    await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
    await saveModel(model, join(temp.path, 'web/models/node.h5'));
    await saveModel(model, join(temp.path, 'web/models/node.keras'));
    const expected = Array.from(model.predict(probeTensor(9, [20])).data);
    const page = await openPage('io.html');
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
    const inPage = (await page.evaluate(`(async () => {
      const probe = (${PROBE_SOURCE})(9, [20]);
      const results = {};
      for (const name of ['node.h5', 'node.keras']) {
        const url = 'models/' + name;
        const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
        const sources = { url, blob: new Blob([bytes]), file: new File([bytes], name), bytes, buffer: bytes.buffer };
        for (const [how, source] of Object.entries(sources)) {
          const loaded = await warmstart.loadModel(source);
          results[name + ' from ' + how] = {
            predictions: Array.from(loaded.predict(probe).data),
            iterations: loaded.optimizer.iterations,
          };
        }
      }
      return results;
    })()`)) as Record<string, { predictions: number[]; iterations: number }>;
    assert.equal(Object.keys(inPage).length, 10);
    for (const [what, result] of Object.entries(inPage)) {
      assert.deepEqual(result.predictions, expected, `${what}: bit for bit`);
      assert.equal(result.iterations, model.optimizer!.iterations, `${what}: with the optimizer state`);
    }
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test("a damaged file gives Node's ModelFileError code in the page; a hang is cut by the deadline", async () => {
    setRandomSeed(19);
    const model = new Sequential([new Dense({ units: 5, activation: 'relu', inputShape: [6] })]);
    model.compile({ optimizer: 'sgd', loss: 'mse' });
    const damaged = await damagedModels(model, async (bytes) => {
      try {
        await loadModel(bytes, { onWarning: () => {} });
      } catch (error) {
        assert.ok(error instanceof ModelFileError, String(error));
        return error.code;
      }
      throw new Error('a damaged file loaded');
    });
    mkdirSync(join(temp.path, 'web/damaged'));
    for (const { name, bytes, code } of damaged) {
      assert.ok(EXPECTED_DAMAGE_CODES[name]!.includes(code), `${name} in Node: ${code}`);
      writeFileSync(join(temp.path, 'web/damaged', name), bytes);
    }
    // A 4 MB model: reading it takes well over a millisecond.
    setRandomSeed(5);
    const big = new Sequential([new Dense({ units: 1000, inputShape: [1000] })]);
    await saveModel(big, join(temp.path, 'web/models/big.h5'));
    const page = await openPage('io.html');
    await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 });
    const errorsBefore = pageErrors.length;
    const cases = damaged.map(({ name, bytes }) => ({ name, bytes: Array.from(bytes) }));
    const inPage = (await page.evaluate(
      `(async (cases) => {
        const attempt = async (source, options) => {
          try {
            const model = await warmstart.loadModel(source, options);
            return { loaded: model.countParams() };
          } catch (error) {
            return { isModelFileError: error instanceof warmstart.ModelFileError, code: error.code, message: error.message };
          }
        };
        const results = {};
        for (const { name, bytes } of cases) {
          results[name] = { bytes: await attempt(Uint8Array.from(bytes)), url: await attempt('damaged/' + name) };
        }
        results.missing = await attempt('damaged/missing.h5');
        results.timeout = await attempt('models/big.h5', { timeoutMs: 1 });
        results.afterTimeout = await attempt('models/big.h5');
        return results;
      })(${JSON.stringify(cases)})`,
    )) as Record<
      string,
      Record<string, { isModelFileError?: boolean; code?: string; message?: string; loaded?: number }>
    >;
    for (const { name, code } of damaged) {
      const { bytes, url } = inPage[name]!;
      assert.deepEqual(
        [bytes, url].map((result) => [result!.isModelFileError, result!.code]),
        [
          [true, code],
          [true, code],
        ],
        `${name}: ${bytes!.message} / ${url!.message}`,
      );
      assert.match(
        url!.message!,
        new RegExp(`/damaged/${name.replace('.', '\\.')}: `),
        'the message names the URL',
      );
    }
    const missing = inPage['missing'] as { code?: string; message?: string };
    assert.equal(missing.code, 'NOT_FOUND');
    assert.match(missing.message!, /HTTP 404/);
    assert.equal((inPage['timeout'] as { code?: string }).code, 'TIMEOUT');
    // The hung worker was terminated; a fresh one reads the file.
    assert.deepEqual(inPage['afterTimeout'], { loaded: 1000 * 1000 + 1000 });
    // The browser logs the request for the missing file; nothing else may appear.
    assert.deepEqual(pageErrors.splice(errorsBefore), [
      'Failed to load resource: the server responded with a status of 404 (Not Found)',
    ]);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test('the README\'s <script type="module"> example trains in the page exactly as in Node', async () => {
    const page = await openPage('module-example.html');
    await page.waitForFunction(() => document.body.dataset.state === 'done', null, { timeout: 60_000 });
    const inPage = await page.evaluate(
      () => (window as unknown as { result: { backend: string; losses: number[] } }).result,
    );
    assert.equal(inPage.backend, 'wasm');
    await ready();
    const run = new Function(
      'ready, Sequential, Dense, SGD, tensor, setRandomSeed',
      `return (async () => { ${tinyTrainingSource()}; return history.history.loss; })();`,
    ) as (...api: unknown[]) => Promise<number[]>;
    const inNode = await run(ready, Sequential, Dense, SGD, tensor, setRandomSeed);
    assert.equal(inPage.losses.length, 5);
    assert.deepEqual(inPage.losses, inNode, 'the same losses, bit for bit');
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  test('the README\'s <script type="module"> example runs as written', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const logged = new Promise<unknown>((resolve) =>
      page.on('console', (message) => {
        if (message.type() === 'log') void message.args()[0]?.jsonValue().then(resolve);
      }),
    );
    await page.goto(`${server.url}readme-example.html`);
    const accuracy = (await Promise.race([
      logged,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the example logged nothing')), 60_000)),
    ])) as number[];
    assert.equal(accuracy.length, 20);
    assert.ok(accuracy[19]! > 0.5, `it learns: ${accuracy}`);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});
