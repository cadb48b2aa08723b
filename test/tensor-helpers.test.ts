import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShapeError, Tensor, concat, tensor } from '../src/tensor/tensor.js';

const labels = tensor([0, 5, 6, 9, 7, 5, 1, 8]);
const images = tensor(
  Float32Array.from({ length: 8 * 2 * 2 }, (_, i) => i),
  [8, 2, 2],
);

test('slice is NumPy basic slicing on the first axis: negative indices count from the end, a view', () => {
  assert.deepEqual(labels.slice(0, 3).toArray(), [0, 5, 6]);
  assert.deepEqual(labels.slice(5).toArray(), [5, 1, 8]);
  assert.deepEqual(labels.slice(-2).toArray(), [1, 8]);
  assert.deepEqual(labels.slice(-100, 2).toArray(), [0, 5]);
  assert.deepEqual(labels.slice(6, 2).shape, [0]);
  assert.deepEqual(images.slice(1, 2).toArray(), [
    [
      [4, 5],
      [6, 7],
    ],
  ]);
  const view = images.slice(7);
  assert.equal(view.data.buffer, images.data.buffer);
  assert.throws(() => labels.slice(0.5), ShapeError);
});

test('take / gather pick rows by index (negative from the end), copying; out of range is a ShapeError', () => {
  assert.deepEqual(labels.take([3, 0, -1]).toArray(), [9, 0, 8]);
  assert.deepEqual(images.gather([2]).shape, [1, 2, 2]);
  assert.deepEqual(images.take([2]).toArray(), [
    [
      [8, 9],
      [10, 11],
    ],
  ]);
  assert.deepEqual(images.take([]).shape, [0, 2, 2]);
  assert.throws(() => labels.take([8]), /index 8 is out of range for 8 rows/);
  assert.throws(() => labels.take([1.5]), ShapeError);
});

test('filter is NumPy boolean indexing: X[y != 5], y[y != 5], and a mask', () => {
  const keep = (label: number): boolean => label !== 5;
  assert.deepEqual(labels.filter(keep).toArray(), [0, 6, 9, 7, 1, 8]);
  const kept = images.filter(labels, keep);
  assert.deepEqual(kept.shape, [6, 2, 2]);
  assert.deepEqual(kept.take([1]).toArray(), images.take([2]).toArray());
  assert.deepEqual(labels.filter([true, false, false, false, false, false, false, 1]).toArray(), [0, 8]);
  assert.deepEqual(
    labels.indicesWhere((label) => label === 5),
    [1, 5],
  );
  assert.throws(() => images.filter((value) => value > 0), /needs one value per row/);
  assert.throws(() => images.filter(labels.slice(1), keep), /8 rows to filter but 7 rows to test/);
});

test('map, div, scale, astype: the notebook’s y[y > 6] -= 2, (y == 6).astype(float32) and X / 255.0', () => {
  assert.deepEqual(
    labels.map((label) => (label > 6 ? label - 2 : label)).toArray(),
    [0, 5, 6, 7, 5, 5, 1, 6],
  );
  assert.deepEqual(labels.map((label) => (label === 6 ? 1 : 0)).toArray(), [0, 0, 1, 0, 0, 0, 0, 0]);
  const bytes = Uint8Array.from([0, 1, 128, 254, 255, 3]);
  const pixels = tensor(bytes, [2, 3]);
  const scaled = pixels.div(255);
  // Each quotient rounded once to float32, as NumPy's float64 division then astype(float32).
  assert.deepEqual(
    Array.from(scaled.data),
    Array.from(bytes, (byte) => Math.fround(byte / 255)),
  );
  assert.deepEqual(pixels.toArray(), [
    [0, 1, 128],
    [254, 255, 3],
  ]);
  assert.deepEqual(pixels.scale(2).toArray(), [
    [0, 2, 256],
    [508, 510, 6],
  ]);
  const copy = pixels.astype('float32');
  assert.notEqual(copy.data, pixels.data);
  assert.deepEqual(copy.toArray(), pixels.toArray());
  assert.throws(() => pixels.div(0), RangeError);
});

test('argmax over the last axis gives the first largest index, NumPy’s argmax(axis=-1)', () => {
  const probabilities = tensor([
    [0.1, 0.7, 0.2],
    [0.5, 0.2, 0.5],
    [0, 0, 1],
  ]);
  const classes = probabilities.argmax();
  assert.deepEqual(classes.shape, [3]);
  assert.deepEqual(classes.toArray(), [1, 0, 2]);
  assert.deepEqual(images.argmax().shape, [8, 2]);
  assert.deepEqual((images.argmax().toArray() as number[][])[0], [1, 1]);
});

test('concat joins along the first axis and refuses mismatched shapes', () => {
  const joined = concat([images.slice(0, 2), images.slice(6)]);
  assert.deepEqual(joined.shape, [4, 2, 2]);
  assert.deepEqual(joined.take([2]).toArray(), images.take([6]).toArray());
  assert.throws(() => concat([images, labels]), /all must agree after the first axis/);
  assert.throws(() => concat([]), ShapeError);
});

test('toString prints the shape and values as NumPy does, summarised past 1,000 elements', () => {
  assert.equal(
    String(
      tensor([
        [1, 2.5],
        [3, -0.125],
      ]),
    ),
    'Tensor(shape=[2, 2], dtype=float32)\n[[1, 2.5],\n [3, -0.125]]',
  );
  const big = new Tensor(
    Float32Array.from({ length: 2000 }, (_, i) => i),
    [2000],
  );
  assert.equal(String(big), 'Tensor(shape=[2000], dtype=float32)\n[0, 1, 2, ..., 1997, 1998, 1999]');
  const images3d = new Tensor(new Float32Array(10 * 28 * 28), [10, 28, 28]);
  const text = String(images3d);
  assert.ok(text.startsWith('Tensor(shape=[10, 28, 28], dtype=float32)\n[[[0, 0, 0, ..., 0, 0, 0],'), text);
  // NumPy's layout: the header, 3 + 3 blocks of 3 + ... + 3 rows around '...,', a blank line between.
  assert.equal(text.split('\n').length, 1 + 6 * 7 + 1 + 6);
});

test('reshape infers one -1 axis; toArray of a scalar is a number', () => {
  assert.deepEqual(images.reshape([8, -1]).shape, [8, 4]);
  assert.throws(() => images.reshape([3, -1]), /cannot reshape 32 elements/);
  assert.equal(new Tensor(Float32Array.of(4), []).toArray(), 4);
  assert.equal(labels.dtype, 'float32');
});

test('tensor() refuses ragged nested arrays instead of mis-shaping them', () => {
  assert.throws(() => tensor([[1, 2], [3]]), /nested arrays must be rectangular/);
});
