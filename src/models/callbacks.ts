import * as host from '../platform/host.js';
import { checkOptions } from '../kernels/options.js';
import type { BaseModel } from './baseModel.js';

/** Values reported at the end of a batch or an epoch: `loss`, `accuracy`, `val_loss`, … */
export type Logs = Record<string, number>;

/** What `fit` tells callbacks at the start (Keras's `params`). */
export interface TrainingParams {
  epochs: number;
  steps: number;
  samples: number;
  batchSize: number;
  verbose: number;
  initialEpoch: number;
  /**
   * The fit's seed: epoch k's shuffle order and dropout masks come from a generator seeded with (seed, k)
   * (see `FitOptions.seed`). Not one of Keras's params.
   */
  seed: number;
}

/**
 * Hooks into `fit`, as Keras's `keras.callbacks.Callback`. Epoch hooks and `onBatchEnd` may return a promise,
 * which `fit` awaits before going on (a checkpoint every N batches saves this way); `onBatchBegin` must be
 * synchronous. Batch hooks run on the hot path: their `logs` object is reused between batches (copy what you
 * keep), and a batch hook that returns nothing costs nothing.
 */
export abstract class Callback {
  /** The model being trained (set by `fit`). */
  model: BaseModel | null = null;
  /** The run's parameters (set by `fit`). */
  params: TrainingParams | null = null;

  /** Called by `fit` before training. */
  setModel(model: BaseModel): void {
    this.model = model;
  }
  /** Called by `fit` before training. */
  setParams(params: TrainingParams): void {
    this.params = params;
  }
  /** Before the first epoch. */
  onTrainBegin(_logs?: Logs): void | Promise<void> {}
  /** After the last epoch (or an early stop). */
  onTrainEnd(_logs?: Logs): void | Promise<void> {}
  /** Before each epoch (0-based). */
  onEpochBegin(_epoch: number, _logs?: Logs): void | Promise<void> {}
  /** After each epoch, with its training and validation logs. */
  onEpochEnd(_epoch: number, _logs: Logs): void | Promise<void> {}
  /** Before each training batch. */
  onBatchBegin(_batch: number, _logs?: Logs): void {}
  /**
   * After each training batch, with running means over the epoch so far; a returned promise is awaited before
   * the next batch.
   */
  onBatchEnd(_batch: number, _logs: Logs): void | Promise<void> {}
}

/** Records every epoch's logs; `fit` returns it, as Keras's `History`. */
export class History extends Callback {
  /** Epoch indices seen. */
  readonly epoch: number[] = [];
  /** One list per key (`loss`, `accuracy`, `val_loss`, `val_accuracy`), one value per epoch. */
  readonly history: Record<string, number[]> = {};

  override onEpochEnd(epoch: number, logs: Logs): void {
    this.epoch.push(epoch);
    for (const [key, value] of Object.entries(logs)) (this.history[key] ??= []).push(value);
  }
}

/** Where progress goes: a stream-like writer (`process.stdout` by default in Node, the console in browsers). */
export interface ProgressWriter {
  write(text: string): unknown;
  isTTY?: boolean;
}

function defaultWriter(): ProgressWriter {
  return host.standardOutput();
}

/** Formats a log value as Keras does (four decimals; scientific when tiny). */
export function formatLogValue(value: number): string {
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(4);
  return value.toFixed(4);
}

/** Orders log keys as `loss`, metrics, `val_loss`, validation metrics. */
export function orderLogKeys(keys: string[]): string[] {
  const rank = (key: string): number =>
    (key.startsWith('val_') ? 2 : 0) + (key.replace(/^val_/, '') === 'loss' ? 0 : 1);
  return [...keys].sort((a, b) => rank(a) - rank(b));
}

/**
 * Keras-style progress: `Epoch 3/20` then `1375/1375 ━━━━━━━━━━━━━━━━━━━━ 2s 1ms/step - loss: 0.2178 - accuracy: …`.
 * `verbose = 1` redraws the bar in place on a terminal (at most every 50 ms) and prints one line per epoch
 * otherwise; `verbose = 2` prints one line per epoch without the bar.
 */
export class ProgbarLogger extends Callback {
  private readonly writer: ProgressWriter;
  private readonly verbose: number;
  private epochStart = 0;
  private lastDraw = 0;
  /** Batches of the epoch done (its last batch index + 1: a resumed epoch starts past 0). */
  private seen = 0;
  /** Batches this process ran in the epoch (what the timing divides by). */
  private ran = 0;
  private steps = 0;

  constructor(options: { verbose?: number; writer?: ProgressWriter } = {}) {
    checkOptions('ProgbarLogger', options, { verbose: true, writer: true });
    super();
    this.verbose = options.verbose ?? 1;
    this.writer = options.writer ?? defaultWriter();
  }

  override onEpochBegin(epoch: number): void {
    const epochs = this.params?.epochs ?? 0;
    this.steps = this.params?.steps ?? 0;
    this.epochStart = performance.now();
    this.lastDraw = 0;
    this.seen = 0;
    this.ran = 0;
    this.writer.write(`Epoch ${epoch + 1}/${epochs}\n`);
  }

  override onBatchEnd(batch: number, logs: Logs): void {
    this.seen = batch + 1;
    this.ran++;
    if (this.verbose !== 1 || !this.writer.isTTY) return;
    const now = performance.now();
    if (now - this.lastDraw < 50 && this.seen < this.steps) return;
    this.lastDraw = now;
    this.writer.write(`\r${this.line(logs, now, false)}\x1b[K`);
  }

  override onEpochEnd(_epoch: number, logs: Logs): void {
    const redraw = this.verbose === 1 && this.writer.isTTY === true;
    this.writer.write(
      `${redraw ? '\r' : ''}${this.line(logs, performance.now(), true)}${redraw ? '\x1b[K' : ''}\n`,
    );
  }

  private line(logs: Logs, now: number, final: boolean): string {
    const steps = this.steps;
    // An epoch that training stopped in (a NaN loss, say) ends at the batches it ran, not at `steps`; one
    // resumed after its last batch ran no batch here and is complete.
    const done = final && this.ran === 0 ? steps : this.seen;
    const elapsed = (now - this.epochStart) / 1000;
    const width = 20;
    const filled = steps === 0 ? width : Math.round((done / steps) * width);
    const bar = this.verbose === 1 ? ` ${'━'.repeat(filled)}${'─'.repeat(width - filled)}` : '';
    const perStep = this.ran > 0 ? (elapsed * 1000) / this.ran : 0;
    const timing = final
      ? ` ${Math.round(elapsed)}s ${perStep >= 1 ? Math.round(perStep) + 'ms' : Math.round(perStep * 1000) + 'us'}/step`
      : ` ${Math.round(((steps - done) * perStep) / 1000)}s`;
    const values = orderLogKeys(Object.keys(logs))
      .map((key) => ` - ${key}: ${formatLogValue(logs[key])}`)
      .join('');
    const counter = `${String(done).padStart(String(steps).length)}/${steps}`;
    return `${counter}${bar}${timing}${values}`;
  }
}
