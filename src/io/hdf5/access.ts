/**
 * Reading Keras's structures out of an HDF5 snapshot: string attributes (split into `name0`, `name1`, … when
 * large, as Keras's writers do), datasets addressed by `/`-separated paths, weights as float32.
 * @module
 */
import { ModelFileError } from '../errors.js';
import type { AttributeSnapshot, DatasetSnapshot, GroupSnapshot } from './snapshot.js';

/** A child group, or null when there is none (or it is not a group). */
export function childGroup(group: GroupSnapshot, name: string): GroupSnapshot | null {
  const child = Object.hasOwn(group.children, name) ? group.children[name] : undefined;
  return child !== undefined && child.type === 'group' ? child : null;
}

/** A scalar (or one-element) string attribute, or null when absent. Throws `what` as BAD_CONFIG when not a string. */
export function stringAttribute(group: GroupSnapshot, name: string, path: string): string | null {
  const attribute = Object.hasOwn(group.attrs, name) ? group.attrs[name] : undefined;
  if (attribute === undefined) return null;
  if (attribute.kind !== 'string' || attribute.values.length !== 1) {
    throw new ModelFileError('BAD_CONFIG', path, `the attribute '${name}' is not a string`);
  }
  return String(attribute.values[0]);
}

function stringsOf(attribute: AttributeSnapshot, name: string, path: string): string[] {
  // An empty list is written by h5py as a float64 array of length 0.
  if (attribute.values.length === 0) return [];
  if (attribute.kind !== 'string')
    throw new ModelFileError('BAD_CONFIG', path, `the attribute '${name}' is not a list of strings`);
  return attribute.values.map(String);
}

/**
 * A list-of-strings attribute (Keras's `layer_names`, `weight_names`), joined back from `name0`, `name1`, …
 * when the writer split it to fit HDF5's 64 KiB object header. Null when absent.
 */
export function stringListAttribute(group: GroupSnapshot, name: string, path: string): string[] | null {
  if (Object.hasOwn(group.attrs, name)) return stringsOf(group.attrs[name], name, path);
  if (!Object.hasOwn(group.attrs, `${name}0`)) return null;
  const values: string[] = [];
  for (let chunk = 0; Object.hasOwn(group.attrs, `${name}${chunk}`); chunk++) {
    values.push(...stringsOf(group.attrs[`${name}${chunk}`], `${name}${chunk}`, path));
  }
  return values;
}

/** The dataset at a `/`-separated path below `group`, or throws `MISSING_WEIGHTS` / `BAD_WEIGHTS`. */
export function datasetAt(
  group: GroupSnapshot,
  datasetPath: string,
  where: string,
  path: string,
): DatasetSnapshot {
  const parts = datasetPath.split('/');
  let current: GroupSnapshot = group;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const child = part !== '' && Object.hasOwn(current.children, part) ? current.children[part] : undefined;
    if (child === undefined) {
      throw new ModelFileError(
        'MISSING_WEIGHTS',
        path,
        `${where}: the weight '${datasetPath}' is listed but not stored`,
      );
    }
    if (child.type === 'other') {
      throw new ModelFileError(
        'BAD_WEIGHTS',
        path,
        `${where}: the weight '${datasetPath}' is a ${child.description}, which Keras never writes`,
      );
    }
    if (i === parts.length - 1) {
      if (child.type !== 'dataset')
        throw new ModelFileError('BAD_WEIGHTS', path, `${where}: '${datasetPath}' is a group, not a weight`);
      return child;
    }
    if (child.type !== 'group')
      throw new ModelFileError('BAD_WEIGHTS', path, `${where}: '${datasetPath}' does not lead to a weight`);
    current = child;
  }
  throw new ModelFileError('MISSING_WEIGHTS', path, `${where}: empty weight name`);
}

/** A numeric dataset's values as float32 (Keras stores float32; float64 and integers are converted). */
export function floatValues(dataset: DatasetSnapshot, where: string, path: string): Float32Array {
  const data = dataset.data;
  if (dataset.kind === 'float' && dataset.size !== 4 && dataset.size !== 8) {
    throw new ModelFileError(
      'BAD_WEIGHTS',
      path,
      `${where}: stored as ${8 * dataset.size}-bit floats, which warmstart does not read`,
    );
  }
  if (data instanceof Float32Array) return data;
  if (data === null || Array.isArray(data) || (dataset.kind !== 'float' && dataset.kind !== 'integer')) {
    throw new ModelFileError('BAD_WEIGHTS', path, `${where}: stored as ${dataset.dtype}, not as numbers`);
  }
  return Float32Array.from(data as ArrayLike<number | bigint>, (value) => Number(value));
}
