import { Command } from 'commander';
import { setBackend } from '../index.js';
import { registerInspectCommand } from './inspect.js';
import { registerOptimizersCommand } from './optimizers.js';
import { registerServeCommand } from './serve.js';
import { registerTransferCommand } from './transfer.js';

/** Builds the `warmstart` command line. */
export function createProgram(): Command {
  const program = new Command('warmstart')
    .description(
      'deep learning in TypeScript: the Hands-On ML transfer-learning and optimizer studies, and Keras files',
    )
    .option(
      '--backend <name>',
      'kernels to train with: wasm (fast, default) or reference (plain TypeScript)',
      'wasm',
    )
    .showHelpAfterError();
  program.hook('preAction', async (command) => {
    await setBackend(command.opts().backend);
  });
  registerTransferCommand(program);
  registerOptimizersCommand(program);
  registerInspectCommand(program);
  registerServeCommand(program);
  return program;
}

/** Runs the CLI: errors end in one line naming the problem and a non-zero exit code. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`warmstart: error: ${message}\n`);
    process.exitCode = 1;
  }
}
