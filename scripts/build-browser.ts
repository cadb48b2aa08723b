/**
 * The browser half of `npm run build` (after `tsc`):
 * - copies the kernel files next to the compiled loader (`dist/src/kernels/wasm/`), where its
 *   `new URL('./kernels-….wasm', import.meta.url)` literals, and so bundlers, find them;
 * - bundles the root entry for browsers into `dist/browser/warmstart.js` (ES module, minified, source map),
 *   the kernel files beside it: what a `<script type="module">` imports without a bundler; and the HDF5
 *   worker (h5wasm inside) into `dist/browser/hdf5/webWorker.js`, where the bundle's
 *   `new URL('./hdf5/webWorker.js', import.meta.url)` finds it; and the wasm kernels' helper thread program,
 *   `helper.js` (a plain module, copied as it is), where `new URL('./helper.js', import.meta.url)` finds it;
 * - bundles the study page (`web/`) into `dist/web/`, importing the engine as `warmstart` (an import map).
 *
 * `node --import tsx scripts/build-browser.ts [outDir]` (default `dist`).
 * @module
 */
import { build, type Plugin } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleBrowserEntry, HDF5_WORKER_BUNDLE, HDF5_WORKER_ENTRY, ROOT } from './browser-bundle.js';

const KERNEL_FILES = ['kernels-relaxed.wasm', 'kernels-simd.wasm'];

/** The helper thread's module (see `src/kernels/wasm/webHost.ts`): beside the bundle, as beside the loader. */
export const WASM_HELPER_ENTRY = 'src/kernels/wasm/helper.js';

function copyKernels(folder: string): void {
  mkdirSync(folder, { recursive: true });
  for (const file of KERNEL_FILES) copyFileSync(join(ROOT, 'build/wasm', file), join(folder, file));
}

/**
 * The page imports the engine's API from `../src/index.js` (for its types); in the bundle that import
 * becomes `warmstart`, the engine bundle, so the page and a user's `<script type="module">` run the same
 * file. Anything else from `src/` must be engine-free (the reports' chart specifications and style).
 */
function engineAsImport(): Plugin {
  const allowed = new Set(['src/report/charts.ts', 'src/report/curves.ts', 'src/report/html.ts']);
  return {
    name: 'engine-as-import',
    setup(builder) {
      builder.onResolve({ filter: /^\.\.\/src\// }, (args) => {
        if (args.path === '../src/index.js') return { path: 'warmstart', external: true };
        const target = relative(ROOT, join(args.resolveDir, args.path)).replace(/\.js$/, '.ts');
        if (allowed.has(target)) return undefined;
        return {
          errors: [{ text: `the page may import the engine only as ../src/index.js, not ${args.path}` }],
        };
      });
    },
  };
}

/** Builds `<outDir>/browser/` (the engine bundle) and `<outDir>/web/` (the study page). */
export async function buildBrowserArtifacts(outDir: string): Promise<void> {
  // Anew each time: nothing from an older build (a file since renamed, a source map no longer made) stays.
  for (const folder of ['browser', 'web']) rmSync(join(outDir, folder), { recursive: true, force: true });
  copyKernels(join(outDir, 'browser'));
  copyFileSync(join(ROOT, WASM_HELPER_ENTRY), join(outDir, 'browser/helper.js'));
  await bundleBrowserEntry({
    outfile: join(outDir, 'browser/warmstart.js'),
    minify: true,
  });
  await bundleBrowserEntry({
    entry: HDF5_WORKER_ENTRY,
    outfile: join(outDir, 'browser', HDF5_WORKER_BUNDLE),
    minify: true,
    // Its map would carry h5wasm's 4 MB of embedded WebAssembly a second time.
    sourceMap: false,
  });
  mkdirSync(join(outDir, 'web'), { recursive: true });
  await build({
    entryPoints: [join(ROOT, 'web/study.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2020',
    outfile: join(outDir, 'web/study.js'),
    minify: true,
    logLevel: 'warning',
    plugins: [engineAsImport()],
  });
  copyFileSync(join(ROOT, 'web/index.html'), join(outDir, 'web/index.html'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outDir = process.argv[2] ?? join(ROOT, 'dist');
  copyKernels(join(outDir, 'src/kernels/wasm'));
  await buildBrowserArtifacts(outDir);
}
