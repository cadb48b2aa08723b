import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import { Callback, type Logs, type ProgressWriter } from '../callbacks.js';
import { requireModel, writeLine } from './common.js';

/** Options of {@link TerminateOnNaN}. */
export interface TerminateOnNaNOptions {
  /** Throw at once instead of stopping gracefully (default false), as Keras's `raise_error`. */
  raiseError?: boolean;
  /** Where the message goes (default `process.stdout` in Node, the console in browsers). */
  writer?: ProgressWriter;
}

/** The keys of {@link TerminateOnNaNOptions}. */
const TERMINATE_ON_NAN_OPTION_KEYS = {
  raiseError: true,
  writer: true,
} as const satisfies OptionKeys<TerminateOnNaNOptions>;

/** Thrown by {@link TerminateOnNaN} with `raiseError: true`. */
export class NonFiniteLossError extends Error {
  override readonly name = 'NonFiniteLossError';
}

/**
 * Stops training when a batch's loss is NaN or infinite, as Keras's `TerminateOnNaN`: it prints
 * `Batch 12: Invalid loss, terminating training` and sets `model.stopTraining`, so `fit` ends and every
 * callback's `onTrainEnd` runs; with `raiseError`, it throws instead and `fit` rejects.
 */
export class TerminateOnNaN extends Callback {
  /** Whether a non-finite loss throws. */
  readonly raiseError: boolean;
  /**
   * Where the last `fit` stopped: its epoch and batch (0-based) and the loss there (the epoch's running mean,
   * NaN or ±∞), or null when the loss stayed finite. Not in Keras: what a study reports.
   */
  stoppedAt: { epoch: number; batch: number; loss: number } | null = null;
  private readonly writer: ProgressWriter | undefined;
  private epoch = 0;

  constructor(options: TerminateOnNaNOptions = {}) {
    checkOptions('TerminateOnNaN', options, TERMINATE_ON_NAN_OPTION_KEYS);
    super();
    this.raiseError = options.raiseError ?? false;
    this.writer = options.writer;
  }

  override onTrainBegin(): void {
    this.stoppedAt = null;
  }

  override onEpochBegin(epoch: number): void {
    this.epoch = epoch;
  }

  override onBatchEnd(batch: number, logs: Logs): void {
    const loss = logs.loss;
    if (loss === undefined || Number.isFinite(loss)) return;
    this.stoppedAt ??= { epoch: this.epoch, batch, loss };
    if (this.raiseError) {
      throw new NonFiniteLossError(
        `NaN or Inf loss encountered at batch ${batch}. Loss value: ${loss}. Terminating training immediately.`,
      );
    }
    const model = requireModel(this, 'TerminateOnNaN');
    if (!model.stopTraining) writeLine(this.writer, `Batch ${batch}: Invalid loss, terminating training`);
    model.stopTraining = true;
  }
}
