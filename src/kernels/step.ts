/**
 * Fused training steps: a backend that can run a whole step of a chain of Dense layers (forward, loss,
 * backward and the optimizer's update, any of Keras's optimizers) as one call describes the network once, as a {@link FusedStepSpec},
 * and gets back a {@link FusedStepPlan} that it then runs once per batch. Models use it when every layer
 * can describe itself (Dense, Flatten, Dropout) and fall back to the layer-by-layer path otherwise; the
 * results are the same bits either way.
 * @module
 */

import type { AccuracyName, ActivationName, Kernels, LossName } from './kernels.js';

/**
 * One kernel call of an optimizer's step, recorded instead of made (see
 * {@link FusedStepKernels.captureOptimizerOps}): an element-wise update of one variable's arrays (the wasm
 * backend's `optimizer_update` descriptor with its addresses), or a call to make later as it is.
 */
export type RecordedOptimizerOp =
  | {
      readonly kind: 'update';
      /** The descriptor's 16 int32 words (kind, scalars; see `OPTIMIZER_DESCRIPTOR` in wasm/abi.ts). */
      readonly descriptor: Int32Array;
      /** Byte offsets of the variable's slots (0: none), of the array updated, and of the gradient (0: none). */
      readonly slots: readonly [number, number, number];
      readonly param: number;
      readonly grad: number;
      /** Elements of the variable. */
      readonly length: number;
      /** Elements from which it splits over the threads when replayed. */
      readonly threshold: number;
    }
  | { readonly kind: 'call'; readonly run: () => void };

/** A Dense layer `y = f(x·W + b)` in a fused step. */
export interface FusedDense {
  readonly kind: 'dense';
  /** Input width k and output width n. */
  readonly inputs: number;
  readonly units: number;
  readonly activation: ActivationName;
  /** W (k×n) and its gradient buffer. */
  readonly kernel: Float32Array;
  readonly kernelGradient: Float32Array;
  /** b (n) and its gradient buffer, or null without a bias. */
  readonly bias: Float32Array | null;
  readonly biasGradient: Float32Array | null;
  /** Whether the step computes this layer's weight gradients (a frozen layer's are never computed). */
  readonly trainable: boolean;
  /**
   * Whether the step applies the optimizer's updates of W and b itself, as {@link FusedStepPlan.train} is
   * given them (false: never; the caller applies its optimizer after the step).
   */
  readonly updatesInside: boolean;
}

/** A Dropout layer in a fused step: `y = x ⊙ mask` in training, the identity in inference. */
export interface FusedDropout {
  readonly kind: 'dropout';
  /** Elements per sample. */
  readonly width: number;
  /**
   * Fills `mask` (rows × width) with this step's mask, from the layer's seeded generator, exactly as the
   * layer's own forward pass would: the step calls it before running, in layer order.
   */
  drawMask(mask: Float32Array, rows: number): void;
}

/** A layer that passes its input through unchanged (Flatten). */
export interface FusedIdentity {
  readonly kind: 'identity';
}

/** One layer of a fused step. */
export type FusedLayer = FusedDense | FusedDropout | FusedIdentity;

/** A chain of layers, its loss and metrics: what a backend needs to build a {@link FusedStepPlan}. */
export interface FusedStepSpec {
  readonly layers: readonly FusedLayer[];
  /** Elements per input sample, per output sample, and per target (1 for class indices). */
  readonly inputWidth: number;
  readonly outputWidth: number;
  readonly targetWidth: number;
  readonly loss: LossName;
  /** The loss's gradient is taken at the logits of the last layer's softmax/sigmoid (see `Kernels.loss`). */
  readonly fusedLogits: boolean;
  /** Accuracy counts to return (at most 4). */
  readonly metrics: readonly AccuracyName[];
  /** Most rows a run may have (the batch size). */
  readonly capacity: number;
}

/** A network laid out in a backend's memory, ready to run steps. Results stay valid until the next run. */
export interface FusedStepPlan {
  /** Rows the plan was built for (runs take 1 … capacity rows). */
  readonly capacity: number;
  /** Where a run reads its inputs (capacity × inputWidth) and targets (capacity × targetWidth). */
  readonly input: Float32Array;
  readonly target: Float32Array;
  /**
   * One training step on the first `rows` rows: forward, loss, backward, and, when `updates` is given, the
   * optimizer's recorded kernel calls applied to each weight right after its gradient is computed (in their
   * order, per variable: the same bits as making them after the step). Returns false, having applied none,
   * when some call cannot be placed there (a reference-loop call, an array of no layer of the plan, a layer
   * without `updatesInside`): the caller then replays them after the step.
   */
  train(rows: number, updates: readonly RecordedOptimizerOp[] | null): boolean;
  /** The output rows of the last run (valid until the next run). */
  outputRows(rows: number): Float32Array;
  /** Forward pass and loss on the first `rows` rows, without gradients (inference: no dropout). */
  evaluate(rows: number): void;
  /** Forward pass on the first `rows` rows (inference); returns the output rows (valid until the next run). */
  predict(rows: number): Float32Array;
  /** The last run's loss SUM over its rows (train, evaluate). */
  readonly lossSum: number;
  /** The last run's count of correct predictions for metric `index` (train, evaluate). */
  correct(index: number): number;
  /** Returns every buffer of the plan to the backend. */
  dispose(): void;
}

/** A backend that can build fused steps. */
export interface FusedStepKernels {
  /** A plan for `spec`, or null when this backend cannot run it fused (the caller uses the layers). */
  createFusedStepPlan(spec: FusedStepSpec): FusedStepPlan | null;
  /**
   * Runs `body` (an optimizer's `applyVariableGradients`) with every kernel call it makes recorded instead
   * of made, in order; its own bookkeeping (iterations, schedules) happens. Must not be used for a body that
   * reads arrays (`clipnorm`'s norms).
   */
  captureOptimizerOps(body: () => void): RecordedOptimizerOp[];
  /** Whether {@link captureOptimizerOps} records every call now (false: apply the optimizer after the step). */
  canCaptureOptimizerOps(): boolean;
  /** Makes recorded calls, in order: what the recorded body would have done. */
  replayOptimizerOps(ops: readonly RecordedOptimizerOp[]): void;
}

/** Whether `kernels` can build fused steps. */
export function supportsFusedSteps(kernels: Kernels): kernels is Kernels & FusedStepKernels {
  return typeof (kernels as Partial<FusedStepKernels>).createFusedStepPlan === 'function';
}
