export { DatasetError, type DatasetErrorCode } from './errors.js';
export { decompressIfGzip, encodeIdx, isGzip, parseIdx, readIdx, type IdxArray } from './idx.js';
export { hexDigest, HashedFile, verifyDigests, verifyHashedFile, type FileDigests } from './checksums.js';
export {
  DEFAULT_IDLE_TIMEOUT_MS,
  downloadFromMirrors,
  fetchBytes,
  HttpStatusError,
  terminalProgressBar,
  type DownloadProgress,
  type DownloadToFileOptions,
  type VerifiedDownload,
} from './download.js';
export { browserDatasetCache, DEFAULT_CACHE_NAME, memoryDatasetCache, type DatasetCache } from './cache.js';
export {
  defaultCacheDir,
  downloadToFile,
  locateIdxDataset,
  readIdxFile,
  writeFileAtomically,
} from './platform.js';
export {
  DATA_DIR_ENV,
  IDX_DATASET_FILES,
  identifyRelease,
  loadIdxDataset,
  MNIST_IMAGE_SHAPE,
  type DatasetRelease,
  type IdxDatasetFile,
  type IdxDatasetSpec,
  type ImageDataset,
  type ImageSplit,
  type LoadDatasetOptions,
  type LocatedDataset,
  type ReleaseDigests,
} from './idxDataset.js';
export { FASHION_MNIST, FASHION_MNIST_CLASS_NAMES, loadFashionMnist } from './fashionMnist.js';
export { loadMnist, MNIST, MNIST_CLASS_NAMES } from './mnist.js';
export {
  splitTaskAB,
  TASK_A_CLASS_NAMES,
  TASK_B_CLASS_NAMES,
  toFloat32Images,
  type TaskABSplit,
  type TaskABSplitOptions,
  type TaskSplits,
} from './split.js';
