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

/**
 * A dense row-major float32 array with a shape: what users pass to `fit`, `evaluate` and `predict`, and
 * what `predict` and `getWeights` return. Its `data` is ordinary memory owned by the caller.
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

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of rows (the first axis), the batch dimension in a model's inputs. */
  get rows(): number {
    return this.shape.length === 0 ? 1 : this.shape[0];
  }

  /** The same data seen with another shape of the same size. */
  reshape(shape: Shape): Tensor {
    return new Tensor(this.data, shape);
  }

  /** Rows `[start, end)` along the first axis, sharing this tensor's memory. */
  slice(start: number, end: number = this.rows): Tensor {
    const rowLength = this.rows === 0 ? 0 : this.size / this.rows;
    const from = Math.max(0, Math.min(start, this.rows));
    const to = Math.max(from, Math.min(end, this.rows));
    return new Tensor(this.data.subarray(from * rowLength, to * rowLength), [
      to - from,
      ...this.shape.slice(1),
    ]);
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

  /** The elements as nested JavaScript arrays (for printing and tests). */
  toArray(): unknown {
    const build = (axis: number, offset: number): unknown => {
      if (axis === this.shape.length) return this.data[offset];
      const stride = sizeOf(this.shape.slice(axis + 1));
      return Array.from({ length: this.shape[axis] }, (_, i) => build(axis + 1, offset + i * stride));
    };
    return build(0, 0);
  }
}

/** Something a model accepts as input or target. */
export type TensorLike = Tensor | { data: ArrayLike<number>; shape: Shape };

/**
 * Makes a float32 tensor from numbers, nested arrays, or typed arrays (uint8 images included).
 * Without a shape, nested arrays give their own shape and flat data a 1-D one.
 */
export function tensor(values: ArrayLike<number> | unknown[], shape?: Shape): Tensor {
  if (Array.isArray(values) && values.length > 0 && Array.isArray(values[0])) {
    const inferred: number[] = [];
    let level: unknown = values;
    while (Array.isArray(level)) {
      inferred.push(level.length);
      level = level[0];
    }
    const flat = (values as unknown[]).flat(Infinity) as number[];
    return new Tensor(Float32Array.from(flat), shape ?? inferred);
  }
  const data = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  return new Tensor(data, shape ?? [data.length]);
}

/** Converts anything {@link TensorLike} to a {@link Tensor} (no copy when it already is one). */
export function toTensor(value: TensorLike): Tensor {
  if (value instanceof Tensor) return value;
  return tensor(value.data, value.shape);
}
