import { checkOptions } from '../../kernels/options.js';
import { Callback, type Logs } from '../callbacks.js';
import {
  CallbackArgumentError,
  checkVerbose,
  type MessageOptions,
  requireOptimizer,
  writeLine,
  MESSAGE_OPTION_KEYS,
} from './common.js';
import { pythonFloatRepr } from './pythonFormat.js';

/** A per-epoch schedule: the learning rate for an epoch (0-based), given the current one. */
export type LearningRateScheduleFunction = (epoch: number, learningRate: number) => number;

/** Options of {@link LearningRateScheduler}. */
export type LearningRateSchedulerOptions = MessageOptions;

const OWNER = 'LearningRateScheduler';

/**
 * Sets the learning rate at the start of every epoch from `schedule(epoch, currentLearningRate)`, as Keras's
 * `LearningRateScheduler`, and adds the rate to the epoch's logs as `learning_rate`.
 *
 * ```ts
 * // Keep the rate for 10 epochs, then decay it by e^-0.1 per epoch.
 * new LearningRateScheduler((epoch, lr) => (epoch < 10 ? lr : lr * Math.exp(-0.1)))
 * ```
 */
export class LearningRateScheduler extends Callback {
  /** The schedule. */
  readonly schedule: LearningRateScheduleFunction;
  private readonly verbose: 0 | 1;
  private readonly writer: MessageOptions['writer'];

  constructor(schedule: LearningRateScheduleFunction, options: LearningRateSchedulerOptions = {}) {
    checkOptions(OWNER, options, MESSAGE_OPTION_KEYS);
    super();
    if (typeof schedule !== 'function') {
      throw new CallbackArgumentError(
        `${OWNER}: schedule must be a function (epoch, learningRate) => learningRate`,
      );
    }
    this.schedule = schedule;
    this.verbose = checkVerbose(OWNER, options.verbose ?? 0);
    this.writer = options.writer;
  }

  override onEpochBegin(epoch: number): void {
    const optimizer = requireOptimizer(this, OWNER);
    const learningRate = this.schedule(epoch, optimizer.currentLearningRate());
    if (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate < 0) {
      throw new CallbackArgumentError(
        `${OWNER}: the schedule must return a finite number ≥ 0, got ${String(learningRate)} for epoch ${epoch}`,
      );
    }
    optimizer.learningRate = learningRate;
    if (this.verbose > 0) {
      writeLine(
        this.writer,
        `\nEpoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${pythonFloatRepr(learningRate)}.`,
      );
    }
  }

  override onEpochEnd(_epoch: number, logs: Logs): void {
    logs.learning_rate = requireOptimizer(this, OWNER).currentLearningRate();
  }
}
