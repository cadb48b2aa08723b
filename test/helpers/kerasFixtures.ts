import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFashionMnist } from '../../src/datasets/index.js';
import type { ImageDataset } from '../../src/datasets/index.js';
import { rawDataset, rawStringList, type RawGroup } from './h5raw.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The Python Keras files of `shared/fixtures/keras-h5` (see its SOURCES.md), or null when absent. */
export const FIXTURE_DIR: string | null = (() => {
  const dir = join(root, '..', 'shared', 'fixtures', 'keras-h5');
  return existsSync(dir) ? dir : null;
})();

/** The shared Fashion-MNIST copy, or null when absent. */
export const FASHION_MNIST_DIR: string | null = (() => {
  const dir = join(root, '..', 'shared', 'datasets', 'fashion-mnist-2017-08-26');
  return existsSync(join(dir, 't10k-images-idx3-ubyte.gz')) ? dir : null;
})();

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
