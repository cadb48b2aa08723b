// Finite-difference gradient checks (float64) of the convolutional-network layers, every option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Conv2D } from '../src/layers/conv2d.js';
import { Cropping2D } from '../src/layers/cropping2D.js';
import { DepthwiseConv2D } from '../src/layers/depthwiseConv2D.js';
import { GlobalAveragePooling2D, GlobalMaxPooling2D } from '../src/layers/globalPooling2d.js';
import type { Layer } from '../src/layers/layer.js';
import { LeakyReLU } from '../src/layers/leakyReLU.js';
import { AveragePooling2D, MaxPooling2D } from '../src/layers/pooling2d.js';
import { ReLU } from '../src/layers/relu.js';
import { Rescaling } from '../src/layers/rescaling.js';
import { Reshape } from '../src/layers/reshape.js';
import { SeparableConv2D } from '../src/layers/separableConv2D.js';
import { Softmax } from '../src/layers/softmax.js';
import { ZeroPadding2D } from '../src/layers/zeroPadding2D.js';
import { RandomGenerator } from '../src/tensor/random.js';
import { type Shape, sizeOf } from '../src/tensor/tensor.js';
import { Float64Kernels, float64 } from './helpers/float64.js';

const kernels = new Float64Kernels();
const h = 1e-6;

function assertClose(analytic: ArrayLike<number>, numeric: ArrayLike<number>, what: string): void {
  assert.equal(analytic.length, numeric.length, `${what}: lengths`);
  for (let i = 0; i < analytic.length; i++) {
    const scale = Math.max(1, Math.abs(analytic[i]), Math.abs(numeric[i]));
    assert.ok(
      Math.abs(analytic[i] - numeric[i]) <= 1e-6 * scale,
      `${what}[${i}]: backward gives ${analytic[i]}, central differences ${numeric[i]}`,
    );
  }
}

/**
 * Checks a layer's backward against central differences of `L = Σ c ⊙ y` (c random) for the input and every
 * trainable weight; returns the input gradient. Inputs are `scale`·N(0, 1) (ReLU6 needs some above 6).
 */
function checkLayer(
  layer: Layer,
  shape: Shape,
  m: number,
  seed: number,
  options: { training?: boolean; scale?: number } = {},
): Float64Array {
  const random = new RandomGenerator(seed);
  const training = options.training ?? true;
  const scale = options.scale ?? 1;
  layer.build(shape, kernels);
  // Random trainable weights (a zero-initialised bias would hide a bias gradient bug).
  for (const weight of layer.trainableWeights) {
    for (let i = 0; i < weight.size; i++) weight.value[i] = random.normal();
  }
  const n = sizeOf(shape);
  const out = sizeOf(layer.computeOutputShape(shape));
  const x = float64(Array.from({ length: m * n }, () => scale * random.normal()));
  const c = float64(Array.from({ length: m * out }, () => random.normal()));
  const loss = (): number => {
    const y = layer.forward(x, m, training);
    let sum = 0;
    for (let i = 0; i < m * out; i++) sum += c[i] * y[i];
    return sum;
  };
  loss();
  const dx = Float64Array.from(layer.backward(c, m, true, true, false)!);
  const targets = [{ name: 'input', values: x, analytic: dx as ArrayLike<number> }];
  for (const weight of layer.trainableWeights) {
    targets.push({ name: weight.name, values: weight.value, analytic: Float64Array.from(weight.gradient) });
  }
  for (const { name, values, analytic } of targets) {
    const numeric = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + h;
      const up = loss();
      values[i] = saved - h;
      const down = loss();
      values[i] = saved;
      numeric[i] = (up - down) / (2 * h);
    }
    assertClose(analytic, numeric, `${layer.className} '${layer.name}' ${name}`);
  }
  return dx;
}

test('Conv2D: gradients for strides, same/valid padding, dilation, groups, bias and activations', () => {
  checkLayer(new Conv2D({ filters: 3, kernelSize: 3 }), [5, 6, 2], 2, 1);
  // Odd input with stride 2 and 'same': the extra pixel of padding at the bottom and right.
  checkLayer(new Conv2D({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }), [7, 6, 2], 2, 2);
  checkLayer(
    new Conv2D({ filters: 2, kernelSize: [2, 3], strides: [2, 1], padding: 'same' }),
    [5, 5, 3],
    2,
    3,
  );
  checkLayer(new Conv2D({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same' }), [6, 7, 2], 2, 4);
  checkLayer(new Conv2D({ filters: 2, kernelSize: [3, 2], dilationRate: [1, 2] }), [6, 7, 1], 1, 5);
  checkLayer(new Conv2D({ filters: 4, kernelSize: 3, groups: 2, padding: 'same' }), [4, 5, 6], 2, 6);
  checkLayer(new Conv2D({ filters: 3, kernelSize: 1, useBias: false }), [3, 4, 5], 2, 7);
  checkLayer(new Conv2D({ filters: 3, kernelSize: 1, strides: 2 }), [5, 4, 2], 2, 8);
  checkLayer(new Conv2D({ filters: 3, kernelSize: 3, activation: 'tanh', padding: 'same' }), [4, 4, 2], 2, 9);
  checkLayer(new Conv2D({ filters: 3, kernelSize: 2, activation: 'softmax' }), [3, 4, 2], 2, 10);
});

test('DepthwiseConv2D: gradients for depth multipliers, strides, padding and dilation', () => {
  checkLayer(new DepthwiseConv2D({ kernelSize: 3, padding: 'same' }), [5, 5, 3], 2, 11);
  checkLayer(new DepthwiseConv2D({ kernelSize: 3, strides: 2, padding: 'same' }), [7, 8, 4], 2, 12);
  checkLayer(new DepthwiseConv2D({ kernelSize: 3, depthMultiplier: 2 }), [5, 4, 3], 2, 13);
  checkLayer(
    new DepthwiseConv2D({ kernelSize: [2, 3], depthMultiplier: 3, dilationRate: 2, padding: 'same' }),
    [5, 6, 2],
    1,
    14,
  );
  checkLayer(new DepthwiseConv2D({ kernelSize: 3, useBias: false, activation: 'relu' }), [4, 5, 2], 2, 15);
});

test('SeparableConv2D: gradients of both kernels, the bias and the input', () => {
  checkLayer(new SeparableConv2D({ filters: 3, kernelSize: 3, padding: 'same' }), [5, 5, 2], 2, 16);
  checkLayer(
    new SeparableConv2D({
      filters: 2,
      kernelSize: 3,
      depthMultiplier: 2,
      strides: 2,
      padding: 'same',
      activation: 'elu',
    }),
    [6, 7, 3],
    2,
    17,
  );
  checkLayer(
    new SeparableConv2D({ filters: 2, kernelSize: 2, dilationRate: 2, useBias: false }),
    [5, 5, 2],
    1,
    18,
  );
});

test('MaxPooling2D and AveragePooling2D: gradients with overlapping windows, strides ≠ pool size, same padding', () => {
  checkLayer(new MaxPooling2D(), [6, 6, 2], 2, 20);
  checkLayer(new MaxPooling2D({ poolSize: 3, strides: 2, padding: 'same' }), [7, 6, 3], 2, 21);
  checkLayer(new MaxPooling2D({ poolSize: [2, 3], strides: 1 }), [4, 5, 2], 2, 22);
  checkLayer(new MaxPooling2D({ poolSize: 2, padding: 'same' }), [5, 5, 1], 2, 23);
  checkLayer(new AveragePooling2D(), [6, 5, 2], 2, 24);
  checkLayer(new AveragePooling2D({ poolSize: 3, strides: 2, padding: 'same' }), [7, 6, 3], 2, 25);
  checkLayer(new AveragePooling2D({ poolSize: [2, 3], strides: [1, 2], padding: 'same' }), [4, 5, 2], 2, 26);
});

test('AveragePooling2D with same padding averages over the positions inside the input only', () => {
  const layer = new AveragePooling2D({ poolSize: 2, padding: 'same' });
  layer.build([3, 3, 1], kernels);
  // 3×3 input, 2×2 windows at stride 2: the bottom/right windows overhang by one pixel.
  const y = layer.forward(float64([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1);
  assert.deepEqual(Array.from(y), [(1 + 2 + 4 + 5) / 4, (3 + 6) / 2, (7 + 8) / 2, 9]);
  const max = new MaxPooling2D({ poolSize: 2, padding: 'same' });
  max.build([3, 3, 1], kernels);
  assert.deepEqual(
    Array.from(max.forward(float64([-1, -2, -3, -4, -5, -6, -7, -8, -9]), 1)),
    [-1, -3, -7, -9],
  );
});

test('GlobalAveragePooling2D and GlobalMaxPooling2D: gradients, with and without keepdims', () => {
  checkLayer(new GlobalAveragePooling2D(), [3, 4, 5], 2, 30);
  checkLayer(new GlobalAveragePooling2D({ keepdims: true }), [2, 3, 2], 2, 31);
  checkLayer(new GlobalMaxPooling2D(), [3, 4, 5], 2, 32);
  checkLayer(new GlobalMaxPooling2D({ keepdims: true }), [4, 2, 3], 2, 33);
  assert.deepEqual(new GlobalMaxPooling2D({ keepdims: true }).computeOutputShape([4, 2, 3]), [1, 1, 3]);
});

test('ZeroPadding2D, Cropping2D and Reshape: gradients move values back to their places', () => {
  checkLayer(
    new ZeroPadding2D({
      padding: [
        [1, 2],
        [0, 3],
      ],
    }),
    [3, 2, 2],
    2,
    40,
  );
  checkLayer(new ZeroPadding2D({ padding: 1 }), [2, 2, 1], 2, 41);
  checkLayer(
    new Cropping2D({
      cropping: [
        [1, 0],
        [2, 1],
      ],
    }),
    [4, 5, 2],
    2,
    42,
  );
  checkLayer(new Cropping2D({ cropping: [1, 2] }), [4, 6, 1], 2, 43);
  checkLayer(new Reshape({ targetShape: [3, -1] }), [2, 3, 2], 2, 44);
  assert.deepEqual(new Reshape({ targetShape: [28, 28, 1] }).computeOutputShape([28, 28]), [28, 28, 1]);
  assert.deepEqual(new Reshape({ targetShape: [-1, 4] }).computeOutputShape([2, 6]), [3, 4]);
});

test('Rescaling: gradients with one scale and per-channel scales and offsets', () => {
  checkLayer(new Rescaling({ scale: 1 / 127.5, offset: -1 }), [2, 3, 2], 2, 50);
  checkLayer(new Rescaling({ scale: [0.5, 2, -1], offset: [1, 0, 3] }), [2, 2, 3], 2, 51);
  const layer = new Rescaling({ scale: 1 / 255 });
  layer.build([2], kernels);
  assert.deepEqual(Array.from(layer.forward(float64([0, 255, 51, 102]), 2)), [0, 1, 0.2, 0.4]);
});

test('ReLU (max_value, negative_slope, threshold), LeakyReLU and Softmax: gradients', () => {
  checkLayer(new ReLU(), [3, 4], 2, 60);
  checkLayer(new ReLU({ maxValue: 6 }), [3, 4], 3, 61, { scale: 5 });
  checkLayer(new ReLU({ negativeSlope: 0.1, threshold: 0.5 }), [3, 4], 2, 62);
  checkLayer(new ReLU({ maxValue: 1.5, negativeSlope: 0.2, threshold: 0.3 }), [2, 3, 2], 2, 63, { scale: 2 });
  checkLayer(new LeakyReLU(), [3, 4], 2, 64);
  checkLayer(new LeakyReLU({ negativeSlope: 0.01 }), [2, 2, 2], 2, 65);
  checkLayer(new Softmax(), [2, 3, 4], 2, 66);
  // The values Keras gives (its docstring's examples).
  const x = float64([-10, -5, 0, 5, 10]);
  const run = (layer: Layer): number[] => {
    layer.build([5], kernels);
    return Array.from(layer.forward(x, 1, false));
  };
  assert.deepEqual(run(new ReLU()), [0, 0, 0, 5, 10]);
  assert.deepEqual(run(new ReLU({ negativeSlope: 0.5 })), [-5, -2.5, 0, 5, 10]);
  assert.deepEqual(run(new ReLU({ maxValue: 5 })), [0, 0, 0, 5, 5]);
  assert.deepEqual(run(new ReLU({ threshold: 5 })), [0, 0, 0, 0, 10]);
  assert.deepEqual(run(new LeakyReLU()), [-3, -1.5, 0, 5, 10]);
});

test('BatchNormalization on images (axis −1 over [h, w, c]): gradients in training and inference', () => {
  const random = new RandomGenerator(70);
  const training = new BatchNormalization({ momentum: 0.9 });
  checkLayer(training, [3, 2, 4], 2, 71, { training: true });
  // The statistics are per channel, over the batch and both spatial axes: 2·3·2 = 12 values each.
  const layer = new BatchNormalization({ momentum: 0 });
  layer.build([2, 3, 2], kernels);
  const x = float64(Array.from({ length: 2 * 12 }, () => random.normal()));
  layer.forward(x, 2, true);
  for (let c = 0; c < 2; c++) {
    const values = Array.from({ length: 12 }, (_, i) => x[i * 2 + c]);
    const mean = values.reduce((a, b) => a + b, 0) / 12;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / 12;
    assertClose(
      [layer.movingMean.value[c], layer.movingVariance.value[c]],
      [mean, variance],
      `channel ${c} statistics`,
    );
  }
  const inference = new BatchNormalization();
  inference.build([2, 2, 3], kernels);
  for (let i = 0; i < 3; i++) {
    inference.movingMean.value[i] = random.normal();
    inference.movingVariance.value[i] = 0.5 + random.uniform();
  }
  checkLayer(inference, [2, 2, 3], 2, 72, { training: false });
});
