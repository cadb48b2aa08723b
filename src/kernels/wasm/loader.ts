/**
 * Finds, reads and compiles the kernels module: the relaxed-SIMD build where the engine accepts it, else
 * the SIMD128 build. Node reads the file from disk; a browser fetches it next to this module's URL.
 * @module
 */

/** Which build was compiled, and the compiled module. */
export interface LoadedModule {
  module: WebAssembly.Module;
  relaxedSimd: boolean;
}

/** Options of {@link loadKernelModule}. */
export interface LoadOptions {
  /** `true` demands the relaxed build (error if unsupported), `false` forbids it; default: when supported. */
  relaxedSimd?: boolean;
  /** Folder (path or URL) holding `kernels-*.wasm`; default: `build/wasm/` of the package. */
  wasmDir?: string | URL;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Where `build/wasm/` is, relative to this file: `src/kernels/wasm/` when run from sources (tsx), and
 * `dist/src/kernels/wasm/` after `tsc`, one level deeper. `WARMSTART_WASM_DIR` overrides both.
 */
function candidateDirs(wasmDir: string | URL | undefined): URL[] {
  const override = wasmDir ?? (isNode ? process.env.WARMSTART_WASM_DIR : undefined);
  if (override !== undefined && override !== '') {
    if (override instanceof URL) return [override];
    return [isNode && !/^[a-z]+:/i.test(override) ? pathToDirUrl(override) : new URL(override)];
  }
  return [
    new URL('../../../build/wasm/', import.meta.url),
    new URL('../../../../build/wasm/', import.meta.url),
  ];
}

function pathToDirUrl(path: string): URL {
  const absolute = path.startsWith('/') ? path : `${process.cwd()}/${path}`;
  return new URL(`file://${absolute.endsWith('/') ? absolute : `${absolute}/`}`);
}

async function readBytes(dirs: URL[], file: string): Promise<Uint8Array<ArrayBuffer>> {
  const failures: string[] = [];
  for (const dir of dirs) {
    const url = new URL(file, dir);
    try {
      if (url.protocol === 'file:' && isNode) {
        const { readFile } = await import('node:fs/promises');
        return new Uint8Array(await readFile(url));
      }
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      failures.push(`${url.href}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `warmstart: cannot load the WebAssembly kernels (${file}); run \`npm run build:wasm\` first. Tried:\n  ${failures.join('\n  ')}`,
  );
}

let relaxedFlagSet = false;

/**
 * Node 20's V8 ships relaxed SIMD behind a flag that NODE_OPTIONS refuses, so it is set from code, once,
 * before anything is compiled. V8 flags are process-wide, so worker threads see it too.
 */
async function enableRelaxedSimd(): Promise<void> {
  if (relaxedFlagSet || !isNode) return;
  relaxedFlagSet = true;
  try {
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // Not fatal: validation below then simply rejects the relaxed build.
  }
}

/** Reads and compiles the best build this engine runs. */
export async function loadKernelModule(options: LoadOptions = {}): Promise<LoadedModule> {
  const dirs = candidateDirs(options.wasmDir);
  if (options.relaxedSimd !== false) {
    await enableRelaxedSimd();
    let bytes: Uint8Array<ArrayBuffer> | null = null;
    try {
      bytes = await readBytes(dirs, 'kernels-relaxed.wasm');
    } catch (error) {
      if (options.relaxedSimd === true) throw error;
    }
    if (bytes !== null && WebAssembly.validate(bytes)) {
      return { module: await WebAssembly.compile(bytes), relaxedSimd: true };
    }
    if (options.relaxedSimd === true) {
      throw new Error('warmstart: this WebAssembly engine does not support relaxed SIMD');
    }
  }
  const bytes = await readBytes(dirs, 'kernels-simd.wasm');
  if (!WebAssembly.validate(bytes)) {
    throw new Error('warmstart: this WebAssembly engine does not support SIMD128 or shared memory');
  }
  return { module: await WebAssembly.compile(bytes), relaxedSimd: false };
}
