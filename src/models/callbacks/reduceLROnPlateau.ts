import { checkOptions, type OptionKeys } from '../../kernels/options.js';
import { Callback, type Logs } from '../callbacks.js';
import {
  CallbackArgumentError,
  checkCount,
  checkFinite,
  checkMode,
  checkMonitor,
  checkVerbose,
  type MessageOptions,
  type MonitorMode,
  requireOptimizer,
  writeLine,
  MESSAGE_OPTION_KEYS,
} from './common.js';
import { pythonFloatRepr } from './pythonFormat.js';

/** Options of {@link ReduceLROnPlateau}: Keras's arguments in camelCase, with Keras's defaults. */
export interface ReduceLROnPlateauOptions extends MessageOptions {
  /** Quantity to watch (default `'val_loss'`). */
  monitor?: string;
  /** The learning rate is multiplied by this, in (0, 1) (default 0.1). */
  factor?: number;
  /** Epochs without improvement before reducing (default 10). */
  patience?: number;
  /** `'auto'` (default: maximise when the name contains `acc`, else minimise), `'min'` or `'max'`. */
  mode?: MonitorMode;
  /** Smallest change that counts as an improvement (default 1e-4). */
  minDelta?: number;
  /** Epochs to wait after a reduction before watching again (default 0). */
  cooldown?: number;
  /** The learning rate never goes below this (default 0). */
  minLr?: number;
}

/** The keys of {@link ReduceLROnPlateauOptions}. */
const REDUCE_LR_ON_PLATEAU_OPTION_KEYS = {
  ...MESSAGE_OPTION_KEYS,
  monitor: true,
  factor: true,
  patience: true,
  mode: true,
  minDelta: true,
  cooldown: true,
  minLr: true,
} as const satisfies OptionKeys<ReduceLROnPlateauOptions>;

const OWNER = 'ReduceLROnPlateau';

/**
 * Multiplies the learning rate by `factor` when a monitored quantity has not improved for `patience`
 * epochs, as Keras's `ReduceLROnPlateau`; then waits `cooldown` epochs before watching again. It adds the
 * epoch's learning rate to the logs as `learning_rate` (the rate the epoch trained with), so `History`
 * records it.
 *
 * ```ts
 * callbacks: [new ReduceLROnPlateau({ factor: 0.5, patience: 5 })]
 * ```
 */
export class ReduceLROnPlateau extends Callback {
  /** The quantity watched. */
  readonly monitor: string;
  /** The multiplier applied at each reduction. */
  readonly factor: number;
  /** Epochs without improvement to allow. */
  readonly patience: number;
  /** Direction asked for. */
  readonly mode: MonitorMode;
  /** Smallest change that counts as an improvement. */
  readonly minDelta: number;
  /** Epochs skipped after a reduction. */
  readonly cooldown: number;
  /** Lower bound of the learning rate. */
  readonly minLr: number;
  /** Best value seen. */
  best = Infinity;
  /** Epochs waited since the last improvement. */
  wait = 0;
  /** Epochs of cooldown left. */
  cooldownCounter = 0;
  private readonly verbose: 0 | 1;
  private readonly writer: MessageOptions['writer'];
  private warnedMissing = false;

  constructor(options: ReduceLROnPlateauOptions = {}) {
    checkOptions(OWNER, options, REDUCE_LR_ON_PLATEAU_OPTION_KEYS);
    super();
    this.monitor = checkMonitor(OWNER, options.monitor ?? 'val_loss');
    const factor = checkFinite(OWNER, 'factor', options.factor ?? 0.1);
    if (factor >= 1)
      throw new CallbackArgumentError(`${OWNER} does not support a factor ≥ 1, got factor=${factor}`);
    if (factor <= 0)
      throw new CallbackArgumentError(`${OWNER}: factor must be in (0, 1), got factor=${factor}`);
    this.factor = factor;
    this.patience = checkCount(OWNER, 'patience', options.patience ?? 10);
    this.mode = checkMode(OWNER, options.mode ?? 'auto');
    this.minDelta = checkFinite(OWNER, 'minDelta', options.minDelta ?? 1e-4);
    this.cooldown = checkCount(OWNER, 'cooldown', options.cooldown ?? 0);
    this.minLr = checkFinite(OWNER, 'minLr', options.minLr ?? 0);
    if (this.minLr < 0) throw new CallbackArgumentError(`${OWNER}: minLr must be ≥ 0, got ${this.minLr}`);
    this.verbose = checkVerbose(OWNER, options.verbose ?? 0);
    this.writer = options.writer;
    this.reset();
  }

  /** Whether larger values are better: `'max'`, or `'auto'` with `acc` in the name (Keras's rule here). */
  get greaterIsBetter(): boolean {
    return this.mode === 'max' || (this.mode === 'auto' && this.monitor.includes('acc'));
  }

  private reset(): void {
    this.best = this.greaterIsBetter ? -Infinity : Infinity;
    this.cooldownCounter = 0;
    this.wait = 0;
    this.warnedMissing = false;
  }

  private improves(current: number): boolean {
    return this.greaterIsBetter ? current > this.best + this.minDelta : current < this.best - this.minDelta;
  }

  /** Whether the callback is in its cooldown after a reduction. */
  inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  override onTrainBegin(): void {
    this.reset();
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    const optimizer = requireOptimizer(this, OWNER);
    logs.learning_rate = optimizer.currentLearningRate();
    const current = logs[this.monitor];
    if (current === undefined) {
      if (!this.warnedMissing) {
        this.warnedMissing = true;
        console.warn(
          `${OWNER} is conditioned on '${this.monitor}', which is not logged. Logged: ${Object.keys(logs).join(', ')}`,
        );
      }
      return;
    }
    if (this.inCooldown()) {
      this.cooldownCounter--;
      this.wait = 0;
    }
    if (this.improves(current)) {
      this.best = current;
      this.wait = 0;
      return;
    }
    if (this.inCooldown()) return;
    this.wait++;
    if (this.wait < this.patience) return;
    const oldLr = optimizer.currentLearningRate();
    // Keras compares with the bound rounded to float32, as its learning rate is a float32 variable.
    if (!(oldLr > Math.fround(this.minLr))) return;
    const newLr = Math.max(oldLr * this.factor, this.minLr);
    optimizer.learningRate = newLr;
    if (this.verbose > 0) {
      writeLine(
        this.writer,
        `\nEpoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${pythonFloatRepr(newLr)}.`,
      );
    }
    this.cooldownCounter = this.cooldown;
    this.wait = 0;
  }
}
