import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RandomGenerator } from '../src/tensor/random.js';
import { generateDataset, makeTempDir, writeDataset } from './fixtures-gen/datasetFixtures.js';
import { type ChildRun, runChild } from './helpers/killableProcess.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// 5,600 training images: the first 5,000 are the validation split, as in the notebook.
const dataset = generateDataset(5600, 600, 3);

function warmstart(
  args: string[],
  kill?: { when: (line: string) => boolean; delayMs: number },
): Promise<ChildRun> {
  return runChild(['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, WARMSTART_DATA_DIR: '' },
    kill,
  });
}

/** results.json without the wall times, which differ from run to run. */
function resultsWithoutTimes(out: string): unknown {
  return JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'), (key, value) =>
    key === 'seconds' ? undefined : value,
  );
}

/**
 * Runs `args` (a study on the tiny dataset) uninterrupted, then again in another folder killed `kills` times
 * with SIGKILL, each kill at a random moment within 1.5 epochs after its mark (the `Epoch k/n` lines of the
 * whole study, spread evenly), restarting with the same command until it finishes. Returns both folders and
 * the runs.
 */
async function killAndResume(
  folder: string,
  args: (out: string) => string[],
  kills: number,
  seed: number,
): Promise<{ reference: string; killed: string; runs: ChildRun[] }> {
  const reference = join(folder, 'reference');
  const whole = await warmstart(args(reference));
  assert.equal(whole.code, 0, whole.stderr);
  const epochTimes = whole.lineTimes.filter((_, i) => /^Epoch \d+\/\d+$/.test(whole.lines[i]));
  const epochLines = epochTimes.length;
  // The typical time between two epochs' starts on this machine now: kills land within about one epoch of
  // their mark, in training, in a backup, in a save, or between phases.
  const gaps = epochTimes
    .slice(1)
    .map((time, i) => time - epochTimes[i])
    .sort((a, b) => a - b);
  const epochMs = gaps[Math.floor(gaps.length / 2)];
  const killed = join(folder, 'killed');
  const random = new RandomGenerator(seed);
  const runs: ChildRun[] = [];
  // The study's epochs begun so far over every run, each once (`heading|Epoch k/n`): the k-th kill waits for
  // its share of them, so the kills spread over the whole study.
  const begun = new Set<string>();
  for (let kill = 0; ;) {
    assert.ok(runs.length < 3 * kills + 5, 'the killed study makes no progress');
    const mark = Math.ceil(((kill + 1) * epochLines) / (kills + 1));
    let heading = '';
    const track = (line: string): boolean => {
      if (/^(Model |\[\d+\/\d+\] )/.test(line)) heading = line;
      else if (/^Epoch \d+\/\d+$/.test(line)) begun.add(`${heading}|${line}`);
      return begun.size >= mark;
    };
    const run = await warmstart(
      args(killed),
      kill < kills ? { when: track, delayMs: random.uniform() * 1.5 * epochMs } : undefined,
    );
    runs.push(run);
    if (!run.killed) {
      assert.equal(run.code, 0, run.stderr);
      break;
    }
    kill++;
  }
  return { reference, killed, runs };
}

test('warmstart transfer killed at random moments and rerun with the same --out ends with the uninterrupted results', async (t) => {
  const folder = makeTempDir('cli-resume-transfer');
  try {
    const data = join(folder.path, 'data');
    writeDataset(data, dataset);
    const args = (out: string) => [
      'transfer',
      '--data-dir',
      data,
      '--out',
      out,
      '--epochs-a',
      '3',
      '--epochs-b',
      '2',
      '--epochs-frozen',
      '2',
      '--epochs-unfrozen',
      '2',
      '--verbose',
      '2',
      // Every phase's epochs are short here: back up after each one, so that every phase can continue.
      '--backup-every',
      '1',
    ];
    const { reference, killed, runs } = await killAndResume(folder.path, args, 4, 77);
    const continued = runs.flatMap((run) =>
      run.lines.filter((line) => /continuing from its backup/.test(line)),
    );
    const skipped = runs.flatMap((run) =>
      run.lines.filter((line) => /finished in an earlier run/.test(line)),
    );
    t.diagnostic(
      `${runs.length - 1} kills; ${continued.length} phases continued from a backup, ${skipped.length} skipped as finished`,
    );
    assert.ok(continued.length >= 1, 'no phase continued from its backup');
    assert.ok(skipped.length >= 1, 'no finished phase was skipped');
    assert.deepEqual(resultsWithoutTimes(killed), resultsWithoutTimes(reference));
    assert.deepEqual(readdirSync(join(killed, 'resume')), ['journal.json'], 'backups are removed once done');
    assert.ok(existsSync(join(killed, 'report.html')));

    // Run again: everything is skipped, the results stay.
    const again = await warmstart(args(killed));
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.lines.includes('Seed 42: finished in an earlier run (' + join(killed, 'resume') + ')'));
    assert.ok(!again.lines.some((line) => /^Epoch /.test(line)), 'nothing trains again');
    assert.deepEqual(resultsWithoutTimes(killed), resultsWithoutTimes(reference));

    // Other settings are refused, naming them; --fresh starts over (and repeats the same numbers).
    const changed = await warmstart([...args(killed), '--epochs-b', '3']);
    assert.equal(changed.code, 1);
    assert.match(
      changed.stderr,
      /holds a transfer study begun with other settings \(epochsB 3 now, 2 there\).*--fresh/,
    );
    const fresh = await warmstart([...args(killed), '--fresh']);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.ok(
      fresh.lines.some((line) => /^Model A: task A/.test(line)),
      'model A trains again',
    );
    assert.deepEqual(resultsWithoutTimes(killed), resultsWithoutTimes(reference));
  } finally {
    folder.remove();
  }
});

test('warmstart optimizers killed at random moments and rerun skips finished contenders and continues the interrupted one', async (t) => {
  const folder = makeTempDir('cli-resume-optimizers');
  try {
    const data = join(folder.path, 'data');
    writeDataset(data, dataset);
    const args = (out: string) => [
      'optimizers',
      '--data-dir',
      data,
      '--out',
      out,
      '--only',
      'momentum,adam',
      '--epochs',
      '3',
      '--verbose',
      '2',
      '--backup-every',
      '1',
    ];
    const { reference, killed, runs } = await killAndResume(folder.path, args, 3, 78);
    const continued = runs.flatMap((run) =>
      run.lines.filter((line) => /continuing from its backup/.test(line)),
    );
    const skipped = runs.flatMap((run) =>
      run.lines.filter((line) => /finished in an earlier run/.test(line)),
    );
    t.diagnostic(
      `${runs.length - 1} kills; ${continued.length} contenders continued from a backup, ${skipped.length} skipped as finished`,
    );
    assert.ok(continued.length >= 1, 'no contender continued from its backup');
    assert.ok(skipped.length >= 1, 'no finished contender was skipped');
    assert.deepEqual(resultsWithoutTimes(killed), resultsWithoutTimes(reference));
    assert.deepEqual(readdirSync(join(killed, 'resume')), ['journal.json']);
  } finally {
    folder.remove();
  }
});

test('warmstart transfer --learning-rate 1e6 stops model A at the batch its loss turns NaN, says so in one line, exits 1', async () => {
  const folder = makeTempDir('cli-diverged');
  try {
    const data = join(folder.path, 'data');
    writeDataset(data, dataset);
    const out = join(folder.path, 'out');
    const run = await warmstart([
      'transfer',
      '--data-dir',
      data,
      '--out',
      out,
      '--epochs-a',
      '3',
      '--learning-rate',
      '1e6',
      '--verbose',
      '2',
    ]);
    assert.equal(run.code, 1, run.stderr);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const { diverged } = results;
    assert.equal(diverged.phase, 'model A');
    assert.equal(diverged.epoch, 1);
    assert.equal(diverged.batches, 16);
    assert.ok(diverged.batch >= 1 && diverged.batch < 16, `diverged at batch ${diverged.batch}`);
    assert.equal(diverged.learningRate, 1e6);
    // One line on stderr names the phase, the batch and the learning rate (nothing else of ours is there).
    const ours = run.stderr
      .split('\n')
      .filter((line) => line.startsWith('warmstart') || /Warning/.test(line));
    assert.deepEqual(ours, [
      `warmstart: model A diverged (seed 42): the loss became NaN at epoch 1, batch ${diverged.batch}/16, with learning rate 1000000; training stopped there, and the phases after it did not run (try a lower --learning-rate)`,
    ]);
    // The progress line of the stopped epoch counts the batches that ran; the next epochs did not run.
    assert.ok(run.lines.includes('Epoch 1/3'));
    assert.ok(run.lines.some((line) => line.startsWith(`${String(diverged.batch).padStart(2)}/16 `)));
    assert.ok(!run.lines.includes('Epoch 2/3'));
    // No NaN model A, no later phase, no ratio; the table and the report say why.
    assert.equal(existsSync(join(out, 'my_model_A.h5')), false);
    assert.equal(results.modelA.test, null);
    // A run stopped in model A still records its settings, as the runs stopped later do.
    assert.deepEqual([results.architecture, results.learningRate], ['dense', 1e6]);
    assert.equal(results.modelB, null);
    assert.equal(results.errorRateRatio, null);
    assert.match(run.lines.join('\n'), /A +A \(8 classes\) +diverged +diverged/);
    assert.match(
      run.lines.join('\n'),
      /error-rate ratio \(B's test error \/ B on A's\): none: model A diverged/,
    );
    assert.doesNotMatch(run.lines.join('\n'), /ratio.*: \d/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /<h2>Training diverged<\/h2>/);
    assert.match(
      html,
      new RegExp(
        `model A diverged \\(seed 42\\): the loss became NaN at epoch 1, batch ${diverged.batch}/16`,
      ),
    );
  } finally {
    folder.remove();
  }
});
