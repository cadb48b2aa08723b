import { InvalidArgumentError } from 'commander';
import { getInitializer } from '../initializers/index.js';

/*
 * Every numeric option of every command is parsed here, once, when the command line is read: a bad value
 * stops the command before any data loads, with the same wording whichever command it was given to.
 */

function integerOf(value: string): number | null {
  const trimmed = value.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) return null;
  const parsed = Number(trimmed);
  return Number.isSafeInteger(parsed) ? parsed : null;
}

/** Parses an integer ≥ 0 (a seed; an epoch count where 0 skips the phase). */
export function nonNegativeIntegerOption(value: string): number {
  const parsed = integerOf(value);
  if (parsed === null || parsed < 0)
    throw new InvalidArgumentError(`expected an integer ≥ 0, got '${value}'`);
  return parsed;
}

/** Parses an integer ≥ 1 (a batch size, a number of seeds, epochs that cannot be skipped). */
export function positiveIntegerOption(value: string): number {
  const parsed = integerOf(value);
  if (parsed === null || parsed < 1)
    throw new InvalidArgumentError(`expected an integer ≥ 1, got '${value}'`);
  return parsed;
}

/** Parses a seed: an integer in [0, 2³² − 1] (the generator takes 32 bits). */
export function seedOption(value: string): number {
  const parsed = integerOf(value);
  if (parsed === null || parsed < 0 || parsed > 0xffffffff)
    throw new InvalidArgumentError(`expected an integer in [0, 4294967295], got '${value}'`);
  return parsed;
}

/** Parses a finite number > 0 (a learning rate). */
export function positiveNumberOption(value: string): number {
  const parsed = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0)
    throw new InvalidArgumentError(`expected a finite number > 0, got '${value}'`);
  return parsed;
}

/** Parses `--verbose`: 0 silent, 1 progress bars, 2 one line per epoch. */
export function verboseOption(value: string): 0 | 1 | 2 {
  const parsed = integerOf(value);
  if (parsed !== 0 && parsed !== 1 && parsed !== 2)
    throw new InvalidArgumentError(
      `expected 0 (silent), 1 (progress bars) or 2 (one line per epoch), got '${value}'`,
    );
  return parsed;
}

/** Parses a Keras initializer name (`glorot_uniform`, `lecun_normal`, `he_normal`, …). */
export function initializerOption(value: string): string {
  try {
    getInitializer(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return value;
}

/** Parses `--arch`: the transfer study's network, `dense` (the notebook's) or `cnn`. */
export function architectureOption(value: string): 'dense' | 'cnn' {
  const name = value.trim().toLowerCase();
  if (name !== 'dense' && name !== 'cnn')
    throw new InvalidArgumentError(`expected 'dense' (the notebook's network) or 'cnn', got '${value}'`);
  return name;
}
