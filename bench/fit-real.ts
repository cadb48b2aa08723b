/**
 * `npm run bench -- --fit-real [--epochs N] [--threads N]`: model A on real Fashion-MNIST task A (43,997
 * images) through `Sequential.fit`, batch 32, SGD lr 1e-3, validation on the 5,000 validation images; and
 * predict on the 10,000 test images at batch 32. Same process, same model, alternating epochs between the
 * fused step (one call into wasm per batch) and the layer-by-layer path, so that both see the same machine
 * load; medians of each. Needs the dataset (`WARMSTART_DATA_DIR`, default the shared copy).
 * @module
 */
import { loadTransferData } from '../src/experiments/transfer.js';
import { setKernels } from '../src/kernels/index.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Sequential } from '../src/models/sequential.js';
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

/** Runs the measurement; `epochs` epochs per path. */
export async function fitReal(
  options: { epochs?: number; threads?: number; dataDir?: string } = {},
): Promise<{ threads: number; fused: FitRealPath; layers: FitRealPath; threadStats: unknown }> {
  const epochs = options.epochs ?? 5;
  const dataDir =
    options.dataDir ?? process.env.WARMSTART_DATA_DIR ?? '/work/shared/datasets/fashion-mnist-2017-08-26';
  const { train, valid, test } = (await loadTransferData({ dataDir })).taskA;
  const kernels = await createWasmKernels({ threads: options.threads });
  setKernels(kernels);
  setRandomSeed(42);
  const model = new Sequential([new Flatten({ inputShape: [28, 28] })]);
  for (const units of [300, 100, 50, 50, 50]) {
    model.add(new Dense({ units, activation: 'selu', kernelInitializer: 'lecun_normal' }));
  }
  model.add(new Dense({ units: 8, activation: 'softmax' }));
  model.compile({
    optimizer: new SGD({ learningRate: 1e-3 }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  const modes = ['fused', 'layers'] as const;
  const times = { fused: [] as number[], layers: [] as number[] };
  const rates = { fused: [] as number[], layers: [] as number[] };
  const last: Record<string, Record<string, number[]>> = {};
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const mode of epoch % 2 === 0 ? modes : [...modes].reverse()) {
      model.fusedSteps = mode === 'fused';
      const started = performance.now();
      const history = await model.fit(train.x, train.y, {
        epochs: 1,
        batchSize: 32,
        verbose: 0,
        validationData: [valid.x, valid.y],
      });
      times[mode].push((performance.now() - started) / 1000);
      last[mode] = history.history;
      const predictStarted = performance.now();
      model.predict(test.x, { batchSize: 32 });
      rates[mode].push(test.x.rows / ((performance.now() - predictStarted) / 1000));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const path = (mode: (typeof modes)[number]): FitRealPath => ({
    epochSeconds: times[mode],
    medianEpochSeconds: median(times[mode]),
    predictImagesPerSecond: median(rates[mode]),
    last: last[mode],
  });
  const result = {
    threads: kernels.info.threads,
    fused: path('fused'),
    layers: path('layers'),
    threadStats: kernels.threadStats,
  };
  await kernels.dispose();
  return result;
}

/** Prints {@link fitReal}'s figures. */
export function formatFitReal(result: Awaited<ReturnType<typeof fitReal>>): string {
  const lines = [
    `model A on real Fashion-MNIST task A through Sequential.fit (batch 32, SGD 1e-3, validation on 5,000), ${result.threads} thread(s)`,
    `${'path'.padEnd(28)} ${'median s/epoch'.padStart(14)} ${'predict img/s'.padStart(14)}  epochs (s)`,
  ];
  for (const [name, path] of [
    ['fused step (one call/batch)', result.fused],
    ['layer by layer', result.layers],
  ] as const) {
    lines.push(
      `${name.padEnd(28)} ${path.medianEpochSeconds.toFixed(3).padStart(14)} ${Math.round(path.predictImagesPerSecond).toString().padStart(14)}  ${path.epochSeconds.map((s) => s.toFixed(3)).join(' ')}`,
    );
  }
  lines.push(`thread stats: ${JSON.stringify(result.threadStats)}`);
  return lines.join('\n');
}
