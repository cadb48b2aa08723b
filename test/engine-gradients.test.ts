import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActivationName, LossName } from '../src/kernels/kernels.js';
import { Dense } from '../src/layers/dense.js';
import { RandomGenerator } from '../src/tensor/random.js';
import { Float64Kernels, float64 } from './helpers/float64.js';

const kernels = new Float64Kernels();
const ACTIVATIONS: ActivationName[] = ['linear', 'relu', 'sigmoid', 'tanh', 'selu', 'elu', 'softmax'];

/** Valid output activations for each loss (cross-entropies need probabilities). */
const PAIRS: Array<[LossName, ActivationName[]]> = [
  ['mean_squared_error', ACTIVATIONS],
  ['sparse_categorical_crossentropy', ['softmax', 'sigmoid']],
  ['categorical_crossentropy', ['softmax', 'sigmoid']],
  ['binary_crossentropy', ['sigmoid', 'softmax']],
];

function targetsFor(loss: LossName, m: number, n: number, random: RandomGenerator): Float32Array {
  if (loss === 'sparse_categorical_crossentropy')
    return float64(Array.from({ length: m }, () => random.integer(n)));
  if (loss === 'categorical_crossentropy') {
    const t = new Float64Array(m * n);
    for (let i = 0; i < m; i++) t[i * n + random.integer(n)] = 1;
    return t as unknown as Float32Array;
  }
  if (loss === 'binary_crossentropy') return float64(Array.from({ length: m * n }, () => random.integer(2)));
  return float64(Array.from({ length: m * n }, () => random.normal()));
}

/**
 * Checks Dense backward + loss gradient against central differences of the mean loss, for the kernel, the
 * bias and the input. `fused` uses the loss's gradient at the pre-activation.
 */
function checkDense(activation: ActivationName, loss: LossName, fused: boolean, seed: number): void {
  const random = new RandomGenerator(seed);
  const m = 4;
  const k = 5;
  const n = 3;
  const layer = new Dense({
    units: n,
    activation,
    kernelInitializer: 'glorot_normal',
    biasInitializer: 'zeros',
  });
  layer.build([k], kernels);
  for (let i = 0; i < layer.bias!.value.length; i++) layer.bias!.value[i] = random.normal() * 0.3;
  // Keep pre-activations away from ReLU's and ELU's kinks so central differences are well defined.
  const x = float64(Array.from({ length: m * k }, () => random.normal()));
  const targets = targetsFor(loss, m, n, random);
  const meanLoss = (): number => {
    const y = layer.forward(x, m, true);
    return kernels.loss(loss, y, targets, null, m, n, false) / m;
  };
  const y = layer.forward(x, m, true);
  const dOut = kernels.alloc(m * n);
  kernels.loss(loss, y, targets, dOut, m, n, fused);
  const dx = layer.backward(dOut, m, true, true, fused)!;
  const analytic = [
    { name: 'kernel', values: layer.kernel.value, gradient: Float64Array.from(layer.kernel.gradient) },
    { name: 'bias', values: layer.bias!.value, gradient: Float64Array.from(layer.bias!.gradient) },
    { name: 'input', values: x, gradient: Float64Array.from(dx) },
  ];
  const h = 1e-6;
  for (const { name, values, gradient } of analytic) {
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + h;
      const plus = meanLoss();
      values[i] = saved - h;
      const minus = meanLoss();
      values[i] = saved;
      const numeric = (plus - minus) / (2 * h);
      const tolerance = 1e-6 + 1e-5 * Math.abs(numeric);
      assert.ok(
        Math.abs(numeric - gradient[i]) <= tolerance,
        `${activation}/${loss}${fused ? ' (fused)' : ''}: d${name}[${i}] analytic ${gradient[i]} vs numeric ${numeric}`,
      );
    }
  }
}

for (const [loss, activations] of PAIRS) {
  for (const activation of activations) {
    test(`Dense ${activation} + ${loss}: backward matches finite differences (float64)`, () => {
      checkDense(activation, loss, false, 7);
    });
  }
}

test('fused softmax + sparse/categorical cross-entropy gradient matches finite differences', () => {
  checkDense('softmax', 'sparse_categorical_crossentropy', true, 11);
  checkDense('softmax', 'categorical_crossentropy', true, 12);
});

test('fused sigmoid + binary cross-entropy gradient matches finite differences', () => {
  checkDense('sigmoid', 'binary_crossentropy', true, 13);
});

test('a finite-difference check can fail: a wrong gradient is caught', () => {
  const layer = new Dense({ units: 2, activation: 'tanh' });
  layer.build([3], kernels);
  const originalBackward = kernels.activationBackward.bind(kernels);
  // Sabotage tanh's derivative and expect the check to reject it.
  kernels.activationBackward = (a, z, y, dy, dz, m, n) => {
    originalBackward(a, z, y, dy, dz, m, n);
    for (let i = 0; i < m * n; i++) dz[i] *= 1.01;
  };
  try {
    assert.throws(() => checkDense('tanh', 'mean_squared_error', false, 3), /analytic/);
  } finally {
    kernels.activationBackward = originalBackward;
  }
});
