// Convolutional layers in models: per-sample image shapes through Sequential, summary, fit, the wasm backend
// against the reference, Keras files (.h5, .keras) round trips, and typed errors for bad configs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { closeHdf5Worker, loadModel, ModelFileError, type ModelFileErrorCode } from '../src/io/index.js';
import { getKernels, setKernels } from '../src/kernels/index.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import {
  AveragePooling2D,
  BatchNormalization,
  Conv2D,
  Cropping2D,
  Dense,
  DepthwiseConv2D,
  Flatten,
  GlobalAveragePooling2D,
  GlobalMaxPooling2D,
  type Layer,
  LeakyReLU,
  MaxPooling2D,
  ReLU,
  Rescaling,
  Reshape,
  SeparableConv2D,
  Softmax,
  ZeroPadding2D,
  clearSession,
} from '../src/layers/index.js';
import { deserializeLayer } from '../src/layers/registry.js';
import { cloneModel } from '../src/models/cloneModel.js';
import { Add } from '../src/layers/add.js';
import { Input, Model } from '../src/models/functional.js';
import { Sequential } from '../src/models/sequential.js';
import { Adam } from '../src/optimizers/index.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { ShapeError, Tensor } from '../src/tensor/tensor.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-conv-models-'));
const quiet = { onWarning: () => {} };

/** The small Fashion-MNIST CNN of issue 11. */
function smallCnn(): Sequential {
  return new Sequential([
    new Conv2D({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    new MaxPooling2D({ poolSize: 2 }),
    new Conv2D({ filters: 64, kernelSize: 3, activation: 'relu' }),
    new MaxPooling2D({ poolSize: 2 }),
    new Flatten(),
    new Dense({ units: 128, activation: 'relu' }),
    new Dense({ units: 10, activation: 'softmax' }),
  ]);
}

/**
 * Ten classes of 28×28 images: a bright 7×7 block whose place is the class, on faint noise; a CNN learns
 * them in a few steps.
 */
function blocks(samples: number, seed: number): { x: Tensor; y: Tensor } {
  const random = new RandomGenerator(seed);
  const x = new Float32Array(samples * 784);
  const y = new Float32Array(samples);
  for (let s = 0; s < samples; s++) {
    const label = s % 10;
    y[s] = label;
    const top = Math.floor(label / 4) * 7 + 3;
    const left = (label % 4) * 7;
    for (let i = 0; i < 784; i++) x[s * 784 + i] = Math.max(0, 0.1 * random.normal());
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) x[s * 784 + (top + i) * 28 + left + j] = 1;
  }
  return { x: new Tensor(x, [samples, 28, 28, 1]), y: new Tensor(y, [samples]) };
}

function withKernels<T>(kernels: Kernels, body: () => T): T {
  const previous = getKernels();
  setKernels(kernels);
  try {
    return body();
  } finally {
    setKernels(previous);
  }
}

describe('convolutional models', () => {
  let wasm: WasmKernels;
  before(async () => {
    wasm = await createWasmKernels({ threads: 1 });
  });
  after(async () => {
    await wasm.dispose();
    await closeHdf5Worker();
    rmSync(folder, { recursive: true, force: true });
  });

  test("the small CNN: per-sample shapes [h, w, c], Keras's summary and parameter counts", () => {
    clearSession();
    const model = withKernels(wasm, smallCnn);
    const summary = model.summary(null);
    for (const row of [
      /conv2d \(Conv2D\)\s+│ \(None, 26, 26, 32\)\s+│\s+320 │/,
      /max_pooling2d \(MaxPooling2D\)\s+│ \(None, 13, 13, 32\)\s+│\s+0 │/,
      /conv2d_1 \(Conv2D\)\s+│ \(None, 11, 11, 64\)\s+│\s+18,496 │/,
      /max_pooling2d_1 \(MaxPooling2D\)\s+│ \(None, 5, 5, 64\)/,
      /flatten \(Flatten\)\s+│ \(None, 1600\)/,
      /dense \(Dense\)\s+│ \(None, 128\)\s+│\s+204,928 │/,
      / Total params: 225,034 /,
    ]) {
      assert.match(summary, row);
    }
    assert.deepEqual(model.outputShape, [10]);
    // Reshape lets the same network take 28×28 images.
    const reshaped = withKernels(
      wasm,
      () =>
        new Sequential([
          new Reshape({ targetShape: [28, 28, 1], inputShape: [28, 28] }),
          new Conv2D({ filters: 4, kernelSize: 3, padding: 'same' }),
          new GlobalAveragePooling2D(),
        ]),
    );
    assert.deepEqual(reshaped.outputShape, [4]);
    assert.deepEqual(reshaped.predict(new Tensor(new Float32Array(2 * 784), [2, 28, 28])).shape, [2, 4]);
  });

  test('fit: a few epochs on generated images lower the loss, all on the wasm kernels', async () => {
    setRandomSeed(7);
    const model = withKernels(wasm, smallCnn);
    model.compile({
      optimizer: new Adam({ learningRate: 1e-3 }),
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    });
    const images = blocks(320, 1);
    const y = images.y;
    // The images in wasm memory, so that even fit's input check runs there.
    const data = wasm.alloc(images.x.size);
    data.set(images.x.data);
    const x = new Tensor(data, images.x.shape);
    const lossBefore = model.evaluate(x, y, { returnDict: true, verbose: 0 }).loss;
    const fallbacks = wasm.stats.fallbacks;
    const history = await model.fit(x, y, { epochs: 3, batchSize: 32, verbose: 0 });
    assert.equal(wasm.stats.fallbacks, fallbacks, 'every kernel of the training steps ran in wasm');
    const { loss: lossAfter, accuracy } = model.evaluate(x, y, { returnDict: true, verbose: 0 });
    assert.ok(lossAfter < 0.5 * lossBefore, `loss ${lossBefore} → ${lossAfter}`);
    assert.ok(accuracy > 0.8, `accuracy ${accuracy}`);
    assert.ok(history.history.loss[2] < history.history.loss[0]);
    wasm.free(data);
  });

  test('one training step: the wasm backend agrees with the reference, and 1 and 2 threads agree bit for bit', async () => {
    const { x, y } = blocks(16, 2);
    const twoThreads = await createWasmKernels({ threads: 2 });
    try {
      const run = async (kernels: Kernels): Promise<Float32Array[]> => {
        setRandomSeed(11);
        const model = withKernels(kernels, smallCnn);
        model.compile({
          optimizer: new Adam({ learningRate: 1e-3 }),
          loss: 'sparse_categorical_crossentropy',
        });
        await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0, shuffle: false });
        return model.getWeights().map((w) => w.data);
      };
      const reference = await run(new ReferenceKernels());
      const one = await run(wasm);
      const two = await run(twoThreads);
      one.forEach((weights, k) => {
        assert.deepEqual(two[k], weights, `weight ${k}: 2 threads = 1 thread`);
        for (let i = 0; i < weights.length; i++) {
          assert.ok(
            Math.abs(weights[i] - reference[k][i]) < 1e-4,
            `weight ${k}[${i}]: ${weights[i]} vs ${reference[k][i]}`,
          );
        }
      });
    } finally {
      await twoThreads.dispose();
    }
  });

  test("Conv2D's ReLU folded into the convolution and the max pooling after it: the bits of separate ReLU layers", async () => {
    const { x, y } = blocks(16, 5);
    /** The layers of the test network; with `separate`, linear convolutions each followed by a ReLU layer. */
    const layers = (separate: boolean, inputShape?: number[]): Layer[] => {
      const activation = separate ? 'linear' : 'relu';
      return [
        new Conv2D({ filters: 8, kernelSize: 3, activation, inputShape }),
        ...(separate ? [new ReLU()] : []),
        new MaxPooling2D({ poolSize: 2 }),
        new Conv2D({ filters: 8, kernelSize: 3, padding: 'same', activation }),
        ...(separate ? [new ReLU()] : []),
        new MaxPooling2D({ poolSize: 3, strides: 2, padding: 'same' }),
        new Flatten(),
        new Dense({ units: 10, activation: 'softmax' }),
      ];
    };
    const build = (kind: 'sequential' | 'functional', separate: boolean): Sequential | Model => {
      if (kind === 'sequential') return new Sequential(layers(separate, [28, 28, 1]));
      const input = Input({ shape: [28, 28, 1] });
      return new Model({
        inputs: input,
        outputs: layers(separate).reduce((t, layer) => layer.apply(t), input),
      });
    };
    for (const kernels of [new ReferenceKernels(), wasm] as Kernels[]) {
      const folds: boolean[] = [];
      const maxPool2dBackward = kernels.maxPool2dBackward;
      kernels.maxPool2dBackward = (...args) => {
        folds.push(args[5] === true);
        maxPool2dBackward.apply(kernels, args);
      };
      try {
        let initial: Float32Array[] | null = null;
        for (const kind of ['sequential', 'functional'] as const) {
          const trained: Float32Array[][] = [];
          for (const separate of [false, true]) {
            const model = withKernels(kernels, () => build(kind, separate));
            if (initial === null) initial = model.getWeights().map((w) => w.data.slice());
            model.setWeights(initial.map((w, k) => new Tensor(w, model.getWeights()[k].shape)));
            model.compile({
              optimizer: new Adam({ learningRate: 1e-2 }),
              loss: 'sparse_categorical_crossentropy',
            });
            await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, shuffle: false });
            trained.push(model.getWeights().map((w) => w.data));
            model.dispose();
            // Both poolings fold the ReLU below them with ReLU convolutions; none does with ReLU layers between.
            const where = `${kernels.name}, ${kind}, ${separate ? 'separate ReLU layers' : 'ReLU convolutions'}`;
            assert.ok(folds.length > 0 && folds.every((fold) => fold === !separate), `${where}: ${folds}`);
            folds.length = 0;
          }
          trained[0].forEach((w, k) =>
            assert.deepEqual(w, trained[1][k], `${kernels.name}, ${kind}: weight ${k}`),
          );
        }
      } finally {
        delete (kernels as Partial<Kernels>).maxPool2dBackward;
      }
    }
  });

  test('cloneModel copies a CNN, and a functional CNN with a residual Add trains', async () => {
    const model = withKernels(wasm, smallCnn);
    const clone = withKernels(wasm, () => cloneModel(model));
    clone.setWeights(model.getWeights());
    const { x } = blocks(8, 3);
    assert.deepEqual(clone.predict(x).data, model.predict(x).data);
    assert.notEqual(clone.layers[0], model.layers[0]);
    // MobileNetV2's pattern: expand 1×1, depthwise 3×3 with ReLU6, project 1×1, and add the block's input.
    setRandomSeed(3);
    const functional = withKernels(wasm, () => {
      const input = Input({ shape: [28, 28, 1] });
      const stem = new Conv2D({ filters: 8, kernelSize: 3, strides: 2, padding: 'same' }).apply(input);
      const expand = new ReLU({ maxValue: 6 }).apply(
        new BatchNormalization().apply(
          new Conv2D({ filters: 16, kernelSize: 1, useBias: false }).apply(stem),
        ),
      );
      const depthwise = new ReLU({ maxValue: 6 }).apply(
        new DepthwiseConv2D({ kernelSize: 3, padding: 'same', useBias: false }).apply(expand),
      );
      const project = new Conv2D({ filters: 8, kernelSize: 1 }).apply(depthwise);
      const residual = new Add().apply([stem, project]);
      // Flatten, not global pooling: the class is where the block is.
      const flat = new Flatten().apply(residual);
      return new Model({
        inputs: input,
        outputs: new Dense({ units: 10, activation: 'softmax' }).apply(flat),
      });
    });
    functional.compile({
      optimizer: new Adam({ learningRate: 1e-2 }),
      loss: 'sparse_categorical_crossentropy',
    });
    const data = blocks(160, 4);
    const before = functional.evaluate(data.x, data.y, { verbose: 0 }) as number;
    await functional.fit(data.x, data.y, { epochs: 4, batchSize: 16, verbose: 0 });
    const after = functional.evaluate(data.x, data.y, { verbose: 0 }) as number;
    assert.ok(after < 0.7 * before, `loss ${before} → ${after}`);
  });

  /** Every new layer in one Sequential (and GlobalAveragePooling2D in a second one). */
  function everyLayer(): Sequential[] {
    return [
      new Sequential([
        new Rescaling({ scale: 1 / 127.5, offset: -1, inputShape: [12, 12, 3] }),
        new ZeroPadding2D({ padding: 1 }),
        new Conv2D({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
        new BatchNormalization(),
        new ReLU({ maxValue: 6 }),
        new DepthwiseConv2D({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }),
        new SeparableConv2D({ filters: 12, kernelSize: 3, padding: 'same', dilationRate: 2 }),
        new LeakyReLU({ negativeSlope: 0.1 }),
        new MaxPooling2D({ poolSize: 2, padding: 'same' }),
        new Cropping2D({
          cropping: [
            [1, 0],
            [0, 1],
          ],
        }),
        new Conv2D({ filters: 6, kernelSize: 1, groups: 2 }),
        new AveragePooling2D({ poolSize: 2, strides: 1 }),
        new GlobalMaxPooling2D({ keepdims: true }),
        new Reshape({ targetShape: [-1] }),
        new Dense({ units: 4 }),
        new Softmax(),
      ]),
      new Sequential([
        new Conv2D({
          filters: 5,
          kernelSize: [2, 3],
          dilationRate: [2, 1],
          inputShape: [9, 8, 2],
          useBias: false,
        }),
        new GlobalAveragePooling2D(),
        new Dense({ units: 3, activation: 'softmax' }),
      ]),
    ];
  }

  for (const extension of ['.h5', '.keras'] as const) {
    test(`every new layer round-trips through ${extension} with identical predictions and configs`, async () => {
      const random = new RandomGenerator(5);
      const previous = getKernels();
      // Loading builds the model on the current backend: the same as the saved model's.
      setKernels(wasm);
      try {
        const models = everyLayer();
        for (const [index, model] of models.entries()) {
          // Non-trivial weights everywhere (biases and BatchNormalization's statistics included).
          for (const weight of model.weights) {
            const positive = weight.name === 'moving_variance';
            for (let i = 0; i < weight.size; i++) {
              weight.value[i] = positive ? 0.5 + random.uniform() : 0.5 * random.normal();
            }
          }
          const inputShape = model.inputShape!;
          const samples = 3;
          const size = inputShape.reduce((a, b) => a * b, 1);
          const x = new Tensor(
            Float32Array.from({ length: samples * size }, () => 255 * random.uniform()),
            [samples, ...inputShape],
          );
          const expected = model.predict(x);
          assert.ok(expected.data.every(Number.isFinite), 'finite predictions');
          const path = join(folder, `every-layer-${index}${extension}`);
          await model.save(path);
          const loaded = await loadModel(path, quiet);
          assert.deepEqual(
            loaded.layers.map((l) => l.className),
            model.layers.map((l) => l.className),
          );
          loaded.layers.forEach((layer, i) =>
            assert.deepEqual(layer.getConfig(), model.layers[i].getConfig(), layer.name),
          );
          assert.deepEqual(loaded.predict(x).data, expected.data, 'identical predictions');
        }
      } finally {
        setKernels(previous);
      }
    });
  }

  /** Saves a small CNN as .keras, rewrites one layer's config, and returns the new file's path. */
  function patchedKeras(
    name: string,
    source: string,
    edit: (layers: Record<string, unknown>[]) => void,
  ): string {
    const entries = unzipSync(readFileSync(source));
    const config = JSON.parse(strFromU8(entries['config.json'])) as {
      config: { layers: Record<string, unknown>[] };
    };
    edit(config.config.layers);
    entries['config.json'] = strToU8(JSON.stringify(config));
    const path = join(folder, name);
    writeFileSync(path, zipSync(entries));
    return path;
  }

  async function expectCode(path: string, code: ModelFileErrorCode, pattern: RegExp): Promise<void> {
    await assert.rejects(loadModel(path, quiet), (error: unknown) => {
      assert.ok(error instanceof ModelFileError, `expected a ModelFileError, got ${String(error)}`);
      assert.equal(error.code, code, error.message);
      assert.match(error.message, pattern);
      return true;
    });
  }

  test('bad configs in files are typed errors that name the layer and the problem', async () => {
    const model = withKernels(
      wasm,
      () =>
        new Sequential(
          [
            new Conv2D({ name: 'conv', filters: 4, kernelSize: 3, inputShape: [6, 6, 2] }),
            new MaxPooling2D({ name: 'pool' }),
            new Flatten(),
          ],
          { name: 'cnn' },
        ),
    );
    const source = join(folder, 'good.keras');
    await model.save(source);
    assert.equal((await loadModel(source, quiet)).layers.length, 3);
    const conv = (layers: Record<string, unknown>[]): Record<string, unknown> =>
      layers.find((l) => (l.config as { name: string }).name === 'conv')!.config as Record<string, unknown>;
    const pool = (layers: Record<string, unknown>[]): Record<string, unknown> =>
      layers.find((l) => (l.config as { name: string }).name === 'pool')!.config as Record<string, unknown>;
    const cases: [string, (layers: Record<string, unknown>[]) => void, ModelFileErrorCode, RegExp][] = [
      [
        'negative-strides',
        (l) => (conv(l).strides = [-1, 1]),
        'BAD_CONFIG',
        /'conv' \(Conv2D\).*strides must be a positive integer/,
      ],
      ['zero-strides', (l) => (conv(l).strides = 0), 'BAD_CONFIG', /'conv' \(Conv2D\).*strides/],
      ['pool-strides', (l) => (pool(l).strides = [2, -2]), 'BAD_CONFIG', /'pool' \(MaxPooling2D\).*strides/],
      [
        'unknown-padding',
        (l) => (conv(l).padding = 'causal'),
        'BAD_CONFIG',
        /'conv'.*padding must be 'valid' or 'same', got "causal"/,
      ],
      [
        'channels-first',
        (l) => (conv(l).data_format = 'channels_first'),
        'BAD_CONFIG',
        /'conv'.*channels_first.*not supported/,
      ],
      [
        'kernel-too-large',
        (l) => (conv(l).kernel_size = [7, 3]),
        'BAD_CONFIG',
        /'conv'.*7×3 window.*6×6 input with padding 'valid'/,
      ],
      ['pool-too-large', (l) => (pool(l).pool_size = [5, 5]), 'BAD_CONFIG', /'pool'.*5×5 window.*4×4 input/],
      [
        'kernel-mismatch',
        (l) => (conv(l).kernel_size = [2, 2]),
        'WEIGHT_MISMATCH',
        /layer 'conv': weight 'kernel' has shape \[2, 2, 2, 4\].*shape \[3, 3, 2, 4\]/,
      ],
      [
        'filters-mismatch',
        (l) => (conv(l).filters = 5),
        'WEIGHT_MISMATCH',
        /layer 'conv'.*\[3, 3, 2, 5\].*\[3, 3, 2, 4\]/,
      ],
      ['groups', (l) => (conv(l).groups = 3), 'BAD_CONFIG', /filters \(4\) must divide by groups \(3\)/],
      ['huge', (l) => (conv(l).filters = 2e8), 'WEIGHT_MISMATCH', /far more/],
    ];
    for (const [name, edit, code, pattern] of cases) {
      await expectCode(patchedKeras(`${name}.keras`, source, edit), code, pattern);
    }
  });

  test('bad layer arguments are RangeErrors or ShapeErrors naming the argument', () => {
    assert.throws(
      () => new Conv2D({ filters: 0, kernelSize: 3 }),
      /Conv2D: filters must be a positive integer, got 0/,
    );
    assert.throws(
      () => new Conv2D({ filters: 2, kernelSize: [3] }),
      /kernel_size must be a positive integer or a pair/,
    );
    assert.throws(
      () => new Conv2D({ filters: 2, kernelSize: 3, strides: 2, dilationRate: 2 }),
      /strides > 1 cannot be combined with dilation_rate > 1/,
    );
    assert.throws(
      () => new DepthwiseConv2D({ kernelSize: 3, depthMultiplier: 0 }),
      /depth_multiplier must be a positive integer/,
    );
    assert.throws(() => new MaxPooling2D({ padding: 'full' }), /padding must be 'valid' or 'same'/);
    assert.throws(() => new AveragePooling2D({ dataFormat: 'channels_first' }), /channels_first/);
    assert.throws(() => new ReLU({ maxValue: -1 }), /max_value must be a finite number ≥ 0/);
    assert.throws(() => new LeakyReLU({ negativeSlope: -0.1 }), /negative_slope/);
    assert.throws(() => new Reshape({ targetShape: [-1, -1] }), /at most one -1/);
    assert.throws(() => new Rescaling({ scale: Number.NaN }), /scale must be a finite number/);
    assert.throws(() => new ZeroPadding2D({ padding: [1, 2, 3] }), /padding must be an integer, a pair/);
    assert.throws(
      () => new Conv2D({ filters: 2, kernelSize: 3 }).computeOutputShape([28, 28]),
      (error: unknown) => {
        assert.ok(error instanceof ShapeError);
        assert.match(error.message, /takes images of shape \[height, width, channels\].*\[28, 28\]/);
        return true;
      },
    );
    assert.throws(
      () => new Cropping2D({ cropping: 3 }).computeOutputShape([6, 8, 1]),
      /leaves nothing of a 6×8 image/,
    );
    assert.throws(() => new Reshape({ targetShape: [5, -1] }).computeOutputShape([4, 3]), /cannot reshape/);
    assert.throws(() => new Softmax({ axis: 1 }).computeOutputShape([3, 4]), /only the last axis/);
    const grouped = new Conv2D({ filters: 4, kernelSize: 1, groups: 2 });
    assert.throws(() => grouped.build([3, 3, 3]), /input channels \(3\) must divide by groups \(2\)/);
  });

  test("Keras 2 configs: LeakyReLU's alpha, lists for axes, layers under their Keras names", () => {
    const leaky = deserializeLayer({
      class_name: 'LeakyReLU',
      config: { name: 'l', alpha: 0.2 },
    }) as LeakyReLU;
    assert.equal(leaky.negativeSlope, 0.2);
    const softmax = deserializeLayer({ class_name: 'Softmax', config: { axis: [-1] } }) as Softmax;
    assert.equal(softmax.axis, -1);
    const names: [Layer, string][] = [
      [new Conv2D({ filters: 1, kernelSize: 1 }), 'conv2d'],
      [new DepthwiseConv2D({ kernelSize: 1 }), 'depthwise_conv2d'],
      [new SeparableConv2D({ filters: 1, kernelSize: 1 }), 'separable_conv2d'],
      [new MaxPooling2D(), 'max_pooling2d'],
      [new GlobalAveragePooling2D(), 'global_average_pooling2d'],
      [new ZeroPadding2D(), 'zero_padding2d'],
      [new ReLU(), 're_lu'],
      [new LeakyReLU(), 'leaky_re_lu'],
    ];
    clearSession();
    for (const [layer, prefix] of names) assert.match(layer.name, new RegExp(`^${prefix}(_\\d+)?$`));
    // A Keras 2 pooling config without strides means strides = pool size.
    const pooled = deserializeLayer({
      class_name: 'MaxPooling2D',
      config: { pool_size: [3, 3], strides: null },
    }) as MaxPooling2D;
    assert.deepEqual(pooled.strides, [3, 3]);
  });
});
