import type { NadamStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkNumber, type KerasConfig } from './config.js';
import { Optimizer, type OptimizerOptions, OPTIMIZER_OPTION_KEYS } from './optimizer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Nadam}. */
export interface NadamOptions extends OptimizerOptions {
  /** β₁ ∈ [0, 1) (default 0.9). */
  beta1?: number;
  /** β₂ ∈ [0, 1) (default 0.999). */
  beta2?: number;
  /** ε > 0, added to √v̂ (default 1e-7). */
  epsilon?: number;
}

/**
 * Nadam (Dozat 2016) as Keras 3 computes it, with Dozat's momentum schedule (defaults η = 0.001, β₁ = 0.9,
 * β₂ = 0.999, ε = 1e-7). With `t = iterations + 1` and `u_t = β₁·(1 − ½·0.96^t)`, the product `Π_t = Π_{t−1}·u_t`
 * (kept across steps, Π₀ = 1):
 *
 * - `m ← β₁·m + (1 − β₁)·g`, `v ← β₂·v + (1 − β₂)·g²`
 * - `m̂ = u_{t+1}·m / (1 − Π_t·u_{t+1}) + (1 − u_t)·g / (1 − Π_t)`
 * - `v̂ = v / (1 − β₂ᵗ)`
 * - `θ ← θ − η·m̂ / (√v̂ + ε)`
 *
 * Slots: `momentum` (m), `velocity` (v); zeros; plus the scalar Π. Kernel: `nadamUpdate`.
 */
export class Nadam extends Optimizer {
  readonly className = 'Nadam';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    ...OPTIMIZER_OPTION_KEYS,
    beta1: true,
    beta2: true,
    epsilon: true,
  } as const satisfies OptionKeys<NadamOptions>;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Π_t, the product of the momentum coefficients so far (Keras's `_u_product`, float32). */
  momentumProduct = 1;
  private readonly step: NadamStep;

  constructor(options: NadamOptions = {}) {
    checkOptions('Nadam', options, Nadam.optionKeys);
    super(options, { learningRate: 0.001, name: 'nadam' });
    this.beta1 = checkNumber('Nadam', 'beta1', options.beta1 ?? 0.9, { min: 0, max: 1, maxExclusive: true });
    this.beta2 = checkNumber('Nadam', 'beta2', options.beta2 ?? 0.999, {
      min: 0,
      max: 1,
      maxExclusive: true,
    });
    this.epsilon = checkNumber('Nadam', 'epsilon', options.epsilon ?? 1e-7, { min: 0, minExclusive: true });
    const f = Math.fround;
    this.step = {
      learningRate: 0,
      beta1: f(this.beta1),
      oneMinusBeta1: f(1 - this.beta1),
      beta2: f(this.beta2),
      oneMinusBeta2: f(1 - this.beta2),
      epsilon: f(this.epsilon),
      nextMomentum: 0,
      nextProductComplement: 1,
      oneMinusMomentum: 1,
      productComplement: 1,
      beta2Correction: 1,
    };
  }

  protected slotInitialValues(): readonly number[] {
    return [0, 0];
  }

  protected override prepareStep(learningRate: number, localStep: number): void {
    const f = Math.fround;
    const step = this.step;
    const momentum = this.momentumAt(localStep);
    const nextMomentum = this.momentumAt(localStep + 1);
    const product = f(this.momentumProduct * momentum);
    const nextProduct = f(product * nextMomentum);
    this.momentumProduct = product;
    step.learningRate = learningRate;
    step.nextMomentum = nextMomentum;
    step.nextProductComplement = f(1 - nextProduct);
    step.oneMinusMomentum = f(1 - momentum);
    step.productComplement = f(1 - product);
    step.beta2Correction = f(1 - f(Math.pow(step.beta2, localStep)));
  }

  /** `u_t = β₁·(1 − ½·0.96^t)` in float32. */
  private momentumAt(t: number): number {
    const f = Math.fround;
    return f(this.step.beta1 * f(1 - f(0.5 * f(Math.pow(f(0.96), t)))));
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: readonly Float32Array[]): void {
    variable.kernels.nadamUpdate(variable.value, gradient, slots[0], slots[1], this.step);
  }

  override getConfig(): KerasConfig {
    return { ...super.getConfig(), beta_1: this.beta1, beta_2: this.beta2, epsilon: this.epsilon };
  }
}
