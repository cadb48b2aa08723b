import { Command, InvalidArgumentError } from 'commander';
import { createWasmKernels, getKernels, setBackend, setKernels, WasmKernels } from '../index.js';
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
    .option(
      '--threads <n>',
      'threads of the wasm kernels (default: WARMSTART_THREADS, else the cores, at most 8)',
      threadsOption,
    )
    .showHelpAfterError();
  program.hook('preAction', async (command) => {
    const { backend, threads } = command.opts<{ backend: string; threads?: number }>();
    if (backend === 'wasm' && threads !== undefined) {
      // The default backend started when warmstart was imported: replace it with one of `threads` threads.
      const previous = getKernels();
      setKernels(await createWasmKernels({ threads }));
      if (previous instanceof WasmKernels) await previous.dispose();
      return;
    }
    await setBackend(backend);
  });
  registerTransferCommand(program);
  registerOptimizersCommand(program);
  registerInspectCommand(program);
  registerServeCommand(program);
  return program;
}

function threadsOption(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 64) {
    throw new InvalidArgumentError(`expected an integer from 1 to 64, got '${value}'`);
  }
  return parsed;
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
