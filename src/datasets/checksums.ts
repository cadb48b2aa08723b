import * as host from '../platform/host.js';
import { DatasetError } from './errors.js';

/**
 * Published digests of one dataset file. Any field may be missing when no trustworthy source lists it.
 * Hex digits are lower case.
 */
export interface FileDigests {
  /** md5 of the `.gz` archive exactly as the mirrors serve it. */
  gzipMd5?: string;
  /** sha256 of the `.gz` archive exactly as the mirrors serve it. */
  gzipSha256?: string;
  /** sha256 of the raw (decompressed) IDX content; identifies the data whatever compressed it. */
  rawSha256?: string;
}

/**
 * Hex digest of `bytes` (`'md5'` or `'sha256'`): node:crypto in Node; `crypto.subtle` (SHA-256) and plain
 * TypeScript (MD5, which `crypto.subtle` lacks) in browsers.
 */
export function hexDigest(algorithm: 'md5' | 'sha256', bytes: Uint8Array): Promise<string> {
  return host.digestHex(algorithm, bytes);
}

/**
 * A file as found on disk or as served: the stored bytes and the IDX content they hold. Digests are computed
 * once, on first use.
 */
export class HashedFile {
  private readonly digests = new Map<string, Promise<string>>();

  /**
   * @param stored - the bytes as stored or served (gzip or raw)
   * @param content - the raw IDX content (`stored` itself when it is not gzip)
   */
  constructor(
    readonly stored: Uint8Array,
    readonly content: Uint8Array,
  ) {}

  /** Whether the stored bytes are a compressed archive rather than the raw content. */
  get isCompressed(): boolean {
    return this.stored !== this.content;
  }

  /** sha256 of the raw content. */
  rawSha256(): Promise<string> {
    return this.memoized('raw-sha256', () => hexDigest('sha256', this.content));
  }

  /** md5 of the stored archive, or undefined when the file is stored raw. */
  async gzipMd5(): Promise<string | undefined> {
    return this.isCompressed ? this.storedDigest('md5') : undefined;
  }

  /** sha256 of the stored archive, or undefined when the file is stored raw. */
  async gzipSha256(): Promise<string | undefined> {
    return this.isCompressed ? this.storedDigest('sha256') : undefined;
  }

  /** Digest of the bytes as stored, compressed or not. */
  storedDigest(algorithm: 'md5' | 'sha256'): Promise<string> {
    return this.memoized(`stored-${algorithm}`, () => hexDigest(algorithm, this.stored));
  }

  /**
   * Whether this file is the one that `expected` describes: its raw sha256 matches, or, for a compressed
   * file, one of the archive digests matches.
   */
  async matches(expected: FileDigests): Promise<boolean> {
    if (expected.rawSha256 !== undefined && expected.rawSha256 === (await this.rawSha256())) return true;
    if (!this.isCompressed) return false;
    if (expected.gzipMd5 !== undefined && expected.gzipMd5 === (await this.gzipMd5())) return true;
    return expected.gzipSha256 !== undefined && expected.gzipSha256 === (await this.gzipSha256());
  }

  private memoized(key: string, compute: () => Promise<string>): Promise<string> {
    let digest = this.digests.get(key);
    if (digest === undefined) {
      digest = compute();
      this.digests.set(key, digest);
    }
    return digest;
  }
}

/**
 * Checks a downloaded file against its published digests and says how it was verified.
 *
 * The raw content's sha256 is authoritative when it is known (a mirror may recompress the archive);
 * otherwise every known digest of the archive must match.
 *
 * @param fileName - the file's name or path, for the error message
 * @param stored - the downloaded bytes
 * @param getContent - returns the raw IDX content of `stored` (decompressing it; may throw)
 * @param expected - the published digests
 * @param releaseName - what `expected` describes, e.g. `current Fashion-MNIST release`, for messages
 * @returns (a promise of) a short description of the check, e.g. `sha256 of the content`
 * @throws DatasetError `checksum-mismatch` naming the file, the expected and the actual digest
 */
export function verifyDigests(
  fileName: string,
  stored: Uint8Array,
  getContent: () => Uint8Array,
  expected: FileDigests,
  releaseName: string,
): Promise<string> {
  const digestOf = (what: DigestName): Promise<string> =>
    what === 'content' ? hexDigest('sha256', getContent()) : hexDigest(what, stored);
  return verifyWith(fileName, digestOf, expected, releaseName);
}

/**
 * {@link verifyDigests} for a file whose digests may already be known (they are computed once, and the
 * release check afterwards reuses them).
 *
 * @param fileName - the file's name or path, for the error message
 * @param file - the file
 * @param expected - the published digests
 * @param releaseName - what `expected` describes, for messages
 */
export function verifyHashedFile(
  fileName: string,
  file: HashedFile,
  expected: FileDigests,
  releaseName: string,
): Promise<string> {
  const digestOf = (what: DigestName): Promise<string> =>
    what === 'content' ? file.rawSha256() : file.storedDigest(what);
  return verifyWith(fileName, digestOf, expected, releaseName);
}

type DigestName = 'content' | 'md5' | 'sha256';

async function verifyWith(
  fileName: string,
  digestOf: (what: DigestName) => Promise<string>,
  expected: FileDigests,
  releaseName: string,
): Promise<string> {
  if (expected.rawSha256 !== undefined) {
    const actual = await digestOf('content');
    if (actual !== expected.rawSha256) {
      throw mismatch(fileName, 'sha256 of the content', actual, expected.rawSha256, releaseName);
    }
    return 'sha256 of the content';
  }
  const checks: [string, string | undefined, DigestName][] = [
    ['md5 of the archive', expected.gzipMd5, 'md5'],
    ['sha256 of the archive', expected.gzipSha256, 'sha256'],
  ];
  const passed: string[] = [];
  for (const [what, expectedDigest, digestName] of checks) {
    if (expectedDigest === undefined) continue;
    const actual = await digestOf(digestName);
    if (actual !== expectedDigest) throw mismatch(fileName, what, actual, expectedDigest, releaseName);
    passed.push(what);
  }
  return passed.length > 0 ? passed.join(' and ') : 'nothing (no published digest)';
}

function mismatch(
  fileName: string,
  what: string,
  actual: string,
  expected: string,
  releaseName: string,
): DatasetError {
  return new DatasetError(
    'checksum-mismatch',
    fileName,
    `${what} is ${actual}, the ${releaseName} has ${expected}`,
  );
}
