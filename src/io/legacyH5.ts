/**
 * Keras's legacy HDF5 model format (`model.save('x.h5')`), as `keras/src/legacy/saving/legacy_h5_format.py`
 * (Keras 3) and tf.keras 2.x's `hdf5_format.py` lay it out:
 *
 * - root attributes `keras_version`, `backend` (strings), `model_config` and `training_config` (JSON);
 * - group `model_weights`: attributes `layer_names`, `backend`, `keras_version`; one group per layer (sorted
 *   by name) with attribute `weight_names` and one dataset per weight at that name (`dense/kernel:0` in
 *   tf.keras, `dense/kernel` in Keras 3: the `/` nests a group); an empty `top_level_model_weights` group;
 * - group `optimizer_weights` (when compiled): attribute `weight_names` and a dataset per optimizer variable.
 *
 * Lists of names larger than HDF5's 64 KiB object header are split into attributes `name0`, `name1`, ….
 * Weights are matched to layers by position among layers that have weights, as Keras does.
 * @module
 */
import type { Layer } from '../layers/layer.js';
import { BaseModel } from '../models/baseModel.js';
import { Sequential } from '../models/sequential.js';
import type { Variable } from '../tensor/variable.js';
import { ModelFileError } from './errors.js';
import { childGroup, datasetAt, floatValues, stringAttribute, stringListAttribute } from './hdf5/access.js';
import type { GroupSnapshot, WriteAttribute, WriteDataset, WriteGroup } from './hdf5/snapshot.js';
import { kerasJson } from './kerasJson.js';
import { legacyModelConfig, legacyTrainingConfig, parseJson } from './modelConfig.js';
import {
  assignLayerWeights,
  legacyWeightOrder,
  type ModelFileParts,
  type StoredLayerWeights,
} from './modelParts.js';
import { optimizerVariablesToSave, type SavedOptimizerVariable } from './optimizerState.js';

/** Keras's limit for one attribute (`HDF5_OBJECT_HEADER_LIMIT`). */
const HDF5_OBJECT_HEADER_LIMIT = 64512;

/** Reads the parts of a legacy `.h5` model from its snapshot. */
export function readLegacyH5(tree: GroupSnapshot, path: string): ModelFileParts {
  const configText = stringAttribute(tree, 'model_config', path);
  if (configText === null) {
    const weightsOnly =
      Object.hasOwn(tree.attrs, 'layer_names') || childGroup(tree, 'model_weights') !== null;
    throw new ModelFileError(
      'NO_MODEL_CONFIG',
      path,
      weightsOnly
        ? 'the file holds weights but no model_config (it was written by save_weights): build the model and load the weights into it'
        : 'the HDF5 file has no model_config attribute: it is not a Keras model file',
    );
  }
  const modelConfig = parseJson(configText, 'model_config', path);
  const trainingText = stringAttribute(tree, 'training_config', path);
  const trainingConfig = trainingText === null ? null : parseJson(trainingText, 'training_config', path);

  const weightsGroup = childGroup(tree, 'model_weights');
  if (weightsGroup === null)
    throw new ModelFileError('MISSING_WEIGHTS', path, 'the file has no model_weights group');
  const layerNames = stringListAttribute(weightsGroup, 'layer_names', path);
  if (layerNames === null)
    throw new ModelFileError('MISSING_WEIGHTS', path, 'model_weights has no layer_names attribute');
  const layerWeights: StoredLayerWeights[] = layerNames.map((name) => {
    const group = childGroup(weightsGroup, name);
    if (group === null)
      throw new ModelFileError(
        'MISSING_WEIGHTS',
        path,
        `model_weights lists the layer '${name}' but has no group for it`,
      );
    const names = stringListAttribute(group, 'weight_names', path) ?? [];
    return {
      name,
      weights: names.map((weightName) => {
        const where = `layer '${name}'`;
        const dataset = datasetAt(group, weightName, where, path);
        return {
          name: weightName,
          shape: dataset.shape,
          values: floatValues(dataset, `${where}, weight '${weightName}'`, path),
        };
      }),
    };
  });

  let optimizerVariables: SavedOptimizerVariable[] | null = null;
  const optimizerGroup = childGroup(tree, 'optimizer_weights');
  if (optimizerGroup !== null) {
    const names = stringListAttribute(optimizerGroup, 'weight_names', path) ?? [];
    optimizerVariables = names.map((name) => {
      const dataset = datasetAt(optimizerGroup, name, 'optimizer_weights', path);
      if (dataset.data === null || Array.isArray(dataset.data)) {
        throw new ModelFileError('BAD_WEIGHTS', path, `optimizer_weights: '${name}' is not numeric`);
      }
      return { name, shape: dataset.shape, data: dataset.data };
    });
  }

  const kerasVersion =
    stringAttribute(tree, 'keras_version', path) ?? stringAttribute(weightsGroup, 'keras_version', path);
  const backend = stringAttribute(tree, 'backend', path) ?? stringAttribute(weightsGroup, 'backend', path);
  return {
    format: 'h5',
    kerasVersion,
    backend,
    modelConfig,
    trainingConfig,
    layerWeights,
    optimizerVariables,
    assignWeights(model: BaseModel): void {
      const stored = layerWeights.filter((layer) => layer.weights.length > 0);
      const layers = model.layers.filter((layer) => layer.weights.length > 0);
      if (stored.length !== layers.length) {
        throw new ModelFileError(
          'MISSING_WEIGHTS',
          path,
          `the model has ${layers.length} layers with weights, the file stores weights for ${stored.length} layers`,
        );
      }
      // Keras matches by position; when the names agree as sets, matching by name is as good and order-proof.
      const byName = new Map(stored.map((layer) => [layer.name, layer]));
      const sameNames = layers.every((layer) => byName.has(layer.name)) && byName.size === layers.length;
      layers.forEach((layer, i) =>
        assignLayerWeights(layer, sameNames ? byName.get(layer.name)! : stored[i], path),
      );
    },
  };
}

// ---- Writing.

const UTF8 = new TextEncoder();

/** A scalar string attribute: `'A'` variable-length ASCII (Keras's bytes values), `'S'` UTF-8 (its str values). */
function stringAttr(name: string, value: string, dtype: 'A' | 'S'): WriteAttribute {
  return { name, dtype, value, shape: null };
}

/**
 * A list-of-names attribute as Keras writes it: variable-length ASCII strings (h5py's type for a list of
 * bytes); an empty list as a float64 array of length 0 (what h5py makes of `np.asarray([])`); split into
 * `name0`, `name1`, … like numpy's `array_split` when the fixed-width array would exceed 64 KiB.
 */
export function nameListAttributes(name: string, values: readonly string[]): WriteAttribute[] {
  if (values.length === 0) return [{ name, dtype: '<d', value: [], shape: [0] }];
  const width = Math.max(1, ...values.map((value) => UTF8.encode(value).length));
  let chunks = 1;
  const sizes = (): number[] =>
    Array.from(
      { length: chunks },
      (_, i) => Math.floor(values.length / chunks) + (i < values.length % chunks ? 1 : 0),
    );
  while (Math.max(...sizes()) * width > HDF5_OBJECT_HEADER_LIMIT && chunks < values.length) chunks++;
  if (chunks === 1) return [{ name, dtype: 'A', value: [...values], shape: [values.length] }];
  const attributes: WriteAttribute[] = [];
  let start = 0;
  sizes().forEach((size, i) => {
    attributes.push({
      name: `${name}${i}`,
      dtype: 'A',
      value: values.slice(start, start + size),
      shape: [size],
    });
    start += size;
  });
  return attributes;
}

/** An empty group description. */
export function group(name: string): WriteGroup {
  return { name, attrs: [], datasets: [], groups: [] };
}

/** Adds a dataset at a `/`-separated path below `root`, creating the groups on the way (as h5py does). */
export function addDataset(root: WriteGroup, path: string, dataset: Omit<WriteDataset, 'name'>): void {
  const parts = path.split('/');
  let current = root;
  for (const part of parts.slice(0, -1)) {
    let next = current.groups.find((g) => g.name === part);
    if (next === undefined) {
      next = group(part);
      current.groups.push(next);
    }
    current = next;
  }
  const name = parts[parts.length - 1];
  if (current.datasets.some((d) => d.name === name))
    throw new Error(`two weights would be stored at '${path}'`);
  current.datasets.push({ name, ...dataset });
}

/**
 * The names a layer's weights are listed under in `weight_names`: `<layer>/<weight>`. For a model nested as a
 * layer, `<layer>` is the inner layer owning the weight, after the names of the Sequential models it sits in
 * (the nested one included): Keras builds a Sequential's layers inside its name scope, a functional model's
 * where they were called (`c1/kernel` in a nested `keras.applications` base, `features/s_conv/kernel` in a
 * nested Sequential `features`).
 */
export function legacyWeightNames(layer: Layer, variables: readonly Variable[]): string[] {
  if (!(layer instanceof BaseModel)) return variables.map((variable) => `${layer.name}/${variable.name}`);
  const names = new Map<Variable, string>();
  const visit = (inner: Layer, scope: string): void => {
    if (inner instanceof BaseModel) {
      const innerScope = inner instanceof Sequential ? `${scope}${inner.name}/` : scope;
      for (const child of inner.layers) visit(child, innerScope);
    } else {
      for (const weight of inner.weights)
        if (!names.has(weight)) names.set(weight, `${scope}${inner.name}/${weight.name}`);
    }
  };
  visit(layer, '');
  return variables.map((variable) => names.get(variable) ?? `${layer.name}/${variable.name}`);
}

/** Version strings written into files (see `WRITTEN_KERAS_VERSION` in `modelFile.ts` for why these values). */
export interface WriterIdentity {
  kerasVersion: string;
  backend: string;
}

/** The legacy `.h5` file of a model, as a description for the HDF5 worker. */
export function legacyH5Tree(
  model: BaseModel,
  identity: WriterIdentity,
  includeOptimizer: boolean,
): WriteGroup {
  const root = group('/');
  root.attrs.push(
    stringAttr('keras_version', identity.kerasVersion, 'S'),
    stringAttr('backend', identity.backend, 'S'),
  );
  root.attrs.push(stringAttr('model_config', kerasJson(legacyModelConfig(model)), 'A'));
  const trainingConfig = includeOptimizer ? legacyTrainingConfig(model) : null;
  if (trainingConfig !== null) root.attrs.push(stringAttr('training_config', kerasJson(trainingConfig), 'A'));

  const weights = group('model_weights');
  // Keras lists `model.layers`: a Sequential's without its input layer, a functional model's with them.
  const layers = model.layers;
  for (const layer of layers) {
    if (layer.name.includes('/') || layer.name === '')
      throw new Error(`layer name '${layer.name}' cannot name an HDF5 group`);
  }
  weights.attrs.push(
    ...nameListAttributes(
      'layer_names',
      layers.map((layer) => layer.name),
    ),
    stringAttr('backend', identity.backend, 'A'),
    stringAttr('keras_version', identity.kerasVersion, 'A'),
  );
  for (const layer of [...layers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const layerGroup = group(layer.name);
    const variables = legacyWeightOrder(layer);
    const names = legacyWeightNames(layer, variables);
    layerGroup.attrs.push(...nameListAttributes('weight_names', names));
    variables.forEach((variable, i) =>
      addDataset(layerGroup, names[i], {
        dtype: '<f',
        shape: [...variable.shape],
        data: Float32Array.from(variable.value),
      }),
    );
    weights.groups.push(layerGroup);
  }
  const topLevel = group('top_level_model_weights');
  topLevel.attrs.push(...nameListAttributes('weight_names', []));
  weights.groups.push(topLevel);
  root.groups.push(weights);

  if (trainingConfig !== null) {
    const variables = optimizerVariablesToSave(model);
    if (variables.length > 0) {
      const optimizerGroup = group('optimizer_weights');
      optimizerGroup.attrs.push(
        ...nameListAttributes(
          'weight_names',
          variables.map((variable) => variable.name),
        ),
      );
      for (const variable of variables) {
        addDataset(optimizerGroup, variable.name, {
          dtype: variable.dtype,
          shape: variable.shape,
          data: variable.data,
        });
      }
      root.groups.push(optimizerGroup);
    }
  }
  return root;
}
