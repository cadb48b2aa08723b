import { type Shape, sizeOf } from '../tensor/tensor.js';
import { Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions } from '../kernels/options.js';

/**
 * Flattens each sample to one axis: (batch, 28, 28) → (batch, 784). Row-major storage makes this free:
 * forward and backward return their argument unchanged.
 */
export class Flatten extends Layer {
  readonly className = 'Flatten';

  constructor(options: LayerOptions = {}) {
    checkOptions('Flatten', options, LAYER_OPTION_KEYS);
    super(options, 'flatten');
  }

  computeOutputShape(inputShape: Shape): Shape {
    return [sizeOf(inputShape)];
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
    return { ...super.getConfig(), data_format: 'channels_last' };
  }
}
