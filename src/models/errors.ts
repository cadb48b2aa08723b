/** Thrown when data given to `fit`, `evaluate` or `predict` does not fit the model: shape, NaN, label range. */
export class InputDataError extends Error {
  override readonly name = 'InputDataError';
}

/** Thrown by `fit` or `evaluate` on a model that was not compiled. */
export class NotCompiledError extends Error {
  override readonly name = 'NotCompiledError';
}
