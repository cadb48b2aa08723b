/**
 * W_A in TensorFlow.js 4.22 with its WebAssembly backend, for comparison (run by bench/run.ts in a child
 * process). TF.js pays milliseconds of per-op overhead per step, so by default it trains on a slice of the
 * epoch and the caller extrapolates. Prints one JSON object.
 *
 * Usage: node --import tsx bench/tfjs-w-a.ts [STEPS] [PREDICT_IMAGES]
 * @module
 */

import { createRequire } from 'node:module';
import path from 'node:path';

import { randomDataset } from './model-a.js';

const steps = Number(process.argv[2] ?? 100);
const predictCount = Number(process.argv[3] ?? 2000);
const batch = 32;

const tf = await import('@tensorflow/tfjs');
const wasm = await import('@tensorflow/tfjs-backend-wasm');
const require = createRequire(import.meta.url);
// npm does not run install scripts here; the package ships its .wasm files in dist/, so point at them.
wasm.setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`);
wasm.setThreadsCount(2);
if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend did not initialise');
await tf.ready();

const sizes = [300, 100, 50, 50, 50];
const model = tf.sequential();
model.add(tf.layers.flatten({ inputShape: [28, 28] }));
for (const units of sizes) model.add(tf.layers.dense({ units, activation: 'selu' }));
model.add(tf.layers.dense({ units: 8, activation: 'softmax' }));
model.compile({
  optimizer: tf.train.sgd(1e-3),
  loss: 'sparseCategoricalCrossentropy',
  metrics: ['accuracy'],
});

const trainCount = steps * batch;
const validationCount = Math.round((5000 * steps) / 1375);
const train = randomDataset(trainCount, 1);
const validation = randomDataset(validationCount, 2);
const xs = tf.tensor3d(train.x, [trainCount, 28, 28]);
const ys = tf.tensor1d(train.y);
const vx = tf.tensor3d(validation.x, [validationCount, 28, 28]);
const vy = tf.tensor1d(validation.y);

// Warm-up: kernels, memory pools.
await model.fit(xs.slice(0, 10 * batch), ys.slice(0, 10 * batch), {
  batchSize: batch,
  epochs: 1,
  verbose: 0,
});
const t0 = performance.now();
await model.fit(xs, ys, { batchSize: batch, epochs: 1, shuffle: true, verbose: 0 });
const t1 = performance.now();
const evaluation = model.evaluate(vx, vy, { batchSize: batch }) as import('@tensorflow/tfjs').Scalar[];
await Promise.all(evaluation.map((t) => t.data()));
const t2 = performance.now();
const px = tf.tensor3d(randomDataset(predictCount, 3).x, [predictCount, 28, 28]);
(model.predict(px.slice(0, batch), { batchSize: batch }) as import('@tensorflow/tfjs').Tensor).dataSync();
const t3 = performance.now();
await (model.predict(px, { batchSize: batch }) as import('@tensorflow/tfjs').Tensor).data();
const t4 = performance.now();

console.log(
  JSON.stringify({
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    threads: wasm.getThreadsCount(),
    stepsTimed: steps,
    trainSeconds: (t1 - t0) / 1000,
    evalSeconds: (t2 - t1) / 1000,
    validationImages: validationCount,
    predictImagesPerSecond: predictCount / ((t4 - t3) / 1000),
  }),
);
