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

/**
 * Where a study's training diverged: the first batch whose loss was NaN or infinite. Training stopped there
 * (what else stopped depends on the study).
 */
export interface DivergenceRecord {
  /** What was training: `model A`, `model B on A (frozen)`, a contender's name, … */
  phase: string;
  /** The run's seed. */
  seed: number;
  /** The epoch, 1-based (as the progress bar counts). */
  epoch: number;
  /** The batch, 1-based (as the progress bar counts). */
  batch: number;
  /** Batches per epoch. */
  batches: number;
  /** The epoch's running mean loss at that batch: NaN or ±∞ (null in `results.json`). */
  loss: number;
  /** The learning rate it trained with. */
  learningRate: number;
}

/** `model A diverged (seed 42): the loss became NaN at epoch 1, batch 3/1375, with learning rate 1000000`. */
export function describeDivergence(diverged: DivergenceRecord): string {
  const loss = typeof diverged.loss === 'number' ? String(diverged.loss) : 'NaN';
  return (
    `${diverged.phase} diverged (seed ${diverged.seed}): the loss became ${loss} at epoch ${diverged.epoch}, ` +
    `batch ${diverged.batch}/${diverged.batches}, with learning rate ${diverged.learningRate}; training stopped there`
  );
}
