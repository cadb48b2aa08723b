import type { AdagradStep } from '../kernels/kernels.js';
import type { Variable } from '../tensor/variable.js';
import { checkNumber, type KerasConfig } from './config.js';
import { Optimizer, type OptimizerOptions, OPTIMIZER_OPTION_KEYS } from './optimizer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Adagrad}. */
export interface AdagradOptions extends OptimizerOptions {
  /** a₀ ≥ 0, the accumulators' starting value (default 0.1, Keras's; the paper starts at 0). */
  initialAccumulatorValue?: number;
  /** ε > 0, inside the square root (default 1e-7). */
  epsilon?: number;
}

/**
 * Adagrad (Duchi et al. 2011) as Keras 3 computes it (defaults η = 0.001, a₀ = 0.1, ε = 1e-7):
 *
 * - `a ← a + g²`
 * - `θ ← θ − η·g / √(a + ε)`
 *
 * Slots: `accumulator` (a, filled with a₀). Kernel: `adagradUpdate`.
 */
export class Adagrad extends Optimizer {
  readonly className = 'Adagrad';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    ...OPTIMIZER_OPTION_KEYS,
    initialAccumulatorValue: true,
    epsilon: true,
  } as const satisfies OptionKeys<AdagradOptions>;
  readonly initialAccumulatorValue: number;
  readonly epsilon: number;
  private readonly step: AdagradStep;

  constructor(options: AdagradOptions = {}) {
    checkOptions('Adagrad', options, Adagrad.optionKeys);
    super(options, { learningRate: 0.001, name: 'adagrad' });
    this.initialAccumulatorValue = checkNumber(
      'Adagrad',
      'initialAccumulatorValue',
      options.initialAccumulatorValue ?? 0.1,
      {
        min: 0,
      },
    );
    this.epsilon = checkNumber('Adagrad', 'epsilon', options.epsilon ?? 1e-7, { min: 0, minExclusive: true });
    this.step = { learningRate: 0, epsilon: Math.fround(this.epsilon) };
  }

  protected slotInitialValues(): readonly number[] {
    return [Math.fround(this.initialAccumulatorValue)];
  }

  protected override prepareStep(learningRate: number): void {
    this.step.learningRate = learningRate;
  }

  protected updateStep(variable: Variable, gradient: Float32Array, slots: readonly Float32Array[]): void {
    variable.kernels.adagradUpdate(variable.value, gradient, slots[0], this.step);
  }

  override getConfig(): KerasConfig {
    return {
      ...super.getConfig(),
      initial_accumulator_value: this.initialAccumulatorValue,
      epsilon: this.epsilon,
    };
  }
}
