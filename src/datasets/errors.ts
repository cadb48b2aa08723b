/**
 * What went wrong with a dataset file, as a stable machine-readable word.
 *
 * - `truncated`: the file (or its gzip stream) ends before the data its header announces.
 * - `bad-magic`: the first four bytes are not an IDX magic number for unsigned bytes.
 * - `bad-length`: the file holds more data than its header announces.
 * - `bad-shape`: the header is valid IDX but not the shape the dataset needs (e.g. not 28×28 images).
 * - `bad-gzip`: the file starts like gzip but cannot be decompressed.
 * - `missing-file`: a file the dataset needs is not in the folder.
 * - `checksum-mismatch`: a downloaded file's digest differs from the published one.
 * - `download-failed`: no mirror could deliver the file.
 * - `label-out-of-range`: a label is not a valid class index.
 * - `count-mismatch`: the labels file and the images file hold different numbers of examples.
 * - `not-available`: the option or function needs what this platform lacks (a file system, in a browser).
 */
export type DatasetErrorCode =
  | 'truncated'
  | 'bad-magic'
  | 'bad-length'
  | 'bad-shape'
  | 'bad-gzip'
  | 'missing-file'
  | 'checksum-mismatch'
  | 'download-failed'
  | 'label-out-of-range'
  | 'count-mismatch'
  | 'not-available';

/**
 * The error every dataset function throws for a problem with the data itself (as opposed to a bug).
 *
 * Its message is one line: `<file>: <code>: <detail>`, e.g.
 * `train-images-idx3-ubyte.gz: truncated: header says 60000×28×28 = 47040000 bytes of data, file has 1000000`.
 */
export class DatasetError extends Error {
  /** The file (path or name as the caller gave it) that the problem is about. */
  readonly file: string;
  /** The kind of problem. */
  readonly code: DatasetErrorCode;
  /** The problem in words, without the file name and code. */
  readonly detail: string;

  /**
   * @param code - the kind of problem
   * @param file - the file the problem is about
   * @param detail - the problem in words (one line)
   */
  constructor(code: DatasetErrorCode, file: string, detail: string) {
    super(`${file}: ${code}: ${detail}`);
    this.name = 'DatasetError';
    this.code = code;
    this.file = file;
    this.detail = detail;
  }
}
