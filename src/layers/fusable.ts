import type { ActivationName } from '../activations/index.js';
import type { Variable } from '../tensor/variable.js';
import type { Layer } from './layer.js';

/**
 * How a layer runs inside a fused training step (`src/kernels/step.ts`): the layers whose forward and
 * backward passes the kernels can run on their own describe themselves with one of these; any other layer
 * (or a subclass that changes what its class computes) keeps the model on the layer-by-layer path.
 */
export type FusableLayerDescription =
  | {
      readonly kind: 'dense';
      readonly kernel: Variable;
      readonly bias: Variable | null;
      readonly activation: ActivationName;
    }
  | {
      readonly kind: 'dropout';
      /** Elements per sample. */
      readonly width: number;
      /** Draws the mask of one training step (rows × width), exactly as the layer's forward pass would. */
      drawMask(mask: Float32Array, rows: number): void;
    }
  | { readonly kind: 'identity' };

/** A layer that can describe itself to a fused training step. */
export interface FusableLayer {
  /** The layer's description for a fused step, or null when it cannot run in one (as configured now). */
  describeForFusedStep(): FusableLayerDescription | null;
}

/** `layer`'s description for a fused step, or null when it has none. */
export function describeForFusedStep(layer: Layer): FusableLayerDescription | null {
  const fusable = layer as Partial<FusableLayer>;
  return typeof fusable.describeForFusedStep === 'function' ? fusable.describeForFusedStep() : null;
}
