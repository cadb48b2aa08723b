/**
 * Activation functions by their Keras names. The arithmetic (forward and derivative, with the formulas) is in
 * the kernels; this module validates names and maps Keras's spellings onto them.
 *
 * - linear: f(z) = z
 * - relu: f(z) = max(z, 0)
 * - sigmoid: f(z) = 1 / (1 + e^−z)
 * - tanh: f(z) = tanh z
 * - selu: f(z) = λz for z > 0, λα(e^z − 1) otherwise, λ ≈ 1.0507, α ≈ 1.6733
 * - elu: f(z) = z for z > 0, e^z − 1 otherwise
 * - softmax: f(z)_i = e^{z_i} / Σ_j e^{z_j}, per row
 * @module
 */
import type { ActivationName } from '../kernels/kernels.js';

export type { ActivationName } from '../kernels/kernels.js';

const ACTIVATIONS: readonly ActivationName[] = [
  'linear',
  'relu',
  'sigmoid',
  'tanh',
  'selu',
  'elu',
  'softmax',
];

/** Thrown for an activation name warmstart does not know. */
export class UnknownActivationError extends Error {
  override readonly name = 'UnknownActivationError';
}

/**
 * Resolves an activation given as Keras does (`'selu'`, `null` or `undefined` for linear, or a serialized
 * `{ class_name, config }` of Keras 3's `Activation` objects are not accepted here: only names).
 */
export function getActivation(name: string | null | undefined): ActivationName {
  if (name === null || name === undefined) return 'linear';
  const normalized = name.toLowerCase();
  if ((ACTIVATIONS as readonly string[]).includes(normalized)) return normalized as ActivationName;
  throw new UnknownActivationError(
    `unknown activation '${name}': known activations are ${ACTIVATIONS.join(', ')}`,
  );
}

/** Every activation name warmstart knows. */
export function listActivations(): readonly ActivationName[] {
  return ACTIVATIONS;
}
