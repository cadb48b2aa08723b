/**
 * `npm run bench [-- options]`: warmstart against PyTorch 1.13 and numpy (both on OpenBLAS) on this machine,
 * in one run. Prints Markdown tables and writes them, with every measurement, to bench/results.json.
 *
 * Sections (all run by default, in this order):
 *   hardware    CPU model, cores, caches; the clock measured inside WebAssembly and the 128-bit SIMD peak
 *   headline    model A (the notebook's network), one epoch through `Sequential.fit` on Fashion-MNIST task A
 *               (training + validation), SGD 1e-3, batch 32; predict on 10,000 images; vs PyTorch
 *   per-optimizer  the same epoch with each of the notebook's optimizers (its hyperparameters) and Nadam, in
 *               3 round-robin rounds (2 epochs each; PyTorch 1 epoch per thread count), medians over the rounds
 *   network     dense networks from model A's widths to 4096-wide layers, batch 32 to 512, SGD, 16,384
 *               random images (half zeros) per epoch, `fit`; seconds and nominal GFLOPS vs PyTorch
 *   gemm        GFLOPS of the three products of a dense layer (forward x·w, dW xᵀ·dz, dX dz·wᵀ) for shapes
 *               from 32×784×300 to 1024×4096×4096, 1 and 2 threads, dense and 50 % zeros, vs numpy
 * PyTorch always runs on 1 and on 2 threads and the faster is its "best"; OpenBLAS's kernel set is the
 * faster correct one of the preset OPENBLAS_CORETYPE and OpenBLAS's own choice (see bench/python.ts). A
 * reference (netlib) BLAS, or one that computes wrongly, is reported but never compared against.
 *
 * Options:
 *   --only a,b        run only these sections (names above)
 *   --skip a,b        run all but these sections
 *   --data-dir DIR    Fashion-MNIST folder (default $WARMSTART_DATA_DIR). Without one, the headline and the
 *                     optimizer table run on random images, and the output says so in capitals.
 *   --quick           fewer epochs and shorter GEMM budgets, quarter-size network epochs (scaled up): a
 *                     smoke test in about a minute; its figures are not the README's
 *   --no-torch        skip PyTorch;  --no-numpy  skip numpy
 *   --out FILE        where to write the JSON (default bench/results.json; --quick: bench/results.local.json, git-ignored)
 *   --tfjs            add TensorFlow.js 4.22 (wasm backend) to the headline: model A on random images, 100
 *                     steps extrapolated to the epoch (bench/tfjs-w-a.ts)
 *   --reference       add warmstart's plain-TypeScript reference backend to the headline (200 steps,
 *                     extrapolated)
 *   --memory          also run bench/memory.ts, when present (memory over many iterations; heap and RSS over
 *                     20 Adam epochs on task A, given --data-dir), and include its output
 *   --optimizers      instead of all this, bench/optimizers.ts's per-optimizer `fit` table (its own options)
 *   --cnn             instead of all this, bench/cnn.ts: the small CNN's epoch and MobileNetV2's predict vs
 *                     PyTorch (its own options; writes bench/results-cnn.json)
 *   --browser         instead of all this, bench/browser.ts: model A's epoch in Node, in headless Chromium and
 *                     TF.js in Chromium (its own options; writes bench/results-browser.json)
 *   --fit-real [--epochs N] [--threads N]   instead of all this, bench/fit-real.ts: model A on real
 *                     Fashion-MNIST through `Sequential.fit`, fused steps against the layer-by-layer path, SGD,
 *                     Adam and Nadam
 * Development options (print and exit; no tables, no JSON):
 *   --profile [1|2]   time per kernel call of model A's training steps, composed from kernel calls (W_A)
 *   --threads-ab [ROUNDS] [STEPS]   W_A on 1 and 2 threads in alternating slices of one process, best slice
 * @module
 */

import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { SGD } from '../src/optimizers/sgd.js';
import { benchData } from './data.js';
import { profileKernels, threadsAB } from './dev-tools.js';
import { timeFit } from './fit.js';
import { GEMM_SHAPES, type GemmRow, warmstartGemm } from './gemm.js';
import { type Hardware, measureHardware } from './hardware.js';
import { headline, MODEL_A_SIZES, type ModelARow, optimizerTable } from './model-a-fit.js';
import { type NetworkRow, networkTable } from './network.js';
import { PYTHON, type PythonSetup, pythonSetup, runPython } from './python.js';

const args = process.argv.slice(2);
const here = fileURLToPath(new URL('.', import.meta.url));
const flag = (name: string) => args.includes(name);
const value = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- Another bench instead of this one ----
if (flag('--optimizers')) {
  // The per-optimizer table (bench/optimizers.ts has its options).
  const { runOptimizerBench } = await import('./optimizers.js');
  await runOptimizerBench(args);
  process.exit(0);
}
if (flag('--cnn')) {
  // The convolutional workloads (bench/cnn.ts, its own options): the small CNN's epoch, MobileNetV2's predict.
  await import('./cnn.js');
  process.exit(0);
}
if (flag('--browser')) {
  await (await import('./browser.js')).runBrowserBench(args);
  process.exit(0);
}
if (flag('--fit-real')) {
  // Real data through the public API, fused steps against the layer-by-layer path (see fit-real.ts).
  const { fitReal, formatFitReal } = await import('./fit-real.js');
  const option = (name: string) => {
    const given = value(name);
    return given === undefined ? undefined : Number(given);
  };
  console.log(formatFitReal(await fitReal({ epochs: option('--epochs'), threads: option('--threads') })));
  process.exit(0);
}

// ---- Development options ----
if (flag('--profile')) {
  const threads = value('--profile') === '2' ? 2 : 1;
  console.log((await profileKernels(threads)).join('\n'));
  process.exit(0);
}
if (flag('--threads-ab')) {
  const i = args.indexOf('--threads-ab');
  console.log(
    (await threadsAB(Number(args[i + 1] ?? 10) || 10, Number(args[i + 2] ?? 100) || 100)).join('\n'),
  );
  process.exit(0);
}

const SECTIONS = ['hardware', 'headline', 'per-optimizer', 'network', 'gemm'] as const;
type Section = (typeof SECTIONS)[number];
const only = value('--only')?.split(',');
const skip = value('--skip')?.split(',') ?? [];
for (const name of [...(only ?? []), ...skip]) {
  if (!(SECTIONS as readonly string[]).includes(name)) {
    console.error(`unknown section '${name}'; sections: ${SECTIONS.join(', ')}`);
    process.exit(2);
  }
}
const runs = (section: Section) => (only === undefined || only.includes(section)) && !skip.includes(section);
const quick = flag('--quick');
const outFile =
  value('--out') ??
  fileURLToPath(new URL(quick ? './results.local.json' : './results.json', import.meta.url));
const dataDir = value('--data-dir') ?? process.env.WARMSTART_DATA_DIR;

const started = new Date();
const loadBefore = os.loadavg();
const kernels = await createWasmKernels();
// One thread as well: on a shared machine (another process on the other core) it can beat two, and
// PyTorch too is measured on both.
const oneThread = kernels.info.threads > 1 ? await createWasmKernels({ threads: 1 }) : null;
const results: Record<string, unknown> = {
  date: started.toISOString(),
  quick,
  options: args,
};
const report: string[] = [];
const fmt = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
const times = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${v.toFixed(2)}×`);

// ---- Hardware ----
let hardware: Hardware | null = null;
if (runs('hardware') || runs('gemm') || runs('network')) {
  log('measuring the clock…');
  hardware = await measureHardware(kernels.info.relaxedSimd);
  results.hardware = hardware;
  report.push(
    `Machine: ${hardware.cpu}, ${hardware.cores} cores (${hardware.caches}), clock ${hardware.clockGHz.toFixed(2)} GHz measured ` +
      `(dependent additions, CPU time), ${fmt(hardware.fmaPerCycle)} relaxed-SIMD FMAs/cycle measured; Node ${hardware.node}; ` +
      `warmstart ${kernels.info.relaxedSimd ? 'relaxed SIMD (FMA)' : 'SIMD128'}, ${kernels.info.threads} threads.`,
    `128-bit WebAssembly peak: 2 FMA pipes × 4 lanes × 2 flops × ${hardware.clockGHz.toFixed(2)} GHz = ` +
      `${hardware.peakGflopsPerCore.toFixed(1)} GFLOPS per core, ${hardware.peakGflops.toFixed(0)} on ${hardware.cores} cores.`,
  );
}

// ---- Python ----
let python: PythonSetup | null = null;
if (!flag('--no-torch') || !flag('--no-numpy')) {
  log('checking Python, numpy, PyTorch and their BLAS…');
  python = await pythonSetup();
  results.python = python.available
    ? { env: python.note, blas: python.blas, alternative: python.alternative, interpreter: PYTHON }
    : { note: python.note };
  if (!python.available) {
    report.push(`PyTorch and numpy: not run (${python.note}).`);
    python = null;
  } else {
    const blas = python.blas!;
    report.push(
      `PyTorch ${blas.torch ?? '(missing)'} (BLAS_INFO=${blas.torchBlasInfo ?? '?'}) and numpy ${blas.numpy} load ` +
        `${blas.loaded.join(', ') || 'no BLAS library'}; ${blas.openblas ? blas.openblas.config : ''}. ` +
        `Setting used: ${python.note}. Other setting: ${python.alternative?.note ?? 'none'}.`,
    );
    if (!blas.peer) {
      report.push(
        `**This BLAS is not a peer** (${blas.reference ? 'the netlib reference implementation' : 'results disagree with float64'}): ` +
          'PyTorch and numpy figures below are shown but no ratio is computed against them.',
      );
    }
  }
}
const peer = python !== null && python.blas!.peer;
const torchPython = flag('--no-torch') || !python?.hasTorch ? null : python;

// ---- Headline and optimizers (model A on the bench's data) ----
if (runs('headline') || runs('per-optimizer')) {
  log('loading the data…');
  const data = await benchData(dataDir);
  results.data = { real: data.real, source: data.source };
  report.push('', `Data: ${data.real ? data.source : `**${data.source}**`}.`);
  try {
    if (runs('headline')) {
      log('headline: model A, SGD…');
      const row = await headline(kernels, oneThread, torchPython, data, quick);
      const extras: { name: string; seconds: number; note: string }[] = [];
      if (flag('--reference')) {
        log('headline: reference backend…');
        const steps = 200;
        const slice = { ...data.train, count: steps * 32 };
        const r = await timeFit(new ReferenceKernels(), {
          sizes: MODEL_A_SIZES,
          activation: 'selu',
          batch: 32,
          optimizer: () => new SGD({ learningRate: 1e-3 }),
          epochs: 1,
          warmupSteps: 5,
          train: slice,
        });
        const seconds = (r.epochSeconds[0] * data.train.count) / slice.count;
        extras.push({
          name: 'warmstart reference kernels (plain TypeScript)',
          seconds,
          note: `${steps} steps, extrapolated, training only`,
        });
      }
      if (flag('--tfjs')) {
        log('headline: TensorFlow.js…');
        const tfjs = await new Promise<string>((resolve) =>
          execFile(process.execPath, ['--import', 'tsx', `${here}tfjs-w-a.ts`, '100', '2000'], (e, out) =>
            resolve(e === null ? out : ''),
          ),
        );
        const line = tfjs.trim().split('\n').at(-1);
        if (line) {
          const r = JSON.parse(line) as Record<string, number>;
          const seconds = (r.trainSeconds * Math.ceil(data.train.count / 32)) / 100;
          extras.push({
            name: 'TensorFlow.js 4.22, wasm backend',
            seconds,
            note: '100 steps on random images, extrapolated, training only',
          });
        }
      }
      results.headline = { ...row, extras };
      const best = row.torchBest;
      report.push(
        '',
        `| model A, one epoch of fit(epochs: N) (batch 32, SGD 1e-3; train ${data.train.count} + validate ${data.validation.count}) | seconds | vs PyTorch's best |`,
        '| --- | --- | --- |',
        `| warmstart \`Sequential.fit\`, wasm ${kernels.info.threads} threads (median of ${row.warmstartRuns.length}; best ${fmt(Math.min(...row.warmstartRuns), 3)}) | ${fmt(row.warmstartSeconds, 3)} | ${peer ? times(row.speedup) : '—'} |`,
        ...(row.oneThread === undefined
          ? []
          : [
              `| warmstart \`Sequential.fit\`, wasm 1 thread (median of ${row.oneThread.runs.length}; best ${fmt(Math.min(...row.oneThread.runs), 3)}) | ${fmt(row.oneThread.seconds, 3)} | ${peer && best?.epochSeconds ? times(best.epochSeconds / row.oneThread.seconds) : '—'} |`,
            ]),
        ...row.torch.map(
          (t) =>
            `| PyTorch ${python?.blas?.torch ?? ''}, ${t.threads} thread${t.threads > 1 ? 's' : ''}${t === best ? ' (its best)' : ''}${t.runs ? ` (median of ${t.runs.length}; best ${fmt(Math.min(...t.runs), 3)})` : ''} | ${t.epochSeconds === null ? `failed: ${t.error}` : fmt(t.epochSeconds, 3)} | ${t.epochSeconds && peer ? times(t.epochSeconds / row.warmstartSeconds) : '—'} |`,
        ),
        ...extras.map((e) => `| ${e.name} (${e.note}) | ${fmt(e.seconds, 2)} | — |`),
        '',
        `Predict on ${data.predict.count} images, batch 32: warmstart ${fmt((row.predictImagesPerSecond ?? 0) / 1000, 0)}k images/s` +
          `${row.oneThread ? ` (1 thread ${fmt((row.oneThread.predictImagesPerSecond ?? 0) / 1000, 0)}k)` : ''}; ` +
          `PyTorch ${row.torch.map((t) => `${t.threads}t ${fmt((t.predictImagesPerSecond ?? NaN) / 1000, 0)}k`).join(', ')} images/s. ` +
          `Heap ${fmt(row.heapMiB?.[0], 1)} → ${fmt(row.heapMiB?.at(-1), 1)} MiB, RSS ${fmt(row.rssMiB?.[0], 0)} → ${fmt(row.rssMiB?.at(-1), 0)} MiB over the ${row.warmstartRuns.length} epochs. ` +
          `Epochs are timed inside one fit call (onEpochBegin to onEpochEnd, validation included), as PyTorch's loop is; ` +
          `the call's start-up before its first epoch (the once-per-call checks of every input value) took ${fmt((row.fitStartSeconds ?? NaN) * 1000, 0)} ms.`,
      );
    }
    if (runs('per-optimizer')) {
      log('optimizers…');
      const rows = await optimizerTable(kernels, torchPython, data, quick, log);
      results.optimizers = rows;
      const sgd = rows.find((r) => r.name === 'SGD');
      report.push(
        '',
        `| optimizer (the notebook's hyperparameters), model A epoch | warmstart s | ÷ warmstart SGD | PyTorch best s (threads) | PyTorch ÷ warmstart |`,
        '| --- | --- | --- | --- | --- |',
        ...rows.map(
          (r: ModelARow) =>
            `| ${r.name} ${JSON.stringify(r.keras.config).replace(/"/g, '').replace(/,/g, ', ')} | ${fmt(r.warmstartSeconds, 3)} | ${sgd ? fmt(r.warmstartSeconds / sgd.warmstartSeconds) : '—'} | ` +
            `${fmt(r.torchBest?.epochSeconds, 3)} (${r.torchBest?.threads ?? '—'}) | ${peer ? times(r.speedup) : '—'} |`,
        ),
      );
    }
  } finally {
    data.cleanup();
  }
}

// ---- Network table ----
if (runs('network')) {
  log('network table…');
  const rows = await networkTable(kernels, oneThread, torchPython, quick, log);
  results.network = rows;
  report.push(
    '',
    `| network (selu), batch; SGD, 16,384 random images (half zeros) per epoch, \`fit\` | warmstart s, ${kernels.info.threads} threads | 1 thread | PyTorch best s (threads) | PyTorch ÷ warmstart's best | warmstart GFLOPS | PyTorch GFLOPS | warmstart µs/sample |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r: NetworkRow) =>
        `| ${r.sizes.join('-')}, ${r.batch} | ${fmt(r.warmstartSeconds)} | ${fmt(r.warmstartOneThreadSeconds)} | ${fmt(r.torchBest?.epochSeconds)} (${r.torchBest?.threads ?? '—'}) | ${peer ? times(r.speedup) : '—'} | ` +
        `${fmt(r.warmstartGflops, 0)} | ${fmt(r.torchGflops, 0)} | ${fmt((r.warmstartBestSeconds / r.samples) * 1e6, 1)} |`,
    ),
    '',
    "GFLOPS are nominal: 6·m·k·n per layer per training step (forward, dW and dX), whatever is skipped; warmstart's from its faster thread count.",
  );
}

// ---- GEMM table ----
if (runs('gemm')) {
  log('GEMM table: warmstart…');
  const budget = quick ? 0.15 : 0.6;
  const shapes = quick ? GEMM_SHAPES.slice(0, 5) : GEMM_SHAPES;
  const threadCounts = kernels.info.threads > 1 ? [1, kernels.info.threads] : [1];
  const ws = await warmstartGemm(shapes, threadCounts, budget, log);
  let numpyRows: GemmRow[] = [];
  let numpyNote = 'not run';
  if (python !== null && !flag('--no-numpy')) {
    log('GEMM table: numpy…');
    const { json, error } = await runPython(
      'numpy_gemm.py',
      [JSON.stringify(shapes), JSON.stringify(threadCounts), String(budget)],
      python.env,
    );
    numpyRows = (json?.results as GemmRow[] | undefined) ?? [];
    numpyNote = json === null ? `failed: ${error}` : `numpy ${python.blas!.numpy}, ${python.note}`;
  }
  results.gemm = { shapes, warmstart: ws.rows, numpy: numpyRows, notes: ws.notes, numpyNote };
  const cell = (
    rows: GemmRow[],
    m: number,
    k: number,
    n: number,
    t: number,
    z: number,
    p: 'forward' | 'dW' | 'dX',
  ) => rows.find((r) => r.m === m && r.k === k && r.n === n && r.threads === t && r.zeros === z)?.[p];
  const T = threadCounts.at(-1)!;
  report.push(
    '',
    `| m×k×n | product | wasm 1 thread | wasm 1t, 50 % zeros | wasm ${T} threads | wasm ${T}t, 50 % zeros | numpy 1 thread | numpy ${T} threads |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const [m, k, n] of shapes) {
    for (const p of ['forward', 'dW', 'dX'] as const) {
      report.push(
        `| ${m}×${k}×${n} | ${p} | ${fmt(cell(ws.rows, m, k, n, 1, 0, p), 1)} | ${fmt(cell(ws.rows, m, k, n, 1, 0.5, p), 1)} | ${fmt(cell(ws.rows, m, k, n, T, 0, p), 1)} | ` +
          `${fmt(cell(ws.rows, m, k, n, T, 0.5, p), 1)} | ${fmt(cell(numpyRows, m, k, n, 1, 0, p), 1)} | ${fmt(cell(numpyRows, m, k, n, T, 0, p), 1)} |`,
      );
    }
  }
  report.push(
    '',
    `GFLOPS = 2·m·k·n / best time of one call (CPU time on 1 thread, wall time on ${T}; m = batch, k = inputs, n = outputs), also with zeros: warmstart skips the zero ` +
      `x values of forward and dW (as its reference does), so those cells can pass the peak; dX's zeros (in dz) are not skipped. ` +
      `numpy: ${numpyNote}; its 50 %-zeros figures are in the JSON (a BLAS does the same work either way). ${ws.notes.join('; ')}.`,
  );
}

// ---- Other helpers' benchmarks, when present ----
for (const [option, file] of [['--memory', 'memory.ts']] as const) {
  if (!flag(option)) continue;
  if (!existsSync(`${here}${file}`)) {
    report.push('', `${option}: bench/${file} is not in this checkout.`);
    continue;
  }
  log(`${option}: bench/${file}…`);
  const out = await new Promise<string>((resolve) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', `${here}${file}`, ...(dataDir === undefined ? [] : ['--data-dir', dataDir])],
      { maxBuffer: 1 << 24 },
      (e, stdout, stderr) => resolve(e === null ? stdout : `failed: ${e.message} ${stderr.slice(-400)}`),
    ),
  );
  results[file.replace('.ts', '')] = out;
  report.push('', `bench/${file}:`, out.trim());
}

// The clock again: turbo frequencies move with the machine's load and temperature.
if (hardware !== null) {
  const end = await measureHardware(kernels.info.relaxedSimd);
  results.clockAtEndGHz = end.clockGHz;
  report.push(
    '',
    `Clock at the start ${hardware.clockGHz.toFixed(2)} GHz, at the end ${end.clockGHz.toFixed(2)} GHz: ` +
      `the 128-bit peak is ${(16 * Math.min(hardware.clockGHz, end.clockGHz)).toFixed(0)}–${(16 * Math.max(hardware.clockGHz, end.clockGHz)).toFixed(0)} GFLOPS per core.`,
  );
}
const stats = kernels.threadStats;
await kernels.dispose();
await oneThread?.dispose();
const loadAfter = os.loadavg();
results.loadAverage = { before: loadBefore, after: loadAfter };
results.threadStats = stats;
results.report = report;
report.push(
  '',
  `Load average before/after: ${loadBefore.map((v) => v.toFixed(2)).join(' ')} / ${loadAfter.map((v) => v.toFixed(2)).join(' ')}` +
    (stats === null
      ? ''
      : `; shared runs ${stats.runs}, the helper threads joined ${stats.shared}, sharing paused ${stats.pauses} times (another process had a core).`),
  `Wall time of the bench: ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s; ${started.toISOString()}.`,
);
console.log(report.join('\n'));
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${outFile}`);
