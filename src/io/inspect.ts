/**
 * Describing a model file without trusting it: what `warmstart inspect` prints.
 * @module
 */
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { UnknownLayerError } from '../layers/registry.js';
import type { BaseModel } from '../models/baseModel.js';
import { ModelFileError } from './errors.js';
import type { CustomObjects } from './modelConfig.js';
import { modelFromParts, readModelInput } from './modelFile.js';
import type { ModelFileParts } from './modelParts.js';
import { openModelSource, type ModelSource } from './modelSource.js';

/** One layer as {@link inspectModelFile} reports it. */
export interface LayerInfo {
  name: string;
  className: string;
  /** Output shape with the batch axis as null, when the model could be built. */
  outputShape: Array<number | null> | null;
  /** Number of weights (from the built model, else from the file), or null when unknown. */
  parameters: number | null;
}

/** What a model file holds and whether warmstart can load it. */
export interface ModelFileInfo {
  /** The file: its path, URL or name, or a description of the bytes. */
  path: string;
  /** `h5` (legacy HDF5) or `keras` (Keras 3 archive); null when unreadable. */
  format: 'h5' | 'keras' | null;
  /** The Keras version that wrote the file. */
  kerasVersion: string | null;
  /** The backend recorded (`.h5`). */
  backend: string | null;
  /** The model's class (`Sequential`, `Functional`, …) and name. */
  model: { className: string; name: string | null } | null;
  layers: LayerInfo[];
  /** Parameter counts (trainable ones known only when the model could be built). */
  parameters: { total: number; trainable: number | null; nonTrainable: number | null } | null;
  /** The optimizer's class and configuration as saved. */
  optimizer: { className: string; config: Record<string, unknown> } | null;
  /** Saved optimizer state: step count and number of variables. */
  optimizerState: { iterations: number | null; variables: number } | null;
  /** The loss as saved (a name). */
  loss: string | null;
  /** The metrics as saved (names). */
  metrics: string[];
  /** Whether `loadModel(path, { compile: false })` succeeds. */
  loadable: boolean;
  /** Whether `loadModel(path)` (compiling) succeeds too. */
  compilable: boolean;
  /** Why loading (or compiling) fails. */
  error: { name: string; code: string | null; message: string } | null;
  /** Warnings loading would give. */
  warnings: string[];
  /** The model's summary table, when it could be built. */
  summary: string | null;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function describeError(error: unknown): ModelFileInfo['error'] {
  if (error instanceof ModelFileError) return { name: error.name, code: error.code, message: error.message };
  if (error instanceof Error) return { name: error.name, code: null, message: error.message };
  return { name: 'Error', code: null, message: String(error) };
}

/** Names of a loss or metric as saved (strings, or serialized objects by name). */
function nameOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isObject(value)) {
    if (value.class_name === 'function' && typeof value.config === 'string') return value.config;
    if (isObject(value.config) && typeof value.config.name === 'string') return value.config.name;
    if (typeof value.class_name === 'string') return value.class_name;
  }
  return null;
}

function flatNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(flatNames);
  if (isObject(value) && typeof value.class_name !== 'string') return Object.values(value).flatMap(flatNames);
  const name = nameOf(value);
  return name === null ? [] : [name];
}

/** What the configs say, even when the model cannot be built. */
function fromConfigs(parts: ModelFileParts, info: ModelFileInfo): void {
  const modelConfig = parts.modelConfig;
  if (isObject(modelConfig) && typeof modelConfig.class_name === 'string') {
    const config = modelConfig.config;
    const name = isObject(config) && typeof config.name === 'string' ? config.name : null;
    info.model = { className: modelConfig.class_name, name };
    const entries = Array.isArray(config)
      ? config
      : isObject(config) && Array.isArray(config.layers)
        ? config.layers
        : [];
    const stored = new Map(parts.layerWeights.map((layer) => [layer.name, layer]));
    info.layers = entries.filter(isObject).map((entry) => {
      const layerConfig = isObject(entry.config) ? entry.config : {};
      const layerName =
        typeof entry.name === 'string'
          ? entry.name
          : typeof layerConfig.name === 'string'
            ? layerConfig.name
            : '?';
      const weights = stored.get(layerName);
      return {
        name: layerName,
        className: String(entry.class_name),
        outputShape: null,
        parameters:
          weights === undefined
            ? null
            : weights.weights.reduce((total, weight) => total + weight.values.length, 0),
      };
    });
    const total = parts.layerWeights.reduce(
      (sum, layer) => sum + layer.weights.reduce((inner, weight) => inner + weight.values.length, 0),
      0,
    );
    info.parameters = { total, trainable: null, nonTrainable: null };
  }
  const training = parts.trainingConfig;
  if (isObject(training)) {
    const optimizer = training.optimizer_config ?? training.optimizer;
    if (isObject(optimizer) && typeof optimizer.class_name === 'string') {
      info.optimizer = {
        className: optimizer.class_name,
        config: isObject(optimizer.config) ? optimizer.config : {},
      };
    } else if (typeof optimizer === 'string') {
      info.optimizer = { className: optimizer, config: {} };
    }
    info.loss = flatNames(training.loss)[0] ?? null;
    info.metrics = flatNames(training.metrics);
  }
  if (parts.optimizerVariables !== null) {
    const variables = parts.optimizerVariables;
    const iteration =
      variables.find(
        (variable) => variable.name !== null && /(^|\/)(iter|iteration)(:\d+)?$/.test(variable.name),
      ) ?? (variables[0]?.name === null && variables[0].shape.length === 0 ? variables[0] : undefined);
    info.optimizerState = {
      iterations: iteration === undefined ? null : Number(iteration.data[0]),
      variables: variables.length,
    };
  }
}

/** What the built model says: exact shapes and parameter counts, and its summary. */
function fromModel(model: BaseModel, info: ModelFileInfo): void {
  info.layers = model.layers.map((layer) => {
    const shape = model.outputShapeOf(layer);
    return {
      name: layer.name,
      className: layer.className,
      outputShape: shape === null ? null : [null, ...shape],
      parameters: layer.countParams(),
    };
  });
  const count = (weights: { size: number }[]): number =>
    weights.reduce((total, weight) => total + weight.size, 0);
  const total = count(model.weights);
  const trainable = count(model.trainableWeights);
  info.parameters = { total, trainable, nonTrainable: total - trainable };
  info.summary = model.summary(null);
}

/** Options of {@link inspectModelFile}. */
export interface InspectModelFileOptions {
  /** Layer factories and losses for classes the file names that warmstart lacks (as `loadModel` takes them). */
  customObjects?: CustomObjects;
  /** Deadline for reading the file, in milliseconds. */
  timeoutMs?: number;
}

/** The keys of {@link InspectModelFileOptions}. */
const INSPECT_MODEL_FILE_OPTION_KEYS = {
  customObjects: true,
  timeoutMs: true,
} as const satisfies OptionKeys<InspectModelFileOptions>;

/**
 * Describes a model file: format, Keras version, layers with shapes and parameter counts, optimizer and its
 * settings, loss, metrics, and whether warmstart can load (and compile) it, with the reason when not. Never
 * throws for a bad file: the problem is reported in `error`. Takes what `loadModel` takes (a path, URL,
 * `Blob` or bytes).
 */
export async function inspectModelFile(
  source: ModelSource,
  options: InspectModelFileOptions = {},
): Promise<ModelFileInfo> {
  checkOptions('inspectModelFile', options, INSPECT_MODEL_FILE_OPTION_KEYS);
  const info: ModelFileInfo = {
    path: typeof source === 'string' ? source : source instanceof URL ? source.href : '',
    format: null,
    kerasVersion: null,
    backend: null,
    model: null,
    layers: [],
    parameters: null,
    optimizer: null,
    optimizerState: null,
    loss: null,
    metrics: [],
    loadable: false,
    compilable: false,
    error: null,
    warnings: [],
    summary: null,
  };
  let parts: ModelFileParts;
  let fileBytes: number;
  try {
    const input = await openModelSource(source);
    info.path = input.name;
    fileBytes = input.size;
    parts = await readModelInput(input, { timeoutMs: options.timeoutMs });
  } catch (error) {
    info.error = describeError(error);
    return info;
  }
  info.format = parts.format;
  info.kerasVersion = parts.kerasVersion;
  info.backend = parts.backend;
  fromConfigs(parts, info);
  const context = (warnings: string[]) => ({
    path: info.path,
    fileBytes,
    customObjects: options.customObjects ?? {},
    warn: (message: string) => warnings.push(message),
  });
  const attempt = (compile: boolean, warnings: string[]): BaseModel | unknown => {
    try {
      return modelFromParts(parts, context(warnings), compile);
    } catch (error) {
      if (error instanceof ModelFileError || error instanceof UnknownLayerError || error instanceof Error)
        return error;
      return new Error(String(error));
    }
  };
  const compiled = attempt(true, info.warnings);
  if (!(compiled instanceof Error)) {
    info.loadable = info.compilable = true;
    fromModel(compiled as BaseModel, info);
    return info;
  }
  info.error = describeError(compiled);
  const plain = attempt(false, []);
  if (!(plain instanceof Error)) {
    info.loadable = true;
    fromModel(plain as BaseModel, info);
  }
  return info;
}
