/**
 * gunzip in plain TypeScript (fflate's inflate plus the gzip container: header, CRC-32, length), so that a
 * browser gets the same checks as Node's zlib: a damaged or truncated archive is an error, never wrong
 * bytes. Node's platform module uses zlib itself (two to three times faster).
 * @module
 */
import { inflateSync } from 'fflate';

/** Why an archive could not be decompressed. */
export class GzipError extends Error {
  override readonly name = 'GzipError';
  /** `truncated`: the stream ends early; `corrupt`: anything else. */
  readonly reason: 'truncated' | 'corrupt';

  constructor(reason: 'truncated' | 'corrupt', message: string) {
    super(message);
    this.reason = reason;
  }
}

const FLAG_HEADER_CRC = 2;
const FLAG_EXTRA = 4;
const FLAG_NAME = 8;
const FLAG_COMMENT = 16;
const TRAILER_BYTES = 8;

/** fflate's error code for "unexpected EOF". */
const FFLATE_END_OF_INPUT = 0;

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32 (the gzip/zip polynomial) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 255]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** Offset of the deflate data after a gzip header (RFC 1952, section 2.3). */
function headerLength(bytes: Uint8Array): number {
  const need = (length: number): void => {
    if (bytes.length < length) throw new GzipError('truncated', 'gzip stream ends early, in its header');
  };
  need(10);
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) throw new GzipError('corrupt', 'not a gzip stream');
  if (bytes[2] !== 8) throw new GzipError('corrupt', `unknown compression method ${bytes[2]}`);
  const flags = bytes[3]!;
  if (flags & 0xe0) throw new GzipError('corrupt', `reserved header flags set (0x${flags.toString(16)})`);
  let offset = 10;
  if (flags & FLAG_EXTRA) {
    need(offset + 2);
    offset += 2 + (bytes[offset]! | (bytes[offset + 1]! << 8));
  }
  for (const flag of [FLAG_NAME, FLAG_COMMENT]) {
    if (flags & flag) {
      while (offset < bytes.length && bytes[offset] !== 0) offset++;
      offset++;
    }
  }
  if (flags & FLAG_HEADER_CRC) {
    need(offset + 2);
    const stored = bytes[offset]! | (bytes[offset + 1]! << 8);
    if ((crc32(bytes.subarray(0, offset)) & 0xffff) !== stored) {
      throw new GzipError('corrupt', 'header CRC mismatch');
    }
    offset += 2;
  }
  need(offset);
  return offset;
}

/**
 * Decompresses a single-member gzip archive and checks its CRC-32 and length.
 *
 * @throws GzipError `truncated` if the stream ends early, `corrupt` for anything else wrong
 */
export function gunzipBytes(bytes: Uint8Array): Uint8Array {
  const start = headerLength(bytes);
  if (bytes.length < start + TRAILER_BYTES) throw new GzipError('truncated', 'gzip stream ends early');
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - TRAILER_BYTES, TRAILER_BYTES);
  const expectedCrc = trailer.getUint32(0, true);
  const expectedLength = trailer.getUint32(4, true);
  const compressed = bytes.subarray(start, bytes.length - TRAILER_BYTES);
  // Deflate expands at most ~1032 times: a larger announced length is a damaged trailer, not a size to trust.
  const sized = expectedLength <= compressed.length * 1032 + 64 && expectedLength < 2 ** 31;
  let content: Uint8Array;
  try {
    content = inflateSync(compressed, sized ? { out: new Uint8Array(expectedLength) } : undefined);
  } catch (error) {
    const { code, message } = error as { code?: number; message?: string };
    if (code === FFLATE_END_OF_INPUT) {
      throw new GzipError('truncated', `gzip stream ends early after ${bytes.length} bytes (${message})`);
    }
    throw new GzipError('corrupt', `cannot decompress: ${message ?? String(error)}`);
  }
  // With `out` given, fflate stops at its end: a trailer that understates the length shows up here or in the
  // CRC below.
  if (content.length % 2 ** 32 !== expectedLength) {
    throw new GzipError(
      'corrupt',
      `decompressed ${content.length} bytes, the archive's trailer says ${expectedLength}`,
    );
  }
  const actualCrc = crc32(content);
  if (actualCrc !== expectedCrc) {
    throw new GzipError(
      'corrupt',
      `CRC-32 of the content is ${actualCrc.toString(16)}, the archive says ${expectedCrc.toString(16)}`,
    );
  }
  return content;
}
