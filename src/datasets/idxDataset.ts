import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

import { type FileDigests, HashedFile, verifyDigests } from './checksums.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  type DownloadProgress,
  downloadToFile,
  terminalProgressBar,
} from './download.js';
import { DatasetError } from './errors.js';
import { decompressIfGzip, parseIdx, readFileBytes } from './idx.js';

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
  /** The folder the files were read from. */
  dataDir: string;
}

/** Options of the dataset loaders ({@link loadIdxDataset}, `loadFashionMnist`, `loadMnist`). */
export interface LoadDatasetOptions {
  /**
   * Folder holding the four files (each as `.gz` or raw), or a subfolder named after the dataset
   * (`fashion-mnist`, `mnist`) that does. Takes precedence over everything else; never downloads.
   */
  dataDir?: string;
  /**
   * Folder to find downloaded files in and download them to. Default:
   * `$XDG_CACHE_HOME/warmstart/datasets/<name>`, or `~/.cache/warmstart/datasets/<name>`.
   */
  cacheDir?: string;
  /** Whether to download missing files into the cache folder. Default: true. */
  download?: boolean;
  /** Base URLs to download from, tried in order. Default: the dataset's official mirrors. */
  mirrors?: readonly string[];
  /** Called as download bytes arrive. Default: a progress bar on stderr when stderr is a terminal. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Receives one line per event worth telling (downloads, unusual releases). Default: stderr. */
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

/**
 * The default cache folder of a dataset: `$XDG_CACHE_HOME/warmstart/datasets/<name>` when XDG_CACHE_HOME is
 * an absolute path, otherwise `~/.cache/warmstart/datasets/<name>`.
 *
 * @param datasetName - e.g. `fashion-mnist`
 */
export function defaultCacheDir(datasetName: string): string {
  const xdgCacheHome = process.env['XDG_CACHE_HOME'];
  const cacheRoot =
    xdgCacheHome !== undefined && isAbsolute(xdgCacheHome) ? xdgCacheHome : join(homedir(), '.cache');
  return join(cacheRoot, 'warmstart', 'datasets', datasetName);
}

/**
 * Finds a dataset's files, downloading them into the cache if needed. The folder is, in this order:
 * the `dataDir` option; the folder in the environment variable WARMSTART_DATA_DIR; the cache folder if it
 * holds all four files; the cache folder after downloading the missing files from the mirrors.
 * A folder given by option or environment variable is used if it has a subfolder named after the dataset,
 * and must then hold all four files.
 *
 * @param spec - the dataset
 * @param options - see {@link LoadDatasetOptions}
 * @throws DatasetError `missing-file` naming the first missing file, or any download error
 */
export async function locateIdxDataset(
  spec: IdxDatasetSpec,
  options: LoadDatasetOptions = {},
): Promise<LocatedDataset> {
  checkOptions('locateIdxDataset', options, LOAD_DATASET_OPTION_KEYS);
  const envDataDir = process.env[DATA_DIR_ENV];
  if (options.dataDir !== undefined) {
    return locateInUserFolder(spec, options.dataDir, 'dataDir option');
  }
  if (envDataDir !== undefined && envDataDir !== '') {
    return locateInUserFolder(spec, envDataDir, DATA_DIR_ENV);
  }

  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir(spec.name));
  const cached = findFiles(cacheDir);
  if (cached.missing.length === 0) return { dataDir: cacheDir, files: cached.files, source: 'cache' };
  if (options.download === false) {
    throw new DatasetError(
      'missing-file',
      join(cacheDir, cached.missing[0]!),
      `${spec.title} not found: no dataDir option, ${DATA_DIR_ENV} not set, the cache folder lacks ` +
        `${cached.missing.join(', ')} (as .gz or raw), and downloading is turned off`,
    );
  }

  const log = options.log ?? logToStderr;
  const onProgress =
    options.onProgress ?? (process.stderr.isTTY ? terminalProgressBar(process.stderr) : undefined);
  const digests = options.expectedDigests ?? spec.currentDigests;
  const releaseName = `${options.expectedDigests ? 'expected' : 'current'} ${spec.title} release`;
  const files = { ...cached.files };
  for (const fileName of cached.missing) {
    const servedName = `${fileName}.gz`;
    const destinationPath = join(cacheDir, servedName);
    await downloadToFile(servedName, destinationPath, {
      mirrors: options.mirrors ?? spec.mirrors,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      onProgress,
      log,
      verify: (bytes) => {
        let content: Uint8Array | undefined;
        const getContent = (): Uint8Array => (content ??= decompressIfGzip(bytes, servedName));
        const verifiedBy = verifyDigests(servedName, bytes, getContent, digests[fileName], releaseName);
        parseIdx(getContent(), servedName);
        return verifiedBy;
      },
    });
    files[fileName] = destinationPath;
  }
  return { dataDir: cacheDir, files, source: 'download' };
}

/**
 * Loads an MNIST-style dataset: locates its folder (see {@link locateIdxDataset}), reads the four IDX files,
 * checks that they fit together (N×28×28 images, as many labels as images, labels below the number of
 * classes), and tells which release their digests identify.
 *
 * @param spec - the dataset
 * @param options - see {@link LoadDatasetOptions}
 * @throws DatasetError for a missing, corrupt or inconsistent file, or a failed download
 */
export async function loadIdxDataset(
  spec: IdxDatasetSpec,
  options: LoadDatasetOptions = {},
): Promise<ImageDataset> {
  checkOptions('loadIdxDataset', options, LOAD_DATASET_OPTION_KEYS);
  const located = await locateIdxDataset(spec, options);
  const hashedFiles = {} as Record<IdxDatasetFile, HashedFile>;
  for (const fileName of IDX_DATASET_FILES) {
    const path = located.files[fileName];
    const stored = readFileBytes(path);
    hashedFiles[fileName] = new HashedFile(stored, decompressIfGzip(stored, path));
  }
  const train = readSplit(spec, located.files, hashedFiles, 'train');
  const test = readSplit(spec, located.files, hashedFiles, 't10k');
  const release = identifyRelease(spec, hashedFiles, options.expectedDigests);
  const log = options.log ?? logToStderr;
  if (release === 'unknown') {
    log(`${spec.title} in ${located.dataDir}: the files' digests match no known release`);
  } else if (release !== 'current') {
    log(`${spec.title} in ${located.dataDir}: superseded release ${release}, not the current one`);
  }
  return {
    train,
    test,
    classNames: [...spec.classNames],
    imageShape: [MNIST_IMAGE_SHAPE[0], MNIST_IMAGE_SHAPE[1]],
    release,
    dataDir: located.dataDir,
  };
}

/**
 * Tells which known release a set of files is: the first release (current first) that every file matches by
 * raw sha256 or, for compressed files, by archive digest.
 *
 * @param spec - the dataset, whose releases are compared
 * @param files - the four files
 * @param currentDigests - digests that replace the current release's published ones
 */
export function identifyRelease(
  spec: IdxDatasetSpec,
  files: Record<IdxDatasetFile, HashedFile>,
  currentDigests: ReleaseDigests = spec.currentDigests,
): DatasetRelease {
  const candidates: { release: DatasetRelease; digests: (fileName: IdxDatasetFile) => FileDigests }[] = [
    { release: 'current', digests: (fileName) => currentDigests[fileName] },
    ...spec.otherReleases.map(({ release, rawSha256 }) => ({
      release,
      digests: (fileName: IdxDatasetFile) => ({ rawSha256: rawSha256[fileName] }),
    })),
  ];
  for (const { release, digests } of candidates) {
    if (IDX_DATASET_FILES.every((fileName) => files[fileName].matches(digests(fileName)))) return release;
  }
  return 'unknown';
}

function locateInUserFolder(
  spec: IdxDatasetSpec,
  folder: string,
  source: 'dataDir option' | typeof DATA_DIR_ENV,
): LocatedDataset {
  const givenDir = resolve(folder);
  const subfolder = join(givenDir, spec.name);
  const dataDir = isDirectory(subfolder) ? subfolder : givenDir;
  const found = findFiles(dataDir);
  if (found.missing.length > 0) {
    const where = isDirectory(dataDir) ? `folder ${dataDir}` : `folder ${dataDir}, which does not exist`;
    throw new DatasetError(
      'missing-file',
      join(dataDir, found.missing[0]!),
      `${spec.title} file not found (as .gz or raw) in ${where}, given by the ${source}; ` +
        `missing: ${found.missing.join(', ')}`,
    );
  }
  return { dataDir, files: found.files, source };
}

/** Looks for each file as `<name>.gz`, then `<name>`. */
function findFiles(folder: string): { files: Record<IdxDatasetFile, string>; missing: IdxDatasetFile[] } {
  const files = {} as Record<IdxDatasetFile, string>;
  const missing: IdxDatasetFile[] = [];
  for (const fileName of IDX_DATASET_FILES) {
    const path = [join(folder, `${fileName}.gz`), join(folder, fileName)].find(isFile);
    if (path === undefined) missing.push(fileName);
    else files[fileName] = path;
  }
  return { files, missing };
}

function readSplit(
  spec: IdxDatasetSpec,
  paths: Record<IdxDatasetFile, string>,
  files: Record<IdxDatasetFile, HashedFile>,
  prefix: 'train' | 't10k',
): ImageSplit {
  const imagesPath = paths[`${prefix}-images-idx3-ubyte`];
  const labelsPath = paths[`${prefix}-labels-idx1-ubyte`];
  const images = parseIdx(files[`${prefix}-images-idx3-ubyte`].content, imagesPath);
  const labels = parseIdx(files[`${prefix}-labels-idx1-ubyte`].content, labelsPath);
  const [height, width] = MNIST_IMAGE_SHAPE;
  if (images.dims.length !== 3 || images.dims[1] !== height || images.dims[2] !== width) {
    throw new DatasetError(
      'bad-shape',
      imagesPath,
      `expected N×${height}×${width} images, header says ${images.dims.join('×')}`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new DatasetError(
      'bad-shape',
      labelsPath,
      `expected one dimension of labels, header says ${labels.dims.join('×')}`,
    );
  }
  const count = images.dims[0]!;
  if (labels.dims[0] !== count) {
    throw new DatasetError(
      'count-mismatch',
      labelsPath,
      `holds ${labels.dims[0]} labels, ${imagesPath} holds ${count} images`,
    );
  }
  const classCount = spec.classNames.length;
  const badIndex = labels.data.findIndex((label) => label >= classCount);
  if (badIndex >= 0) {
    throw new DatasetError(
      'label-out-of-range',
      labelsPath,
      `label ${labels.data[badIndex]} at index ${badIndex} is not a class index (0–${classCount - 1})`,
    );
  }
  return { images: images.data, labels: labels.data, count };
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function logToStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}
