import type { Kernels, LossName, TargetRule } from '../kernels/kernels.js';
import { checkOptions } from '../kernels/options.js';

/**
 * The built-in losses take no options: Keras's `from_logits`, `label_smoothing`, `reduction`, … are not
 * supported, so an object with any key is refused rather than ignored (an empty one is accepted).
 */
export type LossOptions = Record<string, never>;

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

  /** @param options - none: see {@link LossOptions} */
  constructor(options: LossOptions = {}) {
    checkOptions(new.target.name, options, {});
  }

  /** Whether targets are class indices (one per sample) rather than vectors of the output's width. */
  get sparseTargets(): boolean {
    return false;
  }

  /** What each target value must be for this loss to mean anything (see `TargetRule`); default: finite. */
  get targetRule(): TargetRule {
    return 'finite';
  }

  /**
   * Why `rows × width` targets do not suit this loss (for a model with `outputs` outputs), or null when they
   * do. The check is a kernel pass; only the message looks at the offending row.
   */
  checkTargets(
    kernels: Kernels,
    targets: Float32Array,
    rows: number,
    width: number,
    outputs: number,
  ): string | null {
    const bad = kernels.firstInvalidTarget(this.targetRule, targets, rows, width, outputs);
    if (bad < 0) return null;
    return this.describeInvalidTarget(targets, bad, width, outputs);
  }

  /** The message for the target at flat index `index`, the first one {@link checkTargets} refused. */
  protected describeInvalidTarget(
    targets: Float32Array,
    index: number,
    width: number,
    _outputs: number,
  ): string {
    return `targets hold a non-finite value (${targets[index]}) in sample ${Math.floor(index / width)}`;
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

  /** Keras's config. */
  getConfig(): Record<string, unknown> {
    return { name: this.name, reduction: 'sum_over_batch_size' };
  }
}
