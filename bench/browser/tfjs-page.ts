/**
 * The TensorFlow.js side of `npm run bench -- --browser`, bundled by esbuild into its own page: TF.js 4.22
 * with its WebAssembly backend, left to pick its binary and threads as it does in a user's page (no
 * `setThreadsCount`: with `crossOriginIsolated`, SIMD and threads, it loads the threaded-SIMD binary and
 * XNNPACK sizes its pool itself). The same model A as `workload.ts` (TF.js's Dense defaults to
 * glorot_uniform, as Keras does), SGD 1e-3, batch 32. TF.js pays milliseconds of per-op overhead per step,
 * so each round trains a fixed number of steps and evaluates a slice of the validation set; bench/browser.ts
 * extrapolates to the epoch. bench/browser.ts calls `window.startTfjs` once, then `window.tfjsRound` once per
 * round.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { fetchTaskBytes } from './fetch-data.js';
import { BATCH, CLASSES, HIDDEN_UNITS, LEARNING_RATE, SEED } from './workload.js';

/** Options of `startTfjs`. */
export interface TfjsOptions {
  warmupSteps: number;
  /** Training steps timed per round. */
  steps: number;
  /** Validation images evaluated per round. */
  validationImages: number;
}

/** What TF.js runs on, and the workload of a round. */
export interface TfjsPageInfo {
  version: string;
  backend: string;
  threads: number;
  simd: boolean;
  multithread: boolean;
  crossOriginIsolated: boolean;
  /** Training steps of a round. */
  steps: number;
  /** Validation images evaluated in a round. */
  validationImages: number;
}

/** One round of TF.js. */
export interface TfjsRound {
  /** Seconds of the round's `steps` training steps. */
  trainSeconds: number;
  /** Seconds of its evaluation of `validationImages` images. */
  evalSeconds: number;
  loss: number;
}

declare global {
  interface Window {
    startTfjs(options: TfjsOptions): Promise<TfjsPageInfo>;
    tfjsRound(): Promise<TfjsRound>;
  }
}

function floats(images: Uint8Array): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = images[i]! / 255;
  return out;
}

let round: (() => Promise<TfjsRound>) | null = null;

window.startTfjs = async (options) => {
  tfWasm.setWasmPaths('/tfjs-wasm/');
  if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend did not initialise');
  await tf.ready();
  const data = await fetchTaskBytes();
  const trainCount = Math.min(data.trainLabels.length, options.steps * BATCH);
  const validCount = Math.min(data.validLabels.length, options.validationImages);
  const xs = tf.tensor3d(floats(data.trainImages.subarray(0, trainCount * 784)), [trainCount, 28, 28]);
  const ys = tf.tensor1d(Float32Array.from(data.trainLabels.subarray(0, trainCount)));
  const vx = tf.tensor3d(floats(data.validImages.subarray(0, validCount * 784)), [validCount, 28, 28]);
  const vy = tf.tensor1d(Float32Array.from(data.validLabels.subarray(0, validCount)));

  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape: [28, 28] }));
  for (const units of HIDDEN_UNITS) {
    model.add(
      tf.layers.dense({
        units,
        activation: 'selu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: SEED }),
      }),
    );
  }
  model.add(tf.layers.dense({ units: CLASSES, activation: 'softmax' }));
  model.compile({
    optimizer: tf.train.sgd(LEARNING_RATE),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  const warmup = Math.min(trainCount, options.warmupSteps * BATCH);
  await model.fit(xs.slice(0, warmup), ys.slice(0, warmup), { batchSize: BATCH, epochs: 1, verbose: 0 });

  round = async () => {
    const t0 = performance.now();
    const history = await model.fit(xs, ys, { batchSize: BATCH, epochs: 1, shuffle: true, verbose: 0 });
    const t1 = performance.now();
    const evaluation = model.evaluate(vx, vy, { batchSize: BATCH }) as tf.Scalar[];
    await Promise.all(evaluation.map((scalar) => scalar.data()));
    const t2 = performance.now();
    tf.dispose(evaluation);
    return {
      trainSeconds: (t1 - t0) / 1000,
      evalSeconds: (t2 - t1) / 1000,
      loss: history.history.loss!.at(-1) as number,
    };
  };
  return {
    version: tf.version.tfjs,
    backend: tf.getBackend(),
    threads: tfWasm.getThreadsCount(),
    simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true,
    multithread: (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    steps: Math.ceil(trainCount / BATCH),
    validationImages: validCount,
  };
};

window.tfjsRound = () => {
  if (round === null) throw new Error('call startTfjs first');
  return round();
};
