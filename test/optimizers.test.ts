/**
 * Sanity tests of the optimizers, their common options and the learning-rate schedules (the exact Keras numerics
 * are checked against recorded trajectories in optimizers-reference.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { Kernels } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import {
  Adadelta,
  Adagrad,
  Adam,
  Adamax,
  AdamW,
  CosineDecay,
  CosineDecayRestarts,
  deserializeOptimizer,
  deserializeSchedule,
  ExponentialDecay,
  Ftrl,
  getOptimizer,
  InverseTimeDecay,
  type LearningRateSchedule,
  Lion,
  listOptimizers,
  Nadam,
  type Optimizer,
  OptimizerConfigError,
  PiecewiseConstantDecay,
  PolynomialDecay,
  RMSprop,
  serializeOptimizer,
  serializeSchedule,
  SGD,
  UnknownOptimizerError,
} from '../src/optimizers/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Variable } from '../src/tensor/variable.js';

const kernels = new ReferenceKernels();
const f32 = Math.fround;

function variable(values: number[], name = 'kernel'): Variable {
  const v = new Variable(name, [values.length], kernels);
  v.assign(Float32Array.from(values));
  return v;
}

// ---- Convergence on a quadratic: L(θ) = ½ Σ aᵢ (θᵢ − cᵢ)², ∇L = a ⊙ (θ − c).

const CURVATURE = [1, 2, 0.5, 3];
const TARGET = [1, -2, 0.5, 3];

function quadraticLoss(theta: Float32Array): number {
  let loss = 0;
  for (let i = 0; i < theta.length; i++) loss += 0.5 * CURVATURE[i] * (theta[i] - TARGET[i]) ** 2;
  return loss;
}

function minimize(optimizer: Optimizer, steps: number): { before: number; after: number } {
  const theta = variable([0, 0, 0, 0]);
  const before = quadraticLoss(theta.value);
  optimizer.build([theta]);
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < 4; i++) theta.gradient[i] = CURVATURE[i] * (theta.value[i] - TARGET[i]);
    optimizer.applyVariableGradients([theta]);
  }
  return { before, after: quadraticLoss(theta.value) };
}

describe('every optimizer minimizes a quadratic', () => {
  const cases: Array<[string, () => Optimizer, number]> = [
    ['SGD', () => new SGD({ learningRate: 0.1 }), 300],
    ['SGD momentum', () => new SGD({ learningRate: 0.05, momentum: 0.9 }), 300],
    ['SGD Nesterov', () => new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true }), 300],
    ['RMSprop', () => new RMSprop({ learningRate: 0.01 }), 600],
    [
      'RMSprop centered + momentum',
      () => new RMSprop({ learningRate: 0.01, momentum: 0.5, centered: true }),
      600,
    ],
    ['Adam', () => new Adam({ learningRate: 0.05 }), 600],
    ['Adam AMSGrad', () => new Adam({ learningRate: 0.05, amsgrad: true }), 600],
    ['AdamW', () => new AdamW({ learningRate: 0.05 }), 600],
    ['Adadelta', () => new Adadelta({ learningRate: 1.0 }), 3000],
    ['Adagrad', () => new Adagrad({ learningRate: 0.5 }), 600],
    ['Adamax', () => new Adamax({ learningRate: 0.05 }), 600],
    ['Nadam', () => new Nadam({ learningRate: 0.05 }), 600],
    ['Lion', () => new Lion({ learningRate: 0.01 }), 600],
    ['Ftrl', () => new Ftrl({ learningRate: 0.5 }), 600],
    [
      'SGD with a schedule',
      () =>
        new SGD({
          learningRate: new ExponentialDecay({ initialLearningRate: 0.2, decaySteps: 100, decayRate: 0.5 }),
        }),
      300,
    ],
    [
      'SGD with gradient accumulation',
      () => new SGD({ learningRate: 0.1, gradientAccumulationSteps: 3 }),
      900,
    ],
    ['Adam with EMA', () => new Adam({ learningRate: 0.05, useEma: true, emaOverwriteFrequency: 50 }), 1500],
    ['Adam with clipnorm', () => new Adam({ learningRate: 0.05, clipnorm: 0.1 }), 600],
  ];
  for (const [name, create, steps] of cases) {
    test(name, () => {
      const { before, after } = minimize(create(), steps);
      assert.ok(after < 1e-3 * before, `${name}: loss ${before} → ${after}`);
    });
  }
});

// ---- Clipping.

describe('gradient clipping', () => {
  const gradient = [3, -4, 12, 0]; // norm 13
  function stepOf(options: ConstructorParameters<typeof SGD>[0], gradients: number[][]): Float32Array[] {
    const vars = gradients.map((g, i) => variable(new Array<number>(g.length).fill(0), `v${i}`));
    const sgd = new SGD({ learningRate: 1, ...options });
    sgd.applyGradients(gradients.map((g, i) => [Float32Array.from(g), vars[i]] as const));
    return vars.map((v) => v.value.map((x) => 0 - x)); // the applied gradients
  }
  const norm = (xs: Float32Array[]): number =>
    Math.sqrt(xs.reduce((s, x) => s + x.reduce((t, v) => t + v * v, 0), 0));

  test('clipnorm bounds each tensor and keeps its direction', () => {
    const [applied, small] = stepOf({ clipnorm: 2 }, [gradient, [0.3, 0.4]]);
    assert.ok(Math.abs(norm([applied]) - 2) < 1e-6);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(applied[i] - (gradient[i] * 2) / 13) < 1e-6);
    assert.deepEqual([...small], [f32(0.3), f32(0.4)]); // below the bound: untouched
  });

  test('clipvalue bounds each element', () => {
    const [applied] = stepOf({ clipvalue: 3.5 }, [gradient]);
    assert.deepEqual([...applied], [3, -3.5, 3.5, 0]);
  });

  test('globalClipnorm bounds the norm of all gradients together', () => {
    const applied = stepOf({ globalClipnorm: 1 }, [gradient, [0, 0, 0, 84]]); // global norm 85
    assert.ok(Math.abs(norm(applied) - 1) < 1e-6);
    assert.ok(Math.abs(applied[1][3] - 84 / 85) < 1e-6);
    const untouched = stepOf({ globalClipnorm: 100 }, [gradient, [0, 0, 0, 84]]);
    assert.deepEqual([...untouched[1]], [0, 0, 0, 84]);
  });
});

// ---- Configs.

const OPTIMIZERS: Array<() => Optimizer> = [
  () => new SGD({ learningRate: 0.05, momentum: 0.8, nesterov: true, clipnorm: 1.5, name: 'my_sgd' }),
  () => new RMSprop({ rho: 0.8, momentum: 0.3, epsilon: 1e-6, centered: true, clipvalue: 2 }),
  () =>
    new Adam({ beta1: 0.8, beta2: 0.99, epsilon: 1e-8, amsgrad: true, globalClipnorm: 3, weightDecay: 0.01 }),
  () => new AdamW({ weightDecay: 0.1, useEma: true, emaMomentum: 0.9, emaOverwriteFrequency: 10 }),
  () => new Adadelta({ learningRate: 1.0, rho: 0.9, epsilon: 1e-6, gradientAccumulationSteps: 4 }),
  () => new Adagrad({ initialAccumulatorValue: 0.5, epsilon: 1e-5 }),
  () => new Adamax({ beta1: 0.7, beta2: 0.9 }),
  () => new Nadam({ beta1: 0.85, epsilon: 1e-6 }),
  () => new Lion({ beta1: 0.95, beta2: 0.98, learningRate: 1e-4 }),
  () =>
    new Ftrl({
      learningRatePower: -0.7,
      initialAccumulatorValue: 0.2,
      l1RegularizationStrength: 0.01,
      l2RegularizationStrength: 0.02,
      l2ShrinkageRegularizationStrength: 0.03,
      beta: 0.1,
    }),
  () =>
    new SGD({
      learningRate: new CosineDecay({
        initialLearningRate: 0,
        decaySteps: 100,
        warmupTarget: 0.1,
        warmupSteps: 10,
      }),
    }),
];

const SCHEDULES: Array<() => LearningRateSchedule> = [
  () => new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true }),
  () => new PiecewiseConstantDecay({ boundaries: [5, 10], values: [1, 0.5, 0.1], name: 'pc' }),
  () =>
    new PolynomialDecay({
      initialLearningRate: 0.1,
      decaySteps: 20,
      endLearningRate: 0.01,
      power: 2,
      cycle: true,
    }),
  () => new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }),
  () => new CosineDecay({ initialLearningRate: 0.1, decaySteps: 100, alpha: 0.1 }),
  () =>
    new CosineDecay({
      initialLearningRate: 0,
      decaySteps: 100,
      alpha: 0.1,
      warmupTarget: 0.2,
      warmupSteps: 10,
    }),
  () =>
    new CosineDecayRestarts({
      initialLearningRate: 0.1,
      firstDecaySteps: 10,
      tMul: 2,
      mMul: 0.5,
      alpha: 0.01,
    }),
];

describe('configs round-trip', () => {
  for (const create of OPTIMIZERS) {
    const optimizer = create();
    test(`${optimizer.className} (${optimizer.name})`, () => {
      const config = optimizer.getConfig();
      // Keras's base keys, in Keras's order, then the class's own.
      assert.deepEqual(Object.keys(config).slice(0, 11), [
        'name',
        'learning_rate',
        'weight_decay',
        'clipnorm',
        'global_clipnorm',
        'clipvalue',
        'use_ema',
        'ema_momentum',
        'ema_overwrite_frequency',
        'loss_scale_factor',
        'gradient_accumulation_steps',
      ]);
      const copy = JSON.parse(JSON.stringify(serializeOptimizer(optimizer))) as ReturnType<
        typeof serializeOptimizer
      >;
      assert.equal(copy.module, 'keras.optimizers');
      assert.equal(copy.registered_name, null);
      const restored = deserializeOptimizer(copy);
      assert.equal(restored.constructor, optimizer.constructor);
      assert.deepEqual(restored.getConfig(), config);
      const viaClass = (optimizer.constructor as unknown as { fromConfig(c: object): Optimizer }).fromConfig(
        config,
      );
      assert.deepEqual(viaClass.getConfig(), config);
    });
  }
  for (const create of SCHEDULES) {
    const schedule = create();
    test(`${schedule.className} (${schedule.name})`, () => {
      const serialized = JSON.parse(JSON.stringify(serializeSchedule(schedule))) as ReturnType<
        typeof serializeSchedule
      >;
      assert.equal(serialized.module, 'keras.optimizers.schedules');
      const restored = deserializeSchedule(serialized);
      assert.deepEqual(restored.getConfig(), schedule.getConfig());
      for (const step of [0, 1, 7, 10, 33, 150]) assert.equal(restored.valueAt(step), schedule.valueAt(step));
      const optimizer = deserializeOptimizer(
        JSON.parse(JSON.stringify(serializeOptimizer(new Adam({ learningRate: schedule })))),
      );
      assert.deepEqual(optimizer.getConfig()['learning_rate'], serializeSchedule(schedule));
    });
  }

  test('a number learning rate is stored in float32, as Keras stores it in a variable', () => {
    const sgd = new SGD({ learningRate: 0.01 });
    assert.equal(sgd.getConfig()['learning_rate'], 0.009999999776482582);
    assert.equal(sgd.learningRate, f32(0.01));
  });

  test("unknown config keys are rejected, Keras's obsolete `decay` is ignored", () => {
    assert.throws(
      () => Adam.fromConfig({ learning_rate: 0.1, beta_3: 0.5 }),
      /unknown config argument 'beta_3'/,
    );
    assert.equal(Adam.fromConfig({ learning_rate: 0.1, decay: 0.0 }).className, 'Adam');
    assert.throws(
      () =>
        ExponentialDecay.fromConfig({ initial_learning_rate: 1, decay_steps: 1, decay_rate: 0.5, foo: 1 }),
      /unknown config argument 'foo'/,
    );
    assert.throws(() => deserializeOptimizer({ class_name: 'Adafactor', config: {} }), UnknownOptimizerError);
    assert.throws(() => deserializeSchedule({ class_name: 'StepDecay', config: {} }), OptimizerConfigError);
  });
});

// ---- Bad hyperparameters.

describe('bad hyperparameters fail at construction', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      'negative learning rate',
      () => new SGD({ learningRate: -0.1 }),
      /SGD: learningRate must be .* got -0.1/,
    ],
    ['NaN learning rate', () => new Adam({ learningRate: NaN }), /learningRate/],
    [
      'SGD momentum > 1',
      () => new SGD({ momentum: 1.5 }),
      /SGD: momentum must be a finite number in \[0, 1\], got 1.5/,
    ],
    ['RMSprop momentum < 0', () => new RMSprop({ momentum: -0.1 }), /RMSprop: momentum/],
    ['RMSprop rho > 1', () => new RMSprop({ rho: 1.1 }), /RMSprop: rho/],
    [
      'Adam beta1 = 1',
      () => new Adam({ beta1: 1 }),
      /Adam: beta1 must be a finite number in \[0, 1\), got 1/,
    ],
    ['Adam beta2 < 0', () => new Adam({ beta2: -0.5 }), /Adam: beta2/],
    ['AdamW beta1 > 1', () => new AdamW({ beta1: 2 }), /AdamW: beta1/],
    ['Adamax beta2 = 1', () => new Adamax({ beta2: 1 }), /Adamax: beta2/],
    ['Nadam beta1 = 1', () => new Nadam({ beta1: 1 }), /Nadam: beta1/],
    ['Lion beta1 = 0', () => new Lion({ beta1: 0 }), /Lion: beta1 must be a finite number in \(0, 1\]/],
    ['Adam epsilon = 0', () => new Adam({ epsilon: 0 }), /Adam: epsilon must be a finite number > 0, got 0/],
    ['RMSprop epsilon < 0', () => new RMSprop({ epsilon: -1e-7 }), /RMSprop: epsilon/],
    ['Adadelta epsilon = 0', () => new Adadelta({ epsilon: 0 }), /Adadelta: epsilon/],
    ['Adagrad epsilon = 0', () => new Adagrad({ epsilon: 0 }), /Adagrad: epsilon/],
    [
      'Adagrad negative accumulator',
      () => new Adagrad({ initialAccumulatorValue: -1 }),
      /initialAccumulatorValue/,
    ],
    [
      'Ftrl positive power',
      () => new Ftrl({ learningRatePower: 0.5 }),
      /Ftrl: learningRatePower must be .* ≤ 0/,
    ],
    ['Ftrl negative l1', () => new Ftrl({ l1RegularizationStrength: -1 }), /l1RegularizationStrength/],
    [
      'two clip options',
      () => new SGD({ clipnorm: 1, clipvalue: 1 }),
      /only one of clipnorm, clipvalue and globalClipnorm can be set/,
    ],
    ['clipnorm and globalClipnorm', () => new Adam({ clipnorm: 1, globalClipnorm: 1 }), /only one of/],
    ['negative clipnorm', () => new Adam({ clipnorm: -1 }), /clipnorm must be .* > 0/],
    ['negative weight decay', () => new SGD({ weightDecay: -0.1 }), /weightDecay/],
    ['AdamW without weight decay', () => new AdamW({ weightDecay: null }), /AdamW: weightDecay/],
    [
      'accumulation steps 1',
      () => new SGD({ gradientAccumulationSteps: 1 }),
      /gradientAccumulationSteps must be an integer ≥ 2/,
    ],
    [
      'accumulation steps 2.5',
      () => new SGD({ gradientAccumulationSteps: 2.5 }),
      /gradientAccumulationSteps/,
    ],
    ['EMA momentum > 1', () => new Adam({ useEma: true, emaMomentum: 1.5 }), /emaMomentum/],
    ['EMA overwrite 0', () => new Adam({ useEma: true, emaOverwriteFrequency: 0 }), /emaOverwriteFrequency/],
    [
      'loss scale factor',
      () => new Adam({ lossScaleFactor: 128 as unknown as null }),
      /lossScaleFactor is not supported/,
    ],
    [
      'config with a bad value',
      () => deserializeOptimizer({ class_name: 'SGD', config: { momentum: 2 } }),
      /SGD: momentum/,
    ],
    [
      'schedule decaySteps 0',
      () => new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 }),
      /ExponentialDecay: decaySteps must be .* > 0/,
    ],
    [
      'piecewise lengths',
      () => new PiecewiseConstantDecay({ boundaries: [1, 2], values: [1, 2] }),
      /one element fewer than values/,
    ],
    [
      'cosine negative alpha',
      () => new CosineDecay({ initialLearningRate: 0.1, decaySteps: 10, alpha: -1 }),
      /alpha/,
    ],
    [
      'restarts tMul 0',
      () => new CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 10, tMul: 0 }),
      /tMul/,
    ],
  ];
  for (const [name, create, message] of cases) {
    test(name, () => {
      assert.throws(create, (error: unknown) => {
        assert.ok(error instanceof OptimizerConfigError, `${String(error)} is an OptimizerConfigError`);
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

// ---- Schedules against closed forms (computed here in float64; schedules compute in float32).

function assertNear(actual: number, expected: number, where: string): void {
  // float32 arithmetic: ~1e-7 relative per operation; near a cosine's minimum 1 + cos(πx) cancels, so an absolute
  // floor of 1e-8 (η₀ is 0.01–1 here) covers that.
  assert.ok(
    Math.abs(actual - expected) <= 2e-6 * Math.abs(expected) + 1e-8,
    `${where}: ${actual} vs ${expected}`,
  );
}

describe('schedules match their closed forms', () => {
  const steps = [0, 1, 3, 5, 9, 10, 11, 19, 20, 21, 29, 30, 45, 70, 100, 150];
  const check = (schedule: LearningRateSchedule, closedForm: (t: number) => number): void => {
    for (const t of steps) assertNear(schedule.valueAt(t), closedForm(t), `${schedule.className} at ${t}`);
  };

  test('ExponentialDecay', () => {
    check(
      new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }),
      (t) => 0.1 * 0.5 ** (t / 10),
    );
    check(
      new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true }),
      (t) => 0.1 * 0.5 ** Math.floor(t / 10),
    );
  });

  test('PiecewiseConstantDecay', () => {
    check(new PiecewiseConstantDecay({ boundaries: [5, 10], values: [1, 0.5, 0.1] }), (t) =>
      t <= 5 ? 1 : t <= 10 ? 0.5 : 0.1,
    );
  });

  test('PolynomialDecay', () => {
    check(
      new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 20, endLearningRate: 0.01, power: 2 }),
      (t) => 0.09 * (1 - Math.min(t, 20) / 20) ** 2 + 0.01,
    );
    check(
      new PolynomialDecay({
        initialLearningRate: 0.1,
        decaySteps: 20,
        endLearningRate: 0.01,
        power: 0.5,
        cycle: true,
      }),
      (t) => {
        const period = t === 0 ? 20 : 20 * Math.ceil(t / 20);
        return 0.09 * (1 - t / period) ** 0.5 + 0.01;
      },
    );
    // Keras's default end rate and linear power.
    check(
      new PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 100 }),
      (t) => 0.0999 * (1 - Math.min(t, 100) / 100) + 0.0001,
    );
  });

  test('InverseTimeDecay', () => {
    check(
      new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }),
      (t) => 0.1 / (1 + (0.5 * t) / 10),
    );
    check(
      new InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true }),
      (t) => 0.1 / (1 + 0.5 * Math.floor(t / 10)),
    );
  });

  test('CosineDecay, without and with warmup', () => {
    const decay = (t: number, s: number, from: number, alpha: number): number =>
      from * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * t) / s)) + alpha);
    check(new CosineDecay({ initialLearningRate: 0.1, decaySteps: 100, alpha: 0.1 }), (t) =>
      decay(Math.min(t, 100), 100, 0.1, 0.1),
    );
    check(
      new CosineDecay({
        initialLearningRate: 0.01,
        decaySteps: 100,
        alpha: 0.1,
        warmupTarget: 0.2,
        warmupSteps: 10,
      }),
      (t) => {
        const clamped = Math.min(t, 110);
        return clamped < 10 ? 0.01 + ((0.2 - 0.01) * clamped) / 10 : decay(clamped - 10, 100, 0.2, 0.1);
      },
    );
  });

  test('CosineDecayRestarts, geometric and constant periods', () => {
    const restarts = (tMul: number, mMul: number) => (t: number) => {
      // Periods of length 10·tMulⁱ; find the one t falls in by walking them.
      let start = 0;
      let length = 10;
      let i = 0;
      while (t >= start + length) {
        start += length;
        length *= tMul;
        i++;
      }
      const fraction = (t - start) / length;
      return 0.1 * ((1 - 0.01) * mMul ** i * 0.5 * (1 + Math.cos(Math.PI * fraction)) + 0.01);
    };
    check(
      new CosineDecayRestarts({
        initialLearningRate: 0.1,
        firstDecaySteps: 10,
        tMul: 2,
        mMul: 0.5,
        alpha: 0.01,
      }),
      restarts(2, 0.5),
    );
    check(
      new CosineDecayRestarts({
        initialLearningRate: 0.1,
        firstDecaySteps: 10,
        tMul: 1,
        mMul: 0.8,
        alpha: 0.01,
      }),
      restarts(1, 0.8),
    );
  });
});

// ---- Names.

describe('getOptimizer', () => {
  test("Keras's string names and class names, any case, with Keras's defaults", () => {
    const expected: Array<[string, string, number]> = [
      ['sgd', 'SGD', 0.01],
      ['SGD', 'SGD', 0.01],
      ['rmsprop', 'RMSprop', 0.001],
      ['RMSprop', 'RMSprop', 0.001],
      ['adam', 'Adam', 0.001],
      ['Adam', 'Adam', 0.001],
      ['adamw', 'AdamW', 0.001],
      ['AdamW', 'AdamW', 0.001],
      ['adadelta', 'Adadelta', 0.001],
      ['Adadelta', 'Adadelta', 0.001],
      ['adagrad', 'Adagrad', 0.001],
      ['adamax', 'Adamax', 0.001],
      ['nadam', 'Nadam', 0.001],
      ['lion', 'Lion', 0.001],
      ['ftrl', 'Ftrl', 0.001],
      ['FTRL', 'Ftrl', 0.001],
    ];
    for (const [name, className, learningRate] of expected) {
      const optimizer = getOptimizer(name);
      assert.equal(optimizer.className, className, name);
      assert.equal(optimizer.learningRate, f32(learningRate), name);
    }
    assert.deepEqual(
      listOptimizers().sort(),
      ['Adadelta', 'Adagrad', 'Adam', 'AdamW', 'Adamax', 'Ftrl', 'Lion', 'Nadam', 'RMSprop', 'SGD'].sort(),
    );
  });

  test("Keras's default names and hyperparameters", () => {
    assert.equal(getOptimizer('sgd').name, 'SGD');
    assert.equal(getOptimizer('adam').name, 'adam');
    assert.equal((getOptimizer('adagrad') as Adagrad).initialAccumulatorValue, 0.1);
    assert.equal((getOptimizer('adadelta') as Adadelta).rho, 0.95);
    assert.equal((getOptimizer('adamw') as AdamW).weightDecay, 0.004);
    assert.equal((getOptimizer('lion') as Lion).beta2, 0.99);
    assert.equal((getOptimizer('rmsprop') as RMSprop).epsilon, 1e-7);
  });

  test('objects pass through, configs are deserialized, unknown names fail', () => {
    const adam = new Adam();
    assert.equal(getOptimizer(adam), adam);
    const fromDict = getOptimizer({ class_name: 'nadam', config: { learning_rate: 0.5 } });
    assert.equal(fromDict.className, 'Nadam');
    assert.equal(fromDict.learningRate, 0.5);
    assert.throws(
      () => getOptimizer('adamz'),
      (e: unknown) => e instanceof UnknownOptimizerError && /known optimizers are/.test(e.message),
    );
  });
});

// ---- Behaviour of the common options.

describe('common options behave as in Keras', () => {
  test('learning rate: settable number, schedule evaluated at the iteration count, setter refuses over a schedule', () => {
    const sgd = new SGD({ learningRate: 0.1 });
    sgd.learningRate = 0.05;
    assert.equal(sgd.currentLearningRate(), f32(0.05));
    assert.throws(() => (sgd.learningRate = -1), OptimizerConfigError);

    const schedule = new PiecewiseConstantDecay({ boundaries: [1], values: [1, 0.5] });
    const scheduled = new SGD({ learningRate: schedule });
    assert.equal(scheduled.learningRate, schedule);
    const theta = variable([0]);
    const lrs: number[] = [];
    for (let s = 0; s < 4; s++) {
      lrs.push(scheduled.currentLearningRate());
      scheduled.applyGradients([[Float32Array.of(1), theta]]);
    }
    assert.deepEqual(lrs, [1, 1, 0.5, 0.5]); // values at iterations 0, 1, 2, 3: evaluated before incrementing
    assert.equal(theta.value[0], -3);
    assert.throws(() => (scheduled.learningRate = 0.1), /cannot be set to a number/);
    scheduled.learningRate = new PiecewiseConstantDecay({ boundaries: [100], values: [2, 1] });
    assert.equal(scheduled.currentLearningRate(), 2);
  });

  test('gradient accumulation: mean applied every N calls, iterations counts updates, schedules see every call', () => {
    const sgd = new SGD({
      learningRate: new PiecewiseConstantDecay({ boundaries: [2, 5], values: [1, 10, 100] }),
      gradientAccumulationSteps: 3,
    });
    const theta = variable([0]);
    const seen: number[] = [];
    for (const g of [1, 2, 3, 4, 5, 6]) {
      sgd.applyGradients([[Float32Array.of(g), theta]]);
      seen.push(theta.value[0]);
    }
    // Call 3 applies at raw iteration 2 (η = 1): −1·mean(1, 2, 3); call 6 at raw iteration 5 (η = 10): −10·mean(4, 5, 6).
    assert.deepEqual(seen, [0, 0, -2, -2, -2, -52]);
    assert.equal(sgd.iterations, 2);
    assert.equal(sgd.rawIterations, 6);
  });

  test('weight decay is decoupled, scaled by η, and can exclude variables', () => {
    const sgd = new SGD({ learningRate: 0.1, weightDecay: 0.5 });
    const kernel = variable([2], 'kernel');
    const bias = variable([2], 'bias');
    sgd.excludeFromWeightDecay({ names: ['bias'] });
    sgd.applyGradients([
      [Float32Array.of(1), kernel],
      [Float32Array.of(1), bias],
    ]);
    assert.equal(kernel.value[0], f32(f32(2 * f32(1 - f32(0.5 * f32(0.1)))) - f32(0.1)));
    assert.equal(bias.value[0], f32(2 - f32(0.1)));
  });

  test('EMA: first step copies, then averages; overwrite every N iterations; finalize writes the average', () => {
    const sgd = new SGD({ learningRate: 1, useEma: true, emaMomentum: 0.5, emaOverwriteFrequency: 3 });
    const theta = variable([0]);
    sgd.applyGradients([[Float32Array.of(-4), theta]]); // θ = 4, average = 4 (first step: μ = 0)
    assert.equal(sgd.getMovingAverage(theta)![0], 4);
    sgd.applyGradients([[Float32Array.of(-4), theta]]); // θ = 8, average = 6
    assert.equal(sgd.getMovingAverage(theta)![0], 6);
    sgd.applyGradients([[Float32Array.of(-4), theta]]); // θ = 12, average = 9, third iteration: θ ← 9
    assert.equal(theta.value[0], 9);
    sgd.applyGradients([[Float32Array.of(-1), theta]]); // θ = 10, average = 9.5
    sgd.finalizeVariableValues([theta]);
    assert.equal(theta.value[0], 9.5);
    const plain = new SGD();
    plain.finalizeVariableValues([theta]); // no EMA: nothing happens
    assert.equal(theta.value[0], 9.5);
  });

  test("slots follow Keras's variables (Adagrad starts at 0.1, Ftrl's accumulator at its initial value)", () => {
    const theta = variable([1, 2]);
    const counts: Array<[Optimizer, number]> = [
      [new SGD(), 0],
      [new SGD({ momentum: 0.9 }), 1],
      [new RMSprop(), 1],
      [new RMSprop({ momentum: 0.5, centered: true }), 3],
      [new Adam(), 2],
      [new Adam({ amsgrad: true }), 3],
      [new Adadelta(), 2],
      [new Adagrad(), 1],
      [new Adamax(), 2],
      [new Nadam(), 2],
      [new Lion(), 1],
      [new Ftrl({ initialAccumulatorValue: 0.25 }), 2],
    ];
    for (const [optimizer, count] of counts) {
      optimizer.build([theta]);
      assert.equal(optimizer.getSlots(theta).length, count, optimizer.className);
    }
    assert.deepEqual([...counts[7][0].getSlots(theta)[0]], [f32(0.1), f32(0.1)]);
    assert.deepEqual([...counts[11][0].getSlots(theta)[0]], [0.25, 0.25]);
  });

  test('iterations counts steps and can be restored', () => {
    const adam = new Adam();
    const theta = variable([1]);
    for (let s = 0; s < 3; s++) adam.applyGradients([[new Tensor(Float32Array.of(1), [1]), theta]]);
    assert.equal(adam.iterations, 3);
    adam.iterations = 10;
    assert.equal(adam.rawIterations, 10);
  });
});

// ---- The kernels work on any Float32Array, including views at an offset (as a WebAssembly backend hands out).

describe('optimizer kernels on views into a larger buffer', () => {
  function run(k: Kernels, make: (values: number[]) => Float32Array): Float32Array[] {
    const p = make([0.5, -1, 2, 0]);
    const g = make([0.1, -0.3, 2, 0]);
    const out: Float32Array[] = [p, g];
    // Fresh, valid state for each kernel (second moments non-negative, centered variance positive).
    const slot = (values: number[]): Float32Array => {
      const buffer = make(values);
      out.push(buffer);
      return buffer;
    };
    const moments = (): Float32Array => slot([0.5, 0.4, 0.3, 0.2]);
    const signed = (): Float32Array => slot([0.01, -0.02, 0, 0.03]);
    const eps = f32(1e-7);
    k.rmspropUpdate(p, g, moments(), signed(), signed(), {
      learningRate: 0.1,
      rho: f32(0.9),
      oneMinusRho: f32(0.1),
      momentum: 0.5,
      epsilon: eps,
    });
    const adamStep = {
      alpha: 0.01,
      beta1: f32(0.9),
      oneMinusBeta1: f32(0.1),
      beta2: f32(0.999),
      oneMinusBeta2: f32(0.001),
      epsilon: eps,
    };
    k.adamUpdate(p, g, signed(), moments(), moments(), adamStep);
    k.adamUpdate(p, g, signed(), moments(), null, adamStep);
    k.adadeltaUpdate(p, g, moments(), moments(), {
      learningRate: 1,
      rho: f32(0.95),
      oneMinusRho: f32(0.05),
      epsilon: eps,
    });
    k.adagradUpdate(p, g, moments(), { learningRate: 0.1, epsilon: eps });
    k.adamaxUpdate(p, g, signed(), moments(), {
      learningRate: 0.1,
      beta1: f32(0.9),
      oneMinusBeta1: f32(0.1),
      beta2: f32(0.999),
      epsilon: eps,
      biasCorrection: f32(0.1),
    });
    k.nadamUpdate(p, g, signed(), moments(), {
      learningRate: 0.1,
      beta1: f32(0.9),
      oneMinusBeta1: f32(0.1),
      beta2: f32(0.999),
      oneMinusBeta2: f32(0.001),
      epsilon: eps,
      nextMomentum: f32(0.8),
      nextProductComplement: f32(0.4),
      oneMinusMomentum: f32(0.2),
      productComplement: f32(0.5),
      beta2Correction: f32(0.001),
    });
    k.lionUpdate(p, g, signed(), {
      learningRate: 0.1,
      beta1: f32(0.9),
      oneMinusBeta1: f32(0.1),
      beta2: f32(0.99),
      oneMinusBeta2: f32(0.01),
    });
    k.ftrlUpdate(p, g, moments(), signed(), {
      learningRate: 0.1,
      power: 0.5,
      l1: 0.01,
      twiceL2: 0.02,
      twiceL2Shrinkage: 0.01,
    });
    k.sgdUpdate(p, g, signed(), { learningRate: 0.1, momentum: 0.9, nesterov: true });
    const accumulator = signed();
    k.accumulateGradient(accumulator, g, 1);
    k.accumulateGradient(accumulator, g, 2);
    k.emaUpdate(signed(), p, f32(0.9));
    k.clipByValue(g, -0.2, 0.2);
    k.fill(signed(), 0.5);
    return out.map((x) => Float32Array.from(x));
  }

  test('same results on standalone arrays and on offset views', () => {
    const standalone = run(kernels, (values) => Float32Array.from(values));
    const arena = new Float32Array(1024);
    let offset = 3;
    const views = run(kernels, (values) => {
      const view = arena.subarray(offset, offset + values.length);
      view.set(values);
      offset += values.length + 5;
      return view;
    });
    assert.deepEqual(views, standalone);
    for (const array of standalone) for (const x of array) assert.ok(Number.isFinite(x));
    assert.deepEqual([...arena.subarray(0, 3)], [0, 0, 0]); // nothing written outside the views
  });
});
