import type { Kernels, LossName } from '../kernels/kernels.js';

/**
 * A loss function, reduced as Keras's default `sum_over_batch_size` (the mean over samples). The arithmetic
 * is in the kernels; a loss object names it and validates targets.
 */
export abstract class Loss {
  /** Keras's class name (`SparseCategoricalCrossentropy`). */
  abstract readonly className: string;
  /** Keras's function name (`sparse_categorical_crossentropy`). */
  abstract readonly name: LossName;
  /** The output activation this loss can fuse with, so backward starts from `(y − t)/m` at the logits. */
  abstract readonly fusableActivation: 'softmax' | 'sigmoid' | null;

  /** Whether targets are class indices (one per sample) rather than vectors of the output's width. */
  get sparseTargets(): boolean {
    return false;
  }

  /**
   * Sum of per-sample losses over `m` samples; writes ∂(mean loss)/∂prediction into `gradient` when given, or
   * ∂/∂pre-activation when `fused` (the model checked that the output layer ends in {@link fusableActivation}).
   */
  compute(
    kernels: Kernels,
    yPred: Float32Array,
    yTrue: Float32Array,
    gradient: Float32Array | null,
    m: number,
    n: number,
    fused: boolean,
  ): number {
    return kernels.loss(this.name, yPred, yTrue, gradient, m, n, fused);
  }

  /**
   * The kernel loss a fused training step computes for this loss (`src/kernels/step.ts`): its name, or null
   * when a subclass computes the loss its own way.
   */
  get fusedStepLoss(): LossName | null {
    return this.compute === Loss.prototype.compute ? this.name : null;
  }

  /** Keras's config. */
  getConfig(): Record<string, unknown> {
    return { name: this.name, reduction: 'sum_over_batch_size' };
  }
}
