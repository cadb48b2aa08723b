/**
 * Seeded fuzzers for everything warmstart reads from outside: model files (`.h5`, `.keras`), the JSON configs
 * inside them (model, layer and optimizer configs, in Keras 2's and Keras 3's schemas), and dataset files (IDX,
 * raw and gzip). Each case must end in a typed error (`ModelFileError`, `UnknownLayerError`, `DatasetError`)
 * or in a valid result (a model that predicts, an optimizer that trains, a dataset), never in another
 * exception, a crash or a hang.
 *
 * Used by `test/io-fuzz.test.ts` and `test/datasets-fuzz.test.ts` (a fixed subset inside `npm test`) and by
 * `npm run fuzz` (`test/fuzz/run.ts`, the full run).
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { DatasetError, encodeIdx, loadFashionMnist } from '../../src/datasets/index.js';
import { loadModel, ModelFileError, readModelFile, saveModel } from '../../src/io/index.js';
import {
  compileArgumentsFrom,
  type ConfigContext,
  kerasCompileConfig,
  kerasModelConfig,
  legacyModelConfig,
  legacyTrainingConfig,
  modelFromConfig,
} from '../../src/io/modelConfig.js';
import type { Kernels } from '../../src/kernels/kernels.js';
import { Activation } from '../../src/layers/activation.js';
import { Add } from '../../src/layers/add.js';
import { AlphaDropout } from '../../src/layers/alphaDropout.js';
import { BatchNormalization } from '../../src/layers/batchNormalization.js';
import { Concatenate } from '../../src/layers/concatenate.js';
import { Dense } from '../../src/layers/dense.js';
import { Dropout } from '../../src/layers/dropout.js';
import { Flatten } from '../../src/layers/flatten.js';
import { inputShapeFromConfig, UnknownLayerError } from '../../src/layers/registry.js';
import { Loss } from '../../src/losses/loss.js';
import type { BaseModel } from '../../src/models/baseModel.js';
import { Input, Model } from '../../src/models/functional.js';
import { Sequential } from '../../src/models/sequential.js';
import {
  Adam,
  CosineDecay,
  ExponentialDecay,
  Ftrl,
  Nadam,
  type Optimizer,
  PiecewiseConstantDecay,
  RMSprop,
  SGD,
} from '../../src/optimizers/index.js';
import { RandomGenerator, setRandomSeed } from '../../src/tensor/random.js';
import { sizeOf, Tensor } from '../../src/tensor/tensor.js';
import { COMMITTED_KERAS_H5, kerasH5Fixture, keras3Fixture } from '../helpers/kerasFixtures.js';

/** The fuzz targets. */
export type Target = 'h5' | 'keras' | 'model-config' | 'layer-config' | 'optimizer-config' | 'idx' | 'gzip';

/** What a run of one target found. */
export interface TargetReport {
  target: Target;
  cases: number;
  /** Outcome → count: `valid` for an accepted input, else the typed error's code. */
  outcomes: Record<string, number>;
  /** Cases that ended otherwise (an untyped error, a hang): each names its seed, source and mutation. */
  failures: string[];
  seconds: number;
  /** The slowest case, in milliseconds. */
  slowestMs: number;
}

/** A case slower than this counts as a hang. */
const HANG_MS = 10_000;

// ---- Mutations.

/** One seeded mutation of bytes: bit flips (anywhere or in the structure-rich head), truncation, a spliced chunk. */
export function mutateBytes(
  bytes: Uint8Array,
  random: RandomGenerator,
  donor: Uint8Array,
): { data: Uint8Array; how: string } {
  const data = Uint8Array.from(bytes);
  const kind = random.integer(6);
  if (kind === 0 || kind === 1) {
    const region = kind === 0 ? data.length : Math.min(data.length, 4096);
    const flips = 1 + random.integer(8);
    for (let i = 0; i < flips; i++) data[random.integer(region)] ^= 1 << random.integer(8);
    return { data, how: `${flips} bit flips in the first ${region} bytes` };
  }
  if (kind === 2) {
    const length = random.integer(data.length);
    return { data: data.subarray(0, length), how: `truncated to ${length} bytes` };
  }
  if (kind === 3) {
    const length = 1 + random.integer(256);
    const from = random.integer(Math.max(1, donor.length - length));
    const to = random.integer(Math.max(1, data.length - length));
    data.set(donor.subarray(from, from + length).subarray(0, data.length - to), to);
    return { data, how: `${length} bytes spliced at ${to}` };
  }
  if (kind === 4) {
    const at = random.integer(data.length);
    const length = 1 + random.integer(64);
    data.fill(random.integer(2) === 0 ? 0 : 0xff, at, at + length);
    return { data, how: `${length} bytes overwritten at ${at}` };
  }
  // A 32-bit field set to an extreme (sizes, offsets, counts are 4- or 8-byte little-endian integers in HDF5).
  const at = random.integer(Math.max(1, Math.min(data.length, 4096) - 4));
  const value = [0, 1, 0x7fffffff, 0xffffffff, 0x80000000][random.integer(5)];
  new DataView(data.buffer).setUint32(at, value, true);
  return { data, how: `uint32 at ${at} set to ${value}` };
}

type Json = unknown;

/** Values a mutation may put anywhere in a config. */
const ODD_VALUES: Json[] = [
  0,
  -1,
  1,
  0.5,
  -0.5,
  3,
  1e9,
  -1e9,
  1e308,
  2 ** 31,
  2 ** 53,
  '',
  'x',
  'relu',
  'softmax',
  'swish',
  'Dense',
  'float16',
  'Custom>Thing',
  true,
  false,
  null,
  [],
  {},
  [null],
  [1, 2],
  [null, 3],
  [null, -1],
  { class_name: 'Dense', config: {} },
  { class_name: 'Zeros', config: {} },
  { class_name: 'Sequential', config: { layers: [] } },
  'NaN',
];

const CLASS_NAMES = [
  'Dense',
  'Flatten',
  'InputLayer',
  'Dropout',
  'AlphaDropout',
  'Activation',
  'BatchNormalization',
  'Add',
  'Concatenate',
  'Conv2D',
  'Sequential',
  'Functional',
  'Model',
  'SGD',
  'Adam',
  'RMSprop',
  'Nadam',
  'Ftrl',
  'ExponentialDecay',
  'CosineDecay',
  'GlorotUniform',
  'VarianceScaling',
];

/** Every path to a value in a JSON tree (`[]` is the root). */
function paths(tree: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const result: Array<Array<string | number>> = [prefix];
  if (Array.isArray(tree)) tree.forEach((item, i) => result.push(...paths(item, [...prefix, i])));
  else if (typeof tree === 'object' && tree !== null)
    for (const [key, item] of Object.entries(tree)) result.push(...paths(item, [...prefix, key]));
  return result;
}

function getAt(tree: Json, path: ReadonlyArray<string | number>): Json {
  return path.reduce<Json>((node, key) => (node as Record<string | number, Json>)[key], tree);
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** One to three seeded structural mutations of a JSON tree (which is not modified). */
export function mutateJson(
  tree: Json,
  random: RandomGenerator,
  focus?: (path: ReadonlyArray<string | number>) => boolean,
): { data: Json; how: string } {
  let data = clone(tree);
  const steps: string[] = [];
  const count = 1 + random.integer(3);
  for (let step = 0; step < count; step++) {
    const all = paths(data).filter((path) => focus === undefined || focus(path));
    if (all.length === 0) break;
    const path = all[random.integer(all.length)];
    const where = path.join('.') || '(root)';
    const value = getAt(data, path);
    const kind = random.integer(7);
    const replace = (next: Json): void => {
      if (path.length === 0) data = next;
      else (getAt(data, path.slice(0, -1)) as Record<string | number, Json>)[path[path.length - 1]] = next;
    };
    if (kind === 0 && path.length > 0) {
      const parent = getAt(data, path.slice(0, -1));
      if (Array.isArray(parent)) parent.splice(path[path.length - 1] as number, 1);
      else delete (parent as Record<string, Json>)[path[path.length - 1] as string];
      steps.push(`delete ${where}`);
    } else if (kind === 1 || kind === 0) {
      const next = clone(ODD_VALUES[random.integer(ODD_VALUES.length)]);
      replace(next);
      steps.push(`${where} = ${JSON.stringify(next)}`);
    } else if (kind === 2 && typeof value === 'number') {
      const next = [value * -1, value + 1, value * 1000, 0, value / 3, -0][random.integer(6)];
      replace(next);
      steps.push(`${where} = ${next}`);
    } else if (kind === 3 && typeof value === 'string') {
      const next =
        random.integer(2) === 0
          ? CLASS_NAMES[random.integer(CLASS_NAMES.length)]
          : value.slice(0, random.integer(value.length + 1));
      replace(next);
      steps.push(`${where} = ${JSON.stringify(next)}`);
    } else if (kind === 4 && Array.isArray(value) && value.length > 0) {
      const i = random.integer(value.length);
      value.splice(random.integer(value.length + 1), 0, clone(value[i]));
      steps.push(`duplicate ${where}[${i}]`);
    } else if (kind === 5 && Array.isArray(value) && value.length > 1) {
      const i = random.integer(value.length);
      const j = random.integer(value.length);
      [value[i], value[j]] = [value[j], value[i]];
      steps.push(`swap ${where}[${i}] and [${j}]`);
    } else if (kind === 6 && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const keys = Object.keys(value);
      const key =
        keys.length > 0 && random.integer(2) === 0 ? keys[random.integer(keys.length)] : 'unknown_argument';
      (value as Record<string, Json>)[key === 'unknown_argument' ? key : `${key}`] = clone(
        ODD_VALUES[random.integer(ODD_VALUES.length)],
      );
      steps.push(`${where}.${key} = odd value`);
    } else {
      replace(clone(ODD_VALUES[random.integer(ODD_VALUES.length)]));
      steps.push(`${where} replaced`);
    }
  }
  return { data, how: steps.join('; ') };
}

// ---- Sources.

class AnyLoss extends Loss {
  readonly className = 'AnyLoss';
  readonly name = 'mean_squared_error' as const;
  readonly fusableActivation = null;
  override compute(
    kernels: Kernels,
    yPred: Float32Array,
    yTrue: Float32Array,
    gradient: Float32Array | null,
    m: number,
    n: number,
  ): number {
    return kernels.loss('mean_squared_error', yPred, yTrue, gradient, m, n, false);
  }
}

/** What the Keras fixtures name that warmstart lacks (the book's MyDense and huber_fn). */
export const customObjects = {
  MyDense: (config: Record<string, unknown>) =>
    new Dense({
      name: config.name as string,
      units: config.units as number,
      activation: config.activation as string,
      inputShape: inputShapeFromConfig(config),
    }),
  huber_fn: new AnyLoss(),
};

function functionalModel(): Model {
  const input = Input({ shape: [6] });
  const hidden = new Dropout({ rate: 0.2 }).apply(
    new BatchNormalization().apply(new Dense({ units: 5, activation: 'relu' }).apply(input)),
  );
  const side = new Dense({ units: 5, activation: 'tanh' }).apply(input);
  const merged = new Concatenate().apply([input, new Add().apply([hidden, side])]);
  return new Model({
    inputs: input,
    outputs: new Activation({ activation: 'softmax' }).apply(new Dense({ units: 2 }).apply(merged)),
  });
}

function sequentialModel(): Sequential {
  return new Sequential([
    new Flatten({ inputShape: [2, 3] }),
    new Dense({ units: 5, activation: 'selu', kernelInitializer: 'lecun_normal' }),
    new AlphaDropout({ rate: 0.1 }),
    new BatchNormalization(),
    new Dense({ units: 2, activation: 'softmax' }),
  ]);
}

const OPTIMIZERS: Array<() => Optimizer> = [
  () => new SGD({ learningRate: 0.01, momentum: 0.9, nesterov: true }),
  () => new Adam({ amsgrad: true, clipnorm: 1 }),
  () => new RMSprop({ centered: true, momentum: 0.5 }),
  () => new Nadam({ useEma: true }),
  () => new Ftrl({ l1RegularizationStrength: 0.01 }),
  () =>
    new SGD({
      learningRate: new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.9 }),
    }),
  () => new Adam({ learningRate: new PiecewiseConstantDecay({ boundaries: [10], values: [0.01, 0.001] }) }),
  () =>
    new Adam({
      learningRate: new CosineDecay({
        initialLearningRate: 0,
        decaySteps: 10,
        warmupTarget: 0.01,
        warmupSteps: 2,
      }),
    }),
];

/** The byte sources of the file fuzzers: warmstart's own files and the committed Keras fixtures. */
export async function fileSources(
  folder: string,
): Promise<Record<'h5' | 'keras', Array<{ name: string; bytes: Uint8Array }>>> {
  setRandomSeed(1);
  const sources: Record<'h5' | 'keras', Array<{ name: string; bytes: Uint8Array }>> = { h5: [], keras: [] };
  const models: Array<[string, BaseModel]> = [
    ['functional', functionalModel()],
    ['sequential', sequentialModel()],
  ];
  for (const [name, model] of models) {
    model.compile({ optimizer: new Adam(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    const shape = model.inputShape!;
    await model.fit(
      new Tensor(new Float32Array(10 * sizeOf(shape)).fill(0.5), [10, ...shape]),
      new Tensor(new Float32Array(10), [10]),
      { verbose: 0 },
    );
    for (const format of ['h5', 'keras'] as const) {
      const path = join(folder, `ours-${name}.${format}`);
      await saveModel(model, path);
      sources[format].push({ name: `warmstart ${name}.${format}`, bytes: readFileSync(path) });
    }
  }
  for (const name of COMMITTED_KERAS_H5) sources.h5.push({ name, bytes: readFileSync(kerasH5Fixture(name)) });
  for (const name of readdirSync(join(keras3Fixture('.')))) {
    if (name.endsWith('.h5'))
      sources.h5.push({ name: `keras3/${name}`, bytes: readFileSync(keras3Fixture(name)) });
    if (name.endsWith('.keras'))
      sources.keras.push({ name: `keras3/${name}`, bytes: readFileSync(keras3Fixture(name)) });
  }
  return sources;
}

/** The JSON sources: model configs (both schemas) and training configs, from warmstart and from Keras's files. */
export async function jsonSources(): Promise<{
  models: Array<{ name: string; config: Json }>;
  training: Array<{ name: string; config: Json }>;
}> {
  setRandomSeed(2);
  const models: Array<{ name: string; config: Json }> = [];
  const training: Array<{ name: string; config: Json }> = [];
  [functionalModel(), sequentialModel()].forEach((model, i) => {
    models.push({ name: `warmstart model ${i} (Keras 3 schema)`, config: kerasModelConfig(model) });
    models.push({ name: `warmstart model ${i} (Keras 2 schema)`, config: legacyModelConfig(model) });
  });
  const model = sequentialModel();
  OPTIMIZERS.forEach((optimizer, i) => {
    model.compile({ optimizer: optimizer(), loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    training.push({ name: `warmstart optimizer ${i} (compile_config)`, config: kerasCompileConfig(model) });
    training.push({
      name: `warmstart optimizer ${i} (training_config)`,
      config: legacyTrainingConfig(model),
    });
  });
  const files = [
    ...COMMITTED_KERAS_H5.map(kerasH5Fixture),
    ...['adam', 'sgd_momentum', 'rmsprop_centered'].flatMap((name) => [
      keras3Fixture(`${name}.h5`),
      keras3Fixture(`${name}.keras`),
    ]),
  ];
  for (const file of files) {
    const parts = await readModelFile(file);
    models.push({ name: `${file.split('/').pop()} model config`, config: parts.modelConfig });
    if (parts.trainingConfig !== null)
      training.push({ name: `${file.split('/').pop()} training config`, config: parts.trainingConfig });
  }
  return { models, training };
}

// ---- Running.

function count(outcomes: Record<string, number>, key: string): void {
  outcomes[key] = (outcomes[key] ?? 0) + 1;
}

function describeError(error: unknown): string {
  if (process.env.FUZZ_STACKS) return error instanceof Error ? String(error.stack) : String(error);
  return error instanceof Error
    ? `${error.name}: ${error.message.split('\n')[0].slice(0, 300)}`
    : String(error);
}

/** The typed outcome of an error from model loading, or null when it is not a typed one. */
function modelErrorOutcome(error: unknown): string | null {
  if (error instanceof ModelFileError) return error.code;
  if (error instanceof UnknownLayerError) return 'UnknownLayerError';
  return null;
}

/** Predicts two rows with a model (a valid result must run). */
function exercise(model: BaseModel): void {
  const shape = model.inputShape;
  if (shape === null) throw new Error('a loaded model has no input shape');
  const output = model.predict(new Tensor(new Float32Array(2 * sizeOf(shape)).fill(0.1), [2, ...shape]));
  if (output.rows !== 2) throw new Error(`predict returned ${output.rows} rows for 2`);
}

/** Frees what a fuzzed model holds, so that thousands of cases do not accumulate kernel memory. */
function release(model: BaseModel): void {
  for (const layer of model.layers) layer.dispose();
}

function report(target: Target, cases: number, started: number): TargetReport {
  return {
    target,
    cases,
    outcomes: {},
    failures: [],
    seconds: (performance.now() - started) / 1000,
    slowestMs: 0,
  };
}

/** Mutated `.h5` or `.keras` files, loaded with `loadModel`. */
export async function fuzzModelFiles(
  format: 'h5' | 'keras',
  cases: number,
  seed: number,
  folder: string,
  sources: Array<{ name: string; bytes: Uint8Array }>,
): Promise<TargetReport> {
  const result = report(format, cases, performance.now());
  const started = performance.now();
  const random = new RandomGenerator(seed);
  for (let i = 0; i < cases; i++) {
    const source = sources[random.integer(sources.length)];
    const donor = sources[random.integer(sources.length)].bytes;
    // A third of the archives keep valid bytes around a mutated config.json, which then meets real weights.
    const { data, how } =
      format === 'keras' && random.integer(3) === 0
        ? mutateArchiveConfig(source.bytes, random)
        : mutateBytes(source.bytes, random, donor);
    const path = join(folder, `case-${seed}-${i}.${format}`);
    writeFileSync(path, data);
    const caseStarted = performance.now();
    try {
      const model = await loadModel(path, { timeoutMs: 1000, customObjects, onWarning: () => {} });
      exercise(model);
      release(model);
      count(result.outcomes, 'valid');
    } catch (error) {
      const outcome = modelErrorOutcome(error);
      if (outcome !== null) count(result.outcomes, outcome);
      else
        result.failures.push(
          `${format} seed ${seed} case ${i} (${source.name}, ${how}): ${describeError(error)}`,
        );
    } finally {
      rmSync(path, { force: true });
    }
    const ms = performance.now() - caseStarted;
    result.slowestMs = Math.max(result.slowestMs, ms);
    if (ms > HANG_MS)
      result.failures.push(
        `${format} seed ${seed} case ${i} (${source.name}, ${how}): took ${Math.round(ms)} ms`,
      );
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

const context = (bytes: number): ConfigContext => ({
  path: 'fuzzed config',
  fileBytes: bytes,
  customObjects,
  warn: () => {},
});

/** A step of training with an optimizer a config made: what an accepted optimizer must be able to do. */
let trainer: Sequential | null = null;
async function trainOneStep(
  optimizer: Optimizer,
  loss: import('../../src/losses/loss.js').Loss,
  metrics: string[],
): Promise<void> {
  trainer ??= new Sequential([new Dense({ units: 2, activation: 'softmax', inputShape: [3] })]);
  trainer.compile({ optimizer, loss, metrics });

  const sparse = loss.name === 'sparse_categorical_crossentropy';
  await trainer.fit(
    new Tensor(
      Float32Array.from({ length: 12 }, (_, i) => (i % 5) / 5),
      [4, 3],
    ),
    new Tensor(
      sparse ? Float32Array.of(0, 1, 1, 0) : Float32Array.of(1, 0, 0, 1, 0, 1, 1, 0),
      sparse ? [4] : [4, 2],
    ),
    { epochs: 1, batchSize: 4, verbose: 0 },
  );
}

/**
 * Mutated JSON configs, rebuilt in memory: `model-config` mutates anywhere in a model config, `layer-config`
 * only inside one layer's config, `optimizer-config` the training config (optimizer, schedule, loss, metrics),
 * whose optimizer must then train a step.
 */
export async function fuzzJsonConfigs(
  target: 'model-config' | 'layer-config' | 'optimizer-config',
  cases: number,
  seed: number,
  sources: { models: Array<{ name: string; config: Json }>; training: Array<{ name: string; config: Json }> },
): Promise<TargetReport> {
  const result = report(target, cases, performance.now());
  const started = performance.now();
  const random = new RandomGenerator(seed);
  const pool = target === 'optimizer-config' ? sources.training : sources.models;
  for (let i = 0; i < cases; i++) {
    const source = pool[random.integer(pool.length)];
    const focus =
      target === 'layer-config'
        ? (path: ReadonlyArray<string | number>) => path.length >= 4 && path.includes('layers')
        : target === 'optimizer-config'
          ? (path: ReadonlyArray<string | number>) => path.length >= 1
          : undefined;
    const { data, how } = mutateJson(source.config, random, focus);
    const caseStarted = performance.now();
    try {
      if (target === 'optimizer-config') {
        const args = compileArgumentsFrom(data, context(JSON.stringify(data)?.length ?? 0));
        if (args !== null) await trainOneStep(args.optimizer, args.loss, args.metrics);
      } else {
        const model = modelFromConfig(data, context(JSON.stringify(data)?.length ?? 0));
        if (model.built) exercise(model);
        release(model);
      }
      count(result.outcomes, 'valid');
    } catch (error) {
      const outcome = modelErrorOutcome(error);
      if (outcome !== null) count(result.outcomes, outcome);
      else
        result.failures.push(
          `${target} seed ${seed} case ${i} (${source.name}; ${how}): ${describeError(error)}`,
        );
    }
    const ms = performance.now() - caseStarted;
    result.slowestMs = Math.max(result.slowestMs, ms);
    if (ms > HANG_MS)
      result.failures.push(
        `${target} seed ${seed} case ${i} (${source.name}; ${how}): took ${Math.round(ms)} ms`,
      );
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

const FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
] as const;

/**
 * Mutated dataset files: a small, valid Fashion-MNIST-shaped folder (raw IDX for `idx`, gzip for `gzip`) with
 * one of its four files mutated, loaded with `loadFashionMnist`.
 */
export async function fuzzDatasets(
  target: 'idx' | 'gzip',
  cases: number,
  seed: number,
  folder: string,
): Promise<TargetReport> {
  const result = report(target, cases, performance.now());
  const started = performance.now();
  const random = new RandomGenerator(seed);
  const dataDir = join(folder, `dataset-${target}-${seed}`);
  mkdirSync(dataDir, { recursive: true });
  const counts = { train: 6, t10k: 4 };
  const originals = new Map<string, Uint8Array>();
  for (const name of FILES) {
    const n = counts[name.startsWith('train') ? 'train' : 't10k'];
    const idx = name.includes('images')
      ? encodeIdx(
          [n, 28, 28],
          Uint8Array.from({ length: n * 784 }, () => random.integer(256)),
        )
      : encodeIdx(
          [n],
          Uint8Array.from({ length: n }, () => random.integer(10)),
        );
    const bytes = target === 'gzip' ? new Uint8Array(gzipSync(idx)) : idx;
    originals.set(name, bytes);
  }
  const fileName = (name: string): string => join(dataDir, target === 'gzip' ? `${name}.gz` : name);
  const writeAll = (): void => {
    for (const [name, bytes] of originals) writeFileSync(fileName(name), bytes);
  };
  writeAll();
  // The four files load as they are: the baseline every mutation departs from.
  await loadFashionMnist({ dataDir, download: false, log: () => {} });
  const donors = [...originals.values()];
  for (let i = 0; i < cases; i++) {
    const name = FILES[random.integer(FILES.length)];
    const { data, how } = mutateBytes(originals.get(name)!, random, donors[random.integer(donors.length)]);
    writeFileSync(fileName(name), data);
    const caseStarted = performance.now();
    try {
      const dataset = await loadFashionMnist({ dataDir, download: false, log: () => {} });
      if (dataset.train.images.length !== dataset.train.count * 784)
        throw new Error('images and count disagree');
      if (dataset.train.labels.some((label) => label > 9))
        throw new Error('a label out of range was accepted');
      count(result.outcomes, 'valid');
    } catch (error) {
      if (error instanceof DatasetError) count(result.outcomes, error.code);
      else
        result.failures.push(`${target} seed ${seed} case ${i} (${name}, ${how}): ${describeError(error)}`);
    } finally {
      writeFileSync(fileName(name), originals.get(name)!);
    }
    const ms = performance.now() - caseStarted;
    result.slowestMs = Math.max(result.slowestMs, ms);
    if (ms > HANG_MS)
      result.failures.push(`${target} seed ${seed} case ${i} (${name}, ${how}): took ${Math.round(ms)} ms`);
  }
  rmSync(dataDir, { recursive: true, force: true });
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** A `.keras` archive whose `config.json` (model and compile config) is mutated and every other member kept. */
function mutateArchiveConfig(
  archive: Uint8Array,
  random: RandomGenerator,
): { data: Uint8Array; how: string } {
  const members = unzipSync(archive);
  const config = JSON.parse(new TextDecoder().decode(members['config.json'])) as Json;
  const { data, how } = mutateJson(config, random);
  members['config.json'] = strToU8(JSON.stringify(data) ?? 'null');
  return { data: zipSync(members, { level: 0 }), how: `config.json: ${how}` };
}

/** One line per target and a total, as `npm run fuzz` prints them. */
export function formatReports(reports: readonly TargetReport[]): string {
  const lines = reports.map(
    (r) =>
      `${r.target.padEnd(17)} ${String(r.cases).padStart(6)} cases ${r.seconds.toFixed(1).padStart(6)} s  slowest ${Math.round(r.slowestMs)} ms  failures ${r.failures.length}  ${JSON.stringify(r.outcomes)}`,
  );
  const total = reports.reduce((sum, r) => sum + r.cases, 0);
  const failures = reports.reduce((sum, r) => sum + r.failures.length, 0);
  const seconds = reports.reduce((sum, r) => sum + r.seconds, 0);
  lines.push(
    `total             ${String(total).padStart(6)} cases ${seconds.toFixed(1).padStart(6)} s  failures ${failures}`,
  );
  return lines.join('\n');
}
