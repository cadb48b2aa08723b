import type { SgdStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkBoolean, checkNumber, type KerasConfig } from './config.js';
import { Optimizer, type OptimizerOptions, OPTIMIZER_OPTION_KEYS } from './optimizer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link SGD}. */
export interface SGDOptions extends OptimizerOptions {
  /** μ ∈ [0, 1], default 0. */
  momentum?: number;
  /** Use Nesterov momentum (default false). */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent, Keras 3's exact form (defaults η = 0.01, μ = 0, nesterov = false):
 *
 * - μ = 0: `θ ← θ − η·g`
 * - momentum: `v ← μ·v − η·g`, `θ ← θ + v`
 * - Nesterov (Keras's form, not PyTorch's): `v ← μ·v − η·g`, `θ ← θ + μ·v − η·g`
 *
 * Rounding, bit for bit as Keras 3 on PyTorch (`torch_sgd.py`, float32 variables, η and μ float32 values):
 * with `fl` rounding to float32 and `fma(x, α, y) = fl(x + α·y)` rounded once (PyTorch's CPU
 * `add(alpha=…)` is a fused multiply-add),
 *
 * - μ = 0: `θ ← fma(θ, −η, g)`
 * - momentum: `v ← fma(fl(v·μ), −η, g)`, `θ ← fl(θ + v)`
 * - Nesterov: `v ← fma(fl(v·μ), −η, g)`, `θ ← fma(fma(θ, −η, g), μ, v)`
 *
 * Slots: `momentum` (v, zeros) when μ ≠ 0. Kernel: `sgdUpdate`.
 */
export class SGD extends Optimizer {
  readonly className = 'SGD';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    ...OPTIMIZER_OPTION_KEYS,
    momentum: true,
    nesterov: true,
  } as const satisfies OptionKeys<SGDOptions>;
  /** μ. */
  readonly momentum: number;
  /** Whether the Nesterov form is used. */
  readonly nesterov: boolean;
  private readonly step: SgdStep;

  constructor(options: SGDOptions = {}) {
    checkOptions('SGD', options, SGD.optionKeys);
    super(options, { learningRate: 0.01, name: 'SGD' });
    this.momentum = checkNumber('SGD', 'momentum', options.momentum ?? 0.0, { min: 0, max: 1 });
    this.nesterov = checkBoolean('SGD', 'nesterov', options.nesterov ?? false);
    this.step = { learningRate: 0, momentum: Math.fround(this.momentum), nesterov: this.nesterov };
  }

  protected slotInitialValues(): readonly number[] {
    return this.momentum !== 0 ? [0] : [];
  }

  protected override prepareStep(learningRate: number): void {
    this.step.learningRate = learningRate;
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: readonly Float32Array[]): void {
    variable.kernels.sgdUpdate(variable.value, gradient, slots[0] ?? null, this.step);
  }

  override getConfig(): KerasConfig {
    return { ...super.getConfig(), momentum: this.momentum, nesterov: this.nesterov };
  }
}
