import type { SgdStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { Optimizer, OptimizerConfigError, type OptimizerOptions } from './optimizer.js';

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
 * - Nesterov: `v ← μ·v − η·g`, `θ ← θ + μ·v − η·g`
 */
export class SGD extends Optimizer {
  readonly className = 'SGD';
  /** μ. */
  readonly momentum: number;
  /** Whether the Nesterov form is used. */
  readonly nesterov: boolean;
  private readonly step: SgdStep;

  constructor(options: SGDOptions = {}) {
    super(options, { learningRate: 0.01, name: 'SGD' });
    this.momentum = options.momentum ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (!(this.momentum >= 0 && this.momentum <= 1)) {
      throw new OptimizerConfigError(`SGD: momentum must be in [0, 1], got ${this.momentum}`);
    }
    this.step = { learningRate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov };
  }

  protected slotCount(): number {
    return this.momentum > 0 ? 1 : 0;
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: Float32Array[]): void {
    this.step.learningRate = this.learningRate;
    variable.kernels.sgdUpdate(variable.value, gradient, slots[0] ?? null, this.step);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), momentum: this.momentum, nesterov: this.nesterov };
  }
}
