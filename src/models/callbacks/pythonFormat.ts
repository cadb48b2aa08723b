/**
 * The part of Python's `str.format` and `repr(float)` that Keras callbacks show users: checkpoint paths
 * such as `'ckpt-{epoch:02d}-{val_loss:.4f}.keras'` and the numbers in `CSVLogger` files. Rounding is
 * exact, half to even, as Python's is.
 * @module
 */

/** A value for {@link formatPython}: Python tells ints from floats (`{epoch:02d}` works, `{loss:d}` fails). */
export type PythonValue = { int: number } | { float: number };

/** Thrown when a template does not fit its values (Python's KeyError or ValueError). */
export class PythonFormatError extends Error {
  override readonly name = 'PythonFormatError';
}

/** `x` ≥ 0 exactly as `digits / 10^scale` (every double is a finite decimal). */
function exactDecimal(x: number): { digits: bigint; scale: number } {
  if (x === 0) return { digits: 0n, scale: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  let exponent: number;
  if (biased === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  if (exponent >= 0) return { digits: mantissa << BigInt(exponent), scale: 0 };
  return { digits: mantissa * 5n ** BigInt(-exponent), scale: -exponent };
}

/** `digits / 10^drop` rounded half to even. */
function roundDrop(digits: bigint, drop: number): bigint {
  if (drop <= 0) return digits * 10n ** BigInt(-drop);
  const divisor = 10n ** BigInt(drop);
  const quotient = digits / divisor;
  const twice = (digits % divisor) * 2n;
  if (twice > divisor || (twice === divisor && quotient % 2n === 1n)) return quotient + 1n;
  return quotient;
}

/** `x` ≥ 0 with `precision` decimals ('f'). */
function fixed(x: number, precision: number): string {
  const { digits, scale } = exactDecimal(x);
  const text = roundDrop(digits, scale - precision)
    .toString()
    .padStart(precision + 1, '0');
  return precision === 0 ? text : `${text.slice(0, -precision)}.${text.slice(-precision)}`;
}

/** `x` ≥ 0 rounded to `significant` digits: the digit string and the decimal exponent of its first digit. */
function significantDigits(x: number, significant: number): { text: string; exponent: number } {
  if (x === 0) return { text: '0'.repeat(significant), exponent: 0 };
  const { digits, scale } = exactDecimal(x);
  const length = digits.toString().length;
  let rounded = roundDrop(digits, length - significant);
  let exponent = length - 1 - scale;
  if (rounded.toString().length > significant) {
    rounded /= 10n;
    exponent++;
  }
  return { text: rounded.toString(), exponent };
}

function exponentSuffix(exponent: number, letter: string): string {
  return `${letter}${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** `x` ≥ 0 in scientific notation with `precision` decimals ('e'). */
function scientific(x: number, precision: number, alternate: boolean): string {
  const { text, exponent } = significantDigits(x, precision + 1);
  const mantissa = precision === 0 ? text + (alternate ? '.' : '') : `${text[0]}.${text.slice(1)}`;
  return mantissa + exponentSuffix(exponent, 'e');
}

function stripZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** `x` ≥ 0 in Python's general format ('g', or no type with a precision when `keepPoint`). */
function general(x: number, precision: number, alternate: boolean, keepPoint: boolean): string {
  const p = precision === 0 ? 1 : precision;
  const { exponent } = significantDigits(x, p);
  // Without a type, Python switches to scientific one digit earlier, so that a point always shows.
  if (exponent >= -4 && exponent < (keepPoint ? p - 1 : p)) {
    let text = fixed(x, p - 1 - exponent);
    if (!alternate) text = stripZeros(text);
    if (keepPoint && !text.includes('.')) text += '.0';
    return text;
  }
  let text = scientific(x, p - 1, alternate);
  if (!alternate) text = text.replace(/\.?0+e/, 'e');
  return text;
}

/** Python's `repr(x)` of a float: the shortest digits that round-trip, in Python's layout. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mantissa, exponentText] = Math.abs(x).toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  if (exponent < -4 || exponent >= 16) {
    const body = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    return sign + body + exponentSuffix(exponent, 'e');
  }
  let body: string;
  if (exponent < 0) body = `0.${'0'.repeat(-exponent - 1)}${digits}`;
  else if (digits.length <= exponent + 1) body = `${digits.padEnd(exponent + 1, '0')}.0`;
  else body = `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  return sign + body;
}

const SPEC = /^(?:(.)?([<>=^]))?([+\- ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s;

function group(integerPart: string, separator: string): string {
  return integerPart.replace(/\B(?=(\d{3})+(?!\d))/g, separator);
}

/** Formats one value by a Python format spec (`02d`, `.4f`, `>8.2e`, …). */
export function formatPythonValue(value: PythonValue, spec: string, field = 'value'): string {
  const match = SPEC.exec(spec);
  if (match === null) throw new PythonFormatError(`invalid format spec '${spec}' for '${field}'`);
  const [
    ,
    fillGiven,
    alignGiven,
    signGiven,
    ,
    alternateFlag,
    zeroFlag,
    widthText,
    grouping,
    precisionText,
    type,
  ] = match;
  const isInt = 'int' in value;
  const x = isInt ? value.int : value.float;
  const alternate = alternateFlag !== undefined;
  const precision = precisionText === undefined ? undefined : Number(precisionText);
  let body: string;
  const magnitude = Math.abs(x) * (type === '%' ? 100 : 1);
  if (isInt && (type === undefined || type === 'd' || type === 'n')) {
    if (precision !== undefined)
      throw new PythonFormatError(`precision not allowed in integer format spec '${spec}'`);
    body = String(Math.trunc(magnitude));
  } else if (isInt && 'bcoxX'.includes(type ?? '-')) {
    const radix = { b: 2, o: 8, x: 16, X: 16, c: 0 }[type as 'b' | 'o' | 'x' | 'X' | 'c'];
    if (radix === 0) throw new PythonFormatError(`format code 'c' is not supported for '${field}'`);
    body = (alternate ? `0${type}` : '') + Math.trunc(magnitude).toString(radix);
    if (type === 'X') body = body.toUpperCase();
  } else if (!isInt && (type === 'd' || (type !== undefined && 'bcoxXn'.includes(type)))) {
    throw new PythonFormatError(`unknown format code '${type}' for '${field}', a float (try '.4f' or '.2e')`);
  } else if (type === 's') {
    throw new PythonFormatError(`unknown format code 's' for '${field}', a number`);
  } else if (!Number.isFinite(magnitude)) {
    body = Number.isNaN(x) ? 'nan' : 'inf';
    if (type !== undefined && 'EFG'.includes(type)) body = body.toUpperCase();
    if (type === '%') body += '%';
  } else {
    switch (type) {
      case 'f':
      case 'F':
        body = fixed(magnitude, precision ?? 6);
        if (alternate && !body.includes('.')) body += '.';
        break;
      case 'e':
      case 'E':
        body = scientific(magnitude, precision ?? 6, alternate);
        if (type === 'E') body = body.toUpperCase();
        break;
      case 'g':
      case 'G':
        body = general(magnitude, precision ?? 6, alternate, false);
        if (type === 'G') body = body.toUpperCase();
        break;
      case '%':
        body = fixed(magnitude, precision ?? 6) + '%';
        break;
      default:
        // No type: ints print as ints, floats as repr() or, with a precision, 'g' that keeps a point.
        body = isInt
          ? String(Math.trunc(magnitude))
          : precision === undefined
            ? pythonFloatRepr(magnitude)
            : general(magnitude, precision, alternate, true);
    }
  }
  if (grouping !== undefined) {
    const [integerPart, ...rest] = body.split('.');
    if (/^\d+$/.test(integerPart)) body = [group(integerPart, grouping), ...rest].join('.');
  }
  const negative = x < 0 || Object.is(x, -0);
  const sign = negative ? '-' : signGiven === '+' ? '+' : signGiven === ' ' ? ' ' : '';
  const width = widthText === undefined ? 0 : Number(widthText);
  const zeroPadded = zeroFlag !== undefined && alignGiven === undefined;
  const fill = fillGiven ?? (zeroPadded ? '0' : ' ');
  const align = alignGiven ?? (zeroPadded ? '=' : '>');
  const padding = Math.max(0, width - sign.length - body.length);
  switch (align) {
    case '<':
      return sign + body + fill.repeat(padding);
    case '^':
      return fill.repeat(Math.floor(padding / 2)) + sign + body + fill.repeat(Math.ceil(padding / 2));
    case '=':
      return sign + fill.repeat(padding) + body;
    default:
      return fill.repeat(padding) + sign + body;
  }
}

/**
 * Python's `template.format(**values)` for named fields: `{name}`, `{name:spec}`, and `{{`/`}}` for braces.
 * A field not in `values` is an error naming what is there.
 */
export function formatPython(template: string, values: Readonly<Record<string, PythonValue>>): string {
  let result = '';
  let index = 0;
  while (index < template.length) {
    const char = template[index];
    if (char === '}') {
      if (template[index + 1] !== '}') throw new PythonFormatError(`single '}' in '${template}'`);
      result += '}';
      index += 2;
      continue;
    }
    if (char !== '{') {
      result += char;
      index++;
      continue;
    }
    if (template[index + 1] === '{') {
      result += '{';
      index += 2;
      continue;
    }
    const end = template.indexOf('}', index);
    if (end < 0) throw new PythonFormatError(`unclosed '{' in '${template}'`);
    const field = template.slice(index + 1, end);
    const colon = field.indexOf(':');
    const name = colon < 0 ? field : field.slice(0, colon);
    const spec = colon < 0 ? '' : field.slice(colon + 1);
    if (!/^[A-Za-z_][\w]*$/.test(name)) {
      throw new PythonFormatError(
        `field '{${field}}' in '${template}' must be a name such as {epoch} or {val_loss}`,
      );
    }
    const value = values[name];
    if (value === undefined) {
      throw new PythonFormatError(
        `'${template}' names '${name}', which is not available; available: ${Object.keys(values).join(', ')}`,
      );
    }
    result += formatPythonValue(value, spec, name);
    index = end + 1;
  }
  return result;
}
