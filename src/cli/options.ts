import { InvalidArgumentError } from 'commander';

/** Parses a non-negative integer option. */
export function integerOption(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError(`expected a non-negative integer, got '${value}'`);
  return parsed;
}

/** Parses a positive finite number option. */
export function positiveNumberOption(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0)
    throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return parsed;
}
