/**
 * Loading and saving whole models: `loadModel(source)` for Keras `.h5` (tf.keras 2.x, Keras 3) and `.keras`
 * (Keras 3) files from a path, URL, `Blob` or bytes; `saveModel(model, path)` (what `model.save` calls)
 * writing either atomically, or `saveModel(model, { format })` making its bytes. Works on bytes throughout:
 * what touches files is the platform module's (`platform.ts`, `platform.browser.ts`).
 * @module
 */
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { bareClassName, UnknownLayerError } from '../layers/registry.js';
import type { BaseModel } from '../models/baseModel.js';
import { Model } from '../models/functional.js';
import { Sequential } from '../models/sequential.js';
import { isNotAboutTheFile, ModelFileError } from './errors.js';
import { defaultTimeoutMs, Hdf5Failure, readHdf5Bytes, writeHdf5Bytes } from './hdf5/client.js';
import type { GroupSnapshot, ReadLimits } from './hdf5/snapshot.js';
import { kerasArchiveBytes, kerasWeightsTree, readKerasArchive } from './kerasArchive.js';
import { legacyH5Tree, readLegacyH5, type WriterIdentity } from './legacyH5.js';
import {
  compileArgumentsFrom,
  type ConfigContext,
  type CustomObjects,
  modelFromConfig,
} from './modelConfig.js';
import type { ModelFileParts } from './modelParts.js';
import { extensionOf, openModelSource, type ModelSource } from './modelSource.js';
import { restoreOptimizerState } from './optimizerState.js';
import {
  describeWriteError,
  emitWarning,
  offerDownload,
  prepareModelFileWrite,
  writeModelFileAtomically,
} from './platform.js';
import type { ModelInput } from './platformTypes.js';

/** warmstart's version, written into the files it saves. */
export const WARMSTART_VERSION = '0.1.0';

/**
 * What warmstart writes as `keras_version`. Loaders only compare it with `'1'` (tf.keras converts Keras 1
 * weights then) and otherwise just record it, so any other value loads; this one is a valid PEP 440 version
 * (`3.0.0` with the local label `warmstart.0.1.0`, the way tf.keras wrote `2.3.0-tf`): it says which Keras
 * format the file follows (Keras 3's, readable by 3.0 and later) and that Keras itself did not write it.
 */
export const WRITTEN_KERAS_VERSION = `3.0.0+warmstart.${WARMSTART_VERSION}`;

/**
 * What warmstart writes as `backend` in `.h5` files. Loaders record it (tf.keras only special-cases
 * `'theano'`'s convolution kernels), so naming the real writer is safe.
 */
export const WRITTEN_BACKEND = 'warmstart';

const IDENTITY: WriterIdentity = { kerasVersion: WRITTEN_KERAS_VERSION, backend: WRITTEN_BACKEND };

/**
 * A model class, as {@link LoadModelOptions.expect} takes it: `Sequential`, `Model`, or a base class of them
 * (`BaseModel`). Only its prototype matters (the class is never called), so abstract classes and classes with
 * protected constructors qualify.
 */
export interface ModelClass<T extends BaseModel> {
  readonly prototype: T;
  readonly name: string;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /**
   * The class the file must hold: `Sequential` or `Model` (functional). `loadModel` then resolves to that type,
   * and a file holding the other kind is a `ModelFileError` `WRONG_MODEL_CLASS`, before anything is built.
   */
  expect?: ModelClass<BaseModel>;
  /**
   * Compile the model with the optimizer (its hyperparameters and, when saved, its state), loss and metrics
   * the file records, so that `fit` continues where it stopped (default true). With false, only the
   * architecture and weights are loaded (and a custom loss need not be known).
   */
  compile?: boolean;
  /** Layer factories (`(config) => layer`) and losses (`Loss` objects) for classes the file names that warmstart lacks. */
  customObjects?: CustomObjects;
  /** Deadline for reading the file, in milliseconds (default: 20 s plus 0.1 ms per kilobyte). */
  timeoutMs?: number;
  /**
   * Receives warnings (unsupported metrics dropped, optimizer state not restored); default
   * `process.emitWarning` (type `WarmstartWarning`) in Node, `console.warn` in browsers.
   */
  onWarning?: (message: string) => void;
  /** Bounds on what reading may allocate (defaults suit any real model). */
  limits?: ReadLimits;
}

/** The keys of {@link LoadModelOptions}. */
const LOAD_MODEL_OPTION_KEYS = {
  expect: true,
  compile: true,
  customObjects: true,
  timeoutMs: true,
  onWarning: true,
  limits: true,
} as const satisfies OptionKeys<LoadModelOptions>;

/** Options of {@link saveModel} (and `model.save`). */
export interface SaveModelOptions {
  /** Save the optimizer, loss and metrics, and the optimizer's state (default true). */
  includeOptimizer?: boolean;
  /** Replace an existing file (default true); with false an existing file is an error. */
  overwrite?: boolean;
  /** Deadline for writing, in milliseconds. */
  timeoutMs?: number;
  /**
   * Receives warnings (weights that are NaN or infinite: saved anyway, as Keras saves them); default as
   * {@link LoadModelOptions.onWarning}.
   */
  onWarning?: (message: string) => void;
}

/** The keys of {@link SaveModelOptions}. */
const SAVE_MODEL_OPTION_KEYS = {
  includeOptimizer: true,
  overwrite: true,
  timeoutMs: true,
  onWarning: true,
} as const satisfies OptionKeys<SaveModelOptions>;

/** Options of {@link readModelFile}. */
export interface ReadModelFileOptions {
  /** Deadline for reading the file, in milliseconds (default: 20 s plus 0.1 ms per kilobyte). */
  timeoutMs?: number;
  /** Bounds on what reading may allocate. */
  limits?: ReadLimits;
}

/** The keys of {@link ReadModelFileOptions}. */
const READ_MODEL_FILE_OPTION_KEYS = {
  timeoutMs: true,
  limits: true,
} as const satisfies OptionKeys<ReadModelFileOptions>;

const HDF5_SIGNATURE = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);
const ZIP_SIGNATURE = Uint8Array.of(0x50, 0x4b, 0x03, 0x04);

/** How many first bytes tell the format (an HDF5 signature may follow a user block of 512·2ⁿ bytes). */
const HEAD_BYTES = 4096;

/** Whether `bytes` holds `signature` at `offset`. */
function startsWith(bytes: Uint8Array, signature: Uint8Array, offset = 0): boolean {
  if (offset + signature.length > bytes.length) return false;
  for (let i = 0; i < signature.length; i++) if (bytes[offset + i] !== signature[i]) return false;
  return true;
}

/** Which format a file's first bytes announce (HDF5 may also start after a user block of 512·2ⁿ bytes). */
function sniff(bytes: Uint8Array): 'h5' | 'keras' | null {
  if (startsWith(bytes, ZIP_SIGNATURE)) return 'keras';
  for (let offset = 0; offset + 8 <= bytes.length; offset = offset === 0 ? 512 : offset * 2) {
    if (startsWith(bytes, HDF5_SIGNATURE, offset)) return 'h5';
  }
  return null;
}

function defaultWarn(message: string): void {
  emitWarning(message);
}

/**
 * A warning naming the weights that are not finite (NaN or ±∞, what a diverged training leaves), or null when
 * every weight is finite.
 */
export function nonFiniteWeightsWarning(model: BaseModel, path: string): string | null {
  const bad: string[] = [];
  let count = 0;
  for (const weight of model.weights) {
    const values = weight.value;
    const first = model.kernels.firstNonFinite(values);
    if (first < 0) continue;
    // Count the rest plainly: a broken weight is rare, and saving is not a hot path.
    let inWeight = 0;
    for (let i = first; i < values.length; i++) if (!Number.isFinite(values[i])) inWeight++;
    bad.push(`${weight.path} (${inWeight} of ${values.length})`);
    count += inWeight;
  }
  if (count === 0) return null;
  const shown = bad.length > 3 ? `${bad.slice(0, 3).join(', ')} and ${bad.length - 3} more` : bad.join(', ');
  return `${path}: model '${model.name}' has ${count} weight values that are NaN or infinite, in ${shown}; it is saved anyway, as Keras does, but it cannot predict anything (did training diverge? a lower learning rate may help)`;
}

/**
 * Turns a failure of the HDF5 worker into the file error it means; a worker that did not start is no file's
 * fault, and stays an `Hdf5Failure` saying so.
 */
function hdf5Error(error: unknown, path: string, what: string): unknown {
  if (!(error instanceof Hdf5Failure) || error.kind === 'startup') return error;
  const code = error.kind === 'timeout' ? 'TIMEOUT' : error.kind === 'limit' ? 'TOO_LARGE' : 'CORRUPT';
  const hint = error.kind === 'timeout' ? ' (a damaged HDF5 file can make the library loop)' : '';
  return new ModelFileError(code, path, `${what}: ${error.message}${hint}`, { cause: error });
}

/**
 * Reads a model file's parts (configs, weights, optimizer variables) without building the model: what
 * `loadModel` and `inspectModelFile` start from. Takes what `loadModel` takes (a {@link ModelSource}).
 */
export async function readModelFile(
  source: ModelSource,
  options: ReadModelFileOptions = {},
): Promise<ModelFileParts> {
  checkOptions('readModelFile', options, READ_MODEL_FILE_OPTION_KEYS);
  return readModelInput(await openModelSource(source), options);
}

/** {@link readModelFile} of an opened source. */
export async function readModelInput(
  input: ModelInput,
  options: ReadModelFileOptions = {},
): Promise<ModelFileParts> {
  const name = input.name;
  if (input.size === 0) throw new ModelFileError('CORRUPT', name, 'the file is empty');
  // The format shows in the first bytes: a file that is neither is refused before it is read whole.
  const format = sniff(await input.head(HEAD_BYTES));
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs(input.size);
  if (format === 'h5' || format === 'keras') {
    const bytes = await input.bytes();
    if (format === 'h5') {
      let tree: GroupSnapshot;
      try {
        tree = await readHdf5Bytes(bytes, { timeoutMs, limits: options.limits, name });
      } catch (error) {
        throw hdf5Error(error, name, 'the HDF5 file cannot be read');
      }
      return readLegacyH5(tree, name);
    }
    return readKerasArchive(bytes, name, async (weights) => {
      try {
        return await readHdf5Bytes(weights, { timeoutMs, limits: options.limits, name: 'model.weights.h5' });
      } catch (error) {
        throw hdf5Error(error, name, "the archive's model.weights.h5 cannot be read");
      }
    });
  }
  const extension = extensionOf(name);
  const expected =
    extension === '.keras'
      ? ' (a .keras file must be a zip archive)'
      : extension === '.h5' || extension === '.hdf5'
        ? ' (an .h5 file must start with the HDF5 signature)'
        : '';
  throw new ModelFileError(
    'UNKNOWN_FORMAT',
    name,
    `not a Keras model file: neither HDF5 nor a zip archive${expected}`,
  );
}

/** Builds, fills and (optionally) compiles a model from a file's parts. */
export function modelFromParts(parts: ModelFileParts, context: ConfigContext, compile: boolean): BaseModel {
  const model = modelFromConfig(parts.modelConfig, context);
  if (!model.built && parts.layerWeights.some((layer) => layer.weights.length > 0)) {
    throw new ModelFileError(
      'BAD_CONFIG',
      context.path,
      'the configuration gives no input shape (no InputLayer, batch_input_shape or build_input_shape), so the stored weights have no layers to go to',
    );
  }
  parts.assignWeights(model);
  if (!compile) return model;
  const args = compileArgumentsFrom(parts.trainingConfig, context);
  if (args === null) {
    context.warn(
      `${context.path}: no training configuration in the file, so the model was not compiled: compile it yourself`,
    );
    return model;
  }
  model.compile({ optimizer: args.optimizer, loss: args.loss, metrics: args.metrics });
  if (parts.optimizerVariables !== null) {
    restoreOptimizerState(model, parts.optimizerVariables, (message) =>
      context.warn(`${context.path}: ${message}; the optimizer starts fresh`),
    );
  }
  return model;
}

/** The class a model config will be rebuilt as, or null when it names another (an error at build time). */
function modelClassOf(modelConfig: unknown): typeof Sequential | typeof Model | null {
  if (typeof modelConfig !== 'object' || modelConfig === null) return null;
  const name = (modelConfig as { class_name?: unknown }).class_name;
  if (typeof name !== 'string') return null;
  const bare = bareClassName(name);
  return bare === 'Sequential' ? Sequential : bare === 'Functional' || bare === 'Model' ? Model : null;
}

/**
 * Loads a model saved by Keras (tf.keras 2.0–2.15 `.h5`, Keras 3 `.h5` or `.keras`) or by warmstart.
 *
 * The file is a {@link ModelSource}: a path (Node), a URL (fetched; in a page a string is a URL resolved
 * against the page), a `File` or `Blob` (a file input, a drop), or the file's bytes (`ArrayBuffer`,
 * `Uint8Array`). The format is told from the bytes.
 *
 * Resolves to a {@link Sequential} when the file holds a Sequential model, and to a functional {@link Model}
 * when it holds a functional one (Keras's `Functional`, or `Model` with a graph). To get the exact type without
 * a cast, say which one the file must hold: `await loadModel('my_model_A.h5', { expect: Sequential })` is a
 * `Sequential` (and a file holding a functional model is a `ModelFileError` with code `WRONG_MODEL_CLASS`).
 *
 * Every way a file can be wrong ends in a {@link ModelFileError} (with a `code` and the file's name in its
 * message), the same in Node and in browsers, or, for a layer class that is neither built in nor registered,
 * an `UnknownLayerError` naming the class. An error that is not the file's (out of memory) propagates
 * unchanged.
 */
export async function loadModel<T extends BaseModel>(
  source: ModelSource,
  options: LoadModelOptions & { expect: ModelClass<T> },
): Promise<T>;
export async function loadModel(source: ModelSource, options?: LoadModelOptions): Promise<Sequential | Model>;
export async function loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<BaseModel> {
  checkOptions('loadModel', options, LOAD_MODEL_OPTION_KEYS);
  const warn = options.onWarning ?? defaultWarn;
  const input = await openModelSource(source);
  const path = input.name;
  const parts = await readModelInput(input, { timeoutMs: options.timeoutMs, limits: options.limits });
  if (options.expect !== undefined) {
    const found = modelClassOf(parts.modelConfig);
    const expected = options.expect.prototype as object;
    if (
      found !== null &&
      !(found.prototype === expected || Object.prototype.isPrototypeOf.call(expected, found.prototype))
    ) {
      throw new ModelFileError(
        'WRONG_MODEL_CLASS',
        path,
        `the file holds a ${found === Sequential ? 'Sequential' : 'functional Model'}, not a ${options.expect.name}: load it with { expect: ${found.name} }, or without expect`,
      );
    }
  }
  const context: ConfigContext = {
    path,
    fileBytes: input.size,
    customObjects: options.customObjects ?? {},
    warn,
  };
  try {
    return modelFromParts(parts, context, options.compile ?? true);
  } catch (error) {
    if (error instanceof ModelFileError || error instanceof UnknownLayerError || isNotAboutTheFile(error))
      throw error;
    // Anything else is an argument of the file that a constructor refused: still the file's fault.
    throw new ModelFileError(
      'BAD_CONFIG',
      path,
      `the model cannot be made from the file: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** The format a file name asks for, by extension. */
function formatOf(path: string): 'h5' | 'keras' {
  const extension = extensionOf(path);
  if (extension === '.h5' || extension === '.hdf5') return 'h5';
  if (extension === '.keras') return 'keras';
  throw new ModelFileError(
    'UNKNOWN_FORMAT',
    path,
    `cannot tell the format from the extension '${extension}': use .keras (Keras 3) or .h5 (legacy HDF5)`,
  );
}

/** Makes a model file's bytes (`name` names it in messages). */
async function encodeModel(
  model: BaseModel,
  format: 'h5' | 'keras',
  includeOptimizer: boolean,
  timeoutMs: number,
  name: string,
): Promise<Uint8Array> {
  if (format === 'h5') {
    return writeHdf5Bytes(legacyH5Tree(model, IDENTITY, includeOptimizer), { timeoutMs, name });
  }
  const weights = await writeHdf5Bytes(kerasWeightsTree(model, includeOptimizer), {
    timeoutMs,
    name: `${name} (model.weights.h5)`,
  });
  return kerasArchiveBytes(model, weights, IDENTITY, includeOptimizer);
}

/** Reads a written file back as a loader would, so that nothing unreadable replaces a good file. */
async function checkWritten(model: BaseModel, source: ModelSource, timeoutMs: number): Promise<void> {
  const parts = await readModelFile(source, { timeoutMs });
  const stored = parts.layerWeights.reduce((total, layer) => total + layer.weights.length, 0);
  if (stored !== model.weights.length) {
    throw new Error(`the written file holds ${stored} weights, the model has ${model.weights.length}`);
  }
}

/** A failure while making or writing a file, as the `WRITE_FAILED` it is (an out-of-memory error stays itself). */
function writeFailure(error: unknown, name: string, describe: (error: unknown) => string): unknown {
  if (isNotAboutTheFile(error)) return error;
  if (error instanceof ModelFileError && error.code === 'WRITE_FAILED') return error;
  const reason =
    error instanceof Hdf5Failure || error instanceof ModelFileError ? error.message : describe(error);
  return new ModelFileError(
    'WRITE_FAILED',
    name,
    `saving failed, the previous file (if any) is unchanged: ${reason}`,
    { cause: error },
  );
}

/** Options of {@link saveModel} when it makes the file's bytes instead of writing a path (and `model.save`). */
export interface SaveModelBytesOptions {
  /** `'h5'` (Keras's legacy HDF5 layout) or `'keras'` (Keras 3's zip archive). */
  format: 'h5' | 'keras';
  /** Save the optimizer, loss and metrics, and the optimizer's state (default true). */
  includeOptimizer?: boolean;
  /** Deadline for making the file, in milliseconds. */
  timeoutMs?: number;
  /** Receives warnings, as {@link SaveModelOptions.onWarning}. */
  onWarning?: (message: string) => void;
}

/** The keys of {@link SaveModelBytesOptions}. */
const SAVE_MODEL_BYTES_OPTION_KEYS = {
  format: true,
  includeOptimizer: true,
  timeoutMs: true,
  onWarning: true,
} as const satisfies OptionKeys<SaveModelBytesOptions>;

/** Options of {@link downloadModel}: those of {@link saveModel}'s bytes, the format told by the file name. */
export type DownloadModelOptions = Omit<SaveModelBytesOptions, 'format'>;

/** The keys of {@link DownloadModelOptions}. */
const DOWNLOAD_MODEL_OPTION_KEYS = {
  includeOptimizer: true,
  timeoutMs: true,
  onWarning: true,
} as const satisfies OptionKeys<DownloadModelOptions>;

/**
 * Saves a model as `.keras` (Keras 3's zip archive) or `.h5` (Keras's legacy HDF5 layout).
 *
 * With a path (Node), the extension chooses the format and the save is atomic: the file is made in memory,
 * written next to its destination under a temporary name (`.<name>.<pid>@<host>.<hex>.tmp`), read back and
 * checked, then renamed over the destination, so a failed or killed save never leaves a partial file nor
 * destroys the previous one. Nothing is written anywhere else, and each save removes the temporary files that
 * killed processes left in its folder (never a live process's). Browsers have no paths (a
 * `NotAvailableError`).
 *
 * With `{ format }` instead of a path, it resolves to the file's bytes (checked by reading them back), on any
 * platform: `new Blob([bytes])` for a page, {@link downloadModel} to offer them as a download.
 *
 * Fails with a `ModelFileError` `WRITE_FAILED` whose message names the cause (a missing folder, no
 * permission, a full disk); an error that is not about the file (out of memory) propagates unchanged.
 */
export async function saveModel(model: BaseModel, path: string, options?: SaveModelOptions): Promise<void>;
export async function saveModel(
  model: BaseModel,
  options: SaveModelBytesOptions,
): Promise<Uint8Array<ArrayBuffer>>;
export async function saveModel(
  model: BaseModel,
  target: string | SaveModelBytesOptions,
  options: SaveModelOptions = {},
): Promise<void | Uint8Array<ArrayBuffer>> {
  if (typeof target !== 'string') return saveModelBytes(model, target);
  const path = target;
  checkOptions('save', options, SAVE_MODEL_OPTION_KEYS);
  const format = formatOf(path);
  const includeOptimizer = options.includeOptimizer ?? true;
  const warning = nonFiniteWeightsWarning(model, path);
  if (warning !== null) (options.onWarning ?? defaultWarn)(warning);
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs(model.countParams() * 8);
  await prepareModelFileWrite(path, options.overwrite ?? true);
  try {
    const bytes = await encodeModel(model, format, includeOptimizer, timeoutMs, path);
    await writeModelFileAtomically(path, bytes, (temporary) => checkWritten(model, temporary, timeoutMs));
  } catch (error) {
    throw writeFailure(error, path, (cause) => describeWriteError(cause, path));
  }
}

/** {@link saveModel} to bytes. */
async function saveModelBytes(
  model: BaseModel,
  options: SaveModelBytesOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `save: pass a path, or { format: 'h5' } or { format: 'keras' } for the bytes; got ${String(options)}`,
    );
  }
  checkOptions('save', options, SAVE_MODEL_BYTES_OPTION_KEYS);
  const format = options.format;
  const name = `model '${model.name}' as ${format === 'h5' ? '.h5' : '.keras'}`;
  if (format !== 'h5' && format !== 'keras') {
    throw new ModelFileError(
      'UNKNOWN_FORMAT',
      name,
      `format must be 'h5' (legacy HDF5) or 'keras' (Keras 3), got ${JSON.stringify(format)}`,
    );
  }
  const includeOptimizer = options.includeOptimizer ?? true;
  const warning = nonFiniteWeightsWarning(model, name);
  if (warning !== null) (options.onWarning ?? defaultWarn)(warning);
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs(model.countParams() * 8);
  try {
    // A fresh buffer of its own (the worker's transfer, or the zip writer's), never shared memory.
    const bytes = (await encodeModel(
      model,
      format,
      includeOptimizer,
      timeoutMs,
      name,
    )) as Uint8Array<ArrayBuffer>;
    await checkWritten(model, bytes, timeoutMs);
    return bytes;
  } catch (error) {
    throw writeFailure(error, name, (cause) => (cause instanceof Error ? cause.message : String(cause)));
  }
}

/**
 * In a page, saves a model and offers it to the person as a file download named `fileName` (its extension,
 * `.h5` or `.keras`, chooses the format), as a link to the bytes would: `await downloadModel(model,
 * 'my_model_A.h5')` from a button's click. Node has no page: save to a path there.
 *
 * @throws ModelFileError `UNKNOWN_FORMAT` for another extension, `WRITE_FAILED` as {@link saveModel}
 */
export async function downloadModel(
  model: BaseModel,
  fileName: string,
  options: DownloadModelOptions = {},
): Promise<void> {
  checkOptions('downloadModel', options, DOWNLOAD_MODEL_OPTION_KEYS);
  const bytes = await saveModelBytes(model, { ...options, format: formatOf(fileName) });
  offerDownload(fileName, bytes);
}
