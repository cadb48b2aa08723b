import * as host from '../platform/host.js';
import { InputDataError } from './errors.js';

/**
 * When `fit` gives the event loop a turn: after this many milliseconds of training, or after every this
 * many batches; `false` never.
 */
export type YieldEvery = { milliseconds: number } | { batches: number } | false;

/**
 * Decides, batch by batch, when training pauses for the event loop. A turn costs a few microseconds in Node
 * and up to a frame in a browser that has something to draw; every 16 ms of training keeps a page at 60
 * frames a second and costs a few percent of the training time.
 */
export class TrainingYielder {
  private lastTurn = performance.now();
  private batchesSinceTurn = 0;

  private constructor(
    private readonly milliseconds: number,
    private readonly batches: number,
  ) {}

  /**
   * The yielder for `fit`'s `yieldEvery` option, or null when training never pauses. The default comes from
   * the platform: every 16 ms in browsers, never in Node.
   */
  static from(option: YieldEvery | undefined): TrainingYielder | null {
    if (option === undefined) {
      const milliseconds = host.defaultTrainingSliceMs;
      return milliseconds === null ? null : new TrainingYielder(milliseconds, Infinity);
    }
    if (option === false) return null;
    if ('milliseconds' in option) {
      const { milliseconds } = option;
      if (!(milliseconds > 0 && Number.isFinite(milliseconds)))
        throw new InputDataError(
          `fit: yieldEvery.milliseconds must be a positive number, got ${milliseconds}`,
        );
      return new TrainingYielder(milliseconds, Infinity);
    }
    if ('batches' in option) {
      const { batches } = option;
      if (!(Number.isInteger(batches) && batches > 0))
        throw new InputDataError(`fit: yieldEvery.batches must be a positive integer, got ${batches}`);
      return new TrainingYielder(Infinity, batches);
    }
    throw new InputDataError(
      `fit: yieldEvery must be { milliseconds }, { batches } or false, got ${JSON.stringify(option)}`,
    );
  }

  /** Called after each batch: whether it is time for a turn. */
  due(): boolean {
    return ++this.batchesSinceTurn >= this.batches || performance.now() - this.lastTurn >= this.milliseconds;
  }

  /** Gives the event loop its turn. */
  async turn(): Promise<void> {
    await host.yieldToEventLoop();
    this.batchesSinceTurn = 0;
    this.lastTurn = performance.now();
  }
}
