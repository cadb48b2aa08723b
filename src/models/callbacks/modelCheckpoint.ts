import * as host from '../../platform/host.js';
import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import type { Logs } from '../callbacks.js';
import {
  CallbackArgumentError,
  checkVerbose,
  type MessageOptions,
  type MonitorMode,
  requireModel,
  writeLine,
  MESSAGE_OPTION_KEYS,
} from './common.js';
import { MonitorCallback } from './monitorCallback.js';
import { formatPython, formatPythonValue, type PythonValue } from './pythonFormat.js';

/** Options of {@link ModelCheckpoint}: Keras's arguments in camelCase, with Keras's defaults. */
export interface ModelCheckpointOptions extends MessageOptions {
  /**
   * Where to save, a Python format string filled with `epoch` (1-based) and the epoch's logs:
   * `'ckpt/model-{epoch:02d}-{val_loss:.4f}.keras'`. Must end in `.keras` or `.h5` (`.weights.h5` with
   * `saveWeightsOnly`).
   */
  filepath: string;
  /** Quantity that decides what is best (default `'val_loss'`). */
  monitor?: string;
  /** Save only when the monitored quantity improves (default false: every epoch). */
  saveBestOnly?: boolean;
  /** Save only the weights, through `model.saveWeights` (default false: the whole model via `model.save`). */
  saveWeightsOnly?: boolean;
  /** `'auto'` (default), `'min'` or `'max'`. */
  mode?: MonitorMode;
  /** With `saveBestOnly`, a value to beat before the first save (Keras's `initial_value_threshold`). */
  initialValueThreshold?: number | null;
  /**
   * `'epoch'` (default) saves at the end of every epoch; a positive integer N saves after every N batches
   * (counted across epochs from the start of `fit`, as Keras's `save_freq`), with the running means of the
   * epoch so far as logs, and `{batch}` (1-based) available in `filepath`. Keras's caution applies: a
   * monitored value then may reflect as little as one batch.
   */
  saveFreq?: 'epoch' | number;
}

/** The keys of {@link ModelCheckpointOptions}. */
const MODEL_CHECKPOINT_OPTION_KEYS = {
  ...MESSAGE_OPTION_KEYS,
  filepath: true,
  monitor: true,
  saveBestOnly: true,
  saveWeightsOnly: true,
  mode: true,
  initialValueThreshold: true,
  saveFreq: true,
} as const satisfies OptionKeys<ModelCheckpointOptions>;

const OWNER = 'ModelCheckpoint';

/** What a model may offer for weights-only checkpoints. */
interface WeightsSaver {
  saveWeights?: (path: string) => Promise<void>;
}

/**
 * Saves the model at the end of every epoch, or only when it is the best so far, as Keras's
 * `ModelCheckpoint`. Saving goes through `model.save(path)`, which writes atomically: an interrupted save
 * leaves the previous checkpoint intact. Missing folders are created.
 *
 * ```ts
 * new ModelCheckpoint({ filepath: 'runs/ckpt-{epoch:02d}-{val_loss:.4f}.keras', saveBestOnly: true })
 * ```
 *
 * With `saveFreq: N` it saves every N batches instead, as Keras's `save_freq=N` (the fit waits for each save).
 */
export class ModelCheckpoint extends MonitorCallback {
  /** The path template. */
  readonly filepath: string;
  /** Whether only improvements are saved. */
  readonly saveBestOnly: boolean;
  /** Whether only weights are saved. */
  readonly saveWeightsOnly: boolean;
  /** `'epoch'` or every N batches. */
  readonly saveFreq: 'epoch' | number;
  /** Paths written so far, in order (a path saved twice appears twice). */
  readonly saved: string[] = [];
  private batchesSinceSave = 0;
  private lastBatchSeen = 0;
  private currentEpoch = 0;
  private readonly verbose: 0 | 1;
  private readonly writer: MessageOptions['writer'];

  constructor(options: ModelCheckpointOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new CallbackArgumentError(
        `${OWNER}: pass options: new ModelCheckpoint({ filepath: 'model.keras' })`,
      );
    }
    checkOptions(OWNER, options, MODEL_CHECKPOINT_OPTION_KEYS);
    super(
      OWNER,
      options.monitor ?? 'val_loss',
      options.mode ?? 'auto',
      options.initialValueThreshold ?? null,
      0,
    );
    const filepath = options.filepath;
    if (typeof filepath !== 'string' || filepath.length === 0) {
      throw new CallbackArgumentError(
        `${OWNER}: filepath must be a non-empty string, got ${String(filepath)}`,
      );
    }
    this.saveWeightsOnly = options.saveWeightsOnly ?? false;
    if (this.saveWeightsOnly && !filepath.endsWith('.weights.h5')) {
      throw new CallbackArgumentError(
        `${OWNER}: with saveWeightsOnly the filepath must end in '.weights.h5' (Keras weights format), got '${filepath}'`,
      );
    }
    if (!this.saveWeightsOnly && !filepath.endsWith('.keras') && !filepath.endsWith('.h5')) {
      throw new CallbackArgumentError(
        `${OWNER}: the filepath must end in '.keras' or '.h5', got '${filepath}'`,
      );
    }
    this.filepath = filepath;
    this.saveBestOnly = options.saveBestOnly ?? false;
    const saveFreq = options.saveFreq ?? 'epoch';
    if (saveFreq !== 'epoch' && !(Number.isInteger(saveFreq) && saveFreq > 0)) {
      throw new CallbackArgumentError(
        `${OWNER}: saveFreq must be 'epoch' or a positive integer (batches), got ${JSON.stringify(saveFreq)}`,
      );
    }
    this.saveFreq = saveFreq;
    this.verbose = checkVerbose(OWNER, options.verbose ?? 0);
    this.writer = options.writer;
  }

  override onTrainBegin(): void {
    this.resetWarnings();
    this.batchesSinceSave = 0;
    this.lastBatchSeen = 0;
    if (
      this.saveWeightsOnly &&
      typeof (requireModel(this, OWNER) as WeightsSaver).saveWeights !== 'function'
    ) {
      throw new CallbackArgumentError(
        `${OWNER}: saveWeightsOnly needs model.saveWeights(path), which this model lacks`,
      );
    }
  }

  /**
   * The path for an epoch (0-based), its logs, and for a save after a batch that batch (0-based): `{epoch}`
   * and `{batch}` are 1-based, as in Keras.
   */
  filePathFor(epoch: number, logs: Logs, batch?: number): string {
    const values: Record<string, PythonValue> = {};
    for (const [key, value] of Object.entries(logs)) values[key] = { float: value };
    values.epoch = { int: epoch + 1 };
    if (batch !== undefined && !('batch' in logs)) values.batch = { int: batch + 1 };
    try {
      return formatPython(this.filepath, values);
    } catch (error) {
      throw new CallbackArgumentError(
        `${OWNER}: cannot fill the filepath: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  override onEpochBegin(epoch: number): void {
    this.currentEpoch = epoch;
  }

  override onBatchEnd(batch: number, logs: Logs): Promise<void> | void {
    if (!this.shouldSaveOnBatch(batch)) return;
    // The logs object is reused by the next batch: the save keeps its own copy.
    return this.saveModel(this.currentEpoch, { ...logs }, batch);
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') await this.saveModel(epoch, logs);
  }

  /** Keras's `_should_save_on_batch`: counts batches across epochs (a batch index that drops starts an epoch). */
  private shouldSaveOnBatch(batch: number): boolean {
    if (this.saveFreq === 'epoch') return false;
    this.batchesSinceSave += batch <= this.lastBatchSeen ? batch + 1 : batch - this.lastBatchSeen;
    this.lastBatchSeen = batch;
    if (this.batchesSinceSave < this.saveFreq) return false;
    this.batchesSinceSave = 0;
    return true;
  }

  private async saveModel(epoch: number, logs: Logs, batch?: number): Promise<void> {
    this.resolveDirection(OWNER);
    if (this.best === null) this.best = this.greaterIsBetter ? -Infinity : Infinity;
    const path = this.filePathFor(epoch, logs, batch);
    if (!this.shouldSave(epoch, logs, path)) return;
    const directory = host.parentFolder(path);
    if (directory !== '' && directory !== '.') await host.makeDirectory(directory);
    const model = requireModel(this, OWNER);
    if (this.saveWeightsOnly) await (model as WeightsSaver).saveWeights!(path);
    else await model.save(path);
    this.saved.push(path);
    if (this.verbose > 0) writeLine(this.writer, `\nEpoch ${epoch + 1}: finished saving model to ${path}`);
  }

  private shouldSave(epoch: number, logs: Logs, path: string): boolean {
    if (!this.saveBestOnly) {
      if (this.verbose > 0) writeLine(this.writer, `\nEpoch ${epoch + 1}: saving model to ${path}`);
      return true;
    }
    const current = logs[this.monitor];
    if (current === undefined) {
      // Keras saves anyway, with a warning.
      this.monitorValue(logs, OWNER);
      return true;
    }
    const best = this.best === null ? 'None' : formatPythonValue({ float: this.best }, '.5f');
    if (this.isImprovement(current, this.best)) {
      if (this.verbose > 0) {
        const now = formatPythonValue({ float: current }, '.5f');
        writeLine(
          this.writer,
          `\nEpoch ${epoch + 1}: ${this.monitor} improved from ${best} to ${now}, saving model to ${path}`,
        );
      }
      this.best = current;
      return true;
    }
    if (this.verbose > 0)
      writeLine(this.writer, `\nEpoch ${epoch + 1}: ${this.monitor} did not improve from ${best}`);
    return false;
  }
}
