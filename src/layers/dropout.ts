import { RandomGenerator, type RandomState, RandomStateError, trainingRandom } from '../tensor/random.js';
import { type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Dropout}, Keras's names in camelCase. */
export interface DropoutOptions extends LayerOptions {
  /** Fraction of the inputs to drop during training, in [0, 1). */
  rate: number;
  /** Keras's `noise_shape`; only `null` (an independent draw per element) is supported. */
  noiseShape?: null;
  /** Draw the masks from a private generator seeded with this, instead of warmstart's global one. */
  seed?: number | null;
}

/** The keys of {@link DropoutOptions}. */
const DROPOUT_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  rate: true,
  noiseShape: true,
  seed: true,
} as const satisfies OptionKeys<DropoutOptions>;

/** Checks a dropout rate as Keras does (rate 1 would divide by zero when rescaling). */
export function checkDropoutRate(owner: string, rate: unknown): number {
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
    throw new RangeError(`${owner}: rate must be a number in [0, 1), got ${String(rate)}`);
  }
  return rate;
}

/** Rejects a `noise_shape`, which warmstart does not implement, instead of ignoring it. */
export function checkNoiseShape(owner: string, noiseShape: unknown): void {
  if (noiseShape !== null && noiseShape !== undefined) {
    throw new RangeError(`${owner}: noise_shape ${JSON.stringify(noiseShape)} is not supported (only null)`);
  }
}

/**
 * Dropout (Srivastava et al. 2014), Keras's inverted form: during training each input is kept with
 * probability `1 − rate` and scaled by `1/(1 − rate)`, else zeroed; at inference it is the identity.
 *
 * With the mask `m_i ∈ {0, 1/(1 − rate)}` drawn in the forward pass: `y = x ⊙ m`, `∂L/∂x = ∂L/∂y ⊙ m`.
 * The masks come from the generator of the epoch `fit` is running (a function of the fit's seed and the
 * epoch; outside `fit`, warmstart's global generator), or from the layer's own generator when it has a
 * `seed`; either way runs repeat, and a resumed run draws the same masks.
 */
export class Dropout extends Layer {
  readonly className: string = 'Dropout';
  /** Fraction dropped during training. */
  readonly rate: number;
  /** The layer's own seed, or null to draw from the global generator. */
  readonly seed: number | null;
  /** Draws one uniform number in [0, 1) from the layer's generator (kept as a field: no closure per step). */
  protected readonly uniform: () => number;
  /** The layer's own generator (when it has a `seed`), or null. */
  private readonly generator: RandomGenerator | null;
  /** The mask of the last training forward pass (zero or the kept scale, per element). */
  protected readonly mask = new BatchBuffer(
    () => this.kernels,
    () => this.width,
  );
  /** The output of the last training forward pass. */
  protected readonly output = new BatchBuffer(
    () => this.kernels,
    () => this.width,
  );
  private readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => this.width,
  );
  /** Whether the last forward pass applied a mask (training with a non-zero rate). */
  protected masked = false;

  constructor(options: DropoutOptions, defaultPrefix = 'dropout') {
    checkOptions(new.target.name, options, DROPOUT_OPTION_KEYS);
    super(options, defaultPrefix);
    this.rate = checkDropoutRate(new.target.name, options.rate);
    checkNoiseShape(new.target.name, options.noiseShape);
    this.seed = options.seed ?? null;
    const generator = this.seed === null ? null : new RandomGenerator(this.seed);
    this.generator = generator;
    this.uniform = () => (generator ?? trainingRandom()).uniform();
  }

  /**
   * The state of the layer's own generator (a layer with a `seed`), or null when it draws from `fit`'s.
   * `BackupAndRestore` stores it, so that a resumed run draws the masks the uninterrupted one would.
   */
  getRandomState(): RandomState | null {
    return this.generator?.getState() ?? null;
  }

  /**
   * Restores the layer's own generator from {@link getRandomState} (null for a layer without a `seed`).
   * @throws RandomStateError for a state that is not one, or a state given to a layer without its own generator
   */
  setRandomState(state: RandomState | null): void {
    if (state === null && this.generator === null) return;
    if (state === null || this.generator === null) {
      throw new RandomStateError(
        this.generator === null
          ? `layer '${this.name}' has no seed, so no generator of its own to restore`
          : `layer '${this.name}' has a seed: its generator needs a state, got null`,
      );
    }
    this.generator.setState(state);
  }

  /** Elements per sample. */
  protected get width(): number {
    return sizeOf(this.inputShape ?? []);
  }

  computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }

  forward(input: Float32Array, batch: number, training: boolean): Float32Array {
    this.masked = training && this.rate > 0;
    if (!this.masked) return input;
    const n = batch * this.width;
    const mask = this.mask.rows(batch);
    const output = this.output.rows(batch);
    this.kernels.dropoutMask(mask, n, this.rate, Math.fround(1 / (1 - this.rate)), this.uniform);
    this.kernels.multiplyElementwise(input, mask, output, n);
    return output;
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
  ): Float32Array | null {
    if (!computeInputGradient) return null;
    if (!this.masked) return outputGradient;
    const inputGradient = this.inputGradient.rows(batch);
    this.kernels.multiplyElementwise(
      outputGradient,
      this.mask.rows(batch),
      inputGradient,
      batch * this.width,
    );
    return inputGradient;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed, noise_shape: null };
  }

  override dispose(): void {
    for (const buffer of [this.mask, this.output, this.inputGradient]) buffer.release();
    super.dispose();
  }
}
