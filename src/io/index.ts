/**
 * Model files: `loadModel` reads Keras `.h5` (tf.keras 2.x and Keras 3) and `.keras` (Keras 3) files from a
 * path, URL, `Blob` or bytes, `saveModel` writes them to a path or makes their bytes, `downloadModel` offers
 * one for download in a page, `inspectModelFile` describes one. Importing this module makes `model.save`
 * work (it registers {@link saveModel} as the models' saver).
 * @module
 */
import { registerModelSaver } from '../models/baseModel.js';
import { saveModel, type SaveModelBytesOptions, type SaveModelOptions } from './modelFile.js';

export {
  BACKUP_STATE_FILE,
  BackupAndRestore,
  type BackupAndRestoreOptions,
  BackupError,
} from './backupAndRestore.js';
export { parseExactJson, stringifyExactJson } from './exactJson.js';
export { ModelFileError, type ModelFileErrorCode } from './errors.js';
export { closeHdf5Worker } from './hdf5/client.js';
export type { CustomObjects } from './modelConfig.js';
export {
  downloadModel,
  loadModel,
  nonFiniteWeightsWarning,
  readModelFile,
  saveModel,
  WARMSTART_VERSION,
  WRITTEN_BACKEND,
  WRITTEN_KERAS_VERSION,
  type LoadModelOptions,
  type ModelClass,
  type DownloadModelOptions,
  type ReadModelFileOptions,
  type SaveModelBytesOptions,
  type SaveModelOptions,
} from './modelFile.js';
export type { ModelSource } from './modelSource.js';
export type { ModelFileParts, StoredLayerWeights, StoredWeight } from './modelParts.js';
export { inspectModelFile, type InspectModelFileOptions, type ModelFileInfo } from './inspect.js';

registerModelSaver((model, target, options) =>
  typeof target === 'string'
    ? saveModel(model, target, options as SaveModelOptions | undefined)
    : saveModel(model, target as SaveModelBytesOptions),
);
