import { checkNumber, checkOptionalNumber, checkString, type KerasConfig } from '../config.js';
import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import { f32, LearningRateSchedule, PI_F32 } from './learningRateSchedule.js';

/** Options of {@link CosineDecay} (Keras's arguments in camelCase). */
export interface CosineDecayOptions {
  /** η₀: the rate at step 0 (the start of the warmup when there is one). */
  initialLearningRate: number;
  /** s > 0: length of the cosine decay (after the warmup). */
  decaySteps: number;
  /** α: the floor of the decay as a fraction of the decayed-from rate (default 0). */
  alpha?: number;
  /** Default `'CosineDecay'`. */
  name?: string;
  /** η_w: the rate reached at the end of a linear warmup (default null: no warmup). */
  warmupTarget?: number | null;
  /** w: length of the linear warmup (default 0). */
  warmupSteps?: number;
}

/**
 * Cosine decay (SGDR without restarts), optionally after a linear warmup. With `decay(t, η) =
 * η · ((1 − α) · ½(1 + cos(π · t / s)) + α)`:
 *
 * - no warmup: `η(t) = decay(min(t, s), η₀)`
 * - warmup: with `t' = min(t, s + w)`, `η(t) = η₀ + (η_w − η₀) · t' / w` while `t' < w`, else `decay(t' − w, η_w)`.
 */
export class CosineDecay extends LearningRateSchedule {
  readonly className = 'CosineDecay';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    initialLearningRate: true,
    decaySteps: true,
    alpha: true,
    name: true,
    warmupTarget: true,
    warmupSteps: true,
  } as const satisfies OptionKeys<CosineDecayOptions>;
  readonly name: string;
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly alpha: number;
  readonly warmupTarget: number | null;
  readonly warmupSteps: number;

  constructor(options: CosineDecayOptions) {
    checkOptions('CosineDecay', options, CosineDecay.optionKeys);
    super();
    const owner = 'CosineDecay';
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', options.initialLearningRate, {
      min: 0,
    });
    this.decaySteps = checkNumber(owner, 'decaySteps', options.decaySteps, { min: 0, minExclusive: true });
    this.alpha = checkNumber(owner, 'alpha', options.alpha ?? 0.0, { min: 0 });
    this.name = checkString(owner, 'name', options.name ?? 'CosineDecay');
    this.warmupTarget = checkOptionalNumber(owner, 'warmupTarget', options.warmupTarget, { min: 0 });
    this.warmupSteps = checkNumber(owner, 'warmupSteps', options.warmupSteps ?? 0, { min: 0 });
  }

  valueAt(step: number): number {
    const initial = f32(this.initialLearningRate);
    const decaySteps = f32(this.decaySteps);
    const t = f32(step);
    if (this.warmupTarget === null) return this.decay(Math.min(t, decaySteps), decaySteps, initial);
    const target = f32(this.warmupTarget);
    const warmupSteps = f32(this.warmupSteps);
    const clamped = Math.min(t, f32(decaySteps + warmupSteps));
    if (clamped < warmupSteps) {
      const fraction = f32(clamped / warmupSteps);
      return f32(f32(f32(target - initial) * fraction) + initial);
    }
    return this.decay(f32(clamped - warmupSteps), decaySteps, target);
  }

  private decay(t: number, decaySteps: number, from: number): number {
    const fraction = f32(t / decaySteps);
    const cosine = f32(0.5 * f32(1 + f32(Math.cos(f32(PI_F32 * fraction)))));
    const decayed = f32(f32(f32(1 - this.alpha) * cosine) + f32(this.alpha));
    return f32(from * decayed);
  }

  getConfig(): KerasConfig {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      alpha: this.alpha,
      name: this.name,
      warmup_target: this.warmupTarget,
      warmup_steps: this.warmupSteps,
    };
  }
}
