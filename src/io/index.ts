/**
 * Model files: `loadModel` reads Keras `.h5` (tf.keras 2.x and Keras 3) and `.keras` (Keras 3) files,
 * `saveModel` writes them, `inspectModelFile` describes one. Importing this module makes `model.save(path)`
 * work (it registers {@link saveModel} as the models' saver).
 * @module
 */
import { registerModelSaver } from '../models/baseModel.js';
import { saveModel, type SaveModelOptions } from './modelFile.js';

export { ModelFileError, type ModelFileErrorCode } from './errors.js';
export { closeHdf5Worker } from './hdf5/client.js';
export type { CustomObjects } from './modelConfig.js';
export {
  loadModel,
  readModelFile,
  saveModel,
  WARMSTART_VERSION,
  WRITTEN_BACKEND,
  WRITTEN_KERAS_VERSION,
  type LoadModelOptions,
  type ModelClass,
  type ReadModelFileOptions,
  type SaveModelOptions,
} from './modelFile.js';
export type { ModelFileParts, StoredLayerWeights, StoredWeight } from './modelParts.js';
export { inspectModelFile, type InspectModelFileOptions, type ModelFileInfo } from './inspect.js';

registerModelSaver((model, path, options) => saveModel(model, path, options as SaveModelOptions | undefined));
