import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFashionMnist } from '../src/datasets/index.js';
import { generateDataset, makeTempDir, writeDataset } from './fixtures-gen/datasetFixtures.js';

/** Runs `load` with stderr captured; returns what it wrote. */
async function stderrOf(load: () => Promise<unknown>): Promise<string> {
  const write = process.stderr.write;
  let written = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await load();
  } finally {
    process.stderr.write = write;
  }
  return written;
}

test('the note about an unusual release is printed once per process, and never with verbose: 0', async () => {
  const folder = makeTempDir('dataset-notes');
  try {
    // Generated files match no known release: the loader notes it, as it notes the superseded 2017-08-26 one.
    writeDataset(folder.path, generateDataset(20, 10, 9));
    const options = { dataDir: folder.path, download: false };
    const silent = await stderrOf(() => loadFashionMnist({ ...options, verbose: 0 }));
    assert.equal(silent, '');
    const first = await stderrOf(() => loadFashionMnist(options));
    assert.match(first, /^Fashion-MNIST in .*dataset-notes.*: the files' digests match no known release\n$/);
    const second = await stderrOf(() => loadFashionMnist(options));
    assert.equal(second, '');
    // A caller's own log still hears about every load.
    const lines: string[] = [];
    await loadFashionMnist({ ...options, log: (line) => lines.push(line) });
    await loadFashionMnist({ ...options, log: (line) => lines.push(line) });
    assert.equal(lines.length, 2);
    await assert.rejects(loadFashionMnist({ ...options, verbose: 3 as never }), /verbose must be 0, 1 or 2/);
  } finally {
    folder.remove();
  }
});
