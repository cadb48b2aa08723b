/**
 * `npm run bench`: W_A (one epoch of model A, composed from kernel calls) on the wasm backend with 2 and 1
 * threads, the reference backend (a slice, extrapolated), PyTorch and TensorFlow.js (wasm) when available;
 * GEMM GFLOPS of the three batch-32 products against numpy's BLAS; predict throughput. Prints a table and
 * writes bench/results.json (or `--out FILE`).
 *
 * Options: --quick (fewer repetitions, short slices), --dense (images without zeros: no zero-skipping in
 * warmstart's products; PyTorch and TF.js keep their own data), --no-torch, --no-tfjs, --no-numpy,
 * --out FILE. `--optimizers`: the per-optimizer `fit` table of bench/optimizers.ts instead; `--cnn`: the
 * convolutional benchmark instead (bench/cnn.ts, its own options there); `--browser`: model A's epoch in
 * Node, in headless Chromium and TF.js in Chromium instead (bench/browser.ts, its own options there).
 * `--fit-real [--epochs N] [--threads N]`: model A on real Fashion-MNIST through `Sequential.fit`, fused steps
 * against the layer-by-layer path, SGD, Adam and Nadam (bench/fit-real.ts), instead.
 *
 * Adding a contender (e.g. the real `Sequential.fit` once src/models/ has it): push another
 * {@link Contender} onto `contenders` below; its `run` returns an {@link EpochResult}.
 * @module
 */

import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import type { Kernels } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { fitEpochs } from './fit.js';
import { type EpochResult, ModelA, randomDataset, runEpoch } from './model-a.js';

const args = process.argv.slice(2);
if (args.includes('--optimizers')) {
  // The per-optimizer table instead (bench/optimizers.ts has its options).
  const { runOptimizerBench } = await import('./optimizers.js');
  await runOptimizerBench(args);
  process.exit(0);
}
if (args.includes('--cnn')) {
  // The convolutional workloads (bench/cnn.ts): the small CNN's epoch and MobileNetV2's predict.
  await import('./cnn.js');
  process.exit(0);
}
if (args.includes('--browser')) {
  await (await import('./browser.js')).runBrowserBench(args);
  process.exit(0);
}
const quick = args.includes('--quick');
const outIndex = args.indexOf('--out');
const outFile =
  outIndex >= 0 ? args[outIndex + 1] : fileURLToPath(new URL('./results.json', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
const PYTHON = '/usr/bin/python3';
const REPEATS = quick ? 1 : 5;

if (args.includes('--fit-real')) {
  // Real data through the public API, fused steps against the layer-by-layer path (see fit-real.ts).
  const { fitReal, formatFitReal } = await import('./fit-real.js');
  const option = (name: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? Number(args[index + 1]) : undefined;
  };
  console.log(formatFitReal(await fitReal({ epochs: option('--epochs'), threads: option('--threads') })));
  process.exit(0);
}

/** One row of the W_A table. */
interface Row {
  name: string;
  epochSeconds: number | null;
  /** Fastest of the repeated epochs (wasm rows only). */
  bestEpochSeconds?: number;
  trainSeconds?: number;
  evalSeconds?: number;
  runs?: number[];
  predictImagesPerSecond?: number;
  note: string;
}

/** A contender of W_A: returns epoch timings, or a reason it was skipped. */
interface Contender {
  name: string;
  run(): Promise<Row>;
}

const dense = args.includes('--dense');
const train = randomDataset(44000, 1, dense);
const validation = randomDataset(5000, 2, dense);
const predictImages = randomDataset(10000, 3, dense);

/** Full epochs on a backend (after a warm-up of 100 steps); the median of REPEATS runs. */
async function kernelEpochs(name: string, kernels: Kernels, note: string): Promise<Row> {
  const model = new ModelA(kernels);
  runEpoch(model, train, validation, quick ? 20 : 100);
  const results: EpochResult[] = [];
  for (let r = 0; r < REPEATS; r++) results.push(runEpoch(model, train, validation));
  const sorted = [...results].sort((a, b) => a.seconds - b.seconds);
  const median = sorted[Math.floor(sorted.length / 2)];
  model.dispose();
  return {
    name,
    epochSeconds: median.seconds,
    bestEpochSeconds: sorted[0].seconds,
    trainSeconds: median.trainSeconds,
    evalSeconds: median.evalSeconds,
    runs: results.map((r) => r.seconds),
    note: `${note}; median of ${results.length} epoch(s), best ${sorted[0].seconds.toFixed(3)} s`,
  };
}

/** Runs a command, resolving its stdout (null when it fails or is missing). */
function run(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 900_000) {
  return new Promise<{ stdout: string; error: string | null }>((resolve) => {
    execFile(command, argv, { env, timeout: timeoutMs, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      resolve({
        stdout,
        error: error === null ? null : `${error.message.split('\n')[0]} ${stderr.slice(-300)}`,
      });
    });
  });
}

function lastJson(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

/**
 * The environment for the Python side. This machine presets OPENBLAS_CORETYPE (old OpenBLAS builds
 * misbehave on some new CPUs); without it OpenBLAS picks its own kernels, usually faster. numpy's check
 * against float64 decides: auto-detection is used only where it computes correctly.
 */
let pythonEnv: NodeJS.ProcessEnv = process.env;
let pythonEnvNote = 'environment as set';

const hasTorch = existsSync(PYTHON) && (await run(PYTHON, ['-c', 'import torch'])).error === null;
const hasNumpy = existsSync(PYTHON) && (await run(PYTHON, ['-c', 'import numpy'])).error === null;

let wasm2: WasmKernels | null = null;
let wasm1: WasmKernels | null = null;
const gemm: Record<string, Record<string, number> | null> = {};
const predict: Record<string, number> = {};

/**
 * GEMM and predict figures of a wasm backend, taken right after its epochs. Waits out a pause of the
 * thread pool first (it stops splitting for up to 0.1 s when another process had the other core).
 */
async function kernelRates(label: string, kernels: WasmKernels): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  gemm[`wasm, ${label}`] = gemmGflops(kernels);
  predict[`wasm, ${label}, batch 32`] = predictRate(kernels, 32);
  predict[`wasm, ${label}, batch 256`] = predictRate(kernels, 256);
}

/** Heap and RSS after each epoch of the `fit` contender. */
let fitMemory: { epochs: number; heapMiB: number[]; rssMiB: number[] } | null = null;

const contenders: Contender[] = [
  {
    name: 'warmstart wasm, 2 threads',
    async run() {
      wasm2 = await createWasmKernels({ threads: 2 });
      const row = await kernelEpochs(
        this.name,
        wasm2,
        `${wasm2.info.relaxedSimd ? 'relaxed SIMD (FMA)' : 'SIMD128'}, ${wasm2.info.threads} threads`,
      );
      await kernelRates('2 threads', wasm2);
      const stats = wasm2.threadStats;
      if (stats !== null) {
        row.note += `; shared runs ${stats.runs}, helpers joined ${stats.shared}, late ${stats.slow}, pauses ${stats.pauses}`;
      }
      return row;
    },
  },
  {
    name: 'warmstart Sequential.fit, wasm 2 threads',
    async run() {
      const epochs = quick ? 3 : 20;
      const kernels = wasm2 ?? (await createWasmKernels({ threads: 2 }));
      const r = await fitEpochs(kernels, train, validation, epochs);
      fitMemory = { epochs, heapMiB: r.heapMiB, rssMiB: r.rssMiB };
      const sorted = [...r.epochSeconds].sort((a, b) => a - b);
      const last = epochs - 1;
      return {
        name: this.name,
        epochSeconds: sorted[Math.floor(sorted.length / 2)],
        bestEpochSeconds: sorted[0],
        runs: r.epochSeconds,
        note:
          `the public API, ${epochs} epochs, median; heap ${r.heapMiB[0].toFixed(1)} → ${r.heapMiB[last].toFixed(1)} MiB, ` +
          `RSS ${r.rssMiB[0].toFixed(0)} → ${r.rssMiB[last].toFixed(0)} MiB (epoch 1 → ${epochs})`,
      };
    },
  },
  {
    name: 'warmstart wasm, 1 thread',
    async run() {
      wasm1 = await createWasmKernels({ threads: 1 });
      const row = await kernelEpochs(
        this.name,
        wasm1,
        wasm1.info.relaxedSimd ? 'relaxed SIMD (FMA)' : 'SIMD128',
      );
      await kernelRates('1 thread', wasm1);
      return row;
    },
  },
  {
    name: 'warmstart reference (plain TS)',
    async run() {
      const steps = quick ? 10 : 50;
      const model = new ModelA(new ReferenceKernels());
      runEpoch(model, train, validation, 5);
      const r = runEpoch(model, train, validation, steps);
      return {
        name: this.name,
        epochSeconds: r.seconds,
        trainSeconds: r.trainSeconds,
        evalSeconds: r.evalSeconds,
        note: `${steps} of ${r.stepsPerEpoch} steps timed, extrapolated`,
      };
    },
  },
];

if (hasTorch && !args.includes('--no-torch')) {
  for (const threads of [2, 1]) {
    contenders.push({
      name: `PyTorch, ${threads} thread${threads > 1 ? 's' : ''}`,
      async run() {
        const sizes = quick ? ['3200', '400', '3200'] : [];
        const { stdout, error } = await run(
          PYTHON,
          [`${here}torch_w_a.py`, String(threads), ...sizes],
          pythonEnv,
        );
        if (error !== null) return { name: this.name, epochSeconds: null, note: `failed: ${error}` };
        const r = lastJson(stdout);
        const scale = quick ? 44000 / 3200 : 1;
        const evalScale = quick ? 5000 / 400 : 1;
        return {
          name: this.name,
          epochSeconds: (r.trainSeconds as number) * scale + (r.evalSeconds as number) * evalScale,
          trainSeconds: (r.trainSeconds as number) * scale,
          evalSeconds: (r.evalSeconds as number) * evalScale,
          predictImagesPerSecond: r.predictImagesPerSecond as number,
          note: `torch ${r.torch as string}, ${r.blas as string}, ${pythonEnvNote}${quick ? ', slice extrapolated' : ''}`,
        };
      },
    });
  }
} else {
  const reason = args.includes('--no-torch')
    ? 'skipped (--no-torch)'
    : `skipped: no torch for ${PYTHON} (apt-get install python3-torch)`;
  contenders.push({
    name: 'PyTorch',
    async run() {
      return { name: this.name, epochSeconds: null, note: reason };
    },
  });
}

if (!args.includes('--no-tfjs')) {
  contenders.push({
    name: 'TensorFlow.js 4.22, wasm backend',
    async run() {
      const steps = quick ? 20 : 100;
      const { stdout, error } = await run(process.execPath, [
        '--import',
        'tsx',
        `${here}tfjs-w-a.ts`,
        String(steps),
        '2000',
      ]);
      if (error !== null) return { name: this.name, epochSeconds: null, note: `skipped: ${error}` };
      const r = lastJson(stdout);
      const trainSeconds = ((r.trainSeconds as number) * 1375) / steps;
      const evalSeconds = ((r.evalSeconds as number) * 5000) / (r.validationImages as number);
      return {
        name: this.name,
        epochSeconds: trainSeconds + evalSeconds,
        trainSeconds,
        evalSeconds,
        predictImagesPerSecond: r.predictImagesPerSecond as number,
        note: `${steps} of 1375 steps timed, extrapolated; ${r.threads as number} thread(s)`,
      };
    },
  });
}

/** GFLOPS of the three batch-32 products of model A's first layer, through the Kernels API. */
function gemmGflops(kernels: Kernels): Record<string, number> {
  const m = 32;
  const k = 784;
  const n = 300;
  // Filled in place: `.map` would return ordinary arrays, which the wasm kernels hand to the reference.
  const x = kernels.alloc(m * k);
  const w = kernels.alloc(k * n);
  const z = kernels.alloc(m * n);
  x.forEach((_, i) => (x[i] = Math.sin(i)));
  w.forEach((_, i) => (w[i] = Math.cos(i) * 0.05));
  z.forEach((_, i) => (z[i] = Math.sin(i * 0.7)));
  const dw = kernels.alloc(k * n);
  const dx = kernels.alloc(m * k);
  const cases: Record<string, () => void> = {
    forward: () => kernels.denseForward(x, w, null, z, z, m, k, n, 'linear'),
    dW: () => kernels.denseBackwardWeights(x, z, dw, null, m, k, n),
    dX: () => kernels.denseBackwardInput(z, w, dx, m, k, n),
  };
  const out: Record<string, number> = {};
  for (const [name, fn] of Object.entries(cases)) {
    for (let r = 0; r < 100; r++) fn();
    let best = Infinity;
    for (let round = 0; round < (quick ? 3 : 10); round++) {
      const t = performance.now();
      for (let r = 0; r < 50; r++) fn();
      best = Math.min(best, (performance.now() - t) / 50);
    }
    out[name] = (2 * m * k * n) / best / 1e6;
  }
  for (const a of [x, w, z, dw, dx]) kernels.free(a);
  return out;
}

/** Images per second of model A's predict (forward + softmax) on 10,000 images. */
function predictRate(kernels: Kernels, batch: number): number {
  const model = new ModelA(kernels, 1, batch);
  const out = new Float32Array(10000 * 8);
  model.predict(predictImages.x, 2000, out);
  let best = Infinity;
  for (let r = 0; r < (quick ? 2 : 5); r++) {
    const t = performance.now();
    model.predict(predictImages.x, 10000, out);
    best = Math.min(best, performance.now() - t);
  }
  model.dispose();
  return 10000 / (best / 1000);
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line === undefined ? (os.cpus()[0]?.model ?? 'unknown') : line.split(':')[1].trim();
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

const loadBefore = os.loadavg();
const started = new Date();

// numpy first: it also decides the OpenBLAS setting for PyTorch.
let numpy: Record<string, unknown> | null = null;
let numpyNote = '';
if (hasNumpy && !args.includes('--no-numpy')) {
  const script = `${here}numpy_gemm.py`;
  const preset = await run(PYTHON, [script, quick ? '0.2' : '1'], process.env);
  const autoEnv = { ...process.env };
  delete autoEnv.OPENBLAS_CORETYPE;
  delete autoEnv.OPENBLAS_L2_SIZE;
  const auto = await run(PYTHON, [script, quick ? '0.2' : '1'], autoEnv);
  const presetResult = preset.error === null ? lastJson(preset.stdout) : null;
  const autoResult = auto.error === null ? lastJson(auto.stdout) : null;
  if (autoResult !== null && autoResult.correct === true && process.env.OPENBLAS_CORETYPE !== undefined) {
    numpy = autoResult;
    pythonEnv = autoEnv;
    pythonEnvNote = `OPENBLAS_CORETYPE unset (preset ${process.env.OPENBLAS_CORETYPE} gave ${JSON.stringify(
      (presetResult?.gflops as Record<string, number> | undefined) ?? {},
      (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v),
    )} GFLOPS)`;
  } else {
    numpy = presetResult;
    pythonEnvNote = 'environment as set';
  }
  numpyNote = numpy === null ? `failed: ${preset.error ?? ''}` : `${numpy.blas as string}, ${pythonEnvNote}`;
} else {
  numpyNote = `skipped: no numpy for ${PYTHON} (apt-get install python3-numpy)`;
}

const rows: Row[] = [];
for (const contender of contenders) {
  process.stderr.write(`running ${contender.name}…\n`);
  rows.push(await contender.run());
}

gemm.numpy = (numpy?.gflops as Record<string, number> | undefined) ?? null;
for (const row of rows)
  if (row.predictImagesPerSecond !== undefined) predict[`${row.name}, batch 32`] = row.predictImagesPerSecond;
const disposable: (WasmKernels | null)[] = [wasm1, wasm2];
for (const kernels of disposable) if (kernels !== null) await kernels.dispose();
const loadAfter = os.loadavg();

// ---- Report ----
const torch2 = rows.find((r) => r.name === 'PyTorch, 2 threads' && r.epochSeconds !== null);
const torch1 = rows.find((r) => r.name === 'PyTorch, 1 thread' && r.epochSeconds !== null);
const fmt = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined ? '—' : v.toFixed(digits);
const ratio = (torch: Row | undefined, row: Row) =>
  torch?.epochSeconds != null && row.epochSeconds !== null
    ? `${(torch.epochSeconds / row.epochSeconds).toFixed(2)}×`
    : '—';
const lines: string[] = [];
lines.push(`W_A: one epoch of model A (1375 steps of batch 32 + evaluation of 5,000 images), random data`);
lines.push(
  dense
    ? '(--dense: images without zeros, so no zero-skipping in the products)'
    : "(images ~80 % zeros like MNIST digits; warmstart's products skip zero inputs, as its reference does)",
);
lines.push(
  `machine: ${cpuModel()}, ${os.cpus().length} cores, node ${process.version}, ${started.toISOString()}`,
);
lines.push(
  `load average before/after: ${loadBefore.map((v) => v.toFixed(2)).join(' ')} / ${loadAfter.map((v) => v.toFixed(2)).join(' ')}`,
);
lines.push('');
lines.push(
  `${'contender'.padEnd(34)} ${'epoch s'.padStart(8)} ${'best s'.padStart(7)} ${'train s'.padStart(8)} ${'eval s'.padStart(7)} ${'vs PT 2t'.padStart(9)} ${'vs PT 1t'.padStart(9)}  note`,
);
for (const row of rows) {
  lines.push(
    `${row.name.padEnd(34)} ${fmt(row.epochSeconds).padStart(8)} ${fmt(row.bestEpochSeconds).padStart(7)} ${fmt(row.trainSeconds).padStart(8)} ${fmt(row.evalSeconds).padStart(7)} ${ratio(torch2, row).padStart(9)} ${ratio(torch1, row).padStart(9)}  ${row.note}`,
  );
}
lines.push('');
lines.push(`GEMM GFLOPS (batch-32 products of the 784→300 layer):`);
lines.push(`${''.padEnd(20)} ${'forward'.padStart(9)} ${'dW'.padStart(9)} ${'dX'.padStart(9)}`);
for (const [name, g] of Object.entries(gemm)) {
  lines.push(
    `${name.padEnd(20)} ${fmt(g?.forward, 1).padStart(9)} ${fmt(g?.dW, 1).padStart(9)} ${fmt(g?.dX, 1).padStart(9)}`,
  );
}
lines.push(`numpy: ${numpyNote}`);
lines.push('');
lines.push('predict, images/s (10,000 images):');
for (const [name, rate] of Object.entries(predict))
  lines.push(`  ${name.padEnd(44)} ${Math.round(rate).toLocaleString('en-US')}`);
console.log(lines.join('\n'));

const results = {
  date: started.toISOString(),
  cpu: cpuModel(),
  cores: os.cpus().length,
  node: process.version,
  loadAverageBefore: loadBefore,
  loadAverageAfter: loadAfter,
  quick,
  dense,
  workload:
    'W_A: model A, 1375 steps of batch 32, SGD 1e-3, sparse CE fused with softmax, + eval of 5,000; random data',
  epochs: rows,
  gemmGflops: gemm,
  numpy: numpy === null ? null : { ...numpy, note: numpyNote },
  predictImagesPerSecond: predict,
  fitMemory,
};
writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${outFile}`);
