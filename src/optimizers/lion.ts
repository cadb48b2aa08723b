import type { LionStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkNumber, type KerasConfig } from './config.js';
import { Optimizer, type OptimizerOptions, OPTIMIZER_OPTION_KEYS } from './optimizer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Lion}. */
export interface LionOptions extends OptimizerOptions {
  /** β₁ ∈ (0, 1], the interpolation used for the update's sign (default 0.9). */
  beta1?: number;
  /** β₂ ∈ [0, 1], the decay of the momentum (default 0.99). */
  beta2?: number;
}

/**
 * Lion (Chen et al. 2023) as Keras 3 computes it (defaults η = 0.001, β₁ = 0.9, β₂ = 0.99):
 *
 * - `θ ← θ − η·sign(β₁·m + (1 − β₁)·g)`
 * - `m ← β₂·m + (1 − β₂)·g`
 *
 * Slots: `momentum` (m, zeros). Kernel: `lionUpdate`.
 */
export class Lion extends Optimizer {
  readonly className = 'Lion';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    ...OPTIMIZER_OPTION_KEYS,
    beta1: true,
    beta2: true,
  } as const satisfies OptionKeys<LionOptions>;
  readonly beta1: number;
  readonly beta2: number;
  private readonly step: LionStep;

  constructor(options: LionOptions = {}) {
    checkOptions('Lion', options, Lion.optionKeys);
    super(options, { learningRate: 0.001, name: 'lion' });
    this.beta1 = checkNumber('Lion', 'beta1', options.beta1 ?? 0.9, { min: 0, max: 1, minExclusive: true });
    this.beta2 = checkNumber('Lion', 'beta2', options.beta2 ?? 0.99, { min: 0, max: 1 });
    const f = Math.fround;
    this.step = {
      learningRate: 0,
      beta1: f(this.beta1),
      oneMinusBeta1: f(1 - this.beta1),
      beta2: f(this.beta2),
      oneMinusBeta2: f(1 - this.beta2),
    };
  }

  protected slotInitialValues(): readonly number[] {
    return [0];
  }

  protected override prepareStep(learningRate: number): void {
    this.step.learningRate = learningRate;
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: readonly Float32Array[]): void {
    variable.kernels.lionUpdate(variable.value, gradient, slots[0], this.step);
  }

  override getConfig(): KerasConfig {
    return { ...super.getConfig(), beta_1: this.beta1, beta_2: this.beta2 };
  }
}
