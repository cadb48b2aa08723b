import { SELU_ALPHA, SELU_SCALE } from '../kernels/kernels.js';
import { Dropout, type DropoutOptions } from './dropout.js';

/** Options of {@link AlphaDropout} (as {@link Dropout}'s). */
export type AlphaDropoutOptions = DropoutOptions;

/**
 * Alpha dropout (Klambauer et al. 2017), for self-normalizing (SELU) networks: dropped inputs are set to SELU's
 * negative saturation value `α′ = −λα` instead of 0, and an affine map keeps the mean and variance, as in
 * Keras:
 *
 * `a = ((1 − p)(1 + p·α′²))^(−1/2)`, `b = −a·α′·p`, `y = a·(x·k + α′·(1 − k)) + b` with k ∈ {0, 1} kept with
 * probability `1 − p`. So `∂L/∂x = a·k·∂L/∂y`; the mask holds `a·k` (a or 0), which gives both passes.
 * At inference it is the identity.
 */
export class AlphaDropout extends Dropout {
  override readonly className: string = 'AlphaDropout';

  constructor(options: AlphaDropoutOptions) {
    super(options, 'alpha_dropout');
  }

  override forward(input: Float32Array, batch: number, training: boolean): Float32Array {
    this.masked = training && this.rate > 0;
    if (!this.masked) return input;
    const p = this.rate;
    const alphaPrime = -SELU_ALPHA * SELU_SCALE;
    const a = Math.fround(((1 - p) * (1 + p * alphaPrime * alphaPrime)) ** -0.5);
    const b = Math.fround(-a * alphaPrime * p);
    const n = batch * this.width;
    const mask = this.mask.rows(batch);
    const output = this.output.rows(batch);
    this.kernels.dropoutMask(mask, n, p, a, this.uniform);
    this.kernels.alphaDropoutForward(input, mask, output, n, b, Math.fround(a * alphaPrime + b));
    return output;
  }
}
