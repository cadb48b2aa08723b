/**
 * `warmstart serve`: a static server on 127.0.0.1 for the study page (the transfer notebook and the optimizer
 * race, trained in the browser). It sends the headers that make the page cross-origin isolated (COOP/COEP),
 * which shared memory, and so the WebAssembly backend's threads, need.
 * @module
 */
import { type Command, InvalidArgumentError } from 'commander';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST, IDX_DATASET_FILES, locateIdxDataset } from '../datasets/index.js';
import { describeContender, listContenders } from '../experiments/optimizers.js';
import { buildDenseNetwork } from '../experiments/transfer.js';
import { Dense } from '../layers/dense.js';

/** Parses `--port`: 0 (any free port) to 65535. */
function portOption(value: string): number {
  const port = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535))
    throw new InvalidArgumentError(`expected a port, 0–65535, got '${value}'`);
  return port;
}

/** Options of {@link startStudyServer}. */
export interface StudyServerOptions {
  /** Folder with the four Fashion-MNIST files (default: $WARMSTART_DATA_DIR, the cache, or a download). */
  dataDir?: string;
  /** Port on 127.0.0.1 (default 8080; 0 picks a free one). */
  port?: number;
  /** Folder of the built page (default: the package's `dist/web/`). */
  webRoot?: string;
  /** Folder of the browser bundle and its kernel files (default: the package's `dist/browser/`). */
  engineRoot?: string;
  /** Receives one line per dataset event (default: stderr). */
  log?: (line: string) => void;
}

/** A running study server. */
export interface StudyServer {
  /** The page's URL, e.g. `http://127.0.0.1:8080/`. */
  url: string;
  /** The folder the page's dataset comes from. */
  dataDir: string;
  /** Stops the server, cutting open connections. */
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  // The dataset's archives go out as bytes: a Content-Encoding would make the browser unzip them.
  '.gz': 'application/gzip',
};

/** Headers on every answer: cross-origin isolation, and no caching by the browser (this serves a build). */
const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
};

/** The first of the package's built folders `name` (`web`, `browser`) that holds `marker`. */
function builtFolder(name: string, marker: string): string {
  // dist/src/cli/serve.js: ../../<name> is dist/<name>; src/cli/serve.ts (tsx): ../../dist/<name>.
  const candidates = [`../../${name}/`, `../../dist/${name}/`].map((path) =>
    fileURLToPath(new URL(path, import.meta.url)),
  );
  const found = candidates.find((folder) => existsSync(join(folder, marker)));
  if (found === undefined) {
    throw new Error(
      `the study page is not built (no ${marker} in ${candidates.join(' or ')}): run \`npm run build\``,
    );
  }
  return found;
}

/** The file under `root` that a URL path names, or null when it does not name one there. */
function fileUnder(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const base = resolve(root);
  let path = resolve(base, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`);
  if (path !== base && !path.startsWith(base + sep)) return null;
  if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
  return existsSync(path) && statSync(path).isFile() ? path : null;
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { ...HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

function sendFile(request: IncomingMessage, response: ServerResponse, path: string): void {
  const type = CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
  response.writeHead(200, { ...HEADERS, 'Content-Type': type, 'Content-Length': statSync(path).size });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(path)
    .on('error', () => response.destroy())
    .pipe(response);
}

/**
 * What the page takes from the studies the CLI runs, so that it trains the same things: the notebook's
 * hidden layers (units, activation, kernel initializer, as `buildDenseNetwork` makes them) and the optimizer
 * race's contenders.
 */
function studyJson(): string {
  const network = buildDenseNetwork(new Dense({ units: 1, activation: 'sigmoid' }));
  const hidden = network.layers
    .filter((layer): layer is Dense => layer instanceof Dense)
    .slice(0, -1)
    .map((layer) => {
      const config = layer.getConfig();
      return {
        units: config.units,
        activation: config.activation,
        kernelInitializer: config.kernel_initializer,
      };
    });
  const contenders = listContenders().map((contender) => ({
    ...contender,
    description: describeContender(contender),
  }));
  return JSON.stringify({ hidden, contenders });
}

/**
 * Starts the study server: the page at `/`, the browser bundle at `/engine/`, the dataset's four files at
 * `/data/`, the race's contenders at `/study.json`.
 */
export async function startStudyServer(options: StudyServerOptions = {}): Promise<StudyServer> {
  const webRoot = options.webRoot ?? builtFolder('web', 'study.js');
  const engineRoot = options.engineRoot ?? builtFolder('browser', 'warmstart.js');
  const located = await locateIdxDataset(FASHION_MNIST, { dataDir: options.dataDir, log: options.log });
  const dataFiles = new Map<string, string>();
  for (const fileName of IDX_DATASET_FILES) {
    const path = located.files[fileName];
    dataFiles.set(path.endsWith('.gz') ? `${fileName}.gz` : fileName, path);
  }
  const study = studyJson();
  const server = createServer((request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n');
      return;
    }
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/study.json') return send(response, 200, CONTENT_TYPES['.json']!, study);
    let file: string | null = null;
    if (path.startsWith('/data/')) file = dataFiles.get(path.slice('/data/'.length)) ?? null;
    else if (path.startsWith('/engine/')) file = fileUnder(engineRoot, path.slice('/engine'.length));
    else file = fileUnder(webRoot, path);
    if (file === null) return send(response, 404, 'text/plain; charset=utf-8', `not found: ${path}\n`);
    sendFile(request, response, file);
  });
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(options.port ?? 8080, '127.0.0.1', () => listening());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    dataDir: located.dataDir,
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}

/** Adds `warmstart serve`: the study page, trained in the browser. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'serve the study page on 127.0.0.1: the transfer notebook and the optimizer race, trained in your browser',
    )
    .option(
      '--data-dir <dir>',
      'folder with the Fashion-MNIST IDX files (default: $WARMSTART_DATA_DIR, the cache, or download)',
    )
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', portOption, 8080)
    .action(async (options) => {
      const server = await startStudyServer({ dataDir: options.dataDir, port: options.port });
      process.stdout.write(
        `warmstart: serving the study page at ${server.url} (Fashion-MNIST from ${server.dataDir})\n` +
          `  a short study: ${server.url}?epochsA=2&slice=5000 (more options in the README)\n` +
          '  Ctrl-C stops the server\n',
      );
      await new Promise<void>((stopped) => {
        const stop = (): void => {
          void server.close().then(stopped);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
