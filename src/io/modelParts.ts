/**
 * What a model file holds once read, whatever its format: configs, and the weights as assignable parts.
 * @module
 */
import type { Layer } from '../layers/layer.js';
import type { BaseModel } from '../models/baseModel.js';
import { sizeOf } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';
import { ModelFileError } from './errors.js';
import type { SavedOptimizerVariable } from './optimizerState.js';

/** One stored weight, ready to assign. */
export interface StoredWeight {
  /** Its name in the file (`dense/kernel:0`, or its index in a `.keras` archive). */
  name: string;
  shape: number[];
  values: Float32Array;
}

/** The stored weights of one layer (or one `.keras` container). */
export interface StoredLayerWeights {
  /** The name the file files them under: the layer's name (`.h5`) or its container (`.keras`: `dense_1`). */
  name: string;
  weights: StoredWeight[];
}

/** A model file, read. */
export interface ModelFileParts {
  format: 'h5' | 'keras';
  /** The Keras version that wrote it (`keras_version`), if recorded. */
  kerasVersion: string | null;
  /** The backend recorded (`.h5` only). */
  backend: string | null;
  /** `model_config` / `config.json`, parsed. */
  modelConfig: unknown;
  /** `training_config` / `compile_config`, parsed; null when the model was saved uncompiled. */
  trainingConfig: unknown;
  /** Stored weights in the file's order. */
  layerWeights: StoredLayerWeights[];
  /** Copies stored weights into a model built from `modelConfig` (shapes checked). */
  assignWeights(model: BaseModel): void;
  /** The optimizer's saved variables, or null when the file has none. */
  optimizerVariables: SavedOptimizerVariable[] | null;
}

/** Keras's legacy weight order for a layer: trainable weights, then the others (`_legacy_weights`). */
export function legacyWeightOrder(layer: Layer): Variable[] {
  return [...layer.trainableWeights, ...layer.nonTrainableWeights];
}

/** Assigns one layer's stored weights, checking their number and shapes first. */
export function assignLayerWeights(layer: Layer, stored: StoredLayerWeights, path: string): void {
  const variables = legacyWeightOrder(layer);
  if (variables.length !== stored.weights.length) {
    throw new ModelFileError(
      'MISSING_WEIGHTS',
      path,
      `layer '${layer.name}' (${layer.className}) has ${variables.length} weights, the file stores ${stored.weights.length} for '${stored.name}'`,
    );
  }
  variables.forEach((variable, i) => {
    const weight = stored.weights[i];
    if (
      weight.shape.join(',') !== variable.shape.join(',') ||
      weight.values.length !== sizeOf(variable.shape)
    ) {
      throw new ModelFileError(
        'WEIGHT_MISMATCH',
        path,
        `layer '${layer.name}': weight '${variable.name}' has shape [${variable.shape.join(', ')}], the file stores '${weight.name}' with shape [${weight.shape.join(', ')}]`,
      );
    }
  });
  variables.forEach((variable, i) => variable.assign(stored.weights[i].values));
}
