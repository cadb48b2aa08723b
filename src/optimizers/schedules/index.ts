import type { KerasConfig } from '../config.js';
import { OptimizerConfigError } from '../errors.js';
import { CosineDecay } from './cosineDecay.js';
import { CosineDecayRestarts } from './cosineDecayRestarts.js';
import { ExponentialDecay } from './exponentialDecay.js';
import { InverseTimeDecay } from './inverseTimeDecay.js';
import { LearningRateSchedule } from './learningRateSchedule.js';
import { PiecewiseConstantDecay } from './piecewiseConstantDecay.js';
import { PolynomialDecay } from './polynomialDecay.js';

export * from './cosineDecay.js';
export * from './cosineDecayRestarts.js';
export * from './exponentialDecay.js';
export * from './inverseTimeDecay.js';
export { LearningRateSchedule } from './learningRateSchedule.js';
export * from './piecewiseConstantDecay.js';
export * from './polynomialDecay.js';

/** A schedule as `keras.saving.serialize_keras_object` writes it. */
export interface SerializedSchedule {
  module: string;
  class_name: string;
  config: KerasConfig;
  registered_name: string | null;
}

const SCHEDULES = new Map<string, (config: KerasConfig) => LearningRateSchedule>([
  ['ExponentialDecay', (config) => ExponentialDecay.fromConfig(config)],
  ['PiecewiseConstantDecay', (config) => PiecewiseConstantDecay.fromConfig(config)],
  ['PolynomialDecay', (config) => PolynomialDecay.fromConfig(config)],
  ['InverseTimeDecay', (config) => InverseTimeDecay.fromConfig(config)],
  ['CosineDecay', (config) => CosineDecay.fromConfig(config)],
  ['CosineDecayRestarts', (config) => CosineDecayRestarts.fromConfig(config)],
]);

/** Makes a custom schedule class deserializable under `className`. */
export function registerSchedule(
  className: string,
  fromConfig: (config: KerasConfig) => LearningRateSchedule,
): void {
  SCHEDULES.set(className, fromConfig);
}

/** `{module, class_name, config, registered_name}` exactly as Keras's `keras.optimizers.schedules.serialize` writes it. */
export function serializeSchedule(schedule: LearningRateSchedule): SerializedSchedule {
  return {
    module: 'keras.optimizers.schedules',
    class_name: schedule.className,
    config: schedule.getConfig(),
    registered_name: null,
  };
}

/** The schedule a serialized config describes (`class_name` matched exactly, else case-insensitively). */
export function deserializeSchedule(serialized: {
  class_name: string;
  config?: KerasConfig;
}): LearningRateSchedule {
  if (typeof serialized !== 'object' || serialized === null || typeof serialized.class_name !== 'string') {
    throw new OptimizerConfigError(
      `a learning-rate schedule config needs a string class_name, got ${JSON.stringify(serialized)}`,
    );
  }
  const name = serialized.class_name;
  let factory = SCHEDULES.get(name);
  if (factory === undefined) {
    for (const [known, candidate] of SCHEDULES)
      if (known.toLowerCase() === name.toLowerCase()) factory = candidate;
  }
  if (factory === undefined) {
    throw new OptimizerConfigError(
      `unknown learning-rate schedule '${name}': known schedules are ${[...SCHEDULES.keys()].join(', ')}`,
    );
  }
  return factory(serialized.config ?? {});
}
