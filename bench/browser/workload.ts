/**
 * Model A's epoch through warmstart's public API, the same code in Node (bench/browser.ts) and in the page
 * (bench/browser/warmstart-page.ts, bundled by esbuild): the notebook's dense network (Flatten 28×28 →
 * Dense 300/100/50/50/50 selu, glorot_uniform → Dense 8 softmax), SGD 1e-3, sparse categorical
 * cross-entropy, accuracy, batch 32, one `fit` call of one epoch per round with the validation set
 * evaluated, as the notebook's `model_A.fit(X_train_A, y_train_A, epochs=20, validation_data=…)` does.
 * Sessions let the bench interleave its contenders' rounds, so that a burst of load on the shared machine
 * hits them all rather than one.
 *
 * The engine comes in as an argument (its module namespace), so nothing here imports warmstart's code:
 * Node passes `src/index.ts`, the page the browser bundle `warmstart.js`.
 * @module
 */
import type * as Warmstart from '../../src/index.js';

/** warmstart's root module, as Node imports it or the page loads the browser bundle. */
export type WarmstartApi = typeof Warmstart;

/** Batch size of the notebook's `fit`. */
export const BATCH = 32;
/** The notebook's SGD learning rate for model A. */
export const LEARNING_RATE = 1e-3;
/** Seed of the weights and of `fit`'s shuffling, the same on both sides. */
export const SEED = 42;
/** Model A's hidden layers (selu), as `buildDenseNetwork` in src/experiments/transfer.ts makes them. */
export const HIDDEN_UNITS = [300, 100, 50, 50, 50];
/** Task A's classes. */
export const CLASSES = 8;

/** Task A as bytes, as the dataset files hold it: 28×28 images, one label byte per image. */
export interface TaskBytes {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  validImages: Uint8Array;
  validLabels: Uint8Array;
}

/** Options of {@link startModelA}. */
export interface SessionOptions {
  /** Steps of an untimed `fit` first (compilation, the JIT's warm-up). */
  warmupSteps: number;
  /** `fit`'s `yieldEvery`; undefined leaves the platform's default (16 ms in browsers, never in Node). */
  yieldEvery?: Warmstart.FitOptions['yieldEvery'];
}

/** One timed epoch. */
export interface EpochResult {
  /** Wall seconds (training + validation). */
  seconds: number;
  /** Training loss, to compare the two sides' work (same seed, same data, same rounds). */
  loss: number;
  /** Validation accuracy after the epoch. */
  validationAccuracy: number;
}

/** Model A compiled and warmed up, its data in tensors: one timed epoch per {@link ModelASession.epoch}. */
export interface ModelASession {
  /** Steps of one epoch. */
  stepsPerEpoch: number;
  /** Trains one more epoch (a `fit` call of one epoch with the validation set) and times it. */
  epoch(): Promise<EpochResult>;
  /** Frees the model. */
  dispose(): void;
}

/** Model A, built from the public API (the page has no `buildDenseNetwork`). */
export function buildModelA(ws: WarmstartApi): Warmstart.Sequential {
  const model = new ws.Sequential([new ws.Flatten({ inputShape: [28, 28] })], { name: 'model_A' });
  for (const units of HIDDEN_UNITS) {
    model.add(new ws.Dense({ units, activation: 'selu', kernelInitializer: 'glorot_uniform' }));
  }
  model.add(new ws.Dense({ units: CLASSES, activation: 'softmax' }));
  return model;
}

/**
 * Builds, compiles and warms up model A on the backend `ws` uses now (the model keeps it). Round r's `fit`
 * is seeded with SEED + r, so sessions interleaved in one process shuffle alike whatever the global
 * generator did in between.
 */
export async function startModelA(
  ws: WarmstartApi,
  data: TaskBytes,
  options: SessionOptions,
): Promise<ModelASession> {
  ws.setRandomSeed(SEED);
  const model = buildModelA(ws);
  model.compile({
    optimizer: new ws.SGD({ learningRate: LEARNING_RATE }),
    loss: 'sparse_categorical_crossentropy',
    metrics: ['accuracy'],
  });
  const count = data.trainLabels.length;
  const validCount = data.validLabels.length;
  const x = ws.tensor(ws.toFloat32Images(data.trainImages), [count, 28, 28]);
  const y = ws.tensor(Float32Array.from(data.trainLabels), [count]);
  const validationData = [
    ws.tensor(ws.toFloat32Images(data.validImages), [validCount, 28, 28]),
    ws.tensor(Float32Array.from(data.validLabels), [validCount]),
  ] as const;
  const yieldOption = options.yieldEvery === undefined ? {} : { yieldEvery: options.yieldEvery };
  const warmup = Math.min(count, options.warmupSteps * BATCH);
  await model.fit(x.slice(0, warmup), y.slice(0, warmup), {
    epochs: 1,
    batchSize: BATCH,
    verbose: 0,
    seed: SEED,
    ...yieldOption,
  });
  let round = 0;
  return {
    stepsPerEpoch: Math.ceil(count / BATCH),
    async epoch() {
      const started = performance.now();
      const history = await model.fit(x, y, {
        epochs: 1,
        batchSize: BATCH,
        verbose: 0,
        validationData,
        seed: SEED + ++round,
        ...yieldOption,
      });
      return {
        seconds: (performance.now() - started) / 1000,
        loss: history.history.loss!.at(-1)!,
        validationAccuracy: history.history.val_accuracy!.at(-1)!,
      };
    },
    dispose: () => model.dispose(),
  };
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
