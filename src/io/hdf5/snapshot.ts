/**
 * Plain-data pictures of HDF5 files, as the HDF5 worker reads them (a {@link GroupSnapshot} of the whole file)
 * and as it writes them (a {@link WriteGroup}). They cross the worker boundary by structured clone, so they
 * hold only strings, numbers, arrays and typed arrays.
 * @module
 */

/** The element type of an attribute or dataset, as far as Keras files need it. */
export type ElementKind = 'string' | 'float' | 'integer' | 'other';

/** An attribute as read: its decoded value and the HDF5 type details Keras's writers differ in. */
export interface AttributeSnapshot {
  /** What the elements are. */
  kind: ElementKind;
  /** Dimensions; `[]` for a scalar, null for an empty (null-dataspace) attribute. */
  shape: number[] | null;
  /** Strings for string attributes, numbers (bigints become numbers) for numeric ones, empty otherwise. */
  values: Array<string | number>;
  /** Whether a string type is variable-length. */
  vlen: boolean;
  /** HDF5 character set of a string type: 0 ASCII, 1 UTF-8. */
  cset: number | null;
  /** Element size in bytes (for fixed-length strings, the length). */
  size: number;
}

/** A dataset as read. */
export interface DatasetSnapshot {
  type: 'dataset';
  attrs: Record<string, AttributeSnapshot>;
  /** Dimensions (`[]` for a scalar). */
  shape: number[];
  /** h5wasm's dtype string (`<f` float32, `<d` float64, `<q` int64, …). */
  dtype: string;
  kind: ElementKind;
  /** Element size in bytes. */
  size: number;
  /** The elements, row-major: a typed array for numbers, strings for strings, null for other types. */
  data:
    | Float32Array
    | Float64Array
    | Int8Array
    | Uint8Array
    | Int16Array
    | Uint16Array
    | Int32Array
    | Uint32Array
    | BigInt64Array
    | BigUint64Array
    | string[]
    | null;
}

/** A group as read, with everything below it. */
export interface GroupSnapshot {
  type: 'group';
  attrs: Record<string, AttributeSnapshot>;
  children: Record<string, GroupSnapshot | DatasetSnapshot | OtherSnapshot>;
}

/** Links and objects Keras never writes (soft, external, named datatypes): recorded, never followed. */
export interface OtherSnapshot {
  type: 'other';
  /** What it is (`soft link`, `external link`, `datatype`, `unknown`). */
  description: string;
}

/** Bounds on what a read may allocate or visit, so that a crafted file cannot exhaust memory or time. */
export interface ReadLimits {
  /** Largest single dataset or attribute, in bytes. */
  maxObjectBytes: number;
  /** Largest total of all datasets, in bytes. */
  maxTotalBytes: number;
  /** Most groups, datasets and links visited. */
  maxObjects: number;
  /** Deepest group nesting. */
  maxDepth: number;
}

/**
 * An attribute to write. `dtype` is h5wasm's: `'A'` variable-length ASCII string, `'S'` variable-length UTF-8
 * string, `'<d'` float64, `'<f'` float32, `'<q'` int64.
 */
export interface WriteAttribute {
  name: string;
  dtype: 'A' | 'S' | '<d' | '<f' | '<q';
  /** A string or strings for string types; numbers for numeric types. */
  value: string | string[] | number[];
  /** Dimensions; null writes a scalar. */
  shape: number[] | null;
}

/** A dataset to write (contiguous, uncompressed, as Keras writes weights). */
export interface WriteDataset {
  name: string;
  dtype: '<f' | '<d' | '<q';
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array;
}

/** A group to write, with its attributes, datasets and subgroups. */
export interface WriteGroup {
  name: string;
  attrs: WriteAttribute[];
  datasets: WriteDataset[];
  groups: WriteGroup[];
}

/**
 * What the HDF5 worker is asked to do: read a whole file from its bytes, or write one and return its bytes.
 * The worker never touches a file system (its HDF5 files live in Emscripten's in-memory one), so that no
 * scratch file outlives a killed process. `name` is the file as the user knows it, for messages.
 */
export type RequestBody =
  | { op: 'read'; name: string; bytes: Uint8Array; limits: ReadLimits }
  | { op: 'write'; name: string; root: WriteGroup };

/** A request to the HDF5 worker. */
export type WorkerRequest = RequestBody & { id: number };

/** What went wrong in the worker: HDF5 refused the file, a limit was hit, or the library itself broke. */
export interface WorkerFailure {
  kind: 'hdf5' | 'limit' | 'internal';
  message: string;
  /** True when the HDF5 library may be left in a broken state (an abort): the worker must be replaced. */
  fatal: boolean;
}

/** The worker's answer to one request: the file read (`tree`), or the file written (`bytes`). */
export type WorkerResponse =
  | { id: number; ok: true; tree: GroupSnapshot | null; bytes: Uint8Array | null }
  | { id: number; ok: false; failure: WorkerFailure };
