import { checkConfigKeys, type OptionKeyList } from '../../kernels/options.js';
import { camelCaseKeys, type KerasConfig, writtenKeys } from '../config.js';

/**
 * A learning rate that changes with the optimizer's step count, as Keras's
 * `keras.optimizers.schedules.LearningRateSchedule`. The optimizer evaluates it at `iterations` BEFORE the step
 * it is about to apply (0 for the first step), so the first update uses `valueAt(0)`.
 *
 * Keras computes every schedule in float32 (the dtype of `initial_learning_rate`); so do the subclasses here, op by op
 * with `Math.fround`, and {@link LearningRateSchedule.valueAt} returns a float32 value.
 */
export abstract class LearningRateSchedule {
  /** Keras's class name (`ExponentialDecay`, …). */
  abstract readonly className: string;
  /** Name written in configs. */
  abstract readonly name: string;

  /** The learning rate at optimizer step `step` (a non-negative integer), rounded to float32. */
  abstract valueAt(step: number): number;

  /** Constructor arguments as Keras's config (snake_case keys). */
  abstract getConfig(): KerasConfig;

  /**
   * Builds a schedule from Keras's config (snake_case keys), rejecting keys the class does not take (its
   * `optionKeys` in snake_case; a subclass that declares none is checked against what its `getConfig()` writes)
   * with an `UnknownOptionError` in Keras's spelling.
   */
  static fromConfig<T extends LearningRateSchedule>(
    this: (new (options: never) => T) & { readonly optionKeys?: OptionKeyList },
    config: KerasConfig,
  ): T {
    const declared = this.optionKeys;
    if (declared !== undefined) checkConfigKeys(this.name, config, declared);
    const schedule = new this(camelCaseKeys(config) as never);
    if (declared === undefined)
      checkConfigKeys(schedule.className, config, writtenKeys(schedule.getConfig()));
    return schedule;
  }
}

/** Rounds to float32, the precision Keras's schedules compute in. */
export const f32 = Math.fround;

/** π in float32 (`ops.array(math.pi, dtype="float32")`). */
export const PI_F32 = Math.fround(Math.PI);
