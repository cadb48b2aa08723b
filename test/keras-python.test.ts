/**
 * Files warmstart writes, opened by real Keras 3 (Python): Keras must load every `.h5` and `.keras` file,
 * predict what warmstart predicts, and, from `.keras`, restore the optimizer state (every variable equal) and
 * take one more training step to the weights warmstart reaches with the same step.
 *
 * Which Keras: the build in `$KERAS_ENV` (a folder with `env.sh`, made as /work/shared/tools/keras3/README.md
 * says), else `/work/keras-env`; Python is `$KERAS_PYTHON`, else `/usr/bin/python3`. When `KERAS_ENV` is not
 * set and the default folder does not exist, the test is skipped with the reason printed (CI has no Keras
 * build); when `KERAS_ENV` is set, a build that does not import is a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeHdf5Worker, loadModel, saveModel } from '../src/io/index.js';
import { optimizerVariablesToSave } from '../src/io/optimizerState.js';
import type { InitializerLike } from '../src/initializers/index.js';
import { Activation } from '../src/layers/activation.js';
import { Add } from '../src/layers/add.js';
import { AlphaDropout } from '../src/layers/alphaDropout.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Concatenate } from '../src/layers/concatenate.js';
import { Conv2D } from '../src/layers/conv2d.js';
import { DepthwiseConv2D } from '../src/layers/depthwiseConv2D.js';
import { GlobalAveragePooling2D } from '../src/layers/globalPooling2d.js';
import { ReLU } from '../src/layers/relu.js';
import { SeparableConv2D } from '../src/layers/separableConv2D.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import { Flatten } from '../src/layers/flatten.js';
import type { BaseModel } from '../src/models/baseModel.js';
import { Input, Model } from '../src/models/functional.js';
import { Sequential } from '../src/models/sequential.js';
import {
  Adadelta,
  Adagrad,
  Adam,
  Adamax,
  AdamW,
  CosineDecay,
  CosineDecayRestarts,
  ExponentialDecay,
  Ftrl,
  InverseTimeDecay,
  Lion,
  Nadam,
  type Optimizer,
  PiecewiseConstantDecay,
  PolynomialDecay,
  RMSprop,
  SGD,
} from '../src/optimizers/index.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const KERAS_ENV = process.env.KERAS_ENV ?? '/work/keras-env';
const PYTHON = process.env.KERAS_PYTHON ?? '/usr/bin/python3';

/** `false` when Keras 3 imports from the build, else why the test is skipped (or throws when KERAS_ENV was set). */
function kerasAvailability(): string | false {
  const envScript = join(KERAS_ENV, 'env.sh');
  let reason: string | null = null;
  if (!existsSync(envScript)) reason = `no Keras build at ${KERAS_ENV} (no env.sh)`;
  else if (!existsSync(PYTHON)) reason = `no Python at ${PYTHON}`;
  else {
    const probe = runPython(['-c', 'import keras; print(keras.__version__)'], 120_000);
    const version = probe.stdout.trim();
    if (probe.status !== 0 || !/^3\./.test(version))
      reason = `Keras 3 does not import from ${KERAS_ENV}: ${probe.stderr.trim().split('\n').pop() ?? ''}`;
    else process.stdout.write(`# real Keras ${version} from ${KERAS_ENV}\n`);
  }
  if (reason === null) return false;
  if (process.env.KERAS_ENV !== undefined) throw new Error(`KERAS_ENV is set but unusable: ${reason}`);
  process.stdout.write(
    `# skipped: ${reason}; set KERAS_ENV to a build (see /work/shared/tools/keras3/README.md)\n`,
  );
  return reason;
}

function runPython(
  args: string[],
  timeoutMs: number,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-c', '. "$KERAS_ENV/env.sh" && exec "$PYTHON" "$@"', 'keras', ...args], {
    env: { ...process.env, KERAS_ENV, PYTHON },
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 2 ** 20,
  });
  return {
    status: result.status,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? String(result.error ?? ''),
  };
}

const skip = kerasAvailability();
const folder = mkdtempSync(join(tmpdir(), 'warmstart-keras-python-'));

// ---- The models and optimizers warmstart writes.

const random = new RandomGenerator(77);
const normals = (count: number): Float32Array => Float32Array.from({ length: count }, () => random.normal());
const labels = (count: number, classes: number): Float32Array =>
  Float32Array.from({ length: count }, () => random.integer(classes));

/** Sequential, no randomness in training: for the optimizer cases (Keras's training step must equal ours). */
function sequentialForTraining(): Sequential {
  return new Sequential(
    [
      new Flatten({ inputShape: [2, 3] }),
      new Dense({ units: 7, activation: 'selu', kernelInitializer: 'lecun_normal' }),
      new BatchNormalization({ momentum: 0.9 }),
      new Activation({ activation: 'relu' }),
      new Dense({ units: 3, activation: 'softmax' }),
    ],
    { name: 'trained' },
  );
}

/** Every layer warmstart has, in a Sequential (Dropout and AlphaDropout: predictions only). */
function sequentialAllLayers(): Sequential {
  return new Sequential(
    [
      new Flatten({ inputShape: [2, 3] }),
      new Dense({ units: 8, activation: 'selu', kernelInitializer: 'lecun_normal' }),
      new AlphaDropout({ rate: 0.1 }),
      new Dense({ units: 8, activation: 'elu' }),
      new Dropout({ rate: 0.25, seed: 3 }),
      new BatchNormalization({ momentum: 0, epsilon: 1 }),
      new Activation({ activation: 'tanh' }),
      new Dense({ units: 3, activation: 'softmax' }),
    ],
    { name: 'all_layers' },
  );
}

/** A functional model with Add and Concatenate (wide and deep). */
function functionalModel(): Model {
  const input = Input({ shape: [6], name: 'features' });
  const deep = new Dense({ units: 5, activation: 'tanh', kernelInitializer: 'glorot_normal' }).apply(input);
  const normalized = new BatchNormalization().apply(deep);
  const side = new Dense({ units: 5, activation: 'relu' }).apply(input);
  const added = new Add().apply([normalized, side]);
  const dropped = new Dropout({ rate: 0.3 }).apply(added);
  const merged = new Concatenate().apply([input, dropped]);
  const logits = new Dense({ units: 3 }).apply(merged);
  return new Model({
    inputs: input,
    outputs: new Activation({ activation: 'softmax' }).apply(logits),
    name: 'wide_deep',
  });
}

/** Every initializer warmstart has, one per layer (with integer-valued float arguments). */
function initializersModel(): Sequential {
  const initializers: Array<[InitializerLike, InitializerLike]> = [
    ['glorot_uniform', 'zeros'],
    ['glorot_normal', 'ones'],
    ['lecun_normal', { class_name: 'Constant', config: { value: 0 } }],
    ['lecun_uniform', { class_name: 'Constant', config: { value: 1 } }],
    ['he_normal', 'zeros'],
    ['he_uniform', 'zeros'],
    [
      {
        class_name: 'VarianceScaling',
        config: { scale: 1, mode: 'fan_out', distribution: 'untruncated_normal', seed: 7 },
      },
      'zeros',
    ],
    [
      { class_name: 'GlorotUniform', config: { seed: 42 } },
      { class_name: 'Constant', config: { value: 0.25 } },
    ],
  ];
  return new Sequential(
    initializers.map(([kernelInitializer, biasInitializer], i) =>
      i === 0
        ? new Dense({ units: 4, activation: 'relu', inputShape: [6], kernelInitializer, biasInitializer })
        : new Dense({ units: 4, activation: 'relu', kernelInitializer, biasInitializer }),
    ),
    { name: 'initializers' },
  );
}

/** Each optimizer, schedule and option, as one training case. */
const OPTIMIZERS: Array<[string, () => Optimizer]> = [
  ['SGD (momentum 0, the notebook)', () => new SGD({ learningRate: 0.05 })],
  ['SGD momentum nesterov', () => new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true })],
  ['RMSprop', () => new RMSprop({ learningRate: 0.01 })],
  ['RMSprop centered momentum', () => new RMSprop({ learningRate: 0.01, momentum: 0.5, centered: true })],
  ['Adam', () => new Adam({ learningRate: 0.01 })],
  ['Adam amsgrad', () => new Adam({ learningRate: 0.01, amsgrad: true })],
  ['AdamW', () => new AdamW({ learningRate: 0.01, weightDecay: 0.05 })],
  ['Adadelta (learning rate 1)', () => new Adadelta({ learningRate: 1, rho: 0.95 })],
  ['Adagrad', () => new Adagrad({ learningRate: 0.1 })],
  ['Adamax', () => new Adamax({ learningRate: 0.01 })],
  ['Nadam', () => new Nadam({ learningRate: 0.01 })],
  ['Lion', () => new Lion({ learningRate: 0.001 })],
  [
    'Ftrl',
    () =>
      new Ftrl({
        learningRate: 0.1,
        l1RegularizationStrength: 0.01,
        l2RegularizationStrength: 0.01,
        beta: 0.5,
      }),
  ],
  [
    'SGD ExponentialDecay',
    () =>
      new SGD({
        learningRate: new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.5 }),
      }),
  ],
  [
    'Adam PiecewiseConstantDecay',
    () =>
      new Adam({
        learningRate: new PiecewiseConstantDecay({ boundaries: [2, 4], values: [0.01, 0.005, 0.001] }),
      }),
  ],
  [
    'SGD PolynomialDecay cycle',
    () =>
      new SGD({
        learningRate: new PolynomialDecay({
          initialLearningRate: 0.1,
          decaySteps: 2,
          endLearningRate: 0,
          power: 2,
          cycle: true,
        }),
      }),
  ],
  [
    'RMSprop InverseTimeDecay',
    () =>
      new RMSprop({
        learningRate: new InverseTimeDecay({ initialLearningRate: 0.01, decaySteps: 1, decayRate: 1 }),
      }),
  ],
  [
    'Adam CosineDecay warmup',
    () =>
      new Adam({
        learningRate: new CosineDecay({
          initialLearningRate: 0,
          decaySteps: 10,
          alpha: 0.1,
          warmupTarget: 0.01,
          warmupSteps: 2,
        }),
      }),
  ],
  [
    'SGD CosineDecayRestarts',
    () =>
      new SGD({
        learningRate: new CosineDecayRestarts({
          initialLearningRate: 0.1,
          firstDecaySteps: 2,
          tMul: 2,
          mMul: 1,
          alpha: 0,
        }),
        momentum: 0.5,
      }),
  ],
  ['SGD clipnorm weight decay', () => new SGD({ learningRate: 0.1, clipnorm: 1, weightDecay: 0.01 })],
  ['Adam clipvalue', () => new Adam({ learningRate: 0.01, clipvalue: 0.5 })],
  ['Adam global clipnorm', () => new Adam({ learningRate: 0.01, globalClipnorm: 1 })],
  ['Adam EMA', () => new Adam({ learningRate: 0.01, useEma: true, emaMomentum: 0.9 })],
  [
    'SGD gradient accumulation',
    () => new SGD({ learningRate: 0.1, momentum: 0.9, gradientAccumulationSteps: 2 }),
  ],
];

interface Case {
  id: string;
  path: string;
  probe: number[];
  probe_shape: number[];
  step: { x: number[]; x_shape: number[]; y: number[] } | null;
}

/** What warmstart expects Keras to see in a case's file. */
interface Expected {
  model: BaseModel;
  predictions: Float32Array;
  optimizer: string | null;
  /** The optimizer's config as warmstart saves it, and its step count. */
  optimizerConfig: Record<string, unknown> | null;
  iterations: number | null;
  variables: Array<{ name: string; values: number[] }> | null;
  weightsAfterStep: Map<string, Float32Array> | null;
}

interface KerasResult {
  id: string;
  error?: string;
  step_error?: string;
  traceback?: string;
  model_class?: string;
  optimizer?: {
    class_name: string;
    config: Record<string, unknown>;
    iterations: number;
    variables: Array<{ name: string; path: string; shape: number[]; values: number[] }>;
  };
  predictions?: number[];
  weights?: Array<{ path: string; values: number[] }>;
  weights_after_step?: Array<{ path: string; values: number[] }>;
}

const cases: Case[] = [];
const expected = new Map<string, Expected>();

/**
 * A model's weights by the path Keras 3.11 gives them: Keras prefixes the layers a Sequential builds with the
 * Sequential's name (`trained/dense/kernel`, `outer/features/s_conv/kernel` for a nested one).
 */
function byKerasPath(model: BaseModel, kerasPaths: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const variable of model.weights) {
    const matches = kerasPaths.filter((path) => path === variable.path || path.endsWith(`/${variable.path}`));
    map.set(variable.path, matches.length === 1 ? matches[0] : variable.path);
  }
  return map;
}

async function addModel(
  id: string,
  model: BaseModel,
  options: { optimizer: Optimizer | null; trainSteps: number; checkStep: boolean },
): Promise<void> {
  const inputShape = model.inputShape!;
  const width = inputShape.reduce((a, b) => a * b, 1);
  if (options.optimizer !== null) {
    model.compile({
      optimizer: options.optimizer,
      loss: 'sparse_categorical_crossentropy',
      metrics: ['accuracy'],
    });
    if (options.trainSteps > 0) {
      const x = new Tensor(normals(8 * options.trainSteps * width), [8 * options.trainSteps, ...inputShape]);
      const y = new Tensor(labels(8 * options.trainSteps, 3), [8 * options.trainSteps]);
      await model.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    }
  }
  const probe = new Tensor(normals(5 * width), [5, ...inputShape]);
  const predictions = Float32Array.from(model.predict(probe).data);
  const variables =
    options.optimizer === null
      ? null
      : optimizerVariablesToSave(model).map((variable) => ({
          name: variable.name,
          values: Array.from(variable.data as ArrayLike<number | bigint>, Number),
        }));
  const optimizerConfig =
    options.optimizer === null
      ? null
      : (JSON.parse(JSON.stringify(options.optimizer.getConfig())) as Record<string, unknown>);
  // Keras's `iterations` counts applied steps (calls / gradientAccumulationSteps), as warmstart's does.
  const savedIterations = options.optimizer?.iterations ?? null;
  const files: string[] = [];
  for (const extension of ['.keras', '.h5']) {
    const path = join(folder, `${id.replace(/[^A-Za-z0-9]+/g, '_')}${extension}`);
    await saveModel(model, path);
    files.push(path);
  }
  let step: Case['step'] = null;
  let weightsAfterStep: Map<string, Float32Array> | null = null;
  if (options.checkStep) {
    const x = new Tensor(normals(8 * width), [8, ...inputShape]);
    const y = new Tensor(labels(8, 3), [8]);
    step = { x: Array.from(x.data), x_shape: [...x.shape], y: Array.from(y.data) };
    await model.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    weightsAfterStep = new Map(
      model.weights.map((variable) => [variable.path, Float32Array.from(variable.value)]),
    );
  }
  for (const path of files) {
    const format = path.endsWith('.keras') ? 'keras' : 'h5';
    const caseId = `${id} (.${format})`;
    // Keras 3.11's .h5 loader restores only the step count and learning rate: slots and a further step are
    // checked from .keras files only.
    cases.push({
      id: caseId,
      path,
      probe: Array.from(probe.data),
      probe_shape: [...probe.shape],
      step: format === 'keras' ? step : null,
    });
    expected.set(caseId, {
      model,
      predictions,
      optimizer: options.optimizer?.className ?? null,
      optimizerConfig: optimizerConfig,
      iterations: savedIterations,
      variables: format === 'keras' ? variables : null,
      weightsAfterStep: format === 'keras' ? weightsAfterStep : null,
    });
  }
}

function worstDifference(actual: ArrayLike<number>, wanted: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < wanted.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - wanted[i]) / Math.max(1, Math.abs(wanted[i])));
  return actual.length === wanted.length ? worst : Number.POSITIVE_INFINITY;
}

test(
  'real Keras 3 loads every .h5 and .keras warmstart writes, predicts the same, and continues training from .keras as warmstart does',
  { skip, timeout: 600_000 },
  async () => {
    setRandomSeed(123);
    await addModel('Sequential, every layer', sequentialAllLayers(), {
      optimizer: new Adam(),
      trainSteps: 2,
      checkStep: false,
    });
    await addModel('functional, Add and Concatenate', functionalModel(), {
      optimizer: new SGD({ learningRate: 1, momentum: 0 }),
      trainSteps: 2,
      checkStep: false,
    });
    await addModel('every initializer, uncompiled', initializersModel(), {
      optimizer: null,
      trainSteps: 0,
      checkStep: false,
    });
    for (const [name, optimizer] of OPTIMIZERS) {
      const steps = name.includes('accumulation') ? 4 : 3; // End at an accumulation boundary.
      await addModel(name, sequentialForTraining(), {
        optimizer: optimizer(),
        trainSteps: steps,
        checkStep: true,
      });
    }
    await addModel('functional, Adam', functionalWithoutDropout(), {
      optimizer: new Adam({ learningRate: 0.01 }),
      trainSteps: 3,
      checkStep: true,
    });
    await addModel('nested: a frozen functional CNN base in a Sequential, SGD momentum', nestedFrozen(), {
      optimizer: new SGD({ learningRate: 0.05, momentum: 0.9 }),
      trainSteps: 2,
      checkStep: true,
    });
    await addModel('nested: a Sequential called in a functional model, Adam', nestedFunctional(), {
      optimizer: new Adam({ learningRate: 0.01 }),
      trainSteps: 2,
      checkStep: true,
    });
    // Keras's own CNN files, read and written back by warmstart: Keras must read the copies as it wrote them.
    for (const file of ['mobilenetv2.keras', 'mobilenetv2.h5', 'small_cnn.h5', 'small_cnn.keras']) {
      const path = join(root, 'test/fixtures/keras3-cnn', file);
      if (!existsSync(path))
        throw new Error(`${path} is missing (test/fixtures-gen/keras_cnn_fixtures.py makes it)`);
      const model = await loadModel(path, { onWarning: () => {} });
      await addModel(`Keras's ${file}, rewritten by warmstart`, model, {
        optimizer: null,
        trainSteps: 0,
        checkStep: false,
      });
    }

    const casesPath = join(folder, 'cases.json');
    const resultsPath = join(folder, 'results.json');
    writeFileSync(casesPath, JSON.stringify(cases));
    const run = runPython([join(root, 'test/python/keras_check.py'), casesPath, resultsPath], 540_000);
    assert.equal(run.status, 0, `keras_check.py failed: ${run.stderr.slice(-3000)}`);
    const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as KerasResult[];
    assert.equal(results.length, cases.length);

    const failures: string[] = [];
    const verified: string[] = [];
    for (const result of results) {
      const want = expected.get(result.id)!;
      if (result.error !== undefined) {
        failures.push(`${result.id}: ${result.error}`);
        continue;
      }
      const checks: string[] = ['loads'];
      const predictionError = worstDifference(result.predictions!, want.predictions);
      if (!(predictionError <= 1e-5)) failures.push(`${result.id}: predictions differ by ${predictionError}`);
      else checks.push('predicts within 1e-5');
      const expectedClass = want.model instanceof Model ? 'Functional' : 'Sequential';
      if (result.model_class !== expectedClass)
        failures.push(`${result.id}: Keras made a ${result.model_class}`);
      if (want.optimizer !== null) {
        if (result.optimizer?.class_name !== want.optimizer)
          failures.push(
            `${result.id}: Keras compiled ${result.optimizer?.class_name}, not ${want.optimizer}`,
          );
        else checks.push(`compiles ${want.optimizer}`);
        const differences = configDifferences(want.optimizerConfig!, result.optimizer?.config ?? {});
        if (differences.length > 0)
          failures.push(`${result.id}: Keras's optimizer config differs: ${differences.join('; ')}`);
        else checks.push('same hyperparameters');
        if (result.optimizer?.iterations !== want.iterations)
          failures.push(
            `${result.id}: Keras restored ${result.optimizer?.iterations} iterations, not ${want.iterations}`,
          );
        else checks.push(`${want.iterations} iterations`);
      }
      if (want.variables !== null) {
        const theirs = result.optimizer?.variables ?? [];
        if (theirs.length !== want.variables.length) {
          failures.push(
            `${result.id}: Keras has ${theirs.length} optimizer variables, warmstart saved ${want.variables.length}`,
          );
        } else {
          const differing = want.variables.filter(
            (ours, i) => worstDifference(theirs[i].values, ours.values.map(Math.fround)) !== 0,
          );
          if (differing.length > 0)
            failures.push(
              `${result.id}: optimizer variables restored differently: ${differing.map((v) => v.name).join(', ')}`,
            );
          else checks.push(`optimizer state equal (${theirs.length} variables)`);
        }
      }
      if (want.weightsAfterStep !== null) {
        if (result.step_error !== undefined) failures.push(`${result.id}: ${result.step_error}`);
        else {
          const paths = byKerasPath(
            want.model,
            result.weights_after_step!.map((w) => w.path),
          );
          const theirs = new Map(result.weights_after_step!.map((w) => [w.path, w.values]));
          let worst = 0;
          for (const [path, values] of want.weightsAfterStep) {
            const kerasValues = theirs.get(paths.get(path)!);
            worst =
              kerasValues === undefined
                ? Number.POSITIVE_INFINITY
                : Math.max(worst, worstDifference(kerasValues, values));
          }
          if (!(worst <= 1e-5))
            failures.push(`${result.id}: after one more step, weights differ from warmstart's by ${worst}`);
          else checks.push(`next step within 1e-5 (worst ${worst.toExponential(1)})`);
        }
      }
      verified.push(`${result.id}: ${checks.join(', ')}`);
    }
    process.stdout.write(
      `# verified with real Keras:\n${verified.map((line) => `#   ${line}`).join('\n')}\n`,
    );
    assert.deepEqual(failures, []);
  },
);

/**
 * Where Keras's view of an optimizer config differs from warmstart's: every argument warmstart saves must come
 * back with the same value (numbers as float32, as both keep them), schedules included.
 */
function configDifferences(
  ours: Record<string, unknown>,
  theirs: Record<string, unknown>,
  prefix = '',
): string[] {
  const differences: string[] = [];
  for (const [key, value] of Object.entries(ours)) {
    const other = theirs[key];
    const where = `${prefix}${key}`;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      if (typeof other !== 'object' || other === null) differences.push(`${where}: ${JSON.stringify(other)}`);
      else
        differences.push(
          ...configDifferences(
            value as Record<string, unknown>,
            other as Record<string, unknown>,
            `${where}.`,
          ),
        );
    } else if (key === 'name' || key === 'module' || key === 'registered_name') {
      continue; // Keras may rename (its default names differ in case), and `module` paths are Keras's own.
    } else if (typeof value === 'number' && typeof other === 'number') {
      if (Math.fround(value) !== Math.fround(other)) differences.push(`${where}: ${other} vs ${value}`);
    } else if (JSON.stringify(value) !== JSON.stringify(other)) {
      differences.push(`${where}: ${JSON.stringify(other)} vs ${JSON.stringify(value)}`);
    }
  }
  return differences;
}

/** The functional model without Dropout, for a training step Keras can reproduce. */
function functionalWithoutDropout(): Model {
  const input = Input({ shape: [6] });
  const deep = new Dense({ units: 5, activation: 'tanh' }).apply(input);
  const side = new Dense({ units: 5, activation: 'relu' }).apply(input);
  const merged = new Concatenate().apply([
    input,
    new Add().apply([new BatchNormalization().apply(deep), side]),
  ]);
  return new Model({
    inputs: input,
    outputs: new Dense({ units: 3, activation: 'softmax' }).apply(merged),
    name: 'functional_adam',
  });
}

/** A residual CNN base (Conv2D, BatchNormalization, ReLU6, DepthwiseConv2D, Add), frozen, in a Sequential. */
function nestedFrozen(): Sequential {
  const input = Input({ shape: [6, 6, 2] });
  const conv = new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', name: 'nf_conv' }).apply(input);
  const relu = new ReLU({ maxValue: 6, name: 'nf_relu' }).apply(
    new BatchNormalization({ name: 'nf_bn' }).apply(conv),
  );
  const depthwise = new DepthwiseConv2D({ kernelSize: 3, padding: 'same', name: 'nf_dw' }).apply(relu);
  const base = new Model({
    inputs: input,
    outputs: new Add({ name: 'nf_add' }).apply([relu, depthwise]),
    name: 'nf_base',
  });
  base.trainable = false;
  return new Sequential(
    [base, new GlobalAveragePooling2D(), new Dense({ units: 3, activation: 'softmax', name: 'nf_head' })],
    { name: 'nested_frozen_ws' },
  );
}

/** A Sequential (strided Conv2D, BatchNormalization, ReLU, SeparableConv2D) called on a functional model's input. */
function nestedFunctional(): Model {
  const features = new Sequential(
    [
      new Conv2D({
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        inputShape: [6, 6, 2],
        name: 'ns_conv',
      }),
      new BatchNormalization({ name: 'ns_bn' }),
      new ReLU({ name: 'ns_relu' }),
      new SeparableConv2D({ filters: 5, kernelSize: 3, padding: 'same', activation: 'relu', name: 'ns_sep' }),
    ],
    { name: 'ns_features' },
  );
  const input = Input({ shape: [6, 6, 2] });
  const pooled = new GlobalAveragePooling2D().apply(features.apply(input));
  return new Model({
    inputs: input,
    outputs: new Dense({ units: 3, activation: 'softmax', name: 'ns_head' }).apply(pooled),
    name: 'nested_functional_ws',
  });
}

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
