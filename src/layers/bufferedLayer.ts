import { sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer } from './layer.js';

/**
 * A layer that writes each pass into buffers of its own, one sample per row: `output` for the forward pass,
 * `inputGradient` for ∂L/∂input. Both grow to the largest batch seen and are freed by {@link Layer.dispose}.
 *
 * A subclass computes ∂L/∂input in {@link BufferedLayer.inputGradientFor}; `backward` calls it only when the
 * input gradient is asked for (these layers have no weight gradients).
 */
export abstract class BufferedLayer extends Layer {
  /** The forward pass's output, {@link BufferedLayer.outputLength} elements per sample. */
  protected readonly output = new BatchBuffer(
    () => this.kernels,
    () => this.outputLength,
  );
  /** ∂L/∂input, one input sample per row. */
  protected readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );

  /** Elements of one output sample: the input's, for a layer that keeps the shape. */
  protected get outputLength(): number {
    return sizeOf(this.inputShape ?? []);
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
    preActivation: boolean,
  ): Float32Array | null {
    if (!computeInputGradient) return null;
    return this.inputGradientFor(outputGradient, batch, preActivation);
  }

  /**
   * ∂L/∂input of the last forward pass from ∂L/∂output (∂L/∂pre-activation when `preActivation`: the loss
   * fused this layer's activation).
   */
  protected abstract inputGradientFor(
    outputGradient: Float32Array,
    batch: number,
    preActivation: boolean,
  ): Float32Array;

  override dispose(): void {
    this.output.release();
    this.inputGradient.release();
    super.dispose();
  }
}
