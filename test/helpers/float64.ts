import { ReferenceKernels } from '../../src/kernels/reference.js';

/**
 * The reference kernels computing in float64: they only index their arrays, so handing them Float64Arrays
 * runs the very same code in double precision — what finite-difference gradient checks need.
 */
export class Float64Kernels extends ReferenceKernels {
  override readonly name = 'reference-float64';
  override alloc(length: number): Float32Array {
    return new Float64Array(length) as unknown as Float32Array;
  }
}

/** A float64 array typed as the kernels' storage type. */
export function float64(values: ArrayLike<number>): Float32Array {
  return Float64Array.from(values) as unknown as Float32Array;
}
