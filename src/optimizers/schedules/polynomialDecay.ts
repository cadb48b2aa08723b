import { checkBoolean, checkNumber, checkString, type KerasConfig } from '../config.js';
import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import { f32, LearningRateSchedule } from './learningRateSchedule.js';

/** Options of {@link PolynomialDecay} (Keras's arguments in camelCase). */
export interface PolynomialDecayOptions {
  /** η₀. */
  initialLearningRate: number;
  /** s > 0. */
  decaySteps: number;
  /** η_end (default 0.0001). */
  endLearningRate?: number;
  /** k (default 1: linear). */
  power?: number;
  /** Restart the decay every `decaySteps`·⌈t / s⌉ (default false). */
  cycle?: boolean;
  /** Default `'PolynomialDecay'`. */
  name?: string;
}

/**
 * Polynomial decay: `η(t) = (η₀ − η_end) · (1 − min(t, s) / s)^k + η_end`; with `cycle`, s is replaced by
 * `s · ⌈t / s⌉` (and by s itself at t = 0).
 */
export class PolynomialDecay extends LearningRateSchedule {
  readonly className = 'PolynomialDecay';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    initialLearningRate: true,
    decaySteps: true,
    endLearningRate: true,
    power: true,
    cycle: true,
    name: true,
  } as const satisfies OptionKeys<PolynomialDecayOptions>;
  readonly name: string;
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly endLearningRate: number;
  readonly power: number;
  readonly cycle: boolean;

  constructor(options: PolynomialDecayOptions) {
    checkOptions('PolynomialDecay', options, PolynomialDecay.optionKeys);
    super();
    const owner = 'PolynomialDecay';
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', options.initialLearningRate, {
      min: 0,
    });
    this.decaySteps = checkNumber(owner, 'decaySteps', options.decaySteps, { min: 0, minExclusive: true });
    this.endLearningRate = checkNumber(owner, 'endLearningRate', options.endLearningRate ?? 0.0001, {
      min: 0,
    });
    this.power = checkNumber(owner, 'power', options.power ?? 1.0, { min: 0 });
    this.cycle = checkBoolean(owner, 'cycle', options.cycle ?? false);
    this.name = checkString(owner, 'name', options.name ?? 'PolynomialDecay');
  }

  valueAt(step: number): number {
    const initial = f32(this.initialLearningRate);
    const end = f32(this.endLearningRate);
    let t = f32(step);
    let decaySteps = f32(this.decaySteps);
    if (this.cycle) {
      const multiplier = t === 0 ? 1 : Math.ceil(f32(t / decaySteps));
      decaySteps = f32(decaySteps * multiplier);
    } else {
      t = Math.min(t, decaySteps);
    }
    const p = f32(t / decaySteps);
    return f32(f32(f32(initial - end) * f32(Math.pow(f32(1 - p), f32(this.power)))) + end);
  }

  getConfig(): KerasConfig {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      end_learning_rate: this.endLearningRate,
      power: this.power,
      cycle: this.cycle,
      name: this.name,
    };
  }
}
