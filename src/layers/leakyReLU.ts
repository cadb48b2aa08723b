import type { ReluOptions } from '../kernels/kernels.js';
import { type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { checkNonNegative, ReluFamily } from './relu.js';

/** Options of {@link LeakyReLU}. */
export interface LeakyReLUOptions extends LayerOptions {
  /** Slope for negative inputs (default 0.3, Keras 3's; Keras 2 called it `alpha`). */
  negativeSlope?: number;
}

/** The keys of {@link LeakyReLUOptions}. */
const LEAKY_RELU_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  negativeSlope: true,
} as const satisfies OptionKeys<LeakyReLUOptions>;

/**
 * Keras's `LeakyReLU`: `y = x` for x ≥ 0, `negativeSlope·x` otherwise; derivative 1 or negativeSlope.
 */
export class LeakyReLU extends ReluFamily {
  readonly className = 'LeakyReLU';
  /** Slope for negative inputs. */
  readonly negativeSlope: number;
  protected readonly options: ReluOptions;

  constructor(options: LeakyReLUOptions = {}) {
    checkOptions('LeakyReLU', options, LEAKY_RELU_OPTION_KEYS);
    super(options, 'leaky_re_lu');
    this.negativeSlope = checkNonNegative(options.negativeSlope ?? 0.3, 'negative_slope', 'LeakyReLU');
    this.options = Object.freeze({ maxValue: Infinity, negativeSlope: this.negativeSlope, threshold: 0 });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), negative_slope: this.negativeSlope };
  }
}
