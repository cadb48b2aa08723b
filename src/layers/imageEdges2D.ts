import { type Shape, sizeOf } from '../tensor/tensor.js';
import { BufferedLayer } from './bufferedLayer.js';
import type { Pair } from './spatial.js';

/** The two kernels that move an image's edges; each is the other's backward. */
type EdgeKernel = 'zeroPad2d' | 'crop2d';

/**
 * What ZeroPadding2D and Cropping2D share: rows and columns added at (or removed from) each side of every
 * image by one kernel, and the other kernel taking ∂L/∂y back to the input's shape.
 */
export abstract class ImageEdges2D extends BufferedLayer {
  /** ((top, bottom), (left, right)): the rows and columns added or removed. */
  protected abstract get sides(): readonly [Pair, Pair];
  /** The kernel of the forward pass. */
  protected abstract readonly forwardKernel: EdgeKernel;

  protected override get outputLength(): number {
    return sizeOf(this.computeOutputShape(this.inputShape!));
  }

  forward(input: Float32Array, batch: number): Float32Array {
    const y = this.output.rows(batch);
    this.moveEdges(this.forwardKernel, input, y, batch, this.inputShape!);
    return y;
  }

  protected inputGradientFor(outputGradient: Float32Array, batch: number): Float32Array {
    const dx = this.inputGradient.rows(batch);
    const backwardKernel = this.forwardKernel === 'zeroPad2d' ? 'crop2d' : 'zeroPad2d';
    this.moveEdges(backwardKernel, outputGradient, dx, batch, this.computeOutputShape(this.inputShape!));
    return dx;
  }

  /** Runs `kernel` over `batch` images of `imageShape` (the shape of `from`'s images). */
  private moveEdges(
    kernel: EdgeKernel,
    from: Float32Array,
    to: Float32Array,
    batch: number,
    imageShape: Shape,
  ): void {
    const [height, width, channels] = imageShape;
    const [[top, bottom], [left, right]] = this.sides;
    this.kernels[kernel](from, to, batch, height, width, channels, top, bottom, left, right);
  }
}
