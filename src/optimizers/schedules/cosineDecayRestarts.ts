import { checkNumber, checkString, type KerasConfig } from '../config.js';
import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import { f32, LearningRateSchedule, PI_F32 } from './learningRateSchedule.js';

/** Options of {@link CosineDecayRestarts} (Keras's arguments in camelCase). */
export interface CosineDecayRestartsOptions {
  /** η₀. */
  initialLearningRate: number;
  /** s₀ > 0: length of the first period. */
  firstDecaySteps: number;
  /** Each period is `tMul` times longer than the last (default 2). */
  tMul?: number;
  /** Each restart starts at `mMul` times the last one's rate (default 1). */
  mMul?: number;
  /** α: the floor as a fraction of η₀ (default 0). */
  alpha?: number;
  /** Default `'SGDRDecay'`. */
  name?: string;
}

/**
 * Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017). With `x = t / s₀`, the period index is
 * `i = ⌊x⌋` when `tMul = 1`, else `i = ⌊log(1 − x·(1 − tMul)) / log(tMul)⌋`, and the fraction of period i done is
 * `x − i` or `(x − (1 − tMul^i)/(1 − tMul)) / tMul^i`; then
 * `η(t) = η₀ · ((1 − α) · mMul^i · ½(1 + cos(π·fraction)) + α)`.
 * Computed in float32 like Keras, including its logarithms (which decide on which side of a restart a step falls).
 */
export class CosineDecayRestarts extends LearningRateSchedule {
  readonly className = 'CosineDecayRestarts';
  /** The options the constructor takes; anything else is an `UnknownOptionError`. */
  static readonly optionKeys = {
    initialLearningRate: true,
    firstDecaySteps: true,
    tMul: true,
    mMul: true,
    alpha: true,
    name: true,
  } as const satisfies OptionKeys<CosineDecayRestartsOptions>;
  readonly name: string;
  readonly initialLearningRate: number;
  readonly firstDecaySteps: number;
  readonly tMul: number;
  readonly mMul: number;
  readonly alpha: number;

  constructor(options: CosineDecayRestartsOptions) {
    checkOptions('CosineDecayRestarts', options, CosineDecayRestarts.optionKeys);
    super();
    const owner = 'CosineDecayRestarts';
    this.initialLearningRate = checkNumber(owner, 'initialLearningRate', options.initialLearningRate, {
      min: 0,
    });
    this.firstDecaySteps = checkNumber(owner, 'firstDecaySteps', options.firstDecaySteps, {
      min: 0,
      minExclusive: true,
    });
    this.tMul = checkNumber(owner, 'tMul', options.tMul ?? 2.0, { min: 0, minExclusive: true });
    this.mMul = checkNumber(owner, 'mMul', options.mMul ?? 1.0, { min: 0 });
    this.alpha = checkNumber(owner, 'alpha', options.alpha ?? 0.0, { min: 0 });
    this.name = checkString(owner, 'name', options.name ?? 'SGDRDecay');
  }

  valueAt(step: number): number {
    const alpha = f32(this.alpha);
    const tMul = f32(this.tMul);
    const mMul = f32(this.mMul);
    let fraction = f32(f32(step) / f32(this.firstDecaySteps));
    let restart: number;
    if (tMul === 1) {
      restart = Math.floor(fraction);
      fraction = f32(fraction - restart);
    } else {
      const logRatio = f32(f32(Math.log(f32(1 - f32(fraction * f32(1 - tMul))))) / f32(Math.log(tMul)));
      restart = Math.floor(logRatio);
      const growth = f32(Math.pow(tMul, restart));
      const done = f32(f32(1 - growth) / f32(1 - tMul));
      fraction = f32(f32(fraction - done) / growth);
    }
    const factor = f32(Math.pow(mMul, restart));
    const cosine = f32(f32(0.5 * factor) * f32(1 + f32(Math.cos(f32(PI_F32 * fraction)))));
    const decayed = f32(f32(f32(1 - alpha) * cosine) + alpha);
    return f32(f32(this.initialLearningRate) * decayed);
  }

  getConfig(): KerasConfig {
    return {
      initial_learning_rate: this.initialLearningRate,
      first_decay_steps: this.firstDecaySteps,
      t_mul: this.tMul,
      m_mul: this.mMul,
      alpha: this.alpha,
      name: this.name,
    };
  }
}
