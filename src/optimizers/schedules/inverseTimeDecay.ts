import { checkBoolean, checkNumber, checkString, type KerasConfig } from '../config.js';
import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import { f32, LearningRateSchedule } from './learningRateSchedule.js';

/** Options of {@link InverseTimeDecay} (Keras's arguments in camelCase). */
export interface InverseTimeDecayOptions {
  /** η₀. */
  initialLearningRate: number;
  /** s > 0. */
  decaySteps: number;
  /** r ≥ 0. */
  decayRate: number;
  /** Decay in whole intervals (default false). */
  staircase?: boolean;
  /** Default `'InverseTimeDecay'`. */
  name?: string;
}

/**
 * Inverse time decay: `η(t) = η₀ / (1 + r · t / s)`, or `η₀ / (1 + r · ⌊t / s⌋)` with `staircase`.
 */
export class InverseTimeDecay extends LearningRateSchedule {
  readonly className = 'InverseTimeDecay';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    initialLearningRate: true,
    decaySteps: true,
    decayRate: true,
    staircase: true,
    name: true,
  } as const satisfies OptionKeys<InverseTimeDecayOptions>;
  readonly name: string;
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;

  constructor(options: InverseTimeDecayOptions) {
    checkOptions('InverseTimeDecay', options, InverseTimeDecay.optionKeys);
    super();
    const owner = 'InverseTimeDecay';
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', options.initialLearningRate, {
      min: 0,
    });
    this.decaySteps = checkNumber(owner, 'decaySteps', options.decaySteps, { min: 0, minExclusive: true });
    this.decayRate = checkNumber(owner, 'decayRate', options.decayRate, { min: 0 });
    this.staircase = checkBoolean(owner, 'staircase', options.staircase ?? false);
    this.name = checkString(owner, 'name', options.name ?? 'InverseTimeDecay');
  }

  valueAt(step: number): number {
    let p = f32(f32(step) / f32(this.decaySteps));
    if (this.staircase) p = Math.floor(p);
    const denominator = f32(1 + f32(f32(this.decayRate) * p));
    return f32(f32(this.initialLearningRate) / denominator);
  }

  getConfig(): KerasConfig {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      decay_rate: this.decayRate,
      staircase: this.staircase,
      name: this.name,
    };
  }
}
