import type { ReluOptions } from '../kernels/kernels.js';
import { type Shape, sizeOf } from '../tensor/tensor.js';
import { BatchBuffer, Layer, type LayerOptions, LAYER_OPTION_KEYS } from './layer.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';

/** Options of {@link ReLU}, Keras's names in camelCase. */
export interface ReLUOptions extends LayerOptions {
  /** Largest output (default none; 6 makes MobileNet's ReLU6). */
  maxValue?: number | null;
  /** Slope below the threshold (default 0). */
  negativeSlope?: number;
  /** Inputs at or below it are damped (default 0). */
  threshold?: number;
}

/** The keys of {@link ReLUOptions}. */
const RELU_OPTION_KEYS = {
  ...LAYER_OPTION_KEYS,
  maxValue: true,
  negativeSlope: true,
  threshold: true,
} as const satisfies OptionKeys<ReLUOptions>;

/** Checks one of Keras's non-negative ReLU arguments. */
export function checkNonNegative(value: unknown, name: string, owner: string): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`${owner}: ${name} must be a finite number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * What ReLU and LeakyReLU share: `y = g(x)` elementwise with the kernels' ReLU family, and
 * `∂L/∂x = ∂L/∂y ⊙ g′(x)`.
 */
export abstract class ReluFamily extends Layer {
  /** The kernels' form of the layer's options. */
  protected abstract readonly options: ReluOptions;
  private lastInput: Float32Array | null = null;
  private readonly output = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );
  private readonly inputGradient = new BatchBuffer(
    () => this.kernels,
    () => sizeOf(this.inputShape ?? []),
  );

  computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }

  forward(input: Float32Array, batch: number): Float32Array {
    const y = this.output.rows(batch);
    this.kernels.reluForward(input, y, batch * sizeOf(this.inputShape!), this.options);
    this.lastInput = input;
    return y;
  }

  backward(
    outputGradient: Float32Array,
    batch: number,
    _computeWeightGradients: boolean,
    computeInputGradient: boolean,
  ): Float32Array | null {
    if (!computeInputGradient) return null;
    if (this.lastInput === null) throw new Error(`${this.className} '${this.name}': backward before forward`);
    const dx = this.inputGradient.rows(batch);
    this.kernels.reluBackward(
      this.lastInput,
      outputGradient,
      dx,
      batch * sizeOf(this.inputShape!),
      this.options,
    );
    return dx;
  }

  override dispose(): void {
    this.output.release();
    this.inputGradient.release();
    this.lastInput = null;
    super.dispose();
  }
}

/**
 * Keras's `ReLU` layer: `y = min(x, maxValue)` for x > threshold, `y = negativeSlope·(x − threshold)` otherwise
 * (`new ReLU({ maxValue: 6 })` is MobileNet's ReLU6). Derivative: 1 between the threshold and maxValue,
 * 0 above maxValue, negativeSlope at or below the threshold.
 */
export class ReLU extends ReluFamily {
  readonly className = 'ReLU';
  /** Largest output, or null for none. */
  readonly maxValue: number | null;
  /** Slope below the threshold. */
  readonly negativeSlope: number;
  /** Where the slope changes. */
  readonly threshold: number;
  protected readonly options: ReluOptions;

  constructor(options: ReLUOptions = {}) {
    checkOptions('ReLU', options, RELU_OPTION_KEYS);
    super(options, 're_lu');
    const maxValue = options.maxValue ?? null;
    this.maxValue = maxValue === null ? null : checkNonNegative(maxValue, 'max_value', 'ReLU');
    this.negativeSlope = checkNonNegative(options.negativeSlope ?? 0, 'negative_slope', 'ReLU');
    this.threshold = checkNonNegative(options.threshold ?? 0, 'threshold', 'ReLU');
    this.options = Object.freeze({
      maxValue: this.maxValue ?? Infinity,
      negativeSlope: this.negativeSlope,
      threshold: this.threshold,
    });
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      max_value: this.maxValue,
      negative_slope: this.negativeSlope,
      threshold: this.threshold,
    };
  }
}
