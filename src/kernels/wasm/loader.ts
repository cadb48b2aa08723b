/**
 * Finds, reads and compiles the kernels module: the relaxed-SIMD build where the engine accepts it, else
 * the SIMD128 build.
 *
 * The files are referenced as `new URL('./kernels-….wasm', import.meta.url)` literals, the pattern bundlers
 * (Vite, webpack, Parcel, Rollup with its URL plugin) recognise and copy into the output; the build puts them
 * next to this module in `dist/`. Where a bundler does not copy them (esbuild), or the page serves them
 * elsewhere, `wasmDir` names their folder: a URL, resolved against the page in a browser, or a path in Node.
 * @module
 */
import * as host from '../../platform/host.js';

/** Which build was compiled, and the compiled module. */
export interface LoadedModule {
  module: WebAssembly.Module;
  relaxedSimd: boolean;
}

/** Options of {@link loadKernelModule}. */
export interface LoadOptions {
  /** `true` demands the relaxed build (error if unsupported), `false` forbids it; default: when supported. */
  relaxedSimd?: boolean;
  /**
   * Folder holding `kernels-simd.wasm` and `kernels-relaxed.wasm`: a URL (`'/assets/wasm/'`, resolved
   * against the page in a browser) or, in Node, a path. Default: next to this module (`WARMSTART_WASM_DIR`
   * overrides that in Node).
   */
  wasmDir?: string | URL;
}

type KernelFile = 'kernels-relaxed.wasm' | 'kernels-simd.wasm';

/** The literal URLs bundlers look for: do not build these from variables. */
function bundledUrl(file: KernelFile): URL {
  return file === 'kernels-relaxed.wasm'
    ? new URL('./kernels-relaxed.wasm', import.meta.url)
    : new URL('./kernels-simd.wasm', import.meta.url);
}

/** Where to look for `file`, in order. */
function candidateUrls(file: KernelFile, wasmDir: string | URL | undefined): URL[] {
  const override = wasmDir ?? host.environmentVariable('WARMSTART_WASM_DIR');
  if (override !== undefined && override !== '') {
    const folder = override instanceof URL ? override : host.resolveLocation(override);
    // A folder URL must end in '/' for the file name to be resolved inside it.
    const folderHref = folder.href.endsWith('/') ? folder.href : `${folder.href}/`;
    return [new URL(file, folderHref)];
  }
  return [bundledUrl(file), ...host.kernelFolderFallbacks().map((folder) => new URL(file, folder))];
}

async function readKernelFile(
  file: KernelFile,
  wasmDir: string | URL | undefined,
): Promise<Uint8Array<ArrayBuffer>> {
  const failures: string[] = [];
  let urls: URL[];
  try {
    urls = candidateUrls(file, wasmDir);
  } catch (error) {
    throw new Error(
      `warmstart: wasmDir ${String(wasmDir)} is not a folder URL or path (${(error as Error).message})`,
    );
  }
  for (const url of urls) {
    try {
      return await host.readBytes(url);
    } catch (error) {
      failures.push(`${url.href}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `warmstart: cannot load the WebAssembly kernels (${file}); run \`npm run build:wasm\` first, or pass ` +
      `wasmDir. Tried:\n  ${failures.join('\n  ')}`,
  );
}

/** Reads and compiles the best build this engine runs. */
export async function loadKernelModule(options: LoadOptions = {}): Promise<LoadedModule> {
  if (options.relaxedSimd !== false) {
    host.enableRelaxedSimd();
    let bytes: Uint8Array<ArrayBuffer> | null = null;
    try {
      bytes = await readKernelFile('kernels-relaxed.wasm', options.wasmDir);
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
  const bytes = await readKernelFile('kernels-simd.wasm', options.wasmDir);
  if (!WebAssembly.validate(bytes)) {
    throw new Error('warmstart: this WebAssembly engine does not support SIMD128 or shared memory');
  }
  return { module: await WebAssembly.compile(bytes), relaxedSimd: false };
}
