/**
 * Cost against the arithmetic: dense networks from model A's widths to 4096-wide layers, at several batch
 * sizes, trained with SGD through `Sequential.fit` on 16,384 random images (half their pixels zero) per
 * epoch, against PyTorch in its best configuration on the same network and data distribution. Hidden
 * layers use selu (the notebook's activation) on both sides; 10 classes, softmax fused into the loss.
 *
 * GFLOPS are nominal: 6·m·k·n per layer per step (forward, dW and dX of every layer, whatever either side
 * actually skips: neither computes the input layer's dX, and warmstart skips the zero pixels' terms).
 * @module
 */
import type { Kernels } from '../src/kernels/kernels.js';
import { SGD } from '../src/optimizers/sgd.js';
import { median, randomImages, timeFit } from './fit.js';
import type { PythonSetup } from './python.js';
import { type TorchResult, torchBest } from './torch.js';

/** One row of the table. */
export interface NetworkRow {
  sizes: number[];
  batch: number;
  samples: number;
  /** Seconds per 16,384 samples (median epoch): warmstart on its default threads, on one, and the faster. */
  warmstartSeconds: number;
  warmstartRuns: number[];
  warmstartOneThreadSeconds: number | null;
  warmstartBestSeconds: number;
  torch: TorchResult[];
  torchBest: TorchResult | null;
  warmstartGflops: number;
  torchGflops: number | null;
  /** PyTorch's time / warmstart's: above 1, warmstart is faster. */
  speedup: number | null;
}

export const NETWORK_ROWS: { sizes: number[]; batch: number }[] = [
  { sizes: [784, 300, 100, 50, 50, 50, 10], batch: 32 },
  { sizes: [784, 300, 100, 50, 50, 50, 10], batch: 128 },
  { sizes: [784, 300, 100, 50, 50, 50, 10], batch: 512 },
  { sizes: [784, 1024, 1024, 10], batch: 256 },
  { sizes: [784, 4096, 4096, 10], batch: 256 },
];

/** Nominal flops of one epoch of `samples`: 6·m·k·n per layer per step. */
export function nominalFlops(sizes: number[], samples: number): number {
  let weights = 0;
  for (let l = 0; l + 1 < sizes.length; l++) weights += sizes[l] * sizes[l + 1];
  return 6 * samples * weights;
}

/**
 * Runs every row: warmstart on `kernels` (its default threads) and on `oneThread` (when given: on a shared
 * machine one thread can beat two, as for PyTorch), PyTorch on 1 and 2 threads.
 */
export async function networkTable(
  kernels: Kernels,
  oneThread: Kernels | null,
  python: PythonSetup | null,
  quick: boolean,
  progress: (line: string) => void,
): Promise<NetworkRow[]> {
  const SAMPLES = 16384;
  // Quick runs time a quarter of the samples and scale up.
  const samples = quick ? SAMPLES / 4 : SAMPLES;
  const data = randomImages(samples, 0.5, 10, 21);
  const rows: NetworkRow[] = [];
  for (const { sizes, batch } of NETWORK_ROWS) {
    const weights = nominalFlops(sizes, 1) / 6;
    const epochs = quick ? 1 : weights > 10_000_000 ? 1 : weights > 1_000_000 ? 2 : 3;
    progress(`  ${sizes.join('-')} batch ${batch}: warmstart…`);
    const run = await timeFit(kernels, {
      sizes,
      activation: 'selu',
      batch,
      optimizer: () => new SGD({ learningRate: 1e-3 }),
      epochs,
      warmupSteps: 8,
      train: data,
    });
    const scale = SAMPLES / samples;
    const warmstartSeconds = median(run.epochSeconds) * scale;
    let warmstartOneThreadSeconds: number | null = null;
    if (oneThread !== null) {
      progress(`  ${sizes.join('-')} batch ${batch}: warmstart, 1 thread…`);
      const one = await timeFit(oneThread, {
        sizes,
        activation: 'selu',
        batch,
        optimizer: () => new SGD({ learningRate: 1e-3 }),
        epochs,
        warmupSteps: 8,
        train: data,
      });
      warmstartOneThreadSeconds = median(one.epochSeconds) * scale;
    }
    const warmstartBestSeconds = Math.min(warmstartSeconds, warmstartOneThreadSeconds ?? Infinity);
    let torch: { results: TorchResult[]; best: TorchResult | null } = { results: [], best: null };
    if (python?.hasTorch) {
      progress(`  ${sizes.join('-')} batch ${batch}: PyTorch…`);
      torch = await torchBest(
        python,
        {
          sizes,
          activation: 'selu',
          batch,
          epochs,
          warmupSteps: 8,
          optimizer: { name: 'sgd', lr: 1e-3 },
          data: { kind: 'random', count: samples, zeros: 0.5, classes: 10 },
        },
        [1, 2],
      );
      for (const r of torch.results) {
        if (r.epochSeconds !== null) r.epochSeconds *= scale;
        r.runs = r.runs?.map((s) => s * scale);
      }
    }
    const flops = nominalFlops(sizes, SAMPLES);
    const best = torch.best;
    rows.push({
      sizes,
      batch,
      samples: SAMPLES,
      warmstartSeconds,
      warmstartRuns: run.epochSeconds.map((s) => s * scale),
      warmstartOneThreadSeconds,
      warmstartBestSeconds,
      torch: torch.results,
      torchBest: best,
      warmstartGflops: flops / warmstartBestSeconds / 1e9,
      torchGflops: best?.epochSeconds ? flops / best.epochSeconds / 1e9 : null,
      speedup: best?.epochSeconds ? best.epochSeconds / warmstartBestSeconds : null,
    });
    const last = rows[rows.length - 1];
    progress(
      `  ${sizes.join('-')} batch ${batch}: warmstart ${warmstartSeconds.toFixed(2)} s (1 thread ${warmstartOneThreadSeconds?.toFixed(2) ?? '—'} s), PyTorch ${best?.epochSeconds?.toFixed(2) ?? '—'} s (${best?.threads ?? '—'} threads)` +
        `${last.speedup === null ? '' : `, ${last.speedup.toFixed(2)}×`}`,
    );
  }
  return rows;
}
