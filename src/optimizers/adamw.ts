import { Adam, type AdamOptions } from './adam.js';
import { OptimizerConfigError } from './errors.js';
import { checkOptions } from '../kernels/options.js';

/** Options of {@link AdamW}: Adam's, with `weightDecay` defaulting to 0.004 (and required). */
export type AdamWOptions = AdamOptions;

/**
 * AdamW (Loshchilov & Hutter 2019) as Keras 3 computes it: Adam's update (see {@link Adam}) preceded by Keras's
 * decoupled weight decay `θ ← θ − θ·λ·η` (i.e. `θ·(1 − λη)`, with the scheduled η, not multiplied by the Adam step).
 * Defaults η = 0.001, λ = 0.004, β₁ = 0.9, β₂ = 0.999, ε = 1e-7. Kernels: `scale` (decay), `adamUpdate`.
 */
export class AdamW extends Adam {
  override readonly className: string = 'AdamW';

  constructor(options: AdamWOptions = {}) {
    checkOptions('AdamW', options, Adam.optionKeys);
    if (options.weightDecay === null) {
      throw new OptimizerConfigError('AdamW: weightDecay must be a number ≥ 0, got null');
    }
    super(options, { learningRate: 0.001, name: 'adamw', weightDecay: 0.004 });
  }
}
