/**
 * Options objects are checked against the keys their type declares, as Keras rejects an argument it does not
 * know ("Argument(s) not recognized"): `new SGD({ lr: 0.1 })` must not train at the default 0.01. One
 * {@link UnknownOptionError} names the key and, when it is a Keras spelling (`batch_size`, `beta_1`), an old
 * Keras name (`lr`) or a near miss (`unit`), the option meant.
 *
 * This file imports nothing, so that every folder (kernels included) can use it.
 * @module
 */

/**
 * The declared key list of an options type: every key of `T`, each `true`. Declaring a list as
 * `{ … } satisfies OptionKeys<DenseOptions>` makes adding an option to the interface without listing it (or
 * listing a key the interface lacks) a compile error.
 */
export type OptionKeys<T> = { readonly [K in keyof T]-?: true };

/** A declared key list, whatever its options type. */
export type OptionKeyList = Readonly<Record<string, true>>;

/** One key an options object (or a Keras config) has that its owner does not take. */
export interface UnknownKey {
  /** The key as given. */
  readonly key: string;
  /** The option meant, when the key is a known alias or a near miss; else null. */
  readonly suggestion: string | null;
  /** Why the suggestion (`'Keras 2's name'`), when there is more to say than the name. */
  readonly note: string | null;
}

/**
 * Thrown when an options object (or a Keras config) has a key its owner does not take. The message names
 * every such key and the option each one most likely meant; `key` and `suggestion` give the first.
 */
export class UnknownOptionError extends Error {
  override readonly name = 'UnknownOptionError';
  /** What took the options: a class (`'SGD'`) or a function (`'fit'`). */
  readonly owner: string;
  /** The first unknown key. */
  readonly key: string;
  /** The option the first unknown key most likely meant, or null. */
  readonly suggestion: string | null;
  /** Every unknown key, in the order given. */
  readonly unknownKeys: readonly UnknownKey[];
  /** The keys the owner takes. */
  readonly knownKeys: readonly string[];

  constructor(owner: string, unknownKeys: readonly UnknownKey[], knownKeys: readonly string[], what: string) {
    const described = unknownKeys.map(({ key, suggestion, note }) =>
      suggestion === null
        ? `'${key}'`
        : `'${key}' (did you mean '${suggestion}'?${note === null ? '' : ` ${note}`})`,
    );
    super(
      `${owner}: unknown ${what}${unknownKeys.length > 1 ? 's' : ''} ${described.join(', ')}; ` +
        `${owner} takes ${knownKeys.length === 0 ? 'none' : knownKeys.join(', ')}`,
    );
    this.owner = owner;
    this.key = unknownKeys[0].key;
    this.suggestion = unknownKeys[0].suggestion;
    this.unknownKeys = unknownKeys;
    this.knownKeys = knownKeys;
  }
}

/**
 * Keras's spellings that are not simply ours in snake_case: Keras 2's and Keras 1's old names, and a few
 * words warmstart spells otherwise. Each applies only where its target is an option of the owner.
 */
const ALIASES: ReadonlyArray<readonly [from: string, to: string, note: string | null]> = [
  ['lr', 'learningRate', "'lr' is Keras 2's name"],
  [
    'decay',
    'learningRate',
    "Keras 2's decay is a schedule now: learningRate: new InverseTimeDecay({ initialLearningRate, decaySteps: 1, decayRate })",
  ],
  ['use_nesterov', 'nesterov', null],
  ['nb_epoch', 'epochs', "'nb_epoch' is Keras 1's name"],
  ['output_dim', 'units', "'output_dim' is Keras 1's name"],
  ['init', 'kernelInitializer', "'init' is Keras 1's name"],
  ['bias', 'useBias', null],
  ['p', 'rate', null],
  ['nb_filter', 'filters', "'nb_filter' is Keras 1's name"],
  ['nb_row', 'kernelSize', null],
  ['nb_col', 'kernelSize', null],
  ['subsample', 'strides', "'subsample' is Keras 1's name"],
  ['border_mode', 'padding', "'border_mode' is Keras 1's name"],
  ['dim_ordering', 'dataFormat', "'dim_ordering' is Keras 1's name"],
  ['alpha', 'negativeSlope', "'alpha' is Keras 2's name"],
  ['input_dim', 'inputShape', 'inputShape: [inputDim]'],
  ['batch_input_shape', 'inputShape', 'without the batch axis'],
  ['batch_shape', 'inputShape', 'without the batch axis'],
  ['batch_input_shape', 'shape', 'without the batch axis'],
  ['batch_shape', 'shape', 'without the batch axis'],
  ['input_shape', 'shape', null],
  ['shape', 'inputShape', null],
  ['epsilon', 'minDelta', "Keras 2's ReduceLROnPlateau called it epsilon"],
  ['period', 'saveFreq', "Keras 2's name; saveFreq counts batches"],
  ['filename', 'filepath', null],
  ['verbosity', 'verbose', null],
  ['var_names', 'names', null],
  ['var_list', 'variables', null],
];

/** Case, underscores and dashes aside: `batch_size`, `BatchSize` and `batchSize` are one name. */
function normalize(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Edit distance with transpositions (optimal string alignment): `shufle` → `shuffle` is 1. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const d: number[] = new Array<number>(rows * columns);
  for (let i = 0; i < rows; i++) d[i * columns] = i;
  for (let j = 0; j < columns; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < columns; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        d[(i - 1) * columns + j] + 1,
        d[i * columns + j - 1] + 1,
        d[(i - 1) * columns + j - 1] + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[(i - 2) * columns + j - 2] + 1);
      }
      d[i * columns + j] = best;
    }
  }
  return d[rows * columns - 1];
}

/**
 * The known key that `key` most likely means, or null: a Keras alias whose target is known, the same name
 * up to case and underscores (`batch_size` → `batchSize`, `beta_1` → `beta1`), else the nearest by edit
 * distance when it is close for the name's length (1 edit up to 5 letters, 2 up to 10, then 3).
 */
export function suggestOption(
  key: string,
  known: readonly string[],
): { suggestion: string; note: string | null } | null {
  for (const [from, to, note] of ALIASES) {
    if (from === key && known.includes(to)) return { suggestion: to, note };
  }
  const wanted = normalize(key);
  const same = known.find((candidate) => normalize(candidate) === wanted);
  if (same !== undefined) return { suggestion: same, note: null };
  const limit = wanted.length <= 5 ? 1 : wanted.length <= 10 ? 2 : 3;
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(wanted, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === null ? null : { suggestion: best, note: null };
}

function isOptionsObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'an array';
  return String(value);
}

/**
 * Throws {@link UnknownOptionError} when `options` has a key that `known` does not list, and a `TypeError`
 * when it is not an object (`new SGD(0.1)`, Keras's positional style). `undefined` means "no options".
 * Every key counts, whatever its value (`{ lr: undefined }` is a typo too).
 *
 * @param owner - what takes the options, as the message names it (`'SGD'`, `'fit'`)
 * @param options - the object given
 * @param known - the owner's declared key list (see {@link OptionKeys})
 */
export function checkOptions<T>(owner: string, options: T | undefined, known: NoInfer<OptionKeys<T>>): void {
  if (options === undefined) return;
  if (!isOptionsObject(options)) {
    throw new TypeError(
      `${owner}: options must be an object such as { ${Object.keys(known)[0] ?? 'name'}: … }, got ${describeValue(options)}`,
    );
  }
  const knownKeys = Object.keys(known);
  const unknown = Object.keys(options).filter((key) => !Object.hasOwn(known, key));
  if (unknown.length === 0) return;
  throw new UnknownOptionError(
    owner,
    unknown.map((key) => ({ key, ...(suggestOption(key, knownKeys) ?? { suggestion: null, note: null }) })),
    knownKeys,
    'option',
  );
}

/** `'beta_1'` → `'beta1'`, `'learning_rate'` → `'learningRate'`, `'t_mul'` → `'tMul'`. */
export function snakeToCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_match, next: string) => next.toUpperCase());
}

/**
 * Keras's spelling of one of our option names: `'learningRate'` → `'learning_rate'`, `'beta1'` → `'beta_1'`,
 * `'tMul'` → `'t_mul'`, `'l1RegularizationStrength'` → `'l1_regularization_strength'` (a digit after a word
 * of two letters or more gets its own underscore, as in Keras's names).
 */
export function kerasName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`).replace(/([a-z]{2,})(\d)/g, '$1_$2');
}

/**
 * Checks the keys of a Keras config (snake_case, as `get_config()` writes them) against the owner's declared
 * option keys (camelCase): the config reader's twin of {@link checkOptions}, with the same suggestions, in
 * Keras's spelling. Keys in `ignored` (obsolete arguments Keras itself still accepts) pass.
 */
export function checkConfigKeys(
  owner: string,
  config: Readonly<Record<string, unknown>>,
  known: OptionKeyList,
  ignored: readonly string[] = [],
): void {
  const knownKeys = Object.keys(known);
  const unknown = Object.keys(config).filter(
    (key) => !ignored.includes(key) && !Object.hasOwn(known, snakeToCamel(key)),
  );
  if (unknown.length === 0) return;
  throw new UnknownOptionError(
    owner,
    unknown.map((key) => {
      const found = suggestOption(key, knownKeys);
      return { key, suggestion: found === null ? null : kerasName(found.suggestion), note: null };
    }),
    knownKeys.map(kerasName),
    'config argument',
  );
}
