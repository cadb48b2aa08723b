import { type Command, InvalidArgumentError } from 'commander';
import { describeDivergence } from '../experiments/results.js';
import {
  describeContender,
  formatOptimizerTable,
  listContenders,
  type OptimizerRaceTask,
  runOptimizerRace,
  selectContenders,
} from '../experiments/optimizers.js';
import { writeOptimizerReport } from '../report/index.js';
import type { ProgressWriter } from '../models/callbacks.js';
import { initializerOption, positiveIntegerOption, seedOption, verboseOption } from './options.js';

function taskOption(value: string): OptimizerRaceTask {
  const task = value.toLowerCase() === 'a' ? 'A' : value.toLowerCase();
  if (task !== 'A' && task !== 'full')
    throw new InvalidArgumentError(`expected 'A' or 'full', got '${value}'`);
  return task;
}

function namesOption(value: string): string[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  try {
    selectContenders(names);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return names;
}

/**
 * Adds `warmstart optimizers`: the seed notebook's optimizer race on Fashion-MNIST (task A or all ten
 * classes): the same network and the same initial weights for every optimizer; a table on stdout, and
 * `results.json`, learning-curve SVGs and `report.html` in `--out`. Output goes to `output.stdout` (default
 * `process.stdout`); a contender that diverged is named on `output.stderr` (default `process.stderr`), one
 * line each, and the exit code is then 1. A rerun with the same `--out` resumes (`--fresh` starts over).
 */
export function registerOptimizersCommand(
  program: Command,
  output: { stdout?: ProgressWriter; stderr?: ProgressWriter } = {},
): void {
  const stdout = (): ProgressWriter => output.stdout ?? process.stdout;
  program
    .command('optimizers')
    .description(
      "race the notebook's optimizers (and each at a tuned learning rate) from the same initial weights; " +
        'write results.json, learning curves (SVG) and report.html',
    )
    .option(
      '--task <task>',
      "'A' (the transfer study's 8 classes) or 'full' (all 10 classes)",
      taskOption,
      'A',
    )
    .option('--epochs <n>', 'epochs per optimizer', positiveIntegerOption, 10)
    .option('--batch-size <n>', 'batch size', positiveIntegerOption, 32)
    .option('--seed <n>', 'seed of the first run (initial weights and batch order)', seedOption, 42)
    .option(
      '--seeds <n>',
      'repeat the race with this many seeds and report mean ± sd',
      positiveIntegerOption,
      1,
    )
    .option('--only <names>', 'comma-separated contenders (see --list), or seed / tuned', namesOption)
    .option('--list', 'list the contenders and exit')
    .option(
      '--data-dir <dir>',
      'folder with the Fashion-MNIST IDX files (default: $WARMSTART_DATA_DIR, the cache, or download)',
    )
    .option(
      '--out <dir>',
      'where results.json, the SVG charts and report.html are written',
      'runs/optimizers',
    )
    .option(
      '--kernel-initializer <name>',
      "hidden layers' kernel initializer: glorot_uniform (Keras's default, the notebook's) or e.g. lecun_normal",
      initializerOption,
      'glorot_uniform',
    )
    .option('--verbose <n>', '0 silent, 1 progress bars, 2 one line per epoch', verboseOption, 1)
    .option(
      '--backup-every <batches>',
      'back the running phase up at the end of the first epoch after this many batches (1: every epoch)',
      positiveIntegerOption,
      1000,
    )
    .option(
      '--fresh',
      'start over: forget the contenders an earlier, interrupted race with this --out finished (by default a ' +
        'rerun skips them and continues the interrupted one from its backup)',
    )
    .action(async (options) => {
      if (options.list) {
        for (const contender of listContenders()) {
          stdout().write(
            `${contender.name.padEnd(15)} ${describeContender(contender)}\n${' '.repeat(16)}${contender.note}\n`,
          );
        }
        return;
      }
      const started = performance.now();
      const result = await runOptimizerRace(
        {
          outDir: options.out,
          only: options.only,
          epochs: options.epochs,
          batchSize: options.batchSize,
          seed: options.seed,
          seeds: options.seeds,
          kernelInitializer: options.kernelInitializer,
          verbose: options.verbose,
          writer: stdout(),
          fresh: options.fresh === true,
          backupEvery: options.backupEvery,
        },
        undefined,
        { dataDir: options.dataDir, task: options.task },
      );
      const report = await writeOptimizerReport(result, options.out);
      stdout().write('\n' + formatOptimizerTable(result) + '\n');
      const charts = Object.keys(report.files).filter((name) => name.endsWith('.svg'));
      stdout().write(
        `\nwrote ${options.out}/results.json, ${charts.join(', ')} and ${report.html} ` +
          `in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
      const stderr = output.stderr ?? process.stderr;
      for (const diverged of result.diverged ?? []) {
        stderr.write(`warmstart: ${describeDivergence(diverged)}; the other contenders ran\n`);
      }
      if ((result.diverged ?? []).length > 0) process.exitCode = 1;
    });
}
