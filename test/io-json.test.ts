/**
 * Floats written as floats: every number warmstart writes into a Keras config has the JSON literal kind
 * (`0` int, `0.0` float) that Keras itself writes for that argument, checked against Keras 3.11's own
 * serialization of every class warmstart implements (test/fixtures/keras3/config-types.json, recorded by
 * test/fixtures-gen/keras3_fixtures.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { closeHdf5Worker, saveModel } from '../src/io/index.js';
import { kerasJson } from '../src/io/kerasJson.js';
import { type ConfigContext, createLayer, optimizerFromConfig } from '../src/io/modelConfig.js';
import { getInitializer, serializeInitializer, UnknownInitializerError } from '../src/initializers/index.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import { isLayerRegistered, serializeLayer } from '../src/layers/registry.js';
import { Sequential } from '../src/models/sequential.js';
import {
  Adadelta,
  deserializeSchedule,
  ExponentialDecay,
  serializeOptimizer,
  serializeSchedule,
  SGD,
} from '../src/optimizers/index.js';
import { readRawHdf5 } from './helpers/h5raw.js';
import { type NumberLiteral, numberLiterals, parseWithNumberKinds } from './helpers/jsonKinds.js';
import { requireFixture } from './helpers/fixtures.js';

const fixturePath = new URL('./fixtures/keras3/config-types.json', import.meta.url).pathname;
const skip = requireFixture(fixturePath, "Keras 3's serialized configs");
const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-json-'));

interface KerasRecord {
  kind: 'optimizer' | 'schedule' | 'layer' | 'initializer';
  class_name: string;
  note: string;
  json: string;
}

const records = (): KerasRecord[] =>
  (JSON.parse(readFileSync(fixturePath, 'utf8')) as { records: KerasRecord[] }).records;

const context: ConfigContext = {
  path: 'config-types.json',
  fileBytes: 1e9,
  customObjects: {},
  warn: () => {},
};

/** The same object made by warmstart from Keras's config and serialized again, or null for an unknown class. */
function remake(record: KerasRecord): unknown {
  const serialized = JSON.parse(record.json) as { class_name: string; config: Record<string, unknown> };
  switch (record.kind) {
    case 'optimizer':
      return serializeOptimizer(optimizerFromConfig(serialized, context));
    case 'schedule':
      return serializeSchedule(deserializeSchedule(serialized));
    case 'initializer':
      try {
        return serializeInitializer(getInitializer(serialized));
      } catch (error) {
        if (error instanceof UnknownInitializerError) return null;
        throw error;
      }
    case 'layer':
      return isLayerRegistered(serialized.class_name)
        ? serializeLayer(createLayer(serialized, context))
        : null;
  }
}

/** `key` → the literal kind Keras writes under it, from every record (a key with both kinds is left out). */
function kerasKindsByKey(): Map<string, NumberLiteral['kind']> {
  const kinds = new Map<string, Set<NumberLiteral['kind']>>();
  for (const record of records()) {
    for (const { path, literal } of numberLiterals(parseWithNumberKinds(record.json))) {
      const key = lastKey(path);
      if (!kinds.has(key)) kinds.set(key, new Set());
      kinds.get(key)!.add(literal.kind);
    }
  }
  return new Map([...kinds].filter(([, set]) => set.size === 1).map(([key, set]) => [key, [...set][0]]));
}

/** `config.values[1]` → `values`; `build_config.input_shape[1]` → `input_shape`. */
const lastKey = (path: string): string => path.replace(/(\[\d+\])+$/, '').replace(/^.*\./, '');

test('kerasJson writes numbers under float arguments as floats, and leaves integers and nested objects alone', () => {
  assert.equal(
    kerasJson({
      momentum: 0,
      learning_rate: {
        class_name: 'ExponentialDecay',
        config: { initial_learning_rate: 1, decay_steps: 10 },
      },
      epsilon: 1e-7,
      rho: 0.9,
      values: [1, 0.5, 0],
      boundaries: [10, 20],
      units: 3,
      seed: null,
      rate: 2e21,
      name: 'é',
    }),
    '{"momentum":0.0,"learning_rate":{"class_name":"ExponentialDecay","config":{"initial_learning_rate":1.0,' +
      '"decay_steps":10}},"epsilon":1e-7,"rho":0.9,"values":[1.0,0.5,0.0],"boundaries":[10,20],"units":3,' +
      '"seed":null,"rate":2e+21,"name":"\\u00e9"}',
  );
  assert.equal(
    kerasJson({ clipnorm: Number.NaN, a: undefined, b: [undefined] }),
    '{"clipnorm":null,"b":[null]}',
  );
});

test(
  "every class warmstart implements writes each number with the literal kind Keras 3's own serialization has",
  { skip },
  () => {
    const checked: string[] = [];
    const unknown: string[] = [];
    const mismatches: string[] = [];
    for (const record of records()) {
      const ours = remake(record);
      if (ours === null) {
        unknown.push(record.class_name);
        continue;
      }
      const theirs = new Map(
        numberLiterals(parseWithNumberKinds(record.json)).map(({ path, literal }) => [path, literal]),
      );
      let compared = 0;
      for (const { path, literal } of numberLiterals(parseWithNumberKinds(kerasJson(ours)))) {
        const keras = theirs.get(path);
        if (keras === undefined) continue;
        compared++;
        if (keras.kind !== literal.kind)
          mismatches.push(
            `${record.kind} ${record.class_name}: ${path} is ${literal.kind} ${literal.value}, Keras writes ${keras.kind} ${keras.value}`,
          );
      }
      checked.push(`${record.class_name}(${compared})`);
    }
    process.stdout.write(
      `# compared with Keras: ${checked.join(', ')}; not in warmstart (yet): ${unknown.join(', ')}\n`,
    );
    assert.deepEqual(mismatches, []);
    // Every optimizer, schedule, initializer and layer warmstart has is among those compared.
    for (const name of [
      'SGD',
      'RMSprop',
      'Adam',
      'AdamW',
      'Adadelta',
      'Adagrad',
      'Adamax',
      'Nadam',
      'Lion',
      'Ftrl',
      'ExponentialDecay',
      'PiecewiseConstantDecay',
      'PolynomialDecay',
      'InverseTimeDecay',
      'CosineDecay',
      'CosineDecayRestarts',
      'VarianceScaling',
      'GlorotUniform',
      'Constant',
      'Dense',
      'Dropout',
      'AlphaDropout',
      'BatchNormalization',
      'Activation',
      'Add',
      'Concatenate',
      'Flatten',
      'InputLayer',
    ]) {
      assert.ok(
        checked.some((entry) => entry.startsWith(`${name}(`)),
        `${name} was compared with Keras`,
      );
    }
  },
);

test(
  'the .h5 training_config and model_config, and the .keras config.json, write floats as Keras does',
  { skip },
  async () => {
    const kinds = kerasKindsByKey();
    const model = new Sequential(
      [
        new Dense({
          units: 4,
          activation: 'relu',
          inputShape: [3],
          kernelInitializer: {
            class_name: 'VarianceScaling',
            config: { scale: 1, mode: 'fan_in', distribution: 'uniform', seed: 3 },
          },
        }),
        new Dropout({ rate: 0 }),
        new BatchNormalization({ momentum: 0, epsilon: 1 }),
        new Dense({
          units: 2,
          activation: 'softmax',
          biasInitializer: { class_name: 'Constant', config: { value: 0 } },
        }),
      ],
      { name: 'floats' },
    );
    const texts: Array<[string, string]> = [];
    for (const optimizer of [
      new SGD({ learningRate: 1, momentum: 0 }),
      new Adadelta({ learningRate: 1, rho: 0, epsilon: 1 }),
      new SGD({
        learningRate: new ExponentialDecay({ initialLearningRate: 1, decaySteps: 10, decayRate: 1 }),
        clipnorm: 1,
      }),
    ]) {
      model.compile({ optimizer, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
      const h5 = join(folder, 'floats.h5');
      const keras = join(folder, 'floats.keras');
      await saveModel(model, h5);
      await saveModel(model, keras);
      const raw = await readRawHdf5(h5);
      texts.push([`${optimizer.className} .h5 model_config`, String(raw.attrs.model_config.value)]);
      texts.push([`${optimizer.className} .h5 training_config`, String(raw.attrs.training_config.value)]);
      const members = unzipSync(readFileSync(keras));
      texts.push([
        `${optimizer.className} .keras config.json`,
        new TextDecoder().decode(members['config.json']),
      ]);
    }
    assert.match(texts[1][1], /"learning_rate":1\.0\b/);
    assert.match(texts[1][1], /"momentum":0\.0\b/);
    assert.match(texts[2][1], /"momentum":0\.0\b/);
    const mismatches: string[] = [];
    let compared = 0;
    for (const [what, text] of texts) {
      for (const { path, literal } of numberLiterals(parseWithNumberKinds(text))) {
        const expected = kinds.get(lastKey(path));
        if (expected === undefined) continue;
        compared++;
        if (expected !== literal.kind)
          mismatches.push(`${what}: ${path} = ${literal.value} is ${literal.kind}, Keras writes ${expected}`);
      }
    }
    assert.deepEqual(mismatches, []);
    assert.ok(compared > 60, `${compared} numbers compared`);
  },
);

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
