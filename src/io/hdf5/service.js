// @ts-check
/* global WebAssembly */
/**
 * What the HDF5 worker does: the only code in warmstart that touches h5wasm (Emscripten's build of the HDF5 C
 * library). `nodeWorker.js` (Node's `worker_threads`) and `webWorker.js` (a browser's module Worker) carry
 * its requests and answers; this module does the work, the same on both.
 *
 * It runs in a worker because a damaged file can make HDF5 abort (which leaves the library unusable) or loop
 * forever; the calling thread can then terminate the worker and start a fresh one, and nothing but the worker
 * is affected. HDF5's own error reports are captured (see `capture.js`) and turned into failures, so that no
 * call goes unchecked and nothing is printed.
 *
 * It works on bytes only: h5wasm's ES module build (no Node API, its WebAssembly embedded in the module, so
 * bundlers have no file to copy) keeps its files in Emscripten's in-memory file system (MEMFS); a file's
 * bytes are copied in to read it, and a written file's bytes are handed back. No scratch file ever reaches a
 * disk, so a process killed mid-read or mid-write leaves nothing behind.
 *
 * Plain JavaScript (checked by `tsc`): Node runs it as it is from `src/` (no TypeScript loader in the worker)
 * and from `dist/`, and bundlers take it as it is.
 * @module
 */
// First: HDF5's reports are captured only if `console.error` is replaced before h5wasm's module runs.
import { clearDiagnostics, printedDiagnostics } from './capture.js';
import * as h5wasmModule from 'h5wasm';

/**
 * @typedef {import('./snapshot.js').AttributeSnapshot} AttributeSnapshot
 * @typedef {import('./snapshot.js').DatasetSnapshot} DatasetSnapshot
 * @typedef {import('./snapshot.js').ElementKind} ElementKind
 * @typedef {import('./snapshot.js').GroupSnapshot} GroupSnapshot
 * @typedef {import('./snapshot.js').OtherSnapshot} OtherSnapshot
 * @typedef {import('./snapshot.js').ReadLimits} ReadLimits
 * @typedef {import('./snapshot.js').WorkerFailure} WorkerFailure
 * @typedef {import('./snapshot.js').WorkerRequest} WorkerRequest
 * @typedef {import('./snapshot.js').WorkerResponse} WorkerResponse
 * @typedef {import('./snapshot.js').WriteGroup} WriteGroup
 */

/**
 * The slice of h5wasm's metadata this worker reads.
 * @typedef {{ type: number, size: number, signed: boolean, vlen: boolean, cset?: number,
 *   shape: number[] | null, total_size: number }} H5Metadata
 */
/**
 * @typedef {{ file_id: bigint, path: string,
 *   create_attribute(name: string, data: unknown, shape?: number[] | null, dtype?: string | null): void }} H5HasAttrs
 * @typedef {H5HasAttrs & { keys(): string[], create_group(name: string): H5Group,
 *   create_dataset(args: { name: string, data: unknown, shape: number[], dtype: string }): unknown }} H5Group
 * @typedef {H5HasAttrs & { metadata: H5Metadata, dtype: unknown, value: unknown }} H5Dataset
 * @typedef {{
 *   get_attribute_names(fileId: bigint, path: string): string[],
 *   get_attribute_metadata(fileId: bigint, path: string, name: string): H5Metadata,
 *   get_type(fileId: bigint, path: string): number,
 *   H5G_GROUP: number, H5G_DATASET: number, H5G_LINK: number, H5G_UDLINK: number, H5G_TYPE: number,
 *   FS: { writeFile(path: string, data: Uint8Array): void, readFile(path: string): Uint8Array,
 *     unlink(path: string): void } }} H5Module
 */
/**
 * The slice of h5wasm's exports this worker uses (typed here: its own declarations are wider than its
 * behaviour, and this is what the code below relies on).
 * @typedef {{
 *   ready: Promise<H5Module>,
 *   File: new (path: string, mode: 'r' | 'w') => H5Group & { close(): number },
 *   Group: new (fileId: bigint, path: string) => H5Group,
 *   Dataset: new (fileId: bigint, path: string) => H5Dataset,
 *   Attribute: new (fileId: bigint, path: string, name: string) => { value: unknown },
 * }} H5Api
 */

const h5wasm = /** @type {H5Api} */ (/** @type {unknown} */ (h5wasmModule));

/** Resolves once HDF5's WebAssembly is compiled and started (rejects if it cannot be). */
export const serviceReady = h5wasm.ready;

/** A failure of a request, with its kind (see {@link WorkerFailure}). */
class Failure extends Error {
  /**
   * @param {WorkerFailure['kind']} kind
   * @param {string} message
   */
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/**
 * The most telling lines of an HDF5 error stack: its last (innermost) `minor:` reasons.
 * @param {string} text
 */
function summarize(text) {
  const reasons = [...text.matchAll(/minor: (.*)/g)].map((match) => match[1].trim());
  const functions = [...text.matchAll(/ in ([A-Za-z0-9_]+\(\)): (.*)/g)].map(
    (match) => `${match[1]}: ${match[2]}`,
  );
  const innermost = functions.length > 0 ? functions[functions.length - 1] : '';
  const reason = reasons.length > 0 ? reasons[reasons.length - 1] : text.trim().split('\n')[0];
  return innermost ? `${innermost} (${reason})` : reason;
}

/**
 * What h5wasm's own checks mean when they throw a bare message (`error - name not defined!` is thrown when
 * HDF5 cannot open the object being listed).
 * @param {string} message
 */
function explain(message) {
  return /name not defined/i.test(message)
    ? 'damaged HDF5 metadata: the object cannot be opened'
    : `damaged HDF5 metadata (${message})`;
}

/**
 * Whether an error means the WebAssembly instance itself is broken (abort, trap, out of memory).
 * @param {unknown} error
 */
function isFatal(error) {
  return (
    error instanceof WebAssembly.RuntimeError ||
    (error instanceof Error && /Aborted|unreachable|out of bounds|memory/i.test(error.message))
  );
}

/** Whether the current request reads a file (its errors are the file's) or writes one (they are HDF5's). */
let reading = true;

/**
 * Runs one h5wasm call and fails if HDF5 reported an error during it, or h5wasm threw.
 * @template T
 * @param {string} what
 * @param {() => T} call
 * @returns {T}
 */
function checked(what, call) {
  clearDiagnostics();
  let result;
  try {
    result = call();
  } catch (error) {
    if (error instanceof Failure || isFatal(error)) throw error;
    const diagnostics = printedDiagnostics();
    const reported = diagnostics.includes('HDF5-DIAG') ? ` (HDF5: ${summarize(diagnostics)})` : '';
    const message = error instanceof Error ? error.message : String(error);
    throw new Failure('hdf5', `${what}: ${reading ? explain(message) : message}${reported}`);
  }
  const diagnostics = printedDiagnostics();
  if (diagnostics.includes('HDF5-DIAG') || diagnostics.includes('Error')) {
    const summary = summarize(diagnostics);
    throw new Failure(
      'hdf5',
      reading ? `${what}: damaged or truncated HDF5 data (HDF5: ${summary})` : `${what}: ${summary}`,
    );
  }
  return result;
}

/**
 * @param {H5Metadata} metadata
 * @returns {ElementKind}
 */
function kindOf(metadata) {
  return metadata.type === 3
    ? 'string'
    : metadata.type === 1
      ? 'float'
      : metadata.type === 0
        ? 'integer'
        : 'other';
}

/**
 * @param {string} parent
 * @param {string} name
 */
function joinPath(parent, name) {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/**
 * An attribute's or dataset's value as a list of strings and numbers (bigints become numbers).
 * @param {unknown} raw
 * @returns {Array<string | number>}
 */
function toValues(raw) {
  /** @type {unknown[]} */
  const list =
    raw === null || raw === undefined
      ? []
      : typeof raw === 'string' ||
          typeof raw === 'number' ||
          typeof raw === 'bigint' ||
          typeof raw === 'boolean'
        ? [raw]
        : ArrayBuffer.isView(raw)
          ? Array.from(/** @type {ArrayLike<number | bigint>} */ (/** @type {unknown} */ (raw)))
          : Array.isArray(raw)
            ? raw
            : [];
  return list.map((item) =>
    typeof item === 'bigint'
      ? Number(item)
      : typeof item === 'string' || typeof item === 'number'
        ? item
        : String(item),
  );
}

/** @type {H5Module | null} */
let module = null;

/** h5wasm's module, once {@link serviceReady} resolved. */
function h5() {
  if (module === null) throw new Failure('internal', 'HDF5 is not started');
  return module;
}

/**
 * @param {bigint} fileId
 * @param {string} path
 * @param {ReadLimits} limits
 * @returns {Record<string, AttributeSnapshot>}
 */
function readAttributes(fileId, path, limits) {
  /** @type {Record<string, AttributeSnapshot>} */
  const attributes = {};
  const names = checked(`attributes of '${path}'`, () => h5().get_attribute_names(fileId, path));
  for (const name of names) {
    const what = `attribute '${name}' of '${path}'`;
    const metadata = checked(what, () => h5().get_attribute_metadata(fileId, path, name));
    const bytes = metadata.size * metadata.total_size;
    if (!(bytes >= 0 && bytes <= limits.maxObjectBytes)) {
      throw new Failure(
        'limit',
        `${what} declares ${bytes} bytes, more than the ${limits.maxObjectBytes} allowed`,
      );
    }
    const kind = kindOf(metadata);
    /** @type {Array<string | number>} */
    let values = [];
    if (kind !== 'other' && metadata.shape !== null) {
      const attribute = checked(what, () => new h5wasm.Attribute(fileId, path, name));
      values = toValues(checked(what, () => attribute.value));
    }
    attributes[name] = {
      kind,
      shape: metadata.shape === null ? null : [...metadata.shape],
      values,
      vlen: Boolean(metadata.vlen),
      cset: kind === 'string' ? (metadata.cset ?? 0) : null,
      size: metadata.size,
    };
  }
  return attributes;
}

/** A fresh path in the in-memory file system for one request. */
let scratchCounter = 0;
const scratchPath = () => `/request-${++scratchCounter}.h5`;

/**
 * Reads a whole HDF5 file, given as bytes, into a snapshot.
 * @param {string} name
 * @param {Uint8Array} bytes
 * @param {ReadLimits} limits
 * @returns {GroupSnapshot}
 */
function read(name, bytes, limits) {
  const scratch = scratchPath();
  h5().FS.writeFile(scratch, bytes);
  try {
    return readFile(scratch, name, bytes.length, limits);
  } finally {
    h5().FS.unlink(scratch);
  }
}

/**
 * @param {string} scratch
 * @param {string} name
 * @param {number} fileSize
 * @param {ReadLimits} limits
 * @returns {GroupSnapshot}
 */
function readFile(scratch, name, fileSize, limits) {
  const file = checked(`opening '${name}'`, () => new h5wasm.File(scratch, 'r'));
  if (file.file_id < 0n) throw new Failure('hdf5', `opening '${name}': not an HDF5 file`);
  let objects = 0;
  let totalBytes = 0;
  /**
   * @param {string} datasetPath
   * @returns {DatasetSnapshot}
   */
  const readDataset = (datasetPath) => {
    const what = `dataset '${datasetPath}'`;
    const dataset = checked(what, () => new h5wasm.Dataset(file.file_id, datasetPath));
    const metadata = checked(what, () => dataset.metadata);
    const kind = kindOf(metadata);
    const shape = metadata.shape === null ? [] : [...metadata.shape];
    const bytes = metadata.size * metadata.total_size;
    // Keras stores weights contiguously and uncompressed: a dataset larger than the file (beyond a margin for
    // compressed layouts) is a damaged or hostile header, and reading it would only allocate in vain.
    if (!(bytes >= 0 && bytes <= limits.maxObjectBytes && bytes <= Math.max(1 << 20, fileSize * 1000))) {
      throw new Failure('limit', `${what} declares ${bytes} bytes in a file of ${fileSize} bytes`);
    }
    totalBytes += bytes;
    if (totalBytes > limits.maxTotalBytes) {
      throw new Failure('limit', `the datasets total more than ${limits.maxTotalBytes} bytes`);
    }
    const attrs = readAttributes(file.file_id, datasetPath, limits);
    /** @type {DatasetSnapshot['data']} */
    let data = null;
    if (kind !== 'other' && metadata.shape !== null) {
      const raw = checked(what, () => dataset.value);
      if (kind === 'string') data = toValues(raw).map(String);
      else if (ArrayBuffer.isView(raw)) data = /** @type {DatasetSnapshot['data']} */ (raw);
      else if (typeof raw === 'number') data = Float64Array.of(raw);
      else if (typeof raw === 'bigint') data = BigInt64Array.of(raw);
    }
    const dtype = checked(what, () => dataset.dtype);
    return {
      type: 'dataset',
      attrs,
      shape,
      dtype: typeof dtype === 'string' ? dtype : JSON.stringify(dtype),
      kind,
      size: metadata.size,
      data,
    };
  };
  /**
   * @param {string} groupPath
   * @param {number} depth
   * @returns {GroupSnapshot}
   */
  const readGroup = (groupPath, depth) => {
    if (depth > limits.maxDepth)
      throw new Failure('limit', `groups nest deeper than ${limits.maxDepth} levels`);
    const group = checked(`group '${groupPath}'`, () => new h5wasm.Group(file.file_id, groupPath));
    const attrs = readAttributes(file.file_id, groupPath, limits);
    /** @type {GroupSnapshot['children']} */
    const children = {};
    const keys = checked(`members of '${groupPath}'`, () => group.keys());
    for (const key of keys) {
      if (++objects > limits.maxObjects)
        throw new Failure('limit', `the file holds more than ${limits.maxObjects} objects`);
      const childPath = joinPath(groupPath, key);
      const Module = h5();
      const type = checked(`'${childPath}'`, () => Module.get_type(file.file_id, childPath));
      if (type === Module.H5G_GROUP) children[key] = readGroup(childPath, depth + 1);
      else if (type === Module.H5G_DATASET) children[key] = readDataset(childPath);
      else {
        const description =
          type === Module.H5G_LINK
            ? 'soft link'
            : type === Module.H5G_UDLINK
              ? 'external link'
              : type === Module.H5G_TYPE
                ? 'datatype'
                : 'unknown';
        /** @type {OtherSnapshot} */
        const other = { type: 'other', description };
        children[key] = other;
      }
    }
    return { type: 'group', attrs, children };
  };
  try {
    return readGroup('/', 0);
  } finally {
    clearDiagnostics();
    file.close();
    clearDiagnostics();
  }
}

/**
 * Makes an HDF5 file from a description and returns its bytes.
 * @param {string} name
 * @param {WriteGroup} root
 * @returns {Uint8Array}
 */
function write(name, root) {
  const scratch = scratchPath();
  try {
    writeFile(scratch, name, root);
    return h5().FS.readFile(scratch);
  } finally {
    try {
      h5().FS.unlink(scratch);
    } catch {
      // Nothing was created: HDF5 refused at once.
    }
  }
}

/**
 * @param {string} scratch
 * @param {string} name
 * @param {WriteGroup} root
 */
function writeFile(scratch, name, root) {
  const file = checked(`creating '${name}'`, () => new h5wasm.File(scratch, 'w'));
  if (file.file_id < 0n) throw new Failure('hdf5', `creating '${name}' failed`);
  /**
   * @param {H5Group} target
   * @param {WriteGroup} spec
   */
  const writeGroup = (target, spec) => {
    for (const attribute of spec.attrs) {
      checked(`writing attribute '${attribute.name}' of '${target.path}'`, () =>
        target.create_attribute(attribute.name, attribute.value, attribute.shape, attribute.dtype),
      );
    }
    for (const dataset of spec.datasets) {
      checked(`writing dataset '${dataset.name}' in '${target.path}'`, () =>
        target.create_dataset({
          name: dataset.name,
          data: dataset.data,
          shape: dataset.shape,
          dtype: dataset.dtype,
        }),
      );
    }
    for (const child of spec.groups) {
      const group = checked(`creating group '${child.name}' in '${target.path}'`, () =>
        target.create_group(child.name),
      );
      writeGroup(group, child);
    }
  };
  try {
    writeGroup(file, root);
  } finally {
    checked(`closing '${name}'`, () => file.close());
  }
}

/**
 * Answers one request: the snapshot of a file read, or the bytes of a file written (to be transferred, not
 * copied, back), or the failure.
 * @param {WorkerRequest} request
 * @returns {{ response: WorkerResponse, transfer: ArrayBuffer[] }}
 */
export function handleRequest(request) {
  /** @type {ArrayBuffer[]} */
  const transfer = [];
  reading = request.op === 'read';
  try {
    if (request.op === 'read') {
      const tree = read(request.name, request.bytes, request.limits);
      return { response: { id: request.id, ok: true, tree, bytes: null }, transfer };
    }
    const bytes = write(request.name, request.root);
    transfer.push(/** @type {ArrayBuffer} */ (bytes.buffer));
    return { response: { id: request.id, ok: true, tree: null, bytes }, transfer };
  } catch (error) {
    const fatal = isFatal(error);
    /** @type {WorkerFailure['kind']} */
    const kind = error instanceof Failure ? error.kind : fatal ? 'internal' : 'hdf5';
    const message = error instanceof Error ? error.message : String(error);
    return {
      response: {
        id: request.id,
        ok: false,
        failure: { kind, message: message.split('\n')[0].slice(0, 500), fatal },
      },
      transfer,
    };
  }
}

serviceReady.then(
  (started) => {
    module = started;
  },
  () => {
    // The worker's entry reports the failure to start.
  },
);
