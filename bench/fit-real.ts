/**
 * `npm run bench -- --fit-real` (or `node --import tsx bench/fit-real.ts`): model A on real Fashion-MNIST
 * task A through `Sequential.fit` (batch 32, SGD lr 1e-3, validation on the 5,000 validation images), and
 * predict on the 10,000 test images at batch 32.
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

const dataDir = process.env.WARMSTART_DATA_DIR ?? '/work/shared/datasets/fashion-mnist-2017-08-26';
const epochs = Number(process.argv[2] ?? 5);
const data = await loadTransferData({ dataDir });
const kernels = await createWasmKernels();
setKernels(kernels);
setRandomSeed(42);
const model = new Sequential([new Flatten({ inputShape: [28, 28] })]);
for (const units of [300, 100, 50, 50, 50])
  model.add(new Dense({ units, activation: 'selu', kernelInitializer: 'lecun_normal' }));
model.add(new Dense({ units: 8, activation: 'softmax' }));
model.compile({
  optimizer: new SGD({ learningRate: 1e-3 }),
  loss: 'sparse_categorical_crossentropy',
  metrics: ['accuracy'],
});
const { train, valid, test } = data.taskA;
const times: Record<string, number[]> = { fused: [], layers: [] };
const rates: Record<string, number[]> = { fused: [], layers: [] };
for (let e = 0; e < epochs; e++) {
  for (const mode of e % 2 === 0 ? ['fused', 'layers'] : ['layers', 'fused']) {
    model.fusedSteps = mode === 'fused';
    const t = performance.now();
    await model.fit(train.x, train.y, {
      epochs: 1,
      batchSize: 32,
      verbose: 0,
      validationData: [valid.x, valid.y],
    });
    times[mode].push((performance.now() - t) / 1000);
    const p = performance.now();
    model.predict(test.x, { batchSize: 32 });
    rates[mode].push(test.x.rows / ((performance.now() - p) / 1000));
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const mode of ['fused', 'layers']) {
  console.log(
    mode,
    JSON.stringify({
      threads: kernels.info.threads,
      epochs: times[mode].map((t) => +t.toFixed(3)),
      median: +med(times[mode]).toFixed(3),
      predict: Math.round(med(rates[mode])),
    }),
  );
}
console.log(JSON.stringify(kernels.threadStats));
await kernels.dispose();
