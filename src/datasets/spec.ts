/**
 * What describes an MNIST-style dataset and what the loaders take and return: shared by every platform.
 * @module
 */
import type { OptionKeys } from '../kernels/options.js';
import type { DatasetCache } from './cache.js';
import type { FileDigests } from './checksums.js';
import type { DownloadProgress } from './download.js';

/** The four files of an MNIST-style dataset, by their names without `.gz`. */
export const IDX_DATASET_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
] as const;

/** The name (without `.gz`) of one of the four files of an MNIST-style dataset. */
export type IdxDatasetFile = (typeof IDX_DATASET_FILES)[number];

/** Digests of each of the four files of one release of a dataset. */
export type ReleaseDigests = Record<IdxDatasetFile, FileDigests>;

/**
 * Which release of a dataset a folder holds, as identified by the digests of its files: `'current'` (the one
 * the official mirrors serve today), `'2017-08-26'` (Fashion-MNIST's superseded shuffled release), or
 * `'unknown'` (no known release matches all four files).
 */
export type DatasetRelease = 'current' | '2017-08-26' | 'unknown';

/** Height and width of every image of MNIST and Fashion-MNIST. */
export const MNIST_IMAGE_SHAPE: [28, 28] = [28, 28];

/** The environment variable that points at a folder holding a dataset's files (or a subfolder named after it). */
export const DATA_DIR_ENV = 'WARMSTART_DATA_DIR';

/** Describes an MNIST-style dataset: four IDX files of 28×28 images and their labels. */
export interface IdxDatasetSpec {
  /** Folder-friendly name, e.g. `fashion-mnist`: the cache subfolder and the accepted subfolder of a data folder. */
  name: string;
  /** Name for people, e.g. `Fashion-MNIST`. */
  title: string;
  /** Class names, indexed by label. */
  classNames: readonly string[];
  /** Base URLs of the official mirrors, tried in order. */
  mirrors: readonly string[];
  /** Published digests of the current release; downloads are verified against them. */
  currentDigests: ReleaseDigests;
  /** Raw-content sha256 digests of other known releases, to tell which one a folder holds. */
  otherReleases: readonly { release: DatasetRelease; rawSha256: Record<IdxDatasetFile, string> }[];
}

/** One part (training or test) of a dataset: `count` images of 28×28 bytes, row-major, and their labels. */
export interface ImageSplit {
  /** `count × 28 × 28` grey levels, 0–255. */
  images: Uint8Array;
  /** `count` class indices. */
  labels: Uint8Array;
  /** Number of examples. */
  count: number;
}

/** A loaded MNIST-style dataset. */
export interface ImageDataset {
  /** The training set (60,000 examples for MNIST and Fashion-MNIST). */
  train: ImageSplit;
  /** The test set (10,000 examples). */
  test: ImageSplit;
  /** Class names, indexed by label. */
  classNames: string[];
  /** Height and width of each image. */
  imageShape: [28, 28];
  /** Which release the files' digests identify. */
  release: DatasetRelease;
  /** The folder (or, for files fetched over HTTP, the URL) the files were read from. */
  dataDir: string;
}

/**
 * Options of the dataset loaders (`loadIdxDataset`, `loadFashionMnist`, `loadMnist`). Where the files come
 * from, first match wins: `dataDir` (Node); `dataUrl`; in Node, the folder in WARMSTART_DATA_DIR, then the
 * cache folder, then a download into it; in a browser, the Cache API, then a download from the mirrors.
 */
export interface LoadDatasetOptions {
  /**
   * Folder holding the four files (each as `.gz` or raw), or a subfolder named after the dataset
   * (`fashion-mnist`, `mnist`) that does. Takes precedence over everything else; never downloads. Node only
   * (a browser has no folders: use `dataUrl`).
   */
  dataDir?: string;
  /**
   * URL of a folder holding the four files (each as `.gz` or raw): the page's own server, say
   * (`'/data/'`, resolved against the page in a browser). Like `dataDir` it is trusted: its files are
   * identified by their digests (a superseded release is logged) but not required to be the current release.
   */
  dataUrl?: string | URL;
  /**
   * Where files fetched from `dataUrl` or, in a browser, from the mirrors are kept between visits: default
   * the browser's Cache API (store `warmstart-datasets`) where there is one; `false` for none. Node keeps
   * mirror downloads in `cacheDir` instead.
   */
  cache?: DatasetCache | false;
  /**
   * Folder to find downloaded files in and download them to (Node). Default:
   * `$XDG_CACHE_HOME/warmstart/datasets/<name>`, or `~/.cache/warmstart/datasets/<name>`.
   */
  cacheDir?: string;
  /** Whether to download missing files into the cache folder. Default: true. */
  download?: boolean;
  /** Base URLs to download from, tried in order. Default: the dataset's official mirrors. */
  mirrors?: readonly string[];
  /** Called as download bytes arrive. Default: in Node, a progress bar on stderr when it is a terminal. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Receives one line per event worth telling (downloads, unusual releases). Default: stderr (Node), the console. */
  log?: (line: string) => void;
  /** A download gives up on a mirror after this many milliseconds without data. Default: 30,000. */
  idleTimeoutMs?: number;
  /**
   * Digests that replace the current release's published ones, both to verify downloads and to recognise
   * the `'current'` release. Meant for tests and private mirrors.
   */
  expectedDigests?: ReleaseDigests;
}

/** The keys of {@link LoadDatasetOptions}. */
export const LOAD_DATASET_OPTION_KEYS = {
  dataDir: true,
  dataUrl: true,
  cache: true,
  cacheDir: true,
  download: true,
  mirrors: true,
  onProgress: true,
  log: true,
  idleTimeoutMs: true,
  expectedDigests: true,
} as const satisfies OptionKeys<LoadDatasetOptions>;

/** Where a loader found, or put, a dataset's files. */
export interface LocatedDataset {
  /** The folder. */
  dataDir: string;
  /** The path of each file (`.gz` or raw) in it. */
  files: Record<IdxDatasetFile, string>;
  /** How the folder was chosen. */
  source: 'dataDir option' | typeof DATA_DIR_ENV | 'cache' | 'download';
}
