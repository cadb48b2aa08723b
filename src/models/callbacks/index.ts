/**
 * Keras's training callbacks: early stopping, checkpoints, learning-rate control, CSV logs, NaN guard.
 * @module
 */
export { CallbackArgumentError, type MessageOptions, type MonitorMode } from './common.js';
export { CSVLogger, type CSVLoggerOptions } from './csvLogger.js';
export { EarlyStopping, type EarlyStoppingOptions } from './earlyStopping.js';
export {
  LearningRateScheduler,
  type LearningRateScheduleFunction,
  type LearningRateSchedulerOptions,
} from './learningRateScheduler.js';
export { ModelCheckpoint, type ModelCheckpointOptions } from './modelCheckpoint.js';
export { MonitorCallback } from './monitorCallback.js';
export {
  formatPython,
  formatPythonValue,
  PythonFormatError,
  pythonFloatRepr,
  type PythonValue,
} from './pythonFormat.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './reduceLROnPlateau.js';
export { NonFiniteLossError, TerminateOnNaN, type TerminateOnNaNOptions } from './terminateOnNaN.js';
