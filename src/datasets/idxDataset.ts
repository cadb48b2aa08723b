/**
 * Loading MNIST-style datasets: `loadIdxDataset` picks the source (a folder, a URL, the platform's cache
 * and mirrors) and every source ends in the same checks (`assemble.ts`).
 * @module
 */
import { checkOptions } from '../kernels/options.js';
import * as platform from './platform.js';
import { loadIdxDatasetFromUrl } from './remote.js';
import {
  type IdxDatasetSpec,
  type ImageDataset,
  LOAD_DATASET_OPTION_KEYS,
  type LoadDatasetOptions,
} from './spec.js';

export { identifyRelease } from './assemble.js';
export * from './spec.js';

/**
 * Loads an MNIST-style dataset, from the first of: the `dataDir` option (Node); the `dataUrl` option; in
 * Node, the folder in WARMSTART_DATA_DIR, the cache folder, or a download into it; in a browser, the Cache
 * API or a download from the mirrors. Then reads the four IDX files, checks that they fit together (N×28×28
 * images, as many labels as images, labels below the number of classes), and tells which release their
 * digests identify. Downloads from the mirrors are verified against the current release's digests.
 *
 * @param spec - the dataset
 * @param options - see {@link LoadDatasetOptions}
 * @throws DatasetError for a missing, corrupt or inconsistent file, or a failed download
 */
export function loadIdxDataset(
  spec: IdxDatasetSpec,
  options: LoadDatasetOptions = {},
): Promise<ImageDataset> {
  checkOptions('loadIdxDataset', options, LOAD_DATASET_OPTION_KEYS);
  if (options.dataDir === undefined && options.dataUrl !== undefined) {
    return loadIdxDatasetFromUrl(spec, options.dataUrl, options, {
      log: options.log ?? platform.defaultLog,
      onProgress: options.onProgress ?? platform.defaultProgress(),
    });
  }
  return platform.loadFromPlatform(spec, options);
}
