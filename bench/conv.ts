/**
 * Development helper (not part of `npm run bench`): the two wasm convolution algorithms (direct, im2col +
 * GEMM) and the depthwise kernels on the shapes that matter — the small Fashion-MNIST CNN (28×28×1 → Conv 32
 * 3×3 → MaxPool 2 → Conv 64 3×3 → MaxPool 2 → Dense 128, batch 32) and MobileNetV2 (alpha 0.35, 96×96) —
 * alternating short slices in one process and keeping each variant's best slice (the machine is shared).
 * Inputs have ~40 % zeros (post-ReLU activations; Fashion-MNIST images have ~50 %).
 *
 * Usage: node --import tsx bench/conv.ts [ROUNDS]
 * @module
 */

import type { Conv2DGeometry } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import type { ConvolutionPath } from '../src/kernels/wasm/conv.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { axisWindow, type PaddingMode } from '../src/layers/spatial.js';

const rounds = Number(process.argv[2] ?? 7);
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
  const rows = axisWindow(h, k, stride, 1, padding);
  const cols = axisWindow(w, k, stride, 1, padding);
  return {
    batch,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: rows.outLength,
    outWidth: cols.outLength,
    outChannels,
    kernelHeight: k,
    kernelWidth: k,
    strideHeight: stride,
    strideWidth: stride,
    dilationHeight: 1,
    dilationWidth: 1,
    padTop: rows.padBefore,
    padLeft: cols.padBefore,
    groups: 1,
  };
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

/** Best time in µs of `run` over `rounds` slices of `repeat` calls. */
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
    compare(
      `  ${pass}`,
      [
        { name: 'im2col+GEMM', run: on('im2col', run) },
        { name: 'direct', run: on('direct', run) },
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

console.log(`wasm ${kernels.info.relaxedSimd ? 'relaxed-SIMD' : 'SIMD'}, 1 thread, best of ${rounds} slices`);
convCase('small CNN conv1: 32×28×28×1 → 32, 3×3 valid', geometry(32, [28, 28, 1], 32, 3, 1, 'valid'), 20);
convCase('small CNN conv2: 32×13×13×32 → 64, 3×3 valid', geometry(32, [13, 13, 32], 64, 3, 1, 'valid'), 5);
convCase('MobileNetV2 stem: 32×96×96×3 → 16, 3×3 s2 same', geometry(32, [96, 96, 3], 16, 3, 2, 'same'), 3);
convCase('MobileNetV2 stem, batch 1', geometry(1, [96, 96, 3], 16, 3, 2, 'same'), 50);
convCase('MobileNetV2 1×1 expand: 32×24×24×8 → 48', geometry(32, [24, 24, 8], 48, 1, 1, 'valid'), 10);
const dw = (batch: number, size: number, channels: number, stride: number): Conv2DGeometry => ({
  ...geometry(batch, [size, size, channels], channels, 3, stride, 'same'),
});
depthwiseCase('MobileNetV2 depthwise 3×3: 32×48×48×16, s1', dw(32, 48, 16, 1), 5);
depthwiseCase('MobileNetV2 depthwise 3×3: 32×48×48×48, s2', dw(32, 48, 48, 2), 5);
depthwiseCase('MobileNetV2 depthwise 3×3: 32×12×12×96, s1', dw(32, 12, 96, 1), 10);
depthwiseCase('MobileNetV2 depthwise 3×3: 1×48×48×16, s1', dw(1, 48, 16, 1), 100);
await kernels.dispose();
