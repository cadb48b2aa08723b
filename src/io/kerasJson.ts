/**
 * The one JSON writer for everything warmstart hands to Keras (`model_config`, `training_config`,
 * `config.json`, `compile_config`, `metadata.json`).
 *
 * JavaScript has one number type, so `JSON.stringify({ momentum: 0 })` writes `0`, which Python reads as an
 * `int`, and Keras 3 refuses (`SGD`: "`momentum` must be a float between [0, 1]"; `learning_rate: 1` breaks
 * `SGD` and `Adadelta`). Which numbers are floats is a property of the Keras argument, not of the value, so the
 * writer carries a schema: {@link KERAS_FLOAT_KEYS} names every Keras config argument that is a Python float
 * (in optimizers, schedules, layers, initializers, regularizers, constraints, losses); a number under one of
 * those keys, or in a list under one, is written as a float (`0.0`, `1.0`, `1e-07`). Every other number keeps
 * JavaScript's form, so integers (`units`, `seed`, `axis`, `decay_steps`, shapes) stay integers. The schema is
 * keyed by argument name because Keras uses each name with one meaning across classes (`momentum` is a float
 * in SGD, RMSprop and BatchNormalization alike); `test/io-json.test.ts` checks it against the types Keras
 * itself writes for every class warmstart implements.
 * @module
 */

/** Keras config arguments whose numbers are Python floats (see the module comment). */
export const KERAS_FLOAT_KEYS: ReadonlySet<string> = new Set([
  // Optimizers (base class and each optimizer's own).
  'learning_rate',
  'weight_decay',
  'clipnorm',
  'clipvalue',
  'global_clipnorm',
  'ema_momentum',
  'loss_scale_factor',
  'momentum',
  'rho',
  'epsilon',
  'beta_1',
  'beta_2',
  'beta',
  'initial_accumulator_value',
  'learning_rate_power',
  'l1_regularization_strength',
  'l2_regularization_strength',
  'l2_shrinkage_regularization_strength',
  'decay',
  // Learning-rate schedules.
  'initial_learning_rate',
  'decay_rate',
  'end_learning_rate',
  'power',
  'alpha',
  't_mul',
  'm_mul',
  'warmup_target',
  'values',
  // Layers.
  'rate',
  'stddev',
  'negative_slope',
  'max_value',
  'min_value',
  'threshold',
  'theta',
  'dropout',
  'recurrent_dropout',
  'factor',
  'offset',
  // Initializers, regularizers, losses.
  'mean',
  'minval',
  'maxval',
  'scale',
  'value',
  'gain',
  'l1',
  'l2',
  'label_smoothing',
  'delta',
  'gamma',
]);

/** A float as Python's `json.dumps` would read it back as a float: `1` → `1.0`, `1e-7` stays (an exponent is a float). */
function floatLiteral(value: number): string {
  const text = JSON.stringify(value); // `null` for NaN and ±Infinity, as before.
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

/** Escapes non-ASCII characters as `\uXXXX`, as Python's `json.dumps` does by default. */
function ascii(text: string): string {
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `value` as JSON text for Keras: like `JSON.stringify` (same escaping of strings, `undefined` members
 * dropped, `toJSON` ignored since configs are plain data), except that numbers under {@link KERAS_FLOAT_KEYS}
 * are written as floats, and non-ASCII characters are `\u`-escaped (as Python writes, and as the HDF5
 * attributes holding the text are ASCII).
 */
export function kerasJson(value: unknown): string {
  return ascii(write(value, false));
}

function write(value: unknown, float: boolean): string {
  if (typeof value === 'number') return float ? floatLiteral(value) : JSON.stringify(value);
  if (Array.isArray(value)) {
    // A list under a float key is a list of floats (`values` of PiecewiseConstantDecay).
    return `[${value.map((item) => (item === undefined ? 'null' : write(item, float))).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const members: string[] = [];
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined || typeof item === 'function') continue;
      // An object under a float key (a schedule as `learning_rate`) has its own keys and its own types.
      members.push(`${JSON.stringify(key)}:${write(item, KERAS_FLOAT_KEYS.has(key))}`);
    }
    return `{${members.join(',')}}`;
  }
  if (value === undefined || typeof value === 'function') return 'null';
  return JSON.stringify(value);
}
