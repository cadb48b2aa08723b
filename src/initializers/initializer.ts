import type { Shape } from '../tensor/tensor.js';
import { globalRandom, RandomGenerator } from '../tensor/random.js';

/** Keras's serialized form of an object: `{ class_name, config }`. */
export interface SerializedObject {
  class_name: string;
  config: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Fills a new weight. Draws from warmstart's global seeded generator, or from its own when given a `seed`
 * (as Keras's initializers do).
 */
export abstract class Initializer {
  /** Keras's class name, used in saved configs. */
  abstract readonly className: string;
  /** The seed given at construction, or null to draw from the global generator. */
  readonly seed: number | null;
  private readonly generator: RandomGenerator | null;

  /** @param seed draw from a private generator seeded with this instead of the global one */
  constructor(seed: number | null = null) {
    this.seed = seed;
    this.generator = seed === null ? null : new RandomGenerator(seed);
  }

  /** Writes the initial values of a weight of `shape` into `target`. */
  abstract fill(target: Float32Array, shape: Shape): void;

  /** Constructor arguments as Keras's config. */
  getConfig(): Record<string, unknown> {
    return { seed: this.seed };
  }

  /** The generator this initializer draws from. */
  protected random(): RandomGenerator {
    return this.generator ?? globalRandom();
  }
}

/** Keras's fan computation: for a Dense kernel (in, out), fanIn = in and fanOut = out. */
export function computeFans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  let receptiveField = 1;
  for (const dimension of shape.slice(0, -2)) receptiveField *= dimension;
  return {
    fanIn: shape[shape.length - 2] * receptiveField,
    fanOut: shape[shape.length - 1] * receptiveField,
  };
}
