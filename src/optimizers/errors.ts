/** Thrown at construction (or when a config is read) for a hyperparameter outside its valid range. */
export class OptimizerConfigError extends Error {
  override readonly name = 'OptimizerConfigError';
}
