// The convolutional-network kernels on two threads: every kernel that splits (convolutions in both algorithms,
// depthwise, pooling, the ReLU family, batch normalization, element-wise activations) gives the same bits as on
// one thread, with the helper thread forced to take part (`mainChunkLimit: 1`: otherwise, on a busy machine, the
// pool may pause splitting and the comparison would pass without testing anything). Needs `npm run build:wasm`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setKernels } from '../src/kernels/index.js';
import type { Conv2DGeometry, Kernels } from '../src/kernels/kernels.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Conv2D } from '../src/layers/conv2d.js';
import { Dense } from '../src/layers/dense.js';
import { DepthwiseConv2D } from '../src/layers/depthwiseConv2D.js';
import { Flatten } from '../src/layers/flatten.js';
import { GlobalAveragePooling2D } from '../src/layers/globalPooling2d.js';
import { MaxPooling2D } from '../src/layers/pooling2d.js';
import { ReLU } from '../src/layers/relu.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/index.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { type PaddingMode, windowGeometry } from '../src/layers/spatial.js';

let one: WasmKernels;
let two: WasmKernels;

before(async () => {
  one = await createWasmKernels({ threads: 1 });
  two = await createWasmKernels({ threads: 2, mainChunkLimit: 1 });
});

after(async () => {
  await one.dispose();
  await two.dispose();
});

/** Deterministic values, ~40 % zeros (as after a ReLU), the rest in (−1, 1). */
function values(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const u = s / 2 ** 32;
    out[i] = u < 0.4 ? 0 : 2 * u - 1.4;
  }
  return out;
}

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

/**
 * Runs `operation` on both backends with the same inputs (copied into each one's memory) and checks that
 * every output is bit-identical, and that the two-thread run really split at least once.
 */
function sameOnBothThreads(
  what: string,
  inputs: number[],
  outputs: number[],
  operation: (kernels: WasmKernels, ins: Float32Array[], outs: Float32Array[]) => void,
): void {
  const results = [one, two].map((kernels) => {
    const ins = inputs.map((length, i) => {
      const view = kernels.alloc(length);
      view.set(values(length, 17 + i));
      return view;
    });
    const outs = outputs.map((length) => kernels.alloc(length).fill(NaN));
    const tasks = kernels.threadStats?.runs ?? 0;
    const fallbacks = kernels.stats.fallbacks;
    operation(kernels, ins, outs);
    const split = (kernels.threadStats?.runs ?? 0) - tasks;
    assert.equal(kernels.stats.fallbacks, fallbacks, `${what}: the wasm kernels ran`);
    const copies = outs.map((view) => view.slice());
    for (const view of [...ins, ...outs]) kernels.free(view);
    return { copies, split };
  });
  assert.ok(results[1].split > 0, `${what}: the two-thread backend split the call`);
  results[0].copies.forEach((expected, i) => {
    const actual = results[1].copies[i];
    const a = new Uint32Array(actual.buffer);
    const b = new Uint32Array(expected.buffer);
    const at = a.findIndex((bits, j) => bits !== b[j]);
    assert.equal(
      at,
      -1,
      `${what}, output ${i}: element ${at} is ${actual[at]} on two threads, ${expected[at]} on one`,
    );
  });
}

const convolutions: Array<[string, Conv2DGeometry]> = [
  ['small CNN conv1 (28×28×1 → 32)', geometry(32, [28, 28, 1], 32, 3, 1, 'valid')],
  ['small CNN conv2 (13×13×32 → 64)', geometry(32, [13, 13, 32], 64, 3, 1, 'valid')],
  ['MobileNetV2 stem (96×96×3 → 16, stride 2, same)', geometry(4, [96, 96, 3], 16, 3, 2, 'same')],
  ['a 1×1 expansion (24×24×16 → 48)', geometry(16, [24, 24, 16], 48, 1, 1, 'valid')],
];

describe('convolution kernels: one thread and two give the same bits', () => {
  for (const [name, g] of convolutions) {
    const depth = g.kernelHeight * g.kernelWidth * g.inChannels;
    const input = g.batch * g.inHeight * g.inWidth * g.inChannels;
    const output = g.batch * g.outHeight * g.outWidth * g.outChannels;
    for (const path of ['auto', 'direct', 'im2col', 'sparse', 'winograd'] as const) {
      test(`${name}, ${path}: forward, dW and dB, dX`, () => {
        const on = (kernels: WasmKernels): void => {
          kernels.convolutions.path = path;
        };
        try {
          sameOnBothThreads(
            `${name} forward`,
            [input, depth * g.outChannels, g.outChannels],
            [output],
            (k, [x, w, b], [y]) => {
              on(k);
              k.conv2dForward(x, w, b, y, g);
            },
          );
          sameOnBothThreads(
            `${name} dW`,
            [input, output],
            [depth * g.outChannels, g.outChannels],
            (k, [x, dy], [dw, db]) => {
              on(k);
              k.conv2dBackwardWeights(x, dy, dw, db, g);
            },
          );
          sameOnBothThreads(`${name} dX`, [output, depth * g.outChannels], [input], (k, [dy, w], [dx]) => {
            on(k);
            k.conv2dBackwardInput(dy, w, dx, g);
          });
        } finally {
          one.convolutions.path = 'auto';
          two.convolutions.path = 'auto';
        }
      });
    }
  }

  test("the small CNN's second layer with a gradient 87 % zeros (as after ReLU and max pooling): the zero-skipping dW and dX", () => {
    const g = convolutions[1][1];
    const depth = 9 * g.inChannels;
    const input = g.batch * g.inHeight * g.inWidth * g.inChannels;
    const output = g.batch * g.outHeight * g.outWidth * g.outChannels;
    const sparse = (dy: Float32Array): void => {
      for (let i = 0; i < dy.length; i++) if ((Math.imul(i, 2654435761) >>> 0) % 100 < 87) dy[i] = 0;
    };
    sameOnBothThreads(
      'sparse dW',
      [input, output],
      [depth * g.outChannels, g.outChannels],
      (k, [x, dy], [dw, db]) => {
        sparse(dy);
        k.conv2dBackwardWeights(x, dy, dw, db, g);
      },
    );
    sameOnBothThreads('sparse dX', [output, depth * g.outChannels], [input], (k, [dy, w], [dx]) => {
      sparse(dy);
      k.conv2dBackwardInput(dy, w, dx, g);
    });
  });

  for (const stride of [1, 2]) {
    test(`depthwise 3×3, stride ${stride}: forward, dW and dB, dX`, () => {
      const g = geometry(8, [32, 32, 24], 24, 3, stride, 'same');
      const input = g.batch * g.inHeight * g.inWidth * g.inChannels;
      const output = g.batch * g.outHeight * g.outWidth * g.outChannels;
      sameOnBothThreads('depthwise forward', [input, 9 * 24, 24], [output], (k, [x, w, b], [y]) =>
        k.depthwiseConv2dForward(x, w, b, y, g),
      );
      sameOnBothThreads('depthwise dW', [input, output], [9 * 24, 24], (k, [x, dy], [dw, db]) =>
        k.depthwiseConv2dBackwardWeights(x, dy, dw, db, g),
      );
      sameOnBothThreads('depthwise dX', [output, 9 * 24], [input], (k, [dy, w], [dx]) =>
        k.depthwiseConv2dBackwardInput(dy, w, dx, g),
      );
    });
  }

  test('max and average pooling, forward and backward', () => {
    const g = { ...geometry(32, [26, 26, 32], 32, 2, 2, 'valid') };
    const input = g.batch * g.inHeight * g.inWidth * g.inChannels;
    const output = g.batch * g.outHeight * g.outWidth * g.outChannels;
    sameOnBothThreads('max pool forward', [input], [output], (k, [x], [y]) => k.maxPool2dForward(x, y, g));
    sameOnBothThreads('max pool backward', [input, output], [input], (k, [x, dy], [dx]) => {
      const y = k.alloc(output);
      k.maxPool2dForward(x, y, g);
      k.maxPool2dBackward(x, y, dy, dx, g);
      k.free(y);
    });
    sameOnBothThreads('average pool forward', [input], [output], (k, [x], [y]) =>
      k.averagePool2dForward(x, y, g),
    );
    sameOnBothThreads('average pool backward', [output], [input], (k, [dy], [dx]) =>
      k.averagePool2dBackward(dy, dx, g),
    );
  });

  test('the ReLU family, element-wise activations, batch normalization and per-channel affine maps', () => {
    const n = 300_001;
    const relu6 = { maxValue: 6, negativeSlope: 0.1, threshold: -0.5 };
    sameOnBothThreads('ReLU forward', [n], [n], (k, [x], [y]) => k.reluForward(x, y, n, relu6));
    sameOnBothThreads('ReLU backward', [n, n], [n], (k, [x, dy], [dx]) =>
      k.reluBackward(x, dy, dx, n, relu6),
    );
    for (const activation of ['relu', 'tanh', 'sigmoid', 'elu'] as const) {
      sameOnBothThreads(`${activation} forward`, [n], [n], (k, [z], [y]) =>
        k.activationForward(activation, z, y, 1, n),
      );
      sameOnBothThreads(`${activation} backward`, [n, n, n], [n], (k, [z, y, dy], [dz]) =>
        k.activationBackward(activation, z, y, dy, dz, 1, n),
      );
    }
    const m = 20_000;
    const c = 24;
    sameOnBothThreads('BN moments', [m * c], [c, c], (k, [x], [mean, variance]) =>
      k.columnMoments(x, m, c, mean, variance),
    );
    sameOnBothThreads(
      'BN forward',
      [m * c, c, c, c, c],
      [m * c, m * c],
      (k, [x, mean, variance, gamma, beta], [xHat, y]) => {
        for (let j = 0; j < c; j++) variance[j] = 0.5 + Math.abs(variance[j]);
        k.batchNormForward(x, mean, variance, gamma, beta, 1e-3, m, c, xHat, y);
      },
    );
    sameOnBothThreads(
      'BN backward',
      [m * c, m * c, c, c],
      [m * c, c, c],
      (k, [dy, xHat, variance, gamma], [dx, dGamma, dBeta]) => {
        for (let j = 0; j < c; j++) variance[j] = 0.5 + Math.abs(variance[j]);
        k.batchNormBackward(dy, xHat, variance, gamma, 1e-3, m, c, true, dx, dGamma, dBeta);
      },
    );
    sameOnBothThreads('per-channel affine', [m * c, c, c], [m * c], (k, [x, scale, offset], [y]) =>
      k.channelAffine(x, y, m, c, scale, offset),
    );
    sameOnBothThreads('element-wise sum', [n, n], [n], (k, [a, b], [out]) => k.addElementwise(a, b, out, n));
    sameOnBothThreads('zero padding', [8 * 47 * 45 * 16], [8 * 50 * 49 * 16], (k, [x], [y]) =>
      k.zeroPad2d(x, y, 8, 47, 45, 16, 1, 2, 3, 1),
    );
    sameOnBothThreads('affine of one channel', [m * c, 1, 1], [m * c], (k, [x, scale, offset], [y]) =>
      k.channelAffine(x, y, m * c, 1, scale, offset),
    );
  });
});

describe('models: one thread and two train to the same bits', () => {
  /** Trains `make()` for one epoch on each backend; returns the weights. */
  async function train(make: () => Sequential, shape: number[], classes: number): Promise<Float32Array[][]> {
    const samples = 64;
    const size = shape.reduce((a, b) => a * b, 1);
    const x = new Tensor(values(samples * size, 5).map(Math.abs), [samples, ...shape]);
    const y = new Tensor(
      Float32Array.from({ length: samples }, (_, i) => i % classes),
      [samples],
    );
    const results: Float32Array[][] = [];
    for (const kernels of [one, two] as Kernels[]) {
      setKernels(kernels);
      setRandomSeed(7);
      const model = make();
      model.compile({
        optimizer: new SGD({ learningRate: 0.05, momentum: 0.9 }),
        loss: 'sparse_categorical_crossentropy',
      });
      await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0, shuffle: false });
      results.push(model.getWeights().map((w) => w.data));
      model.dispose();
    }
    return results;
  }

  test('the small Fashion-MNIST CNN', async () => {
    const before = two.threadStats!.runs;
    const [single, double] = await train(
      () =>
        new Sequential([
          new Conv2D({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
          new MaxPooling2D(),
          new Conv2D({ filters: 64, kernelSize: 3, activation: 'relu' }),
          new MaxPooling2D(),
          new Flatten(),
          new Dense({ units: 128, activation: 'relu' }),
          new Dense({ units: 8, activation: 'softmax' }),
        ]),
      [28, 28, 1],
      8,
    );
    assert.ok(two.threadStats!.runs - before > 20, 'the steps were split');
    double.forEach((weights, i) => assert.deepEqual(weights, single[i], `weight ${i}`));
  });

  test('a MobileNetV2-style block (1×1 expansion, BN, ReLU6, depthwise) in training mode', async () => {
    const [single, double] = await train(
      () =>
        new Sequential([
          new Conv2D({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', inputShape: [48, 48, 3] }),
          new BatchNormalization(),
          new ReLU({ maxValue: 6 }),
          new Conv2D({ filters: 48, kernelSize: 1, useBias: false }),
          new BatchNormalization(),
          new ReLU({ maxValue: 6 }),
          new DepthwiseConv2D({ kernelSize: 3, padding: 'same' }),
          new GlobalAveragePooling2D(),
          new Dense({ units: 4, activation: 'softmax' }),
        ]),
      [48, 48, 3],
      4,
    );
    double.forEach((weights, i) => assert.deepEqual(weights, single[i], `weight ${i}`));
  });
});
