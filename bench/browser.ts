/**
 * `npm run bench -- --browser`: model A's epoch (the notebook's dense network, SGD 1e-3, batch 32, with the
 * validation set evaluated) in the same run
 * - in Node, through `Sequential.fit`, on the default wasm backend (its threads) and on one thread;
 * - in headless Chromium (Debian's `/usr/bin/chromium`, driven by playwright-core), the page served from
 *   127.0.0.1 with COOP/COEP so that it is cross-origin isolated, the engine bundle built on the fly by the
 *   same code as `npm run build` (`scripts/build-browser.ts`), started with `ready()` and its defaults: it
 *   runs on as many threads as the browser backend picks by itself (the page reports them);
 * - TensorFlow.js 4.22 with its wasm backend in the same Chromium (binary and threads as it picks them),
 *   a fixed number of steps timed and extrapolated to the epoch.
 *
 * Task A of Fashion-MNIST from `WARMSTART_DATA_DIR` when it is set (the same bytes go to the page), else
 * random images. Prints a table and writes `bench/results-browser.json` (or `--out FILE`).
 *
 * Options: `--rounds N` (timed epochs per warmstart contender and rounds of TF.js, default 3), `--quick`
 * (1 round, 50 TF.js steps), `--tfjs-steps N` (default 200), `--no-tfjs`, `--out FILE`.
 * @module
 */
import { build } from 'esbuild';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBrowserArtifacts } from '../scripts/build-browser.js';
import type { TfjsPageResult } from './browser/tfjs-page.js';
import type { WarmstartPageResult } from './browser/warmstart-page.js';
import {
  BATCH,
  buildModelA,
  type EpochRun,
  median,
  type TaskBytes,
  warmstartEpochs,
} from './browser/workload.js';
import { rng } from './model-a.js';

const CHROMIUM = process.env['WARMSTART_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const here = fileURLToPath(new URL('.', import.meta.url));

/** Headers of every answer: cross-origin isolation (shared memory, threads) and no caching. */
const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

/** One row of the table. */
interface Row {
  name: string;
  /** Median seconds per epoch (TF.js: extrapolated from its timed steps). */
  epochSeconds: number | null;
  bestEpochSeconds?: number;
  runs?: number[];
  threads?: number;
  note: string;
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

function positiveInteger(args: string[], name: string, fallback: number): number {
  const text = option(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(Number.isInteger(value) && value > 0))
    throw new RangeError(`${name} must be a positive integer, got '${text}'`);
  return value;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line !== undefined) return line.split(':')[1]!.trim();
  } catch {
    // Not Linux: os.cpus() below.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/**
 * Random stand-in for task A: the notebook's sizes, about half the pixels zero as in Fashion-MNIST (the
 * kernels skip zero inputs, so the share matters), labels 0..7.
 */
function randomTaskA(): TaskBytes {
  const random = rng(7);
  const images = (count: number): Uint8Array => {
    const out = new Uint8Array(count * 784);
    for (let i = 0; i < out.length; i++) {
      const r = random();
      out[i] = r < 0.5 ? 0 : 1 + Math.floor((r - 0.5) * 2 * 254.99);
    }
    return out;
  };
  const labels = (count: number): Uint8Array =>
    Uint8Array.from({ length: count }, () => Math.floor(random() * 8));
  return {
    trainImages: images(43986),
    trainLabels: labels(43986),
    validImages: images(3998),
    validLabels: labels(3998),
  };
}

/** A static server on 127.0.0.1: the bench pages, the engine, TF.js's wasm files, task A's bytes. */
async function startServer(
  pageRoot: string,
  engineRoot: string,
  tfjsWasmRoot: string,
  data: TaskBytes,
  wasmRequests: string[],
): Promise<{ url: string; close(): Promise<void> }> {
  const fileUnder = (root: string, path: string): string | null => {
    const file = resolve(root, `.${path}`);
    if (!file.startsWith(resolve(root) + sep)) return null;
    return existsSync(file) && statSync(file).isFile() ? file : null;
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    let body: Uint8Array | null = null;
    let file: string | null = null;
    if (path.startsWith('/data/')) {
      const name = path.slice('/data/'.length).replace(/\.bin$/, '');
      if (Object.hasOwn(data, name)) body = data[name as keyof TaskBytes];
    } else if (path.startsWith('/engine/')) file = fileUnder(engineRoot, path.slice('/engine'.length));
    else if (path.startsWith('/tfjs-wasm/')) file = fileUnder(tfjsWasmRoot, path.slice('/tfjs-wasm'.length));
    else file = fileUnder(pageRoot, path === '/' ? '/warmstart.html' : path);
    if (file !== null) body = readFileSync(file);
    if (body === null) {
      response.writeHead(404, { ...HEADERS, 'Content-Type': 'text/plain' });
      response.end(`not found: ${path}\n`);
      return;
    }
    if (path.endsWith('.wasm')) wasmRequests.push(path);
    response.writeHead(200, {
      ...HEADERS,
      'Content-Type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      'Content-Length': body.byteLength,
    });
    response.end(body);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}

/** Bundles the two page scripts and writes their pages into `folder`. */
async function buildPages(folder: string): Promise<void> {
  mkdirSync(folder, { recursive: true });
  for (const name of ['warmstart', 'tfjs']) {
    await build({
      entryPoints: [join(here, 'browser', `${name}-page.ts`)],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2020',
      outfile: join(folder, `${name}-page.js`),
      logLevel: 'warning',
    });
    writeFileSync(
      join(folder, `${name}.html`),
      '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">' +
        `<title>${name} bench</title></head><body><script type="module" src="./${name}-page.js"></script></body></html>`,
    );
  }
}

/** A warmstart row from its epochs. */
function epochRow(name: string, run: EpochRun, threads: number, note: string): Row {
  const best = Math.min(...run.epochSeconds);
  return {
    name,
    epochSeconds: median(run.epochSeconds),
    bestEpochSeconds: best,
    runs: run.epochSeconds,
    threads,
    note: `${note}; median of ${run.epochSeconds.length} epoch(s), best ${best.toFixed(3)} s`,
  };
}

/** Runs the bench (see the module's comment for its options). */
export async function runBrowserBench(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const rounds = positiveInteger(args, '--rounds', quick ? 1 : 3);
  const tfjsSteps = positiveInteger(args, '--tfjs-steps', quick ? 50 : 200);
  const withTfjs = !args.includes('--no-tfjs');
  const outFile = option(args, '--out') ?? join(here, 'results-browser.json');
  const warmupSteps = quick ? 20 : 100;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const ws = await import('../src/index.js');
  const { buildDenseNetwork } = await import('../src/experiments/transfer.js');
  // The page builds model A from the public API; it must stay the study's network.
  const layersOf = (model: ReturnType<typeof buildModelA>): string =>
    JSON.stringify(
      model.layers
        .filter((layer) => layer instanceof ws.Dense)
        .map((layer) => {
          const config = (layer as InstanceType<typeof ws.Dense>).getConfig();
          return [config.units, config.activation, config.kernel_initializer];
        }),
    );
  const study = layersOf(buildDenseNetwork(new ws.Dense({ units: 8, activation: 'softmax' })));
  if (layersOf(buildModelA(ws)) !== study) {
    throw new Error(`bench/browser/workload.ts's model A is not buildDenseNetwork's: ${study}`);
  }

  const dataDir = process.env['WARMSTART_DATA_DIR'] || undefined;
  let data: TaskBytes;
  let dataNote: string;
  if (dataDir !== undefined) {
    const { taskA } = ws.splitTaskAB(await ws.loadFashionMnist({ dataDir, verbose: 0 }));
    data = {
      trainImages: taskA.train.images,
      trainLabels: taskA.train.labels,
      validImages: taskA.valid.images,
      validLabels: taskA.valid.labels,
    };
    dataNote = `Fashion-MNIST task A from ${dataDir}`;
  } else {
    data = randomTaskA();
    dataNote = 'random images (about half the pixels zero; set WARMSTART_DATA_DIR for the real task A)';
  }
  const trainCount = data.trainLabels.length;
  const validCount = data.validLabels.length;
  const stepsPerEpoch = Math.ceil(trainCount / BATCH);

  const loadBefore = os.loadavg();
  const started = new Date();
  const rows: Row[] = [];

  // ---- Node ----
  log('Node: model A, default wasm backend…');
  const nodeKernels = await ws.ready();
  const nodeInfo = nodeKernels instanceof ws.WasmKernels ? nodeKernels.info : null;
  const nodeThreads = nodeInfo?.threads ?? 1;
  const nodeRun = await warmstartEpochs(ws, data, { rounds, warmupSteps });
  rows.push(
    epochRow(
      `warmstart, Node fit, ${nodeThreads} thread${nodeThreads > 1 ? 's' : ''}`,
      nodeRun,
      nodeThreads,
      `${nodeKernels.name}${nodeInfo?.relaxedSimd ? ', relaxed SIMD' : ''}, the default backend`,
    ),
  );
  let node1Run: EpochRun | null = null;
  if (nodeThreads > 1) {
    log('Node: model A, wasm on 1 thread…');
    const one = await ws.createWasmKernels({ threads: 1 });
    ws.setKernels(one);
    node1Run = await warmstartEpochs(ws, data, { rounds, warmupSteps });
    ws.setKernels(nodeKernels);
    await one.dispose();
    rows.push(epochRow('warmstart, Node fit, 1 thread', node1Run, 1, 'wasm, threads: 1'));
  }

  // ---- Chromium ----
  const temp = mkdtempSync(join(os.tmpdir(), 'warmstart-browser-bench-'));
  const wasmRequests: string[] = [];
  let browserResult: WarmstartPageResult | null = null;
  let noYieldResult: WarmstartPageResult | null = null;
  let tfjsResult: TfjsPageResult | null = null;
  let tfjsWasmFiles: string[] = [];
  let chromiumVersion = 'not run';
  const pageErrors: string[] = [];
  try {
    log('building the engine bundle (scripts/build-browser.ts) and the bench pages…');
    await buildBrowserArtifacts(temp);
    await buildPages(join(temp, 'bench'));
    const require = createRequire(import.meta.url);
    const tfjsWasmRoot = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    const server = await startServer(
      join(temp, 'bench'),
      join(temp, 'browser'),
      tfjsWasmRoot,
      data,
      wasmRequests,
    );
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    chromiumVersion = browser.version();
    try {
      const open = async (page: string, ready: string) => {
        const tab = await browser.newPage();
        tab.on('pageerror', (error) => pageErrors.push(`${page}: ${error.message}`));
        tab.on('console', (message) => {
          if (message.type() === 'error') pageErrors.push(`${page}: ${message.text()}`);
        });
        await tab.goto(server.url + page);
        await tab.waitForFunction(ready);
        return tab;
      };
      log('Chromium: model A, warmstart (ready() defaults, fit yields every 16 ms by default)…');
      let tab = await open('warmstart.html', 'typeof window.runWarmstart === "function"');
      browserResult = await tab.evaluate((o) => window.runWarmstart(o), { rounds, warmupSteps });
      await tab.close();
      log('Chromium: model A, warmstart, yieldEvery: false…');
      tab = await open('warmstart.html', 'typeof window.runWarmstart === "function"');
      noYieldResult = await tab.evaluate((o) => window.runWarmstart(o), {
        rounds,
        warmupSteps,
        yieldEvery: false as const,
      });
      await tab.close();
      if (withTfjs) {
        log(`Chromium: model A, TensorFlow.js wasm (${tfjsSteps} steps a round)…`);
        const before = wasmRequests.length;
        tab = await open('tfjs.html', 'typeof window.runTfjs === "function"');
        tfjsResult = await tab.evaluate((o) => window.runTfjs(o), {
          rounds,
          warmupSteps: 10,
          steps: tfjsSteps,
          validationImages: Math.min(
            validCount,
            Math.round((validCount * tfjsSteps) / stepsPerEpoch) + BATCH,
          ),
        });
        tfjsWasmFiles = wasmRequests.slice(before);
        await tab.close();
      }
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  const loadAfter = os.loadavg();

  const sameLosses = (run: EpochRun | null): string =>
    run === null
      ? '—'
      : run.losses.every((loss, i) => Object.is(loss, nodeRun.losses[i]))
        ? 'same'
        : 'differ';
  if (browserResult !== null) {
    const r = browserResult;
    const why = r.warnings.find((warning) => /thread/i.test(warning));
    rows.push(
      epochRow(
        `warmstart, Chromium, ${r.threads} thread${r.threads > 1 ? 's' : ''}`,
        r,
        r.threads,
        [
          `${r.backend}${r.relaxedSimd ? ', relaxed SIMD' : ''}, crossOriginIsolated ${r.crossOriginIsolated}`,
          `yieldEvery default (16 ms); losses vs Node's: ${sameLosses(r)}`,
          ...(r.wasmBackendError === null ? [] : [`wasm backend error: ${r.wasmBackendError}`]),
          ...(why === undefined ? [] : [`engine said: ${why}`]),
          ...(r.threads === 1 && r.crossOriginIsolated && r.hardwareConcurrency >= 2 && why === undefined
            ? [
                `no helper thread started although the page is cross-origin isolated on ${r.hardwareConcurrency} cores`,
              ]
            : []),
        ].join('; '),
      ),
    );
  }
  if (noYieldResult !== null) {
    rows.push(
      epochRow(
        `warmstart, Chromium, ${noYieldResult.threads} thread${noYieldResult.threads > 1 ? 's' : ''}, no yield`,
        noYieldResult,
        noYieldResult.threads,
        `fit with yieldEvery: false (the page is blocked meanwhile); losses vs Node's: ${sameLosses(noYieldResult)}`,
      ),
    );
  }
  if (tfjsResult !== null) {
    const t = tfjsResult;
    const epochs = t.trainSeconds.map(
      (train, i) => (train * stepsPerEpoch) / t.steps + (t.evalSeconds[i]! * validCount) / t.validationImages,
    );
    const binary = tfjsWasmFiles.map((path) => path.split('/').pop()).join(', ') || 'none fetched';
    rows.push({
      name: `TensorFlow.js ${t.version}, Chromium, wasm`,
      epochSeconds: median(epochs),
      bestEpochSeconds: Math.min(...epochs),
      runs: epochs,
      threads: t.threads,
      note:
        `EXTRAPOLATED: ${t.steps} of ${stepsPerEpoch} steps and ${t.validationImages} of ${validCount} validation images timed per round, ` +
        `median of ${epochs.length}; binary ${binary} (SIMD ${t.simd}, threads support ${t.multithread}), ` +
        `${t.threads} thread(s) (XNNPACK's choice), crossOriginIsolated ${t.crossOriginIsolated}`,
    });
  } else if (!withTfjs) {
    rows.push({ name: 'TensorFlow.js, Chromium, wasm', epochSeconds: null, note: 'skipped (--no-tfjs)' });
  }

  // ---- Report ----
  const node = rows[0]!;
  const browserRow = rows.find(
    (row) => row.name.startsWith('warmstart, Chromium') && !row.name.endsWith('no yield'),
  );
  const tfjsRow = rows.find((row) => row.name.startsWith('TensorFlow.js') && row.epochSeconds !== null);
  const fmt = (value: number | null | undefined, digits = 3): string =>
    value === null || value === undefined ? '—' : value.toFixed(digits);
  const browserVsNode =
    browserRow?.epochSeconds != null && node.epochSeconds !== null
      ? browserRow.epochSeconds / node.epochSeconds
      : null;
  const tfjsVsBrowser =
    tfjsRow?.epochSeconds != null && browserRow?.epochSeconds != null
      ? tfjsRow.epochSeconds / browserRow.epochSeconds
      : null;
  const lines: string[] = [];
  lines.push(
    `model A's epoch (${stepsPerEpoch} steps of batch ${BATCH}, SGD 1e-3, + evaluation of ${validCount} validation images)`,
  );
  lines.push(`data: ${dataNote}`);
  lines.push(
    `machine: ${cpuModel()}, ${os.cpus().length} cores, node ${process.version}, Chromium ${chromiumVersion}` +
      `${browserResult === null ? '' : ` (navigator.hardwareConcurrency ${browserResult.hardwareConcurrency})`}, ${started.toISOString()}`,
  );
  lines.push(
    `load average before/after: ${loadBefore.map((v) => v.toFixed(2)).join(' ')} / ${loadAfter.map((v) => v.toFixed(2)).join(' ')}`,
  );
  lines.push('');
  lines.push(
    `${'contender'.padEnd(44)} ${'s/epoch'.padStart(8)} ${'best s'.padStart(7)} ${'vs Node'.padStart(8)}  note`,
  );
  for (const row of rows) {
    const versus =
      row.epochSeconds !== null && node.epochSeconds !== null
        ? `${(row.epochSeconds / node.epochSeconds).toFixed(2)}×`
        : '—';
    lines.push(
      `${row.name.padEnd(44)} ${fmt(row.epochSeconds).padStart(8)} ${fmt(row.bestEpochSeconds).padStart(7)} ${versus.padStart(8)}  ${row.note}`,
    );
  }
  lines.push('');
  lines.push(
    `browser / Node: ${browserVsNode === null ? '—' : `${browserVsNode.toFixed(2)}×`} (target ≤ 1.3×: ${browserVsNode === null ? '—' : browserVsNode <= 1.3 ? 'met' : 'NOT met'})` +
      `${browserResult !== null && browserResult.threads < nodeThreads ? `; the page runs on ${browserResult.threads} thread(s), Node on ${nodeThreads}` : ''}`,
  );
  lines.push(
    `TF.js / browser: ${tfjsVsBrowser === null ? '—' : `${tfjsVsBrowser.toFixed(1)}×`} (target ≥ 15×: ${tfjsVsBrowser === null ? '—' : tfjsVsBrowser >= 15 ? 'met' : 'NOT met'}; TF.js extrapolated from ${tfjsSteps} steps a round)`,
  );
  if (pageErrors.length > 0) lines.push(`page errors: ${pageErrors.join(' | ')}`);
  console.log(lines.join('\n'));

  const results = {
    date: started.toISOString(),
    cpu: cpuModel(),
    cores: os.cpus().length,
    node: process.version,
    chromium: chromiumVersion,
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadAfter,
    data: dataNote,
    workload: `model A (Flatten → Dense 300/100/50/50/50 selu → Dense 8 softmax), fit: SGD 1e-3, batch ${BATCH}, ${stepsPerEpoch} steps + evaluation of ${validCount} images`,
    rounds,
    tfjsStepsPerRound: withTfjs ? tfjsSteps : null,
    browser:
      browserResult === null
        ? null
        : {
            crossOriginIsolated: browserResult.crossOriginIsolated,
            threads: browserResult.threads,
            hardwareConcurrency: browserResult.hardwareConcurrency,
            relaxedSimd: browserResult.relaxedSimd,
            warnings: browserResult.warnings,
          },
    tfjs: tfjsResult === null ? null : { ...tfjsResult, wasmFiles: tfjsWasmFiles },
    epochs: rows,
    ratios: { browserOverNode: browserVsNode, tfjsOverBrowser: tfjsVsBrowser },
    pageErrors,
  };
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${outFile}`);
}
