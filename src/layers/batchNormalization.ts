import {
  getInitializer,
  type Initializer,
  type InitializerLike,
  serializeInitializer,
} from '../initializers/index.js';
import { DisposedError } from '../kernels/errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { OwnedMemory } from '../tensor/ownership.js';
import { ShapeError, type Shape, sizeOf } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link BatchNormalization}, Keras's names in camelCase. */
export interface BatchNormalizationOptions extends LayerOptions {
  /** The features axis; only the last one (Keras's default, −1) is supported. */
  axis?: number;
  /** μ of the moving statistics: `moving ← μ·moving + (1 − μ)·batch` (default 0.99). */
  momentum?: number;
  /** ε added to the variance (default 0.001). */
  epsilon?: number;
  /** Learn an offset β (default true). */
  center?: boolean;
  /** Learn a scale γ (default true). */
  scale?: boolean;
  /** Initializer of β (default zeros). */
  betaInitializer?: InitializerLike;
  /** Initializer of γ (default ones). */
  gammaInitializer?: InitializerLike;
  /** Initializer of the moving mean (default zeros). */
  movingMeanInitializer?: InitializerLike;
  /** Initializer of the moving variance (default ones). */
  movingVarianceInitializer?: InitializerLike;
}

/** The keys of {@link BatchNormalizationOptions}. */
const BATCH_NORMALIZATION_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  axis: true,
  momentum: true,
  epsilon: true,
  center: true,
  scale: true,
  betaInitializer: true,
  gammaInitializer: true,
  movingMeanInitializer: true,
  movingVarianceInitializer: true,
} as const satisfies OptionKeys<BatchNormalizationOptions>;

/**
 * Batch normalization (Ioffe and Szegedy 2015) over the last axis, as Keras 3's `BatchNormalization`.
 *
 * Training (and the layer trainable): the batch's mean μ and biased variance σ² per feature give
 * `x̂ = (x − μ)/√(σ² + ε)`, `y = γ·x̂ + β`, and the moving statistics follow `m ← μₘ·m + (1 − μₘ)·μ`,
 * `v ← μₘ·v + (1 − μₘ)·σ²` (Keras 3 uses the biased σ² here; tf.keras's fused kernel used m/(m − 1)·σ²).
 * Backward through the batch statistics, with n rows: `∂L/∂β = Σ dy`, `∂L/∂γ = Σ dy·x̂`,
 * `∂L/∂x = γ/(n·√(σ² + ε))·(n·dy − Σ dy − x̂·Σ dy·x̂)`.
 *
 * Inference, or a frozen layer (`trainable = false`, as in Keras 3): the moving statistics are used as
 * constants, `∂L/∂x = γ·dy/√(v + ε)`.
 *
 * Weights in Keras's order: gamma, beta (trainable), moving_mean, moving_variance (never trained).
 */
export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  /** The features axis as given (−1 or the last axis's index counting the batch axis). */
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: Initializer;
  readonly gammaInitializer: Initializer;
  readonly movingMeanInitializer: Initializer;
  readonly movingVarianceInitializer: Initializer;

  private gammaWeight: Variable | null = null;
  private betaWeight: Variable | null = null;
  private movingMeanWeight: Variable | null = null;
  private movingVarianceWeight: Variable | null = null;
  private batchMean: Float32Array | null = null;
  private batchVariance: Float32Array | null = null;
  /** Owns the batch statistics (the weights own themselves). */
  private readonly statistics = new OwnedMemory(this);
  /** Whether the last forward pass normalised with the batch's statistics (else the moving ones). */
  private usedBatchStatistics = false;
  /**
   * The input of the last inference pass, whose x̂ was not kept (inference needs only y): a backward after it
   * (a gradient check in inference mode) recomputes x̂ from it. Null when the last pass kept x̂.
   */
  private inferenceInput: Float32Array | null = null;
  private readonly normalized = new BatchBuffer(
    () => this.kernels,
    () => this.width,
  );
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => this.width,
  );
  private readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => this.width,
  );

  constructor(options: BatchNormalizationOptions = {}) {
    checkOptions('BatchNormalization', options, BATCH_NORMALIZATION_OPTION_KEYS);
    super(options, 'batch_normalization');
    this.axis = options.axis ?? -1;
    if (!Number.isInteger(this.axis))
      throw new RangeError(`BatchNormalization: axis must be an integer, got ${this.axis}`);
    this.momentum = options.momentum ?? 0.99;
    this.epsilon = options.epsilon ?? 1e-3;
    if (!(this.momentum >= 0 && this.momentum <= 1)) {
      throw new RangeError(`BatchNormalization: momentum must be in [0, 1], got ${this.momentum}`);
    }
    if (!(this.epsilon > 0))
      throw new RangeError(`BatchNormalization: epsilon must be > 0, got ${this.epsilon}`);
    this.center = options.center ?? true;
    this.scale = options.scale ?? true;
    this.betaInitializer = getInitializer(options.betaInitializer ?? 'zeros');
    this.gammaInitializer = getInitializer(options.gammaInitializer ?? 'ones');
    this.movingMeanInitializer = getInitializer(options.movingMeanInitializer ?? 'zeros');
    this.movingVarianceInitializer = getInitializer(options.movingVarianceInitializer ?? 'ones');
  }

  /** Elements per sample. */
  private get width(): number {
    return sizeOf(this.inputShape ?? []);
  }

  /** Number of features (the last axis). */
  private get features(): number {
    const shape = this.inputShape ?? [];
    return shape[shape.length - 1];
  }

  /** γ, or null without `scale`. */
  get gamma(): Variable | null {
    return this.gammaWeight;
  }

  /** β, or null without `center`. */
  get beta(): Variable | null {
    return this.betaWeight;
  }

  /** The moving mean (built layers only). */
  get movingMean(): Variable {
    if (this.movingMeanWeight === null) {
      if (this.isDisposed) throw new DisposedError('layer', this.name, 'use its moving statistics');
      throw new Error(`layer '${this.name}' is not built yet`);
    }
    return this.movingMeanWeight;
  }

  /** The moving variance (built layers only). */
  get movingVariance(): Variable {
    if (this.movingVarianceWeight === null) {
      if (this.isDisposed) throw new DisposedError('layer', this.name, 'use its moving statistics');
      throw new Error(`layer '${this.name}' is not built yet`);
    }
    return this.movingVarianceWeight;
  }

  computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }

  protected override createWeights(inputShape: Shape, kernels: Kernels): void {
    const rank = inputShape.length + 1;
    const axis = this.axis < 0 ? this.axis + rank : this.axis;
    if (inputShape.length === 0 || axis !== rank - 1) {
      throw new ShapeError(
        `BatchNormalization '${this.name}': only the last axis can be normalised (axis -1), got axis ${this.axis} for inputs of shape [${inputShape.join(', ')}]`,
      );
    }
    const features = inputShape[inputShape.length - 1];
    const make = (name: string, initializer: Initializer): Variable => {
      const weight = this.addWeight(name, [features], kernels);
      initializer.fill(weight.value, weight.shape);
      return weight;
    };
    if (this.scale) this.gammaWeight = make('gamma', this.gammaInitializer);
    if (this.center) this.betaWeight = make('beta', this.betaInitializer);
    this.movingMeanWeight = make('moving_mean', this.movingMeanInitializer);
    this.movingVarianceWeight = make('moving_variance', this.movingVarianceInitializer);
    this.batchMean = this.statistics.alloc(kernels, features);
    this.batchVariance = this.statistics.alloc(kernels, features);
  }

  /** γ and β when the layer is trainable: the moving statistics are never trained (Keras's non-trainable weights). */
  override get trainableWeights(): Variable[] {
    if (!this.trainable) return [];
    return [this.gammaWeight, this.betaWeight].filter((weight): weight is Variable => weight !== null);
  }

  override get nonTrainableWeights(): Variable[] {
    if (!this.trainable) return [...this.weights];
    return [this.movingMeanWeight, this.movingVarianceWeight].filter(
      (weight): weight is Variable => weight !== null,
    );
  }

  forward(input: Float32Array, batch: number, training: boolean): Float32Array {
    const kernels = this.kernels;
    const c = this.features;
    const m = (batch * this.width) / c;
    const output = this.output.rows(batch);
    const normalized = this.normalized.rows(batch);
    // As in Keras 3, a frozen layer normalises with its moving statistics even during training.
    this.usedBatchStatistics = training && this.trainable;
    if (this.usedBatchStatistics) {
      const mean = this.batchMean!;
      const variance = this.batchVariance!;
      kernels.columnMoments(input, m, c, mean, variance);
      kernels.batchNormForward(
        input,
        mean,
        variance,
        this.gammaWeight?.value ?? null,
        this.betaWeight?.value ?? null,
        this.epsilon,
        m,
        c,
        normalized,
        output,
      );
      kernels.emaUpdate(this.movingMean.value, mean, this.momentum);
      kernels.emaUpdate(this.movingVariance.value, variance, this.momentum);
      this.inferenceInput = null;
    } else {
      // Inference needs only y: x̂ is not written (a frozen layer in training keeps it, for dγ).
      kernels.batchNormForward(
        input,
        this.movingMean.value,
        this.movingVariance.value,
        this.gammaWeight?.value ?? null,
        this.betaWeight?.value ?? null,
        this.epsilon,
        m,
        c,
        training ? normalized : null,
        output,
      );
      this.inferenceInput = training ? null : input;
    }
    return output;
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    computeWeightGradients: boolean,
    computeInputGradient: boolean,
  ): Float32Array | null {
    const c = this.features;
    const m = (batch * this.width) / c;
    const inputGradient = computeInputGradient ? this.inputGradient.rows(batch) : null;
    if (this.inferenceInput !== null) {
      // x̂ = (x − μ)/√(σ² + ε) of the last (inference) pass, which did not keep it.
      const normalized = this.normalized.rows(batch);
      const [mean, variance] = [this.movingMean.value, this.movingVariance.value];
      this.kernels.batchNormForward(
        this.inferenceInput,
        mean,
        variance,
        null,
        null,
        this.epsilon,
        m,
        c,
        null,
        normalized,
      );
      this.inferenceInput = null;
    }
    this.kernels.batchNormBackward(
      outputGradient,
      this.normalized.rows(batch),
      this.usedBatchStatistics ? this.batchVariance! : this.movingVariance.value,
      this.gammaWeight?.value ?? null,
      this.epsilon,
      m,
      c,
      this.usedBatchStatistics,
      inputGradient,
      computeWeightGradients ? (this.gammaWeight?.gradient ?? null) : null,
      computeWeightGradients ? (this.betaWeight?.gradient ?? null) : null,
    );
    return inputGradient;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      beta_initializer: serializeInitializer(this.betaInitializer),
      gamma_initializer: serializeInitializer(this.gammaInitializer),
      moving_mean_initializer: serializeInitializer(this.movingMeanInitializer),
      moving_variance_initializer: serializeInitializer(this.movingVarianceInitializer),
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
      synchronized: false,
    };
  }

  override dispose(): void {
    for (const buffer of [this.normalized, this.output, this.inputGradient]) buffer.release();
    this.inferenceInput = null;
    this.statistics.freeAll();
    this.batchMean = this.batchVariance = null;
    this.gammaWeight = this.betaWeight = this.movingMeanWeight = this.movingVarianceWeight = null;
    super.dispose();
  }
}
