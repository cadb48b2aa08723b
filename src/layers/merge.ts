import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/kernels.js';
import { ShapeError, type Shape } from '../tensor/tensor.js';
import { Layer } from './layer.js';

/**
 * Base of layers that combine several inputs into one (Keras's `Merge`: `Add`, `Concatenate`). They live in
 * functional models, which call {@link Merge.forwardMerged} and {@link Merge.backwardMerged} with one buffer
 * per input; the single-input `forward`/`backward` of {@link Layer} are errors.
 */
export abstract class Merge extends Layer {
  /** Per-sample shapes of the inputs, once built. */
  inputShapes: Shape[] | null = null;

  /** Per-sample output shape for the inputs' shapes; throws {@link ShapeError} when they cannot be merged. */
  abstract computeMergedShape(inputShapes: readonly Shape[]): Shape;

  /** Forward over `batch` rows of each input; returns the output buffer (owned by the layer). */
  abstract forwardMerged(inputs: readonly Float32Array[], batch: number, training: boolean): Float32Array;

  /**
   * Backward: ∂loss/∂input for each input whose flag in `computeInputGradients` is set, else null. Returned
   * buffers may be shared (Add passes the same gradient to every input): callers must not write to them.
   */
  abstract backwardMerged(
    outputGradient: Float32Array,
    batch: number,
    computeInputGradients: readonly boolean[],
  ): Array<Float32Array | null>;

  /**
   * Builds for the inputs' shapes. A merge layer has no single input shape, so `inputShape` stays null and
   * {@link Merge.inputShapes} holds them all.
   */
  buildMerged(inputShapes: readonly Shape[], kernels: Kernels = getKernels()): void {
    if (inputShapes.length < 2) {
      throw new ShapeError(
        `${this.className} '${this.name}' needs at least 2 inputs, got ${inputShapes.length}`,
      );
    }
    this.computeMergedShape(inputShapes);
    const frozen = inputShapes.map((shape) => Object.freeze([...shape]));
    if (this.built) {
      const same =
        this.inputShapes !== null &&
        this.inputShapes.length === frozen.length &&
        this.inputShapes.every((shape, i) => shape.join(',') === frozen[i].join(','));
      if (!same) {
        throw new ShapeError(
          `layer '${this.name}' was built for inputs ${describe(this.inputShapes ?? [])}, cannot take ${describe(frozen)}`,
        );
      }
      return;
    }
    this.inputShapes = frozen;
    super.build(frozen[0], kernels);
    this.inputShape = null;
  }

  computeOutputShape(_inputShape: Shape): Shape {
    throw new ShapeError(this.singleInputMessage());
  }

  forward(): Float32Array {
    throw new ShapeError(this.singleInputMessage());
  }

  backward(): Float32Array | null {
    throw new ShapeError(this.singleInputMessage());
  }

  private singleInputMessage(): string {
    return `${this.className} '${this.name}' merges several inputs: apply it to a list of tensors in a functional Model (layer.apply([a, b]))`;
  }
}

function describe(shapes: readonly Shape[]): string {
  return shapes.map((shape) => `[${shape.join(', ')}]`).join(', ');
}
