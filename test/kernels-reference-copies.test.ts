import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ReferenceKernels } from '../src/kernels/reference.js';

const kernels = new ReferenceKernels();

/** Row r of the target is row indices[start + r] of the source, element by element. */
function naiveGather(
  source: Float32Array,
  indices: Int32Array,
  start: number,
  count: number,
  rowLength: number,
) {
  const out = new Float32Array(count * rowLength);
  for (let r = 0; r < count; r++)
    for (let j = 0; j < rowLength; j++) out[r * rowLength + j] = source[indices[start + r] * rowLength + j];
  return out;
}

describe('reference copies and checks on user arrays', () => {
  test('gatherRows: short rows, long rows, runs of consecutive rows and shuffled ones', () => {
    const rows = 200;
    for (const rowLength of [1, 3, 15, 16, 17, 784]) {
      const source = new Float32Array(rows * rowLength).map((_, i) => i * 0.5 - 7);
      const shuffled = new Int32Array(rows).map((_, i) => (i * 73) % rows);
      const runs = new Int32Array([5, 6, 7, 8, 100, 101, 3, 199, 0, 1, 2, 50, 52, 51]);
      for (const [indices, start, count] of [
        [shuffled, 10, 32],
        [runs, 0, runs.length],
        [runs, 2, 9],
        [new Int32Array(rows).map((_, i) => i), 40, 100],
      ] as const) {
        const target = new Float32Array(count * rowLength + 5).fill(-1);
        kernels.gatherRows(source, indices, start, count, rowLength, target);
        assert.deepEqual(
          target.subarray(0, count * rowLength),
          naiveGather(source, indices, start, count, rowLength),
        );
        assert.ok(
          target.subarray(count * rowLength).every((v) => v === -1),
          'nothing past the rows is written',
        );
      }
    }
  });

  test('firstNonFinite: the first NaN or ±Infinity at and around block boundaries, -1 when none', () => {
    const length = 3 * 8192 + 77;
    const x = new Float32Array(length).map((_, i) => (i % 5) - 2);
    assert.equal(kernels.firstNonFinite(x), -1);
    assert.equal(kernels.firstNonFinite(new Float32Array(0)), -1);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 3, 8190, 8191, 8192, 8193, 16383, 16384, length - 2, length - 1]) {
        const y = x.slice();
        y[at] = bad;
        if (at + 2 < length) y[at + 2] = NaN;
        assert.equal(kernels.firstNonFinite(y), at, `${bad} at ${at}`);
      }
    }
    // Large finite values whose products with 0 are still 0.
    assert.equal(kernels.firstNonFinite(new Float32Array([3.4e38, -3.4e38, 1e-45, -0])), -1);
  });
});
