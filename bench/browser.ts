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
 * Every contender is started first (data loaded, model compiled, a warm-up `fit`), then the rounds go
 * round-robin (one epoch of each contender, then the next round), so that the machine's load, which comes
 * and goes on a shared machine, falls on all of them; the table gives each one's median.
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
import type { Page } from 'playwright-core';
import type { TfjsPageInfo } from './browser/tfjs-page.js';
import type { WarmstartPageInfo } from './browser/warmstart-page.js';
import { BATCH, buildModelA, median, startModelA, type TaskBytes } from './browser/workload.js';
import { rng } from './model-a.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../scripts/chromium.js';

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

/**
 * A contender: started once (outside the timings), then one timed round after another, interleaved with the
 * other contenders' rounds so that a burst of load on the shared machine hits them all rather than one.
 */
interface Contender {
  name: string;
  /** Seconds per epoch of each round so far (TF.js: extrapolated). */
  epochs: number[];
  /** Training loss of each round. */
  losses: number[];
  threads: number;
  /** What the row's note says besides the rounds. */
  note: () => string;
  round(): Promise<void>;
}

function rowOf(contender: Contender): Row {
  const best = Math.min(...contender.epochs);
  return {
    name: contender.name,
    epochSeconds: median(contender.epochs),
    bestEpochSeconds: best,
    runs: contender.epochs,
    threads: contender.threads,
    note: `${contender.note()}; median of ${contender.epochs.length} round(s), best ${best.toFixed(3)} s`,
  };
}

const plural = (threads: number): string => `${threads} thread${threads > 1 ? 's' : ''}`;

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
  const contenders: Contender[] = [];
  /** Whether a contender's losses are bit for bit those of the first (Node, default backend). */
  const sameLosses = (contender: Contender): string =>
    contender.losses.every((loss, i) => Object.is(loss, contenders[0]!.losses[i])) ? 'same' : 'differ';
  /** A warmstart contender in Node on `kernels` (models built now keep them). */
  const nodeContender = async (name: string, note: string, threads: number): Promise<Contender> => {
    const session = await startModelA(ws, data, { warmupSteps });
    const contender: Contender = {
      name,
      epochs: [],
      losses: [],
      threads,
      note: () => note,
      async round() {
        const epoch = await session.epoch();
        contender.epochs.push(epoch.seconds);
        contender.losses.push(epoch.loss);
      },
    };
    return contender;
  };

  log('Node: starting model A on the default wasm backend, and on 1 thread…');
  const nodeKernels = await ws.ready();
  const nodeInfo = nodeKernels instanceof ws.WasmKernels ? nodeKernels.info : null;
  const nodeThreads = nodeInfo?.threads ?? 1;
  contenders.push(
    await nodeContender(
      `warmstart, Node fit, ${plural(nodeThreads)}`,
      `${nodeKernels.name}${nodeInfo?.relaxedSimd ? ', relaxed SIMD' : ''}, the default backend`,
      nodeThreads,
    ),
  );
  const oneThread = nodeThreads > 1 ? await ws.createWasmKernels({ threads: 1 }) : null;
  if (oneThread !== null) {
    ws.setKernels(oneThread);
    contenders.push(await nodeContender('warmstart, Node fit, 1 thread', 'wasm, threads: 1', 1));
    ws.setKernels(nodeKernels);
  }

  const temp = mkdtempSync(join(os.tmpdir(), 'warmstart-browser-bench-'));
  const wasmRequests: string[] = [];
  let browserInfo = null as WarmstartPageInfo | null;
  let tfjsInfo = null as TfjsPageInfo | null;
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
      const open = async (page: string, ready: string): Promise<Page> => {
        const tab = await browser.newPage();
        tab.on('pageerror', (error) => pageErrors.push(`${page}: ${error.message}`));
        tab.on('console', (message) => {
          if (message.type() === 'error') pageErrors.push(`${page}: ${message.text()}`);
        });
        await tab.goto(server.url + page);
        await tab.waitForFunction(ready);
        return tab;
      };
      /** warmstart in a page of its own; `yieldEvery` undefined: the browsers' default (16 ms). */
      const pageContender = async (yieldEvery: false | undefined): Promise<Contender> => {
        const tab = await open('warmstart.html', 'typeof window.startWarmstart === "function"');
        const info = await tab.evaluate((o) => window.startWarmstart(o), { warmupSteps, yieldEvery });
        browserInfo ??= info;
        const contender: Contender = {
          name: `warmstart, Chromium, ${plural(info.threads)}${yieldEvery === false ? ', no yield' : ''}`,
          epochs: [],
          losses: [],
          threads: info.threads,
          note: () => {
            const why = info.warnings.find((warning) => /thread/i.test(warning));
            const parts =
              yieldEvery === false
                ? ['fit with yieldEvery: false (the page is blocked meanwhile)']
                : [
                    `${info.backend}${info.relaxedSimd ? ', relaxed SIMD' : ''}, crossOriginIsolated ${info.crossOriginIsolated}`,
                    'yieldEvery default (16 ms)',
                  ];
            parts.push(`losses vs Node's: ${sameLosses(contender)}`);
            if (info.wasmBackendError !== null) parts.push(`wasm backend error: ${info.wasmBackendError}`);
            if (why !== undefined) parts.push(`engine said: ${why}`);
            else if (info.threads === 1 && info.crossOriginIsolated && info.hardwareConcurrency >= 2) {
              parts.push(
                `no helper thread started although the page is cross-origin isolated on ${info.hardwareConcurrency} cores`,
              );
            }
            return parts.join('; ');
          },
          async round() {
            const epoch = await tab.evaluate(() => window.warmstartEpoch());
            contender.epochs.push(epoch.seconds);
            contender.losses.push(epoch.loss);
          },
        };
        return contender;
      };
      log(
        'Chromium: starting model A with warmstart (ready() defaults), twice: fit yielding every 16 ms, and never…',
      );
      contenders.push(await pageContender(undefined));
      contenders.push(await pageContender(false));
      if (withTfjs) {
        log(`Chromium: starting model A with TensorFlow.js wasm (${tfjsSteps} steps a round)…`);
        const before = wasmRequests.length;
        const tab = await open('tfjs.html', 'typeof window.startTfjs === "function"');
        const info = await tab.evaluate((o) => window.startTfjs(o), {
          warmupSteps: 10,
          steps: tfjsSteps,
          validationImages: Math.min(
            validCount,
            Math.round((validCount * tfjsSteps) / stepsPerEpoch) + BATCH,
          ),
        });
        tfjsInfo = info;
        tfjsWasmFiles = wasmRequests.slice(before).map((path) => path.split('/').pop()!);
        const contender: Contender = {
          name: `TensorFlow.js ${info.version}, Chromium, wasm`,
          epochs: [],
          losses: [],
          threads: info.threads,
          note: () =>
            `EXTRAPOLATED: ${info.steps} of ${stepsPerEpoch} steps and ${info.validationImages} of ${validCount} validation images timed per round; ` +
            `binary ${tfjsWasmFiles.join(', ') || 'none fetched'} (SIMD ${info.simd}, threads support ${info.multithread}), ` +
            `${plural(info.threads)} (XNNPACK's choice), crossOriginIsolated ${info.crossOriginIsolated}`,
          async round() {
            const r = await tab.evaluate(() => window.tfjsRound());
            contender.epochs.push(
              (r.trainSeconds * stepsPerEpoch) / info.steps +
                (r.evalSeconds * validCount) / info.validationImages,
            );
            contender.losses.push(r.loss);
          },
        };
        contenders.push(contender);
      }
      for (let round = 1; round <= rounds; round++) {
        for (const contender of contenders) {
          log(`round ${round}/${rounds}: ${contender.name}`);
          await contender.round();
        }
      }
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
    await oneThread?.dispose();
  }
  const loadAfter = os.loadavg();

  const rows = contenders.map(rowOf);
  if (!withTfjs)
    rows.push({ name: 'TensorFlow.js, Chromium, wasm', epochSeconds: null, note: 'skipped (--no-tfjs)' });

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
      `${browserInfo === null ? '' : ` (navigator.hardwareConcurrency ${browserInfo.hardwareConcurrency})`}, ${started.toISOString()}`,
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
      `${browserInfo !== null && browserInfo.threads < nodeThreads ? `; the page runs on ${browserInfo.threads} thread(s), Node on ${nodeThreads}` : ''}`,
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
      browserInfo === null
        ? null
        : {
            crossOriginIsolated: browserInfo.crossOriginIsolated,
            threads: browserInfo.threads,
            hardwareConcurrency: browserInfo.hardwareConcurrency,
            relaxedSimd: browserInfo.relaxedSimd,
            warnings: browserInfo.warnings,
          },
    tfjs: tfjsInfo === null ? null : { ...tfjsInfo, wasmFiles: tfjsWasmFiles },
    epochs: rows,
    ratios: { browserOverNode: browserVsNode, tfjsOverBrowser: tfjsVsBrowser },
    pageErrors,
  };
  writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${outFile}`);
}
