import type { AdadeltaStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkNumber, type KerasConfig } from './config.js';
import { Optimizer, type OptimizerOptions, OPTIMIZER_OPTION_KEYS } from './optimizer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Adadelta}. */
export interface AdadeltaOptions extends OptimizerOptions {
  /** ρ ∈ [0, 1], the decay of both running averages (default 0.95). */
  rho?: number;
  /** ε > 0 (default 1e-7). */
  epsilon?: number;
}

/**
 * Adadelta (Zeiler 2012) as Keras 3 computes it. Unlike the paper, the step is scaled by a learning rate whose
 * Keras default is 0.001 (use 1.0 for the paper's form); ρ = 0.95, ε = 1e-7:
 *
 * - `a ← ρ·a + (1 − ρ)·g²`
 * - `Δ = −√(d + ε) · g / √(a + ε)`
 * - `d ← ρ·d + (1 − ρ)·Δ²`
 * - `θ ← θ + η·Δ`
 *
 * Slots: `accumulated_grad` (a), `accumulated_delta_var` (d); zeros. Kernel: `adadeltaUpdate`.
 *
 * The seed notebook writes `keras.optimizers.AdaDelta(...)` (a typo: Keras's class is `Adadelta`) and files it
 * under "RMSprop"; the right call is `new Adadelta({ learningRate: 0.001, rho: 0.9 })`, Keras's
 * `keras.optimizers.Adadelta(learning_rate=0.001, rho=0.9)`.
 */
export class Adadelta extends Optimizer {
  readonly className = 'Adadelta';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    ...OPTIMIZER_OPTION_KEYS,
    rho: true,
    epsilon: true,
  } as const satisfies OptionKeys<AdadeltaOptions>;
  readonly rho: number;
  readonly epsilon: number;
  private readonly step: AdadeltaStep;

  constructor(options: AdadeltaOptions = {}) {
    checkOptions('Adadelta', options, Adadelta.optionKeys);
    super(options, { learningRate: 0.001, name: 'adadelta' });
    this.rho = checkNumber('Adadelta', 'rho', options.rho ?? 0.95, { min: 0, max: 1 });
    this.epsilon = checkNumber('Adadelta', 'epsilon', options.epsilon ?? 1e-7, {
      min: 0,
      minExclusive: true,
    });
    const f = Math.fround;
    this.step = { learningRate: 0, rho: f(this.rho), oneMinusRho: f(1 - this.rho), epsilon: f(this.epsilon) };
  }

  protected slotInitialValues(): readonly number[] {
    return [0, 0];
  }

  protected override prepareStep(learningRate: number): void {
    this.step.learningRate = learningRate;
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: readonly Float32Array[]): void {
    variable.kernels.adadeltaUpdate(variable.value, gradient, slots[0], slots[1], this.step);
  }

  override getConfig(): KerasConfig {
    return { ...super.getConfig(), rho: this.rho, epsilon: this.epsilon };
  }
}
