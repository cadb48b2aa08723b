/**
 * Helpers shared by optimizers and learning-rate schedules: Keras's snake_case configs ⇄ camelCase options,
 * and hyperparameter checks that fail at construction with {@link OptimizerConfigError}.
 * @module
 */
import { OptimizerConfigError } from './errors.js';

/** A Keras config: snake_case keys, JSON values. */
export type KerasConfig = Record<string, unknown>;

/** `'beta_1'` → `'beta1'`, `'learning_rate'` → `'learningRate'`, `'t_mul'` → `'tMul'`. */
export function snakeToCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_match, next: string) => next.toUpperCase());
}

/** The same config with camelCase keys (values untouched, `null` kept). */
export function camelCaseKeys(config: KerasConfig): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) options[snakeToCamel(key)] = value;
  return options;
}

/** Rejects keys of `config` that the object's own `getConfig()` does not write (Keras: "Argument(s) not recognized"). */
export function checkKnownKeys(
  owner: string,
  config: KerasConfig,
  known: KerasConfig,
  ignored: readonly string[] = [],
): void {
  const unknown = Object.keys(config).filter((key) => !(key in known) && !ignored.includes(key));
  if (unknown.length > 0) {
    throw new OptimizerConfigError(
      `${owner}: config argument(s) not recognized: ${unknown.join(', ')} (known: ${Object.keys(known).join(', ')})`,
    );
  }
}

/** The range a number must lie in. */
export interface NumberRange {
  min?: number;
  max?: number;
  /** `min` itself is excluded. */
  minExclusive?: boolean;
  /** `max` itself is excluded. */
  maxExclusive?: boolean;
  integer?: boolean;
}

function describe(range: NumberRange): string {
  const kind = range.integer ? 'an integer' : 'a finite number';
  const { min, max } = range;
  if (min !== undefined && max !== undefined) {
    return `${kind} in ${range.minExclusive ? '(' : '['}${min}, ${max}${range.maxExclusive ? ')' : ']'}`;
  }
  if (min !== undefined) return `${kind} ${range.minExclusive ? '>' : '≥'} ${min}`;
  if (max !== undefined) return `${kind} ${range.maxExclusive ? '<' : '≤'} ${max}`;
  return kind;
}

/** Returns `value` when it is a number in `range`, else throws {@link OptimizerConfigError} naming `owner.name`. */
export function checkNumber(owner: string, name: string, value: unknown, range: NumberRange = {}): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    (range.min === undefined || (range.minExclusive ? value > range.min : value >= range.min)) &&
    (range.max === undefined || (range.maxExclusive ? value < range.max : value <= range.max));
  if (!ok) throw new OptimizerConfigError(`${owner}: ${name} must be ${describe(range)}, got ${show(value)}`);
  return value as number;
}

/** Like {@link checkNumber}, but `null` and `undefined` mean "not set" and give `null`. */
export function checkOptionalNumber(
  owner: string,
  name: string,
  value: unknown,
  range: NumberRange = {},
): number | null {
  return value === null || value === undefined ? null : checkNumber(owner, name, value, range);
}

/** Returns `value` when it is a boolean. */
export function checkBoolean(owner: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new OptimizerConfigError(`${owner}: ${name} must be a boolean, got ${show(value)}`);
  return value;
}

/** Returns `value` when it is a string. */
export function checkString(owner: string, name: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new OptimizerConfigError(`${owner}: ${name} must be a string, got ${show(value)}`);
  return value;
}

function show(value: unknown): string {
  return typeof value === 'string'
    ? `'${value}'`
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);
}
