import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFashionMnist } from '../../src/datasets/index.js';
import type { ImageDataset } from '../../src/datasets/index.js';
import { rawDataset, rawStringList, type RawGroup } from './h5raw.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The repository's own fixtures (`test/fixtures`, see its README.md). */
export const REPO_FIXTURE_DIR = join(root, 'test', 'fixtures');

/** The project's shared folder: `$WARMSTART_SHARED_DIR`, else `../shared` beside the checkout. */
export const SHARED_DIR = process.env.WARMSTART_SHARED_DIR || join(root, '..', 'shared');

/** The Python Keras `.h5` files committed in `test/fixtures/keras-h5` (under 40 KB each). */
export const COMMITTED_KERAS_H5 = [
  'dtn__my_keras_model.h5',
  'dtn__my_model_with_a_custom_layer.h5',
  'hopezh__my_model_with_a_custom_loss.h5',
] as const;

/** The 1–2 MB Python Keras model-A files, kept in the shared folder only. */
export const SHARED_KERAS_H5 = ['dtn__my_model_A.h5', 'hopezh__my_model_A.h5'] as const;

/** Where a Python Keras `.h5` fixture is: the repository for the small ones, the shared folder for model A. */
export function kerasH5Fixture(name: string): string {
  return (COMMITTED_KERAS_H5 as readonly string[]).includes(name)
    ? join(REPO_FIXTURE_DIR, 'keras-h5', name)
    : join(SHARED_DIR, 'fixtures', 'keras-h5', name);
}

/** A file Keras 3 wrote (`test/fixtures/keras3`, made by `test/fixtures-gen/keras3_fixtures.py`). */
export function keras3Fixture(name: string): string {
  return join(REPO_FIXTURE_DIR, 'keras3', name);
}

/** Where Fashion-MNIST is expected: `$WARMSTART_DATA_DIR`, else the shared folder's copy. */
export const FASHION_MNIST_PATH =
  process.env.WARMSTART_DATA_DIR || join(SHARED_DIR, 'datasets', 'fashion-mnist-2017-08-26');

/** A file that shows the dataset is there (for `requireFixture`). */
export const FASHION_MNIST_PROBE = join(FASHION_MNIST_PATH, 't10k-images-idx3-ubyte.gz');

/** The Fashion-MNIST folder, or null when absent. */
export const FASHION_MNIST_DIR: string | null = existsSync(FASHION_MNIST_PROBE) ? FASHION_MNIST_PATH : null;

let dataset: Promise<ImageDataset> | null = null;

/** Fashion-MNIST from the shared folder (loaded once per process). */
export function fashionMnist(): Promise<ImageDataset> {
  if (FASHION_MNIST_DIR === null) throw new Error('no shared Fashion-MNIST');
  dataset ??= loadFashionMnist({ dataDir: FASHION_MNIST_DIR, download: false });
  return dataset;
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

function activate(name: string, row: Float64Array): void {
  switch (name) {
    case 'linear':
      return;
    case 'relu':
      for (let i = 0; i < row.length; i++) row[i] = Math.max(row[i], 0);
      return;
    case 'selu':
      for (let i = 0; i < row.length; i++)
        row[i] = row[i] > 0 ? SELU_SCALE * row[i] : SELU_SCALE * SELU_ALPHA * Math.expm1(row[i]);
      return;
    case 'softmax': {
      const max = Math.max(...row);
      let sum = 0;
      for (let i = 0; i < row.length; i++) sum += row[i] = Math.exp(row[i] - max);
      for (let i = 0; i < row.length; i++) row[i] /= sum;
      return;
    }
    default:
      throw new Error(`the float64 reference has no activation '${name}'`);
  }
}

/**
 * A float64 forward pass of a Keras Sequential model of Dense-like layers (Dense, the book's MyDense), Flatten
 * and InputLayer, straight from a legacy `.h5` file's raw contents: its `model_config` and, per layer,
 * `weight_names` and datasets, as Keras lays them out. Nothing of warmstart's loader is used.
 */
export function float64Forward(file: RawGroup, inputs: Float32Array, samples: number): Float64Array[] {
  const config = JSON.parse(String(file.attrs.model_config.value)) as {
    config: { layers: Array<{ class_name: string; config: { name: string; activation?: string } }> };
  };
  const weightsGroup = file.groups.model_weights;
  const width = inputs.length / samples;
  let rows: Float64Array[] = Array.from({ length: samples }, (_, i) =>
    Float64Array.from(inputs.subarray(i * width, (i + 1) * width)),
  );
  for (const layer of config.config.layers) {
    if (layer.class_name === 'InputLayer' || layer.class_name === 'Flatten') continue;
    const group = weightsGroup.groups[layer.config.name];
    const [kernelName, biasName] = rawStringList(group, 'weight_names');
    const kernel = rawDataset(group, kernelName);
    const bias = rawDataset(group, biasName);
    const [k, n] = kernel.shape;
    rows = rows.map((row) => {
      const out = Float64Array.from(bias.data);
      for (let p = 0; p < k; p++) {
        const a = row[p];
        if (a === 0) continue;
        for (let j = 0; j < n; j++) out[j] += a * kernel.data[p * n + j];
      }
      activate(layer.config.activation ?? 'linear', out);
      return out;
    });
  }
  return rows;
}
