import type { AccuracyName } from '../kernels/kernels.js';
import type { Kernels } from '../kernels/kernels.js';
import {
  type FusedLayer,
  type FusedStepPlan,
  type FusedStepSpec,
  supportsFusedSteps,
} from '../kernels/step.js';
import { describeForFusedStep } from '../layers/fusable.js';
import type { Layer } from '../layers/layer.js';
import type { Loss } from '../losses/loss.js';
import { Adadelta } from '../optimizers/adadelta.js';
import { Adagrad } from '../optimizers/adagrad.js';
import { Adam } from '../optimizers/adam.js';
import { Adamax } from '../optimizers/adamax.js';
import { AdamW } from '../optimizers/adamw.js';
import { Ftrl } from '../optimizers/ftrl.js';
import { Lion } from '../optimizers/lion.js';
import { Nadam } from '../optimizers/nadam.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { RMSprop } from '../optimizers/rmsprop.js';
import { SGD } from '../optimizers/sgd.js';

/** Keras's optimizers, whose steps only ever call the kernels (never read or write an array themselves). */
const KERNEL_ONLY_OPTIMIZERS: readonly object[] = [
  SGD.prototype,
  Adam.prototype,
  AdamW.prototype,
  RMSprop.prototype,
  Nadam.prototype,
  Adagrad.prototype,
  Adadelta.prototype,
  Adamax.prototype,
  Lion.prototype,
  Ftrl.prototype,
];

/**
 * Whether a fused step can apply `optimizer`'s updates inside its backward pass: its step is recorded
 * (`captureOptimizerOps`) before the step and each variable's calls are applied as soon as its gradient is
 * computed, with the bits of the layer path. True for SGD (with momentum, Nesterov), Adam, AdamW, RMSprop
 * (momentum, centered), Nadam, Adagrad, Adadelta, Adamax, Lion and Ftrl, with `clipvalue`, `weightDecay`,
 * `gradientAccumulationSteps` and `useEma`. False, and the optimizer then runs after each fused step (still
 * one call for forward, loss and backward; the same bits), for:
 * - `clipnorm` and `globalClipnorm`: the factor needs the norm of whole gradients, known only once the
 *   backward pass is over;
 * - `useEma` with `emaOverwriteFrequency`: the overwrite is a copy made outside the kernels;
 * - any other optimizer class (a subclass may read or write arrays in its own step).
 */
export function updatesInsideFusedStep(optimizer: Optimizer): boolean {
  if (!KERNEL_ONLY_OPTIMIZERS.includes(Object.getPrototypeOf(optimizer) as object)) return false;
  if (optimizer.clipnorm !== null || optimizer.globalClipnorm !== null) return false;
  return !(optimizer.useEma && optimizer.emaOverwriteFrequency !== null);
}

/** What a model's fused step is built from (see {@link FusedStepState.build}). */
export interface FusedStepRequest {
  kernels: Kernels;
  layers: readonly Layer[];
  /** Layers whose weights train, as fixed at compile. */
  trainable: ReadonlySet<Layer>;
  loss: Loss;
  fusedLogits: boolean;
  metrics: readonly AccuracyName[];
  optimizer: Optimizer;
  inputWidth: number;
  outputWidth: number;
  targetWidth: number;
  capacity: number;
}

/**
 * A model's fused training step: the plan, whether it applies the optimizer's updates itself, and what it
 * was built from, so that a model can tell whether it still fits (same compile, same layers and weights,
 * same batch size and targets).
 */
export class FusedStepState {
  private constructor(
    readonly plan: FusedStepPlan,
    /**
     * True when the plan applies the optimizer's recorded calls itself (see {@link updatesInsideFusedStep});
     * false when the optimizer runs after each step.
     */
    readonly updatesInside: boolean,
    private readonly key: readonly unknown[],
  ) {}

  /** A fused step for `request`, or null when some part of it has no fused form. */
  static build(request: FusedStepRequest): FusedStepState | null {
    const kernels = request.kernels;
    const lossName = request.loss.fusedStepLoss;
    if (!supportsFusedSteps(kernels) || lossName === null || request.metrics.length > 4) return null;
    const layers: FusedLayer[] = [];
    const updatesInside = updatesInsideFusedStep(request.optimizer);
    for (const layer of request.layers) {
      const description = describeForFusedStep(layer);
      if (description === null) return null;
      if (description.kind !== 'dense') {
        layers.push(description);
        continue;
      }
      const trainable = request.trainable.has(layer);
      const { kernel, bias } = description;
      layers.push({
        kind: 'dense',
        inputs: kernel.shape[0],
        units: kernel.shape[1],
        activation: description.activation,
        kernel: kernel.value,
        kernelGradient: kernel.gradient,
        bias: bias?.value ?? null,
        biasGradient: bias?.gradient ?? null,
        trainable,
        updatesInside: trainable && updatesInside,
      });
    }
    const spec: FusedStepSpec = {
      layers,
      inputWidth: request.inputWidth,
      outputWidth: request.outputWidth,
      targetWidth: request.targetWidth,
      loss: lossName,
      fusedLogits: request.fusedLogits,
      metrics: request.metrics,
      capacity: request.capacity,
    };
    const plan = kernels.createFusedStepPlan(spec);
    return plan === null ? null : new FusedStepState(plan, updatesInside, FusedStepState.keyOf(request));
  }

  /** Whether this step was built for `request` (and its layers still hold the same weights). */
  fits(request: FusedStepRequest): boolean {
    const key = FusedStepState.keyOf(request);
    return key.length === this.key.length && key.every((value, i) => value === this.key[i]);
  }

  private static keyOf(request: FusedStepRequest): unknown[] {
    const key: unknown[] = [
      request.kernels,
      request.loss,
      request.fusedLogits,
      request.optimizer,
      request.inputWidth,
      request.outputWidth,
      request.targetWidth,
      request.capacity,
      request.metrics.join(),
    ];
    for (const layer of request.layers) {
      key.push(layer, request.trainable.has(layer));
      for (const weight of layer.weights) key.push(weight.value, weight.gradient);
    }
    return key;
  }
}
