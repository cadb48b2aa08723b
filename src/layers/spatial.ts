/**
 * What the 2-D layers (convolutions, pooling, padding, cropping) share: Keras's argument forms (an int or a
 * pair, `'valid'`/`'same'`, `data_format`), and the window geometry (output size, `'same'` padding split).
 * @module
 */
import type { Conv2DGeometry } from '../kernels/kernels.js';
import { ShapeError, type Shape } from '../tensor/tensor.js';

/** An (height, width) pair, as Keras's `standardize_tuple(value, 2, …)` returns it. */
export type Pair = readonly [number, number];

/** A pair given as Keras takes it: one integer for both axes, or `[height, width]`. */
export type PairLike = number | readonly number[];

/** Keras's two padding modes of a window. */
export type PaddingMode = 'valid' | 'same';

/**
 * Keras's `standardize_tuple(value, 2, name)`: one integer for both axes or two integers, each > 0 (≥ 0 with
 * `allowZero`). Throws a RangeError naming the layer class and the argument.
 */
export function toPair(value: unknown, name: string, owner: string, allowZero = false): Pair {
  const pair = typeof value === 'number' ? [value, value] : Array.isArray(value) ? value : null;
  const valid =
    pair !== null &&
    pair.length === 2 &&
    pair.every((v) => typeof v === 'number' && Number.isInteger(v) && (allowZero ? v >= 0 : v > 0));
  if (!valid) {
    throw new RangeError(
      `${owner}: ${name} must be ${allowZero ? 'a non-negative' : 'a positive'} integer or a pair of them, got ${JSON.stringify(value)}`,
    );
  }
  return Object.freeze([pair[0] as number, pair[1] as number]);
}

/** `'valid'` or `'same'`, case-insensitive as Keras's `standardize_padding`; anything else is a RangeError. */
export function toPaddingMode(value: unknown, owner: string): PaddingMode {
  const mode = typeof value === 'string' ? value.toLowerCase() : value;
  if (mode !== 'valid' && mode !== 'same') {
    throw new RangeError(`${owner}: padding must be 'valid' or 'same', got ${JSON.stringify(value)}`);
  }
  return mode;
}

/**
 * Accepts Keras's `data_format` when it is channels-last (or unset); `'channels_first'` is refused: warmstart's
 * 2-D layers compute on channels-last (NHWC) images only.
 */
export function checkDataFormat(value: unknown, owner: string): void {
  if (value === undefined || value === null) return;
  const format = typeof value === 'string' ? value.toLowerCase() : value;
  if (format === 'channels_last') return;
  if (format === 'channels_first') {
    throw new RangeError(
      `${owner}: data_format 'channels_first' is not supported: warmstart's 2-D layers take channels-last images (batch, height, width, channels)`,
    );
  }
  throw new RangeError(
    `${owner}: data_format must be 'channels_last' or 'channels_first', got ${JSON.stringify(value)}`,
  );
}

/** Checks that a per-sample shape is an image, `[height, width, channels]`. */
export function requireImageShape(inputShape: Shape, owner: string): void {
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ShapeError(
      `${owner} takes images of shape [height, width, channels] (channels-last), got samples of shape [${inputShape.join(', ')}]`,
    );
  }
}

/** Where a window falls along one axis: the output length and the padding before the first input. */
export interface AxisWindow {
  outLength: number;
  padBefore: number;
}

/**
 * One axis of a window of `size` taps `dilation` apart, moved by `stride`, as Keras computes it:
 * `'valid'`: ⌊(in − dilation·(size − 1) − 1)/stride⌋ + 1 outputs, no padding; `'same'`: ⌈in/stride⌉ outputs,
 * `max((out − 1)·stride + dilation·(size − 1) + 1 − in, 0)` padding of which the smaller half goes before
 * (TensorFlow's and Keras's split: the odd pixel goes at the bottom or right).
 */
export function axisWindow(
  length: number,
  size: number,
  stride: number,
  dilation: number,
  padding: PaddingMode,
): AxisWindow {
  const span = dilation * (size - 1) + 1;
  if (padding === 'valid') return { outLength: Math.floor((length - span) / stride) + 1, padBefore: 0 };
  const outLength = Math.ceil(length / stride);
  const total = Math.max((outLength - 1) * stride + span - length, 0);
  return { outLength, padBefore: Math.floor(total / 2) };
}

/** Window arguments of a 2-D layer (dilation 1 and groups 1 for pooling). */
export interface WindowArguments {
  kernelSize: Pair;
  strides: Pair;
  dilationRate: Pair;
  padding: PaddingMode;
}

/**
 * The geometry of a window over one image shape `[height, width, channels]` (batch 0, to be set per call).
 * Throws a ShapeError naming the layer when `'valid'` leaves no output (the window is larger than the input).
 */
export function windowGeometry(
  inputShape: Shape,
  window: WindowArguments,
  outChannels: number,
  groups: number,
  owner: string,
): Conv2DGeometry {
  requireImageShape(inputShape, owner);
  const [height, width, channels] = inputShape;
  const rows = axisWindow(
    height,
    window.kernelSize[0],
    window.strides[0],
    window.dilationRate[0],
    window.padding,
  );
  const cols = axisWindow(
    width,
    window.kernelSize[1],
    window.strides[1],
    window.dilationRate[1],
    window.padding,
  );
  if (rows.outLength < 1 || cols.outLength < 1) {
    const span = (axis: 0 | 1): number => window.dilationRate[axis] * (window.kernelSize[axis] - 1) + 1;
    throw new ShapeError(
      `${owner}: a ${span(0)}×${span(1)} window (kernel ${window.kernelSize.join('×')}, dilation ${window.dilationRate.join('×')}) does not fit in a ${height}×${width} input with padding 'valid': use a smaller kernel or padding 'same'`,
    );
  }
  return {
    batch: 0,
    inHeight: height,
    inWidth: width,
    inChannels: channels,
    outHeight: rows.outLength,
    outWidth: cols.outLength,
    outChannels,
    kernelHeight: window.kernelSize[0],
    kernelWidth: window.kernelSize[1],
    strideHeight: window.strides[0],
    strideWidth: window.strides[1],
    dilationHeight: window.dilationRate[0],
    dilationWidth: window.dilationRate[1],
    padTop: rows.padBefore,
    padLeft: cols.padBefore,
    groups,
  };
}

/** Keras's rule: strides and dilation cannot both exceed 1 on a convolution. */
export function checkStridesAndDilation(strides: Pair, dilationRate: Pair, owner: string): void {
  if (Math.max(...strides) > 1 && Math.max(...dilationRate) > 1) {
    throw new RangeError(
      `${owner}: strides > 1 cannot be combined with dilation_rate > 1 (got strides [${strides.join(', ')}], dilation_rate [${dilationRate.join(', ')}])`,
    );
  }
}

/**
 * Keras's padding or cropping argument of ZeroPadding2D / Cropping2D: an int (all sides), a pair
 * (symmetric height, symmetric width), or a pair of pairs ((top, bottom), (left, right)); non-negative.
 */
export function toSides(value: unknown, name: string, owner: string): readonly [Pair, Pair] {
  if (typeof value === 'number') {
    const pair = toPair(value, name, owner, true);
    return Object.freeze([pair, pair] as [Pair, Pair]);
  }
  if (!Array.isArray(value) || value.length !== 2) {
    throw new RangeError(
      `${owner}: ${name} must be an integer, a pair (height, width) or a pair of pairs ((top, bottom), (left, right)), got ${JSON.stringify(value)}`,
    );
  }
  return Object.freeze([
    toPair(value[0], `${name}[0] (top, bottom)`, owner, true),
    toPair(value[1], `${name}[1] (left, right)`, owner, true),
  ] as [Pair, Pair]);
}
