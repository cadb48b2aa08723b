/**
 * `npm run bench -- --optimizers` (or `node --import tsx bench/optimizers.ts`): one epoch of model A
 * (784-300-100-50-50-50-8 selu, batch 32, training only) through `Sequential.fit` on Fashion-MNIST task A
 * (43,997 images) for each optimizer of the race, on the wasm backend, AFTER (the optimizer kernels of
 * assembly/optimizers.ts) and BEFORE (the same backend with every optimizer step run by the reference
 * TypeScript loops on views into wasm memory: what the backend did before those kernels, except for SGD,
 * whose former float32 `sgd_update` task is gone: it was not Keras's arithmetic). Both run in the same process, their epochs interleaved, so that the
 * load of a shared machine falls on both alike. Prints the table and writes `bench/optimizers-results.json`.
 *
 * Options: --data-dir DIR (else $WARMSTART_DATA_DIR; random images with half zeros when neither exists,
 * said so), --epochs N (timed epochs per optimizer and mode, default 3; the median is reported),
 * --only a,b (optimizer names below), --no-before, --threads 1|2, --out FILE. `--kernels` instead times
 * each update kernel alone over model A's variables (µs per training step).
 * @module
 */

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import { setKernels } from '../src/kernels/index.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Sequential } from '../src/models/sequential.js';
import type { Optimizer } from '../src/optimizers/optimizer.js';
import { Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop, SGD } from '../src/optimizers/index.js';
import { loadTransferData } from '../src/experiments/transfer.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

/** The optimizers timed, with the race's learning rates (src/experiments/optimizers.ts). */
const OPTIMIZERS: ReadonlyArray<readonly [string, () => Optimizer]> = [
  ['sgd', () => new SGD({ learningRate: 0.01 })],
  ['momentum', () => new SGD({ learningRate: 0.01, momentum: 0.9 })],
  ['nesterov', () => new SGD({ learningRate: 0.01, momentum: 0.9, nesterov: true })],
  ['adagrad', () => new Adagrad({ learningRate: 0.01 })],
  ['rmsprop', () => new RMSprop({ learningRate: 0.001, rho: 0.9 })],
  ['adadelta', () => new Adadelta({ learningRate: 1.0, rho: 0.95 })],
  ['adam', () => new Adam({ learningRate: 0.001 })],
  ['adamw', () => new AdamW({ learningRate: 0.001 })],
  ['nadam', () => new Nadam({ learningRate: 0.001 })],
];

/** The Kernels methods that the optimizer kernels took over (their reference loops are the BEFORE mode). */
const REFERENCE_METHODS = [
  'sgdUpdate',
  'fill',
  'clipByValue',
  'accumulateGradient',
  'emaUpdate',
  'rmspropUpdate',
  'adamUpdate',
  'adadeltaUpdate',
  'adagradUpdate',
  'adamaxUpdate',
  'nadamUpdate',
  'lionUpdate',
  'ftrlUpdate',
] as const;

interface Options {
  dataDir: string | undefined;
  epochs: number;
  only: string[] | null;
  before: boolean;
  threads: 1 | 2;
  out: string;
}

function parse(args: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const epochs = Number(value('--epochs') ?? 3);
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`--epochs must be a positive integer`);
  const only = value('--only')?.split(',') ?? null;
  const unknown = only?.filter((name) => !OPTIMIZERS.some(([known]) => known === name)) ?? [];
  if (unknown.length > 0) {
    throw new RangeError(
      `--only: unknown ${unknown.join(', ')}; known: ${OPTIMIZERS.map(([n]) => n).join(', ')}`,
    );
  }
  return {
    dataDir: value('--data-dir') ?? process.env['WARMSTART_DATA_DIR'],
    epochs,
    only,
    before: !args.includes('--no-before'),
    threads: value('--threads') === '1' ? 1 : 2,
    out: value('--out') ?? fileURLToPath(new URL('./optimizers-results.json', import.meta.url)),
  };
}

/** Task A's training images and labels, or random images (half zeros) when the dataset is absent. */
async function trainingData(dataDir: string | undefined): Promise<{ x: Tensor; y: Tensor; source: string }> {
  if (dataDir !== undefined) {
    try {
      const data = await loadTransferData({ dataDir });
      const { x, y } = data.taskA.train;
      return { x, y, source: `Fashion-MNIST task A from ${data.dataDir}` };
    } catch (error) {
      console.log(`dataset not usable (${(error as Error).message}); using random images`);
    }
  }
  const count = 43997;
  const random = new RandomGenerator(1);
  const x = new Float32Array(count * 784);
  for (let i = 0; i < x.length; i++) x[i] = random.uniform() < 0.5 ? 0 : random.uniform();
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) y[i] = Math.floor(random.uniform() * 8);
  return {
    x: new Tensor(x, [count, 28, 28]),
    y: new Tensor(y, [count]),
    source: 'RANDOM images (50 % zeros): no dataset found (--data-dir or WARMSTART_DATA_DIR)',
  };
}

/** The former single-threaded `scale` (weight decay, clipping). */
function legacyScale(this: WasmKernels, x: Float32Array, factor: number): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (this as any).wasm.scale(x.byteOffset, x.length, factor);
}

/** Puts `kernels` in the BEFORE mode (true) or back to its own methods (false). */
function setBefore(kernels: WasmKernels, before: boolean): void {
  const own = kernels as unknown as Record<string, unknown>;
  const reference = ReferenceKernels.prototype as unknown as Record<string, unknown>;
  for (const name of REFERENCE_METHODS) {
    if (before) own[name] = reference[name];
    else delete own[name];
  }
  if (before) own['scale'] = legacyScale;
  else delete own['scale'];
}

function buildModelA(optimizer: Optimizer): Sequential {
  setRandomSeed(42);
  const model = new Sequential([new Flatten({ inputShape: [28, 28] })]);
  for (const units of [300, 100, 50, 50, 50]) {
    model.add(new Dense({ units, activation: 'selu', kernelInitializer: 'lecun_normal' }));
  }
  model.add(new Dense({ units: 8, activation: 'softmax' }));
  model.compile({ optimizer, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  return model;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Per mode: wall seconds per epoch, CPU seconds (all threads) per epoch, and seconds in the optimizer. */
interface Timings {
  seconds: number[];
  cpuSeconds: number[];
  updateSeconds: number[];
  /** CPU seconds (all threads) spent in the optimizer's steps. */
  updateCpuSeconds: number[];
}

interface Row {
  optimizer: string;
  after: Timings;
  before: Timings;
  fallbacks: number;
}

interface Clock {
  seconds: number;
  cpuSeconds: number;
}

/** Makes `optimizer` add the wall and CPU time of each of its steps to `clock`. */
function timeSteps(optimizer: Optimizer, clock: Clock): void {
  const step = optimizer.applyVariableGradients.bind(optimizer);
  optimizer.applyVariableGradients = (variables) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    step(variables);
    clock.seconds += (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    clock.cpuSeconds += (used.user + used.system) / 1e6;
  };
}

/** Model A's variables: the sizes one training step updates. */
const MODEL_A_SIZES = [784 * 300, 300, 300 * 100, 100, 100 * 50, 50, 50 * 50, 50, 50 * 50, 50, 50 * 8, 8];

/**
 * `--kernels`: each update kernel alone over model A's twelve variables (one training step's updates), the
 * best of 60 runs of 20 steps (short, so that some run escapes the other processes of a shared machine), in µs per step and ns per element: the cost the fusion into dW inherits.
 */
async function kernelTable(threads: 1 | 2): Promise<void> {
  const kernels = await createWasmKernels({ threads });
  const f = Math.fround;
  const variables = MODEL_A_SIZES.map((size) => {
    const arrays = Array.from({ length: 5 }, () => kernels.alloc(size));
    for (const a of arrays) for (let i = 0; i < size; i++) a[i] = Math.random() * 0.01;
    return arrays;
  });
  const total = MODEL_A_SIZES.reduce((a, b) => a + b, 0);
  const adam = {
    alpha: f(1e-3),
    beta1: f(0.9),
    oneMinusBeta1: f(0.1),
    beta2: f(0.999),
    oneMinusBeta2: f(0.001),
    epsilon: f(1e-7),
  };
  const nadam = {
    learningRate: f(1e-3),
    beta1: f(0.9),
    oneMinusBeta1: f(0.1),
    beta2: f(0.999),
    oneMinusBeta2: f(0.001),
    epsilon: f(1e-7),
    nextMomentum: f(0.85),
    nextProductComplement: f(0.3),
    oneMinusMomentum: f(0.14),
    productComplement: f(0.2),
    beta2Correction: f(0.01),
  };
  const rmsprop = { learningRate: f(1e-3), rho: f(0.9), oneMinusRho: f(0.1), momentum: 0, epsilon: f(1e-7) };
  const updates: ReadonlyArray<readonly [string, (a: Float32Array[]) => void]> = [
    [
      'sgd',
      ([p, g]) => kernels.sgdUpdate(p, g, null, { learningRate: f(0.01), momentum: 0, nesterov: false }),
    ],
    [
      'momentum',
      ([p, g, v]) => kernels.sgdUpdate(p, g, v, { learningRate: f(0.01), momentum: f(0.9), nesterov: false }),
    ],
    [
      'nesterov',
      ([p, g, v]) => kernels.sgdUpdate(p, g, v, { learningRate: f(0.01), momentum: f(0.9), nesterov: true }),
    ],
    ['adagrad', ([p, g, a]) => kernels.adagradUpdate(p, g, a, { learningRate: f(0.01), epsilon: f(1e-7) })],
    ['rmsprop', ([p, g, v]) => kernels.rmspropUpdate(p, g, v, null, null, rmsprop)],
    [
      'adadelta',
      ([p, g, a, d]) =>
        kernels.adadeltaUpdate(p, g, a, d, {
          learningRate: 1,
          rho: f(0.95),
          oneMinusRho: f(0.05),
          epsilon: f(1e-7),
        }),
    ],
    ['adam', ([p, g, m, v]) => kernels.adamUpdate(p, g, m, v, null, adam)],
    ['adamw decay (scale)', ([p]) => kernels.scale(p, f(1 - f(f(0.004) * f(0.001))))],
    ['nadam', ([p, g, m, v]) => kernels.nadamUpdate(p, g, m, v, nadam)],
  ];
  console.log(`wasm: ${kernels.info.threads} thread(s); model A's ${total} parameters per step`);
  console.log('| update | µs per step | ns per element |');
  console.log('| --- | --- | --- |');
  for (const [name, update] of updates) {
    const step = (): void => {
      for (const arrays of variables) update(arrays);
    };
    for (let i = 0; i < 50; i++) step();
    let best = Infinity;
    for (let run = 0; run < 60; run++) {
      const started = performance.now();
      for (let i = 0; i < 20; i++) step();
      best = Math.min(best, (performance.now() - started) / 20);
    }
    console.log(`| ${name} | ${(best * 1000).toFixed(1)} | ${((best * 1e6) / total).toFixed(3)} |`);
  }
  await kernels.dispose();
}

/** Runs the benchmark with the command-line arguments `args`. */
export async function runOptimizerBench(args: readonly string[]): Promise<void> {
  const options = parse(args);
  if (args.includes('--kernels')) {
    await kernelTable(options.threads);
    return;
  }
  const { x, y, source } = await trainingData(options.dataDir);
  const kernels = await createWasmKernels({ threads: options.threads });
  setKernels(kernels);
  console.log(`data: ${source}; ${x.shape[0]} images, batch 32, training only`);
  console.log(`wasm: ${kernels.info.threads} thread(s), relaxed SIMD ${kernels.info.relaxedSimd}`);
  const loadAtStart = os.loadavg();
  console.log(
    `machine load average at start: ${loadAtStart.map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min)`,
  );
  const warmup = [x.slice(0, 3200), y.slice(0, 3200)] as const;
  const rows: Row[] = [];
  for (const [name, make] of OPTIMIZERS) {
    if (options.only !== null && !options.only.includes(name)) continue;
    const modes = options.before ? [false, true] : [false];
    const clocks = new Map(modes.map((before) => [before, { seconds: 0, cpuSeconds: 0 }]));
    const models = new Map(
      modes.map((before) => {
        const optimizer = make();
        timeSteps(optimizer, clocks.get(before)!);
        return [before, buildModelA(optimizer)];
      }),
    );
    const empty = (): Timings => ({ seconds: [], cpuSeconds: [], updateSeconds: [], updateCpuSeconds: [] });
    const row: Row = { optimizer: name, after: empty(), before: empty(), fallbacks: 0 };
    for (const before of modes) {
      setBefore(kernels, before);
      await models.get(before)!.fit(warmup[0], warmup[1], { epochs: 1, batchSize: 32, verbose: 0 });
    }
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      for (const before of epoch % 2 === 0 ? modes : [...modes].reverse()) {
        setBefore(kernels, before);
        const fallbacks = kernels.stats.fallbacks;
        const clock = clocks.get(before)!;
        clock.seconds = 0;
        clock.cpuSeconds = 0;
        const cpu = process.cpuUsage();
        const started = performance.now();
        await models.get(before)!.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
        const timings = before ? row.before : row.after;
        timings.seconds.push((performance.now() - started) / 1000);
        const used = process.cpuUsage(cpu);
        timings.cpuSeconds.push((used.user + used.system) / 1e6);
        timings.updateSeconds.push(clock.seconds);
        timings.updateCpuSeconds.push(clock.cpuSeconds);
        // fit's check of the inputs (user data, outside the wasm memory) is one fallback per call.
        if (!before) row.fallbacks += kernels.stats.fallbacks - fallbacks - 1;
      }
    }
    setBefore(kernels, false);
    for (const model of models.values()) for (const layer of model.layers) layer.dispose();
    rows.push(row);
    const show = (t: Timings): string =>
      `${median(t.seconds).toFixed(3)} s/epoch (optimizer ${median(t.updateSeconds).toFixed(3)} s); CPU ${median(t.cpuSeconds).toFixed(3)} s (optimizer ${median(t.updateCpuSeconds).toFixed(3)} s)`;
    const b = row.before.seconds.length > 0 ? `; before ${show(row.before)}` : '';
    console.log(`${name}: after ${show(row.after)}${b}; optimizer fallbacks ${row.fallbacks}`);
  }

  const sgd = rows.find((row) => row.optimizer === 'sgd');
  const cell = (t: Timings, key: keyof Timings): string =>
    t[key].length === 0 ? '—' : median(t[key]).toFixed(3);
  /** One table: epoch `key` (wall or CPU seconds) and the optimizer's share `stepKey`, before and after. */
  const table = (
    title: string,
    key: 'seconds' | 'cpuSeconds',
    stepKey: 'updateSeconds' | 'updateCpuSeconds',
  ) => {
    const ratio = (row: Row, mode: 'after' | 'before'): string => {
      if (sgd === undefined || row[mode][key].length === 0 || sgd[mode][key].length === 0) return '—';
      return `${(median(row[mode][key]) / median(sgd[mode][key])).toFixed(3)}×`;
    };
    console.log(`\n${title}`);
    console.log(
      '| optimizer | before s/epoch | after s/epoch | speed-up | after / SGD after | before / SGD before | in the optimizer, before → after |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const row of rows) {
      const speedUp =
        row.before[key].length === 0
          ? '—'
          : `${(median(row.before[key]) / median(row.after[key])).toFixed(2)}×`;
      const cells = [
        row.optimizer,
        cell(row.before, key),
        cell(row.after, key),
        speedUp,
        ratio(row, 'after'),
        ratio(row, 'before'),
        `${cell(row.before, stepKey)} → ${cell(row.after, stepKey)}`,
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
  };
  table('Wall-clock seconds per epoch (median):', 'seconds', 'updateSeconds');
  table(
    'CPU seconds per epoch, all threads (median; steadier than wall time on a shared machine):',
    'cpuSeconds',
    'updateCpuSeconds',
  );
  const result = {
    date: new Date().toISOString(),
    data: source,
    threads: kernels.info.threads,
    loadAverage: { atStart: loadAtStart, atEnd: os.loadavg() },
    relaxedSimd: kernels.info.relaxedSimd,
    epochsPerMode: options.epochs,
    rows: rows.map((row) => ({
      ...row,
      afterMedian: median(row.after.seconds),
      beforeMedian: row.before.seconds.length > 0 ? median(row.before.seconds) : null,
    })),
  };
  writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwritten to ${options.out}`);
  await kernels.dispose();
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runOptimizerBench(process.argv.slice(2));
}
