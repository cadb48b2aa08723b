import type { AdamStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkBoolean, checkNumber, type KerasConfig } from './config.js';
import {
  Optimizer,
  type OptimizerDefaults,
  type OptimizerOptions,
  OPTIMIZER_OPTION_KEYS,
} from './optimizer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Adam}. */
export interface AdamOptions extends OptimizerOptions {
  /** β₁ ∈ [0, 1), decay of the first moment (default 0.9). */
  beta1?: number;
  /** β₂ ∈ [0, 1), decay of the second moment (default 0.999). */
  beta2?: number;
  /** ε > 0, Keras's "epsilon hat", added to √v̂ outside the bias correction (default 1e-7). */
  epsilon?: number;
  /** Use AMSGrad's running maximum of v (default false). */
  amsgrad?: boolean;
}

/**
 * Adam (Kingma & Ba 2014) as Keras 3 computes it (defaults η = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-7), with
 * `t = iterations + 1`:
 *
 * - `m ← β₁·m + (1 − β₁)·g`, `v ← β₂·v + (1 − β₂)·g²`
 * - AMSGrad: `v̂ ← max(v̂, v)`, used in place of v below
 * - `α = η·√(1 − β₂ᵗ) / (1 − β₁ᵗ)`, `θ ← θ − α·m / (√v + ε)` — the bias correction folded into the step size, so ε
 *   is "epsilon hat" (ε·√(1 − β₂ᵗ) in the paper's terms), not the paper's ε
 *
 * Slots: `momentum` (m), `velocity` (v), and `velocity_hat` (v̂) with AMSGrad; all zeros. Kernel: `adamUpdate`.
 *
 * The seed notebook passes `rho` to Adam, which Adam has no such argument for (Keras rejects it); the right
 * call is `new Adam({ learningRate: 0.001, beta1: 0.9, beta2: 0.999 })`.
 */
export class Adam extends Optimizer {
  readonly className: string = 'Adam';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    ...OPTIMIZER_OPTION_KEYS,
    beta1: true,
    beta2: true,
    epsilon: true,
    amsgrad: true,
  } as const satisfies OptionKeys<AdamOptions>;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly amsgrad: boolean;
  private readonly step: AdamStep;

  constructor(
    options: AdamOptions = {},
    defaults: OptimizerDefaults = { learningRate: 0.001, name: 'adam' },
  ) {
    checkOptions(new.target.name, options, Adam.optionKeys);
    super(options, defaults);
    const owner = new.target.name;
    this.beta1 = checkNumber(owner, 'beta1', options.beta1 ?? 0.9, { min: 0, max: 1, maxExclusive: true });
    this.beta2 = checkNumber(owner, 'beta2', options.beta2 ?? 0.999, { min: 0, max: 1, maxExclusive: true });
    this.epsilon = checkNumber(owner, 'epsilon', options.epsilon ?? 1e-7, { min: 0, minExclusive: true });
    this.amsgrad = checkBoolean(owner, 'amsgrad', options.amsgrad ?? false);
    const f = Math.fround;
    this.step = {
      alpha: 0,
      beta1: f(this.beta1),
      oneMinusBeta1: f(1 - this.beta1),
      beta2: f(this.beta2),
      oneMinusBeta2: f(1 - this.beta2),
      epsilon: f(this.epsilon),
    };
  }

  protected slotInitialValues(): readonly number[] {
    return this.amsgrad ? [0, 0, 0] : [0, 0];
  }

  protected override prepareStep(learningRate: number, localStep: number): void {
    const f = Math.fround;
    const beta1Power = f(Math.pow(this.step.beta1, localStep));
    const beta2Power = f(Math.pow(this.step.beta2, localStep));
    this.step.alpha = f(f(learningRate * f(Math.sqrt(f(1 - beta2Power)))) / f(1 - beta1Power));
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: readonly Float32Array[]): void {
    variable.kernels.adamUpdate(variable.value, gradient, slots[0], slots[1], slots[2] ?? null, this.step);
  }

  override getConfig(): KerasConfig {
    return {
      ...super.getConfig(),
      beta_1: this.beta1,
      beta_2: this.beta2,
      epsilon: this.epsilon,
      amsgrad: this.amsgrad,
    };
  }
}
