// Kernel memory that comes back: the wasm heap's reuse of freed blocks, model.dispose() with shared layers,
// use after dispose, the FinalizationRegistry safety net, OutOfMemoryError and the 4 GiB address space.
// Needs `npm run build:wasm`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';

import { closeHdf5Worker, loadModel } from '../src/io/index.js';
import { DisposedError, OutOfMemoryError } from '../src/kernels/errors.js';
import { getKernels, setKernels } from '../src/kernels/index.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { ReferenceKernels } from '../src/kernels/reference.js';
import { HEAP_START } from '../src/kernels/wasm/abi.js';
import { WasmHeap } from '../src/kernels/wasm/heap.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/index.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Concatenate } from '../src/layers/concatenate.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import { Flatten } from '../src/layers/flatten.js';
import { Input, Model } from '../src/models/functional.js';
import { Sequential } from '../src/models/sequential.js';
import { Adam, SGD } from '../src/optimizers/index.js';
import { OwnedMemory } from '../src/tensor/ownership.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Deterministic generator (mulberry32), so every failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('WasmHeap: reuse of freed blocks', () => {
  const heap = WasmHeap.create(1 << 20);

  test('a freed block merges with free neighbours on both sides and is reused whole', () => {
    const [a, b, c, guard] = [100, 200, 300, 16].map((length) => heap.alloc(length));
    const start = a.byteOffset;
    heap.free(a);
    heap.free(c);
    assert.equal(heap.freeBlocks, 2);
    heap.free(b); // joins a (before) and c (after)
    assert.equal(heap.freeBlocks, 1);
    assert.equal(heap.freeBytes, 448 + 832 + 1216);
    // 620 floats (2,480 bytes) fit only in the merged block: it is placed at a's old offset.
    const merged = heap.alloc(620);
    assert.equal(merged.byteOffset, start);
    heap.free(merged);
    heap.free(guard);
  });

  test('the top comes down when the highest block is freed, with free blocks below it', () => {
    const base = heap.topOffset;
    const blocks = [64, 1000, 5, 70_000].map((length) => heap.alloc(length));
    assert.ok(heap.topOffset > base, 'the top grew');
    heap.free(blocks[1]);
    heap.free(blocks[3]); // the highest: the top drops to the end of blocks[2]
    assert.equal(heap.topOffset, blocks[2].byteOffset + 64);
    heap.free(blocks[2]); // merges with blocks[1] and the top drops to blocks[0]'s end
    assert.equal(heap.topOffset, blocks[0].byteOffset + 256);
    heap.free(blocks[0]);
    assert.equal(heap.topOffset, base);
    assert.equal(heap.freeBlocks, 0);
    assert.equal(heap.liveBytes, 0);
  });

  test('best fit: the smallest free block that holds the request, split, with the rest reused', () => {
    const big = heap.alloc(160); // 640 bytes
    const fence1 = heap.alloc(1);
    const small = heap.alloc(32); // 128 bytes
    const fence2 = heap.alloc(1);
    heap.free(big);
    heap.free(small);
    const exact = heap.alloc(30); // 120 → 128 bytes: the small block, not a split of the big one
    assert.equal(exact.byteOffset, small.byteOffset);
    const part = heap.alloc(40); // 160 → 192 bytes: the front of the big block
    assert.equal(part.byteOffset, big.byteOffset);
    const rest = heap.alloc(100); // 400 → 448 bytes: exactly what is left of it
    assert.equal(rest.byteOffset, big.byteOffset + 192);
    assert.equal(heap.freeBlocks, 0);
    for (const view of [exact, part, rest, fence1, fence2]) heap.free(view);
    assert.equal(heap.topOffset, HEAP_START);
  });

  test('reused memory is zeroed, also below the high-water mark after the top came down', () => {
    const a = heap.alloc(1000);
    a.fill(7);
    heap.free(a); // the top comes down over a
    const b = heap.alloc(2000); // from the top again, over a's dirty bytes
    assert.equal(b.byteOffset, a.byteOffset);
    assert.ok(
      b.every((value) => value === 0),
      'b is zeroed',
    );
    b.fill(3);
    const fence = heap.alloc(1);
    heap.free(b);
    const c = heap.alloc(500); // from the free list
    assert.ok(
      c.every((value) => value === 0),
      'c is zeroed',
    );
    heap.free(c);
    heap.free(fence);
  });

  test('random alloc/free: blocks never overlap, stay aligned, and freeing all restores the empty heap', () => {
    const random = rng(7);
    const live: Float32Array[] = [];
    for (let step = 0; step < 4000; step++) {
      if (live.length > 0 && random() < 0.45) {
        const [view] = live.splice(Math.floor(random() * live.length), 1);
        heap.free(view);
      } else {
        const length = Math.floor(random() < 0.1 ? random() * 50_000 : random() * 600);
        const view = heap.alloc(length);
        assert.equal(view.byteOffset % 64, 0);
        assert.ok(
          view.every((value) => value === 0),
          'a new block is zeroed',
        );
        view.fill(step + 1);
        live.push(view);
      }
      if (step % 500 === 0) {
        const sorted = [...live].sort((a, b) => a.byteOffset - b.byteOffset);
        let bytes = 0;
        for (let i = 0; i < sorted.length; i++) {
          const size = Math.max(64, Math.ceil(sorted[i].byteLength / 64) * 64);
          bytes += size;
          if (i + 1 < sorted.length)
            assert.ok(sorted[i].byteOffset + size <= sorted[i + 1].byteOffset, `blocks overlap at ${i}`);
        }
        assert.equal(heap.liveBytes, bytes);
        assert.ok(
          heap.topOffset - HEAP_START >= heap.liveBytes + heap.freeBytes,
          'live and free blocks lie below the top',
        );
      }
    }
    // Each block still holds what was written to it: no other block was handed out over it.
    for (const view of live)
      assert.ok(
        view.every((value) => value === view[0]),
        'a block was overwritten',
      );
    for (const view of live) heap.free(view);
    assert.equal(heap.liveBytes, 0);
    assert.equal(heap.freeBytes, 0);
    assert.equal(heap.freeBlocks, 0);
    assert.equal(heap.topOffset, HEAP_START);
  });

  test('double frees, subarrays and views of another length are refused', () => {
    const a = heap.alloc(100);
    assert.throws(() => heap.free(a.subarray(1)), /not a live buffer/);
    assert.throws(() => heap.free(new Float32Array(heap.buffer, a.byteOffset, 300)), /not a live buffer/);
    heap.free(a);
    assert.throws(() => heap.free(a), /not a live buffer/);
  });
});

describe('OutOfMemoryError and the 4 GiB address space', () => {
  test('the memory may grow to 4 GiB, the whole wasm32 address space', () => {
    // V8 in Node 20 reserves a shared memory of 65536 pages; the failure was at this limit.
    assert.equal(WasmHeap.create(1 << 20).maximumBytes, 2 ** 32);
  });

  test('running out is an OutOfMemoryError naming the request, the live bytes and the limit', () => {
    const heap = WasmHeap.create(1 << 20, { maximumBytes: 4 << 20 });
    const kept = heap.alloc(512 * 1024); // 2 MiB
    const error = (() => {
      try {
        heap.alloc(768 * 1024); // 3 MiB more
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    assert.ok(error instanceof OutOfMemoryError, 'an OutOfMemoryError');
    assert.ok(!(error instanceof RangeError), 'not a RangeError, which io would blame on the file');
    assert.equal(error.name, 'OutOfMemoryError');
    assert.equal(error.requestedBytes, 3 << 20);
    assert.equal(error.liveBytes, 2 << 20);
    assert.equal(error.limitBytes, 4 << 20);
    assert.match(
      error.message,
      /out of memory: cannot allocate 3\.00 MiB .* 2\.00 MiB are live .* 4\.00 MiB/,
    );
    // The heap still works, and the freed block is reused rather than growing past the limit.
    heap.free(kept);
    const again = heap.alloc(768 * 1024);
    assert.equal(again.length, 768 * 1024);
  });

  test('kernels run on buffers above 2 GiB (pointers past 2^31), on two threads, like the reference', async () => {
    const kernels = await createWasmKernels({ threads: 2, mainChunkLimit: 1 });
    const reference = new ReferenceKernels();
    try {
      const spacer = kernels.alloc((2 ** 31 + 4096) / 4); // untouched: address space, not memory
      const random = rng(3);
      const [m, k, n] = [32, 300, 100];
      const fill = (view: Float32Array): Float32Array => {
        for (let i = 0; i < view.length; i++) view[i] = random() * 2 - 1;
        return view;
      };
      const x = fill(kernels.alloc(m * k));
      const w = fill(kernels.alloc(k * n));
      const bias = fill(kernels.alloc(n));
      const z = kernels.alloc(m * n);
      const y = kernels.alloc(m * n);
      const dy = fill(kernels.alloc(m * n));
      const dz = kernels.alloc(m * n);
      const dw = kernels.alloc(k * n);
      const db = kernels.alloc(n);
      const dx = kernels.alloc(m * k);
      assert.ok(x.byteOffset > 2 ** 31, 'above 2 GiB');
      const [rx, rw, rb, rdy] = [x, w, bias, dy].map((view) => view.slice());
      kernels.denseForward(x, w, bias, z, y, m, k, n, 'selu');
      kernels.activationBackward('selu', z, y, dy, dz, m, n);
      kernels.denseBackwardWeights(x, dz, dw, db, m, k, n);
      kernels.denseBackwardInput(dz, w, dx, m, k, n);
      kernels.sgdUpdate(w, dw, null, { learningRate: 0.5, momentum: 0, nesterov: false });
      assert.equal(kernels.stats.fallbacks, 0);
      assert.ok((kernels.threadStats?.shared ?? 0) > 0, 'the helper thread took part');

      const [rz, ry, rdz, rdw, rdb, rdx] = [m * n, m * n, m * n, k * n, n, m * k].map(
        (length) => new Float32Array(length),
      );
      reference.denseForward(rx, rw, rb, rz, ry, m, k, n, 'selu');
      reference.activationBackward('selu', rz, ry, rdy, rdz, m, n);
      reference.denseBackwardWeights(rx, rdz, rdw, rdb, m, k, n);
      reference.denseBackwardInput(rdz, rw, rdx, m, k, n);
      const close = (actual: Float32Array, expected: Float32Array, what: string): void => {
        for (let i = 0; i < expected.length; i++) {
          assert.ok(
            Math.abs(actual[i] - expected[i]) <= 1e-4 * (1 + Math.abs(expected[i])),
            `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
          );
        }
      };
      close(y, ry, 'y');
      close(dw, rdw, 'dw');
      close(db, rdb, 'db');
      close(dx, rdx, 'dx');
      const updated = rw.map((value, i) => value - 0.5 * rdw[i]);
      close(w, updated, 'w after the SGD step');
      for (const view of [x, w, bias, z, y, dy, dz, dw, db, dx, spacer]) kernels.free(view);
      assert.ok(kernels.heap.liveBytes < 1 << 20, 'only the backend scratch is left');
    } finally {
      await kernels.dispose();
    }
  });

  test('a model too large for the memory fails with OutOfMemoryError, and the memory stays usable', async () => {
    const previous = getKernels();
    const capped = await createWasmKernels({ threads: 1, maximumMiB: 32 });
    setKernels(capped);
    try {
      assert.throws(
        () => new Sequential([new Dense({ units: 2000, inputShape: [5000] })]), // 40 MB of weights
        (error: unknown) => error instanceof OutOfMemoryError && error.limitBytes === 32 << 20,
      );
      const small = new Sequential([new Dense({ units: 10, inputShape: [20] })]);
      assert.equal(small.predict(new Tensor(new Float32Array(40), [2, 20])).shape[1], 10);
      small.dispose();
    } finally {
      setKernels(previous);
      await capped.dispose();
    }
  });
});

test('loading a model too large for the memory is an OutOfMemoryError, not an error blaming the file', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'warmstart-oom-load-'));
  const path = join(folder, 'big.h5');
  const previous = getKernels();
  try {
    // 12 MB of weights: written on the default backend, loaded on one capped at 16 MiB, three times over.
    const big = new Sequential([new Dense({ units: 1500, inputShape: [2000] })]);
    await big.save(path);
    big.dispose();
    const capped = await createWasmKernels({ threads: 1, maximumMiB: 16 });
    setKernels(capped);
    const kept: Awaited<ReturnType<typeof loadModel>>[] = [];
    try {
      await assert.rejects(
        (async () => {
          for (let i = 0; i < 3; i++) kept.push(await loadModel(path));
        })(),
        (error: unknown) =>
          error instanceof OutOfMemoryError && error.limitBytes === 16 << 20 && /memory/i.test(error.message),
      );
    } finally {
      for (const model of kept) model.dispose();
      setKernels(previous);
      await capped.dispose();
    }
  } finally {
    setKernels(previous);
    rmSync(folder, { recursive: true, force: true });
  }
});

describe('model.dispose()', () => {
  let kernels: WasmKernels;
  let previous: Kernels;
  const folder = mkdtempSync(join(tmpdir(), 'warmstart-memory-'));
  const x = new Tensor(
    Float32Array.from({ length: 64 * 784 }, (_, i) => ((i * 7919) % 255) / 255),
    [64, 28, 28],
  );
  const y = new Tensor(
    Float32Array.from({ length: 64 }, (_, i) => i % 8),
    [64],
  );

  before(async () => {
    previous = getKernels();
    kernels = await createWasmKernels({ threads: 1 });
    setKernels(kernels);
  });
  after(async () => {
    setKernels(previous);
    await kernels.dispose();
    await closeHdf5Worker();
    rmSync(folder, { recursive: true, force: true });
  });

  /** The notebook's model A: 784-300-100-50-50-50-8, SELU. */
  function modelA(): Sequential {
    return new Sequential([
      new Flatten({ inputShape: [28, 28] }),
      ...[300, 100, 50, 50, 50].map(
        (units) => new Dense({ units, activation: 'selu', kernelInitializer: 'lecun_normal' }),
      ),
      new Dense({ units: 8, activation: 'softmax' }),
    ]);
  }

  const level = (): [number, number, number] => [
    kernels.heap.liveBytes,
    kernels.heap.topOffset,
    kernels.heap.capacityBytes,
  ];

  test('build, compile (Adam), fit one batch, dispose: the heap returns to the same level every time', async () => {
    let first: [number, number, number] | null = null;
    for (let cycle = 0; cycle < 12; cycle++) {
      const model = modelA();
      model.compile({
        optimizer: new Adam(),
        loss: 'sparse_categorical_crossentropy',
        metrics: ['accuracy'],
      });
      await model.fit(x.slice(0, 32), y.slice(0, 32), { epochs: 1, batchSize: 32, verbose: 0 });
      assert.equal(model.optimizer!.getSlots(model.weights[0]).length, 2);
      model.predict(x, { batchSize: 64 });
      model.dispose();
      if (first === null) first = level();
      else assert.deepEqual(level(), first, `cycle ${cycle}`);
    }
    // What is left is the backend's own scratch (zero-skipping lists and the like), not a model.
    assert.ok(first![0] < 300_000, `live after dispose: ${first![0]} bytes`);
  });

  test('save, load, predict, dispose: the heap returns to the same level every time', async () => {
    setRandomSeed(1);
    const source = modelA();
    source.compile({
      optimizer: new SGD({ learningRate: 0.01, momentum: 0.9 }),
      loss: 'sparse_categorical_crossentropy',
    });
    await source.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
    const path = join(folder, 'model_A.h5');
    await source.save(path);
    const expected = source.predict(x);
    source.dispose();
    let first: [number, number, number] | null = null;
    for (let cycle = 0; cycle < 8; cycle++) {
      const loaded = await loadModel(path, { onWarning: () => {} });
      assert.deepEqual(loaded.predict(x).data, expected.data);
      assert.equal(loaded.optimizer!.getSlots(loaded.weights[0]).length, 1); // the momentum, restored
      loaded.dispose();
      if (first === null) first = level();
      else assert.deepEqual(level(), first, `cycle ${cycle}`);
    }
  });

  test('layers shared with a live model survive, the rest is freed, and the last dispose frees all', async () => {
    const base = level();
    const modelAOwn = modelA();
    modelAOwn.compile({ optimizer: new Adam(), loss: 'sparse_categorical_crossentropy' });
    await modelAOwn.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
    const shared = modelAOwn.layers.slice(0, -1);
    const last = modelAOwn.layers[modelAOwn.layers.length - 1];
    const modelB = new Sequential(shared);
    modelB.add(new Dense({ units: 1, activation: 'sigmoid' }));
    modelB.compile({ optimizer: new SGD(), loss: 'binary_crossentropy' });
    const yBinary = new Tensor(
      Float32Array.from(y.data, (label) => (label < 4 ? 0 : 1)),
      [64, 1],
    );
    await modelB.fit(x, yBinary, { epochs: 1, batchSize: 32, verbose: 0 });
    const before = modelB.predict(x);
    const optimizerA = modelAOwn.optimizer!;

    modelAOwn.dispose();
    assert.ok(last.isDisposed, "model A's own output layer is freed");
    assert.ok(
      shared.every((layer) => !layer.isDisposed),
      'the layers model B uses are not',
    );
    assert.ok(optimizerA.isDisposed, "model A's optimizer (its slots) is freed");
    assert.deepEqual(modelB.predict(x).data, before.data);
    await modelB.fit(x, yBinary, { epochs: 1, batchSize: 32, verbose: 0 });

    modelB.dispose();
    assert.ok(
      shared.every((layer) => layer.isDisposed),
      "model B's layers are freed with it",
    );
    assert.deepEqual(level().slice(0, 2), base.slice(0, 2));
  });

  test('a functional model shares layers the same way', () => {
    // Run twice: the first run may grow the backend's own scratch (it lives as long as the backend); the
    // second must leave the heap exactly where the first did.
    const scenario = (): void => {
      const input = Input({ shape: [16] });
      const hidden = new Dense({ units: 30, activation: 'relu' });
      const h = hidden.apply(input);
      const wide = new Dense({ units: 30, activation: 'relu' }).apply(h);
      const output = new Dense({ units: 1 }).apply(new Concatenate().apply([input, wide]));
      const model = new Model({ inputs: input, outputs: output });
      const other = new Sequential([hidden, new BatchNormalization(), new Dropout({ rate: 0.2 })]);
      const data = new Tensor(new Float32Array(8 * 16).fill(0.5), [8, 16]);
      model.compile({ optimizer: 'adam', loss: 'mse' });
      model.predict(data);
      other.predict(data);
      model.dispose();
      assert.ok(!hidden.isDisposed, 'the layer the Sequential uses is kept');
      assert.equal(other.predict(data).shape[1], 30);
      other.dispose();
      assert.ok(hidden.isDisposed, 'the last user frees it');
    };
    scenario();
    const base = level();
    scenario();
    assert.deepEqual(level(), base);
  });

  test('use after dispose is a DisposedError naming what was disposed, never a read of freed memory', async () => {
    const model = modelA();
    model.compile({ optimizer: new Adam(), loss: 'sparse_categorical_crossentropy' });
    const dense = model.layers[1] as Dense;
    const kernel = dense.kernel;
    const optimizer = model.optimizer!;
    model.dispose();
    model.dispose(); // again: nothing
    const isDisposed =
      (kind: string, name: string, action?: RegExp) =>
      (error: unknown): boolean =>
        error instanceof DisposedError &&
        error.kind === kind &&
        error.objectName === name &&
        (action === undefined || action.test(error.message));
    const name = model.name;
    assert.throws(() => model.predict(x), isDisposed('model', name, /cannot predict/));
    assert.throws(() => model.evaluate(x, y), isDisposed('model', name, /cannot evaluate/));
    await assert.rejects(model.fit(x, y, { verbose: 0 }), isDisposed('model', name, /cannot fit/));
    assert.throws(
      () => model.compile({ optimizer: 'sgd', loss: 'mse' }),
      isDisposed('model', name, /cannot compile/),
    );
    assert.throws(() => model.getWeights(), isDisposed('model', name));
    assert.throws(() => model.summary(null), isDisposed('model', name));
    await assert.rejects(model.save(join(folder, 'never.h5')), isDisposed('model', name, /cannot save/));
    assert.throws(() => dense.forward(new Float32Array(784), 1, false), isDisposed('layer', dense.name));
    assert.throws(() => dense.getWeights(), isDisposed('layer', dense.name));
    assert.throws(() => dense.build([784]), isDisposed('layer', dense.name, /cannot build/));
    assert.throws(() => kernel.value, isDisposed('variable', `${dense.name}/kernel`));
    assert.throws(() => kernel.read(), isDisposed('variable', `${dense.name}/kernel`));
    assert.throws(
      () => optimizer.applyGradients([[new Float32Array(kernel.size), kernel]]),
      (error: unknown) => error instanceof DisposedError,
    );
    assert.throws(() => new Sequential([dense]), isDisposed('layer', dense.name));
  });

  test('a layer disposed by hand makes its model fail clearly', () => {
    const model = modelA();
    const victim = model.layers[2];
    victim.dispose();
    assert.throws(
      () => model.predict(x),
      (error: unknown) => error instanceof DisposedError && error.objectName === victim.name,
    );
    model.dispose();
  });

  test('pop() and a new compile hand the layer and the old optimizer back instead of freeing them', () => {
    const model = modelA();
    const first = new Adam();
    model.compile({ optimizer: first, loss: 'sparse_categorical_crossentropy' });
    const second = new SGD();
    model.compile({ optimizer: second, loss: 'sparse_categorical_crossentropy' });
    const popped = model.pop();
    model.compile({ optimizer: first, loss: 'sparse_categorical_crossentropy' });
    model.dispose();
    assert.ok(!popped.isDisposed, 'the popped layer is kept');
    assert.ok(first.isDisposed, 'the optimizer of the last compile goes with the model');
    assert.ok(!second.isDisposed, 'a replaced optimizer is the caller’s again');
    assert.equal(popped.getWeights().length, 2);
    popped.dispose();
  });
});

describe('the FinalizationRegistry safety net', () => {
  let kernels: WasmKernels;
  let previous: Kernels;
  before(async () => {
    previous = getKernels();
    kernels = await createWasmKernels({ threads: 1 });
    setKernels(kernels);
  });
  after(async () => {
    setKernels(previous);
    await kernels.dispose();
  });

  const x = new Tensor(new Float32Array(32 * 20).fill(0.25), [32, 20]);
  const y = new Tensor(
    Float32Array.from({ length: 32 }, (_, i) => i % 4),
    [32],
  );

  function makeModel(): Sequential {
    return new Sequential([
      new Dense({ units: 64, activation: 'relu', inputShape: [20] }),
      new BatchNormalization(),
      new Dense({ units: 4, activation: 'softmax' }),
    ]);
  }

  /** Collects until the finalizers have run (they run in a later task than the collection). */
  async function collect(): Promise<void> {
    for (let round = 0; round < 4; round++) {
      collectGarbage();
      await nextTask();
    }
  }

  test('models dropped without dispose() give their memory back after garbage collection', async () => {
    // Warm up the backend's scratch and the level of an empty heap.
    const warm = makeModel();
    warm.predict(x);
    warm.dispose();
    await collect();
    const base = kernels.heap.liveBytes;
    const reclaimedBefore = OwnedMemory.reclaimedBlocks;
    const forget = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) {
        const model = makeModel();
        model.compile({ optimizer: new Adam(), loss: 'sparse_categorical_crossentropy' });
        await model.fit(x, y, { epochs: 1, verbose: 0 });
      }
    };
    await forget();
    assert.ok(kernels.heap.liveBytes > base + 10 * 20_000, 'the forgotten models still hold memory');
    await collect();
    assert.equal(kernels.heap.liveBytes, base);
    assert.ok(OwnedMemory.reclaimedBlocks - reclaimedBefore >= 10 * 10, 'the registry freed the blocks');
  });

  test('without dispose() or a forced collection, a build/fit/drop loop stays far below what it allocates', async () => {
    // The collector cannot see wasm memory: unless warmstart reports it (and fit lets the finalizers run),
    // nothing is collected here and 120 model A's (4.6 MB each with Adam) need 550 MB.
    const own = await createWasmKernels({ threads: 1 });
    setKernels(own);
    try {
      const images = new Tensor(new Float32Array(32 * 784).fill(0.5), [32, 784]);
      const labels = new Tensor(
        Float32Array.from({ length: 32 }, (_, i) => i % 8),
        [32],
      );
      for (let i = 0; i < 120; i++) {
        const model = new Sequential([
          ...[300, 100, 50, 50, 50].map(
            (units, layer) =>
              new Dense({ units, activation: 'selu', inputShape: layer === 0 ? [784] : undefined }),
          ),
          new Dense({ units: 8, activation: 'softmax' }),
        ]);
        model.compile({ optimizer: new Adam(), loss: 'sparse_categorical_crossentropy' });
        await model.fit(images, labels, { epochs: 1, verbose: 0 });
      }
      const allocated = 120 * 4.6e6;
      assert.ok(
        own.heap.capacityBytes < allocated / 2,
        `the memory grew to ${own.heap.capacityBytes} bytes for ${allocated} allocated`,
      );
    } finally {
      setKernels(kernels);
      await own.dispose();
    }
  });

  test('a forgotten model stops counting as a user: the live model sharing its layers frees them', async () => {
    const base = kernels.heap.liveBytes;
    const shared = new Dense({ units: 64, activation: 'relu', inputShape: [20] });
    const keeper = new Sequential([shared, new Dense({ units: 4, activation: 'softmax' })]);
    const expected = keeper.predict(x);
    (() => {
      const forgotten = new Sequential([shared, new Dense({ units: 3 })]);
      forgotten.predict(x);
    })();
    await collect();
    assert.ok(!shared.isDisposed, 'collection never disposes a layer still reachable');
    assert.deepEqual(keeper.predict(x).data, expected.data);
    keeper.dispose();
    assert.ok(shared.isDisposed, 'the forgotten model no longer holds the shared layer');
    await collect();
    assert.equal(kernels.heap.liveBytes, base);
  });
});
