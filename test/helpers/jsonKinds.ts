/** A number as its JSON literal says: `0` is an `int` in Python, `0.0` and `1e-7` are `float`s. */
export interface NumberLiteral {
  kind: 'int' | 'float';
  value: number;
}

const MARK = '\u0000number:';

/**
 * Parses JSON keeping each number's literal kind: numbers come back as {@link NumberLiteral}s. What Python's
 * `json.loads` makes of a number depends on its literal only, so this tells what Keras will see.
 */
export function parseWithNumberKinds(text: string): unknown {
  // Wrap every number literal outside strings in a marker string, then parse normally.
  const marked = text.replace(
    /"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g,
    (token, number: string | undefined) =>
      number === undefined ? token : JSON.stringify(`${MARK}${number}`),
  );
  return JSON.parse(marked, (_key, item: unknown) =>
    typeof item === 'string' && item.startsWith(MARK)
      ? {
          kind: /[.eE]/.test(item.slice(MARK.length)) ? 'float' : 'int',
          value: Number(item.slice(MARK.length)),
        }
      : item,
  );
}

/** Whether a parsed value is a {@link NumberLiteral}. */
export function isNumberLiteral(value: unknown): value is NumberLiteral {
  return (
    typeof value === 'object' &&
    value !== null &&
    'kind' in value &&
    'value' in value &&
    Object.keys(value).length === 2
  );
}

/** Every number in a parsed tree with its path (`config.learning_rate`, `config.values[1]`). */
export function numberLiterals(tree: unknown, path = ''): Array<{ path: string; literal: NumberLiteral }> {
  if (isNumberLiteral(tree)) return [{ path, literal: tree }];
  if (Array.isArray(tree)) return tree.flatMap((item, i) => numberLiterals(item, `${path}[${i}]`));
  if (typeof tree === 'object' && tree !== null)
    return Object.entries(tree).flatMap(([key, item]) =>
      numberLiterals(item, path === '' ? key : `${path}.${key}`),
    );
  return [];
}
