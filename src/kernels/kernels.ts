/**
 * The kernel interface: every loop over floats in warmstart lives behind it.
 *
 * Storage is plain `Float32Array`s handed out by {@link Kernels.alloc}. The reference backend hands out
 * ordinary arrays; the WebAssembly backend hands out views into its linear memory, so a kernel call is a
 * pointer hand-off (the view's `byteOffset`) and nothing is copied. Every reference kernel works on any
 * `Float32Array`, so a faster backend may override only the kernels that matter and inherit the rest.
 *
 * Matrices are row-major. `m` is the batch (rows), `k` the input width, `n` the output width.
 * @module
 */

/** Activation functions the kernels know, by their Keras names. */
export type ActivationName = 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'selu' | 'elu' | 'softmax';

/** Losses the kernels know, by their Keras names. */
export type LossName =
  | 'sparse_categorical_crossentropy'
  | 'categorical_crossentropy'
  | 'binary_crossentropy'
  | 'mean_squared_error';

/** Accuracy flavours, as Keras picks them for `metrics: ['accuracy']`. */
export type AccuracyName = 'sparse_categorical_accuracy' | 'categorical_accuracy' | 'binary_accuracy';

/**
 * Metrics that are a mean over samples of a per-sample value, by their Keras function names:
 * `mean_absolute_error` `mean_j |t_j − p_j|`, `mean_squared_error` `mean_j (t_j − p_j)²`,
 * `top_k_categorical_accuracy` (one-hot targets) and `sparse_top_k_categorical_accuracy` (class indices): 1 when
 * the true class's prediction is among the k largest (ties with the k-th largest count as in, as Keras's
 * `in_top_k` on PyTorch does).
 */
export type SampleMetricName =
  | 'mean_absolute_error'
  | 'mean_squared_error'
  | 'top_k_categorical_accuracy'
  | 'sparse_top_k_categorical_accuracy';

/**
 * What a loss requires of each target value: `class_index` an integer in [0, classes − 1] (one per row);
 * `probability` a finite value in [0, 1]; `distribution` finite, ≥ 0, each row summing to 1 (within 1e-3);
 * `finite` any finite value.
 */
export type TargetRule = 'class_index' | 'probability' | 'distribution' | 'finite';

/** The curve an AUC integrates: ROC (recall over false-positive rate) or PR (precision over recall). */
export type AucCurve = 'ROC' | 'PR';

/** How an AUC sums its rectangles (Keras's `summation_method`). */
export type AucSummation = 'interpolation' | 'minoring' | 'majoring';

/** Keras's fuzz factor: probabilities are clipped to `[EPSILON, 1 - EPSILON]` before a logarithm. */
export const EPSILON = 1e-7;

/** SELU's constants (Klambauer et al. 2017), as Keras defines them. */
export const SELU_ALPHA = 1.6732632423543772;
/** SELU's scale. */
export const SELU_SCALE = 1.0507009873554805;

/**
 * Options of one Keras-style SGD step; see `src/optimizers/sgd.ts` for the formula. The kernels round
 * `learningRate` and `momentum` to float32, as Keras holds them in the variable's dtype.
 */
export interface SgdStep {
  learningRate: number;
  momentum: number;
  nesterov: boolean;
}

/**
 * Scalars of one RMSprop step (`src/optimizers/rmsprop.ts`). Every field is a float32 value (already rounded
 * with `Math.fround`), so a backend may splat them into f32 lanes as they are.
 */
export interface RmspropStep {
  learningRate: number;
  rho: number;
  /** `1 − ρ`, rounded to float32 from the float64 difference (as PyTorch rounds a Python scalar). */
  oneMinusRho: number;
  /** μ of the momentum buffer; ignored when the call passes no momentum buffer. */
  momentum: number;
  epsilon: number;
}

/** Scalars of one Adam / AdamW step (`src/optimizers/adam.ts`); float32 values. */
export interface AdamStep {
  /** The bias-corrected step size `α = η·√(1 − β₂ᵗ) / (1 − β₁ᵗ)`, computed in float32. */
  alpha: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  epsilon: number;
}

/** Scalars of one Adadelta step (`src/optimizers/adadelta.ts`); float32 values. */
export interface AdadeltaStep {
  learningRate: number;
  rho: number;
  oneMinusRho: number;
  epsilon: number;
}

/** Scalars of one Adagrad step (`src/optimizers/adagrad.ts`); float32 values. */
export interface AdagradStep {
  learningRate: number;
  epsilon: number;
}

/** Scalars of one Adamax step (`src/optimizers/adamax.ts`); float32 values. */
export interface AdamaxStep {
  learningRate: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  epsilon: number;
  /** `1 − β₁ᵗ`. */
  biasCorrection: number;
}

/** Scalars of one Nadam step (`src/optimizers/nadam.ts`); float32 values. */
export interface NadamStep {
  learningRate: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  epsilon: number;
  /** `u_{t+1}`, the momentum coefficient of the next step. */
  nextMomentum: number;
  /** `1 − Π_{i≤t+1} u_i`. */
  nextProductComplement: number;
  /** `1 − u_t`. */
  oneMinusMomentum: number;
  /** `1 − Π_{i≤t} u_i`. */
  productComplement: number;
  /** `1 − β₂ᵗ`. */
  beta2Correction: number;
}

/** Scalars of one Lion step (`src/optimizers/lion.ts`); float32 values. */
export interface LionStep {
  learningRate: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
}

/** Scalars of one FTRL-proximal step (`src/optimizers/ftrl.ts`); float32 values. */
export interface FtrlStep {
  learningRate: number;
  /** `−learning_rate_power` (0.5 by default): the accumulator's exponent. */
  power: number;
  /** L1 strength λ₁ (the clip bound of the linear term). */
  l1: number;
  /** `2·(λ₂ + β / (2η))`, the quadratic term's constant. */
  twiceL2: number;
  /** `2·λ₂,shrinkage`. */
  twiceL2Shrinkage: number;
}

/**
 * Where a 2-D window (a convolution's kernel or a pooling window) falls on channels-last images (NHWC,
 * row-major: element (n, y, x, c) at `((n·inHeight + y)·inWidth + x)·inChannels + c`). Output pixel (oy, ox)
 * reads input (oy·strideHeight + ky·dilationHeight − padTop, ox·strideWidth + kx·dilationWidth − padLeft) for
 * each window offset (ky, kx); positions outside the input are padding (zeros for a convolution, left out of a
 * pooling window). Keras's `'same'` puts the odd pixel of padding at the bottom and right, which the output
 * size implies: only the top and left padding are given.
 */
export interface Conv2DGeometry {
  /** Images in the batch. */
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  /** Conv2D: filters; depthwise: `inChannels · depthMultiplier`; pooling: `inChannels`. */
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
  /** Conv2D's groups: input channel block g feeds only output channel block g (1 elsewhere). */
  groups: number;
}

/** A ReLU's options, as Keras's `ReLU` layer has them (LeakyReLU: `maxValue` ∞, `threshold` 0). */
export interface ReluOptions {
  /** Largest output (`Infinity` for none; 6 for MobileNet's ReLU6). */
  maxValue: number;
  /** Slope below the threshold (0 for a plain ReLU). */
  negativeSlope: number;
  /** Inputs at or below it are damped: `y = negativeSlope·(x − threshold)`. */
  threshold: number;
}

/**
 * The arithmetic of warmstart. Implementations: `ReferenceKernels` (plain TypeScript, the oracle) and
 * `WasmKernels` (SIMD, two threads, the default).
 */
export interface Kernels {
  /** Short backend name: `'reference'` or `'wasm'`. */
  readonly name: string;

  /** Zero-filled float32 storage of `length` elements that every kernel of this backend accepts. */
  alloc(length: number): Float32Array;
  /** Returns storage from {@link Kernels.alloc} to the backend. Using it afterwards is an error. */
  free(buffer: Float32Array): void;

  /**
   * Dense forward, fused: `z = x·w + bias` (x: m×k, w: k×n, bias: n or null), then `y = activation(z)`.
   * `z` may be the same array as `y` when the caller does not need the pre-activation.
   */
  denseForward(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    z: Float32Array,
    y: Float32Array,
    m: number,
    k: number,
    n: number,
    activation: ActivationName,
  ): void;

  /** `y = f(z)` over an m×n block (softmax per row). `y` may alias `z`. */
  activationForward(activation: ActivationName, z: Float32Array, y: Float32Array, m: number, n: number): void;

  /**
   * Activation backward over an m×n block: `dz = dy ⊙ f'(z)` given both `z` and `y = f(z)`;
   * for softmax the full Jacobian per row: `dz_i = y_i (dy_i − Σ_j dy_j y_j)`. `dz` may alias `dy`.
   */
  activationBackward(
    activation: ActivationName,
    z: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dz: Float32Array,
    m: number,
    n: number,
  ): void;

  /** Weight gradients of a dense layer: `dw = xᵀ·dz` (k×n) and, when `db` is given, `db = Σ_rows dz`. */
  denseBackwardWeights(
    x: Float32Array,
    dz: Float32Array,
    dw: Float32Array,
    db: Float32Array | null,
    m: number,
    k: number,
    n: number,
  ): void;

  /** Input gradient of a dense layer: `dx = dz·wᵀ` (m×k). */
  denseBackwardInput(
    dz: Float32Array,
    w: Float32Array,
    dx: Float32Array,
    m: number,
    k: number,
    n: number,
  ): void;

  /**
   * A loss over a batch, and optionally its gradient. Returns the SUM over the m samples of each sample's
   * loss (the caller divides by m, as Keras's `sum_over_batch_size` reduction does). When `dPred` is given it
   * receives the gradient of the MEAN loss: with respect to the predictions, or, when `fusedLogits` is true,
   * with respect to the pre-activation of the softmax (categorical losses) or sigmoid (binary) that produced
   * `yPred` (`(y − t) / m` per element, which is what the chain rule gives and what Keras's TF backend uses).
   * `yTrue` holds class indices (one per row) for the sparse loss, else m×n targets.
   */
  loss(
    loss: LossName,
    yPred: Float32Array,
    yTrue: Float32Array,
    dPred: Float32Array | null,
    m: number,
    n: number,
    fusedLogits: boolean,
  ): number;

  /** How many of the m predictions are right, by the given accuracy's rule (binary: threshold 0.5). */
  countCorrect(
    accuracy: AccuracyName,
    yPred: Float32Array,
    yTrue: Float32Array,
    m: number,
    n: number,
  ): number;

  /**
   * Sum over the m samples of a per-sample metric (see {@link SampleMetricName}); the caller divides by the
   * number of samples. `yTrue` has `trueWidth` values per row: n, or 1 (a class index for the sparse top-k;
   * for the errors one value that broadcasts over the row, as Keras expands a rank-1 target). `k` is the
   * top-k metrics' k (ignored otherwise).
   */
  metricSum(
    metric: SampleMetricName,
    yPred: Float32Array,
    yTrue: Float32Array,
    m: number,
    n: number,
    trueWidth: number,
    k: number,
  ): number;

  /**
   * Adds to a confusion matrix per threshold, over `length` (prediction, target) pairs: a target is positive
   * when non-zero, a prediction when `p > threshold`. `counts` holds four rows of `thresholds.length` values:
   * true positives, false positives, true negatives, false negatives (Keras's `update_confusion_matrix_variables`).
   */
  confusionCounts(
    yPred: Float32Array,
    yTrue: Float32Array,
    length: number,
    thresholds: Float32Array,
    counts: Float64Array,
  ): void;

  /**
   * The same counts for Keras's AUC thresholds `[−ε, 1/(T−1), …, (T−2)/(T−1), 1 + ε]` (T = `numThresholds`),
   * by Keras's bucketing: p clipped to [0, 1] falls in bucket `max(⌈p·(T − 1)⌉ − 1, 0)` (float32 product) and
   * counts as positive for every threshold up to its bucket.
   */
  confusionCountsEvenThresholds(
    yPred: Float32Array,
    yTrue: Float32Array,
    length: number,
    numThresholds: number,
    counts: Float64Array,
  ): void;

  /**
   * Area under a curve from per-threshold counts laid out as {@link Kernels.confusionCounts} writes them, as
   * Keras's `AUC.result()` computes it: ROC `Σ (fpr_i − fpr_{i+1})·h_i` with `h` the mean (interpolation),
   * min or max of the neighbouring recalls; PR with interpolation by Davis & Goadrich's formula
   * (`interpolate_pr_auc`), else as ROC with recall and precision. Divisions by zero give 0.
   */
  areaUnderCurve(
    counts: Float64Array,
    numThresholds: number,
    curve: AucCurve,
    summation: AucSummation,
  ): number;

  /** `out[i]` = index of the first largest value of row i of an m×n matrix (NumPy's `argmax(axis=-1)`). */
  argmaxRows(x: Float32Array, m: number, n: number, out: Int32Array): void;

  /** `x /= divisor` in place, each quotient rounded once to float32 (NumPy's `x / 255.0`, then float32). */
  divideByScalar(x: Float32Array, divisor: number): void;

  /**
   * Index of the first of the m×n target values that breaks `rule` (see {@link TargetRule}), or −1. For
   * `distribution` a row whose sum is off returns the index of its first element. `classes` bounds class
   * indices.
   */
  firstInvalidTarget(rule: TargetRule, values: Float32Array, m: number, n: number, classes: number): number;

  /**
   * Copies rows `indices[start .. start+count)` of `source` (rows of `rowLength`) into `target`, in order.
   * `source` may be any Float32Array (user data outside the backend's memory).
   */
  gatherRows(
    source: Float32Array,
    indices: Int32Array,
    start: number,
    count: number,
    rowLength: number,
    target: Float32Array,
  ): void;

  /** Index of the first NaN or ±Infinity in `x`, or −1 when every element is finite. */
  firstNonFinite(x: Float32Array): number;

  /** `Σ x²` over the array, in float64; for gradient norms (clipping). */
  sumOfSquares(x: Float32Array): number;

  /** `x *= factor` in place. */
  scale(x: Float32Array, factor: number): void;

  /**
   * One SGD step in one pass, as Keras 3's PyTorch backend computes it (velocity only when momentum > 0):
   * `v ← fl(v·μ) − η·g`; `p ← (p − η·g) + μ·v` (Nesterov) or `p ← p + v`; without momentum `p ← p − η·g`.
   * Each `x ± α·y` is a fused multiply-add (one rounding to float32); see `src/optimizers/sgd.ts`.
   */
  sgdUpdate(param: Float32Array, grad: Float32Array, velocity: Float32Array | null, step: SgdStep): void;

  // ---- Optimizer kernels. Each update is one fused pass over a parameter tensor, and reproduces the float32
  // arithmetic of Keras 3 (PyTorch backend) operation by operation; see each optimizer's file for the formula.

  /** `x[i] = value` for every element. */
  fill(x: Float32Array, value: number): void;

  /** `x ← min(max(x, min), max)` in place (Keras's `clipvalue`). */
  clipByValue(x: Float32Array, min: number, max: number): void;

  /**
   * Gradient accumulation: `accumulator ← (accumulator + gradient) / divisor` (divisor 1 while accumulating,
   * the number of accumulation steps on the step that applies the mean).
   */
  accumulateGradient(accumulator: Float32Array, gradient: Float32Array, divisor: number): void;

  /** Exponential moving average of weights: `average ← μ·average + (1 − μ)·value` (μ a float32 value). */
  emaUpdate(average: Float32Array, value: Float32Array, momentum: number): void;

  /**
   * One RMSprop step: `v ← ρ·v + (1 − ρ)·g²`; centered: `ḡ ← ρ·ḡ + (1 − ρ)·g`, `d = √(v + ε − ḡ²)`, else
   * `d = √(v + ε)`; `Δ = η·g / d`; with a momentum buffer `b ← μ·b + Δ`, `p ← p − b`, else `p ← p − Δ`.
   */
  rmspropUpdate(
    param: Float32Array,
    grad: Float32Array,
    velocity: Float32Array,
    averageGradient: Float32Array | null,
    momentum: Float32Array | null,
    step: RmspropStep,
  ): void;

  /**
   * One Adam step: `m ← β₁·m + (1 − β₁)·g`, `v ← β₂·v + (1 − β₂)·g²`; AMSGrad (`vhat` given):
   * `v̂ ← max(v̂, v)` and v̂ replaces v below; `p ← p − α·m / (√v + ε)`.
   */
  adamUpdate(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    vhat: Float32Array | null,
    step: AdamStep,
  ): void;

  /**
   * One Adadelta step: `a ← ρ·a + (1 − ρ)·g²`, `Δ = −√(d + ε)·g / √(a + ε)`, `d ← ρ·d + (1 − ρ)·Δ²`,
   * `p ← p + η·Δ`.
   */
  adadeltaUpdate(
    param: Float32Array,
    grad: Float32Array,
    accumulatedGrad: Float32Array,
    accumulatedDelta: Float32Array,
    step: AdadeltaStep,
  ): void;

  /** One Adagrad step: `a ← a + g²`, `p ← p − η·g / √(a + ε)`. */
  adagradUpdate(param: Float32Array, grad: Float32Array, accumulator: Float32Array, step: AdagradStep): void;

  /** One Adamax step: `m ← β₁·m + (1 − β₁)·g`, `u ← max(β₂·u, |g|)`, `p ← p − η·m / ((u + ε)·(1 − β₁ᵗ))`. */
  adamaxUpdate(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    u: Float32Array,
    step: AdamaxStep,
  ): void;

  /**
   * One Nadam step: `m ← β₁·m + (1 − β₁)·g`, `v ← β₂·v + (1 − β₂)·g²`,
   * `m̂ = u_{t+1}·m / (1 − Π_{t+1}) + (1 − u_t)·g / (1 − Π_t)`, `v̂ = v / (1 − β₂ᵗ)`, `p ← p − η·m̂ / (√v̂ + ε)`.
   */
  nadamUpdate(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    step: NadamStep,
  ): void;

  /** One Lion step: `p ← p − η·sign(β₁·m + (1 − β₁)·g)`, then `m ← β₂·m + (1 − β₂)·g`. */
  lionUpdate(param: Float32Array, grad: Float32Array, m: Float32Array, step: LionStep): void;

  /**
   * One FTRL-proximal step (`n` accumulator, `z` linear term, `c = power`):
   * `g' = g + 2λ₂ₛ·p`, `n' = n + g²`, `z ← z + g' − (n'^c − n^c)/η · p`,
   * `p ← (clip(z, −λ₁, λ₁) − z) / (n'^c/η + 2λ₂)`, `n ← n'`.
   */
  ftrlUpdate(
    param: Float32Array,
    grad: Float32Array,
    accumulator: Float32Array,
    linear: Float32Array,
    step: FtrlStep,
  ): void;

  // ---- layers: dropout, batch normalization. Elementwise and per-column helpers of Dropout, AlphaDropout,
  // BatchNormalization and the merge layers (Add, Concatenate).

  /**
   * Draws a dropout mask: `mask[i] = uniform() ≥ rate ? keptValue : 0` for i < n. The uniforms come from the
   * caller's seeded generator so that dropout follows warmstart's one seed.
   */
  dropoutMask(mask: Float32Array, n: number, rate: number, keptValue: number, uniform: () => number): void;

  /** `out[i] = a[i]·b[i]` for i < n (`out` may alias `a` or `b`). */
  multiplyElementwise(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;

  /** `out[i] = a[i] + b[i]` for i < n (`out` may alias `a` or `b`). */
  addElementwise(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;

  /**
   * Alpha dropout forward over n elements: `y[i] = mask[i]·x[i] + shift` where the mask is non-zero (it holds
   * the affine scale a), `y[i] = dropped` where it is zero (a·α′ + shift).
   */
  alphaDropoutForward(
    x: Float32Array,
    mask: Float32Array,
    y: Float32Array,
    n: number,
    shift: number,
    dropped: number,
  ): void;

  /**
   * Copies a `rows × width` block between row-major matrices:
   * `target[r·targetWidth + targetOffset + j] = source[r·sourceWidth + sourceOffset + j]`
   * (Concatenate's forward writes each input into its columns; its backward reads them back).
   */
  copyColumns(
    source: Float32Array,
    sourceWidth: number,
    sourceOffset: number,
    target: Float32Array,
    targetWidth: number,
    targetOffset: number,
    rows: number,
    width: number,
  ): void;

  /** Per-column mean `μ_j = Σ_i x_ij / m` and biased variance `σ²_j = Σ_i (x_ij − μ_j)² / m` of an m×c matrix. */
  columnMoments(x: Float32Array, m: number, c: number, mean: Float32Array, variance: Float32Array): void;

  /**
   * Batch normalization over an m×c matrix: `x̂ = (x − μ)/√(σ² + ε)` (written to `xHat` when given), then
   * `y = γ·x̂ + β` (γ = 1 and β = 0 when null). `y` may alias `x`.
   */
  batchNormForward(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    epsilon: number,
    m: number,
    c: number,
    xHat: Float32Array | null,
    y: Float32Array,
  ): void;

  /**
   * Batch normalization backward, from `dy` and the forward's `x̂` and σ²: `dβ = Σ_i dy`, `dγ = Σ_i dy·x̂`; when
   * the forward used the batch's own statistics, `dx = γ/(m·√(σ² + ε)) · (m·dy − dβ − x̂·dγ)`, else (moving
   * statistics, constants) `dx = γ·dy/√(σ² + ε)`. Each output is skipped when null.
   */
  batchNormBackward(
    dy: Float32Array,
    xHat: Float32Array,
    variance: Float32Array,
    gamma: Float32Array | null,
    epsilon: number,
    m: number,
    c: number,
    batchStatistics: boolean,
    dx: Float32Array | null,
    dGamma: Float32Array | null,
    dBeta: Float32Array | null,
  ): void;

  // ---- convolutional networks. Images are channels-last (NHWC); see Conv2DGeometry for how a window maps
  // outputs to inputs.

  /**
   * 2-D convolution (a cross-correlation, as Keras computes it), `kernel` of shape
   * (kernelHeight, kernelWidth, inChannels/groups, outChannels):
   * `y[n,oy,ox,f] = bias[f] + Σ_{ky,kx,c} x[n, iy, ix, g·C_g + c]·kernel[ky,kx,c,f]`, g = f's group, taps on
   * padding left out. With `relu`, each stored value is then `y > 0 ? y : 0` (Keras's ReLU; NaN and −0 become
   * +0), which the layer's own activation pass would compute, without a second pass over `y`.
   */
  conv2dForward(
    x: Float32Array,
    kernel: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    geometry: Conv2DGeometry,
    relu?: boolean,
  ): void;

  /** Input gradient of {@link conv2dForward}: `dx[n,iy,ix,c] = Σ over the taps that read it of dy·kernel`. */
  conv2dBackwardInput(
    dy: Float32Array,
    kernel: Float32Array,
    dx: Float32Array,
    geometry: Conv2DGeometry,
  ): void;

  /**
   * Weight gradients of {@link conv2dForward} (written, not accumulated): `dKernel[ky,kx,c,f] = Σ_{n,oy,ox}
   * x[n,iy,ix,c]·dy[n,oy,ox,f]`, and `dBias[f] = Σ_{n,oy,ox} dy[n,oy,ox,f]` when given.
   */
  conv2dBackwardWeights(
    x: Float32Array,
    dy: Float32Array,
    dKernel: Float32Array,
    dBias: Float32Array | null,
    geometry: Conv2DGeometry,
  ): void;

  /**
   * Both passes of a convolution's backward from one dy: {@link conv2dBackwardWeights} when `dKernel` is given,
   * then {@link conv2dBackwardInput} when `dx` is (a backend may share work between them, such as the lists of
   * dy's non-zero values).
   */
  conv2dBackward(
    x: Float32Array,
    dy: Float32Array,
    kernel: Float32Array,
    dKernel: Float32Array | null,
    dBias: Float32Array | null,
    dx: Float32Array | null,
    geometry: Conv2DGeometry,
  ): void;

  /**
   * Depthwise convolution, `kernel` of shape (kernelHeight, kernelWidth, inChannels, depthMultiplier), output
   * channel `o = c·depthMultiplier + d`: `y[n,oy,ox,o] = bias[o] + Σ_{ky,kx} x[n,iy,ix,c]·kernel[ky,kx,c,d]`.
   */
  depthwiseConv2dForward(
    x: Float32Array,
    kernel: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    geometry: Conv2DGeometry,
  ): void;

  /** Input gradient of {@link depthwiseConv2dForward}: `dx[n,iy,ix,c] = Σ_{taps, d} dy[…, c·dm + d]·kernel[…, c, d]`. */
  depthwiseConv2dBackwardInput(
    dy: Float32Array,
    kernel: Float32Array,
    dx: Float32Array,
    geometry: Conv2DGeometry,
  ): void;

  /** Weight gradients of {@link depthwiseConv2dForward} (written): `dKernel[ky,kx,c,d] = Σ x[…,c]·dy[…, c·dm + d]`. */
  depthwiseConv2dBackwardWeights(
    x: Float32Array,
    dy: Float32Array,
    dKernel: Float32Array,
    dBias: Float32Array | null,
    geometry: Conv2DGeometry,
  ): void;

  /** Max pooling: `y[n,oy,ox,c] = max over the window's positions inside the input of x[n,iy,ix,c]`. */
  maxPool2dForward(x: Float32Array, y: Float32Array, geometry: Conv2DGeometry): void;

  /**
   * Max pooling backward: each window's `dy` goes to the first position (in row-major window order) holding
   * the window's maximum `y`, as TensorFlow and PyTorch route it; overlapping windows add up. With
   * `positiveOnly`, a window whose maximum is not > 0 routes 0 instead of its dy: the gradient through a ReLU
   * that made x (its mask at the routed position is `x > 0`, and x there is the window's maximum), folded in.
   */
  maxPool2dBackward(
    x: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    geometry: Conv2DGeometry,
    positiveOnly?: boolean,
  ): void;

  /** Average pooling over the window's positions inside the input (padding is not counted, as Keras). */
  averagePool2dForward(x: Float32Array, y: Float32Array, geometry: Conv2DGeometry): void;

  /** Average pooling backward: each window's `dy / count` goes to each of its `count` positions inside the input. */
  averagePool2dBackward(dy: Float32Array, dx: Float32Array, geometry: Conv2DGeometry): void;

  /**
   * Keras's ReLU family over n elements: `y = min(x, maxValue)` for x > threshold, else
   * `negativeSlope·(x − threshold)` (exactly 0 when the slope is 0). `y` may alias `x`.
   */
  reluForward(x: Float32Array, y: Float32Array, n: number, options: ReluOptions): void;

  /**
   * Its derivative: `dx = dy` for threshold < x < maxValue, 0 for x ≥ maxValue, `negativeSlope·dy` for
   * x ≤ threshold. `dx` may alias `dy`.
   */
  reluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number, options: ReluOptions): void;

  /**
   * Zero padding of `batch` images (height × width × channels) into y of (height + top + bottom) ×
   * (width + left + right) × channels; also the backward of a crop.
   */
  zeroPad2d(
    x: Float32Array,
    y: Float32Array,
    batch: number,
    height: number,
    width: number,
    channels: number,
    top: number,
    bottom: number,
    left: number,
    right: number,
  ): void;

  /**
   * Cropping of `batch` images (height × width × channels) into y of (height − top − bottom) ×
   * (width − left − right) × channels; also the backward of a zero padding.
   */
  crop2d(
    x: Float32Array,
    y: Float32Array,
    batch: number,
    height: number,
    width: number,
    channels: number,
    top: number,
    bottom: number,
    left: number,
    right: number,
  ): void;

  /**
   * A per-column affine map over an m×c matrix: `y[i,j] = x[i,j]·scale[j] + offset[j]` (offset 0 when null).
   * `y` may alias `x`. With c = 1 it is one scale and offset for every element.
   */
  channelAffine(
    x: Float32Array,
    y: Float32Array,
    m: number,
    c: number,
    scale: Float32Array,
    offset: Float32Array | null,
  ): void;
}
