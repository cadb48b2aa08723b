import type { RmspropStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkBoolean, checkNumber, type KerasConfig } from './config.js';
import { Optimizer, type OptimizerOptions, OPTIMIZER_OPTION_KEYS } from './optimizer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link RMSprop}. */
export interface RMSpropOptions extends OptimizerOptions {
  /** ρ ∈ [0, 1], the decay of the squared-gradient average (default 0.9). */
  rho?: number;
  /** μ ∈ [0, 1] of the (non-Nesterov) momentum (default 0). */
  momentum?: number;
  /** ε > 0, added to the average before the square root (default 1e-7). */
  epsilon?: number;
  /** Divide by the gradient's estimated variance instead of its second moment (default false). */
  centered?: boolean;
}

/**
 * RMSprop as Keras 3 computes it (defaults η = 0.001, ρ = 0.9, μ = 0, ε = 1e-7, centered = false):
 *
 * - `v ← ρ·v + (1 − ρ)·g²`
 * - centered: `ḡ ← ρ·ḡ + (1 − ρ)·g`, `Δ = η·g / √(v − ḡ² + ε)`; else `Δ = η·g / √(v + ε)` (ε inside the root)
 * - μ > 0: `b ← μ·b + Δ`, `θ ← θ − b`; else `θ ← θ − Δ`
 *
 * Slots: `velocity` (v), `momentum` (b, when μ > 0), `average_gradient` (ḡ, when centered); all zeros.
 * Kernel: `rmspropUpdate`.
 */
export class RMSprop extends Optimizer {
  readonly className = 'RMSprop';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    ...OPTIMIZER_OPTION_KEYS,
    rho: true,
    momentum: true,
    epsilon: true,
    centered: true,
  } as const satisfies OptionKeys<RMSpropOptions>;
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;
  private readonly step: RmspropStep;

  constructor(options: RMSpropOptions = {}) {
    checkOptions('RMSprop', options, RMSprop.optionKeys);
    super(options, { learningRate: 0.001, name: 'rmsprop' });
    this.rho = checkNumber('RMSprop', 'rho', options.rho ?? 0.9, { min: 0, max: 1 });
    this.momentum = checkNumber('RMSprop', 'momentum', options.momentum ?? 0.0, { min: 0, max: 1 });
    this.epsilon = checkNumber('RMSprop', 'epsilon', options.epsilon ?? 1e-7, { min: 0, minExclusive: true });
    this.centered = checkBoolean('RMSprop', 'centered', options.centered ?? false);
    const f = Math.fround;
    this.step = {
      learningRate: 0,
      rho: f(this.rho),
      oneMinusRho: f(1 - this.rho),
      momentum: f(this.momentum),
      epsilon: f(this.epsilon),
    };
  }

  protected slotInitialValues(): readonly number[] {
    return [0, ...(this.momentum > 0 ? [0] : []), ...(this.centered ? [0] : [])];
  }

  protected override prepareStep(learningRate: number): void {
    this.step.learningRate = learningRate;
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: readonly Float32Array[]): void {
    const momentum = this.momentum > 0 ? slots[1] : null;
    const average = this.centered ? slots[this.momentum > 0 ? 2 : 1] : null;
    variable.kernels.rmspropUpdate(variable.value, gradient, slots[0], average, momentum, this.step);
  }

  override getConfig(): KerasConfig {
    return {
      ...super.getConfig(),
      rho: this.rho,
      momentum: this.momentum,
      epsilon: this.epsilon,
      centered: this.centered,
    };
  }
}
