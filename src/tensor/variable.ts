import type { Kernels } from '../kernels/kernels.js';
import { ShapeError, type Shape, sizeOf, Tensor } from './tensor.js';

/**
 * A weight: its value and its gradient live in the kernels' memory from the moment it is created, so training
 * reads and writes them in place.
 */
export class Variable {
  /** Short name inside its layer (`kernel`, `bias`). */
  readonly name: string;
  /** Shape of the weight. */
  readonly shape: Shape;
  /** The current value, in the owning backend's memory. */
  readonly value: Float32Array;
  /** The gradient of the last backward pass. */
  readonly gradient: Float32Array;
  /** The backend whose memory holds the value. */
  readonly kernels: Kernels;
  /** Full path, `layerName/name`, set by the owning layer. */
  path: string;

  constructor(name: string, shape: Shape, kernels: Kernels, path: string = name) {
    this.name = name;
    this.shape = Object.freeze([...shape]);
    this.kernels = kernels;
    this.value = kernels.alloc(sizeOf(shape));
    this.gradient = kernels.alloc(sizeOf(shape));
    this.path = path;
  }

  /** Number of elements. */
  get size(): number {
    return this.value.length;
  }

  /** A copy of the current value. */
  read(): Tensor {
    return new Tensor(this.value.slice(), this.shape);
  }

  /** Overwrites the value; shapes must match exactly and every element must be finite. */
  assign(values: Tensor | Float32Array): void {
    const data = values instanceof Tensor ? values.data : values;
    if (values instanceof Tensor && values.shape.join(',') !== this.shape.join(',')) {
      throw new ShapeError(
        `weight '${this.path}' has shape [${this.shape.join(', ')}], got a value of shape [${values.shape.join(', ')}]`,
      );
    }
    if (data.length !== this.value.length) {
      throw new ShapeError(`weight '${this.path}' has ${this.value.length} elements, got ${data.length}`);
    }
    this.value.set(data);
  }

  /** Returns the storage to the backend; the variable is unusable afterwards. */
  dispose(): void {
    this.kernels.free(this.value);
    this.kernels.free(this.gradient);
  }
}
