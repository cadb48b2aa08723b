import { OptimizerConfigError } from '../errors.js';
import { checkNumber, checkString, type KerasConfig } from '../config.js';
import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import { f32, LearningRateSchedule } from './learningRateSchedule.js';

/** Options of {@link PiecewiseConstantDecay} (Keras's arguments in camelCase). */
export interface PiecewiseConstantDecayOptions {
  /** Step boundaries b₀ < b₁ < … (one fewer than `values`). */
  boundaries: readonly number[];
  /** The rate on each interval. */
  values: readonly number[];
  /** Default `'PiecewiseConstant'`. */
  name?: string;
}

/**
 * Piecewise constant: `η(t) = v₀` for `t ≤ b₀`, `vᵢ₊₁` for `bᵢ < t ≤ bᵢ₊₁`, `v_last` for `t > b_last`.
 * As in Keras, boundaries are compared with the integer step after truncation to integers.
 */
export class PiecewiseConstantDecay extends LearningRateSchedule {
  readonly className = 'PiecewiseConstantDecay';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    boundaries: true,
    values: true,
    name: true,
  } as const satisfies OptionKeys<PiecewiseConstantDecayOptions>;
  readonly name: string;
  readonly boundaries: readonly number[];
  readonly values: readonly number[];
  private readonly integerBoundaries: Float64Array;
  private readonly valuesF32: Float64Array;

  constructor(options: PiecewiseConstantDecayOptions) {
    checkOptions('PiecewiseConstantDecay', options, PiecewiseConstantDecay.optionKeys);
    super();
    const owner = 'PiecewiseConstantDecay';
    if (!Array.isArray(options.boundaries) || !Array.isArray(options.values)) {
      throw new OptimizerConfigError(`${owner}: boundaries and values must be arrays of numbers`);
    }
    if (options.boundaries.length !== options.values.length - 1) {
      throw new OptimizerConfigError(
        `${owner}: boundaries must have one element fewer than values, got ${options.boundaries.length} boundaries ` +
          `and ${options.values.length} values`,
      );
    }
    this.boundaries = Object.freeze(
      options.boundaries.map((b, i) => checkNumber(owner, `boundaries[${i}]`, b)),
    );
    this.values = Object.freeze(
      options.values.map((v, i) => checkNumber(owner, `values[${i}]`, v, { min: 0 })),
    );
    this.name = checkString(owner, 'name', options.name ?? 'PiecewiseConstant');
    this.integerBoundaries = Float64Array.from(this.boundaries, Math.trunc);
    this.valuesF32 = Float64Array.from(this.values, f32);
  }

  valueAt(step: number): number {
    // Keras sums indicator·value over the intervals, in float32; exactly one indicator is 1 for sorted boundaries.
    const b = this.integerBoundaries;
    const v = this.valuesF32;
    const last = b.length - 1;
    let result = 0;
    if (last < 0) return v[0];
    if (step <= b[0]) result = f32(result + v[0]);
    if (step > b[last]) result = f32(result + v[last + 1]);
    for (let i = 0; i < last; i++) if (step > b[i] && step <= b[i + 1]) result = f32(result + v[i + 1]);
    return result;
  }

  getConfig(): KerasConfig {
    return { boundaries: [...this.boundaries], values: [...this.values], name: this.name };
  }
}
