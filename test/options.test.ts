/**
 * Every options object the public API takes rejects a key it does not know (Keras 3: "Argument(s) not
 * recognized"), naming the key and the option most likely meant: `new SGD({ lr: 0.1 })` must not train at 0.01.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as warmstart from '../src/index.js';
import {
  Accuracy,
  Activation,
  Adadelta,
  Adagrad,
  Adam,
  Adamax,
  AdamW,
  Add,
  AlphaDropout,
  BackupAndRestore,
  AUC,
  AveragePooling2D,
  BatchNormalization,
  BinaryAccuracy,
  BinaryCrossentropy,
  CategoricalAccuracy,
  CategoricalCrossentropy,
  Concatenate,
  Constant,
  Conv2D,
  CosineDecay,
  CosineDecayRestarts,
  createWasmKernels,
  Cropping2D,
  CSVLogger,
  Dense,
  DepthwiseConv2D,
  deserializeOptimizer,
  downloadToFile,
  Dropout,
  EarlyStopping,
  ExponentialDecay,
  FASHION_MNIST,
  Flatten,
  Ftrl,
  GlobalAveragePooling2D,
  GlobalMaxPooling2D,
  GlorotNormal,
  GlorotUniform,
  HeNormal,
  HeUniform,
  Input,
  InputLayer,
  inspectModelFile,
  InverseTimeDecay,
  LeakyReLU,
  LearningRateScheduler,
  LecunNormal,
  LecunUniform,
  Lion,
  loadFashionMnist,
  loadIdxDataset,
  loadMnist,
  loadModel,
  locateIdxDataset,
  MaxPooling2D,
  MeanAbsoluteErrorMetric,
  MeanSquaredError,
  MeanSquaredErrorMetric,
  Model,
  ModelCheckpoint,
  Nadam,
  Ones,
  PiecewiseConstantDecay,
  PolynomialDecay,
  Precision,
  ProgbarLogger,
  readModelFile,
  Recall,
  ReduceLROnPlateau,
  ReLU,
  Rescaling,
  Reshape,
  RMSprop,
  saveModel,
  SeparableConv2D,
  Sequential,
  SGD,
  Softmax,
  SparseCategoricalAccuracy,
  SparseCategoricalCrossentropy,
  SparseTopKCategoricalAccuracy,
  splitTaskAB,
  TerminateOnNaN,
  tensor,
  TopKCategoricalAccuracy,
  UnknownOptionError,
  VarianceScaling,
  ZeroPadding2D,
  Zeros,
} from '../src/index.js';
import { generateDataset } from './fixtures-gen/datasetFixtures.js';

const quiet = { verbose: 0 } as const;
const x = tensor([
  [0, 1],
  [1, 0],
  [1, 1],
  [0, 0],
]);
const y = tensor([1, 0, 1, 0]);

function compiledModel(): Sequential {
  const model = new Sequential([new Dense({ units: 1, activation: 'sigmoid', inputShape: [2] })]);
  model.compile({ optimizer: 'sgd', loss: 'binary_crossentropy' });
  return model;
}

/**
 * One row per options-taking constructor or function of the public API: a call whose options are valid but
 * for one misspelt key, the key, and the option the error must suggest (null: no suggestion). Each row's
 * call succeeded (or failed for another reason) before unknown keys were rejected.
 */
type Row = [owner: string, call: () => unknown, key: string, suggestion: string | null, named?: string];

const ROWS: Row[] = [
  // Layers.
  ['Dense', () => new Dense({ units: 3, activaton: 'relu' } as never), 'activaton', 'activation'],
  ['Dropout', () => new Dropout({ rate: 0.5, sed: 1 } as never), 'sed', 'seed'],
  [
    'AlphaDropout',
    () => new AlphaDropout({ rate: 0.1, noise_shape: null } as never),
    'noise_shape',
    'noiseShape',
  ],
  [
    'BatchNormalization',
    () => new BatchNormalization({ momentum: 0.9, moving_variance_initializer: 'ones' } as never),
    'moving_variance_initializer',
    'movingVarianceInitializer',
  ],
  ['Flatten', () => new Flatten({ input_shape: [28, 28] } as never), 'input_shape', 'inputShape'],
  [
    'Activation',
    () => new Activation({ activation: 'relu', trainble: false } as never),
    'trainble',
    'trainable',
  ],
  ['Add', () => new Add({ nme: 'sum' } as never), 'nme', 'name'],
  ['Concatenate', () => new Concatenate({ axes: -1 } as never), 'axes', 'axis'],
  ['Conv2D', () => new Conv2D({ filters: 4, kernel_size: 3 } as never), 'kernel_size', 'kernelSize'],
  [
    'DepthwiseConv2D',
    () => new DepthwiseConv2D({ kernelSize: 3, depth_multiplier: 2 } as never),
    'depth_multiplier',
    'depthMultiplier',
  ],
  [
    'SeparableConv2D',
    () => new SeparableConv2D({ filters: 4, kernelSize: 3, pointwise_initializer: 'zeros' } as never),
    'pointwise_initializer',
    'pointwiseInitializer',
  ],
  ['MaxPooling2D', () => new MaxPooling2D({ pool_size: 2 } as never), 'pool_size', 'poolSize'],
  ['AveragePooling2D', () => new AveragePooling2D({ poolSize: 2, stride: 2 } as never), 'stride', 'strides'],
  [
    'GlobalAveragePooling2D',
    () => new GlobalAveragePooling2D({ keep_dims: true } as never),
    'keep_dims',
    'keepdims',
  ],
  [
    'GlobalMaxPooling2D',
    () => new GlobalMaxPooling2D({ data_format: 'channels_last' } as never),
    'data_format',
    'dataFormat',
  ],
  ['ZeroPadding2D', () => new ZeroPadding2D({ paddings: 1 } as never), 'paddings', 'padding'],
  ['Cropping2D', () => new Cropping2D({ croping: 1 } as never), 'croping', 'cropping'],
  ['Reshape', () => new Reshape({ target_shape: [4] } as never), 'target_shape', 'targetShape'],
  ['Rescaling', () => new Rescaling({ scale: 1 / 255, ofset: 0 } as never), 'ofset', 'offset'],
  ['ReLU', () => new ReLU({ max_value: 6 } as never), 'max_value', 'maxValue'],
  ['LeakyReLU', () => new LeakyReLU({ alpha: 0.2 } as never), 'alpha', 'negativeSlope'],
  ['Softmax', () => new Softmax({ axis: -1, nam: 'probabilities' } as never), 'nam', 'name'],
  [
    'InputLayer',
    () => new InputLayer({ shape: [3], batch_shape: [null, 3] } as never),
    'batch_shape',
    'shape',
  ],
  // Optimizers and schedules.
  ['SGD', () => new SGD({ lr: 0.1 } as never), 'lr', 'learningRate'],
  ['Adam', () => new Adam({ beta_1: 0.9 } as never), 'beta_1', 'beta1'],
  ['AdamW', () => new AdamW({ weight_decay: 0.01 } as never), 'weight_decay', 'weightDecay'],
  ['RMSprop', () => new RMSprop({ rho: 0.9, momentun: 0.1 } as never), 'momentun', 'momentum'],
  ['Adadelta', () => new Adadelta({ lr: 1, rho: 0.9 } as never), 'lr', 'learningRate'],
  [
    'Adagrad',
    () => new Adagrad({ initial_accumulator_value: 0.1 } as never),
    'initial_accumulator_value',
    'initialAccumulatorValue',
  ],
  ['Adamax', () => new Adamax({ beta_2: 0.99 } as never), 'beta_2', 'beta2'],
  ['Nadam', () => new Nadam({ decay: 0.004 } as never), 'decay', 'learningRate'],
  ['Lion', () => new Lion({ clip_norm: 1 } as never), 'clip_norm', 'clipnorm'],
  [
    'Ftrl',
    () => new Ftrl({ l1_regularization_strength: 0.1 } as never),
    'l1_regularization_strength',
    'l1RegularizationStrength',
  ],
  [
    'ExponentialDecay',
    () =>
      new ExponentialDecay({
        initialLearningRate: 0.1,
        decaySteps: 10,
        decayRate: 0.9,
        stair_case: true,
      } as never),
    'stair_case',
    'staircase',
  ],
  [
    'InverseTimeDecay',
    () => new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decay_rate: 0.5 } as never),
    'decay_rate',
    'decayRate',
  ],
  [
    'PiecewiseConstantDecay',
    () => new PiecewiseConstantDecay({ boundaries: [1], values: [1, 0.5], nme: 'steps' } as never),
    'nme',
    'name',
  ],
  [
    'PolynomialDecay',
    () => new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10, end_learning_rate: 0 } as never),
    'end_learning_rate',
    'endLearningRate',
  ],
  [
    'CosineDecay',
    () => new CosineDecay({ initialLearningRate: 0.1, decaySteps: 10, warmup_steps: 5 } as never),
    'warmup_steps',
    'warmupSteps',
  ],
  [
    'CosineDecayRestarts',
    () => new CosineDecayRestarts({ initialLearningRate: 0.1, first_decay_steps: 10 } as never),
    'first_decay_steps',
    'firstDecaySteps',
  ],
  [
    'Optimizer.excludeFromWeightDecay',
    () => new AdamW().excludeFromWeightDecay({ var_names: ['bias'] } as never),
    'var_names',
    'names',
    'AdamW.excludeFromWeightDecay',
  ],
  // Initializers.
  ['VarianceScaling', () => new VarianceScaling({ scale: 2, mod: 'fan_out' } as never), 'mod', 'mode'],
  ['GlorotUniform', () => new GlorotUniform({ sed: 1 } as never), 'sed', 'seed'],
  ['GlorotNormal', () => new GlorotNormal({ seeds: 1 } as never), 'seeds', 'seed'],
  ['HeNormal', () => new HeNormal({ Seed: 1 } as never), 'Seed', 'seed'],
  ['HeUniform', () => new HeUniform({ sede: 1 } as never), 'sede', 'seed'],
  ['LecunNormal', () => new LecunNormal({ scale: 2 } as never), 'scale', null],
  ['LecunUniform', () => new LecunUniform({ seeed: 1 } as never), 'seeed', 'seed'],
  ['Constant', () => new Constant({ valeu: 1 } as never), 'valeu', 'value'],
  ['Zeros', () => new Zeros({ value: 3 } as never), 'value', null],
  ['Ones', () => new Ones({ value: 3 } as never), 'value', null],
  // Losses (Keras's from_logits and label_smoothing are not supported: refused, not ignored).
  ['BinaryCrossentropy', () => new BinaryCrossentropy({ fromLogits: true } as never), 'fromLogits', null],
  [
    'CategoricalCrossentropy',
    () => new CategoricalCrossentropy({ label_smoothing: 0.1 } as never),
    'label_smoothing',
    null,
  ],
  [
    'SparseCategoricalCrossentropy',
    () => new SparseCategoricalCrossentropy({ from_logits: true } as never),
    'from_logits',
    null,
  ],
  ['MeanSquaredError', () => new MeanSquaredError({ reduction: 'sum' } as never), 'reduction', null],
  // Metrics.
  ['Accuracy', () => new Accuracy({ nme: 'acc' } as never), 'nme', 'name'],
  ['BinaryAccuracy', () => new BinaryAccuracy({ threshold: 0.7 } as never), 'threshold', null],
  ['CategoricalAccuracy', () => new CategoricalAccuracy({ Name: 'acc' } as never), 'Name', 'name'],
  ['SparseCategoricalAccuracy', () => new SparseCategoricalAccuracy({ nam: 'acc' } as never), 'nam', 'name'],
  ['MeanAbsoluteErrorMetric', () => new MeanAbsoluteErrorMetric({ nmae: 'mae' } as never), 'nmae', 'name'],
  ['MeanSquaredErrorMetric', () => new MeanSquaredErrorMetric({ naem: 'mse' } as never), 'naem', 'name'],
  ['Precision', () => new Precision({ thresholds: 0.5 } as never), 'thresholds', 'threshold'],
  ['Recall', () => new Recall({ top_k: 1 } as never), 'top_k', null],
  ['AUC', () => new AUC({ num_thresholds: 100 } as never), 'num_thresholds', 'numThresholds'],
  ['TopKCategoricalAccuracy', () => new TopKCategoricalAccuracy({ K: 3 } as never), 'K', 'k'],
  [
    'SparseTopKCategoricalAccuracy',
    () => new SparseTopKCategoricalAccuracy({ nme: 'top3' } as never),
    'nme',
    'name',
  ],
  // Callbacks.
  [
    'EarlyStopping',
    () => new EarlyStopping({ patience: 2, restore_best_weights: true } as never),
    'restore_best_weights',
    'restoreBestWeights',
  ],
  [
    'ModelCheckpoint',
    () => new ModelCheckpoint({ filepath: 'best.keras', save_best_only: true } as never),
    'save_best_only',
    'saveBestOnly',
  ],
  ['ReduceLROnPlateau', () => new ReduceLROnPlateau({ min_lr: 1e-5 } as never), 'min_lr', 'minLr'],
  [
    'LearningRateScheduler',
    () => new LearningRateScheduler((_epoch, rate) => rate, { verbos: 1 } as never),
    'verbos',
    'verbose',
  ],
  ['CSVLogger', () => new CSVLogger('log.csv', { seperator: ';' } as never), 'seperator', 'separator'],
  ['TerminateOnNaN', () => new TerminateOnNaN({ raise_error: true } as never), 'raise_error', 'raiseError'],
  [
    'BackupAndRestore',
    () => new BackupAndRestore({ backupDir: 'backup', save_freq: 5 } as never),
    'save_freq',
    'saveFreq',
  ],
  ['ProgbarLogger', () => new ProgbarLogger({ verbosity: 2 } as never), 'verbosity', 'verbose'],
  // Models.
  ['Sequential', () => new Sequential([], { nam: 'stack' } as never), 'nam', 'name'],
  ['Input', () => Input({ shape: [2], batch_shape: [null, 2] } as never), 'batch_shape', 'shape'],
  [
    'Model',
    () => {
      const input = Input({ shape: [2] });
      return new Model({ inputs: input, outputs: new Dense({ units: 1 }).apply(input), nmae: 'm' } as never);
    },
    'nmae',
    'name',
  ],
  [
    'compile',
    () => compiledModel().compile({ optimizer: 'sgd', loss: 'mse', metric: ['mae'] } as never),
    'metric',
    'metrics',
  ],
  ['fit', () => compiledModel().fit(x, y, { ...quiet, batch_size: 2 } as never), 'batch_size', 'batchSize'],
  [
    'evaluate',
    () => compiledModel().evaluate(x, y, { ...quiet, return_dict: true } as never),
    'return_dict',
    'returnDict',
  ],
  [
    'evaluateAsync',
    () => compiledModel().evaluateAsync(x, y, { ...quiet, batchsize: 2 } as never),
    'batchsize',
    'batchSize',
    'evaluate',
  ],
  ['predict', () => compiledModel().predict(x, { batch_size: 2 } as never), 'batch_size', 'batchSize'],
  [
    'predictAsync',
    () => compiledModel().predictAsync(x, { verbos: 0 } as never),
    'verbos',
    'verbose',
    'predict',
  ],
  // Files.
  [
    'save',
    () => compiledModel().save(join(scratch(), 'm.keras'), { include_optimizer: false }),
    'include_optimizer',
    'includeOptimizer',
  ],
  [
    'saveModel',
    () => saveModel(compiledModel(), join(scratch(), 'm.h5'), { overwrite: true, ovewrite: true } as never),
    'ovewrite',
    'overwrite',
    'save',
  ],
  [
    'loadModel',
    () => loadModel('/no/such/model.h5', { custom_objects: {} } as never),
    'custom_objects',
    'customObjects',
  ],
  [
    'readModelFile',
    () => readModelFile('/no/such/model.h5', { timeout: 1000 } as never),
    'timeout',
    'timeoutMs',
  ],
  [
    'inspectModelFile',
    () => inspectModelFile('/no/such/model.h5', { timeOutMs: 1000 } as never),
    'timeOutMs',
    'timeoutMs',
  ],
  // Kernels and datasets.
  ['createWasmKernels', () => createWasmKernels({ threads: 1, thread: 1 } as never), 'thread', 'threads'],
  [
    'loadFashionMnist',
    () => loadFashionMnist({ download: false, data_dir: '/no/such/folder' } as never),
    'data_dir',
    'dataDir',
  ],
  [
    'loadMnist',
    () => loadMnist({ download: false, cache_dir: '/no/such/folder' } as never),
    'cache_dir',
    'cacheDir',
  ],
  [
    'loadIdxDataset',
    () => loadIdxDataset(FASHION_MNIST, { download: false, mirror: [] } as never),
    'mirror',
    'mirrors',
  ],
  [
    'locateIdxDataset',
    () => locateIdxDataset(FASHION_MNIST, { download: false, datadir: '/no/such/folder' } as never),
    'datadir',
    'dataDir',
  ],
  [
    'splitTaskAB',
    () => splitTaskAB(generateDataset(5300, 20, 1), { validation_count: 10 } as never),
    'validation_count',
    'validationCount',
  ],
  [
    'downloadToFile',
    () =>
      downloadToFile('file.gz', join(scratch(), 'file.gz'), {
        mirrors: [],
        idleTimeoutMs: 1000,
        log: () => {},
        verify: () => 'nothing',
        on_progress: () => {},
      } as never),
    'on_progress',
    'onProgress',
  ],
  // Keras configs take the same check, in Keras's spelling.
  [
    'SGD (config)',
    () => deserializeOptimizer({ class_name: 'SGD', config: { learning_rate: 0.1, momentun: 0.9 } }),
    'momentun',
    'momentum',
  ],
  ['Adam (config)', () => Adam.fromConfig({ lr: 0.1 }), 'lr', 'learning_rate'],
  [
    'CosineDecay (config)',
    () => CosineDecay.fromConfig({ initial_learning_rate: 0.1, decay_steps: 10, warmupsteps: 1 }),
    'warmupsteps',
    'warmup_steps',
  ],
];

let scratchFolder: string | null = null;
function scratch(): string {
  scratchFolder ??= mkdtempSync(join(tmpdir(), 'warmstart-options-'));
  return scratchFolder;
}

/** Runs a row's call; a returned promise is awaited, so async functions are checked the same way. */
async function outcome(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return null;
  } catch (error) {
    return error;
  }
}

describe('an unknown option is an UnknownOptionError naming the key and the option meant', () => {
  for (const [owner, call, key, suggestion, named] of ROWS) {
    test(`${owner}: '${key}'`, async () => {
      const error = await outcome(call);
      assert.ok(error instanceof UnknownOptionError, `${owner} accepted '${key}' (got ${String(error)})`);
      assert.equal(error.key, key);
      assert.equal(error.suggestion, suggestion);
      assert.equal(error.owner, named ?? owner.replace(' (config)', ''));
      assert.ok(error.message.includes(`'${key}'`), error.message);
      if (suggestion !== null)
        assert.ok(error.message.includes(`did you mean '${suggestion}'?`), error.message);
    });
  }
  test('cleanup', () => {
    if (scratchFolder !== null) rmSync(scratchFolder, { recursive: true, force: true });
  });
});

test('every exported layer, optimizer, schedule, initializer, loss, metric and callback class has a row above', () => {
  const bases = [
    warmstart.Layer,
    warmstart.Optimizer,
    warmstart.LearningRateSchedule,
    warmstart.Initializer,
    warmstart.Loss,
    warmstart.Metric,
    warmstart.Callback,
  ] as const;
  // Abstract bases, and the callback fit adds itself (History takes no options).
  const exempt = new Set([
    'Layer',
    // Abstract since models became layers (its subclasses Sequential and Model have rows).
    'BaseModel',
    'Merge',
    'BaseConv2D',
    'ReluFamily',
    'BaseModel', // a model is a layer now; Sequential and Model have rows
    'Optimizer',
    'LearningRateSchedule',
    'Initializer',
    'Loss',
    'Metric',
    'Callback',
    'MonitorCallback',
    'History',
  ]);
  const owners = new Set(ROWS.map(([owner]) => owner));
  const missing: string[] = [];
  for (const [name, value] of Object.entries(warmstart)) {
    if (typeof value !== 'function' || exempt.has(name)) continue;
    const prototype = (value as { prototype?: unknown }).prototype;
    if (!bases.some((base) => prototype instanceof base)) continue;
    if (!owners.has(name)) missing.push(name);
  }
  assert.deepEqual(missing, [], 'classes whose options nothing here checks');
});

test('the suggestions for the common Keras spellings', async () => {
  const cases: Array<[() => unknown, string, string]> = [
    [() => new SGD({ lr: 0.1 } as never), 'lr', 'learningRate'],
    [() => new SGD({ learning_rate: 0.1 } as never), 'learning_rate', 'learningRate'],
    [() => new SGD({ use_nesterov: true } as never), 'use_nesterov', 'nesterov'],
    [() => new Adam({ beta_1: 0.9 } as never), 'beta_1', 'beta1'],
    [() => new Adam({ global_clipnorm: 1 } as never), 'global_clipnorm', 'globalClipnorm'],
    [() => new Adam({ use_ema: true } as never), 'use_ema', 'useEma'],
    [() => new Dense({ units: 3, input_shape: [4] } as never), 'input_shape', 'inputShape'],
    [() => new Dense({ units: 3, input_dim: 4 } as never), 'input_dim', 'inputShape'],
    [() => new Dense({ units: 3, batch_input_shape: [null, 4] } as never), 'batch_input_shape', 'inputShape'],
    [
      () => new Dense({ units: 3, kernel_initializer: 'he_normal' } as never),
      'kernel_initializer',
      'kernelInitializer',
    ],
    [
      () => new Dense({ units: 3, kernelInitialiser: 'he_normal' } as never),
      'kernelInitialiser',
      'kernelInitializer',
    ],
    [() => new Dense({ units: 3, use_bias: false } as never), 'use_bias', 'useBias'],
    [() => new Dense({ output_dim: 3 } as never), 'output_dim', 'units'],
    [() => new Dense({ unit: 3 } as never), 'unit', 'units'],
    [() => new Dense({ units: 3, init: 'zeros' } as never), 'init', 'kernelInitializer'],
    [() => new Dropout({ p: 0.5 } as never), 'p', 'rate'],
    [() => new Conv2D({ nb_filter: 8, kernelSize: 3 } as never), 'nb_filter', 'filters'],
    [() => new Conv2D({ filters: 8, kernelSize: 3, border_mode: 'same' } as never), 'border_mode', 'padding'],
    [() => new Conv2D({ filters: 8, kernelSize: 3, subsample: 2 } as never), 'subsample', 'strides'],
    [() => new ReduceLROnPlateau({ epsilon: 1e-4 } as never), 'epsilon', 'minDelta'],
    [() => new ModelCheckpoint({ filename: 'm.keras' } as never), 'filename', 'filepath'],
    [() => compiledModel().compile({ optimiser: 'sgd', loss: 'mse' } as never), 'optimiser', 'optimizer'],
    [() => compiledModel().fit(x, y, { ...quiet, nb_epoch: 2 } as never), 'nb_epoch', 'epochs'],
    [() => compiledModel().fit(x, y, { ...quiet, epoch: 2 } as never), 'epoch', 'epochs'],
    [() => compiledModel().fit(x, y, { ...quiet, shufle: false } as never), 'shufle', 'shuffle'],
    [
      () => compiledModel().fit(x, y, { ...quiet, validation_data: [x, y] } as never),
      'validation_data',
      'validationData',
    ],
    [
      () => compiledModel().fit(x, y, { ...quiet, validation_split: 0.5 } as never),
      'validation_split',
      'validationSplit',
    ],
    [
      () => compiledModel().fit(x, y, { ...quiet, initial_epoch: 1 } as never),
      'initial_epoch',
      'initialEpoch',
    ],
    [() => compiledModel().fit(x, y, { ...quiet, callback: [] } as never), 'callback', 'callbacks'],
  ];
  for (const [call, key, suggestion] of cases) {
    const error = await outcome(call);
    assert.ok(error instanceof UnknownOptionError, `${key} was accepted (got ${String(error)})`);
    assert.equal(error.suggestion, suggestion, key);
  }
});

test('the message reads as a fix: the key, the option meant, why, and what the owner takes', () => {
  assert.throws(
    () => new SGD({ lr: 0.1 } as never),
    (error: unknown) => {
      assert.ok(error instanceof UnknownOptionError);
      assert.equal(
        error.message,
        "SGD: unknown option 'lr' (did you mean 'learningRate'? 'lr' is Keras 2's name); SGD takes learningRate, " +
          'name, weightDecay, clipnorm, clipvalue, globalClipnorm, useEma, emaMomentum, emaOverwriteFrequency, ' +
          'gradientAccumulationSteps, lossScaleFactor, momentum, nesterov',
      );
      return true;
    },
  );
  assert.throws(
    () => new Adam({ learningRate: 0.001, beta_1: 0.9, rho: 0.9 } as never),
    (error: unknown) => {
      assert.ok(error instanceof UnknownOptionError);
      assert.deepEqual(error.unknownKeys, [
        { key: 'beta_1', suggestion: 'beta1', note: null },
        { key: 'rho', suggestion: null, note: null },
      ]);
      assert.match(
        error.message,
        /^Adam: unknown options 'beta_1' \(did you mean 'beta1'\?\), 'rho'; Adam takes /,
      );
      return true;
    },
  );
});

test('a key is unknown whatever its value, and options that are not an object are a TypeError', () => {
  assert.throws(() => new SGD({ lr: undefined } as never), UnknownOptionError);
  assert.throws(
    () => new SGD(0.1 as never),
    /SGD: options must be an object such as \{ learningRate: … \}, got 0\.1/,
  );
  assert.throws(() => new Dense([3] as never), /Dense: options must be an object .* got an array/);
  assert.throws(
    () => new Sequential({ name: 'm' } as never),
    /Sequential: the first argument is the list of layers/,
  );
  // Nothing given, or an empty object, is fine.
  assert.equal(new SGD().learningRate, Math.fround(0.01));
  assert.equal(new SGD({}).learningRate, Math.fround(0.01));
  assert.equal(new SGD({ learningRate: 0.1 }).learningRate, Math.fround(0.1));
});

test("a subclass's options compose with its base's: every layer takes name, trainable and inputShape", () => {
  const base = { name: undefined, trainable: true, inputShape: [4, 4, 2] };
  const layers = [
    new Dense({ ...base, units: 2 }),
    new Dropout({ ...base, rate: 0.1 }),
    new AlphaDropout({ ...base, rate: 0.1, noiseShape: null, seed: 3 }),
    new Conv2D({
      ...base,
      filters: 2,
      kernelSize: 3,
      strides: 1,
      padding: 'same',
      groups: 1,
      biasInitializer: 'zeros',
    }),
    new DepthwiseConv2D({ ...base, kernelSize: 3, depthMultiplier: 2, dilationRate: 1 }),
    new SeparableConv2D({ ...base, filters: 2, kernelSize: 3, depthMultiplier: 1, useBias: false }),
    new MaxPooling2D({ ...base, poolSize: 2 }),
    new GlobalMaxPooling2D({ ...base, keepdims: true }),
    new ReLU({ ...base, maxValue: 6 }),
    new LeakyReLU({ ...base, negativeSlope: 0.1 }),
  ];
  for (const layer of layers) assert.deepEqual(layer.inputShape, [4, 4, 2], layer.className);
  // AdamW takes Adam's options (and the base optimizer's).
  assert.equal(new AdamW({ beta1: 0.8, clipnorm: 1, weightDecay: 0.1 }).beta1, 0.8);
});

test("each optimizer's and schedule's config keys are exactly its option keys in Keras's spelling", () => {
  const optimizers = [SGD, Adam, AdamW, RMSprop, Adadelta, Adagrad, Adamax, Nadam, Lion, Ftrl];
  for (const Class of optimizers) {
    const written = Object.keys(new Class().getConfig()).sort();
    const declared = Object.keys(Class.optionKeys)
      .map((key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/([a-z]{2,})(\d)/g, '$1_$2'))
      .sort();
    assert.deepEqual(declared, written, Class.name);
    // So a config Keras wrote round-trips, and one with an extra key is refused.
    const fromConfig = Class.fromConfig as (
      this: unknown,
      config: Record<string, unknown>,
    ) => warmstart.Optimizer;
    assert.deepEqual(fromConfig.call(Class, new Class().getConfig()).getConfig(), new Class().getConfig());
  }
  const schedules = [
    new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }),
    new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }),
    new PiecewiseConstantDecay({ boundaries: [1], values: [1, 0.5] }),
    new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 10 }),
    new CosineDecay({ initialLearningRate: 0.1, decaySteps: 10 }),
    new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 10 }),
  ];
  for (const schedule of schedules) {
    const Class = schedule.constructor as typeof ExponentialDecay;
    const declared = Object.keys(Class.optionKeys).map((key) =>
      key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
    );
    assert.deepEqual(declared.sort(), Object.keys(schedule.getConfig()).sort(), Class.name);
  }
});

test('VarianceScaling refuses a mode or distribution Keras does not know instead of falling back silently', () => {
  assert.throws(
    () => new warmstart.VarianceScaling({ mode: 'fan_inn' as never }),
    /mode must be one of fan_in, fan_out, fan_avg, got "fan_inn"/,
  );
  assert.throws(
    () => new warmstart.VarianceScaling({ distribution: 'normal' as never }),
    /distribution must be one of truncated_normal, untruncated_normal, uniform, got "normal"/,
  );
  assert.equal(new warmstart.VarianceScaling({ mode: 'fan_out', distribution: 'uniform' }).mode, 'fan_out');
});

test("a tf.keras 2 config's VarianceScaling distribution 'normal' still loads, as truncated_normal", () => {
  const initializer = warmstart.getInitializer({
    class_name: 'VarianceScaling',
    config: { scale: 2, mode: 'FAN_IN', distribution: 'normal', seed: null },
  }) as warmstart.VarianceScaling;
  assert.equal(initializer.distribution, 'truncated_normal');
  assert.equal(initializer.mode, 'fan_in');
});
