import type { KerasConfig } from './config.js';
import { Adadelta } from './adadelta.js';
import { Adagrad } from './adagrad.js';
import { Adam } from './adam.js';
import { Adamax } from './adamax.js';
import { AdamW } from './adamw.js';
import { OptimizerConfigError } from './errors.js';
import { Ftrl } from './ftrl.js';
import { Lion } from './lion.js';
import { Nadam } from './nadam.js';
import { Optimizer } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

export * from './adadelta.js';
export * from './adagrad.js';
export * from './adam.js';
export * from './adamax.js';
export * from './adamw.js';
export * from './ftrl.js';
export * from './lion.js';
export * from './nadam.js';
export * from './optimizer.js';
export * from './rmsprop.js';
export * from './schedules/index.js';
export * from './sgd.js';

/** Thrown for an optimizer name warmstart does not know. */
export class UnknownOptimizerError extends Error {
  override readonly name = 'UnknownOptimizerError';
}

/** An optimizer as `keras.saving.serialize_keras_object` writes it (`module` and `registered_name` optional here). */
export interface SerializedOptimizer {
  module?: string;
  class_name: string;
  config?: KerasConfig;
  registered_name?: string | null;
}

/** Keras's class names, keyed by their lower-case form (Keras's string identifiers: `'adam'`, `'rmsprop'`, …). */
const OPTIMIZERS = new Map<string, { className: string; fromConfig: (config: KerasConfig) => Optimizer }>();

/** Makes an optimizer class known to {@link getOptimizer} and {@link deserializeOptimizer} (case-insensitively). */
export function registerOptimizer(className: string, fromConfig: (config: KerasConfig) => Optimizer): void {
  OPTIMIZERS.set(className.toLowerCase(), { className, fromConfig });
}

registerOptimizer('SGD', (config) => SGD.fromConfig(config));
registerOptimizer('RMSprop', (config) => RMSprop.fromConfig(config));
registerOptimizer('Adam', (config) => Adam.fromConfig(config));
registerOptimizer('AdamW', (config) => AdamW.fromConfig(config));
registerOptimizer('Adadelta', (config) => Adadelta.fromConfig(config));
registerOptimizer('Adagrad', (config) => Adagrad.fromConfig(config));
registerOptimizer('Adamax', (config) => Adamax.fromConfig(config));
registerOptimizer('Nadam', (config) => Nadam.fromConfig(config));
registerOptimizer('Lion', (config) => Lion.fromConfig(config));
registerOptimizer('Ftrl', (config) => Ftrl.fromConfig(config));

/** Keras's class names of the known optimizers. */
export function listOptimizers(): string[] {
  return [...OPTIMIZERS.values()].map((entry) => entry.className);
}

/**
 * `{module, class_name, config, registered_name}` as Keras writes a built-in optimizer
 * (`module: 'keras.optimizers'`, `registered_name: null`), learning-rate schedules included.
 */
export function serializeOptimizer(optimizer: Optimizer): Required<SerializedOptimizer> {
  return {
    module: 'keras.optimizers',
    class_name: optimizer.className,
    config: optimizer.getConfig(),
    registered_name: null,
  };
}

/**
 * The optimizer a serialized config describes (Keras's `keras.optimizers.deserialize`): `class_name` is matched
 * case-insensitively, `module` and `registered_name` are not needed; a missing `config` means Keras's defaults.
 */
export function deserializeOptimizer(serialized: SerializedOptimizer): Optimizer {
  if (typeof serialized !== 'object' || serialized === null || typeof serialized.class_name !== 'string') {
    throw new OptimizerConfigError(
      `an optimizer config needs a string class_name, got ${JSON.stringify(serialized)}`,
    );
  }
  const entry = OPTIMIZERS.get(serialized.class_name.toLowerCase());
  if (entry === undefined) {
    throw new UnknownOptimizerError(
      `unknown optimizer '${serialized.class_name}': known optimizers are ${listOptimizers().join(', ')}`,
    );
  }
  return entry.fromConfig(serialized.config ?? {});
}

/**
 * Resolves an optimizer given as an object, a Keras string name (`'sgd'`, `'adam'`, `'RMSprop'`, …, any case) with
 * Keras's defaults, or a serialized config (`{class_name, config}`), as `keras.optimizers.get` does.
 */
export function getOptimizer(value: Optimizer | string | SerializedOptimizer): Optimizer {
  if (value instanceof Optimizer) return value;
  if (typeof value === 'string') {
    const entry = OPTIMIZERS.get(value.toLowerCase());
    if (entry === undefined) {
      throw new UnknownOptimizerError(
        `unknown optimizer '${value}': known optimizers are ${listOptimizers().join(', ')}`,
      );
    }
    return entry.fromConfig({});
  }
  return deserializeOptimizer(value);
}
