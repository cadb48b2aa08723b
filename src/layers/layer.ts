import { DisposedError } from '../kernels/errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { getKernels } from '../kernels/index.js';
import type { OptionKeys } from '../kernels/options.js';
import { OwnedMemory } from '../tensor/ownership.js';
import { ShapeError, type Shape, type Tensor, sizeOf } from '../tensor/tensor.js';
import { Variable } from '../tensor/variable.js';

/** Options every layer takes, as Keras names them. */
export interface LayerOptions {
  /** Unique name; Keras-style `dense`, `dense_1`, … when omitted. */
  name?: string;
  /** Whether `fit` updates this layer's weights (takes effect at the next `compile`). */
  trainable?: boolean;
  /** Per-sample input shape, batch excluded: lets a model build as soon as it is created. */
  inputShape?: Shape;
}

/** The keys of {@link LayerOptions}; each layer's list adds its own to these. */
export const LAYER_OPTION_KEYS = {
  name: true,
  trainable: true,
  inputShape: true,
} as const satisfies OptionKeys<LayerOptions>;

const nameCounts = new Map<string, number>();

/** Keras's automatic names: the first `dense`, then `dense_1`, `dense_2`, … */
export function uniqueLayerName(prefix: string): string {
  const count = nameCounts.get(prefix) ?? 0;
  nameCounts.set(prefix, count + 1);
  return count === 0 ? prefix : `${prefix}_${count}`;
}

/**
 * Makes automatic names skip a name already in use: after a model with `dense` … `dense_4` is loaded or
 * deserialized, the next automatic name is `dense_5`, so that adding `new Dense(…)` to the loaded layers
 * cannot collide (a fresh Keras process numbers from the counters of the layers it made; a loaded file's
 * layers were numbered by another process). Names that are not `<prefix>` or `<prefix>_<n>` reserve nothing
 * beyond themselves.
 */
export function reserveLayerName(name: string): void {
  const match = /^(.*?)(?:_(\d+))?$/.exec(name);
  if (match === null || match[1] === '') return;
  const next = match[2] === undefined ? 1 : Number(match[2]) + 1;
  if (!Number.isSafeInteger(next)) return;
  nameCounts.set(match[1], Math.max(nameCounts.get(match[1]) ?? 0, next));
}

/** Forgets automatic names, as `keras.backend.clear_session()` does. */
export function clearSession(): void {
  nameCounts.clear();
}

/** `Dense` → `dense`, `InputLayer` → `input_layer`. */
export function toSnakeCase(className: string): string {
  return className.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * A layer: forward and backward side by side, as explicit kernel calls (no autograd). A layer caches in
 * `forward` what its `backward` needs; the buffers it returns stay valid until its next call.
 *
 * Layers are shared objects, as in Keras: two models built from the same layer objects share weights.
 *
 * Memory: a layer owns its weights and its batch buffers. A model uses its layers; when the last model using
 * a layer is disposed (`model.dispose()`), the layer is disposed with it. A layer in no model is yours: call
 * {@link Layer.dispose}, or drop it and the garbage collector frees its memory. A disposed layer cannot be
 * built or run again ({@link DisposedError}).
 */
export abstract class Layer {
  /** Keras's class name, used in saved configs. */
  abstract readonly className: string;
  /** The layer's unique name. */
  name: string;
  /** Where `trainable` is kept (accessors, so that a model nested as a layer can pass a change on). */
  private trainableFlag: boolean;
  private declaredShape: Shape | null;
  /** The weights this layer created (a model's `weights` gathers its layers' instead). */
  private readonly ownWeights: Variable[] = [];
  private builtWith: Kernels | null = null;
  private disposed = false;

  protected constructor(options: LayerOptions, defaultPrefix: string) {
    this.name = options.name ?? uniqueLayerName(defaultPrefix);
    this.trainableFlag = options.trainable ?? true;
    this.declaredShape = options.inputShape ? Object.freeze([...options.inputShape]) : null;
  }

  /**
   * Whether training updates this layer's weights. As in Keras, a change takes effect at the model's next
   * `compile`; a frozen layer's weights are never written by `fit`.
   */
  get trainable(): boolean {
    return this.trainableFlag;
  }

  set trainable(value: boolean) {
    this.trainableFlag = value;
  }

  /** Per-sample input shape (batch excluded), known once built or when given at construction. */
  get inputShape(): Shape | null {
    return this.declaredShape;
  }

  set inputShape(shape: Shape | null) {
    this.declaredShape = shape;
  }

  /** The `module` Keras 3 serializes this class under (`keras.layers` for layers). */
  get kerasModule(): string {
    return 'keras.layers';
  }

  /** The `registered_name` Keras 3 serializes this class under (null for Keras's own layers). */
  get registeredName(): string | null {
    return null;
  }

  /** The layer's weights, in creation order (Keras's order: kernel, then bias). */
  get weights(): Variable[] {
    if (this.disposed) throw new DisposedError('layer', this.name, 'use its weights');
    return this.ownWeights;
  }

  /** Whether the weights exist. */
  get built(): boolean {
    return this.builtWith !== null;
  }

  /** Whether {@link Layer.dispose} was called (directly, or by disposing the last model using the layer). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The backend that holds this layer's weights (throws before the layer is built, and once disposed). */
  get kernels(): Kernels {
    if (this.builtWith === null) {
      if (this.disposed) throw new DisposedError('layer', this.name, 'run it');
      throw new Error(`layer '${this.name}' is not built yet`);
    }
    return this.builtWith;
  }

  /** Per-sample output shape for a per-sample input shape. */
  abstract computeOutputShape(inputShape: Shape): Shape;

  /**
   * Creates the weights for `inputShape` (per sample) in `kernels`' memory. Building twice with the same shape
   * does nothing; with another shape it is an error, as a Keras layer can only be built once.
   */
  build(inputShape: Shape, kernels: Kernels = getKernels()): void {
    if (this.disposed) throw new DisposedError('layer', this.name, 'build it');
    if (this.builtWith !== null) {
      if (this.inputShape !== null && this.inputShape.join(',') !== inputShape.join(',')) {
        throw new ShapeError(
          `layer '${this.name}' was built for input shape [${this.inputShape.join(', ')}], cannot take [${inputShape.join(', ')}]`,
        );
      }
      return;
    }
    this.declaredShape = Object.freeze([...inputShape]);
    this.builtWith = kernels;
    this.createWeights(inputShape, kernels);
  }

  /** Creates the layer's weights; layers without weights keep the default. */
  protected createWeights(_inputShape: Shape, _kernels: Kernels): void {}

  /** Adds a weight owned by this layer. */
  protected addWeight(name: string, shape: Shape, kernels: Kernels): Variable {
    const variable = new Variable(name, shape, kernels, `${this.name}/${name}`);
    this.ownWeights.push(variable);
    return variable;
  }

  /** Weights `fit` updates: all of them when the layer is trainable, none when frozen. */
  get trainableWeights(): Variable[] {
    return this.trainable ? [...this.weights] : [];
  }

  /** Weights `fit` leaves alone. */
  get nonTrainableWeights(): Variable[] {
    return this.trainable ? [] : [...this.weights];
  }

  /** Total number of scalars in the weights. */
  countParams(): number {
    return this.weights.reduce((total, weight) => total + sizeOf(weight.shape), 0);
  }

  /** Copies of the weights' values, in Keras's order. */
  getWeights(): Tensor[] {
    return this.weights.map((weight) => weight.read());
  }

  /** Overwrites the weights; the list must match {@link getWeights} in count and shapes. */
  setWeights(values: readonly Tensor[]): void {
    if (values.length !== this.weights.length) {
      throw new ShapeError(
        `layer '${this.name}' has ${this.weights.length} weights, got ${values.length} values`,
      );
    }
    values.forEach((value, index) => this.weights[index].assign(value));
  }

  /**
   * Forward pass over `batch` samples stored row-major in `input`. Returns the output buffer (owned by the
   * layer, valid until its next forward).
   */
  abstract forward(input: Float32Array, batch: number, training: boolean): Float32Array;

  /**
   * Backward pass for the last forward. `outputGradient` is ∂loss/∂output, or ∂loss/∂pre-activation when
   * `preActivation` is true (the loss fused the output activation). Writes weight gradients when
   * `computeWeightGradients`; returns ∂loss/∂input when `computeInputGradient`, else null.
   */
  abstract backward(
    outputGradient: Float32Array,
    batch: number,
    computeWeightGradients: boolean,
    computeInputGradient: boolean,
    preActivation: boolean,
  ): Float32Array | null;

  /** The activation applied last in this layer, if any (lets a loss fuse with it). */
  get outputActivation(): string | null {
    return null;
  }

  /**
   * Whether this layer's output is a ReLU's, `y = z > 0 ? z : 0`, and its `backward` with `preActivation`
   * takes ∂L/∂z: the layer after it may then fold the ReLU's mask into its own backward
   * ({@link Layer.backwardThroughRelu}).
   */
  get outputIsRelu(): boolean {
    return false;
  }

  /**
   * When the layer before this one has {@link Layer.outputIsRelu}: ∂L/∂z of that layer's ReLU from this
   * layer's ∂L/∂output, in one pass (the caller then calls that layer's backward with `preActivation`), or
   * null when this layer cannot fold the mask in (the caller runs both backward passes as usual).
   */
  backwardThroughRelu(_outputGradient: Float32Array, _batch: number): Float32Array | null {
    return null;
  }

  /** Constructor arguments as Keras's layer config (snake_case keys). */
  getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: this.trainable, dtype: 'float32' };
  }

  /**
   * Frees the layer's kernel memory (weights and batch buffers); the layer cannot be used afterwards. A model
   * still holding it then fails with {@link DisposedError} when run: to free a model, prefer
   * `model.dispose()`, which disposes only the layers no other model uses. Calling it again does nothing.
   */
  dispose(): void {
    for (const weight of this.ownWeights) weight.dispose();
    this.ownWeights.length = 0;
    this.builtWith = null;
    this.disposed = true;
  }
}

/**
 * A buffer in a backend's memory that grows to the largest batch seen: after the first step of a given batch
 * size, reusing it allocates nothing. Its owner frees it with {@link BatchBuffer.release} (in its `dispose`);
 * a buffer dropped with its owner is freed after garbage collection.
 */
export class BatchBuffer {
  private buffer: Float32Array | null = null;
  private capacity = 0;
  /** The row length the buffer and its views were made for (a model recompiled with another loss changes it). */
  private width = 0;
  private readonly views = new Map<number, Float32Array>();
  private readonly memory = new OwnedMemory(this);

  constructor(
    private readonly kernels: () => Kernels,
    private readonly rowLength: () => number,
  ) {}

  /** A view of `batch` rows (the same view object for the same batch size and row length). */
  rows(batch: number): Float32Array {
    const width = this.rowLength();
    if (batch > this.capacity || this.buffer === null || width !== this.width) {
      const kernels = this.kernels();
      if (this.buffer !== null) this.memory.free(this.buffer);
      this.buffer = null;
      this.views.clear();
      this.capacity = Math.max(batch, 1);
      this.width = width;
      this.buffer = this.memory.alloc(kernels, this.capacity * width);
    }
    let view = this.views.get(batch);
    if (view === undefined) {
      view = this.buffer.subarray(0, batch * width);
      this.views.set(batch, view);
    }
    return view;
  }

  /** Returns the storage to the backend (the next {@link BatchBuffer.rows} allocates again). */
  release(): void {
    this.memory.freeAll();
    this.buffer = null;
    this.capacity = 0;
    this.width = 0;
    this.views.clear();
  }
}
