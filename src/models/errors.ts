/** Thrown when data given to `fit`, `evaluate` or `predict` does not fit the model: shape, NaN, label range. */
export class InputDataError extends Error {
  override readonly name = 'InputDataError';
}

/** Thrown by `fit` or `evaluate` on a model that was not compiled. */
export class NotCompiledError extends Error {
  override readonly name = 'NotCompiledError';
}

/**
 * Thrown when a model is used while a `fit` that trains its layers has not finished: almost always an
 * `await` missing before `model.fit(...)`. Its message names the model, the running fit and the fix.
 */
export class ModelBusyError extends Error {
  override readonly name = 'ModelBusyError';
}

/**
 * Thrown when a fit's state is read or restored at the wrong time (outside `fit`, or a restore after training
 * began), or when a saved state does not belong to this fit (other data, batch size or metrics).
 */
export class FitStateError extends Error {
  override readonly name = 'FitStateError';
}
