import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/kernels.js';
import type { Layer } from '../layers/layer.js';
import { BatchBuffer } from '../layers/layer.js';
import { getLoss, type Loss } from '../losses/index.js';
import { type Metric, resolveMetric } from '../metrics/index.js';
import { getOptimizer, type Optimizer } from '../optimizers/index.js';
import { globalRandom } from '../tensor/random.js';
import { type Shape, ShapeError, sizeOf, Tensor, type TensorLike, toTensor } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';
import { Callback, History, type Logs, ProgbarLogger, type ProgressWriter } from './callbacks.js';
import { InputDataError, NotCompiledError } from './errors.js';
import { formatSummary } from './summary.js';
import { TrainingYielder, type YieldEvery } from './yielding.js';

/** Options of {@link BaseModel.compile}. */
export interface CompileOptions {
  /** An optimizer object or a Keras name (`'sgd'`, `'adam'`, …) with Keras's defaults. */
  optimizer: Optimizer | string;
  /** A loss object or a Keras name (`'sparse_categorical_crossentropy'`, `'mse'`, …). */
  loss: Loss | string;
  /** Metrics to report; `'accuracy'` picks sparse, binary or categorical accuracy as Keras does. */
  metrics?: string[];
}

/** Options of {@link BaseModel.fit}, Keras's names in camelCase. */
export interface FitOptions {
  /** Number of passes over the data (default 1). */
  epochs?: number;
  /** Samples per gradient step (default 32). */
  batchSize?: number;
  /** Data to evaluate after each epoch: `[x, y]`. */
  validationData?: readonly [TensorLike, TensorLike];
  /** Fraction of the data, taken from its end before shuffling, to validate on instead (Keras's rule). */
  validationSplit?: number;
  /** Shuffle the training samples before each epoch (default true). */
  shuffle?: boolean;
  /** 0 silent, 1 progress bar (default), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /** Hooks into training (History is always added and returned). */
  callbacks?: Callback[];
  /** Epoch to start counting from, to resume a run (default 0). */
  initialEpoch?: number;
  /** Where the progress bar writes (default `process.stdout` in Node, the console in browsers). */
  progressWriter?: ProgressWriter;
  /**
   * Give the event loop a turn while training, so a page stays responsive and callbacks' output shows:
   * `{ milliseconds: 16 }` after that much training, `{ batches: 50 }` after that many batches, `false`
   * never. Default: every 16 ms in browsers, never in Node.
   */
  yieldEvery?: YieldEvery;
}

/** Options of {@link BaseModel.evaluate} and {@link BaseModel.predict}. */
export interface EvaluateOptions {
  /** Samples per forward pass (default 32). */
  batchSize?: number;
}

/** An IO implementation that `model.save` delegates to (registered by `src/io`). */
export type ModelSaver = (model: BaseModel, path: string, options?: Record<string, unknown>) => Promise<void>;
let modelSaver: ModelSaver | null = null;

/** Registers what `model.save(path)` calls; the `io` module does this when imported. */
export function registerModelSaver(saver: ModelSaver): void {
  modelSaver = saver;
}

/** How a compiled model trains: fixed at `compile`, as Keras fixes `trainable` then. */
interface CompiledState {
  optimizer: Optimizer;
  loss: Loss;
  /** The metric names as `compile` was given them (saving writes these). */
  metricNames: string[];
  metrics: Metric[];
  trainable: ReadonlySet<Layer>;
  /** The variables the optimizer updates; resolved once, when the layers' weights first exist. */
  trainableVariables: Variable[] | null;
}

/**
 * What `Sequential` and the functional `Model` share: compile, fit, evaluate, predict, weights and summary.
 * Subclasses provide the forward and backward passes over their layers.
 */
export abstract class BaseModel {
  /** The model's name. */
  name: string;
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

  protected constructor(name: string) {
    this.name = name;
  }

  /** The model's layers in order (input layers excluded, as Keras lists them). */
  abstract get layers(): Layer[];
  /** Per-sample input shape, or null until known. */
  abstract get inputShape(): Shape | null;
  /** Per-sample output shape. */
  abstract get outputShape(): Shape;
  /** Creates every layer's weights for the per-sample input shape. */
  abstract build(inputShape: Shape): void;
  /** Runs the layers forward over `batch` rows of `input` (in the kernels' memory); returns the output. */
  protected abstract forwardPass(input: Float32Array, batch: number, training: boolean): Float32Array;
  /**
   * Runs backward from ∂loss/∂output (∂loss/∂pre-activation of the output layer when `preActivation`),
   * writing weight gradients of the layers in `trainable` only.
   */
  protected abstract backwardPass(
    outputGradient: Float32Array,
    batch: number,
    preActivation: boolean,
    trainable: ReadonlySet<Layer>,
  ): void;
  /** The layer whose activation produces the output (a loss may fuse with it). */
  protected abstract get outputLayer(): Layer;
  /** Per-sample output shape of one of this model's layers (null before the input shape is known). */
  abstract outputShapeOf(layer: Layer): Shape | null;
  /** Keras's config of the model (`layers`, …) for saving and cloning. */
  abstract getConfig(): Record<string, unknown>;

  /** Whether every layer's weights exist. */
  get built(): boolean {
    return this.layers.length > 0 && this.layers.every((layer) => layer.built);
  }

  /** The kernels holding this model's weights. */
  get kernels(): Kernels {
    const built = this.layers.find((layer) => layer.built);
    return built ? built.kernels : getKernels();
  }

  /** Width of one output row. */
  get outputWidth(): number {
    return sizeOf(this.outputShape);
  }

  /** Every weight of every layer, each once, in layer order. */
  get weights(): Variable[] {
    return [...new Set(this.layers.flatMap((layer) => layer.weights))];
  }

  /** Weights of layers currently marked trainable. */
  get trainableWeights(): Variable[] {
    return [...new Set(this.layers.flatMap((layer) => layer.trainableWeights))];
  }

  /** Weights of layers currently frozen. */
  get nonTrainableWeights(): Variable[] {
    return [...new Set(this.layers.flatMap((layer) => layer.nonTrainableWeights))];
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
  countParams(): number {
    return this.weights.reduce((total, weight) => total + weight.size, 0);
  }

  /** Copies of all weights, in Keras's order (layer by layer; kernel, then bias). */
  getWeights(): Tensor[] {
    return this.weights.map((weight) => weight.read());
  }

  /** Overwrites all weights from a list shaped like {@link getWeights}'s. */
  setWeights(values: readonly Tensor[]): void {
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
   * Configures training. Which layers train is fixed now, from each layer's `trainable` flag: changing a flag
   * takes effect at the next `compile`, as in Keras.
   */
  compile(options: CompileOptions): void {
    const optimizer = getOptimizer(options.optimizer);
    const loss = getLoss(options.loss);
    const trainable = new Set(this.layers.filter((layer) => layer.trainable));
    const metricNames = options.metrics ?? [];
    this.compiled = { optimizer, loss, metricNames, metrics: [], trainable, trainableVariables: null };
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

  /** Checks `x` against the model's input (building the model on first sight) and that it is finite. */
  private prepareInputs(x: TensorLike, what: string): Tensor {
    const inputs = toTensor(x);
    if (inputs.shape.length < 2) {
      throw new InputDataError(`${what}: inputs need a batch axis, got shape [${inputs.shape.join(', ')}]`);
    }
    const sampleShape = inputs.shape.slice(1);
    const expected = this.inputShape;
    if (expected !== null && sizeOf(expected) !== sizeOf(sampleShape)) {
      throw new InputDataError(
        `${what}: model '${this.name}' expects samples of shape [${expected.join(', ')}], got [${sampleShape.join(', ')}]`,
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
    const targets = toTensor(y);
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
          `${what}: ${loss.name} takes one class index per sample, got targets of shape [${targets.shape.join(', ')}]`,
        );
      }
      const data = targets.data;
      for (let i = 0; i < data.length; i++) {
        const label = data[i];
        if (!Number.isInteger(label) || label < 0 || label >= outputs) {
          throw new InputDataError(
            `${what}: label ${label} of sample ${i} is out of range: the model has ${outputs} outputs, labels must be integers in [0, ${outputs - 1}]`,
          );
        }
      }
    } else if (width !== outputs) {
      throw new InputDataError(
        `${what}: ${loss.name} needs ${outputs} target values per sample (the model's output width), got ${width}`,
      );
    } else {
      const bad = this.kernels.firstNonFinite(targets.data);
      if (bad >= 0)
        throw new InputDataError(
          `${what}: targets hold a non-finite value in sample ${Math.floor(bad / width)}`,
        );
    }
    return { data: targets.data, width };
  }

  private resolveMetrics(compiled: CompiledState, targetWidth: number): void {
    compiled.metrics = compiled.metricNames.map((name) =>
      resolveMetric(name, compiled.loss, this.outputWidth, targetWidth),
    );
  }

  private fusedWithLoss(loss: Loss): boolean {
    return loss.fusableActivation !== null && this.outputLayer.outputActivation === loss.fusableActivation;
  }

  /**
   * Trains for `epochs` passes over `(x, y)`; resolves to the {@link History} of every epoch's logs
   * (`loss`, `accuracy`, `val_loss`, `val_accuracy`, … as Keras names them).
   */
  async fit(x: TensorLike, y: TensorLike, options: FitOptions = {}): Promise<History> {
    const compiled = this.requireCompiled('fit');
    const epochs = options.epochs ?? 1;
    const batchSize = options.batchSize ?? 32;
    const verbose = options.verbose ?? 1;
    const initialEpoch = options.initialEpoch ?? 0;
    if (!Number.isInteger(epochs) || epochs < 0)
      throw new InputDataError(`fit: epochs must be an integer ≥ 0, got ${epochs}`);
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new InputDataError(`fit: batchSize must be a positive integer, got ${batchSize}`);
    }
    let inputs = this.prepareInputs(x, 'fit');
    let targets = this.prepareTargets(y, inputs.rows, compiled.loss, 'fit');
    let validation: readonly [TensorLike, TensorLike] | undefined = options.validationData;
    if (validation === undefined && options.validationSplit !== undefined) {
      const split = options.validationSplit;
      if (!(split > 0 && split < 1))
        throw new InputDataError(`fit: validationSplit must be in (0, 1), got ${split}`);
      const cut = Math.floor(inputs.rows * (1 - split));
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
            const validationTargets = this.prepareTargets(
              validation[1],
              validationInputs.rows,
              compiled.loss,
              'fit (validation data)',
            );
            return { inputs: validationInputs, targets: validationTargets };
          })();
    this.resolveMetrics(compiled, targets.width);
    // prepareInputs built the model, which resolved the variables compile fixed.
    const trainableVariables = compiled.trainableVariables!;

    const samples = inputs.rows;
    const steps = Math.ceil(samples / batchSize);
    const history = new History();
    const callbacks: Callback[] = [...(options.callbacks ?? []), history];
    if (verbose > 0) callbacks.push(new ProgbarLogger({ verbose, writer: options.progressWriter }));
    const params = { epochs, steps, samples, batchSize, verbose, initialEpoch };
    for (const callback of callbacks) {
      callback.setModel(this);
      callback.setParams(params);
    }
    const order = new Int32Array(samples);
    for (let i = 0; i < samples; i++) order[i] = i;
    const yielder = TrainingYielder.from(options.yieldEvery);
    this.stopTraining = false;
    for (const callback of callbacks) await callback.onTrainBegin();
    // Checking and preparing the data took a while: let the page breathe before the first batch.
    if (yielder !== null) await yielder.turn();
    for (let epoch = initialEpoch; epoch < epochs && !this.stopTraining; epoch++) {
      for (const callback of callbacks) await callback.onEpochBegin(epoch);
      if (options.shuffle ?? true) globalRandom().shuffle(order);
      const logs = await this.trainEpoch(
        inputs,
        targets,
        order,
        batchSize,
        compiled,
        trainableVariables,
        callbacks,
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
      for (const callback of callbacks) await callback.onEpochEnd(epoch, logs);
    }
    compiled.optimizer.finalizeVariableValues(trainableVariables);
    for (const callback of callbacks) await callback.onTrainEnd();
    return history;
  }

  /** One epoch of gradient steps; returns the epoch's mean loss and metrics. */
  private async trainEpoch(
    inputs: Tensor,
    targets: { data: Float32Array; width: number },
    order: Int32Array,
    batchSize: number,
    compiled: CompiledState,
    trainableVariables: readonly Variable[],
    callbacks: Callback[],
    yielder: TrainingYielder | null,
  ): Promise<Logs> {
    const kernels = this.kernels;
    const rowLength = sizeOf(this.requireInputShape());
    const outputs = this.outputWidth;
    const fused = this.fusedWithLoss(compiled.loss);
    this.targetWidth = targets.width;
    const samples = order.length;
    const metrics = compiled.metrics;
    const correct = new Float64Array(metrics.length);
    const logs = this.batchLogs;
    for (const key of Object.keys(logs)) delete logs[key];
    let lossSum = 0;
    let seen = 0;
    for (let start = 0, step = 0; start < samples; start += batchSize, step++) {
      const count = Math.min(batchSize, samples - start);
      for (const callback of callbacks) callback.onBatchBegin(step);
      const input = this.inputBuffer.rows(count);
      const target = this.targetBuffer.rows(count);
      kernels.gatherRows(inputs.data, order, start, count, rowLength, input);
      kernels.gatherRows(targets.data, order, start, count, targets.width, target);
      const output = this.forwardPass(input, count, true);
      const gradient = this.outputGradient.rows(count);
      lossSum += compiled.loss.compute(kernels, output, target, gradient, count, outputs, fused);
      for (let i = 0; i < metrics.length; i++)
        correct[i] += kernels.countCorrect(metrics[i].kind, output, target, count, outputs);
      this.backwardPass(gradient, count, fused, compiled.trainable);
      compiled.optimizer.applyVariableGradients(trainableVariables);
      seen += count;
      logs.loss = lossSum / seen;
      for (let i = 0; i < metrics.length; i++) logs[metrics[i].name] = correct[i] / seen;
      for (const callback of callbacks) callback.onBatchEnd(step, logs);
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
    const sums = { loss: 0, correct: new Float64Array(compiled.metrics.length) };
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
    const sums = { loss: 0, correct: new Float64Array(compiled.metrics.length) };
    for (let start = 0; start < inputs.rows; start += batchSize) {
      this.evaluateRows(inputs, targets, batchSize, compiled, start, start + batchSize, sums);
      if (yielder.due()) await yielder.turn();
    }
    return this.evaluationLogs(compiled, sums, inputs.rows);
  }

  /** Adds the loss and the correct counts of rows `[from, to)`, batch by batch, to `sums`. */
  private evaluateRows(
    inputs: Tensor,
    targets: { data: Float32Array; width: number },
    batchSize: number,
    compiled: CompiledState,
    from: number,
    to: number,
    sums: { loss: number; correct: Float64Array },
  ): void {
    const kernels = this.kernels;
    const rowLength = sizeOf(this.requireInputShape());
    const outputs = this.outputWidth;
    this.targetWidth = targets.width;
    const metrics = compiled.metrics;
    const end = Math.min(to, inputs.rows);
    for (let start = from; start < end; start += batchSize) {
      const count = Math.min(batchSize, end - start);
      const input = this.inputBuffer.rows(count);
      const target = this.targetBuffer.rows(count);
      input.set(inputs.data.subarray(start * rowLength, (start + count) * rowLength));
      target.set(targets.data.subarray(start * targets.width, (start + count) * targets.width));
      const output = this.forwardPass(input, count, false);
      sums.loss += compiled.loss.compute(kernels, output, target, null, count, outputs, false);
      for (let i = 0; i < metrics.length; i++)
        sums.correct[i] += kernels.countCorrect(metrics[i].kind, output, target, count, outputs);
    }
  }

  private evaluationLogs(
    compiled: CompiledState,
    sums: { loss: number; correct: Float64Array },
    samples: number,
  ): Logs {
    const logs: Logs = { loss: samples === 0 ? NaN : sums.loss / samples };
    compiled.metrics.forEach(
      (metric, i) => (logs[metric.name] = samples === 0 ? NaN : sums.correct[i] / samples),
    );
    return logs;
  }

  /**
   * Loss and metrics on `(x, y)`. Returns `[loss, ...metrics]` in compile order, as Keras does; with
   * `returnDict: true`, an object keyed by name.
   */
  evaluate(x: TensorLike, y: TensorLike, options?: EvaluateOptions & { returnDict?: false }): number[];
  evaluate(
    x: TensorLike,
    y: TensorLike,
    options: EvaluateOptions & { returnDict: true },
  ): Record<string, number>;
  evaluate(
    x: TensorLike,
    y: TensorLike,
    options: EvaluateOptions & { returnDict?: boolean } = {},
  ): number[] | Record<string, number> {
    const compiled = this.requireCompiled('evaluate');
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new InputDataError(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
    }
    const inputs = this.prepareInputs(x, 'evaluate');
    const targets = this.prepareTargets(y, inputs.rows, compiled.loss, 'evaluate');
    this.resolveMetrics(compiled, targets.width);
    const logs = this.runEvaluation(inputs, targets, batchSize, compiled);
    if (options.returnDict) return logs;
    return [logs.loss, ...compiled.metrics.map((metric) => logs[metric.name])];
  }

  /** The model's outputs for `x`, one row per sample. */
  predict(x: TensorLike, options: EvaluateOptions = {}): Tensor {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new InputDataError(`predict: batchSize must be a positive integer, got ${batchSize}`);
    }
    const inputs = this.prepareInputs(x, 'predict');
    const rowLength = sizeOf(this.requireInputShape());
    const outputs = this.outputWidth;
    const result = new Float32Array(inputs.rows * outputs);
    for (let start = 0; start < inputs.rows; start += batchSize) {
      const count = Math.min(batchSize, inputs.rows - start);
      const input = this.inputBuffer.rows(count);
      input.set(inputs.data.subarray(start * rowLength, (start + count) * rowLength));
      const output = this.forwardPass(input, count, false);
      result.set(output.subarray(0, count * outputs), start * outputs);
    }
    return new Tensor(result, [inputs.rows, ...this.outputShape]);
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

  /** Saves the model (`.h5` or `.keras`), atomically: a failed save leaves the previous file intact. */
  async save(path: string, options?: Record<string, unknown>): Promise<void> {
    if (modelSaver === null)
      throw new Error('no model writer is registered: import warmstart (its index registers one)');
    await modelSaver(this, path, options);
  }
}
