/**
 * GFLOPS of warmstart's three dense-layer products through the Kernels interface (what a layer calls):
 * forward `denseForward` (x·w, linear), dW `denseBackwardWeights` (xᵀ·dz, no bias gradient), dX
 * `denseBackwardInput` (dz·wᵀ), on 1 thread and on all threads, with dense data and with 50 % zeros (in x,
 * which the forward and dW products skip as the reference does; and in dz for dX, which skips nothing).
 * Flops are counted as 2·m·k·n whatever the zeros, so a product that skips half its terms can show more
 * GFLOPS than the machine's peak. Each cell is the best time of repeated calls within a budget: CPU time
 * on one thread, wall time on more.
 * @module
 */

import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { rng } from './fit.js';

/** m (batch) × k (inputs) × n (outputs). */
export type Shape = [number, number, number];

/** From model A's first layers at batch 32 up to a 4096-wide layer at batch 1024. */
export const GEMM_SHAPES: Shape[] = [
  [32, 784, 300],
  [32, 300, 100],
  [128, 784, 300],
  [256, 784, 1024],
  [256, 1024, 1024],
  [256, 784, 4096],
  [256, 4096, 4096],
  [1024, 4096, 4096],
];

/** One cell row: a shape, a thread count and a data kind, and the three products' GFLOPS. */
export interface GemmRow {
  m: number;
  k: number;
  n: number;
  threads: number;
  zeros: number;
  forward: number;
  dW: number;
  dX: number;
}

function fill(kernels: WasmKernels, length: number, zeros: number, seed: number): Float32Array {
  const random = rng(seed);
  const a = kernels.alloc(length);
  for (let i = 0; i < length; i++) {
    const r = random();
    a[i] = r < zeros ? 0 : random() - 0.5;
  }
  return a;
}

/** The process's CPU time in milliseconds (all its threads). */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * Best seconds of one call: batches of calls at least 2 ms long, within `budget` seconds. On one thread
 * the clock is the process's CPU time, which other processes on a shared machine do not inflate; on more
 * it must be the wall clock (the threads' CPU times add up).
 */
function bestSeconds(fn: () => void, budget: number, cpu: boolean): number {
  const clock = cpu ? cpuMs : () => performance.now();
  fn();
  let t = performance.now();
  fn();
  const once = Math.max(1e-3, performance.now() - t);
  const batch = Math.max(1, Math.ceil(2 / once));
  let best = Infinity;
  const deadline = performance.now() + budget * 1000;
  let rounds = 0;
  while (rounds < 3 || performance.now() < deadline) {
    t = clock();
    for (let r = 0; r < batch; r++) fn();
    best = Math.min(best, (clock() - t) / batch);
    rounds++;
  }
  return best / 1000;
}

/**
 * Measures every shape on each thread count (a fresh backend per count), dense and with 50 % zeros;
 * `budget` seconds per product and cell. Frees everything it allocates.
 */
export async function warmstartGemm(
  shapes: Shape[],
  threadCounts: number[],
  budget: number,
  progress: (line: string) => void = () => {},
): Promise<{ rows: GemmRow[]; notes: string[] }> {
  const rows: GemmRow[] = [];
  const notes: string[] = [];
  for (const threads of threadCounts) {
    const kernels = await createWasmKernels({ threads: threads as 1 | 2 });
    if (kernels.info.threads !== threads) {
      notes.push(`asked for ${threads} threads, the backend runs ${kernels.info.threads}`);
    }
    for (const [m, k, n] of shapes) {
      const w = fill(kernels, k * n, 0, 3);
      const z = kernels.alloc(m * n);
      const dw = kernels.alloc(k * n);
      const dx = kernels.alloc(m * k);
      for (const zeros of [0, 0.5]) {
        const x = fill(kernels, m * k, zeros, 1);
        const dz = fill(kernels, m * n, zeros, 2);
        const flops = 2 * m * k * n;
        const rate = (fn: () => void) => flops / bestSeconds(fn, budget, kernels.info.threads === 1) / 1e9;
        const row: GemmRow = {
          m,
          k,
          n,
          threads,
          zeros,
          forward: rate(() => kernels.denseForward(x, w, null, z, z, m, k, n, 'linear')),
          dW: rate(() => kernels.denseBackwardWeights(x, dz, dw, null, m, k, n)),
          dX: rate(() => kernels.denseBackwardInput(dz, w, dx, m, k, n)),
        };
        rows.push(row);
        progress(
          `  warmstart ${m}×${k}×${n} ${threads}t ${zeros * 100}% zeros: ` +
            `${row.forward.toFixed(1)} / ${row.dW.toFixed(1)} / ${row.dX.toFixed(1)} GFLOPS`,
        );
        kernels.free(x);
        kernels.free(dz);
      }
      for (const a of [w, z, dw, dx]) kernels.free(a);
    }
    if (kernels.stats.fallbacks > 0)
      notes.push(`${kernels.stats.fallbacks} calls fell back to the reference`);
    const stats = kernels.threadStats;
    if (stats !== null) {
      notes.push(
        `${threads} threads: ${stats.runs} shared runs, the helper threads joined ${stats.shared}, ` +
          `paused ${stats.pauses} times (another process had a core)`,
      );
    }
    await kernels.dispose();
  }
  return { rows, notes };
}
