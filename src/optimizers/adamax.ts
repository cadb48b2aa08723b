import type { AdamaxStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkNumber, type KerasConfig } from './config.js';
import { Optimizer, type OptimizerOptions, OPTIMIZER_OPTION_KEYS } from './optimizer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Adamax}. */
export interface AdamaxOptions extends OptimizerOptions {
  /** β₁ ∈ [0, 1) (default 0.9). */
  beta1?: number;
  /** β₂ ∈ [0, 1), the decay of the infinity norm (default 0.999). */
  beta2?: number;
  /** ε > 0, added to u (default 1e-7). */
  epsilon?: number;
}

/**
 * Adamax (Kingma & Ba 2014, §7.1) as Keras 3 computes it (defaults η = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-7),
 * with `t = iterations + 1`:
 *
 * - `m ← β₁·m + (1 − β₁)·g`
 * - `u ← max(β₂·u, |g|)`
 * - `θ ← θ − η·m / ((u + ε)·(1 − β₁ᵗ))`
 *
 * Slots: `momentum` (m), `norm` (u); zeros. Kernel: `adamaxUpdate`.
 */
export class Adamax extends Optimizer {
  readonly className = 'Adamax';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    ...OPTIMIZER_OPTION_KEYS,
    beta1: true,
    beta2: true,
    epsilon: true,
  } as const satisfies OptionKeys<AdamaxOptions>;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly step: AdamaxStep;

  constructor(options: AdamaxOptions = {}) {
    checkOptions('Adamax', options, Adamax.optionKeys);
    super(options, { learningRate: 0.001, name: 'adamax' });
    this.beta1 = checkNumber('Adamax', 'beta1', options.beta1 ?? 0.9, { min: 0, max: 1, maxExclusive: true });
    this.beta2 = checkNumber('Adamax', 'beta2', options.beta2 ?? 0.999, {
      min: 0,
      max: 1,
      maxExclusive: true,
    });
    this.epsilon = checkNumber('Adamax', 'epsilon', options.epsilon ?? 1e-7, { min: 0, minExclusive: true });
    const f = Math.fround;
    this.step = {
      learningRate: 0,
      beta1: f(this.beta1),
      oneMinusBeta1: f(1 - this.beta1),
      beta2: f(this.beta2),
      epsilon: f(this.epsilon),
      biasCorrection: 1,
    };
  }

  protected slotInitialValues(): readonly number[] {
    return [0, 0];
  }

  protected override prepareStep(learningRate: number, localStep: number): void {
    const f = Math.fround;
    this.step.learningRate = learningRate;
    this.step.biasCorrection = f(1 - f(Math.pow(this.step.beta1, localStep)));
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: readonly Float32Array[]): void {
    variable.kernels.adamaxUpdate(variable.value, gradient, slots[0], slots[1], this.step);
  }

  override getConfig(): KerasConfig {
    return { ...super.getConfig(), beta_1: this.beta1, beta_2: this.beta2, epsilon: this.epsilon };
  }
}
