import { checkOptions } from '../kernels/options.js';
import {
  type IdxDatasetSpec,
  type ImageDataset,
  LOAD_DATASET_OPTION_KEYS,
  type LoadDatasetOptions,
  loadIdxDataset,
} from './idxDataset.js';
import { defaultLog } from './platform.js';

/** Fashion-MNIST's class names, indexed by label (the order of the Keras notebooks). */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/**
 * Fashion-MNIST (© Zalando SE, MIT license): 60,000 training and 10,000 test images of clothing, 28×28.
 *
 * Digests: `rawSha256` of both releases are those of shared/datasets/fashion-mnist-2017-08-26/PROVENANCE.md;
 * `gzipMd5` are the md5 sums of the current release's `.gz` files as listed in the dataset's README.
 */
export const FASHION_MNIST: IdxDatasetSpec = {
  name: 'fashion-mnist',
  title: 'Fashion-MNIST',
  classNames: FASHION_MNIST_CLASS_NAMES,
  mirrors: [
    'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    'https://storage.googleapis.com/tensorflow/tf-keras-datasets/',
  ],
  currentDigests: {
    'train-images-idx3-ubyte': {
      gzipMd5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      rawSha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    },
    'train-labels-idx1-ubyte': {
      gzipMd5: '25c81989df183df01b3e8a0aad5dffbe',
      rawSha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    },
    't10k-images-idx3-ubyte': {
      gzipMd5: 'bef4ecab320f06d8554ea6380940ec79',
      rawSha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    },
    't10k-labels-idx1-ubyte': {
      gzipMd5: 'bb300cfdad3c16e7a12a480ee83cd310',
      rawSha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    },
  },
  otherReleases: [
    {
      release: '2017-08-26',
      rawSha256: {
        'train-images-idx3-ubyte': 'f90068848beaee13588c5c0c129c5e016331db6251d78bd38dbdce4a89470f76',
        'train-labels-idx1-ubyte': 'c7673bb30764062aa9ddeaf6184d7043075ded6a31aee7d16f38402434ad395d',
        't10k-images-idx3-ubyte': 'e76e80ccadedb817f9ba1c884c08a396e650ec64e424af6a550b8db54d843a8b',
        't10k-labels-idx1-ubyte': '0106d6dfb86a77b9299271c292262daad9001d5a44d251a3880227436b8ce3b1',
      },
    },
  ],
};

/** The loader's line about the release a folder holds (written by `loadIdxDataset`). */
const RELEASE_NOTE = /: (superseded release |the files' digests match no known release)/;

/** Release notes already printed by this process: each is printed once, not on every load. */
const printedReleaseNotes = new Set<string>();

/**
 * Loads Fashion-MNIST, as `keras.datasets.fashion_mnist.load_data()` does, from the first of: the `dataDir`
 * option (Node); the `dataUrl` option (a folder URL, e.g. the page's own server); in Node, the folder in
 * WARMSTART_DATA_DIR, the cache folder (`~/.cache/warmstart/datasets/fashion-mnist`) or a download into it;
 * in a browser, the Cache API or a download. Downloads from the official mirrors are verified against the
 * current release's digests.
 *
 * ```ts
 * const data = await loadFashionMnist({ dataUrl: '/data/', onProgress: (p) => show(p.receivedBytes) });
 * ```
 *
 * When the files are not the current release (the shared copy is the superseded 2017-08-26 one), a one-line
 * note says so once per process and folder (on stderr in Node, the console in a browser), not on every
 * load; `verbose: 0` prints nothing at all (no note, no download progress). A `log` given by the caller
 * receives every note (unless `verbose: 0`).
 *
 * @param options - see {@link LoadDatasetOptions}; `verbose`: 1 or 2 (default 1) tell, 0 is silent
 * @returns the training and test sets as bytes, the class names, and which release the files are
 * @throws DatasetError for a missing, corrupt or inconsistent file, or a failed download
 */
export async function loadFashionMnist(
  options: LoadDatasetOptions & { verbose?: 0 | 1 | 2 } = {},
): Promise<ImageDataset> {
  checkOptions('loadFashionMnist', options, { ...LOAD_DATASET_OPTION_KEYS, verbose: true });
  const { verbose = 1, ...loadOptions } = options;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) {
    throw new RangeError(`loadFashionMnist: verbose must be 0, 1 or 2, got ${JSON.stringify(verbose)}`);
  }
  const callerLog = loadOptions.log;
  const print = callerLog ?? defaultLog;
  const log = (line: string): void => {
    if (verbose === 0) return;
    if (callerLog === undefined && RELEASE_NOTE.test(line)) {
      if (printedReleaseNotes.has(line)) return;
      printedReleaseNotes.add(line);
    }
    print(line);
  };
  return loadIdxDataset(FASHION_MNIST, {
    ...loadOptions,
    log,
    onProgress: loadOptions.onProgress ?? (verbose === 0 ? () => {} : undefined),
  });
}
