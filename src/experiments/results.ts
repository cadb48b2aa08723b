import { writeFileAtomically } from '../datasets/index.js';

/** Mean and sample standard deviation. */
export interface MeanSd {
  /** Mean. */
  mean: number;
  /** Sample standard deviation (0 for one value). */
  sd: number;
}

/** Mean and sample standard deviation of `values`. */
export function meanSd(values: readonly number[]): MeanSd {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance =
    values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, sd: Math.sqrt(variance) };
}

/** Writes `value` as indented JSON, atomically: a failed write leaves the previous file intact. */
export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  await writeFileAtomically(path, new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n'));
}
