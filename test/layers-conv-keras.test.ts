// The convolutional-network layers against Keras 3 itself: each case of test/fixtures/keras-conv-layers.json
// (written by test/fixtures-gen/keras_conv_layers.py) is a layer config as Keras wrote it, weights, an input and
// Keras's output. Needs `npm run build:wasm` for the wasm half.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Kernels } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { deserializeLayer } from '../src/layers/registry.js';
import { Tensor } from '../src/tensor/tensor.js';

interface KerasCase {
  class_name: string;
  config: Record<string, unknown>;
  input_shape: number[];
  batch: number;
  x: number[];
  weights: { shape: number[]; values: number[] }[];
  output_shape: number[];
  y: number[];
}

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/keras-conv-layers.json', import.meta.url), 'utf8'),
) as { keras_version: string; cases: KerasCase[] };

/** Keras's config keys that warmstart writes with a fixed value or leaves to Keras (dtype is a policy object there). */
function comparableKeys(config: Record<string, unknown>): string[] {
  return Object.keys(config).sort();
}

function runCase(kernels: Kernels, data: KerasCase): Float32Array {
  const layer = deserializeLayer({ class_name: data.class_name, config: data.config });
  layer.build(data.input_shape, kernels);
  assert.deepEqual(layer.computeOutputShape(data.input_shape), data.output_shape, 'output shape');
  layer.setWeights(data.weights.map((w) => new Tensor(Float32Array.from(w.values), w.shape)));
  const x = kernels.alloc(data.x.length);
  x.set(data.x);
  const y = layer.forward(x, data.batch, false);
  return Float32Array.from(y.subarray(0, data.y.length));
}

function assertNear(actual: Float32Array, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const limit = 2e-5 * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= limit)) {
      assert.fail(`${what}: element ${i}: warmstart ${actual[i]}, Keras ${expected[i]}`);
    }
  }
}

const label = (data: KerasCase): string =>
  `${data.class_name} ${JSON.stringify(
    Object.fromEntries(
      Object.entries(data.config).filter(([key]) =>
        [
          'kernel_size',
          'pool_size',
          'strides',
          'padding',
          'dilation_rate',
          'groups',
          'depth_multiplier',
        ].includes(key),
      ),
    ),
  )} on [${data.input_shape.join(', ')}]`;

describe(`layers against Keras ${fixture.keras_version}`, () => {
  let wasm: WasmKernels;
  before(async () => {
    wasm = await createWasmKernels({ threads: 1 });
  });
  after(async () => {
    await wasm.dispose();
  });

  for (const data of fixture.cases) {
    test(label(data), () => {
      assertNear(runCase(new ReferenceKernels(), data), data.y, 'reference');
      const fallbacks = wasm.stats.fallbacks;
      assertNear(runCase(wasm, data), data.y, 'wasm');
      assert.equal(
        wasm.stats.fallbacks,
        fallbacks,
        'the wasm kernels ran (no fallback to the reference loops)',
      );
      // The config written back has Keras's keys and the same window arguments.
      const layer = deserializeLayer({ class_name: data.class_name, config: data.config });
      const written = layer.getConfig();
      assert.deepEqual(comparableKeys(written), comparableKeys(data.config), 'config keys');
      for (const [key, value] of Object.entries(data.config)) {
        if (key === 'dtype' || key.endsWith('_initializer')) continue;
        assert.deepEqual(written[key], value, `config '${key}'`);
      }
    });
  }
});
