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

  test('on 1 to 4 threads the products equal the reference, and each other bit for bit', async () => {
    // Large enough that every product is split, with the helpers forced to take chunks.
    const [m, k, n] = [96, 300, 130];
    const reference = new ReferenceKernels();
    const x = Float32Array.from({ length: m * k }, (_, i) => (i % 3 === 0 ? 0 : Math.sin(i)));
    const w = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i) * 0.1);
    const bias = Float32Array.from({ length: n }, (_, i) => i / n - 0.5);
    const dz = Float32Array.from({ length: m * n }, (_, i) => Math.sin(i * 0.7) * 0.01);
    const run = (kernels: ReferenceKernels | WasmKernels) => {
      const a = (source: Float32Array) => {
        const copy = kernels.alloc(source.length);
        copy.set(source);
        return copy;
      };
      const [xs, ws, bs, dzs] = [a(x), a(w), a(bias), a(dz)];
      const [z, y, dw, db, dx] = [m * n, m * n, k * n, n, m * k].map((length) => kernels.alloc(length));
      kernels.denseForward(xs, ws, bs, z, y, m, k, n, 'relu');
      kernels.denseBackwardWeights(xs, dzs, dw, db, m, k, n);
      kernels.denseBackwardInput(dzs, ws, dx, m, k, n);
      const out = [z, y, dw, db, dx].map((array) => array.slice());
      for (const array of [xs, ws, bs, dzs, z, y, dw, db, dx]) kernels.free(array);
      return out;
    };
    const expected = run(reference);
    let first: Float32Array[] | null = null;
    for (const threads of [1, 2, 3, 4]) {
      const kernels = await createWasmKernels({ threads, mainChunkLimit: 1 });
      try {
        const got = run(kernels);
        ['z', 'y', 'dW', 'db', 'dX'].forEach((name, i) => {
          for (let j = 0; j < expected[i].length; j++) {
            const e = expected[i][j];
            assert.ok(
              Math.abs(got[i][j] - e) <= 1e-5 * (1 + Math.abs(e)),
              `${name}[${j}] on ${threads} thread(s): ${got[i][j]}, reference ${e}`,
            );
          }
        });
        if (threads > 1) assert.ok((kernels.threadStats?.shared ?? 0) > 0, `helpers ran chunks (${threads})`);
        if (first === null) first = got;
        else
          got.forEach((array, i) =>
            assert.ok(
              array.every((v, j) => Object.is(v, first![i][j])),
              `output ${i} differs between 1 and ${threads} threads`,
            ),
          );
      } finally {
        await kernels.dispose();
      }
    }
  });

  test('a thread late into a finished run never runs a chunk of the next one (runs of 4 chunks then 3)', async () => {
    // 3 threads on this machine's 2 cores: a helper is often descheduled inside a run. The forward product
    // (split by depth: 4 chunks) is followed by dW (3 chunks) on the same plan; before the pool closed a
    // finished run's claim words, a late helper could take "chunk −1" of dW with the forward's serial and
    // zero the 96 rows before dW (1 sequence in 3).
    const [m, k, n] = [96, 300, 130];
    const x = Float32Array.from({ length: m * k }, (_, i) => (i % 3 === 0 ? 0 : Math.sin(i)));
    const w = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i) * 0.1);
    const bias = Float32Array.from({ length: n }, (_, i) => i / n - 0.5);
    const dz = Float32Array.from({ length: m * n }, (_, i) => Math.sin(i * 0.7) * 0.01);
    for (let trial = 0; trial < 16; trial++) {
      const kernels = await createWasmKernels({ threads: 3 });
      try {
        const copy = (source: Float32Array) => {
          const array = kernels.alloc(source.length);
          array.set(source);
          return array;
        };
        const [xs, ws, bs, dzs] = [copy(x), copy(w), copy(bias), copy(dz)];
        const [z, y] = [kernels.alloc(m * n), kernels.alloc(m * n)];
        const guard = kernels.alloc(m * n).fill(777);
        const [dw, db] = [kernels.alloc(k * n), kernels.alloc(n)];
        kernels.denseForward(xs, ws, bs, z, y, m, k, n, 'relu');
        kernels.denseBackwardWeights(xs, dzs, dw, db, m, k, n);
        const settle = performance.now();
        while (performance.now() - settle < 2); // a straggler would write now
        const touched = guard.filter((v) => v !== 777).length;
        assert.equal(touched, 0, `trial ${trial}: ${touched} floats before dW overwritten`);
      } finally {
        await kernels.dispose();
      }
    }
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

/** Runs `script` (an ES module importing from src/) in a fresh Node process with `flags`; resolves stdout. */
function runScript(
  script: string,
  flags: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [...flags, '--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 120_000, env },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    );
  });
}

const fusedFitScript = (threads: number) => `
  import { createWasmKernels } from ${JSON.stringify(entry)};
  import { setKernels } from ${JSON.stringify(fileURLToPath(new URL('../src/kernels/index.ts', import.meta.url)))};
  import { Sequential, Dense, Dropout, Flatten, SGD, setRandomSeed, tensor } from ${JSON.stringify(fileURLToPath(new URL('../src/index.ts', import.meta.url)))};
  const k = await createWasmKernels({ threads: ${threads}, mainChunkLimit: 1 });
  setKernels(k);
  setRandomSeed(3);
  const model = new Sequential([new Flatten({ inputShape: [16, 16] }), new Dense({ units: 64, activation: 'selu' }),
    new Dropout({ rate: 0.2 }), new Dense({ units: 48, activation: 'relu' }), new Dense({ units: 4, activation: 'softmax' })]);
  model.compile({ optimizer: new SGD({ learningRate: 0.05, momentum: 0.9 }), loss: 'sparse_categorical_crossentropy' });
  const x = tensor(Float32Array.from({ length: 256 * 256 }, (_, i) => ((i * 7919) % 13) / 13), [256, 16, 16]);
  const y = tensor(Float32Array.from({ length: 256 }, (_, i) => (i * 31) % 4), [256]);
  const history = await model.fit(x, y, { epochs: 2, verbose: 0 });
  console.log(JSON.stringify({ threads: k.info.threads, loss: history.history.loss }));
  await k.dispose();
`;

describe('thread counts', () => {
  test('the threads option is checked', async () => {
    for (const threads of [0, 65, 2.5, NaN]) {
      await assert.rejects(createWasmKernels({ threads }), RangeError);
    }
  });

  test('the default follows WARMSTART_THREADS, else the cores (at most 8)', async () => {
    const script = `
      import { createWasmKernels } from ${JSON.stringify(entry)};
      const k = await createWasmKernels();
      console.log(k.info.threads);
      await k.dispose();
    `;
    const cores = Math.min(8, (await import('node:os')).availableParallelism());
    const { WARMSTART_THREADS: _, ...rest } = process.env;
    assert.equal(Number(await runScript(script, [], rest)), cores);
    assert.equal(Number(await runScript(script, [], { ...rest, WARMSTART_THREADS: '3' })), 3);
    await assert.rejects(runScript(script, [], { ...rest, WARMSTART_THREADS: 'many' }), /WARMSTART_THREADS/);
  });

  test('a caller that may not block (a browser page) spins instead, with the same results', async () => {
    const { nodeHost } = await import('../src/kernels/wasm/nodeHost.js');
    const spinning = await createWasmKernels({
      threads: 3,
      mainChunkLimit: 1,
      host: { callerMayBlock: false, spawnHelper: (index, init) => nodeHost.spawnHelper(index, init) },
    });
    const blocking = await createWasmKernels({ threads: 1 });
    try {
      assert.equal(spinning.info.threads, 3);
      assert.deepEqual(forward(spinning), forward(blocking));
      assert.ok((spinning.threadStats?.shared ?? 0) > 0);
    } finally {
      await spinning.dispose();
      await blocking.dispose();
    }
  });

  test('fused steps finish, with the same bits, on both of V8’s wasm compilers and with more threads than cores', async () => {
    // Node 20's baseline compiler (Liftoff) once turned a barrier wait into an endless one; every tier must work.
    const expected = await runScript(fusedFitScript(1));
    const loss = JSON.parse(expected).loss;
    for (const [threads, flags] of [
      [3, ['--liftoff-only']],
      [3, ['--no-liftoff']],
      [6, []],
    ] as const) {
      const result = JSON.parse(await runScript(fusedFitScript(threads), [...flags]));
      assert.equal(result.threads, threads);
      assert.deepEqual(result.loss, loss, `${threads} threads ${flags.join(' ')}`);
    }
  });
});
