/**
 * Keras's `BackupAndRestore` callback: a training run that is interrupted (killed, crashed, preempted) and
 * started again with the same command continues where the last backup left it, and ends as the
 * uninterrupted run would have, bit for bit.
 * @module
 */
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { NotAvailableError } from '../platform/errors.js';
import { Dropout } from '../layers/dropout.js';
import type { BaseModel, FitState } from '../models/baseModel.js';
import { Callback, type Logs } from '../models/callbacks.js';
import { CallbackArgumentError, requireModel } from '../models/callbacks/common.js';
import { getRandomState, type RandomState, setRandomState } from '../tensor/random.js';
import { ModelFileError } from './errors.js';
import { parseExactJson, stringifyExactJson } from './exactJson.js';
import { readModelFile, saveModel } from './modelFile.js';
import { restoreOptimizerState } from './optimizerState.js';
import {
  emitWarning,
  joinPath as join,
  listFolder,
  makeFolder,
  readTextIfExists,
  removeFile,
  removeFolderIfEmpty,
  removeStaleTemporaries,
  writeTextAtomically,
} from './platform.js';

export { writeTextAtomically };

const OWNER = 'BackupAndRestore';

/** The name of the backup's state file inside `backupDir`. */
export const BACKUP_STATE_FILE = 'training_state.json';

const CHECKPOINT = /^checkpoint-(\d+)\.keras$/;

/** Options of {@link BackupAndRestore}: Keras's arguments in camelCase, with Keras's defaults. */
export interface BackupAndRestoreOptions {
  /**
   * Folder of the backup (created when missing). It belongs to one training run: not to another run's
   * `BackupAndRestore`, nor to a `ModelCheckpoint`.
   */
  backupDir: string;
  /**
   * `'epoch'` (default) backs up at the end of every epoch; a positive integer N backs up after every N
   * batches, counted from the first batch of epoch 0 (so a resumed run keeps the same schedule).
   */
  saveFreq?: 'epoch' | number;
  /** Remove the backup when `fit` ends normally (default true, as Keras). An interrupted fit keeps it. */
  deleteCheckpoint?: boolean;
  /**
   * Put the epochs that ran before the interruption back into the resumed fit's `History` (default false, as
   * Keras, whose resumed `fit` returns only the epochs it ran). With true, the `History` equals the
   * uninterrupted run's.
   */
  restoreHistory?: boolean;
  /**
   * Receives warnings (weights that are not finite when backed up); default `process.emitWarning` (type
   * `WarmstartWarning`) in Node, `console.warn` in browsers.
   */
  onWarning?: (message: string) => void;
}

/** The keys of {@link BackupAndRestoreOptions}. */
const BACKUP_AND_RESTORE_OPTION_KEYS = {
  backupDir: true,
  saveFreq: true,
  deleteCheckpoint: true,
  restoreHistory: true,
  onWarning: true,
} as const satisfies OptionKeys<BackupAndRestoreOptions>;

/** What the backup's state file holds. */
interface BackupState {
  format: 'warmstart-backup';
  version: 1;
  /** The checkpoint file (in `backupDir`) that holds the weights and the optimizer's state. */
  checkpoint: string;
  /** Where the fit stood (seed, epoch, batch, the epoch's random state and running sums, history). */
  fit: FitState;
  /** warmstart's global generator. */
  globalRandom: RandomState;
  /** The generators of layers with their own seed, by layer name. */
  layerRandom: Record<string, RandomState>;
}

/** Thrown when a backup cannot be read or does not fit the model: the message names the file and the fix. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

function defaultWarn(message: string): void {
  emitWarning(message);
}

/**
 * Backs up the training state and restores it when `fit` starts again, as Keras's
 * `keras.callbacks.BackupAndRestore`: if a previous `fit` with this callback was interrupted, the next
 * `fit` (same model, same compile, same data and options) continues from the last backup instead of
 * starting over.
 *
 * ```ts
 * await model.fit(x, y, { epochs: 20, callbacks: [new BackupAndRestore({ backupDir: 'runs/backup' })] });
 * ```
 *
 * The backup is a `.keras` checkpoint (weights and optimizer state) and `training_state.json`, each written
 * atomically; the state file names its checkpoint and is replaced only once the new checkpoint is complete,
 * so a process killed at any moment leaves a backup that restores. Where warmstart goes further than Keras:
 *
 * - **Bit for bit.** Keras restores the weights and the epoch; warmstart also restores the fit's seed (so
 *   each epoch's shuffle order and dropout masks; see `FitOptions.seed`), the random state of the global
 *   generator and of seeded layers, and, for a backup taken in the middle of an epoch, the batch to continue
 *   from and the epoch's running loss and metric sums. Keras restarts such an epoch from its first batch;
 *   warmstart continues at the next batch, so the resumed run's weights and logged values are exactly the
 *   uninterrupted run's.
 * - **History**, with `restoreHistory: true` (see {@link BackupAndRestoreOptions.restoreHistory}).
 * - **Checks.** A backup written for other data or another batch size (a different number of batches per
 *   epoch), metrics or architecture is refused with a {@link BackupError}, not silently misapplied.
 * - **Deleting** removes only the files the callback wrote (and the folder if it is then empty), where Keras
 *   removes the whole folder.
 *
 * Not offered: Keras's `double_checkpoint` (every write is atomic, so the last backup is always whole) and
 * `save_freq=False` (preemption checkpointing).
 */
export class BackupAndRestore extends Callback {
  /** The backup's folder. */
  readonly backupDir: string;
  /** `'epoch'` or every N batches. */
  readonly saveFreq: 'epoch' | number;
  /** Whether the backup is removed when `fit` ends normally. */
  readonly deleteCheckpoint: boolean;
  /** Whether the restored run's `History` gets the earlier epochs back. */
  readonly restoreHistory: boolean;
  /** The state the last `fit` resumed from, or null when it started afresh. */
  restoredFrom: { epoch: number; step: number } | null = null;
  private readonly warn: (message: string) => void;
  private generation = 0;
  private warnedNonFinite = false;
  private epoch = 0;

  constructor(options: BackupAndRestoreOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new CallbackArgumentError(
        `${OWNER}: pass options: new BackupAndRestore({ backupDir: 'backup' })`,
      );
    }
    checkOptions(OWNER, options, BACKUP_AND_RESTORE_OPTION_KEYS);
    if (typeof options.backupDir !== 'string' || options.backupDir.length === 0) {
      throw new CallbackArgumentError(
        `${OWNER}: backupDir must be a non-empty folder path, got ${JSON.stringify(options.backupDir)}`,
      );
    }
    const saveFreq = options.saveFreq ?? 'epoch';
    if (saveFreq !== 'epoch' && !(Number.isInteger(saveFreq) && saveFreq > 0)) {
      throw new CallbackArgumentError(
        `${OWNER}: saveFreq must be 'epoch' or a positive integer (batches), got ${JSON.stringify(saveFreq)}`,
      );
    }
    this.backupDir = options.backupDir;
    this.saveFreq = saveFreq;
    this.deleteCheckpoint = options.deleteCheckpoint ?? true;
    this.restoreHistory = options.restoreHistory ?? false;
    this.warn = options.onWarning ?? defaultWarn;
  }

  private get statePath(): string {
    return join(this.backupDir, BACKUP_STATE_FILE);
  }

  /** Restores the last backup, if there is one. */
  override async onTrainBegin(): Promise<void> {
    const model = requireModel(this, OWNER);
    this.restoredFrom = null;
    this.warnedNonFinite = false;
    const state = await this.readState();
    if (state === null) {
      this.generation = 0;
      return;
    }
    this.generation = Number(CHECKPOINT.exec(state.checkpoint)?.[1] ?? 0);
    await this.restoreWeights(model, join(this.backupDir, state.checkpoint));
    const fit = this.restoreHistory ? state.fit : { ...state.fit, history: undefined };
    try {
      model.restoreFitState(fit);
      for (const layer of model.layers) {
        if (layer instanceof Dropout) layer.setRandomState(state.layerRandom[layer.name] ?? null);
      }
      setRandomState(state.globalRandom);
    } catch (error) {
      throw new BackupError(
        `${this.statePath}: the backup does not fit this training run: ${(error as Error).message} (remove the folder '${this.backupDir}' to start over)`,
        { cause: error },
      );
    }
    this.restoredFrom = { epoch: state.fit.epoch, step: state.fit.step };
  }

  override onEpochBegin(epoch: number): void {
    this.epoch = epoch;
  }

  override async onEpochEnd(): Promise<void> {
    if (this.saveFreq === 'epoch') await this.backUp();
  }

  override onBatchEnd(batch: number): Promise<void> | void {
    if (this.saveFreq === 'epoch' || this.params === null) return;
    if ((this.epoch * this.params.steps + batch + 1) % this.saveFreq !== 0) return;
    return this.backUp();
  }

  /** Removes the backup when training ended normally (with `deleteCheckpoint`). */
  override async onTrainEnd(_logs?: Logs): Promise<void> {
    if (!this.deleteCheckpoint) return;
    const names = await listFolder(this.backupDir);
    if (names === null) return;
    await removeFile(this.statePath);
    for (const name of names) if (CHECKPOINT.test(name)) await removeFile(join(this.backupDir, name));
    await removeStaleTemporaries(this.backupDir);
    await removeFolderIfEmpty(this.backupDir); // Only when nothing else is in it.
  }

  /** Writes a new checkpoint, then the state file naming it, then removes the older checkpoints. */
  private async backUp(): Promise<void> {
    const model = requireModel(this, OWNER);
    const fit = model.getFitState();
    const layerRandom: Record<string, RandomState> = {};
    for (const layer of model.layers) {
      const random = layer instanceof Dropout ? layer.getRandomState() : null;
      if (random !== null) layerRandom[layer.name] = random;
    }
    await makeFolder(this.backupDir);
    const checkpoint = `checkpoint-${++this.generation}.keras`;
    await saveModel(model, join(this.backupDir, checkpoint), {
      onWarning: (message) => {
        if (!this.warnedNonFinite) this.warn(message);
        this.warnedNonFinite = true;
      },
    });
    const state: BackupState = {
      format: 'warmstart-backup',
      version: 1,
      checkpoint,
      fit,
      globalRandom: getRandomState(),
      layerRandom,
    };
    await writeTextAtomically(this.statePath, stringifyExactJson(state) + '\n');
    // Checkpoints the state file no longer names (the previous one, or one a killed run wrote after it).
    for (const name of (await listFolder(this.backupDir)) ?? []) {
      if (CHECKPOINT.test(name) && name !== checkpoint) await removeFile(join(this.backupDir, name));
    }
  }

  private async readState(): Promise<BackupState | null> {
    let text: string | null;
    try {
      text = await readTextIfExists(this.statePath);
    } catch (error) {
      if (error instanceof NotAvailableError) throw error;
      throw new BackupError(`${this.statePath}: cannot read the backup (${(error as Error).message})`, {
        cause: error,
      });
    }
    if (text === null) return null;
    let state: BackupState;
    try {
      state = parseExactJson(text) as BackupState;
    } catch (error) {
      throw new BackupError(
        `${this.statePath}: not a backup state (${(error as Error).message}); remove the folder '${this.backupDir}' to start over`,
        { cause: error },
      );
    }
    if (
      typeof state !== 'object' ||
      state === null ||
      state.format !== 'warmstart-backup' ||
      state.version !== 1 ||
      typeof state.checkpoint !== 'string' ||
      !CHECKPOINT.test(state.checkpoint) ||
      typeof state.fit !== 'object' ||
      typeof state.layerRandom !== 'object' ||
      state.layerRandom === null
    ) {
      throw new BackupError(
        `${this.statePath}: not a warmstart backup state (version 1); remove the folder '${this.backupDir}' to start over`,
      );
    }
    return state;
  }

  /** Loads the checkpoint's weights and optimizer state into the model being trained. */
  private async restoreWeights(model: BaseModel, path: string): Promise<void> {
    try {
      const parts = await readModelFile(path);
      parts.assignWeights(model);
      if (model.optimizer !== null && parts.optimizerVariables !== null) {
        let problem: string | null = null;
        const restored = restoreOptimizerState(
          model,
          parts.optimizerVariables,
          (message) => (problem = message),
        );
        if (!restored) throw new Error(problem ?? 'the optimizer state was not restored');
      }
    } catch (error) {
      const reason = error instanceof ModelFileError ? error.message : `${path}: ${(error as Error).message}`;
      throw new BackupError(
        `the backup does not fit this model: ${reason} (compile the model as when the backup was written, or remove the folder '${this.backupDir}' to start over)`,
        { cause: error },
      );
    }
  }
}
