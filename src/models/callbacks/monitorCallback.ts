import { Callback, type Logs } from '../callbacks.js';
import { CallbackArgumentError, checkFinite, checkMode, checkMonitor, type MonitorMode } from './common.js';

/**
 * Base of the callbacks that watch one logged quantity and judge improvements, as Keras's
 * `MonitorCallback` (used by {@link EarlyStopping} and {@link ModelCheckpoint}).
 *
 * In `'auto'` mode the direction comes from the quantity's name without its `val_` prefix: `loss` is
 * minimised, a metric given to `compile` (every warmstart metric is an accuracy) is maximised, and anything
 * else is an error asking for `mode: 'min'` or `'max'`. The direction is settled at the first epoch end,
 * when the model's metrics are known.
 */
export abstract class MonitorCallback extends Callback {
  /** The logged quantity watched (`val_loss`, `val_accuracy`, …). */
  readonly monitor: string;
  /** The direction asked for. */
  readonly mode: MonitorMode;
  /** The smallest change that counts as an improvement (its absolute value). */
  readonly minDelta: number;
  /** Best value seen so far (or the starting threshold); null before any: the first value then counts as an improvement. */
  best: number | null;
  /** Resolved direction: true when larger is better. Null until the first epoch end. */
  protected greaterIsBetter: boolean | null = null;
  private warnedMissing = false;

  protected constructor(owner: string, monitor: unknown, mode: unknown, best: unknown, minDelta: unknown) {
    super();
    this.monitor = checkMonitor(owner, monitor);
    this.mode = checkMode(owner, mode);
    this.minDelta = Math.abs(checkFinite(owner, 'minDelta', minDelta));
    this.best = best === null || best === undefined ? null : checkFinite(owner, 'baseline', best);
  }

  /** Settles the direction (Keras's `_set_monitor_op`); called at the first epoch end. */
  protected resolveDirection(owner: string): boolean {
    if (this.greaterIsBetter !== null) return this.greaterIsBetter;
    if (this.mode !== 'auto') {
      this.greaterIsBetter = this.mode === 'max';
    } else {
      const name = this.monitor.replace(/^val_/, '');
      const metric = this.model?.metrics.find((candidate) => candidate.name === name);
      if (name === 'loss') this.greaterIsBetter = false;
      else if (metric !== undefined) this.greaterIsBetter = metric.direction === 'up';
      else {
        throw new CallbackArgumentError(
          `${owner} received monitor='${this.monitor}', but cannot tell whether it should be maximized or ` +
            `minimized: pass mode: 'max' to monitor the highest value, or mode: 'min' for the lowest`,
        );
      }
    }
    return this.greaterIsBetter;
  }

  /** Whether `value` beats `reference` by more than `minDelta` in the resolved direction (null: any value). */
  protected isImprovement(value: number, reference: number | null): boolean {
    if (reference === null) return true;
    return this.greaterIsBetter ? value - this.minDelta > reference : value + this.minDelta < reference;
  }

  /** The monitored value in `logs`, or undefined with a warning (once per `fit`) naming what is logged. */
  protected monitorValue(logs: Logs, owner: string): number | undefined {
    const value = logs[this.monitor];
    if (value === undefined && !this.warnedMissing) {
      this.warnedMissing = true;
      console.warn(
        `${owner} is conditioned on '${this.monitor}', which is not logged. Logged: ${Object.keys(logs).join(', ')}`,
      );
    }
    return value;
  }

  /** Lets a new `fit` warn again about a missing quantity. */
  protected resetWarnings(): void {
    this.warnedMissing = false;
  }
}
