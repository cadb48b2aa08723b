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

/** Keras's fuzz factor: probabilities are clipped to `[EPSILON, 1 - EPSILON]` before a logarithm. */
export const EPSILON = 1e-7;

/** SELU's constants (Klambauer et al. 2017), as Keras defines them. */
export const SELU_ALPHA = 1.6732632423543772;
/** SELU's scale. */
export const SELU_SCALE = 1.0507009873554805;

/** Options of one Keras-style SGD step; see `src/optimizers/sgd.ts` for the formula. */
export interface SgdStep {
  learningRate: number;
  momentum: number;
  nesterov: boolean;
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
  denseBackwardInput(dz: Float32Array, w: Float32Array, dx: Float32Array, m: number, k: number, n: number): void;

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
  countCorrect(accuracy: AccuracyName, yPred: Float32Array, yTrue: Float32Array, m: number, n: number): number;

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
   * One SGD step in one pass, as Keras 3 defines it (velocity only when momentum > 0):
   * `v ← μ·v − η·g`; `p ← p + μ·v − η·g` (Nesterov) or `p ← p + v`; without momentum `p ← p − η·g`.
   */
  sgdUpdate(param: Float32Array, grad: Float32Array, velocity: Float32Array | null, step: SgdStep): void;
}
