// Small generated MNIST-style datasets, their files, and a local HTTP server to serve them, for the dataset
// tests. Nothing here touches the internet.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { encodeIdx } from '../../src/datasets/idx.js';
import {
  IDX_DATASET_FILES,
  type IdxDatasetFile,
  type ImageSplit,
  type ReleaseDigests,
} from '../../src/datasets/idxDataset.js';

/** Pixels of one 28×28 image. */
export const PIXELS_PER_IMAGE = 28 * 28;

/** A generated dataset: training and test sets of 28×28 images. */
export interface GeneratedDataset {
  /** The training set. */
  train: ImageSplit;
  /** The test set. */
  test: ImageSplit;
}

/**
 * Makes a dataset whose images are all different (the first two pixels hold the image's index and the set's
 * seed shifts the rest) and whose labels are pseudo-random in 0..9.
 *
 * @param trainCount - number of training examples
 * @param testCount - number of test examples
 * @param seed - varies the labels and pixels, so that two datasets differ
 */
export function generateDataset(trainCount: number, testCount: number, seed = 1): GeneratedDataset {
  return { train: generateSplit(trainCount, seed), test: generateSplit(testCount, seed + 1000) };
}

/**
 * Makes a dataset a network can learn: each image is faint noise with two bright rows whose position is the
 * label's (rows 2·label + 2 and 2·label + 3), so that accuracy well above chance shows that training works.
 * Labels are pseudo-random in 0..9, as in {@link generateDataset}.
 *
 * @param trainCount - number of training examples
 * @param testCount - number of test examples
 * @param seed - varies the labels and the noise
 */
export function generateLearnableDataset(trainCount: number, testCount: number, seed = 1): GeneratedDataset {
  return {
    train: generateLearnableSplit(trainCount, seed),
    test: generateLearnableSplit(testCount, seed + 1000),
  };
}

function generateLearnableSplit(count: number, seed: number): ImageSplit {
  const { images, labels } = generateSplit(count, seed);
  let state = (seed * 40503 + 17) >>> 0;
  for (let index = 0; index < count; index++) {
    const offset = index * PIXELS_PER_IMAGE;
    const firstBright = (2 * labels[index] + 2) * 28;
    for (let pixel = 0; pixel < PIXELS_PER_IMAGE; pixel++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      const noise = (state >>> 24) % 60;
      images[offset + pixel] = pixel >= firstBright && pixel < firstBright + 56 ? 195 + noise : noise;
    }
  }
  return { images, labels, count };
}

function generateSplit(count: number, seed: number): ImageSplit {
  const images = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  let state = (seed * 2654435761) >>> 0;
  for (let index = 0; index < count; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    labels[index] = (state >>> 24) % 10;
    const offset = index * PIXELS_PER_IMAGE;
    images[offset] = (index >> 8) & 255;
    images[offset + 1] = index & 255;
    for (let pixel = 2; pixel < PIXELS_PER_IMAGE; pixel++) {
      images[offset + pixel] = (index * 31 + pixel * 7 + seed) & 255;
    }
  }
  return { images, labels, count };
}

/**
 * The raw IDX content of the four files of a dataset.
 *
 * @param dataset - the images and labels to encode
 */
export function encodeDataset(dataset: GeneratedDataset): Record<IdxDatasetFile, Uint8Array> {
  return {
    'train-images-idx3-ubyte': encodeIdx([dataset.train.count, 28, 28], dataset.train.images),
    'train-labels-idx1-ubyte': encodeIdx([dataset.train.count], dataset.train.labels),
    't10k-images-idx3-ubyte': encodeIdx([dataset.test.count, 28, 28], dataset.test.images),
    't10k-labels-idx1-ubyte': encodeIdx([dataset.test.count], dataset.test.labels),
  };
}

/**
 * Gzips each file's content.
 *
 * @param files - raw contents
 */
export function gzipFiles(files: Record<IdxDatasetFile, Uint8Array>): Record<IdxDatasetFile, Uint8Array> {
  const gzipped = {} as Record<IdxDatasetFile, Uint8Array>;
  for (const fileName of IDX_DATASET_FILES) gzipped[fileName] = gzipSync(files[fileName]);
  return gzipped;
}

/**
 * Digests that identify the given raw contents (sha256 of the raw content only).
 *
 * @param rawFiles - raw contents
 */
export function rawDigestsOf(rawFiles: Record<IdxDatasetFile, Uint8Array>): ReleaseDigests {
  const digests = {} as ReleaseDigests;
  for (const fileName of IDX_DATASET_FILES)
    digests[fileName] = { rawSha256: createHash('sha256').update(rawFiles[fileName]).digest('hex') };
  return digests;
}

/**
 * Writes a dataset's files into `folder` (created if needed), as `<name>.gz` or raw.
 *
 * @param folder - destination folder
 * @param dataset - what to write
 * @param options - `gzip`: compress (default true); `omit`: files not to write
 */
export function writeDataset(
  folder: string,
  dataset: GeneratedDataset,
  options: { gzip?: boolean; omit?: readonly IdxDatasetFile[] } = {},
): void {
  const gzip = options.gzip ?? true;
  mkdirSync(folder, { recursive: true });
  const raw = encodeDataset(dataset);
  for (const fileName of IDX_DATASET_FILES) {
    if (options.omit?.includes(fileName)) continue;
    if (gzip) writeFileSync(join(folder, `${fileName}.gz`), gzipSync(raw[fileName]));
    else writeFileSync(join(folder, fileName), raw[fileName]);
  }
}

/**
 * Creates an empty temporary folder under the system's temporary folder.
 *
 * @param label - part of the folder's name
 * @returns the folder and a function that deletes it
 */
export function makeTempDir(label: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `warmstart-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Runs `body` with environment variables set (a value) or removed (undefined), then restores them.
 *
 * @param variables - the variables to change
 * @param body - what to run
 */
export async function withEnv<T>(
  variables: Record<string, string | undefined>,
  body: () => Promise<T> | T,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(variables);
  try {
    return await body();
  } finally {
    apply(saved);
  }
}

/** A local HTTP server for download tests. */
export interface LocalServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  origin: string;
  /** Paths requested so far, in order. */
  requests: string[];
  /** Stops the server, cutting open connections. */
  close: () => Promise<void>;
}

/**
 * Starts an HTTP server on 127.0.0.1 (a free port) that answers each request with `handle`.
 *
 * @param handle - answers a request, given its path
 */
export async function startLocalServer(
  handle: (path: string, request: IncomingMessage, response: ServerResponse) => void,
): Promise<LocalServer> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    requests.push(path);
    handle(path, request, response);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/**
 * Answers with `bytes` as a gzip download.
 *
 * @param response - the response to complete
 * @param bytes - the body
 */
export function sendBytes(response: ServerResponse, bytes: Uint8Array): void {
  response.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': bytes.length });
  response.end(bytes);
}

/**
 * Answers 404.
 *
 * @param response - the response to complete
 */
export function sendNotFound(response: ServerResponse): void {
  response.writeHead(404, { 'content-type': 'text/plain' });
  response.end('not found');
}
