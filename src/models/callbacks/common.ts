import * as host from '../../platform/host.js';
import type { OptionKeys } from '../../kernels/options.js';
import type { Optimizer } from '../../optimizers/optimizer.js';
import type { BaseModel } from '../baseModel.js';
import type { Callback, ProgressWriter } from '../callbacks.js';

/** Thrown for a callback argument Keras would reject (or that makes no sense), at construction or in `fit`. */
export class CallbackArgumentError extends Error {
  override readonly name = 'CallbackArgumentError';
}

/**
 * Which way a monitored quantity should go: `'min'` (a loss), `'max'` (an accuracy) or `'auto'` (inferred
 * from its name, as Keras does).
 */
export type MonitorMode = 'auto' | 'min' | 'max';

/** Checks a `mode` argument. Keras warns and falls back to `'auto'`; warmstart refuses a typo. */
export function checkMode(owner: string, mode: unknown): MonitorMode {
  if (mode === 'auto' || mode === 'min' || mode === 'max') return mode;
  throw new CallbackArgumentError(
    `${owner}: mode must be 'auto', 'min' or 'max', got ${JSON.stringify(mode)}`,
  );
}

/** Checks that `monitor` names a logged quantity (`'val_loss'`, `'accuracy'`, …). */
export function checkMonitor(owner: string, monitor: unknown): string {
  if (typeof monitor !== 'string' || monitor.length === 0) {
    throw new CallbackArgumentError(
      `${owner}: monitor must name a logged quantity such as 'val_loss', got ${JSON.stringify(monitor)}`,
    );
  }
  return monitor;
}

/** Checks an integer argument ≥ 0 (patience, cooldown, …). */
export function checkCount(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new CallbackArgumentError(`${owner}: ${name} must be an integer ≥ 0, got ${String(value)}`);
  }
  return value;
}

/** Checks a finite number argument. */
export function checkFinite(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CallbackArgumentError(`${owner}: ${name} must be a finite number, got ${String(value)}`);
  }
  return value;
}

/** Checks a `verbose` argument (0 silent, 1 a line whenever the callback acts). */
export function checkVerbose(owner: string, value: unknown): 0 | 1 {
  if (value === 0 || value === 1) return value;
  throw new CallbackArgumentError(`${owner}: verbose must be 0 or 1, got ${String(value)}`);
}

/** Options every acting callback takes: how chatty it is and where its messages go. */
export interface MessageOptions {
  /** 0 silent (default), 1 prints a line whenever the callback acts, as Keras's `verbose=1`. */
  verbose?: 0 | 1;
  /** Where messages go (default `process.stdout` in Node, the console in browsers). */
  writer?: ProgressWriter;
}

/** The keys of {@link MessageOptions}; each callback's list adds its own. */
export const MESSAGE_OPTION_KEYS = {
  verbose: true,
  writer: true,
} as const satisfies OptionKeys<MessageOptions>;

/** Writes one line of a callback's messages. */
export function writeLine(writer: ProgressWriter | undefined, line: string): void {
  if (writer !== undefined) {
    writer.write(line + '\n');
    return;
  }
  host.standardOutput().write(line + '\n');
}

/** The model `fit` gave the callback; a clear error when the callback is driven outside `fit`. */
export function requireModel(callback: Callback, owner: string): BaseModel {
  if (callback.model === null) {
    throw new CallbackArgumentError(
      `${owner}: no model: pass the callback to model.fit({ callbacks: [...] })`,
    );
  }
  return callback.model;
}

/** The optimizer of the model being trained. */
export function requireOptimizer(callback: Callback, owner: string): Optimizer {
  const optimizer = requireModel(callback, owner).optimizer;
  if (optimizer === null) throw new CallbackArgumentError(`${owner}: the model is not compiled`);
  return optimizer;
}
