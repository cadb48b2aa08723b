import type { Command } from 'commander';
import { inspectModelFile, type ModelFileInfo } from '../io/index.js';

/** A value as Keras's configs would show it (`0.001`, `true`, `null`, schedules as their class name). */
function formatValue(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'class_name' in value)
    return String((value as { class_name: unknown }).class_name);
  return JSON.stringify(value);
}

/** The human-readable report of {@link inspectModelFile}. */
export function formatModelFileInfo(info: ModelFileInfo): string {
  const lines: string[] = [`File: ${info.path}`];
  if (info.format === null) {
    lines.push(`Loadable: no: ${info.error?.message ?? 'unknown error'}`);
    return lines.join('\n');
  }
  lines.push(`Format: ${info.format === 'h5' ? 'Keras legacy HDF5 (.h5)' : 'Keras 3 archive (.keras)'}`);
  const backend = info.backend === null ? '' : ` (backend: ${info.backend})`;
  lines.push(`Saved by: Keras ${info.kerasVersion ?? 'version not recorded'}${backend}`);
  if (info.model !== null && info.summary === null) {
    lines.push(`Model: ${info.model.name ?? '(unnamed)'} (${info.model.className})`);
  }
  if (info.summary !== null) {
    lines.push(info.summary);
  } else {
    lines.push('Layers (from the configuration; the model could not be built):');
    for (const layer of info.layers) {
      lines.push(
        `  ${layer.name} (${layer.className})${layer.parameters === null ? '' : `: ${layer.parameters.toLocaleString('en-US')} parameters`}`,
      );
    }
    if (info.parameters !== null)
      lines.push(` Total params: ${info.parameters.total.toLocaleString('en-US')}`);
  }
  if (info.optimizer !== null) {
    const settings = Object.entries(info.optimizer.config)
      // Unset arguments (Keras's None) say nothing: the JSON output keeps them.
      .filter(([key, value]) => key !== 'name' && value !== null)
      .map(([key, value]) => `${key}=${formatValue(value)}`)
      .join(', ');
    lines.push(`Optimizer: ${info.optimizer.className}${settings === '' ? '' : ` (${settings})`}`);
    if (info.optimizerState !== null) {
      lines.push(
        `Optimizer state: ${info.optimizerState.variables} variables, ${info.optimizerState.iterations ?? '?'} iterations`,
      );
    } else {
      lines.push('Optimizer state: not saved');
    }
  } else {
    lines.push('Optimizer: none (saved uncompiled)');
  }
  lines.push(`Loss: ${info.loss ?? 'none'}`);
  lines.push(`Metrics: ${info.metrics.length === 0 ? 'none' : info.metrics.join(', ')}`);
  if (info.compilable) lines.push('Loadable: yes (with its optimizer, loss and metrics)');
  else if (info.loadable)
    lines.push(`Loadable: yes, but only with { compile: false }: ${info.error?.message ?? ''}`);
  else lines.push(`Loadable: no: ${info.error?.message ?? 'unknown error'}`);
  for (const warning of info.warnings) lines.push(`Warning: ${warning}`);
  return lines.join('\n');
}

/**
 * Adds `inspect <file> [--json]` to the command line: prints a Keras model file's summary (layers, shapes,
 * parameter counts), the Keras version that wrote it, its optimizer and settings, loss and metrics, and
 * whether warmstart can load it (exit code 0 when it can, 1 when it cannot).
 */
export function registerInspectCommand(program: Command): void {
  program
    .command('inspect <file>')
    .description('describe a Keras model file (.h5 or .keras) and tell whether warmstart can load it')
    .option('--json', 'print the description as JSON')
    .action(async function (this: Command, file: string, options: { json?: boolean }) {
      const info = await inspectModelFile(file);
      // Through commander's output configuration (stdout by default), so that callers can capture it.
      const write = this.configureOutput().writeOut ?? ((text: string) => process.stdout.write(text));
      write(options.json ? `${JSON.stringify(info, null, 2)}\n` : `${formatModelFileInfo(info)}\n`);
      if (!info.loadable) process.exitCode = 1;
    });
}
