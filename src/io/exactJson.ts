/**
 * JSON that gives back the very numbers it was given: NaN, ±∞ and −0 (which `JSON.stringify` turns into
 * `null` and `0`) are written as the strings `"NaN"`, `"Infinity"`, `"-Infinity"` and `"-0"` and read back as
 * numbers. Checkpoints and study journals use it: a diverged loss or a running sum must survive a restart
 * exactly. Any other number round-trips through JSON already (shortest round-trip decimal).
 * @module
 */

const SPECIAL: Readonly<Record<string, number>> = {
  NaN: NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
  '-0': -0,
};

function encode(_key: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (Object.is(value, -0)) return '-0';
  return value;
}

function decode(_key: string, value: unknown): unknown {
  return typeof value === 'string' && Object.hasOwn(SPECIAL, value) ? SPECIAL[value] : value;
}

/**
 * `JSON.stringify` that keeps NaN, ±∞ and −0 (as strings that {@link parseExactJson} turns back into
 * numbers). The strings `"NaN"`, `"Infinity"`, `"-Infinity"` and `"-0"` themselves do not survive: they come
 * back as numbers.
 */
export function stringifyExactJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, encode, indent);
}

/** `JSON.parse` for text {@link stringifyExactJson} wrote. */
export function parseExactJson(text: string): unknown {
  return JSON.parse(text, decode);
}
