/**
 * Turns the four files' bytes into a dataset, the same way wherever they came from (a folder, a URL, a
 * cache): decompress, parse, check that they fit together, identify the release.
 * @module
 */
import { type FileDigests, HashedFile } from './checksums.js';
import { DatasetError } from './errors.js';
import { decompressIfGzip, parseIdx } from './idx.js';
import {
  IDX_DATASET_FILES,
  type DatasetRelease,
  type IdxDatasetFile,
  type IdxDatasetSpec,
  type ImageDataset,
  type ImageSplit,
  type LoadDatasetOptions,
  MNIST_IMAGE_SHAPE,
  type ReleaseDigests,
} from './spec.js';

/** One of the four files as stored: its bytes (`.gz` or raw) and its path or URL, for messages. */
export interface StoredFile {
  bytes: Uint8Array;
  name: string;
  /** The file already decompressed (and perhaps hashed), when a verification did that. */
  hashed?: HashedFile;
}

/**
 * Reads the four files, checks that they fit together (N×28×28 images, as many labels as images, labels
 * below the number of classes), and tells which release their digests identify, logging anything unusual.
 *
 * @param spec - the dataset
 * @param files - the four files as stored
 * @param location - the folder or URL they came from (the result's `dataDir`)
 * @param options - `expectedDigests` and `log`
 * @param log - where the release note goes
 * @throws DatasetError for a corrupt or inconsistent file
 */
export async function assembleDataset(
  spec: IdxDatasetSpec,
  files: Record<IdxDatasetFile, StoredFile>,
  location: string,
  options: Pick<LoadDatasetOptions, 'expectedDigests'>,
  log: (line: string) => void,
): Promise<ImageDataset> {
  const hashedFiles = {} as Record<IdxDatasetFile, HashedFile>;
  const names = {} as Record<IdxDatasetFile, string>;
  for (const fileName of IDX_DATASET_FILES) {
    const { bytes, name, hashed } = files[fileName];
    hashedFiles[fileName] = hashed ?? new HashedFile(bytes, decompressIfGzip(bytes, name));
    names[fileName] = name;
  }
  const train = readSplit(spec, names, hashedFiles, 'train');
  const test = readSplit(spec, names, hashedFiles, 't10k');
  const release = await identifyRelease(spec, hashedFiles, options.expectedDigests);
  if (release === 'unknown') {
    log(`${spec.title} in ${location}: the files' digests match no known release`);
  } else if (release !== 'current') {
    log(`${spec.title} in ${location}: superseded release ${release}, not the current one`);
  }
  return {
    train,
    test,
    classNames: [...spec.classNames],
    imageShape: [MNIST_IMAGE_SHAPE[0], MNIST_IMAGE_SHAPE[1]],
    release,
    dataDir: location,
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
export async function identifyRelease(
  spec: IdxDatasetSpec,
  files: Record<IdxDatasetFile, HashedFile>,
  currentDigests: ReleaseDigests = spec.currentDigests,
): Promise<DatasetRelease> {
  const candidates: { release: DatasetRelease; digests: (fileName: IdxDatasetFile) => FileDigests }[] = [
    { release: 'current', digests: (fileName) => currentDigests[fileName] },
    ...spec.otherReleases.map(({ release, rawSha256 }) => ({
      release,
      digests: (fileName: IdxDatasetFile) => ({ rawSha256: rawSha256[fileName] }),
    })),
  ];
  for (const { release, digests } of candidates) {
    let all = true;
    for (const fileName of IDX_DATASET_FILES) {
      if (!(await files[fileName].matches(digests(fileName)))) {
        all = false;
        break;
      }
    }
    if (all) return release;
  }
  return 'unknown';
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
