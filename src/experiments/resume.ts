/**
 * How the studies resume: a journal in `<out>/resume/` records each finished phase (its results and the
 * state of the random generator after it), and the phase that was running keeps a `BackupAndRestore` backup
 * there. Run again with the same `--out`, a study skips what the journal holds and continues the interrupted
 * phase from its backup, so its results are those of an uninterrupted run.
 * @module
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { BackupAndRestore, writeTextAtomically } from '../io/backupAndRestore.js';
import type { BaseModel, FitOptions } from '../models/baseModel.js';
import { Callback, type ProgressWriter } from '../models/callbacks.js';
import { TerminateOnNaN } from '../models/callbacks/terminateOnNaN.js';
import { parseExactJson, stringifyExactJson } from '../io/exactJson.js';
import type { Tensor } from '../tensor/tensor.js';

/** The folder, inside a study's output folder, that holds its journal and backups. */
export const RESUME_FOLDER = 'resume';

const JOURNAL_FILE = 'journal.json';

/** Thrown when an output folder holds a study that cannot be continued with these settings. */
export class StudyResumeError extends Error {
  override readonly name = 'StudyResumeError';
}

/** What the journal file holds. */
interface JournalFile {
  format: 'warmstart-study-journal';
  version: 1;
  /** `transfer` or `optimizers`. */
  study: string;
  /** Everything that decides the study's numbers: a rerun with other settings cannot reuse them. */
  settings: Record<string, unknown>;
  /** Finished phases, by key (`seed-42/modelA`, `seed-42/adam`). */
  entries: Record<string, unknown>;
}

/** SHA-256 of tensors' float32 bytes and shapes, in order: what identifies the data a study trained on. */
export function tensorsDigest(tensors: readonly Tensor[]): string {
  const hash = createHash('sha256');
  for (const tensor of tensors) {
    hash.update(JSON.stringify(tensor.shape));
    hash.update(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  }
  return hash.digest('hex');
}

/** The settings that differ between two fingerprints, as `name: here vs there`. */
function differences(wanted: Record<string, unknown>, found: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(wanted), ...Object.keys(found)])];
  return keys
    .filter((key) => JSON.stringify(wanted[key]) !== JSON.stringify(found[key]))
    .map((key) => `${key} ${JSON.stringify(wanted[key])} now, ${JSON.stringify(found[key])} there`);
}

/**
 * A study's journal: finished phases by key, written atomically after each, and the folders of the running
 * phases' backups.
 */
export class StudyJournal {
  private constructor(
    /** The `resume` folder. */
    readonly folder: string,
    private readonly file: JournalFile,
  ) {}

  /**
   * Opens the journal of `outDir` for a study with these settings (creating it when there is none). With
   * `fresh`, an existing journal and its backups are removed first.
   * @throws StudyResumeError when the folder holds a journal of another study, or of other settings
   */
  static async open(
    outDir: string,
    study: string,
    settings: Record<string, unknown>,
    options: { fresh?: boolean } = {},
  ): Promise<StudyJournal> {
    const folder = join(outDir, RESUME_FOLDER);
    if (options.fresh === true) await fs.rm(folder, { recursive: true, force: true });
    await fs.mkdir(folder, { recursive: true });
    const path = join(folder, JOURNAL_FILE);
    let text: string | null = null;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const normalized = JSON.parse(stringifyExactJson(settings)) as Record<string, unknown>;
    const fresh: JournalFile = {
      format: 'warmstart-study-journal',
      version: 1,
      study,
      settings: normalized,
      entries: {},
    };
    if (text === null) {
      const journal = new StudyJournal(folder, fresh);
      await journal.write();
      return journal;
    }
    let file: JournalFile;
    try {
      file = parseExactJson(text) as JournalFile;
    } catch (error) {
      throw new StudyResumeError(
        `${path} is not a study journal (${(error as Error).message}): rerun with --fresh to start over`,
        { cause: error },
      );
    }
    if (
      file?.format !== 'warmstart-study-journal' ||
      file.version !== 1 ||
      typeof file.entries !== 'object'
    ) {
      throw new StudyResumeError(
        `${path} is not a study journal (version 1): rerun with --fresh to start over`,
      );
    }
    if (file.study !== study) {
      throw new StudyResumeError(
        `${outDir} holds a '${file.study}' study, not '${study}': choose another --out, or rerun with --fresh to start over there`,
      );
    }
    const changed = differences(normalized, file.settings);
    if (changed.length > 0) {
      throw new StudyResumeError(
        `${outDir} holds a ${study} study begun with other settings (${changed.join('; ')}): rerun with the same settings to continue it, with --fresh to start over, or choose another --out`,
      );
    }
    return new StudyJournal(folder, file);
  }

  /** The record of a finished phase, or undefined. */
  get<T>(key: string): T | undefined {
    return this.file.entries[key] as T | undefined;
  }

  /** Records a finished phase and removes its backup. */
  async record(key: string, value: unknown): Promise<void> {
    this.file.entries[key] = parseExactJson(stringifyExactJson(value));
    await this.write();
    await this.discardBackup(key);
  }

  /** The backup folder of a phase (`BackupAndRestore`'s `backupDir`). */
  backupDir(key: string): string {
    return join(this.folder, ...key.split('/'));
  }

  /** A file of the study's own in the resume folder (`seed-42/b_on_a_frozen.keras`). */
  path(name: string): string {
    return join(this.folder, ...name.split('/'));
  }

  /** Removes a phase's backup (a phase that diverged starts over on the next run). */
  async discardBackup(key: string): Promise<void> {
    await fs.rm(this.backupDir(key), { recursive: true, force: true });
    // Folders the removal left empty (`seed-42/`) go too; rmdir refuses any that still hold something.
    const parts = key.split('/');
    for (let depth = parts.length - 1; depth > 0; depth--) {
      const removed = await fs.rmdir(join(this.folder, ...parts.slice(0, depth))).then(
        () => true,
        () => false,
      );
      if (!removed) break;
    }
  }

  private async write(): Promise<void> {
    await writeTextAtomically(join(this.folder, JOURNAL_FILE), stringifyExactJson(this.file) + '\n');
  }
}

const SILENT: ProgressWriter = { write: () => true };

/**
 * The studies back the running phase up at the end of the first epoch after at least this many batches
 * since the last backup: every epoch of model A (1,375 batches), none of task B's short phases (7 batches an
 * epoch; redone from their start after an interruption, in about a second).
 */
export const DEFAULT_BACKUP_EVERY = 1000;

/**
 * Trains one phase of a study: its `fit` with a backup in the journal's folder (restored when an earlier run
 * was interrupted; the resumed `History` holds the whole phase) and a guard that stops at the first
 * non-finite loss (`stoppedAt` says where; the phase's backup is then dropped, so a rerun starts it over).
 */
export async function fitWithBackup(
  model: BaseModel,
  data: { x: Tensor; y: Tensor },
  fitOptions: FitOptions,
  journal: StudyJournal,
  key: string,
  say: (line: string) => void,
  backupEvery: number = DEFAULT_BACKUP_EVERY,
): Promise<{ history: Record<string, number[]>; stoppedAt: TerminateOnNaN['stoppedAt'] }> {
  const guard = new TerminateOnNaN({ writer: SILENT });
  // Whole epochs, at least `backupEvery` batches apart: a phase of short epochs is cheaper to redo than to
  // back up after each one (a backup of the notebook's network costs about as much as one of task B's epochs).
  const steps = Math.ceil(data.x.rows / (fitOptions.batchSize ?? 32));
  const epochsApart = Math.max(1, Math.ceil(backupEvery / steps));
  const backup = new BackupAndRestore({
    saveFreq: epochsApart === 1 ? 'epoch' : epochsApart * steps,
    backupDir: journal.backupDir(key),
    deleteCheckpoint: false,
    restoreHistory: true,
    // The backup of a diverged epoch has NaN weights: the study says so in its own words, then drops it.
    onWarning: (message) => {
      if (guard.stoppedAt === null) process.emitWarning(message, { type: 'WarmstartWarning' });
    },
  });
  const announce = new (class extends Callback {
    override onTrainBegin(): void {
      const from = backup.restoredFrom;
      if (from === null) return;
      const done =
        from.step > 0 ? `epoch ${from.epoch + 1}, batch ${from.step + 1}` : `epoch ${from.epoch + 1}`;
      say(`  continuing from its backup at ${done}`);
    }
  })();
  const history = await model.fit(data.x, data.y, {
    ...fitOptions,
    callbacks: [backup, announce, guard, ...(fitOptions.callbacks ?? [])],
  });
  if (guard.stoppedAt !== null) await journal.discardBackup(key);
  return { history: history.history, stoppedAt: guard.stoppedAt };
}
