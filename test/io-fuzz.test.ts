/**
 * A fixed, seeded subset of the fuzzers (`test/fuzz/fuzz.ts`; the full run is `npm run fuzz`): mutated `.h5`
 * and `.keras` files (warmstart's own and the committed Keras fixtures) and mutated model, layer and optimizer
 * configs must each end in a typed error (`ModelFileError`, `UnknownLayerError`) or a valid model (that
 * predicts) or optimizer (that trains a step): never another exception, a crash, a hang or an unhandled
 * rejection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHdf5Worker } from '../src/io/index.js';
import {
  fileSources,
  formatReports,
  fuzzJsonConfigs,
  fuzzModelFiles,
  jsonSources,
  type TargetReport,
} from './fuzz/fuzz.js';

const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-fuzz-'));

/** Runs one target, prints its counts, and checks that every case ended in a typed error or a valid result. */
async function check(run: Promise<TargetReport>, atLeast: string[]): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const report = await run;
    process.stdout.write(`# fuzz ${formatReports([report]).split('\n')[0]}\n`);
    assert.deepEqual(
      report.failures,
      [],
      `${report.failures.length} cases ended in an untyped error or a hang`,
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, []);
    // The mutations reach both valid results and the typed errors they are meant to provoke.
    for (const outcome of ['valid', ...atLeast])
      assert.ok(
        (report.outcomes[outcome] ?? 0) > 0,
        `some cases end in ${outcome}: ${JSON.stringify(report.outcomes)}`,
      );
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

let files: Awaited<ReturnType<typeof fileSources>>;
let json: Awaited<ReturnType<typeof jsonSources>>;

test('fuzz sources: warmstart files, the committed Keras fixtures and their configs', async () => {
  files = await fileSources(folder);
  json = await jsonSources();
  assert.ok(files.h5.length >= 8 && files.keras.length >= 5, 'file sources');
  assert.ok(json.models.length >= 10 && json.training.length >= 20, 'JSON sources');
});

test('400 mutated .h5 files', { timeout: 180_000 }, async () => {
  await check(fuzzModelFiles('h5', 400, 20240611, folder, files.h5), ['CORRUPT', 'BAD_JSON']);
});

test('400 mutated .keras files (a third with a mutated config.json)', { timeout: 120_000 }, async () => {
  await check(fuzzModelFiles('keras', 400, 20240612, folder, files.keras), [
    'CORRUPT',
    'BAD_JSON',
    'BAD_CONFIG',
  ]);
});

test('1500 mutated model configs (Keras 2 and Keras 3 schemas)', { timeout: 120_000 }, async () => {
  await check(fuzzJsonConfigs('model-config', 1500, 20240613, json), ['BAD_CONFIG', 'UNSUPPORTED']);
});

test('1000 mutated layer configs', { timeout: 120_000 }, async () => {
  await check(fuzzJsonConfigs('layer-config', 1000, 20240614, json), ['BAD_CONFIG', 'UnknownLayerError']);
});

test(
  '1000 mutated optimizer and training configs; accepted optimizers train a step',
  { timeout: 120_000 },
  async () => {
    await check(fuzzJsonConfigs('optimizer-config', 1000, 20240615, json), [
      'BAD_TRAINING_CONFIG',
      'UNKNOWN_OPTIMIZER',
    ]);
  },
);

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
