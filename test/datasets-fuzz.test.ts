/**
 * A fixed, seeded subset of the dataset fuzzers (`test/fuzz/fuzz.ts`; the full run is `npm run fuzz`): a small
 * Fashion-MNIST-shaped folder with one of its four files mutated, raw IDX or gzip, must load as a valid dataset
 * or fail with a `DatasetError`, never with another exception or a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReports, fuzzDatasets } from './fuzz/fuzz.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-datasets-fuzz-'));

for (const [target, seed, expected] of [
  ['idx', 20240616, ['truncated', 'bad-magic', 'bad-length']],
  ['gzip', 20240617, ['bad-gzip', 'truncated']],
] as const) {
  test(
    `500 mutated ${target === 'idx' ? 'raw IDX' : 'gzip-compressed IDX'} files`,
    { timeout: 120_000 },
    async () => {
      const report = await fuzzDatasets(target, 500, seed, folder);
      process.stdout.write(`# fuzz ${formatReports([report]).split('\n')[0]}\n`);
      assert.deepEqual(report.failures, []);
      for (const outcome of ['valid', ...expected])
        assert.ok(
          (report.outcomes[outcome] ?? 0) > 0,
          `some cases end in ${outcome}: ${JSON.stringify(report.outcomes)}`,
        );
    },
  );
}

test('cleanup', () => {
  rmSync(folder, { recursive: true, force: true });
});
