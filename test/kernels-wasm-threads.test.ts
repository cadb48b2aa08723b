// Life cycle of the wasm backend's helper thread, and its registration. Needs `npm run build:wasm`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { getKernels, listBackends, setBackend, setKernels } from '../src/kernels/index.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { createWasmKernels, registerWasmBackend, WasmKernels } from '../src/kernels/wasm/index.js';

const entry = fileURLToPath(new URL('../src/kernels/wasm/index.ts', import.meta.url));

function forward(kernels: WasmKernels): Float32Array {
  const m = 32;
  const k = 300;
  const n = 200;
  const x = kernels.alloc(m * k);
  const w = kernels.alloc(k * n);
  const z = kernels.alloc(m * n);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i);
  for (let i = 0; i < w.length; i++) w[i] = Math.cos(i) * 0.1;
  kernels.denseForward(x, w, null, z, z, m, k, n, 'tanh');
  const out = z.slice();
  for (const a of [x, w, z]) kernels.free(a);
  return out;
}

describe('wasm helper thread', () => {
  test('a process that never calls dispose() still exits (the worker is unref’d)', async () => {
    const script = `
      import { createWasmKernels } from ${JSON.stringify(entry)};
      const k = await createWasmKernels({ threads: 2 });
      const a = k.alloc(64 * 64), b = k.alloc(64 * 64), c = k.alloc(64 * 64);
      for (let i = 0; i < 20; i++) k.denseForward(a, b, null, c, c, 64, 64, 64, 'relu');
      console.log('threads', k.info.threads);
    `;
    const started = Date.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { timeout: 20_000 },
        (error, out) => (error ? reject(error) : resolve(out)),
      );
    });
    assert.match(stdout, /threads 2/);
    assert.ok(Date.now() - started < 20_000);
  });

  test('after dispose() the kernels run on one thread with the same results', async () => {
    const kernels = await createWasmKernels({ threads: 2 });
    assert.equal(kernels.info.threads, 2);
    const before = forward(kernels);
    await kernels.dispose();
    assert.equal(kernels.info.threads, 1);
    assert.equal(kernels.threadStats, null);
    assert.deepEqual(forward(kernels), before);
    await kernels.dispose(); // idempotent
  });

  test('threads: 1 starts no worker', async () => {
    const kernels = await createWasmKernels({ threads: 1 });
    assert.equal(kernels.info.threads, 1);
    assert.equal(kernels.threadStats, null);
  });

  test('the SIMD128 build can be forced, and agrees with the relaxed one to rounding', async () => {
    const simd = await createWasmKernels({ threads: 1, relaxedSimd: false });
    assert.equal(simd.info.relaxedSimd, false);
    const best = await createWasmKernels({ threads: 1 });
    const a = forward(simd);
    const b = forward(best);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * (1 + Math.abs(a[i])));
  });
});

describe('registration', () => {
  test("registerWasmBackend makes setBackend('wasm') create WasmKernels", async () => {
    registerWasmBackend();
    assert.ok(listBackends().includes('wasm'));
    const kernels = await setBackend('wasm');
    try {
      assert.ok(kernels instanceof WasmKernels);
      assert.equal(kernels.name, 'wasm');
      assert.equal(getKernels(), kernels);
    } finally {
      await (kernels as WasmKernels).dispose();
      setKernels(new ReferenceKernels());
    }
  });
});
