import { ReferenceKernels } from '../kernels/reference.js';

/** A shape: the size of each axis, outermost first. */
export type Shape = readonly number[];

/** Number of elements in a shape. */
export function sizeOf(shape: Shape): number {
  let size = 1;
  for (const dimension of shape) size *= dimension;
  return size;
}

/** Thrown when an array's shape or contents do not fit what an operation needs. */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

/** Nested JavaScript arrays of numbers, as {@link Tensor.toArray} returns them (a number for a scalar). */
export type NestedArray = number | NestedArray[];

/**
 * The arithmetic of the data-preparation helpers. They work on the caller's ordinary memory (never the wasm
 * heap), so the reference kernels are the right ones whatever backend trains.
 */
const kernels = new ReferenceKernels();

/** NumPy prints at most this many elements before it summarises with `...`. */
const PRINT_THRESHOLD = 1000;
/** How many leading and trailing entries of each axis a summarised print keeps (NumPy's `edgeitems`). */
const EDGE_ITEMS = 3;

/**
 * A dense row-major float32 array with a shape: what users pass to `fit`, `evaluate` and `predict`, and
 * what `predict` and `getWeights` return. Its `data` is ordinary memory owned by the caller.
 *
 * The helpers mirror what a NumPy notebook does to prepare data, each returning a new tensor:
 *
 * | NumPy | warmstart |
 * | --- | --- |
 * | `X.astype(np.float32)` (from uint8) | `tensor(bytes, shape)` or `x.astype('float32')` |
 * | `X / 255.0` | `x.div(255)` (`x.scale(1 / 255)` multiplies) |
 * | `X[:5000]`, `X[5000:]`, `X[-200:]` | `x.slice(0, 5000)`, `x.slice(5000)`, `x.slice(-200)` |
 * | `X[[3, 1, 4]]`, `np.take(X, idx, axis=0)` | `x.take([3, 1, 4])` (alias `gather`) |
 * | `X[y != 5]` | `x.filter(y, (label) => label !== 5)` |
 * | `y[y != 5]` | `y.filter((label) => label !== 5)` |
 * | `np.where(y > 6, y - 2, y)` (`y[y > 6] -= 2`) | `y.map((label) => (label > 6 ? label - 2 : label))` |
 * | `(y == 6).astype(np.float32)` | `y.map((label) => (label === 6 ? 1 : 0))` |
 * | `y_proba.argmax(axis=-1)` | `yProba.argmax()` |
 * | `np.concatenate([a, b])` | `concat([a, b])` |
 * | `X.shape`, `len(X)` | `x.shape`, `x.rows` |
 * | `print(X)` | `console.log(String(x))` |
 */
export class Tensor {
  /** The elements, row-major. */
  readonly data: Float32Array;
  /** The size of each axis. */
  readonly shape: Shape;

  /** Wraps `data` (not copied) with `shape`; their sizes must agree. */
  constructor(data: Float32Array, shape: Shape) {
    for (const dimension of shape) {
      if (!Number.isInteger(dimension) || dimension < 0) {
        throw new ShapeError(`invalid shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
      }
    }
    if (sizeOf(shape) !== data.length) {
      throw new ShapeError(
        `shape [${shape.join(', ')}] needs ${sizeOf(shape)} elements, data has ${data.length}`,
      );
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
  }

  /** The element type: always `'float32'` (what every kernel computes in). */
  get dtype(): 'float32' {
    return 'float32';
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of rows (the first axis), the batch dimension in a model's inputs: NumPy's `len(x)`. */
  get rows(): number {
    return this.shape.length === 0 ? 1 : this.shape[0];
  }

  /** Elements per row (the product of every axis but the first). */
  private get rowLength(): number {
    return this.shape.length === 0 ? 1 : sizeOf(this.shape.slice(1));
  }

  /** The same data seen with another shape of the same size; one axis may be `-1` (inferred, as NumPy). */
  reshape(shape: Shape): Tensor {
    const unknown = shape.filter((dimension) => dimension === -1).length;
    if (unknown > 1) throw new ShapeError(`reshape: at most one axis may be -1, got [${shape.join(', ')}]`);
    if (unknown === 1) {
      const known = sizeOf(shape.filter((dimension) => dimension !== -1));
      if (known === 0 || this.size % known !== 0) {
        throw new ShapeError(
          `reshape: cannot reshape ${this.size} elements of shape [${this.shape.join(', ')}] into [${shape.join(', ')}]`,
        );
      }
      shape = shape.map((dimension) => (dimension === -1 ? this.size / known : dimension));
    }
    return new Tensor(this.data, shape);
  }

  /**
   * Rows `[start, end)` along the first axis, sharing this tensor's memory (NumPy's basic slicing `x[start:end]`,
   * which is a view too). Negative indices count from the end (`slice(-200)` is the last 200 rows); indices
   * past either end are clamped, as in Python.
   */
  slice(start: number, end: number = this.rows): Tensor {
    if (!Number.isInteger(start) || !Number.isInteger(end)) {
      throw new ShapeError(`slice: start and end must be integers, got ${start} and ${end}`);
    }
    const resolve = (index: number): number =>
      index < 0 ? Math.max(0, this.rows + index) : Math.min(index, this.rows);
    const from = resolve(start);
    const to = Math.max(from, resolve(end));
    const rowLength = this.rowLength;
    return new Tensor(this.data.subarray(from * rowLength, to * rowLength), [
      to - from,
      ...this.shape.slice(1),
    ]);
  }

  /**
   * The rows at `indices`, in that order, copied (NumPy's `x[indices]` / `np.take(x, indices, axis=0)`).
   * Negative indices count from the end.
   */
  take(indices: ArrayLike<number>): Tensor {
    if (this.shape.length === 0) throw new ShapeError('take: a scalar has no rows');
    const rows = this.rows;
    const resolved = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i];
      if (!Number.isInteger(index) || index < -rows || index >= rows) {
        throw new ShapeError(`take: index ${index} is out of range for ${rows} rows`);
      }
      resolved[i] = index < 0 ? rows + index : index;
    }
    const rowLength = this.rowLength;
    const data = new Float32Array(resolved.length * rowLength);
    if (resolved.length > 0 && rowLength > 0)
      kernels.gatherRows(this.data, resolved, 0, resolved.length, rowLength, data);
    return new Tensor(data, [resolved.length, ...this.shape.slice(1)]);
  }

  /** The same as {@link take} (TensorFlow's name). */
  gather(indices: ArrayLike<number>): Tensor {
    return this.take(indices);
  }

  /**
   * The rows that pass a test, copied (NumPy's boolean indexing `x[mask]`):
   * - `y.filter((label) => label !== 5)`: rows of a tensor with one value per row whose value passes;
   * - `x.filter(y, (label) => label !== 5)`: rows of `x` whose row in `y` passes (`X[y != 5]`);
   * - `x.filter(mask)`: rows where `mask` (one boolean or 0/1 per row) is true.
   */
  filter(predicate: (value: number, row: number) => boolean): Tensor;
  filter(by: Tensor, predicate: (value: number, row: number) => boolean): Tensor;
  filter(mask: ArrayLike<boolean | number>): Tensor;
  filter(
    first: ((value: number, row: number) => boolean) | Tensor | ArrayLike<boolean | number>,
    predicate?: (value: number, row: number) => boolean,
  ): Tensor {
    let keep: (row: number) => boolean;
    if (typeof first === 'function') {
      const values = this.oneValuePerRow('filter');
      keep = (row) => first(values[row], row);
    } else if (first instanceof Tensor) {
      if (predicate === undefined) throw new TypeError('filter(by, predicate): the predicate is missing');
      if (first.rows !== this.rows) {
        throw new ShapeError(`filter: ${this.rows} rows to filter but ${first.rows} rows to test`);
      }
      const values = first.oneValuePerRow('filter');
      keep = (row) => predicate(values[row], row);
    } else {
      if (first.length !== this.rows) {
        throw new ShapeError(`filter: ${this.rows} rows but a mask of ${first.length} values`);
      }
      keep = (row) => Boolean(first[row]);
    }
    const indices: number[] = [];
    for (let row = 0; row < this.rows; row++) if (keep(row)) indices.push(row);
    return this.take(indices);
  }

  /** The row indices whose value passes `predicate` (NumPy's `np.flatnonzero(condition)`). */
  indicesWhere(predicate: (value: number, row: number) => boolean): number[] {
    const values = this.oneValuePerRow('indicesWhere');
    const indices: number[] = [];
    for (let row = 0; row < values.length; row++) if (predicate(values[row], row)) indices.push(row);
    return indices;
  }

  /** The values of a tensor of shape `[n]` or `[n, 1]`: one per row. */
  private oneValuePerRow(method: string): Float32Array {
    if (this.shape.length === 0 || this.rowLength !== 1) {
      throw new ShapeError(
        `${method}: needs one value per row (shape [n] or [n, 1], labels say), got shape [${this.shape.join(', ')}]`,
      );
    }
    return this.data;
  }

  /** Each element through `fn` (with its flat index), in a new tensor of the same shape: NumPy's vectorised expressions. */
  map(fn: (value: number, index: number) => number): Tensor {
    // The function is the caller's: it cannot be a kernel, and it runs once per element.
    const data = new Float32Array(this.size);
    for (let i = 0; i < data.length; i++) data[i] = fn(this.data[i], i);
    return new Tensor(data, this.shape);
  }

  /** Every element multiplied by `factor`, in a new tensor (`x * factor`). */
  scale(factor: number): Tensor {
    if (!Number.isFinite(factor)) throw new RangeError(`scale: the factor must be finite, got ${factor}`);
    const data = this.data.slice();
    kernels.scale(data, factor);
    return new Tensor(data, this.shape);
  }

  /** Every element divided by `divisor`, in a new tensor: `x.div(255)` is the notebook's `X / 255.0`. */
  div(divisor: number): Tensor {
    if (!Number.isFinite(divisor) || divisor === 0)
      throw new RangeError(`div: the divisor must be finite and non-zero, got ${divisor}`);
    const data = this.data.slice();
    kernels.divideByScalar(data, divisor);
    return new Tensor(data, this.shape);
  }

  /**
   * A float32 copy: NumPy's `astype(np.float32)`. Tensors are float32 already; bytes (uint8 images) become a
   * tensor through {@link tensor}, which converts them.
   */
  astype(dtype: 'float32'): Tensor {
    if (dtype !== 'float32')
      throw new TypeError(`astype: warmstart tensors are float32, got '${String(dtype)}'`);
    return this.clone();
  }

  /**
   * The index of the largest value along the last axis (the first one on ties), as NumPy's `argmax(axis=-1)`:
   * predicted classes from `predict`'s probabilities. Shape: this shape without its last axis.
   */
  argmax(axis: -1 = -1): Tensor {
    if (axis !== -1) throw new ShapeError(`argmax: only the last axis (-1) is supported, got ${axis}`);
    if (this.shape.length === 0) throw new ShapeError('argmax: a scalar has no axis');
    const width = this.shape[this.shape.length - 1];
    if (width === 0)
      throw new ShapeError(`argmax: the last axis of shape [${this.shape.join(', ')}] is empty`);
    const rows = this.size / width;
    const indices = new Int32Array(rows);
    kernels.argmaxRows(this.data, rows, width, indices);
    return new Tensor(Float32Array.from(indices), this.shape.slice(0, -1));
  }

  /** A deep copy. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /** The value at the given indices, one per axis. */
  get(...indices: number[]): number {
    if (indices.length !== this.shape.length) {
      throw new ShapeError(`get needs ${this.shape.length} indices, got ${indices.length}`);
    }
    let offset = 0;
    for (let axis = 0; axis < indices.length; axis++) {
      const index = indices[axis];
      if (!Number.isInteger(index) || index < 0 || index >= this.shape[axis]) {
        throw new ShapeError(`index ${index} out of range for axis ${axis} of size ${this.shape[axis]}`);
      }
      offset = offset * this.shape[axis] + index;
    }
    return this.data[offset];
  }

  /** The elements as nested JavaScript arrays (NumPy's `tolist()`); a scalar gives a number. */
  toArray(): NestedArray {
    const build = (axis: number, offset: number): NestedArray => {
      if (axis === this.shape.length) return this.data[offset];
      const stride = sizeOf(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis] }, (_, i) => build(axis + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /**
   * The shape, then the values as NumPy prints them: nested brackets, and past 1,000 elements only the first
   * and last three entries of each axis around `...`. E.g. `Tensor(shape=[55000, 28, 28], dtype=float32)`
   * followed by `[[[0, 0, 0, ..., 0, 0, 0], …`.
   */
  toString(): string {
    const summarise = this.size > PRINT_THRESHOLD;
    const format = (value: number): string =>
      Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
    const build = (axis: number, offset: number, indent: string): string => {
      if (axis === this.shape.length) return format(this.data[offset]);
      const length = this.shape[axis];
      const stride = sizeOf(this.shape.slice(axis + 1));
      const shown =
        summarise && length > 2 * EDGE_ITEMS
          ? [
              ...Array.from({ length: EDGE_ITEMS }, (_, i) => i),
              -1,
              ...Array.from({ length: EDGE_ITEMS }, (_, i) => length - EDGE_ITEMS + i),
            ]
          : Array.from({ length }, (_, i) => i);
      const last = axis === this.shape.length - 1;
      const parts = shown.map((i) => (i < 0 ? '...' : build(axis + 1, offset + i * stride, indent + ' ')));
      const separator = last ? ', ' : `,${'\n'.repeat(this.shape.length - axis - 1)}${indent} `;
      return `[${parts.join(separator)}]`;
    };
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=float32)\n${build(0, 0, '')}`;
  }
}

/** Something a model accepts as input or target: a tensor, nested number arrays, or `{ data, shape }`. */
export type TensorLike =
  Tensor | { data: ArrayLike<number>; shape: Shape } | NestedArray[] | ArrayLike<number>;

/**
 * Makes a float32 tensor from numbers, nested arrays, or typed arrays. Typed arrays of other types (uint8
 * images, say) are converted, which is NumPy's `astype(np.float32)`: `tensor(images, [count, 28, 28])`.
 * Without a shape, nested arrays give their own shape and flat data a 1-D one.
 */
export function tensor(values: ArrayLike<number> | NestedArray[], shape?: Shape): Tensor {
  if (Array.isArray(values) && values.length > 0 && Array.isArray(values[0])) {
    const inferred: number[] = [];
    let level: unknown = values;
    while (Array.isArray(level)) {
      inferred.push(level.length);
      level = level[0];
    }
    const flat = (values as unknown[]).flat(Infinity) as number[];
    if (shape === undefined && flat.length !== sizeOf(inferred)) {
      throw new ShapeError(
        `tensor: nested arrays must be rectangular: the first row gives shape [${inferred.join(', ')}] (${sizeOf(inferred)} values), the arrays hold ${flat.length}`,
      );
    }
    return new Tensor(Float32Array.from(flat), shape ?? inferred);
  }
  const data = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  return new Tensor(data, shape ?? [data.length]);
}

/**
 * Concatenates tensors along the first axis (NumPy's `np.concatenate(tensors)`), copying. Every tensor must
 * have the same shape after its first axis.
 */
export function concat(tensors: readonly Tensor[]): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const rest = tensors[0].shape.slice(1);
  let rows = 0;
  for (const [index, part] of tensors.entries()) {
    if (part.shape.length === 0 || part.shape.slice(1).join(',') !== rest.join(',')) {
      throw new ShapeError(
        `concat: tensor ${index} has shape [${part.shape.join(', ')}], the first [${tensors[0].shape.join(', ')}]: all must agree after the first axis`,
      );
    }
    rows += part.rows;
  }
  const data = new Float32Array(rows * sizeOf(rest));
  let offset = 0;
  for (const part of tensors) {
    data.set(part.data, offset);
    offset += part.size;
  }
  return new Tensor(data, [rows, ...rest]);
}

/**
 * Converts anything {@link TensorLike} to a {@link Tensor} (no copy when it already is one).
 * @param what - names the argument in the error (`fit: inputs`)
 * @throws ShapeError for a value that is not an array of numbers or a `{ data, shape }` pair
 */
export function toTensor(value: TensorLike, what = 'value'): Tensor {
  if (value instanceof Tensor) return value;
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return tensor(value as ArrayLike<number>);
  if (
    typeof value === 'object' &&
    value !== null &&
    'data' in value &&
    'shape' in value &&
    value.data !== undefined &&
    Array.isArray(value.shape)
  ) {
    return tensor(value.data, value.shape);
  }
  const description =
    value === null
      ? 'null'
      : typeof value === 'object'
        ? `an object with keys ${Object.keys(value).join(', ') || '(none)'}`
        : typeof value;
  throw new ShapeError(
    `${what} must be a Tensor, nested arrays of numbers, a typed array, or { data, shape }; got ${description}`,
  );
}
