/**
 * The HDF5 worker: the only code in warmstart that touches h5wasm (Emscripten's build of the HDF5 C library).
 *
 * It runs in a worker thread because a damaged file can make HDF5 abort (which leaves the library unusable)
 * or loop forever; the main thread can then terminate the worker and start a fresh one, and nothing but the
 * worker is affected. HDF5's own error reports, which it prints to stderr, are captured and turned into
 * failures, so that no call goes unchecked and nothing is printed.
 *
 * It works on bytes only: it loads h5wasm's platform-neutral build, whose files live in Emscripten's in-memory
 * file system (MEMFS), copies a file's bytes in to read it and hands a written file's bytes back. So no
 * scratch file ever reaches a disk (a process killed mid-read or mid-write leaves nothing behind), and the same
 * code can serve a browser.
 *
 * {@link hdf5WorkerMain} is sent to the worker as source text (the client starts it with
 * `new Worker(text, { eval: true })`), which keeps h5wasm out of any TypeScript loader the main thread uses
 * and lets the same code run from the compiled package. It must therefore not use anything from this
 * module's scope: only its parameters, globals and dynamic imports.
 * @module
 */
import type {
  AttributeSnapshot,
  DatasetSnapshot,
  ElementKind,
  GroupSnapshot,
  OtherSnapshot,
  ReadLimits,
  WorkerFailure,
  WorkerRequest,
  WorkerResponse,
  WriteGroup,
} from './snapshot.js';

/** The slice of h5wasm's metadata this worker reads. */
interface H5Metadata {
  type: number;
  size: number;
  signed: boolean;
  vlen: boolean;
  cset?: number;
  shape: number[] | null;
  total_size: number;
}

/** The slice of h5wasm's module this worker uses (typed here because its source text is all it gets). */
interface H5Api {
  /** Emscripten's file system (here MEMFS), set once `ready` resolves. */
  FS: {
    writeFile(path: string, data: Uint8Array): void;
    readFile(path: string): Uint8Array;
    unlink(path: string): void;
  };
  default: {
    ready: Promise<H5ModuleApi>;
    File: new (path: string, mode: 'r' | 'w') => H5GroupApi & { file_id: bigint; close(): number };
    Group: new (fileId: bigint, path: string) => H5GroupApi;
    Dataset: new (fileId: bigint, path: string) => H5DatasetApi;
  };
  Attribute: new (fileId: bigint, path: string, name: string) => H5AttributeApi;
}
interface H5ModuleApi {
  get_attribute_names(fileId: bigint, path: string): string[];
  get_attribute_metadata(fileId: bigint, path: string, name: string): H5Metadata;
  get_type(fileId: bigint, path: string): number;
  H5G_GROUP: number;
  H5G_DATASET: number;
  H5G_LINK: number;
  H5G_UDLINK: number;
  H5G_TYPE: number;
}
interface H5HasAttrs {
  file_id: bigint;
  path: string;
  create_attribute(name: string, data: unknown, shape?: number[] | null, dtype?: string | null): void;
}
interface H5GroupApi extends H5HasAttrs {
  keys(): string[];
  create_group(name: string): H5GroupApi;
  create_dataset(args: { name: string; data: unknown; shape: number[]; dtype: string }): unknown;
}
interface H5DatasetApi extends H5HasAttrs {
  metadata: H5Metadata;
  dtype: unknown;
  value: unknown;
}
interface H5AttributeApi {
  value: unknown;
}

/** Runs the worker: answers {@link WorkerRequest}s posted to it with {@link WorkerResponse}s. */
export async function hdf5WorkerMain(h5wasmUrl: string): Promise<void> {
  const { parentPort } = await import('node:worker_threads');
  if (parentPort === null) throw new Error('hdf5WorkerMain must run in a worker thread');

  // HDF5 reports errors by printing its error stack to stderr and returning a negative status, which h5wasm
  // mostly ignores. This build prints stderr (and Emscripten its aborts) through console.error, bound when the
  // module loads, hence patched first: every report becomes a failure of the call that caused it, and nothing
  // reaches the user's terminal.
  let diagnostics = '';
  console.error = (...parts: unknown[]): void => {
    diagnostics += parts.map(String).join(' ') + '\n';
  };
  console.warn = console.error;

  const api = (await import(h5wasmUrl)) as H5Api;
  const h5wasm = api.default;
  const Module = await h5wasm.ready;
  const memory = api.FS;

  class Failure extends Error {
    constructor(
      readonly kind: WorkerFailure['kind'],
      message: string,
    ) {
      super(message);
    }
  }

  /** The most telling lines of an HDF5 error stack: its last (innermost) `minor:` reasons. */
  const summarize = (text: string): string => {
    const reasons = [...text.matchAll(/minor: (.*)/g)].map((match) => match[1].trim());
    const functions = [...text.matchAll(/ in ([A-Za-z0-9_]+\(\)): (.*)/g)].map(
      (match) => `${match[1]}: ${match[2]}`,
    );
    const innermost = functions.length > 0 ? functions[functions.length - 1] : '';
    const reason = reasons.length > 0 ? reasons[reasons.length - 1] : text.trim().split('\n')[0];
    return innermost ? `${innermost} (${reason})` : reason;
  };

  /**
   * What h5wasm's own checks mean when they throw a bare message (`error - name not defined!` is thrown when
   * HDF5 cannot open the object being listed).
   */
  const explain = (message: string): string =>
    /name not defined/i.test(message)
      ? 'damaged HDF5 metadata: the object cannot be opened'
      : `damaged HDF5 metadata (${message})`;

  /** Whether the current request reads a file (its errors are the file's) or writes one (they are HDF5's). */
  let reading = true;

  /** Runs one h5wasm call and fails if HDF5 reported an error during it, or h5wasm threw. */
  const checked = <T>(what: string, call: () => T): T => {
    diagnostics = '';
    let result: T;
    try {
      result = call();
    } catch (error) {
      if (error instanceof Failure || isFatal(error)) throw error;
      const reported = diagnostics.includes('HDF5-DIAG') ? ` (HDF5: ${summarize(diagnostics)})` : '';
      const message = error instanceof Error ? error.message : String(error);
      throw new Failure('hdf5', `${what}: ${reading ? explain(message) : message}${reported}`);
    }
    if (diagnostics.includes('HDF5-DIAG') || diagnostics.includes('Error')) {
      const summary = summarize(diagnostics);
      throw new Failure(
        'hdf5',
        reading ? `${what}: damaged or truncated HDF5 data (HDF5: ${summary})` : `${what}: ${summary}`,
      );
    }
    return result;
  };

  const kindOf = (metadata: H5Metadata): ElementKind =>
    metadata.type === 3
      ? 'string'
      : metadata.type === 1
        ? 'float'
        : metadata.type === 0
          ? 'integer'
          : 'other';

  const joinPath = (parent: string, name: string): string =>
    parent === '/' ? `/${name}` : `${parent}/${name}`;

  const toValues = (raw: unknown): Array<string | number> => {
    const list: unknown[] =
      raw === null || raw === undefined
        ? []
        : typeof raw === 'string' ||
            typeof raw === 'number' ||
            typeof raw === 'bigint' ||
            typeof raw === 'boolean'
          ? [raw]
          : ArrayBuffer.isView(raw)
            ? Array.from(raw as unknown as ArrayLike<number | bigint>)
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
  };

  const readAttributes = (
    fileId: bigint,
    path: string,
    limits: ReadLimits,
  ): Record<string, AttributeSnapshot> => {
    const attributes: Record<string, AttributeSnapshot> = {};
    const names = checked(`attributes of '${path}'`, () => Module.get_attribute_names(fileId, path));
    for (const name of names) {
      const what = `attribute '${name}' of '${path}'`;
      const metadata = checked(what, () => Module.get_attribute_metadata(fileId, path, name));
      const bytes = metadata.size * metadata.total_size;
      if (!(bytes >= 0 && bytes <= limits.maxObjectBytes)) {
        throw new Failure(
          'limit',
          `${what} declares ${bytes} bytes, more than the ${limits.maxObjectBytes} allowed`,
        );
      }
      const kind = kindOf(metadata);
      let values: Array<string | number> = [];
      if (kind !== 'other' && metadata.shape !== null) {
        const attribute = checked(what, () => new api.Attribute(fileId, path, name));
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
  };

  /** A fresh path in the in-memory file system for one request. */
  let scratchCounter = 0;
  const scratchPath = (): string => `/request-${++scratchCounter}.h5`;

  const read = (name: string, bytes: Uint8Array, limits: ReadLimits): GroupSnapshot => {
    const scratch = scratchPath();
    memory.writeFile(scratch, bytes);
    try {
      return readFile(scratch, name, bytes.length, limits);
    } finally {
      memory.unlink(scratch);
    }
  };

  const readFile = (scratch: string, name: string, fileSize: number, limits: ReadLimits): GroupSnapshot => {
    const file = checked(`opening '${name}'`, () => new h5wasm.File(scratch, 'r'));
    if (file.file_id < 0n) throw new Failure('hdf5', `opening '${name}': not an HDF5 file`);
    let objects = 0;
    let totalBytes = 0;
    const readDataset = (datasetPath: string): DatasetSnapshot => {
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
      let data: DatasetSnapshot['data'] = null;
      if (kind !== 'other' && metadata.shape !== null) {
        const raw = checked(what, () => dataset.value);
        if (kind === 'string') data = toValues(raw).map(String);
        else if (ArrayBuffer.isView(raw)) data = raw as DatasetSnapshot['data'];
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
    const readGroup = (groupPath: string, depth: number): GroupSnapshot => {
      if (depth > limits.maxDepth)
        throw new Failure('limit', `groups nest deeper than ${limits.maxDepth} levels`);
      const group = checked(`group '${groupPath}'`, () => new h5wasm.Group(file.file_id, groupPath));
      const attrs = readAttributes(file.file_id, groupPath, limits);
      const children: GroupSnapshot['children'] = {};
      const keys = checked(`members of '${groupPath}'`, () => group.keys());
      for (const key of keys) {
        if (++objects > limits.maxObjects)
          throw new Failure('limit', `the file holds more than ${limits.maxObjects} objects`);
        const childPath = joinPath(groupPath, key);
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
          children[key] = { type: 'other', description } satisfies OtherSnapshot;
        }
      }
      return { type: 'group', attrs, children };
    };
    try {
      return readGroup('/', 0);
    } finally {
      diagnostics = '';
      file.close();
      diagnostics = '';
    }
  };

  const write = (name: string, root: WriteGroup): Uint8Array => {
    const scratch = scratchPath();
    try {
      writeFile(scratch, name, root);
      return memory.readFile(scratch);
    } finally {
      try {
        memory.unlink(scratch);
      } catch {
        // Nothing was created: HDF5 refused at once.
      }
    }
  };

  const writeFile = (scratch: string, name: string, root: WriteGroup): void => {
    const file = checked(`creating '${name}'`, () => new h5wasm.File(scratch, 'w'));
    if (file.file_id < 0n) throw new Failure('hdf5', `creating '${name}' failed`);
    const writeGroup = (target: H5GroupApi, spec: WriteGroup): void => {
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
  };

  /** Whether an error means the WebAssembly instance itself is broken (abort, trap, out of memory). */
  const isFatal = (error: unknown): boolean =>
    error instanceof WebAssembly.RuntimeError ||
    (error instanceof Error && /Aborted|unreachable|out of bounds|memory/i.test(error.message));

  parentPort.on('message', (request: WorkerRequest) => {
    let response: WorkerResponse;
    const transfer: ArrayBuffer[] = [];
    reading = request.op === 'read';
    try {
      if (request.op === 'read') {
        response = {
          id: request.id,
          ok: true,
          tree: read(request.name, request.bytes, request.limits),
          bytes: null,
        };
      } else {
        const bytes = write(request.name, request.root);
        transfer.push(bytes.buffer as ArrayBuffer);
        response = { id: request.id, ok: true, tree: null, bytes };
      }
    } catch (error) {
      const fatal = isFatal(error);
      const kind: WorkerFailure['kind'] = error instanceof Failure ? error.kind : fatal ? 'internal' : 'hdf5';
      const message = error instanceof Error ? error.message : String(error);
      response = {
        id: request.id,
        ok: false,
        failure: { kind, message: message.split('\n')[0].slice(0, 500), fatal },
      };
    }
    parentPort.postMessage(response, transfer);
  });
  parentPort.postMessage({ ready: true });
}
