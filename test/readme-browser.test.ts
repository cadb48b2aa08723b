// The README's bundler example ("In the browser", "From a bundler"), so that it cannot rot: it must type-check
// under --strict against warmstart's sources (every option name, every type), and, bundled by esbuild for
// the browser as the README tells esbuild users (the kernel files copied next to the bundle), it must run
// in Debian's Chromium against the study server's Fashion-MNIST, shortened only to one epoch. Its
// <script type="module"> twin runs in test/browser-study.test.ts.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import ts from 'typescript';
import { startStudyServer, type StudyServer } from '../src/cli/serve.js';
import { TASK_A_CLASS_NAMES } from '../src/datasets/split.js';
import { makeTempDir } from './fixtures-gen/datasetFixtures.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../scripts/chromium.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const envDataDir = process.env['WARMSTART_DATA_DIR'] || undefined;
const dataDir = envDataDir ?? resolve(root, '../shared/datasets/fashion-mnist-2017-08-26');
const inCi = process.env['CI'] === 'true';
// Without Chromium or the dataset the browser run is skipped with the reason; in CI a missing browser fails.
const skipBrowser =
  (!existsSync(CHROMIUM) && !inCi && `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`) ||
  (envDataDir === undefined && !existsSync(dataDir) && `no dataset at ${dataDir}`);

/** The README's bundler example, as written. */
function bundlerExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## In the browser'));
  const example = /From a bundler:\n\n```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(example !== null, 'the README\'s "In the browser" section has a bundler example in a ts block');
  return example[1]!;
}

test('the README bundler example shows ready(), a dataset from a URL, fit with yieldEvery, predict', () => {
  const source = bundlerExample();
  for (const part of [
    "from 'warmstart'",
    'await ready(',
    'loadFashionMnist({ dataUrl:',
    'new Sequential(',
    'await model.fit(',
    'yieldEvery:',
    'model.predict(',
  ]) {
    assert.ok(source.includes(part), `the example no longer shows ${part}`);
  }
  assert.ok(source.trim().split('\n').length <= 20, 'the example stays short');
});

test('the README bundler example type-checks under --strict against the sources', () => {
  const temp = makeTempDir('readme-bundler');
  try {
    const file = join(temp.path, 'example.mts');
    writeFileSync(
      file,
      bundlerExample().replace("from 'warmstart'", `from ${JSON.stringify(join(root, 'src', 'index.js'))}`),
    );
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
      skipLibCheck: true,
    });
    // Only the example's own diagnostics: checking all of src/ is the type-check job's, and slow.
    const diagnostics = ts
      .getPreEmitDiagnostics(program, program.getSourceFile(file))
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    assert.deepEqual(diagnostics, []);
    // The check can fail: a misspelt option is an error.
    writeFileSync(file, readFileSync(file, 'utf8').replace('yieldEvery:', 'yieldEach:'));
    const again = ts.createProgram([file], program.getCompilerOptions(), undefined, program);
    const misspelt = ts.getPreEmitDiagnostics(again, again.getSourceFile(file));
    assert.ok(misspelt.length > 0, 'a misspelt fit option type-checks');
  } finally {
    temp.remove();
  }
});

describe('the README bundler example in Chromium', { skip: skipBrowser }, () => {
  const temp = makeTempDir('readme-bundler-page');
  let server: StudyServer;
  let browser: Browser;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is required in CI: ${CHROMIUM} is missing`);
    const web = join(temp.path, 'web');
    mkdirSync(web);
    // As written, but one epoch instead of five.
    const source = bundlerExample().replace(/epochs: \d+/, 'epochs: 1');
    assert.ok(source.includes('epochs: 1'));
    writeFileSync(join(temp.path, 'example.ts'), source);
    // esbuild for the browser, `warmstart` being this package (its `browser` field picks the browser modules).
    await build({
      entryPoints: [join(temp.path, 'example.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      outfile: join(web, 'app.js'),
      logLevel: 'warning',
      plugins: [
        {
          name: 'warmstart-is-this-package',
          setup(builder) {
            builder.onResolve({ filter: /^warmstart$/ }, () => ({ path: join(root, 'src', 'index.ts') }));
          },
        },
      ],
    });
    // The README's esbuild notes: esbuild does not copy the kernel files nor the helper threads' module; they
    // go next to the bundle (without helper.js the page warns and runs on one thread).
    for (const kernel of ['kernels-relaxed.wasm', 'kernels-simd.wasm']) {
      copyFileSync(join(root, 'build', 'wasm', kernel), join(web, kernel));
    }
    copyFileSync(join(root, 'src', 'kernels', 'wasm', 'helper.js'), join(web, 'helper.js'));
    writeFileSync(
      join(web, 'index.html'),
      '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>' +
        '<body><script type="module" src="./app.js"></script></body></html>',
    );
    server = await startStudyServer({ dataDir, port: 0, webRoot: web, engineRoot: web, log: () => {} });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    temp.remove();
  });

  test('loads Fashion-MNIST from the page server, trains on the wasm kernels, predicts', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      // A warning here is the wasm backend falling back to the reference kernels.
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    // A page error stops the wait at once (the example would never write its result).
    const failed = new Promise<never>((_, reject) => page.on('pageerror', reject));
    failed.catch(() => {});
    await page.goto(server.url);
    await Promise.race([
      page.waitForFunction(() => /val_accuracy/.test(document.body.textContent ?? ''), undefined, {
        timeout: 120_000,
      }),
      failed,
    ]);
    const text = await page.evaluate(() => document.body.textContent ?? '');
    assert.deepEqual(problems, []);
    const shown = /^val_accuracy ([\d.]+), first test image: (.+)$/.exec(text);
    assert.ok(shown !== null, `the page shows: ${text}`);
    // One epoch of SGD on task A's 8 classes: far above chance (1/8).
    assert.ok(Number(shown[1]) > 0.6, `val_accuracy ${shown[1]}`);
    assert.ok(TASK_A_CLASS_NAMES.includes(shown[2]!), `a task A class name, got ${shown[2]}`);
    await page.close();
  });
});
