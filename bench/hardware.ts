/**
 * The machine the bench ran on: CPU model, cores, caches, and the clock measured from inside WebAssembly
 * (a chain of dependent integer additions, one cycle each), with the peak that clock gives 128-bit wasm
 * SIMD: 2 FMA pipes × 4 lanes × 2 flops × clock × cores. The FMA throughput is measured too (12 independent
 * relaxed-SIMD multiply-add chains), to check the "2 FMA pipes" part rather than assume it.
 *
 * Times are CPU times (`process.cpuUsage`), so a machine shared with other processes does not lower them.
 * @module
 */

import { readFileSync } from 'node:fs';
import os from 'node:os';

/** What {@link measureHardware} reports. */
export interface Hardware {
  cpu: string;
  cores: number;
  /** `lscpu`-style cache sizes from sysfs, when readable. */
  caches: string;
  /** Measured clock in GHz (median of 5), from one-cycle dependent additions. */
  clockGHz: number;
  /** Measured relaxed-SIMD FMA throughput per cycle (null where relaxed SIMD is not available). */
  fmaPerCycle: number | null;
  /** 16 flops/cycle (2 FMA × 4 lanes × 2) × clock, per core and for all cores, in GFLOPS. */
  peakGflopsPerCore: number;
  peakGflops: number;
  node: string;
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function vector(items: number[][]): number[] {
  return [...leb(items.length), ...items.flat()];
}

/**
 * A module with `chain(n) -> i32` (n iterations of 32 dependent i32 additions/xors) and, when `fma`,
 * `fma(n) -> f32` (n iterations of 12 independent f32x4 relaxed multiply-adds).
 */
function clockModule(fma: boolean): Uint8Array {
  const I32 = 0x7f;
  const F32 = 0x7d;
  const V128 = 0x7b;
  const types = vector([
    [0x60, 1, I32, 1, I32],
    [0x60, 1, I32, 1, F32],
  ]);
  const functions = vector(fma ? [[0], [1]] : [[0]]);
  const exports = vector([
    [5, ...Buffer.from('chain'), 0x00, 0],
    ...(fma ? [[3, ...Buffer.from('fma'), 0x00, 1]] : []),
  ]);
  // chain: locals x (1), y (2); x = 1, y = 2; loop { if n == 0 break; 16 × (x += y; y ^= x); n -= 1 }
  const step = [0x20, 1, 0x20, 2, 0x6a, 0x21, 1, 0x20, 2, 0x20, 1, 0x73, 0x21, 2];
  const chainBody = [
    1,
    2,
    I32,
    0x41,
    1,
    0x21,
    1,
    0x41,
    2,
    0x21,
    2,
    0x02,
    0x40,
    0x03,
    0x40,
    0x20,
    0,
    0x45,
    0x0d,
    1,
    ...Array.from({ length: 16 }, () => step).flat(),
    0x20,
    0,
    0x41,
    1,
    0x6b,
    0x21,
    0,
    0x0c,
    0,
    0x0b,
    0x0b,
    0x20,
    1,
    0x20,
    2,
    0x6a,
    0x0b,
  ];
  // fma: locals c0..c11 (1..12), a (13), b (14): a = splat 1e-3, b = splat 0.999, c = a;
  // loop { if n == 0 break; 12 × (c_i = c_i·b + a); n -= 1 }; return lane 0 of Σ c_i
  const f32 = (v: number) => [...new Uint8Array(new Float32Array([v]).buffer)];
  const fmaBody: number[] = [1, 14, V128];
  fmaBody.push(0x43, ...f32(1e-3), 0xfd, 0x13, 0x21, 13, 0x43, ...f32(0.999), 0xfd, 0x13, 0x21, 14);
  for (let i = 1; i <= 12; i++) fmaBody.push(0x20, 13, 0x21, i);
  fmaBody.push(0x02, 0x40, 0x03, 0x40, 0x20, 0, 0x45, 0x0d, 1);
  for (let i = 1; i <= 12; i++) fmaBody.push(0x20, i, 0x20, 14, 0x20, 13, 0xfd, 0x85, 0x02, 0x21, i);
  fmaBody.push(0x20, 0, 0x41, 1, 0x6b, 0x21, 0, 0x0c, 0, 0x0b, 0x0b);
  fmaBody.push(0x20, 1);
  for (let i = 2; i <= 12; i++) fmaBody.push(0x20, i, 0xfd, 0xe4, 0x01);
  fmaBody.push(0xfd, 0x1f, 0, 0x0b);
  const bodies = [chainBody, ...(fma ? [fmaBody] : [])].map((b) => [...leb(b.length), ...b]);
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, types),
    ...section(3, functions),
    ...section(7, exports),
    ...section(10, vector(bodies)),
  ]);
}

function cpuNanos(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line !== undefined) return line.split(':')[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function caches(): string {
  const parts: string[] = [];
  try {
    for (let index = 0; index < 8; index++) {
      const dir = `/sys/devices/system/cpu/cpu0/cache/index${index}`;
      const level = readFileSync(`${dir}/level`, 'utf8').trim();
      const type = readFileSync(`${dir}/type`, 'utf8').trim();
      const size = readFileSync(`${dir}/size`, 'utf8').trim();
      if (type !== 'Instruction') parts.push(`L${level}${type === 'Data' ? 'd' : ''} ${size}`);
    }
  } catch {
    // fewer levels, or no sysfs
  }
  return parts.join(', ');
}

/**
 * Measures the clock (and the FMA throughput where `relaxedSimd` is enabled in this engine: call after
 * `createWasmKernels`, which turns the flag on in Node 20). Takes about a second.
 */
export async function measureHardware(relaxedSimd: boolean): Promise<Hardware> {
  let module: WebAssembly.Module;
  let fma = relaxedSimd;
  try {
    module = await WebAssembly.compile(clockModule(fma) as Uint8Array<ArrayBuffer>);
  } catch {
    fma = false;
    module = await WebAssembly.compile(clockModule(false) as Uint8Array<ArrayBuffer>);
  }
  const instance = await WebAssembly.instantiate(module);
  const chain = instance.exports.chain as (n: number) => number;
  const fmaLoop = instance.exports.fma as ((n: number) => number) | undefined;
  chain(1e6);
  fmaLoop?.(1e6);
  const clocks: number[] = [];
  const fmas: number[] = [];
  for (let round = 0; round < 5; round++) {
    const iterations = 5e6;
    let t = cpuNanos();
    chain(iterations);
    const ghz = (iterations * 32) / (cpuNanos() - t);
    clocks.push(ghz);
    if (fmaLoop !== undefined) {
      t = cpuNanos();
      fmaLoop(iterations);
      fmas.push((iterations * 12) / (cpuNanos() - t) / ghz);
    }
  }
  const clockGHz = median(clocks);
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return {
    cpu: cpuModel(),
    cores,
    caches: caches(),
    clockGHz,
    fmaPerCycle: fmas.length > 0 ? median(fmas) : null,
    peakGflopsPerCore: 16 * clockGHz,
    peakGflops: 16 * clockGHz * cores,
    node: process.version,
  };
}
