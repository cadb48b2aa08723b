/**
 * What can be wrong with a model file, one code per cause (`ModelFileError.code`):
 *
 * - `NOT_FOUND`: no file at the path (or it cannot be read).
 * - `UNKNOWN_FORMAT`: neither HDF5 (`.h5`) nor a zip archive (`.keras`); or a save path with another extension.
 * - `CORRUPT`: the HDF5 library or the zip reader rejects the file (truncated, damaged).
 * - `TIMEOUT`: reading or writing took longer than its deadline (a damaged file can make HDF5 loop).
 * - `TOO_LARGE`: the file declares more data than it can hold, or than the read limits allow.
 * - `NO_MODEL_CONFIG`: a valid file without a model architecture (a weights-only file, say).
 * - `BAD_JSON`: a configuration that is not valid JSON.
 * - `BAD_CONFIG`: valid JSON that does not describe a model (missing keys, invalid layer arguments).
 * - `UNSUPPORTED`: a valid Keras model that warmstart cannot run (several inputs, shared layers, nested models).
 * - `MISSING_WEIGHTS`: a layer's weights absent from the file, or fewer or more than the layer has.
 * - `WEIGHT_MISMATCH`: a weight whose shape disagrees with its layer.
 * - `BAD_WEIGHTS`: a weight stored with a type warmstart cannot read.
 * - `UNKNOWN_LOSS`, `UNKNOWN_OPTIMIZER`: compiling needs a loss or optimizer that is not built in.
 * - `BAD_TRAINING_CONFIG`: the training configuration does not parse into an optimizer, loss and metrics.
 * - `WRONG_MODEL_CLASS`: the file holds another kind of model than `loadModel`'s `expect` option asks for.
 * - `WRITE_FAILED`: saving failed (the previous file, if any, is intact): the message names the cause, such as
 *   a missing folder, missing permission or a full disk.
 * @module
 */
export type ModelFileErrorCode =
  | 'NOT_FOUND'
  | 'UNKNOWN_FORMAT'
  | 'CORRUPT'
  | 'TIMEOUT'
  | 'TOO_LARGE'
  | 'NO_MODEL_CONFIG'
  | 'BAD_JSON'
  | 'BAD_CONFIG'
  | 'UNSUPPORTED'
  | 'MISSING_WEIGHTS'
  | 'WEIGHT_MISMATCH'
  | 'BAD_WEIGHTS'
  | 'UNKNOWN_LOSS'
  | 'UNKNOWN_OPTIMIZER'
  | 'BAD_TRAINING_CONFIG'
  | 'WRONG_MODEL_CLASS'
  | 'WRITE_FAILED';

/** A model file that cannot be read or written; `code` says why and the message names the file. */
export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
  /** The cause, one of {@link ModelFileErrorCode}. */
  readonly code: ModelFileErrorCode;
  /** The file concerned. */
  readonly path: string;

  constructor(code: ModelFileErrorCode, path: string, detail: string, options?: { cause?: unknown }) {
    super(`${path}: ${detail}`, options);
    this.code = code;
    this.path = path;
  }
}

/**
 * Whether an error says nothing about a model file, so that loading or saving must let it through unchanged
 * instead of blaming the file: running out of memory (an `OutOfMemoryError`, matched by name so that io does
 * not depend on where it is defined, or the engine's own `RangeError` when WebAssembly memory cannot grow).
 */
export function isNotAboutTheFile(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'OutOfMemoryError') return true;
  return (
    error instanceof RangeError &&
    /Memory\.grow|Maximum memory size|Array buffer allocation failed|out of memory/i.test(error.message)
  );
}
