/**
 * PyTorch epochs through bench/torch_fit.py, on 1 and on 2 threads (OpenBLAS's and OpenMP's pools both
 * sized), the faster of the two reported as PyTorch's best configuration.
 * @module
 */
import { median } from './fit.js';
import { type PythonSetup, runPython, withThreads } from './python.js';

/** One PyTorch measurement. */
export interface TorchResult {
  threads: number;
  epochSeconds: number | null;
  runs?: number[];
  trainSeconds?: number;
  evalSeconds?: number;
  predictImagesPerSecond?: number;
  error?: string;
}

/** The spec torch_fit.py reads (see its docstring); `threads` is filled in here. */
export type TorchSpec = Record<string, unknown>;

/** Runs `spec` on each thread count; returns every result and the fastest (null if none ran). */
export async function torchBest(
  python: PythonSetup,
  spec: TorchSpec,
  threadCounts: number[],
): Promise<{ results: TorchResult[]; best: TorchResult | null }> {
  const results: TorchResult[] = [];
  for (const threads of threadCounts) {
    const { json, error } = await runPython(
      'torch_fit.py',
      [JSON.stringify({ ...spec, threads })],
      withThreads(python.env, threads),
    );
    if (json === null) {
      results.push({ threads, epochSeconds: null, error: error ?? 'failed' });
      continue;
    }
    const epochs = json.epochSeconds as number[];
    const i = epochs.indexOf(median(epochs));
    results.push({
      threads,
      epochSeconds: epochs[i],
      runs: epochs,
      trainSeconds: (json.trainSeconds as number[])[i],
      evalSeconds: (json.evalSeconds as number[])[i],
      predictImagesPerSecond: json.predictImagesPerSecond as number | undefined,
    });
  }
  const ran = results.filter((r) => r.epochSeconds !== null);
  const best = ran.length === 0 ? null : ran.reduce((a, b) => (b.epochSeconds! < a.epochSeconds! ? b : a));
  return { results, best };
}
