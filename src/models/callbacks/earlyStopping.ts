import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Logs } from '../callbacks.js';
import {
  CallbackArgumentError,
  checkCount,
  checkVerbose,
  type MessageOptions,
  type MonitorMode,
  requireModel,
  writeLine,
  MESSAGE_OPTION_KEYS,
} from './common.js';
import { MonitorCallback } from './monitorCallback.js';

/** Options of {@link EarlyStopping}: Keras's arguments in camelCase, with Keras's defaults. */
export interface EarlyStoppingOptions extends MessageOptions {
  /** Quantity to watch (default `'val_loss'`). */
  monitor?: string;
  /** Smallest change that counts as an improvement (default 0; its absolute value is used). */
  minDelta?: number;
  /** Epochs without improvement after which training stops (default 0). */
  patience?: number;
  /** `'auto'` (default), `'min'` or `'max'`. */
  mode?: MonitorMode;
  /** Training stops unless the quantity beats this value within `patience` epochs (default none). */
  baseline?: number | null;
  /** Restore the weights of the best epoch when training ends (default false: keep the last weights). */
  restoreBestWeights?: boolean;
  /** Epochs of warm-up before watching starts (default 0). */
  startFromEpoch?: number;
}

/** The keys of {@link EarlyStoppingOptions}. */
const EARLY_STOPPING_OPTION_KEYS = {
  ...MESSAGE_OPTION_KEYS,
  monitor: true,
  minDelta: true,
  patience: true,
  mode: true,
  baseline: true,
  restoreBestWeights: true,
  startFromEpoch: true,
} as const satisfies OptionKeys<EarlyStoppingOptions>;

const OWNER = 'EarlyStopping';

/**
 * Stops training when a monitored quantity has stopped improving, as Keras's `EarlyStopping`.
 *
 * At each epoch end (from `startFromEpoch` on) the wait counter goes up by one; an improvement on the best
 * value (by more than `minDelta`) records it and, if it also beats `baseline`, resets the wait. Training
 * stops after the epoch where the wait reaches `patience` (never after the first epoch). With
 * `restoreBestWeights`, the weights of the best epoch are put back when training ends (the first watched
 * epoch's if none improved).
 *
 * ```ts
 * await model.fit(x, y, { validationData: [xv, yv], epochs: 100,
 *   callbacks: [new EarlyStopping({ patience: 10, restoreBestWeights: true })] });
 * ```
 */
export class EarlyStopping extends MonitorCallback {
  /** Epochs without improvement to allow. */
  readonly patience: number;
  /** The value to beat before waiting is reset (null: none). */
  readonly baseline: number | null;
  /** Whether the best epoch's weights are restored at the end. */
  readonly restoreBestWeights: boolean;
  /** First epoch (0-based) that is watched. */
  readonly startFromEpoch: number;
  /** Epochs waited since the last improvement. */
  wait = 0;
  /** The epoch (0-based) after which training was stopped; 0 if it was not. */
  stoppedEpoch = 0;
  /** The epoch (0-based) of the best value. */
  bestEpoch = 0;
  /** Weights at the end of the best epoch (kept only with `restoreBestWeights`). */
  bestWeights: Tensor[] | null = null;
  private readonly verbose: 0 | 1;
  private readonly options: EarlyStoppingOptions;

  constructor(options: EarlyStoppingOptions = {}) {
    checkOptions(OWNER, options, EARLY_STOPPING_OPTION_KEYS);
    super(OWNER, options.monitor ?? 'val_loss', options.mode ?? 'auto', null, options.minDelta ?? 0);
    this.patience = checkCount(OWNER, 'patience', options.patience ?? 0);
    this.startFromEpoch = checkCount(OWNER, 'startFromEpoch', options.startFromEpoch ?? 0);
    const baseline = options.baseline ?? null;
    if (baseline !== null && (typeof baseline !== 'number' || Number.isNaN(baseline))) {
      throw new CallbackArgumentError(`${OWNER}: baseline must be a number or null, got ${String(baseline)}`);
    }
    this.baseline = baseline;
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    this.verbose = checkVerbose(OWNER, options.verbose ?? 0);
    this.options = options;
  }

  override onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = null;
    this.bestWeights = null;
    this.bestEpoch = 0;
    this.resetWarnings();
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    this.resolveDirection(OWNER);
    const current = this.monitorValue(logs, OWNER);
    if (current === undefined || epoch < this.startFromEpoch) return;
    const model = requireModel(this, OWNER);
    if (this.restoreBestWeights && this.bestWeights === null) {
      // The first watched epoch's weights are the best until something beats them.
      this.bestWeights = model.getWeights();
      this.bestEpoch = epoch;
    }
    this.wait++;
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = model.getWeights();
      // Waiting restarts only when the value beats both the previous best and the baseline.
      if (this.baseline === null || this.isImprovement(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      model.stopTraining = true;
    }
  }

  override onTrainEnd(): void {
    if (this.stoppedEpoch > 0 && this.verbose > 0) {
      writeLine(this.options.writer, `Epoch ${this.stoppedEpoch + 1}: early stopping`);
    }
    if (this.restoreBestWeights && this.bestWeights !== null) {
      if (this.verbose > 0) {
        writeLine(
          this.options.writer,
          `Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`,
        );
      }
      requireModel(this, OWNER).setWeights(this.bestWeights);
    }
  }
}
