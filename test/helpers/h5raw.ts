import { Worker } from 'node:worker_threads';

/** An attribute as h5wasm reports it, with the HDF5 type details Keras's writers differ in. */
export interface RawAttribute {
  value: unknown;
  /** HDF5 type class: 0 integer, 1 float, 3 string. */
  type: number;
  size: number;
  vlen: boolean;
  cset: number | undefined;
  shape: number[] | null;
}

/** A dataset: shape, h5wasm dtype and values (numbers; bigints converted). */
export interface RawDataset {
  shape: number[];
  dtype: string;
  data: number[];
}

/** A group with everything below it. */
export interface RawGroup {
  attrs: Record<string, RawAttribute>;
  groups: Record<string, RawGroup>;
  datasets: Record<string, RawDataset>;
}

// Plain JavaScript run in a worker without the test's TypeScript loader (which would re-transpile h5wasm's
// 4 MB module for seconds): an independent reader that shares no code with src/io.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const h5wasm = (await import(workerData.url)).default;
  await h5wasm.ready;
  const plain = (value) => {
    if (typeof value === 'bigint') return Number(value);
    if (ArrayBuffer.isView(value)) return Array.from(value, (v) => (typeof v === 'bigint' ? Number(v) : v));
    if (Array.isArray(value)) return value.map(plain);
    return value;
  };
  const attrs = (object) => {
    const result = {};
    for (const [name, attribute] of Object.entries(object.attrs)) {
      const m = attribute.metadata;
      result[name] = { value: plain(attribute.value), type: m.type, size: m.size, vlen: m.vlen, cset: m.cset, shape: attribute.shape };
    }
    return result;
  };
  const walk = (group) => {
    const node = { attrs: attrs(group), groups: {}, datasets: {} };
    for (const key of group.keys()) {
      const child = group.get(key);
      if (child instanceof h5wasm.Group) node.groups[key] = walk(child);
      else if (child instanceof h5wasm.Dataset) {
        const data = plain(child.value);
        node.datasets[key] = { shape: child.shape, dtype: String(child.dtype), data: Array.isArray(data) ? data : [data] };
      }
    }
    return node;
  };
  const file = new h5wasm.File(workerData.path, 'r');
  try {
    parentPort.postMessage({ tree: walk(file) });
  } finally {
    file.close();
  }
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

/** Reads a whole (valid) HDF5 file with h5wasm directly, independently of warmstart's reader. */
export function readRawHdf5(path: string): Promise<RawGroup> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { url: import.meta.resolve('h5wasm/node'), path },
    });
    worker.once('message', (message: { tree?: RawGroup; error?: string }) => {
      void worker.terminate();
      if (message.tree !== undefined) resolve(message.tree);
      else reject(new Error(message.error));
    });
    worker.once('error', reject);
  });
}

/** The dataset at a `/`-separated path below a group. */
export function rawDataset(group: RawGroup, path: string): RawDataset {
  const parts = path.split('/');
  let current = group;
  for (const part of parts.slice(0, -1)) current = current.groups[part];
  const dataset = current?.datasets[parts[parts.length - 1]];
  if (dataset === undefined) throw new Error(`no dataset at '${path}'`);
  return dataset;
}

/** A list-of-strings attribute, joined from `name0`, `name1`, … when split (as Keras does for long lists). */
export function rawStringList(group: RawGroup, name: string): string[] {
  const asList = (value: unknown): string[] =>
    Array.isArray(value) ? value.map(String) : value === undefined || value === null ? [] : [String(value)];
  if (name in group.attrs) return asList(group.attrs[name].value);
  const values: string[] = [];
  for (let i = 0; `${name}${i}` in group.attrs; i++) values.push(...asList(group.attrs[`${name}${i}`].value));
  return values;
}
