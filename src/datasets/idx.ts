import * as host from '../platform/host.js';
import { GzipError } from '../platform/gzip.js';
import { DatasetError } from './errors.js';

/** An array read from an IDX file: its dimensions (outermost first) and its bytes in row-major order. */
export interface IdxArray {
  /** The sizes of the dimensions, e.g. `[60000, 28, 28]` for the Fashion-MNIST training images. */
  dims: number[];
  /** The elements, `dims` multiplied together of them. */
  data: Uint8Array;
}

/** The IDX type code for unsigned bytes, the only element type this reader supports. */
const UNSIGNED_BYTE_TYPE = 0x08;
const MAGIC_BYTE_COUNT = 4;
const DIMENSION_BYTE_COUNT = 4;

/** Tells whether `bytes` start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Returns the content of `bytes`: decompressed if they are gzip (detected by the magic number 1f 8b),
 * otherwise `bytes` themselves.
 *
 * @param bytes - the file as stored
 * @param fileName - the file's name or path, for error messages
 * @throws DatasetError `truncated` if the gzip stream ends early, `bad-gzip` if it is otherwise corrupt
 */
export function decompressIfGzip(bytes: Uint8Array, fileName: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return host.gunzip(bytes);
  } catch (error) {
    if (!(error instanceof GzipError)) throw error;
    throw new DatasetError(error.reason === 'truncated' ? 'truncated' : 'bad-gzip', fileName, error.message);
  }
}

/**
 * Parses IDX content that is already decompressed.
 *
 * @param content - the raw IDX bytes
 * @param fileName - the file's name or path, for error messages
 * @throws DatasetError `truncated`, `bad-magic` or `bad-length`
 */
export function parseIdx(content: Uint8Array, fileName: string): IdxArray {
  if (content.length < MAGIC_BYTE_COUNT) {
    throw new DatasetError(
      'truncated',
      fileName,
      `file has ${content.length} bytes, an IDX header needs at least ${MAGIC_BYTE_COUNT}`,
    );
  }
  if (content[0] !== 0 || content[1] !== 0) {
    throw new DatasetError(
      'bad-magic',
      fileName,
      `starts with ${hexBytes(content.subarray(0, MAGIC_BYTE_COUNT))}, an IDX file starts with 00 00`,
    );
  }
  if (content[2] !== UNSIGNED_BYTE_TYPE) {
    throw new DatasetError(
      'bad-magic',
      fileName,
      `element type 0x${hex(content[2]!)} is not supported, only 0x08 (unsigned byte)`,
    );
  }
  const dimensionCount = content[3]!;
  if (dimensionCount === 0) {
    throw new DatasetError('bad-magic', fileName, 'header declares 0 dimensions');
  }
  const headerLength = MAGIC_BYTE_COUNT + DIMENSION_BYTE_COUNT * dimensionCount;
  if (content.length < headerLength) {
    throw new DatasetError(
      'truncated',
      fileName,
      `header of ${dimensionCount} dimensions needs ${headerLength} bytes, file has ${content.length}`,
    );
  }
  const view = new DataView(content.buffer, content.byteOffset, headerLength);
  const dims: number[] = [];
  let expectedDataLength = 1;
  for (let dimension = 0; dimension < dimensionCount; dimension++) {
    const size = view.getUint32(MAGIC_BYTE_COUNT + DIMENSION_BYTE_COUNT * dimension, false);
    dims.push(size);
    expectedDataLength *= size;
  }
  const dataLength = content.length - headerLength;
  const announced = `header says ${dims.join('×')} = ${expectedDataLength} bytes of data`;
  if (dataLength < expectedDataLength) {
    throw new DatasetError('truncated', fileName, `${announced}, file has ${dataLength}`);
  }
  if (dataLength > expectedDataLength) {
    throw new DatasetError(
      'bad-length',
      fileName,
      `${announced}, file has ${dataLength} (${dataLength - expectedDataLength} extra)`,
    );
  }
  return { dims, data: content.subarray(headerLength) };
}

/**
 * Reads an IDX array of unsigned bytes from the bytes of a file, gzip-compressed or raw.
 *
 * The magic number must be `00 00 08 <dimension count>`, and the data after the header must be exactly as
 * long as the product of the dimensions.
 *
 * @param bytes - the file's bytes (gzip is detected by its magic number 1f 8b)
 * @param fileName - the file's name or path, used in error messages
 * @returns the dimensions and a view of the data
 * @throws DatasetError `truncated`, `bad-magic`, `bad-length` or `bad-gzip`, whose message names `fileName`
 */
export function readIdx(bytes: Uint8Array, fileName: string): IdxArray {
  return parseIdx(decompressIfGzip(bytes, fileName), fileName);
}

/**
 * Encodes an IDX array of unsigned bytes (the inverse of {@link parseIdx}); used to write small test files.
 *
 * @param dims - the sizes of the dimensions
 * @param data - the elements, as many as the dimensions multiplied together
 */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const elementCount = dims.reduce((product, size) => product * size, 1);
  if (elementCount !== data.length) {
    throw new RangeError(`encodeIdx: dims ${dims.join('×')} need ${elementCount} bytes, got ${data.length}`);
  }
  const headerLength = MAGIC_BYTE_COUNT + DIMENSION_BYTE_COUNT * dims.length;
  const bytes = new Uint8Array(headerLength + data.length);
  const view = new DataView(bytes.buffer);
  bytes[2] = UNSIGNED_BYTE_TYPE;
  bytes[3] = dims.length;
  dims.forEach((size, dimension) =>
    view.setUint32(MAGIC_BYTE_COUNT + DIMENSION_BYTE_COUNT * dimension, size, false),
  );
  bytes.set(data, headerLength);
  return bytes;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, hex).join(' ');
}
