import type { Conv2DGeometry } from '../kernels/kernels.js';
import { BufferedLayer } from './bufferedLayer.js';

/** How a pooling window reduces what it covers: to its largest value, or to its mean. */
export type PoolingReduction = 'max' | 'average';

/**
 * What the window poolings and the global poolings share: they run on the pooling kernels over a window
 * geometry (the global ones with one window covering the whole image), and differ only in that geometry.
 *
 * Max: `y` is the largest value under each window; backward sends each window's ∂L/∂y to the (first)
 * position holding the maximum. Average: `y` is the mean under each window (padding not counted); backward
 * spreads each window's ∂L/∂y / count over its positions. Overlapping windows add up.
 */
export abstract class WindowPooling2D extends BufferedLayer {
  /** How each window is reduced. */
  protected abstract readonly reduction: PoolingReduction;
  /** The windows over one input image (set when built); `batch` is set at each call. */
  protected geometry: Conv2DGeometry | null = null;
  /** The input of the last forward pass (max pooling's backward needs it). */
  private lastInput: Float32Array | null = null;

  protected override get outputLength(): number {
    const g = this.geometry!;
    return g.outHeight * g.outWidth * g.outChannels;
  }

  /** The geometry with the batch set (built layers only). */
  protected geometryOf(batch: number): Conv2DGeometry {
    if (this.geometry === null) throw new Error(`layer '${this.name}' is not built yet`);
    this.geometry.batch = batch;
    return this.geometry;
  }

  forward(input: Float32Array, batch: number): Float32Array {
    const y = this.output.rows(batch);
    if (this.reduction === 'max') {
      this.kernels.maxPool2dForward(input, y, this.geometryOf(batch));
      this.lastInput = input;
    } else {
      this.kernels.averagePool2dForward(input, y, this.geometryOf(batch));
    }
    return y;
  }

  protected inputGradientFor(outputGradient: Float32Array, batch: number): Float32Array {
    if (this.reduction === 'average') {
      const dx = this.inputGradient.rows(batch);
      this.kernels.averagePool2dBackward(outputGradient, dx, this.geometryOf(batch));
      return dx;
    }
    return this.maxBackward(outputGradient, batch, false);
  }

  /**
   * Max pooling folds a ReLU before it: the ReLU's mask at the position a window routes to is `x > 0`, and x
   * there is the window's maximum, so routing only the windows whose maximum is > 0 gives ∂L/∂z, bit for bit
   * what the two backward passes give, in one pass over the input's size instead of two.
   */
  override backwardThroughRelu(outputGradient: Float32Array, batch: number): Float32Array | null {
    return this.reduction === 'max' ? this.maxBackward(outputGradient, batch, true) : null;
  }

  private maxBackward(outputGradient: Float32Array, batch: number, positiveOnly: boolean): Float32Array {
    if (this.lastInput === null) throw new Error(`${this.className} '${this.name}': backward before forward`);
    const dx = this.inputGradient.rows(batch);
    const g = this.geometryOf(batch);
    this.kernels.maxPool2dBackward(
      this.lastInput,
      this.output.rows(batch),
      outputGradient,
      dx,
      g,
      positiveOnly,
    );
    return dx;
  }

  override dispose(): void {
    this.geometry = null;
    this.lastInput = null;
    super.dispose();
  }
}
