import { ShapeError, type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions } from '../kernels/options.js';
import { Merge } from './merge.js';

/**
 * Adds its inputs elementwise, as Keras's `Add`: `y = x₁ + x₂ + …`, so `∂L/∂xᵢ = ∂L/∂y` for every input.
 * The inputs must have the same shape (no broadcasting).
 */
export class Add extends Merge {
  readonly className = 'Add';
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShapes?.[0] ?? []),
  );

  constructor(options: LayerOptions = {}) {
    checkOptions('Add', options, LAYER_OPTION_KEYS);
    super(options, 'add');
  }

  computeMergedShape(inputShapes: readonly Shape[]): Shape {
    const first = inputShapes[0];
    for (const shape of inputShapes) {
      if (shape.join(',') !== first.join(',')) {
        throw new ShapeError(
          `Add '${this.name}' needs inputs of one shape, got ${inputShapes.map((s) => `[${s.join(', ')}]`).join(', ')}`,
        );
      }
    }
    return first;
  }

  forwardMerged(inputs: readonly Float32Array[], batch: number): Float32Array {
    const n = batch * sizeOf(this.inputShapes![0]);
    const output = this.output.rows(batch);
    this.kernels.addElementwise(inputs[0], inputs[1], output, n);
    for (let i = 2; i < inputs.length; i++) this.kernels.addElementwise(output, inputs[i], output, n);
    return output;
  }

  backwardMerged(
    outputGradient: Float32Array,
    _batch: number,
    computeInputGradients: readonly boolean[],
  ): Array<Float32Array | null> {
    return computeInputGradients.map((needed) => (needed ? outputGradient : null));
  }

  override dispose(): void {
    this.output.release();
    super.dispose();
  }
}
