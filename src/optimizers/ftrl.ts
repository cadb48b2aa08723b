import type { FtrlStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkNumber, type KerasConfig } from './config.js';
import { Optimizer, type OptimizerOptions, OPTIMIZER_OPTION_KEYS } from './optimizer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Ftrl}. */
export interface FtrlOptions extends OptimizerOptions {
  /** −c ≤ 0: the accumulator's exponent is `c = −learningRatePower` (default −0.5). */
  learningRatePower?: number;
  /** n₀ ≥ 0, the accumulators' starting value (default 0.1). */
  initialAccumulatorValue?: number;
  /** λ₁ ≥ 0 (default 0). */
  l1RegularizationStrength?: number;
  /** λ₂ ≥ 0 (default 0). */
  l2RegularizationStrength?: number;
  /** λ₂ₛ ≥ 0, L2 shrinkage applied to the gradient (default 0). */
  l2ShrinkageRegularizationStrength?: number;
  /** β ≥ 0, added to λ₂ as β / (2η) (default 0). */
  beta?: number;
}

/**
 * FTRL-proximal (McMahan et al. 2013) as Keras 3 computes it (defaults η = 0.001, c = 0.5, n₀ = 0.1, λ₁ = λ₂ =
 * λ₂ₛ = β = 0). With `λ₂' = λ₂ + β / (2η)`:
 *
 * - `g' = g + 2λ₂ₛ·θ`, `n' = n + g²`
 * - `z ← z + g' − (n'^c − n^c) / η · θ`
 * - `θ ← (clip(z, −λ₁, λ₁) − z) / (n'^c / η + 2λ₂')`, `n ← n'`
 *
 * Slots: `accumulator` (n, filled with n₀), `linear` (z, zeros). Kernel: `ftrlUpdate`.
 */
export class Ftrl extends Optimizer {
  readonly className = 'Ftrl';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    ...OPTIMIZER_OPTION_KEYS,
    learningRatePower: true,
    initialAccumulatorValue: true,
    l1RegularizationStrength: true,
    l2RegularizationStrength: true,
    l2ShrinkageRegularizationStrength: true,
    beta: true,
  } as const satisfies OptionKeys<FtrlOptions>;
  readonly learningRatePower: number;
  readonly initialAccumulatorValue: number;
  readonly l1RegularizationStrength: number;
  readonly l2RegularizationStrength: number;
  readonly l2ShrinkageRegularizationStrength: number;
  readonly beta: number;
  private readonly step: FtrlStep;

  constructor(options: FtrlOptions = {}) {
    checkOptions('Ftrl', options, Ftrl.optionKeys);
    super(options, { learningRate: 0.001, name: 'ftrl' });
    const nonNegative = { min: 0 };
    this.learningRatePower = checkNumber('Ftrl', 'learningRatePower', options.learningRatePower ?? -0.5, {
      max: 0,
    });
    this.initialAccumulatorValue = checkNumber(
      'Ftrl',
      'initialAccumulatorValue',
      options.initialAccumulatorValue ?? 0.1,
      nonNegative,
    );
    this.l1RegularizationStrength = checkNumber(
      'Ftrl',
      'l1RegularizationStrength',
      options.l1RegularizationStrength ?? 0.0,
      nonNegative,
    );
    this.l2RegularizationStrength = checkNumber(
      'Ftrl',
      'l2RegularizationStrength',
      options.l2RegularizationStrength ?? 0.0,
      nonNegative,
    );
    this.l2ShrinkageRegularizationStrength = checkNumber(
      'Ftrl',
      'l2ShrinkageRegularizationStrength',
      options.l2ShrinkageRegularizationStrength ?? 0.0,
      nonNegative,
    );
    this.beta = checkNumber('Ftrl', 'beta', options.beta ?? 0.0, nonNegative);
    const f = Math.fround;
    this.step = {
      learningRate: 0,
      power: f(-this.learningRatePower),
      l1: f(this.l1RegularizationStrength),
      twiceL2: 0,
      twiceL2Shrinkage: f(2 * this.l2ShrinkageRegularizationStrength),
    };
  }

  protected slotInitialValues(): readonly number[] {
    return [Math.fround(this.initialAccumulatorValue), 0];
  }

  protected override prepareStep(learningRate: number): void {
    const f = Math.fround;
    // Keras: l2 + beta / (2·lr), in float32 (0 / 0 would be NaN: with β = 0 the term is 0 whatever η).
    const betaTerm = this.beta === 0 ? 0 : f(f(this.beta) / f(2 * learningRate));
    this.step.learningRate = learningRate;
    this.step.twiceL2 = f(2 * f(f(this.l2RegularizationStrength) + betaTerm));
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: readonly Float32Array[]): void {
    variable.kernels.ftrlUpdate(variable.value, gradient, slots[0], slots[1], this.step);
  }

  override getConfig(): KerasConfig {
    return {
      ...super.getConfig(),
      learning_rate_power: this.learningRatePower,
      initial_accumulator_value: this.initialAccumulatorValue,
      l1_regularization_strength: this.l1RegularizationStrength,
      l2_regularization_strength: this.l2RegularizationStrength,
      l2_shrinkage_regularization_strength: this.l2ShrinkageRegularizationStrength,
      beta: this.beta,
    };
  }
}
