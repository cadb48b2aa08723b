import { ShapeError, type Shape } from '../tensor/tensor.js';
import { Layer } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link InputLayer}. */
export interface InputLayerOptions {
  /** Per-sample shape, batch excluded (Keras's `shape`). */
  shape: Shape;
  /** Unique name (default `input_layer`, …). */
  name?: string;
}

/** The keys of {@link InputLayerOptions}. */
const INPUT_LAYER_OPTION_KEYS = { shape: true, name: true } as const satisfies OptionKeys<InputLayerOptions>;

/** Declares a model's per-sample input shape, as `keras.Input(shape)` or `InputLayer` in a Sequential. */
export class InputLayer extends Layer {
  readonly className = 'InputLayer';

  constructor(options: InputLayerOptions) {
    checkOptions('InputLayer', options, INPUT_LAYER_OPTION_KEYS);
    super({ name: options.name, inputShape: options.shape }, 'input_layer');
    for (const dimension of options.shape) {
      if (!Number.isInteger(dimension) || dimension <= 0) {
        throw new ShapeError(
          `InputLayer: shape must hold positive integers, got [${options.shape.join(', ')}]`,
        );
      }
    }
  }

  computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
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
    return {
      batch_shape: [null, ...(this.inputShape ?? [])],
      dtype: 'float32',
      sparse: false,
      name: this.name,
    };
  }
}
