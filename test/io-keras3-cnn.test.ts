/**
 * Convolutional models and nested models as real Keras 3.11 wrote them (test/fixtures/keras3-cnn, recorded by
 * test/fixtures-gen/keras_cnn_fixtures.py): a MobileNetV2 (alpha 0.35, 96×96×3) base reused in a Sequential, the
 * small Fashion-MNIST CNN, a frozen functional base in a Sequential and a Sequential called inside a functional
 * model. warmstart loads each from `.h5` and `.keras`, predicts what Keras predicted, cuts models at inner
 * layers as `keras.Model(m.input, m.get_layer(x).output)` does, continues training as Keras did, writes copies
 * that load back identically, and names and orders the weights of nested models as Keras does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { closeHdf5Worker, loadModel, saveModel } from '../src/io/index.js';
import type { Layer } from '../src/layers/layer.js';
import { BaseModel } from '../src/models/baseModel.js';
import { Model } from '../src/models/functional.js';
import { Sequential } from '../src/models/sequential.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { Variable } from '../src/tensor/variable.js';
import { requireFixture } from './helpers/fixtures.js';
import { readRawHdf5, type RawGroup } from './helpers/h5raw.js';
import { REPO_FIXTURE_DIR } from './helpers/kerasFixtures.js';

const DIR = join(REPO_FIXTURE_DIR, 'keras3-cnn');
const fixture = (name: string): string => join(DIR, name);
const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-keras3-cnn-'));
const quiet = { onWarning: () => {} };

/** The probes of the generator: Park and Miller's minimal standard generator, scaled, as float32. */
function parkMiller(seed: number, count: number, low: number, high: number): Float32Array {
  const modulus = 2147483647;
  const values = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (state * 48271) % modulus;
    values[i] = low + (high - low) * (state / modulus);
  }
  return values;
}

interface Cut {
  layer: string;
  shape: number[];
  probe_0?: number[];
  probe_all?: number[];
}

const record = <T>(name: string): T => JSON.parse(readFileSync(fixture(`${name}.json`), 'utf8')) as T;

function worstAbsolute(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'lengths');
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  return worst;
}

function softmaxRows(values: ArrayLike<number>, width: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let row = 0; row < values.length / width; row++) {
    let max = -Infinity;
    for (let j = 0; j < width; j++) max = Math.max(max, values[row * width + j]);
    let sum = 0;
    for (let j = 0; j < width; j++) sum += out[row * width + j] = Math.exp(values[row * width + j] - max);
    for (let j = 0; j < width; j++) out[row * width + j] /= sum;
  }
  return out;
}

/** The Keras path of a warmstart variable: Keras prefixes layers built inside a Sequential with its name. */
function kerasPathOf(variable: Variable, kerasPaths: readonly string[]): string {
  const matches = kerasPaths.filter((path) => path === variable.path || path.endsWith(`/${variable.path}`));
  assert.equal(matches.length, 1, `one Keras weight is ${variable.path}: ${matches.join(', ')}`);
  return matches[0];
}

/** A `.h5` file's layer names and each layer's weight names, as Keras lists them. */
function h5WeightNames(file: RawGroup): Array<[string, string[]]> {
  const weights = file.groups.model_weights;
  const names = weights.attrs.layer_names.value as string[];
  return names.map((name) => {
    const listed = weights.groups[name].attrs.weight_names?.value;
    return [name, Array.isArray(listed) ? (listed as string[]) : []];
  });
}

/** The dataset paths of a `.keras` archive's weights file (optimizer variables excluded). */
async function archiveWeightPaths(path: string): Promise<string[]> {
  const weights = join(folder, 'extracted.weights.h5');
  writeFileSync(weights, unzipSync(readFileSync(path))['model.weights.h5']);
  const paths: string[] = [];
  const walk = (group: RawGroup, prefix: string): void => {
    for (const [name, dataset] of Object.entries(group.datasets))
      paths.push(`${prefix}${name}:${dataset.shape.join('x')}`);
    for (const [name, child] of Object.entries(group.groups)) walk(child, `${prefix}${name}/`);
  };
  walk((await readRawHdf5(weights)).groups.layers, 'layers/');
  return paths.sort();
}

/** Saves a model in both formats and checks that each copy loads back with identical weights and outputs. */
async function assertWrittenCopiesLoadBack(model: BaseModel, probe: Tensor, id: string): Promise<void> {
  const predictions = model.predict(probe, { batchSize: 8 }).data;
  for (const extension of ['.h5', '.keras']) {
    const path = join(folder, `${id}${extension}`);
    await saveModel(model, path);
    const copy = await loadModel(path, quiet);
    assert.equal(copy.className, model.className, `${id}${extension}: class`);
    assert.deepEqual(
      copy.layers.map((layer) => `${layer.name}:${layer.className}:${layer.trainable}`),
      model.layers.map((layer) => `${layer.name}:${layer.className}:${layer.trainable}`),
      `${id}${extension}: layers`,
    );
    assert.deepEqual(
      copy.weights.map((weight) => weight.path),
      model.weights.map((weight) => weight.path),
      `${id}${extension}: weight order`,
    );
    copy.weights.forEach((weight, i) =>
      assert.deepEqual(weight.value, model.weights[i].value, `${id}${extension}: ${weight.path}`),
    );
    assert.deepEqual(
      copy.predict(probe, { batchSize: 8 }).data,
      predictions,
      `${id}${extension}: predictions`,
    );
  }
}

interface MobileNetRecord {
  probe_seed: number;
  probe_range: [number, number];
  probe_shape: number[];
  logits: number[];
  base_layers: number;
  parameters: number;
  cut: Cut;
  weights: Array<{ path: string; shape: number[] }>;
}

for (const extension of ['.h5', '.keras']) {
  test(
    `MobileNetV2 (alpha 0.35, 96×96) nested in a Sequential, from Keras's ${extension}: logits within 2e-3, probabilities within 1e-4, a cut at block_13_expand_relu`,
    {
      skip: requireFixture(
        [fixture(`mobilenetv2${extension}`), fixture('mobilenetv2.json')],
        'Keras 3 CNN fixtures',
      ),
    },
    async () => {
      const keras = record<MobileNetRecord>('mobilenetv2');
      const model = await loadModel(fixture(`mobilenetv2${extension}`), { ...quiet, expect: Sequential });
      const base = model.layers[0];
      assert.ok(base instanceof Model, 'the MobileNetV2 base is a functional model nested as a layer');
      assert.equal(base.layers.length, keras.base_layers);
      assert.equal(model.countParams(), keras.parameters);
      assert.deepEqual(
        model.weights.map((weight) => weight.shape.join('x')),
        keras.weights.map((weight) => weight.shape.join('x')),
      );
      const [low, high] = keras.probe_range;
      const probe = new Tensor(
        parkMiller(
          keras.probe_seed,
          keras.probe_shape.reduce((a, b) => a * b, 1),
          low,
          high,
        ),
        keras.probe_shape,
      );
      const logits = model.predict(probe).data;
      const logitError = worstAbsolute(logits, keras.logits);
      assert.ok(logitError <= 2e-3, `logits differ by ${logitError}`);
      const probabilityError = worstAbsolute(softmaxRows(logits, 10), softmaxRows(keras.logits, 10));
      assert.ok(probabilityError <= 1e-4, `probabilities differ by ${probabilityError}`);
      process.stdout.write(
        `# MobileNetV2 ${extension}: worst logit difference ${logitError.toExponential(2)}, probability ${probabilityError.toExponential(2)}\n`,
      );

      const cut = new Model({ inputs: base.input, outputs: base.getLayer(keras.cut.layer).outputTensor });
      assert.deepEqual([...cut.outputShape], keras.cut.shape);
      const first = new Tensor(probe.data.slice(0, 96 * 96 * 3), [1, 96, 96, 3]);
      const cutError = worstAbsolute(cut.predict(first).data, keras.cut.probe_0!);
      assert.ok(cutError <= 2e-3, `the cut model's outputs differ by ${cutError}`);

      if (extension === '.keras') await assertWrittenCopiesLoadBack(model, probe, 'mobilenetv2');
    },
  );
}

interface SmallCnnRecord {
  probe_seed: number;
  probe_range: [number, number];
  probe_shape: number[];
  probabilities: number[];
  cut: Cut;
}

for (const extension of ['.h5', '.keras']) {
  test(
    `the small Fashion-MNIST CNN from Keras's ${extension}: probabilities within 1e-4, Dense-128 features within 2e-3, copies load back identically`,
    {
      skip: requireFixture(
        [fixture(`small_cnn${extension}`), fixture('small_cnn.json')],
        'Keras 3 CNN fixtures',
      ),
    },
    async () => {
      const keras = record<SmallCnnRecord>('small_cnn');
      const model = await loadModel(fixture(`small_cnn${extension}`), { ...quiet, expect: Sequential });
      assert.deepEqual(
        model.layers.map((layer) => layer.className),
        ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense'],
      );
      const [low, high] = keras.probe_range;
      const probe = new Tensor(
        parkMiller(
          keras.probe_seed,
          keras.probe_shape.reduce((a, b) => a * b, 1),
          low,
          high,
        ),
        keras.probe_shape,
      );
      const probabilityError = worstAbsolute(model.predict(probe).data, keras.probabilities);
      assert.ok(probabilityError <= 1e-4, `probabilities differ by ${probabilityError}`);
      const features = new Model({
        inputs: model.input,
        outputs: model.getLayer(keras.cut.layer).outputTensor,
      });
      const featureError = worstAbsolute(features.predict(probe).data, keras.cut.probe_all!);
      assert.ok(featureError <= 2e-3, `features differ by ${featureError}`);
      await assertWrittenCopiesLoadBack(model, probe, `small_cnn${extension.slice(1)}`);
    },
  );
}

interface TrainedRecord {
  probe: number[];
  probe_shape: number[];
  predictions: number[];
  cut: Cut;
  weights: Array<{ path: string; shape: number[]; values: number[] }>;
  trainable_weights: string[];
  optimizer_variables: Array<{ path: string; name: string; shape: number[]; values: number[] }>;
  next_batch: { x: number[]; x_shape: number[]; y: number[] };
  weights_after_next_batch: Array<{ path: string; values: number[] }>;
}

/** The model nested in a loaded model (its first layer that is a model). */
function nestedOf(model: BaseModel): Model | Sequential {
  const nested = model.layers.find(
    (layer: Layer): layer is Model | Sequential => layer instanceof Model || layer instanceof Sequential,
  );
  assert.ok(nested !== undefined, 'the model has a nested model');
  return nested;
}

const TRAINED = {
  nested_frozen: { outer: 'Sequential', nested: 'Functional', frozen: true },
  nested_functional: { outer: 'Functional', nested: 'Sequential', frozen: false },
} as const;

for (const [name, shape] of Object.entries(TRAINED)) {
  for (const extension of ['.h5', '.keras']) {
    test(
      `${name}${extension} from Keras 3.11: a ${shape.nested} nested in a ${shape.outer}${shape.frozen ? ', frozen' : ''}: weights, trainable weights, predictions, a cut, and the next step as Keras took it`,
      {
        skip: requireFixture(
          [fixture(`${name}${extension}`), fixture(`${name}.json`)],
          'Keras 3 CNN fixtures',
        ),
      },
      async () => {
        const keras = record<TrainedRecord>(name);
        const model = await loadModel(fixture(`${name}${extension}`), quiet);
        assert.equal(model.className, shape.outer);
        const nested = nestedOf(model);
        assert.equal(nested.className, shape.nested);
        assert.equal(nested.trainable, !shape.frozen);
        const kerasPaths = keras.weights.map((weight) => weight.path);
        const kerasWeights = new Map(keras.weights.map((weight) => [weight.path, weight]));
        assert.equal(model.weights.length, keras.weights.length);
        for (const variable of model.weights) {
          const stored = kerasWeights.get(kerasPathOf(variable, kerasPaths))!;
          assert.deepEqual(Array.from(variable.value), stored.values.map(Math.fround), variable.path);
        }
        assert.deepEqual(
          model.trainableWeights.map((variable) => kerasPathOf(variable, kerasPaths)),
          keras.trainable_weights,
          'the trainable weights, in order',
        );
        const probe = new Tensor(Float32Array.from(keras.probe), keras.probe_shape);
        const predictionError = worstAbsolute(model.predict(probe).data, keras.predictions);
        assert.ok(predictionError <= 1e-5, `predictions differ by ${predictionError}`);

        const cut = new Model({
          inputs: nested.input,
          outputs: nested.getLayer(keras.cut.layer).outputTensor,
        });
        const cutError = worstAbsolute(cut.predict(probe).data, keras.cut.probe_all!);
        assert.ok(cutError <= 1e-5, `the cut model's outputs differ by ${cutError}`);

        assert.equal(model.optimizer!.rawIterations, keras.optimizer_variables[0].values[0]);
        const frozenBefore = nested.weights.map((weight) => Float32Array.from(weight.value));
        const x = new Tensor(Float32Array.from(keras.next_batch.x), keras.next_batch.x_shape);
        const y = new Tensor(Float32Array.from(keras.next_batch.y), [keras.next_batch.y.length]);
        await model.fit(x, y, {
          epochs: 1,
          batchSize: keras.next_batch.y.length,
          shuffle: false,
          verbose: 0,
        });
        const after = new Map(keras.weights_after_next_batch.map((weight) => [weight.path, weight.values]));
        for (const variable of model.weights) {
          const error = worstAbsolute(variable.value, after.get(kerasPathOf(variable, kerasPaths))!);
          assert.ok(error <= 2e-5, `${variable.path} after one more step differs from Keras's by ${error}`);
        }
        if (shape.frozen) {
          nested.weights.forEach((weight, i) =>
            assert.deepEqual(weight.value, frozenBefore[i], `frozen ${weight.path} unchanged`),
          );
        }
      },
    );
  }

  test(
    `${name}: warmstart writes the nested model's weights under Keras's names and in Keras's order (.h5 weight_names, .keras containers)`,
    {
      skip: requireFixture([fixture(`${name}.h5`), fixture(`${name}.keras`)], 'Keras 3 CNN fixtures'),
    },
    async () => {
      const model = await loadModel(fixture(`${name}.keras`), quiet);
      const oursH5 = join(folder, `${name}.h5`);
      await saveModel(model, oursH5);
      const theirs = h5WeightNames(await readRawHdf5(fixture(`${name}.h5`)));
      const ours = h5WeightNames(await readRawHdf5(oursH5));
      // Keras 3.11 prefixes the weights of layers built inside a top-level Sequential with the model's name
      // (`nested_frozen/head/kernel`); everything else, the nested model's list above all, must agree.
      const unprefixed = theirs.map(([layer, names]): [string, string[]] => [
        layer,
        names.map((n) => n.replace(`${model.name}/`, '')),
      ]);
      assert.deepEqual(ours, unprefixed);

      const oursKeras = join(folder, `${name}.keras`);
      await saveModel(model, oursKeras);
      assert.deepEqual(
        await archiveWeightPaths(oursKeras),
        await archiveWeightPaths(fixture(`${name}.keras`)),
      );
    },
  );
}

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
