import type { AccuracyName } from '../kernels/kernels.js';
import type { Kernels } from '../kernels/kernels.js';
import {
  type FusedLayer,
  type FusedStepPlan,
  type FusedStepSpec,
  type FusedUpdate,
  supportsFusedSteps,
} from '../kernels/step.js';
import { describeForFusedStep } from '../layers/fusable.js';
import type { Layer } from '../layers/layer.js';
import type { Loss } from '../losses/loss.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { SGD } from '../optimizers/sgd.js';
import type { Variable } from '../tensor/variable.js';

/**
 * The update a fused step can apply for `variable` itself, or null when the optimizer must run after the
 * step (any optimizer but plain SGD, and SGD with clipping, weight decay, EMA or gradient accumulation).
 *
 * This is the hook for the other optimizers: once their wasm kernels take a descriptor
 * (`optimizer_update(desc, param, grad, slots, i0, i1)`), describe them here and in `FusedUpdate`, and the
 * step applies them too (see `applyUpdate` in assembly/step.ts).
 */
export function fusedUpdateFor(optimizer: Optimizer, variable: Variable): FusedUpdate | null {
  if (Object.getPrototypeOf(optimizer) !== SGD.prototype) return null;
  if (
    optimizer.clipnorm !== null ||
    optimizer.clipvalue !== null ||
    optimizer.globalClipnorm !== null ||
    optimizer.weightDecay !== null ||
    optimizer.useEma ||
    optimizer.gradientAccumulationSteps !== null
  ) {
    return null;
  }
  const sgd = optimizer as SGD;
  const momentum = Math.fround(sgd.momentum);
  const velocity = optimizer.getSlots(variable)[0] ?? null;
  if (momentum !== 0 && velocity === null) return null;
  return { kind: 'sgd', momentum, nesterov: sgd.nesterov, velocity: momentum === 0 ? null : velocity };
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
    /** True when the plan updates the weights itself; false when the optimizer runs after each step. */
    readonly updatesInside: boolean,
    private readonly key: readonly unknown[],
  ) {}

  /** A fused step for `request`, or null when some part of it has no fused form. */
  static build(request: FusedStepRequest): FusedStepState | null {
    const kernels = request.kernels;
    const lossName = request.loss.fusedStepLoss;
    if (!supportsFusedSteps(kernels) || lossName === null || request.metrics.length > 4) return null;
    const layers: FusedLayer[] = [];
    let updatesInside = true;
    for (const layer of request.layers) {
      const description = describeForFusedStep(layer);
      if (description === null) return null;
      if (description.kind !== 'dense') {
        layers.push(description);
        continue;
      }
      const trainable = request.trainable.has(layer);
      const { kernel, bias } = description;
      const kernelUpdate = trainable ? fusedUpdateFor(request.optimizer, kernel) : null;
      const biasUpdate = trainable && bias !== null ? fusedUpdateFor(request.optimizer, bias) : null;
      if (trainable && (kernelUpdate === null || (bias !== null && biasUpdate === null)))
        updatesInside = false;
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
        kernelUpdate,
        biasUpdate,
      });
    }
    if (!updatesInside) {
      // All or nothing: the optimizer's step (counters, schedules, clipping) then runs after the call.
      for (let i = 0; i < layers.length; i++) {
        const layer = layers[i];
        if (layer.kind === 'dense') layers[i] = { ...layer, kernelUpdate: null, biasUpdate: null };
      }
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
