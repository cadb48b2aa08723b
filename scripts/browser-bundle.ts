/**
 * Bundling warmstart's root entry for browsers with esbuild, as a user's bundler would (the package's
 * `browser` field swaps the Node platform modules for the browser ones), and finding what in it still
 * needs Node: `node:*` imports and free `process` / `Buffer` references, by source file.
 *
 * Used by the build (`build-browser.ts`: `dist/browser/warmstart.js`) and by the test that keeps the
 * browser entry clean (`test/browser-bundle.test.ts`).
 * @module
 */
import { build, type Plugin } from 'esbuild';
import { fileURLToPath } from 'node:url';

/** The package's root folder. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Something in a browser bundle that only Node has. */
export type NodeOnly = `node:${string}` | 'process' | 'Buffer';

/**
 * The HDF5 worker's module file for browsers: `src/io/platform.browser.ts` starts it with
 * `new Worker(new URL('./hdf5/webWorker.js', import.meta.url), { type: 'module' })`, a URL bundlers (Vite,
 * webpack, Parcel) follow and esbuild does not; the build bundles it (h5wasm inside) to this path relative
 * to the engine bundle, where that URL points from `dist/browser/warmstart.js`.
 */
export const HDF5_WORKER_ENTRY = 'src/io/hdf5/webWorker.js';
export const HDF5_WORKER_BUNDLE = 'hdf5/webWorker.js';

const NODE_BUILTIN =
  /^node:|^(fs|path|os|crypto|zlib|url|v8|worker_threads|child_process|stream|util|http|https|net)(\/.*)?$/;

/** Records every import of a Node built-in, with its importer, and leaves it external. */
function recordNodeImports(found: Map<string, Set<NodeOnly>>): Plugin {
  return {
    name: 'record-node-imports',
    setup(builder) {
      builder.onResolve({ filter: NODE_BUILTIN }, (args) => {
        const name = (args.path.startsWith('node:') ? args.path : `node:${args.path}`) as NodeOnly;
        const importer = relativeToRoot(args.importer);
        if (!found.has(importer)) found.set(importer, new Set());
        found.get(importer)!.add(name);
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * For a bundle that is written (the build): an import of a Node built-in is an error naming the importer, so
 * a module that reaches Node fails the build instead of a page at run time.
 */
function refuseNodeImports(): Plugin {
  return {
    name: 'refuse-node-imports',
    setup(builder) {
      builder.onResolve({ filter: NODE_BUILTIN }, (args) => ({
        errors: [
          { text: `${relativeToRoot(args.importer)} imports ${args.path}, which browsers do not have` },
        ],
      }));
    },
  };
}

function relativeToRoot(path: string): string {
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

/** Options of {@link bundleBrowserEntry}. */
export interface BundleOptions {
  /** The module to bundle, relative to the package (default `src/index.ts`, the root entry). */
  entry?: string;
  /**
   * Where to write the bundle (the build: a Node import is then an error); omitted: kept in memory, and what
   * needs Node is listed instead (the test).
   */
  outfile?: string;
  /** Minify (the build); the test reads the unminified text. */
  minify?: boolean;
  /** Write a source map beside a written bundle (default true). */
  sourceMap?: boolean;
  /** Bundle as if the package had no `browser` field (the test's proof that the scan sees Node code). */
  ignoreBrowserField?: boolean;
}

/** What {@link bundleBrowserEntry} found. */
export interface BundleResult {
  /** The bundle's text (unminified unless asked). */
  text: string;
  /** Source files reachable from the entry. */
  inputs: string[];
  /** What needs Node, by source file. */
  leaks: Record<string, NodeOnly[]>;
}

/**
 * Bundles `src/index.ts` (or another entry, such as the HDF5 worker) for browsers (ES2020: no top-level
 * await, which Vite's default target refuses) and lists what in it needs Node.
 */
export async function bundleBrowserEntry(options: BundleOptions): Promise<BundleResult> {
  const found = new Map<string, Set<NodeOnly>>();
  const scanning = options.outfile === undefined;
  const result = await build({
    entryPoints: [`${ROOT}${options.entry ?? 'src/index.ts'}`],
    bundle: true,
    // 'neutral' ignores the browser field; then the top-level await of Node's start module must pass too.
    platform: options.ignoreBrowserField ? 'neutral' : 'browser',
    ...(options.ignoreBrowserField ? { mainFields: ['browser', 'module', 'main'] } : {}),
    format: 'esm',
    target: options.ignoreBrowserField ? 'esnext' : 'es2020',
    write: options.outfile !== undefined,
    outfile: options.outfile ?? 'warmstart.js',
    minify: options.minify ?? false,
    sourcemap: options.outfile !== undefined && options.sourceMap !== false ? 'linked' : false,
    // Module scripts (and module workers) are always read as UTF-8: no need to escape h5wasm's embedded
    // WebAssembly, a string of mostly non-ASCII characters, into four to six times as many ASCII ones.
    charset: 'utf8',
    metafile: true,
    logLevel: 'silent',
    // Free references to Node's globals become markers the scan below attributes to their source file.
    // (Only when scanning: a bundle that is written keeps its code as it is.)
    define: scanning ? { process: '__NODE_ONLY_process', Buffer: '__NODE_ONLY_Buffer' } : {},
    plugins: [scanning ? recordNodeImports(found) : refuseNodeImports()],
  });
  const output = result.outputFiles?.find((file) => file.path.endsWith('.js'));
  const text = output !== undefined ? output.text : '';
  if (scanning) {
    // Unminified esbuild output starts each module with a `// path/to/file.ts` comment.
    let file = '(bundle)';
    for (const line of text.split('\n')) {
      const header = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(line);
      if (header !== null) file = header[1]!;
      for (const global of ['process', 'Buffer'] as const) {
        if (line.includes(`__NODE_ONLY_${global}`)) {
          if (!found.has(file)) found.set(file, new Set());
          found.get(file)!.add(global);
        }
      }
    }
  }
  const leaks: Record<string, NodeOnly[]> = {};
  for (const [file, names] of [...found].sort(([a], [b]) => a.localeCompare(b)))
    leaks[file] = [...names].sort();
  return { text, inputs: Object.keys(result.metafile!.inputs), leaks };
}
