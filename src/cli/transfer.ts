import type { Command } from 'commander';
import { describeTransferDivergence, formatTransferTable, runTransfer } from '../experiments/transfer.js';
import { writeTransferReport } from '../report/index.js';
import {
  architectureOption,
  initializerOption,
  nonNegativeIntegerOption,
  positiveIntegerOption,
  positiveNumberOption,
  seedOption,
  verboseOption,
} from './options.js';

/** Adds `warmstart transfer`: the notebook's transfer-learning study on Fashion-MNIST. */
export function registerTransferCommand(program: Command): void {
  program
    .command('transfer')
    .description(
      'train model A on task A, then B from scratch and B on A (reused, frozen, unfrozen) on task B; compare',
    )
    .option(
      '--data-dir <dir>',
      'folder with the Fashion-MNIST IDX files (default: $WARMSTART_DATA_DIR, the cache, or download)',
    )
    .option('--out <dir>', 'where results.json and my_model_A.h5 are written', 'runs/transfer')
    .option('--seed <n>', 'seed of the first run', seedOption, 42)
    .option(
      '--seeds <n>',
      'repeat the study with this many seeds and report mean ± sd',
      positiveIntegerOption,
      1,
    )
    .option('--epochs-a <n>', 'epochs of model A (0: keep it untrained)', nonNegativeIntegerOption, 20)
    .option('--epochs-b <n>', 'epochs of model B from scratch', nonNegativeIntegerOption, 20)
    .option('--epochs-frozen <n>', 'epochs of B on A with reused layers frozen', nonNegativeIntegerOption, 4)
    .option('--epochs-unfrozen <n>', 'epochs of B on A after unfreezing', nonNegativeIntegerOption, 16)
    .option(
      '--arch <name>',
      "the network: 'dense' (the notebook's: Flatten, five SELU Dense layers) or 'cnn' (Conv2D 32, MaxPool, " +
        'Conv2D 64, MaxPool, Dense 128)',
      architectureOption,
      'dense',
    )
    .option(
      '--learning-rate <x>',
      "SGD learning rate of every phase (default 1e-3 for dense, the notebook's; 1e-2 for cnn)",
      positiveNumberOption,
    )
    .option('--batch-size <n>', 'batch size', positiveIntegerOption, 32)
    .option(
      '--kernel-initializer <name>',
      "hidden layers' kernel initializer: glorot_uniform (Keras's default, the notebook's) or e.g. " +
        "lecun_normal (the book's later advice for SELU)",
      initializerOption,
      'glorot_uniform',
    )
    .option(
      '--model-a <file>',
      'start from a saved model A (.h5 or .keras, e.g. from Python Keras) instead of training it',
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
      'start over: forget the phases an earlier, interrupted run with this --out finished (by default a rerun ' +
        'skips them and continues the interrupted phase from its backup)',
    )
    .action(async (options) => {
      const started = performance.now();
      const result = await runTransfer({
        architecture: options.arch,
        dataDir: options.dataDir,
        outDir: options.out,
        seed: options.seed,
        seeds: options.seeds,
        epochsA: options.epochsA,
        epochsB: options.epochsB,
        epochsFrozen: options.epochsFrozen,
        epochsUnfrozen: options.epochsUnfrozen,
        learningRate: options.learningRate,
        batchSize: options.batchSize,
        kernelInitializer: options.kernelInitializer,
        modelA: options.modelA,
        verbose: options.verbose,
        fresh: options.fresh === true,
        backupEvery: options.backupEvery,
      });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      await writeTransferReport(result, options.out);
      process.stdout.write('\n' + formatTransferTable(result) + '\n');
      const diverged = result.diverged ?? null;
      process.stdout.write(
        `\nwrote ${options.out}/results.json${diverged?.phase === 'model A' ? '' : ', my_model_A.h5'} and report.html; the study took ${seconds} s\n`,
      );
      if (diverged !== null) {
        process.stderr.write(`warmstart: ${describeTransferDivergence(diverged)}\n`);
        process.exitCode = 1;
      }
    });
}
