import { DisposedError } from '../kernels/errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { OwnedMemory } from './ownership.js';
import { ShapeError, type Shape, sizeOf, Tensor } from './tensor.js';

/**
 * A weight: its value and its gradient live in the kernels' memory from the moment it is created, so training
 * reads and writes them in place.
 *
 * The variable owns that memory: {@link Variable.dispose} frees it (its layer does so when it is disposed), and
 * a variable dropped without `dispose` has it freed after garbage collection. `value` and `gradient` are views
 * into kernel memory, valid while the variable is undisposed and reachable: keep the variable (or its layer
 * or model), not only the view. After `dispose` both throw {@link DisposedError}.
 */
export class Variable {
  /** Short name inside its layer (`kernel`, `bias`). */
  readonly name: string;
  /** Shape of the weight. */
  readonly shape: Shape;
  /** The backend whose memory holds the value. */
  readonly kernels: Kernels;
  /** Full path, `layerName/name`, set by the owning layer. */
  path: string;
  private readonly memory = new OwnedMemory(this);
  private valueBuffer: Float32Array | null;
  private gradientBuffer: Float32Array | null;

  constructor(name: string, shape: Shape, kernels: Kernels, path: string = name) {
    this.name = name;
    this.shape = Object.freeze([...shape]);
    this.kernels = kernels;
    this.path = path;
    this.valueBuffer = this.memory.alloc(kernels, sizeOf(shape));
    this.gradientBuffer = this.memory.alloc(kernels, sizeOf(shape));
  }

  /** The current value, in the owning backend's memory. */
  get value(): Float32Array {
    if (this.valueBuffer === null) throw new DisposedError('variable', this.path, 'use its value');
    return this.valueBuffer;
  }

  /** The gradient of the last backward pass. */
  get gradient(): Float32Array {
    if (this.gradientBuffer === null) throw new DisposedError('variable', this.path, 'use its gradient');
    return this.gradientBuffer;
  }

  /** Whether {@link Variable.dispose} was called. */
  get isDisposed(): boolean {
    return this.valueBuffer === null;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
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

  /** Returns the storage to the backend; the variable is unusable afterwards. Calling it again does nothing. */
  dispose(): void {
    this.memory.freeAll();
    this.valueBuffer = null;
    this.gradientBuffer = null;
  }
}
