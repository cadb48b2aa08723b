/**
 * `fit` shuffles the training samples before each epoch by default (Keras's `shuffle=True`), never with
 * `shuffle: false`, always as a permutation of the training rows, and the same seed gives the same order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kernels } from '../src/kernels/kernels.js';
import { Dense } from '../src/layers/dense.js';
import { Layer } from '../src/layers/layer.js';
import { Callback } from '../src/models/callbacks.js';
import { Sequential } from '../src/models/sequential.js';
import { SGD } from '../src/optimizers/sgd.js';
import { setRandomSeed } from '../src/tensor/random.js';
import { type Shape, Tensor } from '../src/tensor/tensor.js';

/** Passes its input through and records, in training, which samples it saw (each sample's value is its index). */
class OrderRecorder extends Layer {
  readonly className = 'OrderRecorder';
  /** The samples seen in training since the list was last replaced, in order. */
  seen: number[] = [];

  constructor() {
    super({ inputShape: [1] }, 'order_recorder');
  }

  computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }

  protected override createWeights(_inputShape: Shape, _kernels: Kernels): void {}

  forward(input: Float32Array, batch: number, training: boolean): Float32Array {
    if (training) for (let i = 0; i < batch; i++) this.seen.push(input[i]);
    return input;
  }

  backward(
    outputGradient: Float32Array,
    _batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
  ): Float32Array | null {
    return computeInputGradient ? outputGradient : null;
  }
}

/** Calls `onEnd` after each epoch. */
class EpochEnd extends Callback {
  constructor(private readonly onEnd: () => void) {
    super();
  }
  override onEpochEnd(): void {
    this.onEnd();
  }
}

const SAMPLES = 32;

/** The order in which each epoch's training forward passes saw the samples. */
async function epochOrders(
  seed: number,
  options: { shuffle?: boolean; validationSplit?: number; epochs?: number },
): Promise<number[][]> {
  setRandomSeed(seed);
  const recorder = new OrderRecorder();
  const model = new Sequential([recorder, new Dense({ units: 1 })]);
  model.compile({ optimizer: new SGD({ learningRate: 0.01 }), loss: 'mse' });
  const x = new Tensor(
    Float32Array.from({ length: SAMPLES }, (_, i) => i),
    [SAMPLES, 1],
  );
  const y = new Tensor(
    Float32Array.from({ length: SAMPLES }, (_, i) => i % 2),
    [SAMPLES, 1],
  );
  const epochs = options.epochs ?? 3;
  const orders: number[][] = [];
  const { shuffle, validationSplit } = options;
  await model.fit(x, y, {
    epochs,
    batchSize: 5,
    verbose: 0,
    ...(shuffle === undefined ? {} : { shuffle }),
    ...(validationSplit === undefined ? {} : { validationSplit }),
    callbacks: [
      new EpochEnd(() => {
        orders.push(recorder.seen);
        recorder.seen = [];
      }),
    ],
  });
  return orders;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

test('fit shuffles by default: each epoch sees every training sample once, in a new order', async () => {
  const orders = await epochOrders(11, {});
  assert.equal(orders.length, 3);
  for (const order of orders) {
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      range(SAMPLES),
      'each epoch is a permutation of the samples',
    );
    assert.notDeepEqual(order, range(SAMPLES), 'the order is not the given one');
  }
  assert.notDeepEqual(orders[0], orders[1], 'epochs are shuffled afresh');
  assert.notDeepEqual(orders[1], orders[2], 'epochs are shuffled afresh');
});

test('fit with shuffle: false keeps the given order in every epoch', async () => {
  const orders = await epochOrders(11, { shuffle: false });
  assert.deepEqual(orders, [range(SAMPLES), range(SAMPLES), range(SAMPLES)]);
});

test('the same seed gives the same order; another seed another one', async () => {
  const first = await epochOrders(23, {});
  const again = await epochOrders(23, {});
  const other = await epochOrders(24, {});
  assert.deepEqual(again, first);
  assert.notDeepEqual(other, first);
});

test('validationSplit takes its samples from the end before shuffling: only the first rows train, shuffled', async () => {
  // ⌊32 × 0.75⌋ = 24 rows train; rows 24…31 validate and never reach a training forward pass.
  const orders = await epochOrders(5, { validationSplit: 0.25, epochs: 2 });
  for (const order of orders) {
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      range(24),
    );
    assert.notDeepEqual(order, range(24));
  }
});
