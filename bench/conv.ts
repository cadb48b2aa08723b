/**
 * Development helper (not part of `npm run bench`): the wasm convolution algorithms (direct, im2col + GEMM,
 * and for 3×3 stride-1 forwards Winograd F(2×2, 3×3)) and the depthwise kernels on the shapes that matter — the small Fashion-MNIST CNN (28×28×1 → Conv 32
 * 3×3 → MaxPool 2 → Conv 64 3×3 → MaxPool 2 → Dense 128, batch 32) and MobileNetV2 (alpha 0.35, 96×96) —
 * alternating single calls in one process and keeping each variant's best call (the machine is shared: the
 * best call is the one no other process interrupted).
 * Inputs have ~40 % zeros (post-ReLU activations; Fashion-MNIST images have ~50 %).
 *
 * Usage: node --import tsx bench/conv.ts [ROUNDS (default 25)]
 * @module
 */

import type { Conv2DGeometry } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import type { ConvolutionPath } from '../src/kernels/wasm/conv.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { type PaddingMode, windowGeometry } from '../src/layers/spatial.js';

const rounds = Number(process.argv[2] ?? 25);
const kernels = await createWasmKernels({ threads: 1 });
const reference = new ReferenceKernels();

function geometry(
  batch: number,
  [h, w, c]: [number, number, number],
  outChannels: number,
  k: number,
  stride: number,
  padding: PaddingMode,
): Conv2DGeometry {
  const window = { kernelSize: [k, k], strides: [stride, stride], dilationRate: [1, 1], padding } as const;
  return { ...windowGeometry([h, w, c], window, outChannels, 1, 'geometry'), batch };
}

let seed = 1;
function filled(length: number): Float32Array {
  const a = kernels.alloc(length);
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const u = seed / 2 ** 32;
    a[i] = u < 0.4 ? 0 : u - 0.7;
  }
  return a;
}

/** Mean time in µs of `repeat` calls of `run`. */
function time(run: () => void, repeat: number): number {
  const start = performance.now();
  for (let i = 0; i < repeat; i++) run();
  return ((performance.now() - start) * 1000) / repeat;
}

interface Variant {
  name: string;
  run: () => void;
}

function compare(title: string, variants: Variant[], repeat: number): void {
  for (const v of variants) v.run(); // warm up
  const best = variants.map(() => Infinity);
  for (let r = 0; r < rounds; r++)
    variants.forEach((v, i) => (best[i] = Math.min(best[i], time(v.run, repeat))));
  console.log(`${title}: ${variants.map((v, i) => `${v.name} ${best[i].toFixed(0)} µs`).join(', ')}`);
}

function convCase(name: string, g: Conv2DGeometry, repeat: number): void {
  const depth = g.kernelHeight * g.kernelWidth * g.inChannels;
  const x = filled(g.batch * g.inHeight * g.inWidth * g.inChannels);
  const w = filled(depth * g.outChannels);
  const b = filled(g.outChannels);
  const y = kernels.alloc(g.batch * g.outHeight * g.outWidth * g.outChannels);
  const dy = filled(y.length);
  const dw = kernels.alloc(w.length);
  const db = kernels.alloc(b.length);
  const dx = kernels.alloc(x.length);
  const on = (path: ConvolutionPath, run: () => void) => () => {
    kernels.convolutions.path = path;
    run();
  };
  const macs = (g.batch * g.outHeight * g.outWidth * depth * g.outChannels) / 1e6;
  console.log(`\n${name} (${macs.toFixed(1)} M multiply-adds per pass)`);
  for (const [pass, run] of [
    ['forward', () => kernels.conv2dForward(x, w, b, y, g)],
    ['dW+dB', () => kernels.conv2dBackwardWeights(x, dy, dw, db, g)],
    ['dX', () => kernels.conv2dBackwardInput(dy, w, dx, g)],
  ] as const) {
    const winograd =
      pass === 'forward' &&
      g.kernelHeight === 3 &&
      g.kernelWidth === 3 &&
      g.strideHeight === 1 &&
      g.strideWidth === 1;
    compare(
      `  ${pass}`,
      [
        { name: 'im2col+GEMM', run: on('im2col', run) },
        { name: 'direct', run: on('direct', run) },
        ...(winograd ? [{ name: 'Winograd F(2×2,3×3)', run: on('winograd', run) }] : []),
      ],
      repeat,
    );
  }
  kernels.convolutions.path = 'auto';
  for (const a of [x, w, b, y, dy, dw, db, dx]) kernels.free(a);
}

function depthwiseCase(name: string, g: Conv2DGeometry, repeat: number): void {
  const x = filled(g.batch * g.inHeight * g.inWidth * g.inChannels);
  const w = filled(g.kernelHeight * g.kernelWidth * g.outChannels);
  const b = filled(g.outChannels);
  const y = kernels.alloc(g.batch * g.outHeight * g.outWidth * g.outChannels);
  const dy = filled(y.length);
  const dw = kernels.alloc(w.length);
  const dx = kernels.alloc(x.length);
  const plain = [x, w, b, y, dy, dw, dx].map((a) => Float32Array.from(a));
  console.log(`\n${name}`);
  compare(
    '  forward',
    [
      { name: 'wasm', run: () => kernels.depthwiseConv2dForward(x, w, b, y, g) },
      {
        name: 'reference',
        run: () => reference.depthwiseConv2dForward(plain[0], plain[1], plain[2], plain[3], g),
      },
    ],
    repeat,
  );
  compare(
    '  dW+dB',
    [{ name: 'wasm', run: () => kernels.depthwiseConv2dBackwardWeights(x, dy, dw, b, g) }],
    repeat,
  );
  compare('  dX', [{ name: 'wasm', run: () => kernels.depthwiseConv2dBackwardInput(dy, w, dx, g) }], repeat);
  for (const a of [x, w, b, y, dy, dw, dx]) kernels.free(a);
}

console.log(`wasm ${kernels.info.relaxedSimd ? 'relaxed-SIMD' : 'SIMD'}, 1 thread, best of ${rounds} calls`);
convCase('small CNN conv1: 32×28×28×1 → 32, 3×3 valid', geometry(32, [28, 28, 1], 32, 3, 1, 'valid'), 1);
convCase('small CNN conv2: 32×13×13×32 → 64, 3×3 valid', geometry(32, [13, 13, 32], 64, 3, 1, 'valid'), 1);
convCase('MobileNetV2 stem: 32×96×96×3 → 16, 3×3 s2 same', geometry(32, [96, 96, 3], 16, 3, 2, 'same'), 1);
convCase('MobileNetV2 stem, batch 1', geometry(1, [96, 96, 3], 16, 3, 2, 'same'), 1);
convCase('MobileNetV2 1×1 expand: 32×24×24×8 → 48', geometry(32, [24, 24, 8], 48, 1, 1, 'valid'), 1);
const dw = (batch: number, size: number, channels: number, stride: number): Conv2DGeometry => ({
  ...geometry(batch, [size, size, channels], channels, 3, stride, 'same'),
});
depthwiseCase('MobileNetV2 depthwise 3×3: 32×48×48×16, s1', dw(32, 48, 16, 1), 1);
depthwiseCase('MobileNetV2 depthwise 3×3: 32×48×48×48, s2', dw(32, 48, 48, 2), 1);
depthwiseCase('MobileNetV2 depthwise 3×3: 32×12×12×96, s1', dw(32, 12, 96, 1), 1);
depthwiseCase('MobileNetV2 depthwise 3×3: 1×48×48×16, s1', dw(1, 48, 16, 1), 1);
await kernels.dispose();

// The whole small CNN: ms per training step of Sequential.fit (batch 32), 1 and 2 threads, same process.
{
  const { Sequential } = await import('../src/models/sequential.js');
  const { Conv2D, Dense, Flatten, MaxPooling2D } = await import('../src/layers/index.js');
  const { SGD } = await import('../src/optimizers/index.js');
  const { setKernels } = await import('../src/kernels/index.js');
  const { Tensor } = await import('../src/tensor/tensor.js');
  const steps = 20;
  const samples = 32 * steps;
  const x = new Tensor(
    Float32Array.from({ length: samples * 784 }, (_, i) => (i % 7 < 3 ? 0 : (i % 13) / 13)),
    [samples, 28, 28, 1],
  );
  const y = new Tensor(
    Float32Array.from({ length: samples }, (_, i) => i % 10),
    [samples],
  );
  const variants = [];
  for (const threads of [1, 2] as const) {
    const backend = await createWasmKernels({ threads });
    setKernels(backend);
    const model = new Sequential([
      new Conv2D({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      new MaxPooling2D(),
      new Conv2D({ filters: 64, kernelSize: 3, activation: 'relu' }),
      new MaxPooling2D(),
      new Flatten(),
      new Dense({ units: 128, activation: 'relu' }),
      new Dense({ units: 10, activation: 'softmax' }),
    ]);
    model.compile({ optimizer: new SGD({ learningRate: 0.01 }), loss: 'sparse_categorical_crossentropy' });
    variants.push({ threads, backend, model });
  }
  const best = variants.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    for (const [i, v] of variants.entries()) {
      const start = performance.now();
      await v.model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0, shuffle: false });
      best[i] = Math.min(best[i], (performance.now() - start) / steps);
    }
  }
  console.log(
    `\nsmall CNN, Sequential.fit step (batch 32): ${variants.map((v, i) => `${v.threads} thread(s) ${best[i].toFixed(2)} ms`).join(', ')}` +
      ` (an epoch of 1375 steps ≈ ${((best[0] * 1375) / 1000).toFixed(1)} s on 1 thread)`,
  );
  for (const v of variants) await v.backend.dispose();
}
