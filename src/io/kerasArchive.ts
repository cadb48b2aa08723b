/**
 * Keras 3's `.keras` format, as `keras/src/saving/saving_lib.py` writes it: a zip archive (entries stored,
 * uncompressed) of
 *
 * - `metadata.json`: `{"keras_version": …, "date_saved": "YYYY-MM-DD@HH:MM:SS"}`;
 * - `config.json`: the model serialized as `{module, class_name, config, registered_name, build_config,
 *   compile_config}`;
 * - `model.weights.h5`: each saveable's variables at `<path>/vars/<index>`, where a Sequential or functional
 *   model's layers live at `layers/<name>`, `<name>` being the layer's class in snake case made unique by
 *   `_1`, `_2`, … in layer order (`layers/dense`, `layers/dense_1`; never the layer's own name), and the
 *   optimizer's at `optimizer/vars`. tf.keras 2.13–2.15 wrote `_layer_checkpoint_dependencies` for `layers`.
 * @module
 */
import { strToU8, unzipSync, zipSync } from 'fflate';
import type { Layer } from '../layers/layer.js';
import { BaseModel } from '../models/baseModel.js';
import { ModelFileError } from './errors.js';
import { childGroup, datasetAt, floatValues } from './hdf5/access.js';
import type { GroupSnapshot, WriteGroup } from './hdf5/snapshot.js';
import { addDataset, group, type WriterIdentity } from './legacyH5.js';
import { kerasJson } from './kerasJson.js';
import { kerasCompileConfig, kerasModelConfig, parseJson } from './modelConfig.js';
import {
  assignLayerWeights,
  legacyWeightOrder,
  type ModelFileParts,
  type StoredLayerWeights,
} from './modelParts.js';
import { optimizerVariablesToSave, type SavedOptimizerVariable } from './optimizerState.js';

const CONFIG = 'config.json';
const METADATA = 'metadata.json';
const WEIGHTS = 'model.weights.h5';

/** Keras's `naming.to_snake_case`: `BatchNormalization` → `batch_normalization`. */
export function kerasSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** The names Keras 3 files each layer's variables under (`saving_lib._save_container_state`). */
export function containerNames(layers: readonly Layer[]): string[] {
  const used = new Map<string, number>();
  return layers.map((layer) => {
    const base = kerasSnakeCase(layer.className);
    const count = used.get(base);
    if (count === undefined) {
      used.set(base, 0);
      return base;
    }
    used.set(base, count + 1);
    return `${base}_${count + 1}`;
  });
}

/** The members of a `.keras` archive that loading needs, refusing members that would inflate beyond reason. */
export function unzipArchive(bytes: Uint8Array, path: string): Map<string, Uint8Array> {
  const wanted = new Set([CONFIG, METADATA, WEIGHTS, 'model.weights.npz']);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (file) => {
        if (!wanted.has(file.name)) return false;
        // A member declaring far more bytes than it stores is a decompression bomb (Keras's CWE-409 guard).
        if (
          file.originalSize > 2 ** 31 ||
          (file.originalSize > 2 ** 26 && file.originalSize > 1000 * file.size)
        ) {
          throw new ModelFileError(
            'TOO_LARGE',
            path,
            `the archive member '${file.name}' declares ${file.originalSize} bytes`,
          );
        }
        return true;
      },
    });
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(
      'CORRUPT',
      path,
      `the zip archive cannot be read (${(error as Error).message})`,
      { cause: error },
    );
  }
  return new Map(Object.entries(files));
}

/** Reads the parts of a `.keras` archive; `readWeights` turns the weights file's bytes into a snapshot. */
export async function readKerasArchive(
  bytes: Uint8Array,
  path: string,
  readWeights: (bytes: Uint8Array) => Promise<GroupSnapshot>,
): Promise<ModelFileParts> {
  const members = unzipArchive(bytes, path);
  const configBytes = members.get(CONFIG);
  if (configBytes === undefined) {
    throw new ModelFileError(
      'NO_MODEL_CONFIG',
      path,
      `the archive has no ${CONFIG}: it is not a Keras model archive`,
    );
  }
  const decode = (data: Uint8Array, name: string): string => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch (error) {
      throw new ModelFileError('BAD_JSON', path, `${name} is not UTF-8 text`, { cause: error });
    }
  };
  const config = parseJson(decode(configBytes, CONFIG), CONFIG, path);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ModelFileError('BAD_CONFIG', path, `${CONFIG} is not a serialized model object`);
  }
  const { compile_config: compileConfig, ...modelConfig } = config as Record<string, unknown>;
  let kerasVersion: string | null = null;
  const metadataBytes = members.get(METADATA);
  if (metadataBytes !== undefined) {
    const metadata = parseJson(decode(metadataBytes, METADATA), METADATA, path);
    const version = (metadata as { keras_version?: unknown } | null)?.keras_version;
    if (typeof version === 'string') kerasVersion = version;
  }
  const weightBytes = members.get(WEIGHTS);
  if (weightBytes === undefined) {
    if (members.has('model.weights.npz')) {
      throw new ModelFileError(
        'UNSUPPORTED',
        path,
        'the archive stores its weights as .npz: only model.weights.h5 is supported',
      );
    }
    throw new ModelFileError('MISSING_WEIGHTS', path, `the archive has no ${WEIGHTS}`);
  }
  const tree = await readWeights(weightBytes);
  // tf.keras 2.13–2.15 filed layers under `_layer_checkpoint_dependencies`.
  const layersGroup = childGroup(tree, 'layers') ?? childGroup(tree, '_layer_checkpoint_dependencies');

  const varsOf = (
    owner: GroupSnapshot | null,
    where: string,
  ): { name: string; shape: number[]; values: Float32Array }[] => {
    const vars = owner === null ? null : childGroup(owner, 'vars');
    if (vars === null) return [];
    const indices = Object.keys(vars.children)
      .filter((key) => /^\d+$/.test(key))
      .map(Number)
      .sort((a, b) => a - b);
    if (indices.some((index, i) => index !== i)) {
      throw new ModelFileError(
        'MISSING_WEIGHTS',
        path,
        `${where}: the variables are not numbered 0, 1, 2, …`,
      );
    }
    return indices.map((index) => {
      const dataset = datasetAt(vars, String(index), where, path);
      return {
        name: String(index),
        shape: dataset.shape,
        values: floatValues(dataset, `${where}, variable ${index}`, path),
      };
    });
  };

  // A nested model's layers are containers below its own (`functional/layers/conv2d`); list every container
  // by its path.
  const layerWeights: StoredLayerWeights[] = [];
  const collect = (group: GroupSnapshot, prefix: string, depth: number): void => {
    for (const name of Object.keys(group.children)) {
      const container = childGroup(group, name);
      layerWeights.push({
        name: `${prefix}${name}`,
        weights: varsOf(container, `layer container '${prefix}${name}'`),
      });
      const inner = container === null ? null : childGroup(container, 'layers');
      if (inner !== null && depth < 32) collect(inner, `${prefix}${name}/layers/`, depth + 1);
    }
  };
  if (layersGroup !== null) collect(layersGroup, '', 0);

  let optimizerVariables: SavedOptimizerVariable[] | null = null;
  const optimizerGroup = childGroup(tree, 'optimizer');
  const optimizerVars = optimizerGroup === null ? null : childGroup(optimizerGroup, 'vars');
  if (optimizerVars !== null) {
    const indices = Object.keys(optimizerVars.children)
      .filter((key) => /^\d+$/.test(key))
      .map(Number)
      .sort((a, b) => a - b);
    optimizerVariables = indices.map((index) => {
      const dataset = datasetAt(optimizerVars, String(index), 'optimizer', path);
      if (dataset.data === null || Array.isArray(dataset.data)) {
        throw new ModelFileError('BAD_WEIGHTS', path, `optimizer variable ${index} is not numeric`);
      }
      return { name: null, shape: dataset.shape, data: dataset.data };
    });
  }

  return {
    format: 'keras',
    kerasVersion,
    backend: null,
    modelConfig,
    trainingConfig: compileConfig ?? null,
    layerWeights,
    optimizerVariables,
    assignWeights(model: BaseModel): void {
      const stored = new Map(layerWeights.map((entry) => [entry.name, entry]));
      const assign = (layers: readonly Layer[], prefix: string): void => {
        const names = containerNames(layers);
        layers.forEach((layer, i) => {
          const name = `${prefix}${names[i]}`;
          if (layer instanceof BaseModel) return assign(layer.layers, `${name}/layers/`);
          const entry = stored.get(name) ?? { name, weights: [] };
          if (legacyWeightOrder(layer).length === 0 && entry.weights.length === 0) return;
          assignLayerWeights(layer, entry, path);
        });
      };
      assign(model.layers, '');
    },
  };
}

/** The date as Keras writes `date_saved`: `2024-05-01@13:45:10` (local time). */
function dateSaved(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}@${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** The weights file of a `.keras` archive, as a description for the HDF5 worker. */
export function kerasWeightsTree(model: BaseModel, includeOptimizer: boolean): WriteGroup {
  const root = group('/');
  const layersGroup = group('layers');
  // A nested model's layers go below its container, under `layers/` (`functional/layers/conv2d/vars/0`).
  const write = (layers: readonly Layer[], prefix: string): void => {
    const names = containerNames(layers);
    layers.forEach((layer, i) => {
      if (layer instanceof BaseModel) return write(layer.layers, `${prefix}${names[i]}/layers/`);
      legacyWeightOrder(layer).forEach((variable, index) =>
        addDataset(layersGroup, `${prefix}${names[i]}/vars/${index}`, {
          dtype: '<f',
          shape: [...variable.shape],
          data: Float32Array.from(variable.value),
        }),
      );
    });
  };
  write(model.layers, '');
  if (layersGroup.groups.length > 0) root.groups.push(layersGroup);
  if (includeOptimizer && model.optimizer !== null && model.loss !== null) {
    const optimizerGroup = group('optimizer');
    optimizerVariablesToSave(model).forEach((variable, index) =>
      addDataset(optimizerGroup, `vars/${index}`, {
        dtype: variable.dtype,
        shape: variable.shape,
        data: variable.data,
      }),
    );
    if (optimizerGroup.groups.length > 0) root.groups.push(optimizerGroup);
  }
  return root;
}

/** The `.keras` archive of a model, given its weights file's bytes. */
export function kerasArchiveBytes(
  model: BaseModel,
  weights: Uint8Array,
  identity: WriterIdentity,
  includeOptimizer: boolean,
): Uint8Array {
  const config: Record<string, unknown> = kerasModelConfig(model);
  const compileConfig = includeOptimizer ? kerasCompileConfig(model) : null;
  if (compileConfig !== null) config.compile_config = compileConfig;
  const metadata = { keras_version: identity.kerasVersion, date_saved: dateSaved(new Date()) };
  // Keras writes the members in this order, stored without compression.
  return zipSync(
    {
      [METADATA]: strToU8(kerasJson(metadata)),
      [CONFIG]: strToU8(kerasJson(config)),
      [WEIGHTS]: weights,
    },
    { level: 0 },
  );
}
