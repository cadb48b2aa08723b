/**
 * Damaged model files, made from a good model's bytes: the same list is loaded in Node (from a path and from
 * bytes) and in Chromium (from bytes and from a URL), which must give the same `ModelFileError` codes.
 * @module
 */
import { strToU8, unzipSync, zipSync } from 'fflate';
import { writeHdf5Bytes } from '../../src/io/hdf5/client.js';
import { addDataset, group, nameListAttributes } from '../../src/io/legacyH5.js';
import type { BaseModel } from '../../src/models/baseModel.js';

/** One damaged file: a name (with the extension a person would give it), its bytes, the code Node gives. */
export interface DamagedModel {
  name: string;
  bytes: Uint8Array;
  code: string;
}

/** A copy of `bytes` with every `step`-th byte from `from` on XOR-ed with 0x5a. */
function scrambled(bytes: Uint8Array, from: number, step: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  for (let i = from; i < copy.length; i += step) copy[i]! ^= 0x5a;
  return copy;
}

/** An `.h5` file whose `model_config` is not JSON. */
async function badJsonH5(): Promise<Uint8Array> {
  const root = group('/');
  root.attrs.push({ name: 'keras_version', dtype: 'S', value: '2.12.0', shape: null });
  root.attrs.push({ name: 'model_config', dtype: 'A', value: '{"class_name": "Sequential", ', shape: null });
  const weights = group('model_weights');
  weights.attrs.push(...nameListAttributes('layer_names', ['dense']));
  const layer = group('dense');
  layer.attrs.push(...nameListAttributes('weight_names', ['dense/kernel:0']));
  addDataset(layer, 'dense/kernel:0', { dtype: '<f', shape: [2, 2], data: new Float32Array(4) });
  weights.groups.push(layer);
  root.groups.push(weights);
  return writeHdf5Bytes(root, { timeoutMs: 20_000 });
}

/**
 * Damaged versions of `model`'s files, each with the code Node gives it (`codeOf` loads bytes in Node and
 * returns the error's code), so that the browser is compared with Node rather than with a list written by
 * hand; the test checks separately that the codes are the expected ones.
 */
export async function damagedModels(
  model: BaseModel,
  codeOf: (bytes: Uint8Array) => Promise<string>,
): Promise<DamagedModel[]> {
  const h5 = await model.save({ format: 'h5' });
  const keras = await model.save({ format: 'keras' });
  const members = unzipSync(keras);
  const withoutWeights = { ...members };
  delete withoutWeights['model.weights.h5'];
  const files: Array<[string, Uint8Array]> = [
    ['empty.h5', new Uint8Array(0)],
    ['text.h5', strToU8('this is not a model\n'.repeat(50))],
    ['header-only.h5', h5.subarray(0, 8)],
    ['half.h5', h5.subarray(0, h5.length >> 1)],
    ['scrambled.h5', scrambled(h5, 96, 7)],
    ['bad-json.h5', await badJsonH5()],
    ['half.keras', keras.subarray(0, keras.length >> 1)],
    ['bad-json.keras', zipSync({ ...members, 'config.json': strToU8('{nope') })],
    ['no-weights.keras', zipSync(withoutWeights)],
    ['garbage-weights.keras', zipSync({ ...members, 'model.weights.h5': strToU8('garbage') })],
  ];
  const damaged: DamagedModel[] = [];
  for (const [name, bytes] of files) damaged.push({ name, bytes, code: await codeOf(bytes) });
  return damaged;
}

/** The codes {@link damagedModels} must give (the scrambled file's depends on where HDF5 first fails). */
export const EXPECTED_DAMAGE_CODES: Readonly<Record<string, readonly string[]>> = {
  'empty.h5': ['CORRUPT'],
  'text.h5': ['UNKNOWN_FORMAT'],
  'header-only.h5': ['CORRUPT'],
  'half.h5': ['CORRUPT'],
  'scrambled.h5': ['CORRUPT', 'BAD_JSON', 'BAD_CONFIG', 'TOO_LARGE', 'MISSING_WEIGHTS', 'BAD_WEIGHTS'],
  'bad-json.h5': ['BAD_JSON'],
  'half.keras': ['CORRUPT'],
  'bad-json.keras': ['BAD_JSON'],
  'no-weights.keras': ['MISSING_WEIGHTS'],
  'garbage-weights.keras': ['CORRUPT'],
};
