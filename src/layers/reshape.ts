import { ShapeError, type Shape, sizeOf } from '../tensor/tensor.js';
import { Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link Reshape}. */
export interface ReshapeOptions extends LayerOptions {
  /** Per-sample output shape (batch excluded); one axis may be −1, inferred from the input's size. */
  targetShape: readonly number[];
}

/** The keys of {@link ReshapeOptions}. */
const RESHAPE_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  targetShape: true,
} as const satisfies OptionKeys<ReshapeOptions>;

/**
 * Gives each sample another shape of the same size, as Keras's `Reshape` (`[28, 28]` → `[28, 28, 1]`).
 * Row-major storage makes this free: forward and backward return their argument unchanged.
 */
export class Reshape extends Layer {
  readonly className = 'Reshape';
  /** The target shape as given (with its −1, if any). */
  readonly targetShape: readonly number[];

  constructor(options: ReshapeOptions) {
    checkOptions('Reshape', options, RESHAPE_OPTION_KEYS);
    super(options, 'reshape');
    const target = options.targetShape;
    if (
      !Array.isArray(target) ||
      target.length === 0 ||
      !target.every((d) => Number.isInteger(d) && (d > 0 || d === -1)) ||
      target.filter((d) => d === -1).length > 1
    ) {
      throw new RangeError(
        `Reshape: target_shape must be a non-empty list of positive integers with at most one -1, got ${JSON.stringify(target)}`,
      );
    }
    this.targetShape = Object.freeze([...target]);
  }

  computeOutputShape(inputShape: Shape): Shape {
    const size = sizeOf(inputShape);
    const known = this.targetShape.reduce((product, d) => (d === -1 ? product : product * d), 1);
    const unknown = this.targetShape.indexOf(-1);
    if (unknown >= 0 ? size % known !== 0 : known !== size) {
      throw new ShapeError(
        `Reshape '${this.name}': cannot reshape samples of shape [${inputShape.join(', ')}] (${size} values) to [${this.targetShape.join(', ')}]`,
      );
    }
    return this.targetShape.map((d) => (d === -1 ? size / known : d));
  }

  forward(input: Float32Array): Float32Array {
    return input;
  }

  backward(
    outputGradient: Float32Array,
    _batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
  ): Float32Array | null {
    return computeInputGradient ? outputGradient : null;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), target_shape: [...this.targetShape] };
  }
}
