import { Constant, Ones, Zeros } from './constant.js';
import { Initializer, type SerializedObject } from './initializer.js';
import {
  GlorotNormal,
  GlorotUniform,
  HeNormal,
  HeUniform,
  LecunNormal,
  LecunUniform,
  VarianceScaling,
} from './varianceScaling.js';

export * from './initializer.js';
export * from './constant.js';
export * from './varianceScaling.js';

/** An initializer as layers accept it: an object, a Keras string name, or a serialized config. */
export type InitializerLike = Initializer | string | SerializedObject;

/** Thrown for an initializer name or config warmstart does not know. */
export class UnknownInitializerError extends Error {
  override readonly name = 'UnknownInitializerError';
}

type Factory = (config: Record<string, unknown>) => Initializer;
const seedOf = (config: Record<string, unknown>): number | null => (config.seed as number | null) ?? null;
const FACTORIES: Record<string, Factory> = {
  GlorotUniform: (c) => new GlorotUniform({ seed: seedOf(c) }),
  GlorotNormal: (c) => new GlorotNormal({ seed: seedOf(c) }),
  LecunNormal: (c) => new LecunNormal({ seed: seedOf(c) }),
  LecunUniform: (c) => new LecunUniform({ seed: seedOf(c) }),
  HeNormal: (c) => new HeNormal({ seed: seedOf(c) }),
  HeUniform: (c) => new HeUniform({ seed: seedOf(c) }),
  VarianceScaling: (c) =>
    new VarianceScaling({
      scale: c.scale as number,
      mode: (typeof c.mode === 'string' ? c.mode.toLowerCase() : c.mode) as never,
      // tf.keras 2.x wrote `normal` for what Keras 3 calls `truncated_normal` (and lower-cased both).
      distribution: (typeof c.distribution === 'string'
        ? c.distribution.toLowerCase() === 'normal'
          ? 'truncated_normal'
          : c.distribution.toLowerCase()
        : c.distribution) as never,
      seed: seedOf(c),
    }),
  Zeros: () => new Zeros(),
  Ones: () => new Ones(),
  Constant: (c) => new Constant({ value: c.value as number }),
};

/** Keras's snake_case aliases (`'glorot_uniform'`) for the class names. */
function classNameOf(name: string): string {
  const camel = name
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  const match = Object.keys(FACTORIES).find((known) => known.toLowerCase() === camel.toLowerCase());
  return match ?? name;
}

/** Resolves an initializer given as an object, a Keras name (`'he_normal'`, `'HeNormal'`) or a config. */
export function getInitializer(value: InitializerLike): Initializer {
  if (value instanceof Initializer) return value;
  const className = classNameOf(typeof value === 'string' ? value : value.class_name);
  const factory = FACTORIES[className];
  if (factory === undefined) {
    throw new UnknownInitializerError(
      `unknown initializer '${typeof value === 'string' ? value : value.class_name}': known initializers are ${Object.keys(FACTORIES).join(', ')}`,
    );
  }
  return factory(typeof value === 'string' ? {} : (value.config ?? {}));
}

/** Keras's serialized form of an initializer. */
export function serializeInitializer(initializer: Initializer): SerializedObject {
  return {
    module: 'keras.initializers',
    class_name: initializer.className,
    config: initializer.getConfig(),
    registered_name: null,
  };
}
