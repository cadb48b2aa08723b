/**
 * The full fuzz run (`npm run fuzz`): over 10,000 seeded cases across model files, JSON configs and dataset
 * files (see `fuzz.ts`), with counts by outcome. Exits non-zero when any case ends otherwise than in a typed
 * error or a valid result.
 *
 * `npm run fuzz -- --seed 7 --scale 0.1` runs another seed, or a tenth of the cases; `FUZZ_STACKS=1` prints
 * the stack of each failing case.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeHdf5Worker } from '../../src/io/index.js';
import {
  fileSources,
  formatReports,
  fuzzDatasets,
  fuzzJsonConfigs,
  fuzzModelFiles,
  jsonSources,
  type TargetReport,
} from './fuzz.js';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '20240611' }, scale: { type: 'string', default: '1' } },
});
const seed = Number(values.seed);
const scale = Number(values.scale);
if (!Number.isInteger(seed) || !(scale > 0))
  throw new Error('usage: run.ts [--seed <integer>] [--scale <positive number>]');
const n = (cases: number): number => Math.max(1, Math.round(cases * scale));

const folder = mkdtempSync(join(tmpdir(), 'warmstart-fuzz-'));
const reports: TargetReport[] = [];
const started = performance.now();
try {
  const files = await fileSources(folder);
  const json = await jsonSources();
  const run = async (next: Promise<TargetReport>): Promise<void> => {
    const report = await next;
    reports.push(report);
    process.stdout.write(`${formatReports([report]).split('\n')[0]}\n`);
  };
  await run(fuzzModelFiles('h5', n(2500), seed, folder, files.h5));
  await run(fuzzModelFiles('keras', n(2500), seed + 1, folder, files.keras));
  await run(fuzzJsonConfigs('model-config', n(2000), seed + 2, json));
  await run(fuzzJsonConfigs('layer-config', n(1500), seed + 3, json));
  await run(fuzzJsonConfigs('optimizer-config', n(1500), seed + 4, json));
  await run(fuzzDatasets('idx', n(1000), seed + 5, folder));
  await run(fuzzDatasets('gzip', n(1000), seed + 6, folder));
} finally {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
}
process.stdout.write(
  `\n${formatReports(reports)}\nwall time ${((performance.now() - started) / 1000).toFixed(1)} s (seed ${seed}, scale ${scale})\n`,
);
const failures = reports.flatMap((report) => report.failures);
if (failures.length > 0) {
  process.stdout.write(`\n${failures.length} case(s) failed:\n${failures.slice(0, 50).join('\n')}\n`);
  process.exitCode = 1;
}
