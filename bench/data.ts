/**
 * The data of the bench's fit-based tables: Fashion-MNIST task A (the notebook's split) from
 * `WARMSTART_DATA_DIR` (or `--data-dir`), never downloaded; random images with half their pixels zero when
 * no such folder exists, and the bench says so. Also writes the same images as raw bytes for PyTorch.
 * @module
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadFashionMnist, splitTaskAB, toFloat32Images } from '../src/datasets/index.js';
import { type Dataset, randomImages } from './fit.js';

/** Uint8 images and labels of a split, as the raw files PyTorch reads. */
interface RawSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** Task A (train, validation, test) as floats for warmstart and as raw files for PyTorch. */
export interface BenchData {
  real: boolean;
  /** Where it came from, for the report. */
  source: string;
  classes: number;
  train: Dataset;
  validation: Dataset;
  /** All 10,000 test images (every class: predict needs no labels). */
  predict: Dataset;
  /** Raw files ([images, labels, count]) for torch_fit.py; removed by `cleanup`. */
  files: {
    train: [string, string, number];
    valid: [string, string, number];
    predict: [string, string, number];
  };
  cleanup(): void;
}

function toDataset(split: RawSplit): Dataset {
  return { x: toFloat32Images(split.images), y: Float32Array.from(split.labels), count: split.count };
}

/** Back from floats to bytes (random data only: its pixels are not multiples of 1/255). */
function toRaw(data: Dataset): RawSplit {
  const images = new Uint8Array(data.x.length);
  for (let i = 0; i < images.length; i++) images[i] = Math.round(data.x[i] * 255);
  return { images, labels: Uint8Array.from(data.y), count: data.count };
}

/** Loads task A from `dataDir` when it exists, else random images (44,000 / 4,000 / 10,000, half zeros). */
export async function benchData(dataDir: string | undefined): Promise<BenchData> {
  let raw: { train: RawSplit; valid: RawSplit; predict: RawSplit };
  let real = false;
  let source: string;
  if (dataDir !== undefined && existsSync(dataDir)) {
    const dataset = await loadFashionMnist({ dataDir, download: false, log: () => {} });
    const { taskA } = splitTaskAB(dataset);
    raw = { train: taskA.train, valid: taskA.valid, predict: dataset.test };
    real = true;
    source = `Fashion-MNIST task A from ${dataset.dataDir} (release ${dataset.release}): ${taskA.train.count} training and ${taskA.valid.count} validation images; predict on the ${dataset.test.count} test images`;
  } else {
    // Rounded to bytes like real images, so that both sides see the same values.
    raw = {
      train: toRaw(randomImages(44000, 0.5, 8, 11)),
      valid: toRaw(randomImages(4000, 0.5, 8, 12)),
      predict: toRaw(randomImages(10000, 0.5, 8, 13)),
    };
    source =
      dataDir === undefined
        ? 'RANDOM images (half the pixels 0): WARMSTART_DATA_DIR is not set'
        : `RANDOM images (half the pixels 0): ${dataDir} does not exist`;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmstart-bench-'));
  const write = (name: string, split: RawSplit): [string, string, number] => {
    const images = path.join(dir, `${name}-images.u8`);
    const labels = path.join(dir, `${name}-labels.u8`);
    writeFileSync(images, split.images);
    writeFileSync(labels, split.labels);
    return [images, labels, split.count];
  };
  return {
    real,
    source,
    classes: 8,
    train: toDataset(raw.train),
    validation: toDataset(raw.valid),
    predict: toDataset(raw.predict),
    files: {
      train: write('train', raw.train),
      valid: write('valid', raw.valid),
      predict: write('predict', raw.predict),
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
