/**
 * Keras model configurations ⇄ warmstart models: reading the JSON Keras 2 (tf.keras 2.0–2.15) and Keras 3
 * write into models, and writing models back in either schema.
 *
 * Two schemas are written. `.keras` archives get Keras 3's (`module`, `registered_name`, `build_config`, node
 * arguments as `__keras_tensor__`), which is what Keras 3 reads there. Legacy `.h5` files get Keras 2's
 * (`batch_input_shape`, nodes as `[[name, 0, 0, {}]]` lists, bare `{class_name, config}`), because that is the
 * one schema both tf.keras 2.x and Keras 3 read from `.h5` (Keras 3 converts it on load; tf.keras 2.x rejects
 * Keras 3's `batch_shape` and node dicts).
 * @module
 */
import { BatchNormalization } from '../layers/batchNormalization.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { DepthwiseConv2D } from '../layers/depthwiseConv2D.js';
import { InputLayer } from '../layers/inputLayer.js';
import { type Layer, reserveLayerName } from '../layers/layer.js';
import { Merge } from '../layers/merge.js';
import { SeparableConv2D } from '../layers/separableConv2D.js';
import { UnknownOptionError } from '../kernels/options.js';
import { bareClassName, deserializeLayer, type LayerFactory, UnknownLayerError } from '../layers/registry.js';
import { getLoss, type Loss, UnknownLossError } from '../losses/index.js';
import { isKnownMetricName } from '../metrics/index.js';
import { BaseModel } from '../models/baseModel.js';
import {
  type FunctionalGraphSpec,
  functionalFromSpec,
  GraphError,
  Model,
  parseFunctionalConfig,
  UnsupportedGraphError,
} from '../models/functional.js';
import { Sequential } from '../models/sequential.js';
import {
  deserializeOptimizer,
  type Optimizer,
  OptimizerConfigError,
  serializeOptimizer,
  UnknownOptimizerError,
} from '../optimizers/index.js';
import { type Shape, ShapeError, sizeOf } from '../tensor/tensor.js';
import { isNotAboutTheFile, ModelFileError } from './errors.js';

/** Objects a file may name that warmstart does not know: layer factories and losses, by their Keras names. */
export type CustomObjects = Record<string, LayerFactory | Loss>;

/** What loading needs besides the config: the file (for messages and size checks) and the user's objects. */
export interface ConfigContext {
  /** The file, for error messages. */
  path: string;
  /** Its size in bytes: a config asking for far more weights than that is refused before allocating them. */
  fileBytes: number;
  customObjects: CustomObjects;
  /** Receives what loading drops or ignores (unsupported metrics, obsolete optimizer arguments). */
  warn: (message: string) => void;
}

/** Layer classes Keras itself provides among those warmstart implements (serialized with `module: keras.layers`). */
const KERAS_LAYERS = new Set([
  'InputLayer',
  'Dense',
  'Flatten',
  'Dropout',
  'AlphaDropout',
  'Activation',
  'BatchNormalization',
  'Add',
  'Concatenate',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'Reshape',
  'Rescaling',
  'ReLU',
  'LeakyReLU',
  'Softmax',
]);

/** Model class names Keras uses for models nested as layers. */
const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses JSON from a file, or throws `BAD_JSON` naming what it was. */
export function parseJson(text: string, what: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelFileError('BAD_JSON', path, `${what} is not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/** A `{class_name, config}` object's bare class name: `Custom>MyDense` → `MyDense`, `keras.layers.Dense` → `Dense`. */
function className(entry: Json): string {
  return bareClassName(String(entry.class_name));
}

/** Keras 3 writes a layer's dtype as a policy object; warmstart computes in float32 and only reads the name. */
function normalizeLayerConfig(config: Json): Json {
  const normalized = { ...config };
  if (isObject(normalized.dtype)) {
    const policy = normalized.dtype.config;
    normalized.dtype = isObject(policy) && typeof policy.name === 'string' ? policy.name : 'float32';
  }
  // Keras 3 may give an InputLayer's shape as `shape` + `batch_size` instead of `batch_shape`.
  if (
    Array.isArray(normalized.shape) &&
    normalized.batch_shape === undefined &&
    normalized.batch_input_shape === undefined
  ) {
    normalized.batch_shape = [normalized.batch_size ?? null, ...normalized.shape];
  }
  return normalized;
}

/**
 * Makes a layer from a config entry: a custom factory from `customObjects` first, then the registry (built-in
 * and `registerLayer` classes). Unknown classes throw {@link UnknownLayerError} (message naming the file);
 * invalid arguments throw `BAD_CONFIG`.
 */
export function createLayer(entry: unknown, context: ConfigContext): Layer {
  if (!isObject(entry) || typeof entry.class_name !== 'string') {
    throw new ModelFileError(
      'BAD_CONFIG',
      context.path,
      `a layer entry is not a {class_name, config} object: ${JSON.stringify(entry)?.slice(0, 200)}`,
    );
  }
  const name = className(entry);
  if (MODEL_CLASSES.has(name)) return nestedModelFromConfig(entry, context);
  if (entry.config !== undefined && !isObject(entry.config)) {
    throw new ModelFileError(
      'BAD_CONFIG',
      context.path,
      `layer class '${name}' has a config that is not an object`,
    );
  }
  const config = normalizeLayerConfig(entry.config ?? {});
  const layerName = typeof config.name === 'string' ? config.name : '(unnamed)';
  const registered = typeof entry.registered_name === 'string' ? entry.registered_name : null;
  const custom = [
    String(entry.class_name),
    name,
    registered,
    registered === null ? null : bareClassName(registered),
  ]
    .map((key) => (key === null ? undefined : context.customObjects[key]))
    .find((value) => typeof value === 'function') as LayerFactory | undefined;
  try {
    const layer = custom !== undefined ? custom(config) : deserializeLayer({ class_name: name, config });
    if (typeof layer !== 'object' || layer === null || typeof (layer as Layer).forward !== 'function') {
      throw new TypeError(`the factory for '${name}' did not return a layer`);
    }
    // A loaded name must not come back as an automatic one (custom factories bypass the registry).
    reserveLayerName(layer.name);
    return layer;
  } catch (error) {
    if (error instanceof UnknownLayerError) {
      const unknown = new UnknownLayerError(String(entry.class_name));
      unknown.message =
        `${context.path}: unknown layer class '${String(entry.class_name)}' (layer '${layerName}'): register it with ` +
        `registerLayer('${name}', (config) => new YourLayer(...)) before loading, or pass it for this load as ` +
        `loadModel(path, { customObjects: { ${name}: (config) => new YourLayer(...) } })`;
      throw unknown;
    }
    if (error instanceof ModelFileError || isNotAboutTheFile(error)) throw error;
    throw new ModelFileError(
      'BAD_CONFIG',
      context.path,
      `layer '${layerName}' (${name}) cannot be made from its config: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** How deep models may nest in a file (Keras sets no limit; a damaged file must not recurse without end). */
const MAX_NESTING = 32;
let nesting = 0;

/**
 * A model nested as a layer (`keras.applications` bases in a Sequential, a model called on a tensor): built
 * from its config as a top-level model is. As Keras's `from_config` does, a functional model takes its own
 * `trainable` from the config and a Sequential ignores it; their layers' configs carry their own flags.
 */
function nestedModelFromConfig(entry: Json, context: ConfigContext): BaseModel {
  if (nesting >= MAX_NESTING) {
    throw new ModelFileError('BAD_CONFIG', context.path, `models are nested more than ${MAX_NESTING} deep`);
  }
  nesting++;
  try {
    const model = modelFromConfig(entry, context);
    if (model.layers.length === 0) {
      throw new ModelFileError(
        'BAD_CONFIG',
        context.path,
        `the model '${model.name}' nested as a layer has no layers`,
      );
    }
    const config = entry.config;
    if (model instanceof Model && isObject(config) && typeof config.trainable === 'boolean')
      model.setOwnTrainableFlag(config.trainable);
    return model;
  } finally {
    nesting--;
  }
}

/** Weights a built-in layer will allocate for an input shape (0 for layers warmstart cannot tell). */
function estimatedParameters(layer: Layer, inputShape: Shape): number {
  // A nested model is built when it is read (its own budget checked then): count what it holds.
  if (layer instanceof BaseModel) return layer.built ? layer.countParams() : 0;
  if (layer instanceof Dense)
    return (inputShape[inputShape.length - 1] + (layer.useBias ? 1 : 0)) * layer.units;
  if (layer instanceof BatchNormalization) return 4 * inputShape[inputShape.length - 1];
  const channels = inputShape[inputShape.length - 1];
  const taps = (layer: { kernelSize: readonly number[] }): number =>
    layer.kernelSize[0] * layer.kernelSize[1];
  if (layer instanceof Conv2D)
    return (taps(layer) * channels * layer.filters) / layer.groups + (layer.useBias ? layer.filters : 0);
  if (layer instanceof DepthwiseConv2D)
    return (taps(layer) + (layer.useBias ? 1 : 0)) * channels * layer.depthMultiplier;
  if (layer instanceof SeparableConv2D) {
    const depthwise = channels * layer.depthMultiplier;
    return taps(layer) * depthwise + depthwise * layer.filters + (layer.useBias ? layer.filters : 0);
  }
  return 0;
}

/**
 * Refuses configs asking for far more weights than the file can hold, before any is allocated: a damaged
 * `units` must not make loading allocate gigabytes. Weights are stored as float32, uncompressed or nearly.
 */
function checkBudget(parameters: number, context: ConfigContext): void {
  const budget = Math.max(16 * 2 ** 20, 4 * context.fileBytes);
  if (!(parameters * 4 <= budget)) {
    throw new ModelFileError(
      'WEIGHT_MISMATCH',
      context.path,
      `the configuration describes ${parameters} weights (${Math.round((parameters * 4) / 2 ** 20)} MiB), far more than the ${context.fileBytes}-byte file can hold`,
    );
  }
}

/** Runs a build step, turning shape and graph errors into `BAD_CONFIG`. */
function building<T>(context: ConfigContext, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (isNotAboutTheFile(error)) throw error;
    if (error instanceof UnsupportedGraphError) {
      throw new ModelFileError(
        'UNSUPPORTED',
        context.path,
        `the model cannot be run by warmstart: ${error.message}`,
        { cause: error },
      );
    }
    if (error instanceof ShapeError || error instanceof GraphError || error instanceof RangeError) {
      throw new ModelFileError('BAD_CONFIG', context.path, `the model cannot be built: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** A per-sample shape from a config list (`[null, 28, 28]` without its batch axis); null when not a valid shape. */
function shapeFrom(batchShape: unknown): Shape | null {
  if (!Array.isArray(batchShape) || batchShape.length < 2) return null;
  const shape = batchShape.slice(1);
  return shape.every((d) => Number.isInteger(d) && (d as number) > 0) ? (shape as number[]) : null;
}

/** Rebuilds a `Sequential` from its config (Keras 2: a layer list, or `{name, layers, build_input_shape}`). */
function sequentialFromConfig(config: unknown, context: ConfigContext): Sequential {
  const layerEntries = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(layerEntries)) {
    throw new ModelFileError('BAD_CONFIG', context.path, 'the Sequential config has no "layers" list');
  }
  const layers = layerEntries.map((entry) => createLayer(entry, context));
  const name = isObject(config) && typeof config.name === 'string' ? config.name : undefined;
  // Find the input shape first and add up the weights the layers will allocate, before building any.
  let shape: Shape | null = null;
  const first = layers[0];
  if (first instanceof InputLayer || (first !== undefined && first.inputShape !== null))
    shape = first.inputShape;
  if (shape === null && isObject(config)) shape = shapeFrom(config.build_input_shape);
  if (shape !== null) {
    let parameters = 0;
    let current: Shape = shape;
    building(context, () => {
      for (const layer of layers) {
        if (layer instanceof InputLayer) continue;
        if (layer instanceof Merge)
          throw new ShapeError(`${layer.className} '${layer.name}' cannot be used in a Sequential model`);
        parameters += estimatedParameters(layer, current);
        checkBudget(parameters, context);
        current = layer.computeOutputShape(current);
        if (sizeOf(current) > 2 ** 28)
          throw new ShapeError(`layer '${layer.name}' would output ${sizeOf(current)} values per sample`);
      }
    });
  }
  return building(context, () => {
    const model = new Sequential([], { name });
    for (const layer of layers) model.add(layer);
    if (model.inputShape === null && shape !== null) model.build(shape);
    return model;
  });
}

/** Rebuilds a functional model from its config, checking the weights it will allocate first. */
function functionalModelFromConfig(config: Json, context: ConfigContext): Model {
  const spec: FunctionalGraphSpec = building(context, () => parseFunctionalConfig(config));
  const layers = new Map(spec.layers.map((item) => [item.name, createLayer(item.entry, context)] as const));
  building(context, () => {
    const shapes = new Map<string, Shape>();
    let parameters = 0;
    for (const item of spec.layers) {
      const layer = layers.get(item.name)!;
      if (item.inputs.length === 0) {
        if (layer.inputShape === null) throw new GraphError(`input layer '${item.name}' has no shape`);
        shapes.set(item.name, layer.inputShape);
        continue;
      }
      const inputs = item.inputs.map((input) => shapes.get(input)!);
      let output: Shape;
      if (layer instanceof Merge) {
        output = layer.computeMergedShape(inputs);
      } else {
        parameters += estimatedParameters(layer, inputs[0]);
        checkBudget(parameters, context);
        output = layer.computeOutputShape(inputs[0]);
      }
      if (sizeOf(output) > 2 ** 28)
        throw new ShapeError(`layer '${item.name}' would output ${sizeOf(output)} values per sample`);
      shapes.set(item.name, output);
    }
  });
  return building(context, () => functionalFromSpec(spec, layers));
}

/**
 * Rebuilds the model a Keras `model_config` (`{class_name, config}`) describes: `Sequential`, or a functional
 * model (`Functional`, or `Model` with a functional config). Other classes are subclassed models, whose
 * architecture is Python code: `UNSUPPORTED`.
 */
export function modelFromConfig(modelConfig: unknown, context: ConfigContext): BaseModel {
  if (!isObject(modelConfig) || typeof modelConfig.class_name !== 'string') {
    throw new ModelFileError(
      'BAD_CONFIG',
      context.path,
      'the model config is not a {class_name, config} object',
    );
  }
  const name = className(modelConfig);
  const config = modelConfig.config;
  let model: BaseModel | null = null;
  if (name === 'Sequential') model = sequentialFromConfig(config, context);
  else if (
    (name === 'Functional' || name === 'Model') &&
    isObject(config) &&
    Array.isArray(config.layers) &&
    'input_layers' in config
  ) {
    model = functionalModelFromConfig(config, context);
  }
  if (model !== null) {
    reserveLayerName(model.name);
    return model;
  }
  throw new ModelFileError(
    'UNSUPPORTED',
    context.path,
    `model class '${modelConfig.class_name}' cannot be rebuilt: only Sequential and functional models have configs that describe their architecture`,
  );
}

// ---- Writing configs.

/** Keras's serialized-object markers, dropped for the Keras 2 schema (`{class_name, config}` only). */
function toLegacy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toLegacy);
  if (!isObject(value)) return value;
  if (typeof value.class_name === 'string' && 'config' in value) {
    return { class_name: value.class_name, config: toLegacy(value.config) };
  }
  const result: Json = {};
  for (const [key, item] of Object.entries(value)) result[key] = toLegacy(item);
  return result;
}

/**
 * Marks layers Keras does not provide as custom objects, so that Keras 3 looks them up by name, looking into
 * nested models' layers too. A nested functional model gets `build_config: {input_shape: null}`, as Keras
 * writes it (its input shape is its own).
 */
function markCustomLayers(entries: Json[]): Json[] {
  return entries.map((entry) => {
    const name = String(entry.class_name);
    if (MODEL_CLASSES.has(name) && isObject(entry.config) && Array.isArray(entry.config.layers)) {
      const nested: Json = {
        ...entry,
        config: { ...entry.config, layers: markCustomLayers(entry.config.layers as Json[]) },
      };
      if (name !== 'Sequential') nested.build_config = { input_shape: null };
      return nested;
    }
    if (KERAS_LAYERS.has(name)) return entry;
    return { ...entry, module: null, registered_name: entry.class_name };
  });
}

/** The Keras 3 config of a model, as `config.json` in a `.keras` archive holds it (without `compile_config`). */
export function kerasModelConfig(model: BaseModel): Json {
  const config = model.getConfig();
  const layers = Array.isArray(config.layers) ? markCustomLayers(config.layers as Json[]) : config.layers;
  if (model instanceof Model) {
    return {
      module: 'keras.src.models.functional',
      class_name: 'Functional',
      config: { ...config, layers },
      registered_name: 'Functional',
    };
  }
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: { ...config, layers },
    registered_name: null,
    ...(model.inputShape === null ? {} : { build_config: { input_shape: [null, ...model.inputShape] } }),
  };
}

/** An InputLayer's config in the Keras 2 schema (`batch_input_shape`, which Keras 3 converts on load). */
function legacyInputLayer(name: string, shape: Shape): Json {
  return {
    class_name: 'InputLayer',
    config: { batch_input_shape: [null, ...shape], dtype: 'float32', sparse: false, ragged: false, name },
  };
}

/** A layer's `{class_name, config}` in the Keras 2 schema (a nested model's whole config). */
function legacyLayer(layer: Layer): Json {
  if (layer instanceof BaseModel) return legacyModelConfig(layer, true);
  return toLegacy({ class_name: layer.className, config: layer.getConfig() }) as Json;
}

/**
 * The Keras 2 config of a model, as legacy `.h5` files hold it in `model_config`: `Sequential`, or a functional
 * model as `Model` (the class name every tf.keras 2.x and Keras 3 reads a functional config under). A model
 * nested as a layer is written the same way, in place of its layer entry; a functional one with its
 * `trainable` flag (Keras 3 reads it there). References to a nested model's output name its node 0, as Keras
 * 3 numbers them.
 */
export function legacyModelConfig(model: BaseModel, nested = false): Json {
  if (model instanceof Model) {
    const config = model.getConfig();
    const layers = model.graphNodes.map((node) => {
      const entry =
        node.layer instanceof InputLayer
          ? legacyInputLayer(node.layer.name, node.output.shape)
          : legacyLayer(node.layer);
      return {
        ...entry,
        name: node.layer.name,
        inbound_nodes: node.inputs.length === 0 ? [] : [node.inputs.map((tensor) => [tensor.name, 0, 0, {}])],
      };
    });
    return {
      class_name: 'Model',
      config: {
        name: model.name,
        trainable: model.trainable,
        layers,
        // A nested model keeps single tensors single (Keras would otherwise call the next layer on a list);
        // a top-level model's are written as lists, which every tf.keras reads.
        ...(nested
          ? { input_layers: config.input_layers, output_layers: config.output_layers }
          : {
              input_layers: model.inputs.map((tensor) => [tensor.name, 0, 0]),
              output_layers: model.outputs.map((tensor) => [tensor.name, 0, 0]),
            }),
      },
    };
  }
  const layers = model.layers.map(legacyLayer);
  if (model.inputShape !== null) {
    // tf.keras names a Sequential's implicit input after its first layer.
    const taken = new Set(model.layers.map((layer) => layer.name));
    let name = model.layers.length > 0 ? `${model.layers[0].name}_input` : 'input_1';
    while (taken.has(name)) name = `${name}_`;
    layers.unshift(legacyInputLayer(name, model.inputShape));
  }
  return { class_name: 'Sequential', config: { name: model.name, layers } };
}

// ---- Training configs.

/** Base optimizer arguments with the value Keras gives them by default (omitted from Keras 2 configs). */
const OPTIMIZER_DEFAULTS: Json = {
  weight_decay: null,
  clipnorm: null,
  global_clipnorm: null,
  clipvalue: null,
  use_ema: false,
  ema_momentum: 0.99,
  ema_overwrite_frequency: null,
  loss_scale_factor: null,
  gradient_accumulation_steps: null,
};

/** Keras 2 config arguments that Keras 3 and warmstart do not have (dropped on load). */
const TF_KERAS_ONLY_ARGUMENTS = ['jit_compile', 'is_legacy_optimizer'];

/** The loss as a config value: a built-in loss by its Keras function name, a custom one by its class name. */
function lossName(loss: Loss): string {
  try {
    if (getLoss(loss.name).className === loss.className) return loss.name;
  } catch {
    // Not a built-in name: a custom loss, saved under its class name.
  }
  return loss.className;
}

/** The metric names the model was compiled with. */
function metricNames(model: BaseModel): string[] | null {
  const names = model.compileMetricNames;
  return names.length === 0 ? null : [...names];
}

/**
 * Legacy `.h5`'s `training_config`: loss, metrics and `optimizer_config`. The optimizer's config leaves out
 * arguments at Keras's defaults that tf.keras 2.x's optimizers do not accept (`loss_scale_factor`, …), so
 * that tf.keras can compile the model too; Keras 3 fills them in.
 */
export function legacyTrainingConfig(model: BaseModel): Json | null {
  const optimizer = model.optimizer;
  const loss = model.loss;
  if (optimizer === null || loss === null) return null;
  const config: Json = {};
  for (const [key, value] of Object.entries(optimizer.getConfig())) {
    if (key in OPTIMIZER_DEFAULTS && OPTIMIZER_DEFAULTS[key] === value) continue;
    // A schedule keeps its `module`: Keras 3 cannot find the class without it (as Keras 3 writes it in .h5
    // too), and tf.keras 2.x reads only `class_name` and `config`.
    config[key] = key === 'learning_rate' ? value : toLegacy(value);
  }
  return {
    loss: lossName(loss),
    metrics: metricNames(model),
    weighted_metrics: null,
    loss_weights: null,
    optimizer_config: { class_name: optimizer.className, config },
  };
}

/** Keras 3's `compile_config`, as `config.json` in a `.keras` archive holds it. */
export function kerasCompileConfig(model: BaseModel): Json | null {
  const optimizer = model.optimizer;
  const loss = model.loss;
  if (optimizer === null || loss === null) return null;
  // Arguments at their defaults are left out, as for `.h5`: Keras 3.0 rejects ones added later
  // (`gradient_accumulation_steps`), and every Keras 3 fills them in.
  const serialized = serializeOptimizer(optimizer);
  const config: Json = {};
  for (const [key, value] of Object.entries(serialized.config)) {
    if (!(key in OPTIMIZER_DEFAULTS && OPTIMIZER_DEFAULTS[key] === value)) config[key] = value;
  }
  return {
    optimizer: { ...serialized, config },
    loss: lossName(loss),
    loss_weights: null,
    metrics: metricNames(model),
    weighted_metrics: null,
    run_eagerly: false,
    steps_per_execution: 1,
    jit_compile: false,
  };
}

/** What `compile` needs, read from a file's training or compile config. */
export interface CompileArguments {
  optimizer: Optimizer;
  loss: Loss;
  metrics: string[];
}

/** The one element of a single-output structure (Keras nests losses and metrics per output). */
function single(value: unknown, what: string, context: ConfigContext): unknown {
  if (Array.isArray(value)) {
    if (value.length !== 1)
      throw new ModelFileError(
        'UNSUPPORTED',
        context.path,
        `${what} has ${value.length} entries: several outputs are not supported`,
      );
    return value[0];
  }
  if (isObject(value) && typeof value.class_name !== 'string') {
    const values = Object.values(value);
    if (values.length !== 1)
      throw new ModelFileError(
        'UNSUPPORTED',
        context.path,
        `${what} is keyed by several outputs: not supported`,
      );
    return values[0];
  }
  return value;
}

/** The name a loss is given by: a string, or a serialized function or class. */
function lossKey(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isObject(value)) {
    // Keras 3 serializes functions as {class_name: 'function', config: 'huber_fn', registered_name: …}.
    if (value.class_name === 'function' && typeof value.config === 'string') return value.config;
    if (typeof value.class_name === 'string') return bareClassName(value.class_name);
  }
  return null;
}

function resolveLoss(raw: unknown, context: ConfigContext): Loss {
  const value = single(raw, 'the loss', context);
  const key = lossKey(value);
  if (key === null)
    throw new ModelFileError(
      'BAD_TRAINING_CONFIG',
      context.path,
      `the loss ${JSON.stringify(value)} is not understood`,
    );
  const custom = context.customObjects[key];
  if (custom !== undefined && typeof custom !== 'function') return custom;
  const config = isObject(value) && isObject(value.config) ? value.config : {};
  if (config.from_logits === true) {
    throw new ModelFileError(
      'UNSUPPORTED',
      context.path,
      `the loss '${key}' takes logits (from_logits=True), which warmstart does not support`,
    );
  }
  try {
    return getLoss(key);
  } catch (error) {
    if (!(error instanceof UnknownLossError)) throw error;
    throw new ModelFileError(
      'UNKNOWN_LOSS',
      context.path,
      `the model was compiled with the loss '${key}', which is not built into warmstart: pass it as loadModel(path, { customObjects: { ${key}: new YourLoss() } }) (a Loss subclass), or load with { compile: false }`,
      { cause: error },
    );
  }
}

function resolveMetrics(raw: unknown, context: ConfigContext): string[] {
  if (raw === null || raw === undefined) return [];
  const flat: unknown[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (isObject(value) && typeof value.class_name !== 'string') Object.values(value).forEach(walk);
    else flat.push(value);
  };
  walk(raw);
  const names: string[] = [];
  for (const metric of flat) {
    let name: string | null = null;
    if (typeof metric === 'string') name = metric;
    else if (isObject(metric) && isObject(metric.config)) {
      const config = metric.config;
      // MeanMetricWrapper keeps the user's name ('accuracy') and the function ('sparse_categorical_accuracy').
      const candidates = [
        config.name,
        config.fn,
        typeof metric.class_name === 'string' ? toSnake(bareClassName(metric.class_name)) : null,
      ];
      name =
        (candidates.find((c) => typeof c === 'string' && isKnownMetricName(c)) as string | undefined) ??
        String(config.name ?? metric.class_name);
    }
    if (name !== null && isKnownMetricName(name)) {
      if (!names.includes(name)) names.push(name);
    } else {
      context.warn(
        `${context.path}: the metric ${JSON.stringify(name ?? metric)} is not supported by warmstart and is dropped`,
      );
    }
  }
  return names;
}

function toSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** An optimizer from a saved `{class_name, config}` (Keras 2's and Keras 3's class names and arguments). */
export function optimizerFromConfig(raw: unknown, context: ConfigContext): Optimizer {
  if (!isObject(raw) || typeof raw.class_name !== 'string') {
    throw new ModelFileError(
      'BAD_TRAINING_CONFIG',
      context.path,
      `the optimizer config ${JSON.stringify(raw)?.slice(0, 200)} is not a {class_name, config} object`,
    );
  }
  const name = bareClassName(raw.class_name);
  const config: Json = isObject(raw.config) ? { ...raw.config } : {};
  for (const key of TF_KERAS_ONLY_ARGUMENTS) delete config[key];
  if ('lr' in config && !('learning_rate' in config)) config.learning_rate = config.lr;
  delete config.lr;
  if (typeof config.decay === 'number' && config.decay !== 0) {
    context.warn(
      `${context.path}: the optimizer's learning-rate decay (${config.decay}, a Keras 2 argument) is ignored`,
    );
  }
  if (isObject(config.learning_rate))
    config.learning_rate = {
      ...config.learning_rate,
      class_name: bareClassName(String(config.learning_rate.class_name)),
    };
  try {
    return deserializeOptimizer({ class_name: name, config });
  } catch (error) {
    if (error instanceof UnknownOptimizerError) {
      throw new ModelFileError(
        'UNKNOWN_OPTIMIZER',
        context.path,
        `the model was compiled with the optimizer '${raw.class_name}', which warmstart does not have (${error.message}); load with { compile: false } and compile it yourself`,
        { cause: error },
      );
    }
    if (error instanceof OptimizerConfigError || error instanceof UnknownOptionError) {
      throw new ModelFileError(
        'BAD_TRAINING_CONFIG',
        context.path,
        `the optimizer config is invalid (${error.message}); load with { compile: false } and compile the model yourself`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Reads compile arguments from a legacy `training_config` (`optimizer_config`, `loss`, `metrics`) or a Keras 3
 * `compile_config` (`optimizer`, `loss`, `metrics`). Returns null when the config names no optimizer or loss.
 */
export function compileArgumentsFrom(
  trainingConfig: unknown,
  context: ConfigContext,
): CompileArguments | null {
  if (trainingConfig === null || trainingConfig === undefined) return null;
  if (!isObject(trainingConfig)) {
    throw new ModelFileError('BAD_TRAINING_CONFIG', context.path, 'the training config is not an object');
  }
  const optimizerConfig = trainingConfig.optimizer_config ?? trainingConfig.optimizer;
  if (
    optimizerConfig === undefined ||
    optimizerConfig === null ||
    trainingConfig.loss === undefined ||
    trainingConfig.loss === null
  ) {
    return null;
  }
  const loss = resolveLoss(trainingConfig.loss, context);
  const optimizer =
    typeof optimizerConfig === 'string'
      ? optimizerFromConfig({ class_name: optimizerConfig, config: {} }, context)
      : optimizerFromConfig(optimizerConfig, context);
  return { optimizer, loss, metrics: resolveMetrics(trainingConfig.metrics, context) };
}
