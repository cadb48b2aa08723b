/**
 * Loading and saving whole models: `loadModel(path)` for Keras `.h5` (tf.keras 2.x, Keras 3) and `.keras`
 * (Keras 3) files, `saveModel(model, path)` (what `model.save` calls) writing either, atomically.
 * @module
 */
import { promises as fs } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
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
import { restoreOptimizerState } from './optimizerState.js';
import { removeStaleTemporaries, temporaryPathFor } from './temporaryFiles.js';

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
  /** Receives warnings (unsupported metrics dropped, optimizer state not restored); default `process.emitWarning`. */
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
}

/** The keys of {@link SaveModelOptions}. */
const SAVE_MODEL_OPTION_KEYS = {
  includeOptimizer: true,
  overwrite: true,
  timeoutMs: true,
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

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const ZIP_SIGNATURE = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Which format a file's first bytes announce (HDF5 may also start after a user block of 512·2ⁿ bytes). */
function sniff(bytes: Buffer): 'h5' | 'keras' | null {
  if (bytes.subarray(0, 4).equals(ZIP_SIGNATURE)) return 'keras';
  for (let offset = 0; offset + 8 <= bytes.length; offset = offset === 0 ? 512 : offset * 2) {
    if (bytes.subarray(offset, offset + 8).equals(HDF5_SIGNATURE)) return 'h5';
  }
  return null;
}

function defaultWarn(message: string): void {
  process.emitWarning(message, { type: 'WarmstartWarning' });
}

/** Turns a failure of the HDF5 worker into the file error it means. */
function hdf5Error(error: unknown, path: string, what: string): unknown {
  if (!(error instanceof Hdf5Failure)) return error;
  const code = error.kind === 'timeout' ? 'TIMEOUT' : error.kind === 'limit' ? 'TOO_LARGE' : 'CORRUPT';
  const hint = error.kind === 'timeout' ? ' (a damaged HDF5 file can make the library loop)' : '';
  return new ModelFileError(code, path, `${what}: ${error.message}${hint}`, { cause: error });
}

/**
 * Reads a model file's parts (configs, weights, optimizer variables) without building the model: what
 * `loadModel` and `inspectModelFile` start from.
 */
export async function readModelFile(
  path: string,
  options: ReadModelFileOptions = {},
): Promise<ModelFileParts> {
  checkOptions('readModelFile', options, READ_MODEL_FILE_OPTION_KEYS);
  let head: Buffer;
  let size: number;
  try {
    const stat = await fs.stat(path);
    if (!stat.isFile()) throw new ModelFileError('NOT_FOUND', path, 'not a file');
    size = stat.size;
    // The format shows in the first bytes; an .h5 file is read by the HDF5 worker itself.
    const handle = await fs.open(path, 'r');
    try {
      head = Buffer.alloc(Math.min(size, 4096));
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ModelFileError('NOT_FOUND', path, `cannot read the file (${reason})`, { cause: error });
  }
  if (size === 0) throw new ModelFileError('CORRUPT', path, 'the file is empty');
  const format = sniff(head);
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs(size);
  if (format === 'h5' || format === 'keras') {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await fs.readFile(path));
    } catch (error) {
      throw new ModelFileError('NOT_FOUND', path, `cannot read the file (${(error as Error).message})`, {
        cause: error,
      });
    }
    if (format === 'h5') {
      let tree: GroupSnapshot;
      try {
        tree = await readHdf5Bytes(bytes, { timeoutMs, limits: options.limits, name: path });
      } catch (error) {
        throw hdf5Error(error, path, 'the HDF5 file cannot be read');
      }
      return readLegacyH5(tree, path);
    }
    return readKerasArchive(bytes, path, async (weights) => {
      try {
        return await readHdf5Bytes(weights, { timeoutMs, limits: options.limits, name: 'model.weights.h5' });
      } catch (error) {
        throw hdf5Error(error, path, "the archive's model.weights.h5 cannot be read");
      }
    });
  }
  const extension = extname(path).toLowerCase();
  const expected =
    extension === '.keras'
      ? ' (a .keras file must be a zip archive)'
      : extension === '.h5' || extension === '.hdf5'
        ? ' (an .h5 file must start with the HDF5 signature)'
        : '';
  throw new ModelFileError(
    'UNKNOWN_FORMAT',
    path,
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
 * Resolves to a {@link Sequential} when the file holds a Sequential model, and to a functional {@link Model}
 * when it holds a functional one (Keras's `Functional`, or `Model` with a graph). To get the exact type without
 * a cast, say which one the file must hold: `await loadModel('my_model_A.h5', { expect: Sequential })` is a
 * `Sequential` (and a file holding a functional model is a `ModelFileError` with code `WRONG_MODEL_CLASS`).
 *
 * Every way a file can be wrong ends in a {@link ModelFileError} (with a `code` and the path in its message)
 * or, for a layer class that is neither built in nor registered, an `UnknownLayerError` naming the class. An
 * error that is not the file's (out of memory) propagates unchanged.
 */
export async function loadModel<T extends BaseModel>(
  path: string,
  options: LoadModelOptions & { expect: ModelClass<T> },
): Promise<T>;
export async function loadModel(path: string, options?: LoadModelOptions): Promise<Sequential | Model>;
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<BaseModel> {
  checkOptions('loadModel', options, LOAD_MODEL_OPTION_KEYS);
  const warn = options.onWarning ?? defaultWarn;
  const parts = await readModelFile(path, { timeoutMs: options.timeoutMs, limits: options.limits });
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
  let size = 0;
  try {
    size = (await fs.stat(path)).size;
  } catch {
    // Read a moment ago: the size only scales a sanity check.
  }
  const context: ConfigContext = { path, fileBytes: size, customObjects: options.customObjects ?? {}, warn };
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

/** The format a save path asks for, by extension. */
function formatOf(path: string): 'h5' | 'keras' {
  const extension = extname(path).toLowerCase();
  if (extension === '.h5' || extension === '.hdf5') return 'h5';
  if (extension === '.keras') return 'keras';
  throw new ModelFileError(
    'UNKNOWN_FORMAT',
    path,
    `cannot tell the format from the extension '${extension}': use .keras (Keras 3) or .h5 (legacy HDF5)`,
  );
}

/** A file-system error of a save, in words that name the cause (and the folder when it is the folder's). */
function describeWriteError(error: unknown, path: string): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const folder = dirname(resolve(path));
  switch (code) {
    case 'ENOENT':
      return `the folder '${folder}' does not exist (it disappeared during the save)`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to write in the folder '${folder}'`;
    case 'EROFS':
      return `the folder '${folder}' is on a read-only file system`;
    case 'ENOSPC':
      return `no space left on the device of '${folder}'`;
    case 'EDQUOT':
      return `the disk quota of '${folder}' is exhausted`;
    case 'EISDIR':
      return `'${path}' is a folder`;
    default:
      return (error as Error).message;
  }
}

/** Refuses, before any work, a save whose folder is missing or not a folder: the message names it. */
async function checkFolder(path: string): Promise<void> {
  const folder = dirname(resolve(path));
  let isFolder: boolean;
  try {
    isFolder = (await fs.stat(folder)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `the folder '${folder}' does not exist: create it first (for example \`mkdir -p ${folder}\`, or \`fs.mkdirSync(folder, { recursive: true })\`)`
        : `the folder '${folder}' cannot be used (${describeWriteError(error, path)})`;
    throw new ModelFileError('WRITE_FAILED', path, reason, { cause: error });
  }
  if (!isFolder) throw new ModelFileError('WRITE_FAILED', path, `'${folder}' is not a folder`);
  const target = await fs.stat(path).catch(() => null);
  if (target?.isDirectory()) throw new ModelFileError('WRITE_FAILED', path, 'a folder exists at this path');
}

/** Writes bytes to a new file and flushes them to the disk before returning. */
async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.open(path, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Saves a model as `.keras` (Keras 3's zip archive) or `.h5` (Keras's legacy HDF5 layout), chosen by the
 * extension. Atomic: the file is made in memory, written next to its destination under a temporary name
 * (`.<name>.<pid>@<host>.<hex>.tmp`), read back and checked, then renamed over the destination, so a failed or
 * killed save never leaves a partial file nor destroys the previous one. Nothing is written anywhere else, and
 * each save removes the temporary files that killed processes left in its folder (never a live process's).
 *
 * Fails with a `ModelFileError` `WRITE_FAILED` whose message names the cause (a missing folder, no
 * permission, a full disk); an error that is not about the file (out of memory) propagates unchanged.
 */
export async function saveModel(
  model: BaseModel,
  path: string,
  options: SaveModelOptions = {},
): Promise<void> {
  checkOptions('save', options, SAVE_MODEL_OPTION_KEYS);
  const format = formatOf(path);
  const includeOptimizer = options.includeOptimizer ?? true;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs(model.countParams() * 8);
  await checkFolder(path);
  if (options.overwrite === false) {
    const exists = await fs.stat(path).then(
      () => true,
      () => false,
    );
    if (exists) throw new ModelFileError('WRITE_FAILED', path, 'the file exists and overwrite is false');
  }
  await removeStaleTemporaries(dirname(resolve(path)));
  const temporary = temporaryPathFor(path);
  try {
    const bytes =
      format === 'h5'
        ? await writeHdf5Bytes(legacyH5Tree(model, IDENTITY, includeOptimizer), { timeoutMs, name: path })
        : kerasArchiveBytes(
            model,
            await writeHdf5Bytes(kerasWeightsTree(model, includeOptimizer), {
              timeoutMs,
              name: `${path} (model.weights.h5)`,
            }),
            IDENTITY,
            includeOptimizer,
          );
    await writeDurably(temporary, bytes);
    // Read the file back as a loader would, so that nothing unreadable replaces a good file.
    const parts = await readModelFile(temporary, { timeoutMs });
    const stored = parts.layerWeights.reduce((total, layer) => total + layer.weights.length, 0);
    if (stored !== model.weights.length) {
      throw new Error(`the written file holds ${stored} weights, the model has ${model.weights.length}`);
    }
    await fs.rename(temporary, path);
  } catch (error) {
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    if (isNotAboutTheFile(error)) throw error;
    if (error instanceof ModelFileError && error.code === 'WRITE_FAILED') throw error;
    const reason =
      error instanceof Hdf5Failure || error instanceof ModelFileError
        ? error.message
        : describeWriteError(error, path);
    throw new ModelFileError(
      'WRITE_FAILED',
      path,
      `saving failed, the previous file (if any) is unchanged: ${reason}`,
      { cause: error },
    );
  }
}
