/**
 * warmstart's seeded generators. Initializers draw from the global one; each `fit` draws its seed from it once,
 * and epoch k of that fit shuffles and draws its dropout masks from {@link epochGenerator}(seed, k). So the same
 * seed gives the same weights and the same training history on the same backend, and a run resumed at any
 * epoch (or, with the epoch generator's state, at any batch) repeats the uninterrupted one.
 *
 * The bits come from xoshiro128** (Blackman and Vigna), seeded through splitmix32; normals from Box–Muller.
 * @module
 */

/**
 * Everything a {@link RandomGenerator} will draw next depends on: the four 32-bit words of xoshiro128**, and
 * the second normal deviate of the last Box–Muller pair when it has not been used yet. Plain JSON: a checkpoint
 * stores it as it is, and {@link RandomGenerator.setState} continues the sequence exactly.
 */
export interface RandomState {
  /** Always `'xoshiro128**'`: the algorithm the words belong to. */
  algorithm: 'xoshiro128**';
  /** The generator's four state words, each an integer in [0, 2³²). */
  words: [number, number, number, number];
  /** The normal deviate `normal()` returns next without drawing, or null. */
  spareNormal: number | null;
}

/** Thrown for a {@link RandomState} that no generator could have: wrong algorithm, words, or spare. */
export class RandomStateError extends Error {
  override readonly name = 'RandomStateError';
}

/** A seeded pseudo-random generator (xoshiro128**). */
export class RandomGenerator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  /** Creates a generator; the same seed always gives the same sequence. */
  constructor(seed: number = Date.now()) {
    this.reseed(seed);
  }

  /** Restarts the sequence from `seed`. */
  reseed(seed: number): void {
    let state = seed >>> 0;
    const next = (): number => {
      // splitmix32
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    this.spareNormal = null;
  }

  /** A copy of the generator's state: restoring it with {@link setState} continues the sequence from here. */
  getState(): RandomState {
    return {
      algorithm: 'xoshiro128**',
      words: [this.s0, this.s1, this.s2, this.s3],
      spareNormal: this.spareNormal,
    };
  }

  /**
   * Puts the generator back where {@link getState} saw it (on this generator or another).
   * @throws RandomStateError when `state` is not a state of this algorithm
   */
  setState(state: RandomState): void {
    checkRandomState(state);
    [this.s0, this.s1, this.s2, this.s3] = state.words;
    this.spareNormal = state.spareNormal;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  uniform(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** A uniform integer in [0, bound), without modulo bias. */
  integer(bound: number): number {
    return Math.floor(this.uniform() * bound);
  }

  /** A standard normal deviate (Box–Muller). */
  normal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** A normal deviate redrawn until it lies within two standard deviations, as `keras.random.truncated_normal`. */
  truncatedNormal(): number {
    for (;;) {
      const value = this.normal();
      if (Math.abs(value) <= 2) return value;
    }
  }

  /** Shuffles `values` in place (Fisher–Yates). */
  shuffle(values: Int32Array): void {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.integer(i + 1);
      const swap = values[i];
      values[i] = values[j];
      values[j] = swap;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function checkRandomState(state: unknown): asserts state is RandomState {
  const candidate = state as Partial<RandomState> | null;
  if (typeof candidate !== 'object' || candidate === null || candidate.algorithm !== 'xoshiro128**') {
    throw new RandomStateError(
      `not a random state: expected { algorithm: 'xoshiro128**', words, spareNormal }, got ${JSON.stringify(state)}`,
    );
  }
  const words = candidate.words;
  if (
    !Array.isArray(words) ||
    words.length !== 4 ||
    !words.every((word) => Number.isInteger(word) && word >= 0 && word <= 0xffffffff)
  ) {
    throw new RandomStateError(
      `random state: words must be four integers in [0, 2³²), got ${JSON.stringify(words)}`,
    );
  }
  if (words.every((word) => word === 0)) {
    throw new RandomStateError('random state: all four words are 0, a state xoshiro128** never reaches');
  }
  const spare = candidate.spareNormal;
  if (spare !== null && !(typeof spare === 'number' && Number.isFinite(spare))) {
    throw new RandomStateError(
      `random state: spareNormal must be a finite number or null, got ${JSON.stringify(spare)}`,
    );
  }
}

/** splitmix32's finalizer: a bijection of 32-bit integers that spreads every input bit over the output. */
function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * The generator of epoch `epoch` of a fit whose seed is `seed`: `fit` shuffles that epoch's samples and draws
 * its dropout masks from it, so an epoch's randomness depends on (seed, epoch) only and a run resumed at any
 * epoch repeats the uninterrupted one.
 */
export function epochGenerator(seed: number, epoch: number): RandomGenerator {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`a fit's seed must be an integer in [0, 2³²), got ${seed}`);
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff)
    throw new RangeError(`epoch must be an integer in [0, 2³²), got ${epoch}`);
  return new RandomGenerator(mix32(seed ^ mix32((epoch + 0x632be5ab) >>> 0)));
}

const globalGenerator = new RandomGenerator();

/**
 * Seeds warmstart's global generator, as `keras.utils.set_random_seed` does: the weights of layers built
 * afterwards and the order `fit` shuffles in follow from the seed.
 */
export function setRandomSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0)
    throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  globalGenerator.reseed(seed);
}

/** The global generator that initializers draw from (and `fit`, once, for its seed). */
export function globalRandom(): RandomGenerator {
  return globalGenerator;
}

/**
 * The state of warmstart's global generator, to store with a checkpoint (as JSON) and give back to
 * {@link setRandomState}: everything drawn afterwards (weights of new layers, the seed of the next `fit`)
 * then repeats exactly.
 */
export function getRandomState(): RandomState {
  return globalGenerator.getState();
}

/**
 * Restores warmstart's global generator to a state {@link getRandomState} returned.
 * @throws RandomStateError when `state` is not such a state
 */
export function setRandomState(state: RandomState): void {
  globalGenerator.setState(state);
}

let trainingGenerator: RandomGenerator | null = null;

/**
 * The generator that training-time randomness (dropout masks) draws from: the running epoch's generator while
 * `fit` trains (see {@link epochGenerator}), the global one otherwise.
 */
export function trainingRandom(): RandomGenerator {
  return trainingGenerator ?? globalGenerator;
}

/** Makes `generator` the one {@link trainingRandom} returns (null: the global one again). `fit` calls this. */
export function setTrainingRandom(generator: RandomGenerator | null): void {
  trainingGenerator = generator;
}
