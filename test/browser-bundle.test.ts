// The browser entry: bundled for browsers as a user's bundler would, nothing that needs Node may be
// reachable except what scripts/browser-bundle.ts lists as not yet split (model files, the helper thread),
// and that list must be exact, so it can only shrink.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bundleBrowserEntry, HDF5_WORKER_ENTRY, ROOT } from '../scripts/browser-bundle.js';
import type { IoPlatformModule } from '../src/io/platformTypes.js';
import type { HostModule } from '../src/platform/types.js';

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  browser: Record<string, string>;
};

describe('the browser bundle of the root entry', () => {
  test('reaches no node:* import, process or Buffer', async () => {
    const { leaks, inputs } = await bundleBrowserEntry({});
    assert.ok(inputs.includes('src/platform/host.browser.ts'), 'the browser platform module is bundled');
    assert.ok(!inputs.includes('src/platform/host.ts'), 'the Node platform module is not');
    assert.ok(!inputs.includes('src/datasets/platform.ts'));
    assert.ok(inputs.includes('src/io/platform.browser.ts'), "io's browser platform module is bundled");
    assert.ok(!inputs.includes('src/io/platform.ts') && !inputs.includes('src/io/temporaryFiles.ts'));
    assert.ok(
      !inputs.some((input) => input.includes('h5wasm')),
      'HDF5 is in its worker, not in the engine bundle',
    );
    assert.deepEqual(leaks, {}, `Node-only code in the browser bundle: ${JSON.stringify(leaks)}`);
  });

  test('the scan does see Node-only code: bundled without the browser field, the Node modules show', async () => {
    const { leaks } = await bundleBrowserEntry({ ignoreBrowserField: true });
    assert.ok(leaks['src/platform/host.ts']?.includes('node:fs/promises'), JSON.stringify(leaks));
    assert.ok(leaks['src/platform/host.ts']?.includes('process'));
    assert.ok(leaks['src/datasets/platform.ts']?.includes('node:fs'));
    assert.ok(leaks['src/io/platform.ts']?.includes('node:worker_threads'), JSON.stringify(leaks));
  });

  test("the HDF5 worker's module file bundles for browsers with h5wasm's ES build and nothing from Node", async () => {
    const { leaks, inputs, text } = await bundleBrowserEntry({
      entry: HDF5_WORKER_ENTRY,
    });
    assert.deepEqual(leaks, {});
    assert.ok(
      inputs.some((input) => input.endsWith('node_modules/h5wasm/dist/esm/hdf5_util.js')),
      JSON.stringify(inputs),
    );
    assert.ok(!inputs.some((input) => /h5wasm\/dist\/(node|iife)\//.test(input)));
    // HDF5's reports are captured only if the console is replaced before h5wasm's module runs.
    const capture = text.indexOf('// src/io/hdf5/capture.js');
    const h5wasm = text.search(/^\/\/ \S*node_modules\/h5wasm\/dist\/esm\/hdf5_hl\.js$/m);
    assert.ok(capture >= 0 && h5wasm > capture, 'capture.js comes first in the bundle');
  });

  test('the browser twin starts the worker with a literal new URL(…, import.meta.url), which bundlers follow', async () => {
    const { text } = await bundleBrowserEntry({});
    assert.match(
      text,
      /new Worker\(new URL\("\.\/hdf5\/webWorker\.js", import\.meta\.url\), \{\s*type: "module"/,
    );
    assert.ok(
      existsSync(join(ROOT, 'src/io/hdf5/webWorker.js')),
      'the URL names a real file next to the module',
    );
  });

  test('starts the wasm helper threads with a literal new URL("./helper.js", import.meta.url), a real file', async () => {
    const { text } = await bundleBrowserEntry({});
    assert.match(text, /new Worker\(new URL\("\.\/helper\.js", import\.meta\.url\), \{\s*type: "module"/);
    assert.ok(
      existsSync(join(ROOT, 'src/kernels/wasm/helper.js')),
      'the URL names a real file next to webHost.ts',
    );
  });

  test('refers to the kernel files with literal new URL(…, import.meta.url), which bundlers copy', async () => {
    const { text } = await bundleBrowserEntry({});
    for (const file of ['kernels-relaxed.wasm', 'kernels-simd.wasm']) {
      assert.match(text, new RegExp(`new URL\\("\\./${file.replace('.', '\\.')}", import\\.meta\\.url\\)`));
    }
  });
});

describe('the platform modules', () => {
  test('every Node module the browser field replaces has a browser twin for src/ and dist/', () => {
    const map = packageJson.browser;
    const sourceKeys = Object.keys(map).filter((key) => key.startsWith('./src/'));
    assert.ok(sourceKeys.length >= 3);
    for (const key of sourceKeys) {
      const target = map[key]!;
      assert.ok(existsSync(join(ROOT, target)), `${target} exists`);
      assert.ok(existsSync(join(ROOT, key.replace(/\.js$/, '.ts'))), `${key} exists`);
      const distKey = `./dist/${key.slice(2)}`;
      assert.equal(
        map[distKey],
        `./dist/${target.slice(2).replace(/\.ts$/, '.js')}`,
        `${distKey} is mapped too`,
      );
    }
    assert.equal(Object.keys(map).length, 2 * sourceKeys.length, 'nothing else is in the map');
  });

  test('each pair exports the same names', async () => {
    for (const [key, target] of Object.entries(packageJson.browser).filter(([k]) => k.startsWith('./src/'))) {
      const node = await import(join(ROOT, key.replace(/\.js$/, '.ts')));
      const browser = await import(join(ROOT, target));
      assert.deepEqual(Object.keys(browser).sort(), Object.keys(node).sort(), `${key} and ${target}`);
    }
  });

  test('both hosts have the HostModule type (checked by tsc) and say which platform they are', async () => {
    const node: HostModule = await import('../src/platform/host.js');
    const browser: HostModule = await import('../src/platform/host.browser.js');
    assert.equal(node.hostName, 'node');
    assert.equal(browser.hostName, 'browser');
    assert.equal(node.defaultTrainingSliceMs, null);
    assert.equal(browser.defaultTrainingSliceMs, 16);
    const nodeIo: IoPlatformModule = await import('../src/io/platform.js');
    const browserIo: IoPlatformModule = await import('../src/io/platform.browser.js');
    assert.equal(nodeIo.ioPlatformName, 'node');
    assert.equal(browserIo.ioPlatformName, 'browser');
  });
});
