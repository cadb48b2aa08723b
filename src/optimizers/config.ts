/**
 * Helpers shared by optimizers and learning-rate schedules: Keras's snake_case configs ⇄ camelCase options,
 * and hyperparameter checks that fail at construction with {@link OptimizerConfigError}.
 * @module
 */
import { type OptionKeyList, snakeToCamel } from '../kernels/options.js';
import { OptimizerConfigError } from './errors.js';

export { snakeToCamel };

/** A Keras config: snake_case keys, JSON values. */
export type KerasConfig = Record<string, unknown>;

/** The keys a config writes, as a declared option key list (camelCase): what a class without one accepts. */
export function writtenKeys(config: KerasConfig): OptionKeyList {
  return Object.fromEntries(Object.keys(config).map((key) => [snakeToCamel(key), true as const]));
}

/** The same config with camelCase keys (values untouched, `null` kept). */
export function camelCaseKeys(config: KerasConfig): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) options[snakeToCamel(key)] = value;
  return options;
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
