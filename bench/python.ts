/**
 * The Python side of the bench: `/usr/bin/python3` with numpy and PyTorch 1.13 (Debian's, on OpenBLAS).
 * Finds out which BLAS they load (and refuses to treat the netlib reference BLAS, or a BLAS that computes
 * wrongly, as a peer), and which OpenBLAS setting to run them with: this machine presets
 * OPENBLAS_CORETYPE=Haswell (AVX2 kernels); left to itself OpenBLAS picks its AVX-512 kernels here. The
 * faster one that computes correctly is PyTorch's best configuration, so it is the one used.
 * @module
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The interpreter with numpy and torch (plain `python3` on PATH may be another one). */
export const PYTHON = '/usr/bin/python3';
const here = fileURLToPath(new URL('.', import.meta.url));

/** What bench/blas.py reports. */
export interface BlasInfo {
  numpy: string;
  torch: string | null;
  torchBlasInfo?: string;
  loaded: string[];
  openblas: { core: string; threads: number; config: string } | null;
  reference: boolean;
  correct: boolean;
  peer: boolean;
  relativeError: number;
}

/** The environment Python runs in, and why. */
export interface PythonSetup {
  available: boolean;
  hasTorch: boolean;
  env: NodeJS.ProcessEnv;
  blas: BlasInfo | null;
  /** The other OpenBLAS setting, as measured (null when there is only one). */
  alternative: { note: string; blas: BlasInfo | null; gflops?: number } | null;
  note: string;
}

/** Runs a bench Python script; resolves its last stdout line as JSON, or the error. */
export function runPython(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 1_800_000,
): Promise<{ json: Record<string, unknown> | null; error: string | null }> {
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      [`${here}${script}`, ...args],
      { env, timeout: timeoutMs, maxBuffer: 1 << 26 },
      (error, stdout, stderr) => {
        if (error !== null) {
          resolve({ json: null, error: `${error.message.split('\n')[0]} ${stderr.slice(-400)}` });
          return;
        }
        try {
          const line = stdout.trim().split('\n').at(-1) ?? '';
          resolve({ json: JSON.parse(line) as Record<string, unknown>, error: null });
        } catch (parseError) {
          resolve({ json: null, error: `bad output: ${(parseError as Error).message}` });
        }
      },
    );
  });
}

/** Environment with `threads` for OpenBLAS's and OpenMP's pools (torch.set_num_threads sizes only OpenMP's). */
export function withThreads(env: NodeJS.ProcessEnv, threads: number): NodeJS.ProcessEnv {
  return { ...env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
}

/** A 1-thread 1024² sgemm in GFLOPS under `env` (to pick the faster OpenBLAS setting). */
async function quickGflops(env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const { json } = await runPython('numpy_gemm.py', ['[[512,1024,1024]]', '[1]', '0.5'], env);
  const rows = json?.results as { forward: number }[] | undefined;
  return rows?.[0]?.forward;
}

/** Checks what Python has and decides the OpenBLAS setting. */
export async function pythonSetup(): Promise<PythonSetup> {
  const none: PythonSetup = {
    available: false,
    hasTorch: false,
    env: process.env,
    blas: null,
    alternative: null,
    note: `no ${PYTHON} with numpy (apt-get install python3-numpy python3-torch libopenblas0-pthread)`,
  };
  if (!existsSync(PYTHON)) return none;
  const preset = await runPython('blas.py', [], process.env);
  if (preset.json === null) return { ...none, note: `${PYTHON} blas.py failed: ${preset.error}` };
  const presetBlas = preset.json as unknown as BlasInfo;
  const presetCore = process.env.OPENBLAS_CORETYPE;
  if (presetCore === undefined || presetBlas.openblas === null) {
    return {
      available: true,
      hasTorch: presetBlas.torch !== null,
      env: process.env,
      blas: presetBlas,
      alternative: null,
      note: 'environment as set',
    };
  }
  const autoEnv = { ...process.env };
  delete autoEnv.OPENBLAS_CORETYPE;
  delete autoEnv.OPENBLAS_L2_SIZE;
  const auto = await runPython('blas.py', [], autoEnv);
  const autoBlas = auto.json as unknown as BlasInfo | null;
  const presetRate = await quickGflops(process.env);
  const autoRate = autoBlas?.correct ? await quickGflops(autoEnv) : undefined;
  const useAuto = autoBlas !== null && autoBlas.correct && (autoRate ?? 0) > (presetRate ?? 0);
  const describe = (blas: BlasInfo | null, rate: number | undefined) =>
    `${blas?.openblas?.core ?? '?'} kernels, ${rate === undefined ? '?' : rate.toFixed(0)} GFLOPS on one thread (512×1024×1024)`;
  const presetNote = `OPENBLAS_CORETYPE=${presetCore} (as preset): ${describe(presetBlas, presetRate)}`;
  const autoNote = `OPENBLAS_CORETYPE unset (OpenBLAS's own choice): ${describe(autoBlas, autoRate)}${autoBlas?.correct === false ? ', WRONG results' : ''}`;
  return {
    available: true,
    hasTorch: presetBlas.torch !== null,
    env: useAuto ? autoEnv : process.env,
    blas: useAuto ? autoBlas : presetBlas,
    alternative: useAuto
      ? { note: presetNote, blas: presetBlas, gflops: presetRate }
      : { note: autoNote, blas: autoBlas, gflops: autoRate },
    note: useAuto ? autoNote : presetNote,
  };
}
