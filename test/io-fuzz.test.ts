/**
 * Feeds mutated copies of real model files (the Python Keras fixtures, and a .h5 and a .keras written by
 * warmstart) to `loadModel`: each must end in a typed error (ModelFileError, UnknownLayerError) or a model
 * that predicts, never in another exception, a crash, a hang or an unhandled rejection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHdf5Worker, loadModel, ModelFileError, saveModel } from '../src/io/index.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { BatchNormalization } from '../src/layers/batchNormalization.js';
import { Concatenate } from '../src/layers/concatenate.js';
import { Dense } from '../src/layers/dense.js';
import { Dropout } from '../src/layers/dropout.js';
import { inputShapeFromConfig, UnknownLayerError } from '../src/layers/registry.js';
import { Loss } from '../src/losses/loss.js';
import { Input, Model } from '../src/models/functional.js';
import { RandomGenerator, setRandomSeed } from '../src/tensor/random.js';
import { sizeOf, Tensor } from '../src/tensor/tensor.js';
import { FIXTURE_DIR } from './helpers/kerasFixtures.js';

const CASES = 1100;
const folder = mkdtempSync(join(tmpdir(), 'warmstart-io-fuzz-'));

class AnyLoss extends Loss {
  readonly className = 'AnyLoss';
  readonly name = 'mean_squared_error' as const;
  readonly fusableActivation = null;
  override compute(
    kernels: Kernels,
    yPred: Float32Array,
    yTrue: Float32Array,
    gradient: Float32Array | null,
    m: number,
    n: number,
  ): number {
    return kernels.loss('mean_squared_error', yPred, yTrue, gradient, m, n, false);
  }
}

const customObjects = {
  MyDense: (config: Record<string, unknown>) =>
    new Dense({
      name: config.name as string,
      units: config.units as number,
      activation: config.activation as string,
      inputShape: inputShapeFromConfig(config),
    }),
  huber_fn: new AnyLoss(),
};

/** The files to mutate: small ones weigh more (each read of model A costs more). */
async function sources(): Promise<Array<{ name: string; bytes: Buffer; weight: number }>> {
  setRandomSeed(1);
  const input = Input({ shape: [6] });
  const hidden = new Dropout({ rate: 0.2 }).apply(
    new BatchNormalization().apply(new Dense({ units: 5, activation: 'relu' }).apply(input)),
  );
  const model = new Model({
    inputs: input,
    outputs: new Dense({ units: 2, activation: 'softmax' }).apply(new Concatenate().apply([input, hidden])),
  });
  model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  await model.fit(
    new Tensor(new Float32Array(60).fill(0.5), [10, 6]),
    new Tensor(new Float32Array(10), [10]),
    { verbose: 0 },
  );
  const files: Array<{ name: string; bytes: Buffer; weight: number }> = [];
  for (const extension of ['.keras', '.h5']) {
    const path = join(folder, `ours${extension}`);
    await saveModel(model, path);
    files.push({ name: `ours${extension}`, bytes: readFileSync(path), weight: 4 });
  }
  if (FIXTURE_DIR !== null) {
    for (const name of readdirSync(FIXTURE_DIR).filter((file) => file.endsWith('.h5'))) {
      const bytes = readFileSync(join(FIXTURE_DIR, name));
      files.push({ name, bytes, weight: bytes.length > 500_000 ? 0.5 : 3 });
    }
  }
  return files;
}

/** One seeded mutation: bit flips (anywhere or in the structure-rich head), truncation, or a spliced chunk. */
function mutate(bytes: Buffer, random: RandomGenerator, donor: Buffer): { data: Buffer; how: string } {
  const data = Buffer.from(bytes);
  const kind = random.integer(5);
  if (kind === 0 || kind === 1) {
    const region = kind === 0 ? data.length : Math.min(data.length, 4096);
    const flips = 1 + random.integer(8);
    for (let i = 0; i < flips; i++) data[random.integer(region)] ^= 1 << random.integer(8);
    return { data, how: `${flips} bit flips in the first ${region} bytes` };
  }
  if (kind === 2) {
    const length = random.integer(data.length);
    return { data: data.subarray(0, length), how: `truncated to ${length} bytes` };
  }
  if (kind === 3) {
    const length = 1 + random.integer(256);
    const from = random.integer(Math.max(1, donor.length - length));
    const to = random.integer(Math.max(1, data.length - length));
    donor.copy(data, to, from, from + length);
    return { data, how: `${length} bytes spliced at ${to}` };
  }
  const at = random.integer(data.length);
  const length = 1 + random.integer(64);
  data.fill(random.integer(2) === 0 ? 0 : 0xff, at, at + length);
  return { data, how: `${length} bytes overwritten at ${at}` };
}

test(
  `${CASES} mutated model files each end in a typed error or a working model`,
  { timeout: 170_000 },
  async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const files = await sources();
      const total = files.reduce((sum, file) => sum + file.weight, 0);
      const random = new RandomGenerator(20240611);
      const outcomes = new Map<string, number>();
      const failures: string[] = [];
      const started = Date.now();
      for (let i = 0; i < CASES; i++) {
        let pick = random.uniform() * total;
        const source = files.find((file) => (pick -= file.weight) < 0) ?? files[0];
        const donor = files[random.integer(files.length)].bytes;
        const { data, how } = mutate(source.bytes, random, donor);
        const path = join(folder, `case-${i}${source.name.slice(source.name.lastIndexOf('.'))}`);
        writeFileSync(path, data);
        try {
          const model = await loadModel(path, { timeoutMs: 1000, customObjects, onWarning: () => {} });
          const shape = model.inputShape!;
          const output = model.predict(
            new Tensor(new Float32Array(2 * sizeOf(shape)).fill(0.1), [2, ...shape]),
          );
          assert.equal(output.rows, 2);
          outcomes.set('model', (outcomes.get('model') ?? 0) + 1);
        } catch (error) {
          if (error instanceof ModelFileError) outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
          else if (error instanceof UnknownLayerError)
            outcomes.set('UnknownLayerError', (outcomes.get('UnknownLayerError') ?? 0) + 1);
          else
            failures.push(
              `case ${i} (${source.name}, ${how}): ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
            );
        } finally {
          rmSync(path, { force: true });
        }
      }
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(
        `# fuzz: ${CASES} cases in ${seconds.toFixed(1)} s: ${JSON.stringify(Object.fromEntries(outcomes))}\n`,
      );
      assert.deepEqual(failures, [], `${failures.length} cases ended in an untyped error`);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      assert.ok((outcomes.get('model') ?? 0) > 0 && outcomes.size > 3, 'the mutations reach both outcomes');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  },
);

test('cleanup', async () => {
  await closeHdf5Worker();
  rmSync(folder, { recursive: true, force: true });
});
