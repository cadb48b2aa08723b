import { DisposedError } from '../kernels/errors.js';
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/kernels.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { BatchBuffer, Layer } from '../layers/layer.js';
import { getLoss, type Loss } from '../losses/index.js';
import { getMetric, type Metric, type MetricAccumulator, type MetricContext } from '../metrics/index.js';
import { getOptimizer, type Optimizer } from '../optimizers/index.js';
import { addUser, removeUser } from '../tensor/ownership.js';
import {
  epochGenerator,
  globalRandom,
  type RandomGenerator,
  type RandomState,
  setTrainingRandom,
} from '../tensor/random.js';
import { type Shape, ShapeError, sizeOf, Tensor, type TensorLike, toTensor } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';
import {
  Callback,
  formatLogValue,
  History,
  type Logs,
  orderLogKeys,
  ProgbarLogger,
  type ProgressWriter,
  type TrainingParams,
} from './callbacks.js';
import { FitStateError, InputDataError, ModelBusyError, NotCompiledError } from './errors.js';
import { formatSummary } from './summary.js';
import { TrainingYielder, type YieldEvery } from './yielding.js';

/** Options of {@link BaseModel.compile}. */
export interface CompileOptions {
  /** An optimizer object or a Keras name (`'sgd'`, `'adam'`, …) with Keras's defaults. */
  optimizer: Optimizer | string;
  /** A loss object or a Keras name (`'sparse_categorical_crossentropy'`, `'mse'`, …). */
  loss: Loss | string;
  /**
   * Metrics to report, by Keras name or as {@link Metric} objects: `'accuracy'` (binary, sparse or categorical
   * as Keras picks), `'binary_accuracy'`, `'categorical_accuracy'`, `'sparse_categorical_accuracy'`, `'mae'`,
   * `'mse'`, `'AUC'`, `'Precision'`, `'Recall'`, `'top_k_categorical_accuracy'`,
   * `'sparse_top_k_categorical_accuracy'`. Logs use the string given (`'mae'` logs `mae`), as Keras 3 does. An
   * unknown name throws `UnknownMetricError` here, not at `fit`.
   */
  metrics?: (string | Metric)[];
}

/** The keys of {@link CompileOptions}. */
const COMPILE_OPTION_KEYS = {
  optimizer: true,
  loss: true,
  metrics: true,
} as const satisfies OptionKeys<CompileOptions>;

/**
 * How much `fit` and `evaluate` print: 0 nothing; 1 a progress bar (redrawn in place on a terminal; where the
 * output is not a terminal (a pipe, a file, CI logs) one line per epoch, without the per-batch redraws Keras
 * would write); 2 one line per epoch without the bar; `'auto'` is 1, as in Keras.
 */
export type Verbosity = 0 | 1 | 2 | 'auto';

/** Options of {@link BaseModel.fit}, Keras's names in camelCase. */
export interface FitOptions {
  /** Index of the epoch to stop before (default 1): trains epochs `initialEpoch … epochs − 1`. */
  epochs?: number;
  /** Samples per gradient step (default 32). */
  batchSize?: number;
  /** Data to evaluate after each epoch: `[x, y]`. */
  validationData?: readonly [TensorLike, TensorLike];
  /**
   * Fraction of the data, taken from its end before shuffling, to validate on instead (Keras's rule: the
   * first `⌊rows·(1 − split)⌋` samples train). Must leave at least one sample on each side.
   */
  validationSplit?: number;
  /** Shuffle the training samples before each epoch (default true). */
  shuffle?: boolean;
  /** See {@link Verbosity} (default `'auto'`, a progress bar). */
  verbose?: Verbosity;
  /** Hooks into training (History is always added and returned). */
  callbacks?: Callback[];
  /** Epoch to start counting from, to resume a run: an integer ≥ 0 (default 0). */
  initialEpoch?: number;
  /**
   * The fit's seed, an integer in [0, 2³²) (not a Keras option). Default: one number drawn from warmstart's
   * global generator when `fit` starts, so `setRandomSeed(s)` before the same code gives the same seed. Epoch
   * k shuffles its samples and draws its dropout masks from a generator seeded with (seed, k) only, so
   * `fit(x, y, { initialEpoch: k })` on the weights and optimizer state saved after epoch k − 1 continues
   * exactly as the uninterrupted run did (given the same seed: the same code after the same
   * `setRandomSeed`, or this option). Layers with their own `seed` draw from their own generator instead.
   */
  seed?: number;
  /** Where the progress bar writes (default `process.stdout` in Node, the console in browsers). */
  progressWriter?: ProgressWriter;
  /**
   * Give the event loop a turn while training, so a page stays responsive and callbacks' output shows:
   * `{ milliseconds: 16 }` after that much training, `{ batches: 50 }` after that many batches, `false`
   * never. Default: every 16 ms in browsers, never in Node.
   */
  yieldEvery?: YieldEvery;
}

/** The keys of {@link FitOptions}. */
const FIT_OPTION_KEYS = {
  epochs: true,
  batchSize: true,
  validationData: true,
  validationSplit: true,
  shuffle: true,
  verbose: true,
  callbacks: true,
  initialEpoch: true,
  seed: true,
  progressWriter: true,
  yieldEvery: true,
} as const satisfies OptionKeys<FitOptions>;

/** Options of {@link BaseModel.predict}. */
export interface PredictOptions {
  /** Samples per forward pass (default 32). */
  batchSize?: number;
  /** 0 silent (default, unlike Keras's progress bar: `predict` is often called in loops), 1 or 2 one line. */
  verbose?: Verbosity;
  /** Where the line goes (default `process.stdout`). */
  progressWriter?: ProgressWriter;
}

/** The keys of {@link PredictOptions}. */
const PREDICT_OPTION_KEYS = {
  batchSize: true,
  verbose: true,
  progressWriter: true,
} as const satisfies OptionKeys<PredictOptions>;

/** Options of {@link BaseModel.evaluate}. */
export interface EvaluateOptions {
  /** Samples per forward pass (default 32). */
  batchSize?: number;
  /**
   * 0 silent; 1, 2 or `'auto'` (the default, as in Keras) print one line when done:
   * `313/313 ━━━━━━━━━━━━━━━━━━━━ 0s 1ms/step - loss: 0.3245 - accuracy: 0.8867`.
   */
  verbose?: Verbosity;
  /** Where the line goes (default `process.stdout`). */
  progressWriter?: ProgressWriter;
  /** Return `{ loss, accuracy, … }` keyed by name instead of Keras's list (or scalar). */
  returnDict?: boolean;
}

/** The keys of {@link EvaluateOptions}. */
const EVALUATE_OPTION_KEYS = {
  batchSize: true,
  verbose: true,
  progressWriter: true,
  returnDict: true,
} as const satisfies OptionKeys<EvaluateOptions>;

/**
 * What `evaluate` returns without `returnDict`, as Keras: the loss alone when the model has no metrics, else
 * `[loss, ...metrics]` in compile order. (`returnDict: true` gives a typed object instead.)
 */
export type EvaluateResult = number | number[];

/** Resolves in a later task of the event loop (not a microtask), so that pending tasks run first. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
    if (immediate !== undefined) immediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * An IO implementation that `model.save` delegates to (registered by `src/io`): it writes a path, or makes the
 * file's bytes for `{ format }`.
 */
export type ModelSaver = (
  model: BaseModel,
  target: string | { format: 'h5' | 'keras' },
  options?: Record<string, unknown>,
) => Promise<void | Uint8Array>;
let modelSaver: ModelSaver | null = null;

/** Registers what `model.save(path)` calls; the `io` module does this when imported. */
export function registerModelSaver(saver: ModelSaver): void {
  modelSaver = saver;
}

/** A `fit` that has not settled: the layers it trains are busy until it does. */
interface RunningFit {
  /** The model whose `fit` runs. */
  readonly model: BaseModel;
  /** Resolves when the fit settles, however it ends. */
  readonly done: Promise<void>;
  /** Above 0 while the fit runs one of its callbacks' hooks (callback code may evaluate and predict). */
  hookDepth: number;
}

/**
 * Which running fit trains each layer. Layers are shared between models (Keras semantics), so the guard is per
 * layer: while model B trains, model A refuses `evaluate` too if it shares one of B's layers.
 */
const runningFits = new WeakMap<Layer, RunningFit>();

/** Forwards a callback's hooks, marking them as callback code of `run` while they run synchronously. */
class CallbackHooks extends Callback {
  constructor(
    private readonly inner: Callback,
    private readonly run: RunningFit,
  ) {
    super();
  }
  override onTrainBegin(logs?: Logs): void | Promise<void> {
    this.run.hookDepth++;
    try {
      return this.inner.onTrainBegin(logs);
    } finally {
      this.run.hookDepth--;
    }
  }
  override onTrainEnd(logs?: Logs): void | Promise<void> {
    this.run.hookDepth++;
    try {
      return this.inner.onTrainEnd(logs);
    } finally {
      this.run.hookDepth--;
    }
  }
  override onEpochBegin(epoch: number, logs?: Logs): void | Promise<void> {
    this.run.hookDepth++;
    try {
      return this.inner.onEpochBegin(epoch, logs);
    } finally {
      this.run.hookDepth--;
    }
  }
  override onEpochEnd(epoch: number, logs: Logs): void | Promise<void> {
    this.run.hookDepth++;
    try {
      return this.inner.onEpochEnd(epoch, logs);
    } finally {
      this.run.hookDepth--;
    }
  }
  override onBatchBegin(batch: number, logs?: Logs): void {
    this.run.hookDepth++;
    try {
      this.inner.onBatchBegin(batch, logs);
    } finally {
      this.run.hookDepth--;
    }
  }
  override onBatchEnd(batch: number, logs: Logs): void | Promise<void> {
    this.run.hookDepth++;
    try {
      return this.inner.onBatchEnd(batch, logs);
    } finally {
      this.run.hookDepth--;
    }
  }
}

/** Resolves Keras's `verbose` (`'auto'` is 1) and refuses anything else. */
function checkVerbosity(verbose: unknown, method: string): 0 | 1 | 2 {
  if (verbose === 'auto') return 1;
  if (verbose === 0 || verbose === 1 || verbose === 2) return verbose;
  throw new InputDataError(
    `${method}: verbose must be 0 (silent), 1 (progress bar), 2 (one line per epoch) or 'auto', got ${JSON.stringify(verbose)}`,
  );
}

/**
 * Where a running fit stands: what a checkpoint stores so that a resumed fit continues exactly (the
 * `BackupAndRestore` callback saves it with the weights and the optimizer's state). Plain JSON apart from
 * non-finite numbers (a diverged loss), which the writer must encode.
 */
export interface FitState {
  /** The fit's seed (see {@link FitOptions.seed}). */
  seed: number;
  /** The epoch to continue (0-based): the running one, or the next when the running one has ended. */
  epoch: number;
  /** Batches of `epoch` already trained (0: the epoch starts from its first batch). */
  step: number;
  /** Batches per epoch of the fit that saved the state: a fit with other data or batch size refuses it. */
  steps: number;
  /** The epoch's generator after those batches (null when `step` is 0: it restarts from (seed, epoch)). */
  random: RandomState | null;
  /** The epoch's summed batch losses (each batch's mean times its size) so far. */
  lossSum: number;
  /** Samples the epoch has trained on so far. */
  seen: number;
  /** Each compiled metric's running state (`MetricAccumulator.getState`), in compile order. */
  metrics: number[][];
  /**
   * The epochs ended so far, as the fit's `History` holds them; when present, restoring puts them back into
   * the resumed fit's `History`, which then holds the whole run.
   */
  history?: { epoch: number[]; history: Record<string, number[]> };
}

/** The running fit's progress (see {@link FitState}): read by `getFitState`, set by `restoreFitState`. */
interface ActiveFit {
  seed: number;
  readonly steps: number;
  /** Values per target row (what the metrics' accumulators are made for). */
  readonly targetWidth: number;
  readonly params: TrainingParams;
  readonly history: History;
  /** Whether training began (past every `onTrainBegin`): restoring is refused from then on. */
  started: boolean;
  /** The state `restoreFitState` asked to continue from. */
  resume: FitState | null;
  epoch: number;
  step: number;
  /** Whether the running epoch's batches and validation are done (its `onEpochEnd` hooks run). */
  ended: boolean;
  epochLogs: Logs | null;
  random: RandomGenerator | null;
  lossSum: number;
  seen: number;
  accumulators: MetricAccumulator[];
}

/** Checks a state given to `restoreFitState` and names what is wrong. */
function checkFitState(state: FitState, active: ActiveFit, metricCount: number): void {
  const fail = (problem: string): never => {
    throw new FitStateError(`restoreFitState: ${problem}`);
  };
  if (typeof state !== 'object' || state === null) fail(`expected a saved fit state, got ${String(state)}`);
  const integer = (value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
      fail(`${name} must be an integer in [0, ${max}], got ${JSON.stringify(value)}`);
    return value as number;
  };
  integer(state.seed, 'seed', 0xffffffff);
  integer(state.epoch, 'epoch');
  const steps = integer(state.steps, 'steps');
  if (steps !== active.steps) {
    fail(
      `the state was saved by a fit of ${steps} batches per epoch, this one has ${active.steps} (${active.params.samples} samples, batch size ${active.params.batchSize}): the data or the batch size changed`,
    );
  }
  const step = integer(state.step, 'step', steps);
  if (step > 0) {
    if (state.random === null || typeof state.random !== 'object')
      fail(`a state in the middle of an epoch (batch ${step}) needs the epoch's random state`);
    if (typeof state.lossSum !== 'number')
      fail(`lossSum must be a number, got ${JSON.stringify(state.lossSum)}`);
    integer(state.seen, 'seen');
    if (!Array.isArray(state.metrics) || state.metrics.length !== metricCount) {
      fail(
        `the state holds ${Array.isArray(state.metrics) ? state.metrics.length : 'no'} metric states, the model was compiled with ${metricCount} metrics`,
      );
    }
  }
  if (state.history !== undefined) {
    const { epoch, history } = state.history;
    if (!Array.isArray(epoch) || typeof history !== 'object' || history === null)
      fail('history must be { epoch: number[], history: { key: number[] } }');
  }
}

/** Keras's closing progress line of `evaluate`/`predict`: `313/313 ━━━━ 0s 1ms/step - loss: …`. */
function writeProgressLine(
  writer: ProgressWriter | undefined,
  steps: number,
  milliseconds: number,
  verbose: 1 | 2,
  logs: Logs,
): void {
  const out =
    writer ??
    (globalThis as { process?: { stdout?: ProgressWriter } }).process?.stdout ??
    ({ write: (text: string) => console.log(text.replace(/\n$/, '')) } satisfies ProgressWriter);
  const perStep = steps > 0 ? milliseconds / steps : 0;
  const bar = verbose === 1 ? ` ${'━'.repeat(20)}` : '';
  const timing = ` ${Math.round(milliseconds / 1000)}s ${perStep >= 1 ? `${Math.round(perStep)}ms` : `${Math.round(perStep * 1000)}us`}/step`;
  const values = orderLogKeys(Object.keys(logs))
    .map((key) => ` - ${key}: ${formatLogValue(logs[key])}`)
    .join('');
  out.write(`${steps}/${steps}${bar}${timing}${values}\n`);
}

/**
 * The layers whose weights train, as `compile` fixes them: every layer marked trainable, looking inside models
 * nested as layers (a nested model marked frozen freezes all of its layers, as in Keras, where its
 * `trainable_weights` is then empty whatever its layers' flags say).
 */
export function trainableLayers(layers: readonly Layer[], into: Set<Layer> = new Set()): Set<Layer> {
  for (const layer of layers) {
    if (!layer.trainable) continue;
    if (layer instanceof BaseModel) trainableLayers(layer.layers, into);
    else into.add(layer);
  }
  return into;
}

/** The layers that compute, looking inside nested models (each once, in order). */
export function leafLayers(layer: Layer): Layer[] {
  return layer instanceof BaseModel ? [...new Set(layer.layers.flatMap(leafLayers))] : [layer];
}

/** Whether backward writes weight gradients in `layer` (or, for a nested model, in any of its layers). */
export function layerTrains(layer: Layer, trainable: ReadonlySet<Layer>): boolean {
  if (layer instanceof BaseModel) return layer.layers.some((inner) => layerTrains(inner, trainable));
  return trainable.has(layer) && layer.weights.length > 0;
}

/** How a compiled model trains: fixed at `compile`, as Keras fixes `trainable` then. */
interface CompiledState {
  optimizer: Optimizer;
  loss: Loss;
  /** The metric names as `compile` was given them (saving writes these). */
  metricNames: string[];
  /** The metrics, resolved at compile (an unknown name fails there). */
  metrics: Metric[];
  trainable: ReadonlySet<Layer>;
  /** The variables the optimizer updates; resolved once, when the layers' weights first exist. */
  trainableVariables: Variable[] | null;
}

/**
 * What `Sequential` and the functional `Model` share: compile, fit, evaluate, predict, weights and summary.
 * Subclasses provide the forward and backward passes over their layers.
 *
 * A model is also a layer, as in Keras: it can be a layer of another model (`new Sequential([base, new
 * GlobalAveragePooling2D(), new Dense(…)])`, or `base.apply(x)` in a functional graph). Its weights are then
 * its layers' weights, `trainable = false` freezes all of its layers (setting the flag sets every layer's, as
 * Keras's setter does), and the outer model's `compile` decides what trains.
 */
export abstract class BaseModel extends Layer {
  /** Set by a callback to end `fit` after the current epoch. */
  stopTraining = false;
  /** The compiled state, null until `compile`. */
  protected compiled: CompiledState | null = null;
  private readonly inputBuffer = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.requireInputShape()),
  );
  private readonly targetBuffer = new BatchBuffer(
    () => this.kernels,
    () => this.targetWidth,
  );
  private readonly outputGradient = new BatchBuffer(
    () => this.kernels,
    () => this.outputWidth,
  );
  private targetWidth = 1;
  private readonly batchLogs: Logs = {};
  /** The running fit's progress, or null outside `fit`. */
  private activeFit: ActiveFit | null = null;

  protected constructor(name: string) {
    super({ name }, 'model');
  }

  /** The model's layers in order (a Sequential's without its input layer, as Keras lists them). */
  abstract get layers(): Layer[];
  /** Per-sample input shape, or null until known. */
  abstract override get inputShape(): Shape | null;
  /** Per-sample output shape. */
  abstract get outputShape(): Shape;
  /**
   * Creates every layer's weights for the per-sample input shape (in `kernels`' memory when given, as when an
   * outer model builds this one as its layer).
   */
  abstract override build(inputShape: Shape, kernels?: Kernels): void;
  /** Runs the layers forward over `batch` rows of `input` (in the kernels' memory); returns the output. */
  protected abstract forwardPass(input: Float32Array, batch: number, training: boolean): Float32Array;
  /**
   * Runs backward from ∂loss/∂output (∂loss/∂pre-activation of the output layer when `preActivation`),
   * writing weight gradients of the layers in `trainable` only; returns ∂loss/∂input when
   * `computeInputGradient` (a nested model's caller needs it), else null.
   */
  protected abstract backwardPass(
    outputGradient: Float32Array,
    batch: number,
    preActivation: boolean,
    trainable: ReadonlySet<Layer>,
    computeInputGradient: boolean,
  ): Float32Array | null;
  /** The layer whose activation produces the output (a loss may fuse with it). */
  protected abstract get outputLayer(): Layer;
  /** Per-sample output shape of one of this model's layers (null before the input shape is known). */
  abstract outputShapeOf(layer: Layer): Shape | null;
  /** Keras's config of the model (`layers`, …) for saving and cloning. */
  abstract override getConfig(): Record<string, unknown>;
  /** The model as a layer: the output for a per-sample input shape (which must be the model's own). */
  abstract override computeOutputShape(inputShape: Shape): Shape;

  /** The model as a layer: runs its layers forward (the output buffer belongs to its output layer). */
  override forward(input: Float32Array, batch: number, training: boolean): Float32Array {
    return this.forwardPass(input, batch, training);
  }

  /**
   * The model as a layer: backward through its layers. Weight gradients go to the layers `compile` would train
   * (by their flags) when `computeWeightGradients`; an outer model passes its compiled choice instead through
   * {@link backwardWithin}.
   */
  override backward(
    outputGradient: Float32Array,
    batch: number,
    computeWeightGradients: boolean,
    computeInputGradient: boolean,
    preActivation: boolean,
  ): Float32Array | null {
    const trainable = computeWeightGradients ? trainableLayers(this.layers) : new Set<Layer>();
    return this.backwardPass(outputGradient, batch, preActivation, trainable, computeInputGradient);
  }

  /** Backward as a layer of an outer model, which fixed at its `compile` which layers train. */
  backwardWithin(
    outputGradient: Float32Array,
    batch: number,
    trainable: ReadonlySet<Layer>,
    computeInputGradient: boolean,
    preActivation: boolean,
  ): Float32Array | null {
    return this.backwardPass(outputGradient, batch, preActivation, trainable, computeInputGradient);
  }

  /** The activation the model's output layer applies last (a loss may fuse with it). */
  override get outputActivation(): string | null {
    return this.outputLayer.outputActivation;
  }
  /** Frees the subclass's own buffers and forgets its layers (called once, by {@link BaseModel.dispose}). */
  protected releaseLayers(): void {}

  /**
   * Frees the model's kernel memory. What is freed:
   *
   * - the model's own buffers (inputs, targets, output gradient, its graph's scratch), always;
   * - each of its layers that no other live model uses (weights, gradients, batch buffers); a layer shared
   *   with a live model (`new Sequential(modelA.layers.slice(0, -1))`) stays with that model;
   * - the optimizer of its last `compile`, when no other live model was compiled with it; otherwise only the
   *   optimizer's slots for the layers disposed here.
   *
   * Afterwards every method of the model throws {@link DisposedError}, as does any disposed layer or
   * optimizer. A model dropped without `dispose()` has the same memory freed after garbage collection, as
   * a safety net; calling `dispose()` frees it at once. Calling it again does nothing.
   * @throws ModelBusyError while an unfinished `fit` trains this model's layers (a forgotten `await`)
   */
  override dispose(): void {
    if (this.isDisposed) return;
    // Freeing weights that an unfinished fit still trains would turn its next step into a use-after-free.
    this.assertIdle('dispose', false);
    const layers = this.layers;
    const optimizer = this.compiled?.optimizer ?? null;
    // Marks the model disposed (as a layer it owns no weights of its own).
    super.dispose();
    this.compiled = null;
    for (const buffer of [this.inputBuffer, this.targetBuffer, this.outputGradient]) buffer.release();
    const orphans = layers.filter((layer) => !removeUser(layer, this) && !layer.isDisposed);
    if (optimizer !== null) {
      if (removeUser(optimizer, this)) optimizer.releaseVariables(orphans.flatMap((layer) => layer.weights));
      else optimizer.dispose();
    }
    for (const layer of orphans) layer.dispose();
    this.releaseLayers();
  }

  /** Throws {@link DisposedError} once the model is disposed. */
  protected assertLive(action: string): void {
    if (this.isDisposed) throw new DisposedError('model', this.name, action);
  }

  /** Whether every layer's weights exist. */
  override get built(): boolean {
    return this.layers.length > 0 && this.layers.every((layer) => layer.built);
  }

  /** The kernels holding this model's weights. */
  override get kernels(): Kernels {
    const built = this.layers.find((layer) => layer.built);
    return built ? built.kernels : getKernels();
  }

  /** Width of one output row. */
  get outputWidth(): number {
    return sizeOf(this.outputShape);
  }

  /** Every weight of every layer, each once, in layer order. */
  override get weights(): Variable[] {
    return [...new Set(this.layers.flatMap((layer) => layer.weights))];
  }

  /** Weights of layers currently marked trainable (none while the model's own `trainable` is false). */
  override get trainableWeights(): Variable[] {
    if (!this.trainable) return [];
    return [...new Set(this.layers.flatMap((layer) => layer.trainableWeights))];
  }

  /** Weights of layers currently frozen (all of them while the model's own `trainable` is false). */
  override get nonTrainableWeights(): Variable[] {
    if (!this.trainable) return this.weights;
    return [...new Set(this.layers.flatMap((layer) => layer.nonTrainableWeights))];
  }

  /**
   * Whether the model trains, as Keras's `model.trainable`. Setting it sets every layer's `trainable` too, so
   * `model.trainable = false` freezes the whole model (and any model built from its layers sees them frozen:
   * layers are shared); as with a layer's flag, the change takes effect at the next `compile`. While it is
   * false, `compile` trains nothing of this model even if a layer is set trainable again afterwards, as in
   * Keras. A model nested as a layer of another is frozen the same way: the outer model's `compile` trains
   * none of its layers.
   */
  override get trainable(): boolean {
    return super.trainable;
  }

  override set trainable(value: boolean) {
    if (typeof value !== 'boolean') {
      throw new TypeError(`model.trainable must be true or false, got ${String(value)}`);
    }
    super.trainable = value;
    for (const layer of this.layers) layer.trainable = value;
  }

  /**
   * Sets the model's own flag and leaves its layers' alone: what loading a saved nested model does (Keras
   * restores each layer's flag from its own config).
   */
  setOwnTrainableFlag(value: boolean): void {
    super.trainable = value;
  }

  /** The optimizer given to the last `compile`, or null. */
  get optimizer(): Optimizer | null {
    return this.compiled?.optimizer ?? null;
  }

  /** The loss given to the last `compile`, or null. */
  get loss(): Loss | null {
    return this.compiled?.loss ?? null;
  }

  /** The metrics resolved at the last `compile`. */
  get metrics(): readonly Metric[] {
    return this.compiled?.metrics ?? [];
  }

  /** Total number of scalars in the weights. */
  override countParams(): number {
    return this.weights.reduce((total, weight) => total + weight.size, 0);
  }

  /** Copies of all weights, in Keras's order (layer by layer; kernel, then bias). */
  override getWeights(): Tensor[] {
    return this.weights.map((weight) => weight.read());
  }

  /** Overwrites all weights from a list shaped like {@link getWeights}'s. */
  override setWeights(values: readonly Tensor[]): void {
    const weights = this.weights;
    if (values.length !== weights.length) {
      throw new ShapeError(`model '${this.name}' has ${weights.length} weights, got ${values.length} values`);
    }
    weights.forEach((weight, index) => weight.assign(values[index]));
  }

  /** A layer by name or by index. */
  getLayer(nameOrIndex: string | number): Layer {
    const layer =
      typeof nameOrIndex === 'number'
        ? this.layers[nameOrIndex]
        : this.layers.find((l) => l.name === nameOrIndex);
    if (layer === undefined)
      throw new RangeError(`model '${this.name}' has no layer ${JSON.stringify(nameOrIndex)}`);
    return layer;
  }

  /**
   * Configures training. Which layers train is fixed now, from each layer's `trainable` flag (and the model's
   * own): changing a flag takes effect at the next `compile`, as in Keras.
   * @throws UnknownMetricError for a metric name warmstart does not know
   * @throws ModelBusyError while a `fit` that trains this model's layers has not finished
   */
  compile(options: CompileOptions): void {
    this.assertLive('compile');
    this.assertIdle('compile', false);
    checkOptions('compile', options, COMPILE_OPTION_KEYS);
    const optimizer = getOptimizer(options.optimizer);
    const loss = getLoss(options.loss);
    const trainable = this.trainable ? trainableLayers(this.layers) : new Set<Layer>();
    const given = options.metrics ?? [];
    if (!Array.isArray(given)) {
      throw new TypeError(`compile: metrics must be a list of names or Metric objects, got ${typeof given}`);
    }
    const metrics = given.map((metric) => getMetric(metric));
    const metricNames = metrics.map((metric) => metric.name);
    // The model now uses this optimizer (its dispose frees it); a replaced one goes back to the caller.
    const previous = this.compiled?.optimizer;
    if (previous !== undefined && previous !== optimizer) removeUser(previous, this);
    addUser(optimizer, this);
    this.compiled = { optimizer, loss, metricNames, metrics, trainable, trainableVariables: null };
    if (this.inputShape !== null) this.ensureBuilt(this.inputShape);
  }

  /** The metric names given to the last `compile` (what saving writes, as Keras's compile config keeps them). */
  get compileMetricNames(): readonly string[] {
    return this.compiled?.metricNames ?? [];
  }

  private ensureBuilt(inputShape: Shape): void {
    if (!this.built) this.build(inputShape);
    const compiled = this.compiled;
    if (compiled === null || compiled.trainableVariables !== null) return;
    // Weights a layer never trains (BatchNormalization's moving statistics) stay out of the optimizer.
    compiled.trainableVariables = [
      ...new Set(
        [...compiled.trainable].flatMap((layer) =>
          layer.trainable ? layer.trainableWeights : layer.weights,
        ),
      ),
    ];
    compiled.optimizer.build(compiled.trainableVariables);
  }

  private requireCompiled(method: string): CompiledState {
    this.assertLive(method);
    if (this.compiled === null) {
      throw new NotCompiledError(
        `model '${this.name}' must be compiled before ${method}(): call model.compile({ optimizer, loss })`,
      );
    }
    return this.compiled;
  }

  private requireInputShape(): Shape {
    const shape = this.inputShape;
    if (shape === null) throw new Error(`model '${this.name}' has no input shape yet`);
    return shape;
  }

  /** The unfinished fits that train this model's layers and are not running one of their callbacks. */
  private blockingFits(allowFromCallbacks: boolean): RunningFit[] {
    const runs = new Set<RunningFit>();
    for (const layer of this.layers.flatMap(leafLayers)) {
      const run = runningFits.get(layer);
      if (run !== undefined && !(allowFromCallbacks && run.hookDepth > 0)) runs.add(run);
    }
    return [...runs];
  }

  /**
   * Refuses `method` while an unfinished `fit` trains one of this model's layers (this model's own fit, or
   * another model's that shares layers with it), except `evaluate`/`predict` called from inside that fit's
   * callbacks (synchronously, as a callback's hook runs).
   */
  private assertIdle(method: string, allowFromCallbacks: boolean): void {
    this.assertLive(method);
    const run = this.blockingFits(allowFromCallbacks)[0];
    if (run === undefined) return;
    const consequence =
      method === 'fit'
        ? 'a second fit() would train the same layers at the same time'
        : method === 'compile'
          ? 'compiling now would change a model that is training'
          : method === 'dispose'
            ? 'disposing now would free the weights it is training'
            : `${method}() now would use half-trained weights`;
    const waiting =
      method === 'evaluate' || method === 'predict'
        ? `, or \`await model.${method}Async(...)\`, which waits for the fit`
        : '';
    const fix =
      run.model === this
        ? `Did you forget \`await\`? Write \`await model.fit(...)\`${waiting}.`
        : `Did you forget \`await\` before model '${run.model.name}'.fit(...)? Await it${waiting}.`;
    const state =
      run.model === this
        ? `model '${this.name}' is still training: its fit() has not finished`
        : `model '${this.name}' shares layers with model '${run.model.name}', whose fit() has not finished`;
    throw new ModelBusyError(`${state}, and ${consequence}. ${fix}`);
  }

  /** Calls `use` once no unfinished fit trains this model's layers (at once from inside a fit's callback). */
  private afterRunningFits<T>(use: () => T): Promise<T> {
    const blocking = this.blockingFits(true);
    if (blocking.length === 0) {
      try {
        return Promise.resolve(use());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return Promise.all(blocking.map((run) => run.done)).then(() => this.afterRunningFits(use));
  }

  /**
   * Checks `x` against the model's input (building the model on first sight) and that it is finite. A model
   * with an input shape takes samples of exactly that shape, as Keras does: `[n, 784]` is refused by a model
   * declared with `inputShape: [28, 28]` even though the sizes agree.
   */
  private prepareInputs(x: TensorLike, what: string): Tensor {
    this.assertLive(what);
    const inputs = toTensor(x, `${what}: inputs`);
    if (inputs.shape.length < 2) {
      throw new InputDataError(
        `${what}: inputs need a batch axis, got shape [${inputs.shape.join(', ')}]: pass [samples, ...inputShape]` +
          (inputs.shape.length === 1 ? ` (one sample? reshape it to [1, ${inputs.shape[0]}])` : ''),
      );
    }
    const sampleShape = inputs.shape.slice(1);
    const expected = this.inputShape;
    if (expected !== null && expected.join(',') !== sampleShape.join(',')) {
      const hint =
        sizeOf(expected) === sizeOf(sampleShape)
          ? `: the sizes agree, so reshape it with x.reshape([${inputs.rows}, ${expected.join(', ')}])`
          : '';
      throw new InputDataError(
        `${what}: model '${this.name}' expects samples of shape [${expected.join(', ')}], got [${sampleShape.join(', ')}] (inputs of shape [${inputs.shape.join(', ')}])${hint}`,
      );
    }
    this.ensureBuilt(expected ?? sampleShape);
    const bad = this.kernels.firstNonFinite(inputs.data);
    if (bad >= 0) {
      throw new InputDataError(
        `${what}: inputs hold a non-finite value (${inputs.data[bad]}) in sample ${Math.floor(bad / sizeOf(sampleShape))}`,
      );
    }
    return inputs;
  }

  /** Checks targets against the loss and the output width; returns them flat with their row width. */
  private prepareTargets(
    y: TensorLike,
    rows: number,
    loss: Loss,
    what: string,
  ): { data: Float32Array; width: number } {
    const targets = toTensor(y, `${what}: targets`);
    if (targets.rows !== rows || targets.shape.length === 0) {
      throw new InputDataError(
        `${what}: ${rows} input samples but ${targets.shape.length === 0 ? 0 : targets.rows} targets`,
      );
    }
    const width = targets.size / Math.max(rows, 1);
    const outputs = this.outputWidth;
    if (loss.sparseTargets) {
      if (width !== 1) {
        throw new InputDataError(
          `${what}: ${loss.name} takes one class index per sample, got targets of shape [${targets.shape.join(', ')}]` +
            (width === outputs ? `: for one-hot targets use categorical_crossentropy` : ''),
        );
      }
    } else if (width !== outputs) {
      throw new InputDataError(
        `${what}: ${loss.name} needs ${outputs} target values per sample (the model's output width), got ${width}` +
          (width === 1 && outputs > 1 ? `: for class indices use sparse_categorical_crossentropy` : ''),
      );
    }
    const problem = loss.checkTargets(this.kernels, targets.data, rows, width, outputs);
    if (problem !== null) throw new InputDataError(`${what}: ${problem}`);
    return { data: targets.data, width };
  }

  /** One fresh accumulator per compiled metric, for a pass over targets of `targetWidth` values per row. */
  private metricAccumulators(compiled: CompiledState, targetWidth: number): MetricAccumulator[] {
    const context: MetricContext = { loss: compiled.loss, outputWidth: this.outputWidth, targetWidth };
    return compiled.metrics.map((metric) => metric.accumulator(context));
  }

  private fusedWithLoss(loss: Loss): boolean {
    return loss.fusableActivation !== null && this.outputLayer.outputActivation === loss.fusableActivation;
  }

  /**
   * Trains for epochs `initialEpoch … epochs − 1` over `(x, y)`; resolves to the {@link History} of every
   * epoch's logs (`loss`, `accuracy`, `val_loss`, `val_accuracy`, … as Keras names them).
   *
   * `x`: a {@link Tensor} (or nested number arrays, or `{ data, shape }`) of shape `[samples, ...inputShape]`,
   * float32 (`tensor(uint8Images, shape)` converts bytes; {@link Tensor.div} scales them).
   *
   * `y`, by loss (any numeric array; stored as float32):
   * - `sparse_categorical_crossentropy`: one class index per sample, shape `[samples]` or `[samples, 1]`,
   *   integers in `[0, outputs − 1]`;
   * - `binary_crossentropy`: `[samples, outputs]` (or `[samples]` for one output), values in `[0, 1]`
   *   (soft labels allowed);
   * - `categorical_crossentropy`: `[samples, outputs]`, each row non-negative and summing to 1 (one-hot or
   *   smoothed);
   * - `mean_squared_error`: `[samples, outputs]`, finite.
   *
   * Anything else is an `InputDataError` before the first step. `fit` is asynchronous: `await` it. Until it
   * settles, the model (and any model sharing its layers) refuses `fit`, `evaluate`, `predict` and `compile`
   * with a `ModelBusyError`; `evaluateAsync`/`predictAsync` wait for it instead.
   */
  async fit(x: TensorLike, y: TensorLike, options: FitOptions = {}): Promise<History> {
    this.assertIdle('fit', false);
    checkOptions('fit', options, FIT_OPTION_KEYS);
    // Layers inside nested models train too: they are what another model could share.
    const layers = this.layers.flatMap(leafLayers);
    let settle = (): void => {};
    const run: RunningFit = {
      model: this,
      done: new Promise<void>((resolve) => (settle = resolve)),
      hookDepth: 0,
    };
    for (const layer of layers) runningFits.set(layer, run);
    try {
      return await this.runFit(x, y, options, run);
    } finally {
      for (const layer of layers) if (runningFits.get(layer) === run) runningFits.delete(layer);
      settle();
    }
  }

  private async runFit(x: TensorLike, y: TensorLike, options: FitOptions, run: RunningFit): Promise<History> {
    const compiled = this.requireCompiled('fit');
    const epochs = options.epochs ?? 1;
    const batchSize = options.batchSize ?? 32;
    const verbose = checkVerbosity(options.verbose ?? 'auto', 'fit');
    const initialEpoch = options.initialEpoch ?? 0;
    if (!Number.isInteger(epochs) || epochs < 0)
      throw new InputDataError(`fit: epochs must be an integer ≥ 0, got ${epochs}`);
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new InputDataError(`fit: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(initialEpoch) || initialEpoch < 0) {
      throw new InputDataError(
        `fit: initialEpoch must be an integer ≥ 0 (the epoch to resume from), got ${initialEpoch}`,
      );
    }
    let inputs = this.prepareInputs(x, 'fit');
    if (inputs.rows === 0) {
      throw new InputDataError(`fit: no training samples: x has shape [${inputs.shape.join(', ')}] (0 rows)`);
    }
    let targets = this.prepareTargets(y, inputs.rows, compiled.loss, 'fit');
    let validation: readonly [TensorLike, TensorLike] | undefined = options.validationData;
    if (validation === undefined && options.validationSplit !== undefined) {
      const split = options.validationSplit;
      if (!(split > 0 && split < 1))
        throw new InputDataError(`fit: validationSplit must be in (0, 1), got ${split}`);
      const cut = Math.floor(inputs.rows * (1 - split));
      if (cut === 0 || cut === inputs.rows) {
        throw new InputDataError(
          `fit: validationSplit ${split} of ${inputs.rows} samples leaves ${cut === 0 ? 'no training' : 'no validation'} samples (the first ⌊${inputs.rows} × (1 − ${split})⌋ = ${cut} train): give more data or another split`,
        );
      }
      const targetTensor = new Tensor(targets.data, [inputs.rows, targets.width]);
      validation = [inputs.slice(cut), targetTensor.slice(cut)];
      inputs = inputs.slice(0, cut);
      targets = { data: targetTensor.slice(0, cut).data, width: targets.width };
    }
    const validationSet =
      validation === undefined
        ? null
        : (() => {
            const validationInputs = this.prepareInputs(validation[0], 'fit (validation data)');
            if (validationInputs.rows === 0)
              throw new InputDataError('fit (validation data): no validation samples (0 rows)');
            const validationTargets = this.prepareTargets(
              validation[1],
              validationInputs.rows,
              compiled.loss,
              'fit (validation data)',
            );
            return { inputs: validationInputs, targets: validationTargets };
          })();
    // A metric that cannot apply to these shapes fails now, before the first step.
    this.metricAccumulators(compiled, targets.width);
    // prepareInputs built the model, which resolved the variables compile fixed.
    const trainableVariables = compiled.trainableVariables!;

    const samples = inputs.rows;
    const steps = Math.ceil(samples / batchSize);
    const seed = options.seed ?? globalRandom().nextUint32();
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new InputDataError(`fit: seed must be an integer in [0, 2³²), got ${seed}`);
    const history = new History();
    const given: Callback[] = [...(options.callbacks ?? []), history];
    if (verbose > 0) given.push(new ProgbarLogger({ verbose, writer: options.progressWriter }));
    const params: TrainingParams = { epochs, steps, samples, batchSize, verbose, initialEpoch, seed };
    for (const callback of given) {
      callback.setModel(this);
      callback.setParams(params);
    }
    // Hooks run marked as callback code: a callback may evaluate or predict with the training model.
    const callbacks = given.map((callback) => new CallbackHooks(callback, run));
    const order = new Int32Array(samples);
    const active: ActiveFit = {
      seed,
      steps,
      targetWidth: targets.width,
      params,
      history,
      started: false,
      resume: null,
      epoch: initialEpoch,
      step: 0,
      ended: false,
      epochLogs: null,
      random: null,
      lossSum: 0,
      seen: 0,
      accumulators: [],
    };
    const yielder = TrainingYielder.from(options.yieldEvery);
    this.stopTraining = false;
    this.activeFit = active;
    try {
      for (const callback of callbacks) await callback.onTrainBegin();
      active.started = true;
      // Checking and preparing the data took a while: let the page breathe before the first batch.
      if (yielder !== null) await yielder.turn();
      const resume = active.resume;
      if (resume?.history !== undefined) {
        history.epoch.push(...resume.history.epoch);
        for (const [key, values] of Object.entries(resume.history.history))
          history.history[key] = [...values];
      }
      for (let epoch = resume?.epoch ?? initialEpoch; epoch < epochs && !this.stopTraining; epoch++) {
        // Epoch k's order and dropout masks come from (seed, k) alone: a resumed run repeats them.
        const generator = epochGenerator(active.seed, epoch);
        for (let i = 0; i < samples; i++) order[i] = i;
        if (options.shuffle ?? true) generator.shuffle(order);
        active.epoch = epoch;
        active.ended = false;
        active.epochLogs = null;
        active.random = generator;
        active.step = 0;
        active.lossSum = 0;
        active.seen = 0;
        active.accumulators = this.metricAccumulators(compiled, targets.width);
        if (resume !== null && epoch === resume.epoch && resume.step > 0) {
          generator.setState(resume.random!);
          active.step = resume.step;
          active.lossSum = resume.lossSum;
          active.seen = resume.seen;
          active.accumulators.forEach((accumulator, i) => accumulator.setState(resume.metrics[i]));
        }
        for (const callback of callbacks) await callback.onEpochBegin(epoch);
        const logs = await this.trainEpoch(
          inputs,
          targets,
          order,
          batchSize,
          compiled,
          trainableVariables,
          callbacks,
          active,
          yielder,
        );
        if (validationSet !== null) {
          const { inputs: validationInputs, targets: validationTargets } = validationSet;
          const result =
            yielder === null
              ? this.runEvaluation(validationInputs, validationTargets, batchSize, compiled)
              : await this.runEvaluationYielding(
                  validationInputs,
                  validationTargets,
                  batchSize,
                  compiled,
                  yielder,
                );
          for (const [key, value] of Object.entries(result)) logs[`val_${key}`] = value;
        }
        active.ended = true;
        active.epochLogs = logs;
        for (const callback of callbacks) await callback.onEpochEnd(epoch, logs);
        // Let the event loop turn between epochs: the finalizers that free forgotten models run only then.
        await nextTask();
      }
      compiled.optimizer.finalizeVariableValues(trainableVariables);
      for (const callback of callbacks) await callback.onTrainEnd();
    } finally {
      this.activeFit = null;
    }
    return history;
  }

  /**
   * Where the running fit stands, for a callback to checkpoint (as `BackupAndRestore` does): the seed, the
   * epoch and batch to continue from, the epoch's random state and running sums, and the history so far.
   * Called from `onBatchEnd` it describes the state after that batch; from `onEpochEnd`, the start of the next
   * epoch.
   * @throws FitStateError outside `fit`
   */
  getFitState(): FitState {
    const active = this.activeFit;
    if (active === null) throw new FitStateError(`getFitState: model '${this.name}' is not training`);
    const history = {
      epoch: [...active.history.epoch],
      history: Object.fromEntries(
        Object.entries(active.history.history).map(([key, values]) => [key, [...values]]),
      ),
    };
    const base = { seed: active.seed, steps: active.steps, lossSum: 0, seen: 0, metrics: [], random: null };
    if (!active.started) {
      return active.resume ?? { ...base, epoch: active.params.initialEpoch, step: 0, history };
    }
    if (active.ended) {
      // History records the epoch after the other callbacks' onEpochEnd: add it if it has not yet.
      if (history.epoch[history.epoch.length - 1] !== active.epoch && active.epochLogs !== null) {
        history.epoch.push(active.epoch);
        for (const [key, value] of Object.entries(active.epochLogs))
          (history.history[key] ??= []).push(value);
      }
      return { ...base, epoch: active.epoch + 1, step: 0, history };
    }
    return {
      ...base,
      epoch: active.epoch,
      step: active.step,
      random: active.step > 0 ? active.random!.getState() : null,
      lossSum: active.lossSum,
      seen: active.seen,
      metrics: active.accumulators.map((accumulator) => accumulator.getState()),
      history,
    };
  }

  /**
   * Makes the running fit continue from a state {@link getFitState} returned (saved by an earlier, interrupted
   * run): it starts at that epoch and batch, with that seed, the epoch's random state and its running loss
   * and metric sums, so that every logged value and weight repeats the uninterrupted run. Restoring the
   * weights and the optimizer's state is the caller's part. Only from a callback's `onTrainBegin`.
   * @throws FitStateError outside `onTrainBegin`, or for a state of another fit (other batches per epoch,
   * metrics) or malformed
   */
  restoreFitState(state: FitState): void {
    const active = this.activeFit;
    if (active === null || active.started) {
      throw new FitStateError(
        `restoreFitState: call it from a callback's onTrainBegin (model '${this.name}' is ${active === null ? 'not training' : 'already training'})`,
      );
    }
    checkFitState(state, active, this.compiled?.metrics.length ?? 0);
    if (state.step > 0) {
      // A state that cannot be restored fails now, before training starts.
      try {
        epochGenerator(state.seed, state.epoch).setState(state.random!);
        this.metricAccumulators(this.compiled!, active.targetWidth).forEach((accumulator, i) =>
          accumulator.setState(state.metrics[i]),
        );
      } catch (error) {
        throw new FitStateError(`restoreFitState: ${(error as Error).message}`, { cause: error });
      }
    }
    active.resume = state;
    active.seed = state.seed;
    active.params.seed = state.seed;
  }

  /** One epoch of gradient steps from batch `active.step` on; returns the epoch's mean loss and metrics. */
  private async trainEpoch(
    inputs: Tensor,
    targets: { data: Float32Array; width: number },
    order: Int32Array,
    batchSize: number,
    compiled: CompiledState,
    trainableVariables: readonly Variable[],
    callbacks: Callback[],
    active: ActiveFit,
    yielder: TrainingYielder | null,
  ): Promise<Logs> {
    const kernels = this.kernels;
    const rowLength = sizeOf(this.requireInputShape());
    const outputs = this.outputWidth;
    const fused = this.fusedWithLoss(compiled.loss);
    this.targetWidth = targets.width;
    const samples = order.length;
    const metrics = compiled.metrics;
    const accumulators = active.accumulators;
    const logs = this.batchLogs;
    for (const key of Object.keys(logs)) delete logs[key];
    const summarize = (): void => {
      logs.loss = active.lossSum / active.seen;
      for (let i = 0; i < metrics.length; i++) logs[metrics[i].name] = accumulators[i].result(kernels);
    };
    if (active.step > 0) summarize();
    for (let step = active.step, start = step * batchSize; start < samples; start += batchSize, step++) {
      const count = Math.min(batchSize, samples - start);
      for (const callback of callbacks) callback.onBatchBegin(step);
      const input = this.inputBuffer.rows(count);
      const target = this.targetBuffer.rows(count);
      kernels.gatherRows(inputs.data, order, start, count, rowLength, input);
      kernels.gatherRows(targets.data, order, start, count, targets.width, target);
      // Dropout draws from the epoch's generator (set per batch: another model's fit may run between batches).
      setTrainingRandom(active.random);
      let output: Float32Array;
      try {
        output = this.forwardPass(input, count, true);
      } finally {
        setTrainingRandom(null);
      }
      const gradient = this.outputGradient.rows(count);
      active.lossSum += compiled.loss.compute(kernels, output, target, gradient, count, outputs, fused);
      for (let i = 0; i < metrics.length; i++)
        accumulators[i].update(kernels, output, target, count, outputs);
      this.backwardPass(gradient, count, fused, compiled.trainable, false);
      compiled.optimizer.applyVariableGradients(trainableVariables);
      active.seen += count;
      active.step = step + 1;
      summarize();
      for (const callback of callbacks) {
        const pending = callback.onBatchEnd(step, logs);
        if (pending !== undefined) await pending;
      }
      // After the turn, so that a page's "stop" (model.stopTraining = true) takes effect at once.
      if (yielder !== null && yielder.due()) await yielder.turn();
      if (this.stopTraining) break;
    }
    return { ...logs };
  }

  /** Mean loss and metrics over a dataset, without touching the weights. */
  private runEvaluation(
    inputs: Tensor,
    targets: { data: Float32Array; width: number },
    batchSize: number,
    compiled: CompiledState,
  ): Logs {
    const sums = { loss: 0, metrics: this.metricAccumulators(compiled, targets.width) };
    this.evaluateRows(inputs, targets, batchSize, compiled, 0, inputs.rows, sums);
    return this.evaluationLogs(compiled, sums, inputs.rows);
  }

  /**
   * {@link runEvaluation} with turns for the event loop between batches (fit's validation, when fit yields):
   * the same batches summed in the same order, so the same result.
   */
  private async runEvaluationYielding(
    inputs: Tensor,
    targets: { data: Float32Array; width: number },
    batchSize: number,
    compiled: CompiledState,
    yielder: TrainingYielder,
  ): Promise<Logs> {
    const sums = { loss: 0, metrics: this.metricAccumulators(compiled, targets.width) };
    for (let start = 0; start < inputs.rows; start += batchSize) {
      this.evaluateRows(inputs, targets, batchSize, compiled, start, start + batchSize, sums);
      if (yielder.due()) await yielder.turn();
    }
    return this.evaluationLogs(compiled, sums, inputs.rows);
  }

  /** Adds the loss of rows `[from, to)`, batch by batch, to `sums`, and updates its metric accumulators. */
  private evaluateRows(
    inputs: Tensor,
    targets: { data: Float32Array; width: number },
    batchSize: number,
    compiled: CompiledState,
    from: number,
    to: number,
    sums: { loss: number; metrics: MetricAccumulator[] },
  ): void {
    const kernels = this.kernels;
    const rowLength = sizeOf(this.requireInputShape());
    const outputs = this.outputWidth;
    this.targetWidth = targets.width;
    const end = Math.min(to, inputs.rows);
    for (let start = from; start < end; start += batchSize) {
      const count = Math.min(batchSize, end - start);
      const input = this.inputBuffer.rows(count);
      const target = this.targetBuffer.rows(count);
      input.set(inputs.data.subarray(start * rowLength, (start + count) * rowLength));
      target.set(targets.data.subarray(start * targets.width, (start + count) * targets.width));
      const output = this.forwardPass(input, count, false);
      sums.loss += compiled.loss.compute(kernels, output, target, null, count, outputs, false);
      for (const accumulator of sums.metrics) accumulator.update(kernels, output, target, count, outputs);
    }
  }

  private evaluationLogs(
    compiled: CompiledState,
    sums: { loss: number; metrics: MetricAccumulator[] },
    samples: number,
  ): Logs {
    const logs: Logs = { loss: samples === 0 ? NaN : sums.loss / samples };
    compiled.metrics.forEach((metric, i) => (logs[metric.name] = sums.metrics[i]!.result(this.kernels)));
    return logs;
  }

  /**
   * Loss and metrics on `(x, y)` (shapes as {@link fit} takes them), as Keras's `evaluate`: the loss alone when
   * the model has no metrics, else `[loss, ...metrics]` in compile order; with `returnDict: true`, an object
   * keyed by name (`{ loss, accuracy }`). Prints one line unless `verbose: 0` (Keras's default prints too).
   * @throws ModelBusyError while a `fit` that trains this model's layers has not finished (see
   * {@link evaluateAsync})
   */
  evaluate(
    x: TensorLike,
    y: TensorLike,
    options: EvaluateOptions & { returnDict: true },
  ): Record<string, number>;
  evaluate(x: TensorLike, y: TensorLike, options?: EvaluateOptions & { returnDict?: false }): EvaluateResult;
  evaluate(x: TensorLike, y: TensorLike, options?: EvaluateOptions): EvaluateResult | Record<string, number>;
  evaluate(
    x: TensorLike,
    y: TensorLike,
    options: EvaluateOptions = {},
  ): EvaluateResult | Record<string, number> {
    this.assertIdle('evaluate', true);
    checkOptions('evaluate', options, EVALUATE_OPTION_KEYS);
    const compiled = this.requireCompiled('evaluate');
    const batchSize = options.batchSize ?? 32;
    const verbose = checkVerbosity(options.verbose ?? 'auto', 'evaluate');
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new InputDataError(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
    }
    const inputs = this.prepareInputs(x, 'evaluate');
    if (inputs.rows === 0) {
      throw new InputDataError(`evaluate: no samples: x has shape [${inputs.shape.join(', ')}] (0 rows)`);
    }
    const targets = this.prepareTargets(y, inputs.rows, compiled.loss, 'evaluate');
    const started = performance.now();
    const logs = this.runEvaluation(inputs, targets, batchSize, compiled);
    if (verbose !== 0) {
      const steps = Math.ceil(inputs.rows / batchSize);
      writeProgressLine(options.progressWriter, steps, performance.now() - started, verbose, logs);
    }
    if (options.returnDict) return logs;
    if (compiled.metrics.length === 0) return logs.loss;
    return [logs.loss, ...compiled.metrics.map((metric) => logs[metric.name])];
  }

  /**
   * {@link evaluate}, once no unfinished `fit` trains this model's layers: `await model.evaluateAsync(x, y)`
   * is right whether or not the `fit` before it was awaited. (From inside a fit's callback it evaluates at
   * once.)
   */
  evaluateAsync(
    x: TensorLike,
    y: TensorLike,
    options: EvaluateOptions & { returnDict: true },
  ): Promise<Record<string, number>>;
  evaluateAsync(
    x: TensorLike,
    y: TensorLike,
    options?: EvaluateOptions & { returnDict?: false },
  ): Promise<EvaluateResult>;
  evaluateAsync(
    x: TensorLike,
    y: TensorLike,
    options: EvaluateOptions = {},
  ): Promise<EvaluateResult | Record<string, number>> {
    return this.afterRunningFits(() => this.evaluate(x, y, options));
  }

  /**
   * The model's outputs for `x` (shape `[samples, ...inputShape]`), one row per sample: a tensor of shape
   * `[samples, ...outputShape]`.
   * @throws ModelBusyError while a `fit` that trains this model's layers has not finished (see
   * {@link predictAsync})
   */
  predict(x: TensorLike, options: PredictOptions = {}): Tensor {
    this.assertIdle('predict', true);
    checkOptions('predict', options, PREDICT_OPTION_KEYS);
    const batchSize = options.batchSize ?? 32;
    const verbose = checkVerbosity(options.verbose ?? 0, 'predict');
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new InputDataError(`predict: batchSize must be a positive integer, got ${batchSize}`);
    }
    const inputs = this.prepareInputs(x, 'predict');
    const rowLength = sizeOf(this.requireInputShape());
    const outputs = this.outputWidth;
    const started = performance.now();
    const result = new Float32Array(inputs.rows * outputs);
    for (let start = 0; start < inputs.rows; start += batchSize) {
      const count = Math.min(batchSize, inputs.rows - start);
      const input = this.inputBuffer.rows(count);
      input.set(inputs.data.subarray(start * rowLength, (start + count) * rowLength));
      const output = this.forwardPass(input, count, false);
      result.set(output.subarray(0, count * outputs), start * outputs);
    }
    if (verbose !== 0) {
      const steps = Math.ceil(inputs.rows / batchSize);
      writeProgressLine(options.progressWriter, steps, performance.now() - started, verbose, {});
    }
    return new Tensor(result, [inputs.rows, ...this.outputShape]);
  }

  /** {@link predict}, once no unfinished `fit` trains this model's layers (see {@link evaluateAsync}). */
  predictAsync(x: TensorLike, options: PredictOptions = {}): Promise<Tensor> {
    return this.afterRunningFits(() => this.predict(x, options));
  }

  /**
   * Keras's table of layers, output shapes and parameter counts (trainable and not, from the layers' current
   * `trainable` flags). Printed through `print` (default `console.log`) and returned.
   */
  summary(print: ((line: string) => void) | null = console.log): string {
    const text = formatSummary(this);
    if (print !== null) print(text);
    return text;
  }

  /**
   * Saves the model to a path (`.h5` or `.keras`, by its extension), atomically: a failed save leaves the
   * previous file intact. With `{ format: 'h5' }` or `{ format: 'keras' }` (and `saveModel`'s other options)
   * instead of a path, resolves to the file's bytes, on any platform (in a page: `new Blob([bytes])`).
   */
  save(path: string, options?: Record<string, unknown>): Promise<void>;
  save(options: { format: 'h5' | 'keras' } & Record<string, unknown>): Promise<Uint8Array<ArrayBuffer>>;
  async save(
    target: string | ({ format: 'h5' | 'keras' } & Record<string, unknown>),
    options?: Record<string, unknown>,
  ): Promise<void | Uint8Array<ArrayBuffer>> {
    this.assertLive('save');
    if (modelSaver === null)
      throw new Error('no model writer is registered: import warmstart (its index registers one)');
    return modelSaver(this, target, options) as Promise<void | Uint8Array<ArrayBuffer>>;
  }
}
