import { checkOptions } from '../kernels/options.js';
import {
  type IdxDatasetSpec,
  type ImageDataset,
  LOAD_DATASET_OPTION_KEYS,
  type LoadDatasetOptions,
  loadIdxDataset,
} from './idxDataset.js';

/** MNIST's class names, indexed by label: the digits '0' to '9'. */
export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * MNIST (Y. LeCun, C. Cortes, C. Burges): 60,000 training and 10,000 test images of handwritten digits, 28×28.
 *
 * Digests of the `.gz` archives as served (MNIST has a single release):
 * - `gzipMd5`: as listed in torchvision's `torchvision/datasets/mnist.py` (`MNIST.resources`);
 * - `gzipSha256`: as listed in TensorFlow Datasets' `url_checksums/mnist.txt` for
 *   storage.googleapis.com/cvdf-datasets/mnist/ (with sizes 9912422, 28881, 1648877 and 4542 bytes, those of
 *   the original archives).
 *
 * The sha256 of the raw (decompressed) files is NOT listed here because no checked source gave it: a folder
 * of raw, uncompressed MNIST files is therefore reported as release `'unknown'`, while the original `.gz`
 * archives are recognised as `'current'`.
 */
export const MNIST: IdxDatasetSpec = {
  name: 'mnist',
  title: 'MNIST',
  classNames: MNIST_CLASS_NAMES,
  mirrors: [
    'https://storage.googleapis.com/cvdf-datasets/mnist/',
    'https://ossci-datasets.s3.amazonaws.com/mnist/',
  ],
  currentDigests: {
    'train-images-idx3-ubyte': {
      gzipMd5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      gzipSha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    },
    'train-labels-idx1-ubyte': {
      gzipMd5: 'd53e105ee54ea40749a09fcbcd1e9432',
      gzipSha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
    },
    't10k-images-idx3-ubyte': {
      gzipMd5: '9fb629c4189551a2d022fa330f9573f3',
      gzipSha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
    },
    't10k-labels-idx1-ubyte': {
      gzipMd5: 'ec29112dd5afa0611ce80d1b7f02629c',
      gzipSha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
    },
  },
  otherReleases: [],
};

/**
 * Loads MNIST, as `keras.datasets.mnist.load_data()` does (but from the IDX files), from the first of: the
 * `dataDir` option (Node); the `dataUrl` option; in Node, the folder in WARMSTART_DATA_DIR (or its `mnist`
 * subfolder), the cache folder (`~/.cache/warmstart/datasets/mnist`) or a download into it; in a browser,
 * the Cache API or a download. Downloads are verified against the published digests of the archives.
 *
 * @param options - see {@link LoadDatasetOptions}
 * @returns the training and test sets as bytes, the class names, and which release the files are
 * @throws DatasetError for a missing, corrupt or inconsistent file, or a failed download
 */
export function loadMnist(options?: LoadDatasetOptions): Promise<ImageDataset> {
  checkOptions('loadMnist', options, LOAD_DATASET_OPTION_KEYS);
  return loadIdxDataset(MNIST, options);
}
