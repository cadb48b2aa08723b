/**
 * `npm run bench -- --fit-real [--epochs N] [--threads N]`: model A on real Fashion-MNIST task A (43,997
 * images) through `Sequential.fit`, batch 32, learning rate 1e-3, validation on the 5,000 validation images;
 * and predict on the 10,000 test images at batch 32; for SGD, Adam and Nadam (one model each, the same initial
 * weights). Same process, rounds of one epoch per optimizer and path, alternating between the fused step (one
 * call into wasm per batch, the optimizer's update inside it) and the layer-by-layer path, so that all see
 * the same machine load; medians of each. Needs the dataset (`WARMSTART_DATA_DIR`, default the shared copy).
 * @module
 */
import { loadTransferData } from '../src/experiments/transfer.js';
import { setKernels } from '../src/kernels/index.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Sequential } from '../src/models/sequential.js';
import { Adam } from '../src/optimizers/adam.js';
import { Nadam } from '../src/optimizers/nadam.js';
import { SGD } from '../src/optimizers/sgd.js';
import { setRandomSeed } from '../src/tensor/random.js';

/** Per-path figures of {@link fitReal}. */
export interface FitRealPath {
  /** Seconds per epoch through fit (training + validation), one per epoch. */
  epochSeconds: number[];
  medianEpochSeconds: number;
  /** Images per second of predict on the test images (median over epochs). */
  predictImagesPerSecond: number;
  /** History of the last epoch. */
  last: Record<string, number[]>;
}

/** The optimizers measured, by name. */
const OPTIMIZERS = {
  sgd: () => new SGD({ learningRate: 1e-3 }),
  adam: () => new Adam({ learningRate: 1e-3 }),
  nadam: () => new Nadam({ learningRate: 1e-3 }),
};

/** Figures of one optimizer: the fused step against the layer path. */
export interface FitRealOptimizer {
  fused: FitRealPath;
  layers: FitRealPath;
}

/** Runs the measurement; `epochs` epochs per optimizer and path. */
export async function fitReal(
  options: { epochs?: number; threads?: number; dataDir?: string } = {},
): Promise<{
  threads: number;
  optimizers: Record<string, FitRealOptimizer>;
  threadStats: unknown;
}> {
  const epochs = options.epochs ?? 3;
  const dataDir =
    options.dataDir ?? process.env.WARMSTART_DATA_DIR ?? '/work/shared/datasets/fashion-mnist-2017-08-26';
  const { train, valid, test } = (await loadTransferData({ dataDir })).taskA;
  const kernels = await createWasmKernels({ threads: options.threads });
  setKernels(kernels);
  const models = Object.entries(OPTIMIZERS).map(([name, make]) => {
    setRandomSeed(42);
    const model = new Sequential([new Flatten({ inputShape: [28, 28] })]);
    for (const units of [300, 100, 50, 50, 50]) {
      model.add(new Dense({ units, activation: 'selu', kernelInitializer: 'lecun_normal' }));
    }
    model.add(new Dense({ units: 8, activation: 'softmax' }));
    model.compile({ optimizer: make(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    return { name, model };
  });
  const modes = ['fused', 'layers'] as const;
  type Mode = (typeof modes)[number];
  const times: Record<string, Record<Mode, number[]>> = {};
  const rates: Record<string, Record<Mode, number[]>> = {};
  const last: Record<string, Record<string, Record<string, number[]>>> = {};
  for (const { name } of models) {
    times[name] = { fused: [], layers: [] };
    rates[name] = { fused: [], layers: [] };
    last[name] = {};
  }
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const { name, model } of models) {
      for (const mode of epoch % 2 === 0 ? modes : [...modes].reverse()) {
        model.fusedSteps = mode === 'fused';
        const started = performance.now();
        const history = await model.fit(train.x, train.y, {
          epochs: 1,
          batchSize: 32,
          verbose: 0,
          validationData: [valid.x, valid.y],
        });
        times[name][mode].push((performance.now() - started) / 1000);
        last[name][mode] = history.history;
        const predictStarted = performance.now();
        model.predict(test.x, { batchSize: 32 });
        rates[name][mode].push(test.x.rows / ((performance.now() - predictStarted) / 1000));
      }
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const path = (name: string, mode: Mode): FitRealPath => ({
    epochSeconds: times[name][mode],
    medianEpochSeconds: median(times[name][mode]),
    predictImagesPerSecond: median(rates[name][mode]),
    last: last[name][mode],
  });
  const result = {
    threads: kernels.info.threads,
    optimizers: Object.fromEntries(
      models.map(({ name }) => [name, { fused: path(name, 'fused'), layers: path(name, 'layers') }]),
    ),
    threadStats: kernels.threadStats,
  };
  await kernels.dispose();
  return result;
}

/** Prints {@link fitReal}'s figures. */
export function formatFitReal(result: Awaited<ReturnType<typeof fitReal>>): string {
  const lines = [
    `model A on real Fashion-MNIST task A through Sequential.fit (batch 32, learning rate 1e-3, validation on 5,000), ${result.threads} thread(s)`,
    `${'optimizer, path'.padEnd(36)} ${'median s/epoch'.padStart(14)} ${'predict img/s'.padStart(14)}  epochs (s)`,
  ];
  for (const [optimizer, paths] of Object.entries(result.optimizers)) {
    for (const [name, path] of [
      ['fused step (one call/batch)', paths.fused],
      ['layer by layer', paths.layers],
    ] as const) {
      lines.push(
        `${`${optimizer}, ${name}`.padEnd(36)} ${path.medianEpochSeconds.toFixed(3).padStart(14)} ${Math.round(path.predictImagesPerSecond).toString().padStart(14)}  ${path.epochSeconds.map((s) => s.toFixed(3)).join(' ')}`,
      );
    }
  }
  lines.push(`thread stats: ${JSON.stringify(result.threadStats)}`);
  return lines.join('\n');
}
