import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RandomGenerator } from '../src/tensor/random.js';
import { type ChildRun, runChild } from './helpers/killableProcess.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const trainer = join(root, 'test/helpers/resumeTrainer.ts');
const OPTIMIZERS = ['sgd', 'momentum', 'adam'];
/** Batches per epoch of the trainer: 200 samples in batches of 16. */
const STEPS = 13;
/** The trainer's epochs and backup frequency: 65 batches, so 21 backups per optimizer, 63 in all. */
const BACKUPS_PER_OPTIMIZER = Math.floor((5 * STEPS) / 3);
const KILLS = 20;

/** Position of a `saved <optimizer> <epoch> <batch>` line among all the backups of the whole job (1-based). */
function backupIndex(line: string): number {
  const [, optimizer, epoch, batch] = line.split(' ');
  return (
    OPTIMIZERS.indexOf(optimizer) * BACKUPS_PER_OPTIMIZER + (Number(epoch) * STEPS + Number(batch) + 1) / 3
  );
}

/** Runs the trainer once, to its end or to a kill. */
async function runTrainer(outDir: string, kill?: { backup: number; delayMs: number }): Promise<ChildRun> {
  const run = await runChild(['--import', 'tsx', trainer, outDir], {
    cwd: root,
    kill:
      kill === undefined
        ? undefined
        : // After a new backup at or past the mark: every run makes progress, whatever the machine's load.
          {
            when: (line) => line.startsWith('saved ') && backupIndex(line) >= kill.backup,
            delayMs: kill.delayMs,
          },
  });
  if (!run.killed && run.code !== 0) throw new Error(`the trainer failed (exit ${run.code}): ${run.stderr}`);
  return run;
}

function results(outDir: string): Record<string, unknown> {
  return Object.fromEntries(
    OPTIMIZERS.map((name) => [name, JSON.parse(readFileSync(join(outDir, `result-${name}.json`), 'utf8'))]),
  );
}

test(
  `a run killed with SIGKILL ${KILLS} times at random moments and restarted ends bit-identical to an uninterrupted run (SGD, momentum, Adam, Dropout)`,
  { timeout: 240_000 },
  async (t) => {
    const folder = mkdtempSync(join(tmpdir(), 'warmstart-resume-kill-'));
    try {
      const reference = join(folder, 'reference');
      const started = performance.now();
      const uninterrupted = await runTrainer(reference);
      const savedAt = uninterrupted.lineTimes.filter((_, i) => uninterrupted.lines[i].startsWith('saved '));
      const referenceMs = performance.now() - started;
      const expected = results(reference);
      // The typical time between two backups on this machine now (the first, which starts the HDF5 worker,
      // excluded): kill delays are drawn in proportion, so every run makes a similar share of progress.
      const intervals = savedAt
        .slice(2)
        .map((time, i) => time - savedAt[i + 1])
        .sort((a, b) => a - b);
      const backupInterval = intervals[Math.floor(intervals.length / 2)];

      const killedDir = join(folder, 'killed');
      const random = new RandomGenerator(20261203);
      // The kills are spread evenly over the job's backups, each at a random moment within 1.5 backup intervals
      // after its mark: in a batch, in a backup, at an epoch's end, in a restore.
      const totalBackups = OPTIMIZERS.length * BACKUPS_PER_OPTIMIZER;
      const attempts: ChildRun[] = [];
      for (let kills = 0; ;) {
        assert.ok(attempts.length < 100, 'the killed run makes no progress');
        const kill =
          kills < KILLS
            ? {
                backup: Math.ceil(((kills + 1) * totalBackups) / (KILLS + 1)),
                delayMs: random.uniform() * 1.5 * backupInterval,
              }
            : undefined;
        const attempt = await runTrainer(killedDir, kill);
        attempts.push(attempt);
        if (!attempt.killed) break;
        kills++;
      }
      const kills = attempts.filter((attempt) => attempt.killed);
      const midEpoch = kills.filter((attempt) => {
        const match = /^(?:batch|saved) \S+ \d+ (\d+)$/.exec(attempt.lastLine);
        return match !== null && Number(match[1]) < STEPS - 1;
      });
      const perOptimizer = OPTIMIZERS.map(
        (name) => `${name} ${kills.filter((attempt) => attempt.lastLine.includes(` ${name}`)).length}`,
      );
      const resumes = attempts.flatMap((attempt) =>
        attempt.lines.filter((line) => line.startsWith('resumed ')),
      );
      const midEpochResumes = resumes.filter((line) => !line.endsWith(' 0'));
      t.diagnostic(
        `${kills.length} kills (${midEpoch.length} after a batch inside an epoch; per optimizer: ${perOptimizer.join(', ')}), ` +
          `${resumes.length} restores (${midEpochResumes.length} in the middle of an epoch), ${attempts.length} runs; ` +
          `uninterrupted run ${(referenceMs / 1000).toFixed(1)} s, ${backupInterval.toFixed(0)} ms between backups`,
      );
      assert.equal(kills.length, KILLS);
      assert.ok(midEpoch.length >= KILLS / 2, `only ${midEpoch.length} kills landed inside an epoch`);
      assert.ok(midEpochResumes.length >= 3, `only ${midEpochResumes.length} restores in mid-epoch`);
      for (const name of OPTIMIZERS) {
        assert.ok(
          resumes.some((line) => line.startsWith(`resumed ${name} `)),
          `${name} never resumed from a backup`,
        );
      }
      assert.deepEqual(results(killedDir), expected);
      // Every backup was removed once its fit ended (deleteCheckpoint), and no temporary file was left.
      assert.deepEqual(readdirSync(killedDir).sort(), OPTIMIZERS.map((name) => `result-${name}.json`).sort());
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  },
);
