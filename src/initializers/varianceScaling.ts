import { checkOptions, type OptionKeys } from '../kernels/options.js';
import type { Shape } from '../tensor/tensor.js';
import { computeFans, Initializer } from './initializer.js';

/** Which fan the variance is scaled by. */
export type FanMode = 'fan_in' | 'fan_out' | 'fan_avg';
/** The distribution samples are drawn from. */
export type VarianceScalingDistribution = 'truncated_normal' | 'untruncated_normal' | 'uniform';

const FAN_MODES: readonly FanMode[] = ['fan_in', 'fan_out', 'fan_avg'];
const DISTRIBUTIONS: readonly VarianceScalingDistribution[] = [
  'truncated_normal',
  'untruncated_normal',
  'uniform',
];

/** Options of {@link VarianceScaling}, named as Keras names them. */
export interface VarianceScalingOptions {
  scale?: number;
  mode?: FanMode;
  distribution?: VarianceScalingDistribution;
  seed?: number | null;
}

/** The keys of {@link VarianceScalingOptions}. */
const VARIANCE_SCALING_OPTION_KEYS = {
  scale: true,
  mode: true,
  distribution: true,
  seed: true,
} as const satisfies OptionKeys<VarianceScalingOptions>;

/** Options of the fixed-variance initializers (`GlorotUniform`, `HeNormal`, …): only Keras's `seed`. */
export interface SeedOptions {
  /** Draw from a private generator seeded with this instead of the global one (default null). */
  seed?: number | null;
}

/** The keys of {@link SeedOptions}. */
const SEED_OPTION_KEYS = { seed: true } as const satisfies OptionKeys<SeedOptions>;

/**
 * Keras's `VarianceScaling`: with `n` the chosen fan,
 * - truncated_normal: samples from N(0, σ²) cut at ±2σ, σ = √(scale / n) / 0.87962566103423978
 *   (the constant makes the truncated distribution's deviation √(scale / n));
 * - untruncated_normal: N(0, scale / n);
 * - uniform: U(−ℓ, ℓ) with ℓ = √(3 · scale / n).
 */
export class VarianceScaling extends Initializer {
  readonly className: string = 'VarianceScaling';
  readonly scale: number;
  readonly mode: FanMode;
  readonly distribution: VarianceScalingDistribution;

  constructor(options: VarianceScalingOptions = {}) {
    checkOptions(new.target.name, options, VARIANCE_SCALING_OPTION_KEYS);
    super(options.seed ?? null);
    this.scale = options.scale ?? 1;
    this.mode = options.mode ?? 'fan_in';
    this.distribution = options.distribution ?? 'truncated_normal';
    if (!(this.scale > 0)) throw new RangeError(`VarianceScaling: scale must be positive, got ${this.scale}`);
    // Keras raises on anything else; without this check a typo ('fan_inn') silently meant fan_avg.
    if (!FAN_MODES.includes(this.mode)) {
      throw new RangeError(
        `VarianceScaling: mode must be one of ${FAN_MODES.join(', ')}, got ${JSON.stringify(this.mode)}`,
      );
    }
    if (!DISTRIBUTIONS.includes(this.distribution)) {
      throw new RangeError(
        `VarianceScaling: distribution must be one of ${DISTRIBUTIONS.join(', ')}, got ${JSON.stringify(this.distribution)}`,
      );
    }
  }

  fill(target: Float32Array, shape: Shape): void {
    const { fanIn, fanOut } = computeFans(shape);
    const fan = this.mode === 'fan_in' ? fanIn : this.mode === 'fan_out' ? fanOut : (fanIn + fanOut) / 2;
    const variance = this.scale / Math.max(1, fan);
    const random = this.random();
    if (this.distribution === 'uniform') {
      const limit = Math.sqrt(3 * variance);
      for (let i = 0; i < target.length; i++) target[i] = (random.uniform() * 2 - 1) * limit;
    } else if (this.distribution === 'truncated_normal') {
      const stddev = Math.sqrt(variance) / 0.8796256610342398;
      for (let i = 0; i < target.length; i++) target[i] = random.truncatedNormal() * stddev;
    } else {
      const stddev = Math.sqrt(variance);
      for (let i = 0; i < target.length; i++) target[i] = random.normal() * stddev;
    }
  }

  override getConfig(): Record<string, unknown> {
    return { scale: this.scale, mode: this.mode, distribution: this.distribution, seed: this.seed };
  }
}

/** Glorot (Xavier) uniform, Keras's default kernel initializer: U(−ℓ, ℓ), ℓ = √(6 / (fanIn + fanOut)). */
export class GlorotUniform extends VarianceScaling {
  override readonly className: string = 'GlorotUniform';
  constructor(options: SeedOptions = {}) {
    checkOptions('GlorotUniform', options, SEED_OPTION_KEYS);
    super({ scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: options.seed });
  }
  override getConfig(): Record<string, unknown> {
    return { seed: this.seed };
  }
}

/** Glorot (Xavier) normal: truncated N(0, 2 / (fanIn + fanOut)). */
export class GlorotNormal extends VarianceScaling {
  override readonly className: string = 'GlorotNormal';
  constructor(options: SeedOptions = {}) {
    checkOptions('GlorotNormal', options, SEED_OPTION_KEYS);
    super({ scale: 1, mode: 'fan_avg', distribution: 'truncated_normal', seed: options.seed });
  }
  override getConfig(): Record<string, unknown> {
    return { seed: this.seed };
  }
}

/** LeCun normal, SELU's companion: truncated N(0, 1 / fanIn). */
export class LecunNormal extends VarianceScaling {
  override readonly className: string = 'LecunNormal';
  constructor(options: SeedOptions = {}) {
    checkOptions('LecunNormal', options, SEED_OPTION_KEYS);
    super({ scale: 1, mode: 'fan_in', distribution: 'truncated_normal', seed: options.seed });
  }
  override getConfig(): Record<string, unknown> {
    return { seed: this.seed };
  }
}

/** LeCun uniform: U(−ℓ, ℓ), ℓ = √(3 / fanIn). */
export class LecunUniform extends VarianceScaling {
  override readonly className: string = 'LecunUniform';
  constructor(options: SeedOptions = {}) {
    checkOptions('LecunUniform', options, SEED_OPTION_KEYS);
    super({ scale: 1, mode: 'fan_in', distribution: 'uniform', seed: options.seed });
  }
  override getConfig(): Record<string, unknown> {
    return { seed: this.seed };
  }
}

/** He normal, ReLU's companion: truncated N(0, 2 / fanIn). */
export class HeNormal extends VarianceScaling {
  override readonly className: string = 'HeNormal';
  constructor(options: SeedOptions = {}) {
    checkOptions('HeNormal', options, SEED_OPTION_KEYS);
    super({ scale: 2, mode: 'fan_in', distribution: 'truncated_normal', seed: options.seed });
  }
  override getConfig(): Record<string, unknown> {
    return { seed: this.seed };
  }
}

/** He uniform: U(−ℓ, ℓ), ℓ = √(6 / fanIn). */
export class HeUniform extends VarianceScaling {
  override readonly className: string = 'HeUniform';
  constructor(options: SeedOptions = {}) {
    checkOptions('HeUniform', options, SEED_OPTION_KEYS);
    super({ scale: 2, mode: 'fan_in', distribution: 'uniform', seed: options.seed });
  }
  override getConfig(): Record<string, unknown> {
    return { seed: this.seed };
  }
}
