/**
 * The wasm side of the convolutional-network kernels (assembly/conv.ts): argument checks, the geometry block,
 * the scratch buffers, the choice between the direct convolution and im2col + GEMM, and the split of each
 * kernel over the threads. `WasmKernels` delegates to it; each method returns false when its arguments are not
 * all in this backend's memory (or do not fit the geometry), and the caller then falls back to the reference
 * loops.
 *
 * Threads: every kernel computes a sub-range of its output (rows, images, weight rows, channels, elements)
 * from its own inputs only, so a call large enough to pay for the hand-over ({@link SPLIT_WORK}) runs as a
 * one-phase plan of op `OP.range` in up to one chunk per thread, with the same bits as on one thread.
 * @module
 */

import type { Conv2DGeometry, ReluOptions } from '../kernels.js';
import {
  ACTIVATION_CODES,
  GEMM_UNITS,
  GEOMETRY_BLOCK_WORDS,
  GEOMETRY_WORDS,
  type KernelExports,
  LINEAR,
  MAX_SCRATCH_BYTES,
  OP,
  RANGE,
} from './abi.js';
import type { WasmHeap } from './heap.js';
import type { Sharing } from './index.js';

/**
 * Work (multiply-adds, or element visits for pooling and element-wise kernels) from which a kernel call is
 * split between the threads: handing a chunk over costs microseconds, so calls of under ~10 µs stay whole
 * (the dense products' threshold, `SPLIT_FORWARD` in index.ts).
 */
export const SPLIT_WORK = 1 << 18;

/**
 * Multiply-adds one value of a gradient is worth to the passes that list its non-zero values
 * (`nonzero_channels`, `nonzero_entries`: ~0.2 ns per value against ~0.04 ns per multiply-add of a product),
 * and to the bias gradient's column sums (~0.07 ns): so that the small CNN's conv2 gradient (247,808 values,
 * 50 µs to list) is split between the threads, not left to one.
 */
const LIST_WORK = 4;
const SUM_WORK = 2;

/** Float32 bits of a number, as an integer argument of a range task (the ReLU family's thresholds). */
const floatBits = (() => {
  const floats = new Float32Array(1);
  const words = new Int32Array(floats.buffer);
  return (value: number): number => {
    floats[0] = value;
    return words[0];
  };
})();

/**
 * How a 2-D convolution is computed: chosen per case (`'auto'`), or forced (benchmarks, tests): `'direct'` and
 * `'im2col'` dense, `'sparse'` the zero-skipping kernels wherever they apply (groups 1; for dW, input channels
 * a multiple of 4), forward included; `'winograd'` the Winograd F(2×2, 3×3) forward wherever it applies (3×3,
 * stride 1, dilation 1, groups 1; the backward passes as `'auto'`).
 */
export type ConvolutionPath = 'auto' | 'direct' | 'im2col' | 'sparse' | 'winograd';

/**
 * Input channels from which `'auto'` computes a forward that {@link winogradFits} by Winograd F(2×2, 3×3): 16
 * products per 2×2 output tile instead of 36, plus input and output transforms of about one product's worth per
 * channel and per filter, which dominate with a handful of channels. Measured with bench/conv.ts and a
 * same-process A/B (one thread, relaxed SIMD, batch 32, 13×13 valid), µs direct → Winograd: 32 → 64 channels
 * (the small CNN's conv2) 2840 → 1760; 16 → 32: 1057 → 818; 8 → 32: 497 → 384; 1 → 32 (28×28, conv1)
 * 483 → 622. Within the tolerance of the direct kernel's tests (|error| ≤ 1e-5 of the sum of |terms|).
 */
const WINOGRAD_CHANNELS = 8;

/** Whether a geometry has the Winograd F(2×2, 3×3) forward: 3×3 windows, stride 1, no dilation, groups 1. */
function winogradFits(g: Conv2DGeometry): boolean {
  return (
    g.kernelHeight === 3 &&
    g.kernelWidth === 3 &&
    g.strideHeight === 1 &&
    g.strideWidth === 1 &&
    g.dilationHeight === 1 &&
    g.dilationWidth === 1 &&
    g.groups === 1
  );
}

/**
 * Zero fraction of a gradient from which the backward passes skip its zeros (`'auto'`). After a ReLU and a max
 * pooling about 87 % of a convolution's output gradient is zero (the small CNN's training); after a batch
 * normalization almost none is.
 */
const SPARSE_ZEROS = 0.5;

/** One of the three passes of a convolution. */
type ConvolutionPass = 'forward' | 'weights' | 'input';

/** Element counts of a geometry's tensors, or null when the geometry is not a valid one. */
interface GeometrySizes {
  input: number;
  output: number;
  /** Output pixels: rows of the patch matrix. */
  pixels: number;
}

function sizesOf(g: Conv2DGeometry): GeometrySizes | null {
  for (const word of GEOMETRY_WORDS) {
    const value = g[word];
    if (!Number.isInteger(value) || value < 0 || value > 0x3fffffff) return null;
  }
  if (
    Math.min(g.inHeight, g.inWidth, g.inChannels, g.outHeight, g.outWidth, g.outChannels) < 1 ||
    Math.min(g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth) < 1 ||
    Math.min(g.dilationHeight, g.dilationWidth, g.groups) < 1
  ) {
    return null;
  }
  const input = g.batch * g.inHeight * g.inWidth * g.inChannels;
  const pixels = g.batch * g.outHeight * g.outWidth;
  const output = pixels * g.outChannels;
  // Offsets are 32-bit in the kernels.
  if (input * 4 >= 2 ** 32 || output * 4 >= 2 ** 32) return null;
  return { input, output, pixels };
}

/**
 * The convolution kernels of {@link WasmKernels}. Owns a geometry block, a zero row (what a direct
 * convolution's taps on the padding read), the patch matrix of im2col, and the GEMM's scratch (for calls
 * on this thread alone);
 * {@link WasmConvolutions.dispose} returns them.
 */
export class WasmConvolutions {
  /** @internal Force one convolution algorithm (benchmarks and tests); `'auto'` picks per case. */
  path: ConvolutionPath = 'auto';
  /** Two geometry blocks: a convolution's, and the flipped one of its input gradient. */
  private geometryBlock: Float32Array | null = null;
  private geometryWords: Int32Array | null = null;
  private zeros: Float32Array | null = null;
  private flippedKernel: Float32Array | null = null;
  /** The Winograd transform of a forward's kernel (U, `winograd_filters`). */
  private winogradKernel: Float32Array | null = null;
  /** Per-channel scratch of the batch-normalization kernels (5 rows of channels). */
  private channelScratch: Float32Array | null = null;
  private patches: Float32Array | null = null;
  private listScratch: Float32Array | null = null;
  /** Non-zero channel lists of a gradient (zero-skipping kernels), and dW's per-filter columns. */
  private nonzeroBlock: Float32Array | null = null;
  private columnBlock: Float32Array | null = null;
  /** A gradient's non-zero values by rows (`nonzero_entries`): the entries, and each pixel's first. */
  private entryBlock: Float32Array | null = null;
  private startBlock: Float32Array | null = null;

  constructor(
    private readonly heap: WasmHeap,
    private readonly wasm: KernelExports,
    private readonly sharing: Sharing | null = null,
  ) {}

  /** Chunks a call of `work` over `units` units is split into now (1: whole, on this thread). */
  private chunks(work: number, units: number): number {
    return this.sharing === null || units < 2 ? 1 : this.sharing.split(work, SPLIT_WORK, units);
  }

  /**
   * Runs range kernel `kernel` over [0, total) with `args` before its range: split in chunks (boundaries on
   * multiples of `unit`) when the threads take a call of `work`, else `whole()` on this thread. A kernel that
   * runs a GEMM product gets the plan's scratch, `scratchBytes` per thread.
   */
  private range(
    kernel: number,
    total: number,
    unit: number,
    work: number,
    args: readonly number[],
    whole: () => void,
    scratchBytes = 0,
  ): void {
    const chunks = this.chunks(work, Math.ceil(total / unit));
    if (chunks <= 1) whole();
    else this.sharing!.run(OP.range, chunks, 1, [kernel, total, unit, ...args], scratchBytes);
  }

  /**
   * {@link range} of a kernel whose arguments are `args`, then its range: on this thread, `run(...args, 0, total)`
   * (`run` the kernel's export), so the arguments are written once for both paths.
   */
  private rangeOf<A extends readonly number[]>(
    kernel: number,
    total: number,
    unit: number,
    work: number,
    run: (...call: [...A, number, number]) => unknown,
    ...args: A
  ): void {
    this.range(kernel, total, unit, work, args, () => run(...args, 0, total));
  }

  /**
   * Writes the geometry (and whether a forward applies ReLU) into block `slot` (0 or 1) that the kernels read;
   * returns its byte offset.
   */
  private geometry(g: Conv2DGeometry, slot = 0, relu = false): number {
    const length = GEOMETRY_BLOCK_WORDS;
    if (this.geometryBlock === null) {
      this.geometryBlock = this.heap.alloc(2 * length);
      // Shared memory never detaches: this view stays valid when the memory grows.
      this.geometryWords = new Int32Array(
        this.geometryBlock.buffer,
        this.geometryBlock.byteOffset,
        2 * length,
      );
    }
    const words = this.geometryWords!;
    for (let i = 0; i < GEOMETRY_WORDS.length; i++) words[slot * length + i] = g[GEOMETRY_WORDS[i]];
    words[slot * length + GEOMETRY_WORDS.length] = relu ? 1 : 0;
    return this.geometryBlock.byteOffset + slot * length * 4;
  }

  /** A block of at least `length` floats from `current` or a new one (old one freed), grown with room to spare. */
  private grow(current: Float32Array | null, length: number): Float32Array {
    if (current !== null && current.length >= length) return current;
    if (current !== null) this.heap.free(current);
    return this.heap.alloc(Math.ceil(length * 1.25) + 16);
  }

  /** `length` zero floats (never written by any kernel). */
  private zeroRow(length: number): number {
    this.zeros = this.grow(this.zeros, length);
    return this.zeros.byteOffset;
  }

  /** A patch matrix of `length` floats (reused; its contents are overwritten by each user). */
  private patchMatrix(length: number): Float32Array {
    this.patches = this.grow(this.patches, length);
    return this.patches;
  }

  /**
   * The GEMM's scratch (`bytes` from `gemm_scratch_bytes`, bounded whatever the shape) for a product on this
   * thread alone; a split product uses the plan's regions instead, one per thread.
   */
  private scratch(bytes: number): number {
    this.listScratch = this.grow(this.listScratch, Math.ceil(bytes / 4));
    return this.listScratch.byteOffset;
  }

  private owns(...views: (Float32Array | null)[]): boolean {
    return views.every((view) => view === null || this.heap.owns(view));
  }

  /**
   * The sizes and the filters' depth of a 2-D convolution over `g`, when its arrays are all in this memory and
   * large enough: `image` is the input or its gradient, `output` the output or its gradient, `filters` the
   * kernel or its gradient, `bias` the bias or its gradient. Null otherwise (the caller falls back).
   */
  private convolutionShape(
    g: Conv2DGeometry,
    image: Float32Array,
    output: Float32Array,
    filters: Float32Array,
    bias: Float32Array | null,
  ): { sizes: GeometrySizes; depth: number } | null {
    const sizes = sizesOf(g);
    if (
      sizes === null ||
      !this.owns(image, output, filters, bias) ||
      g.inChannels % g.groups ||
      g.outChannels % g.groups
    ) {
      return null;
    }
    const depth = g.kernelHeight * g.kernelWidth * (g.inChannels / g.groups);
    if (
      image.length < sizes.input ||
      output.length < sizes.output ||
      filters.length < depth * g.outChannels ||
      (bias !== null && bias.length < g.outChannels)
    ) {
      return null;
    }
    return { sizes, depth };
  }

  /**
   * Whether a gradient is sparse enough for the zero-skipping kernels: under `'auto'`, when at least
   * {@link SPARSE_ZEROS} of its first 8,192 values are zero (a cheap look, the same on one thread or two);
   * always under `'sparse'`, never under the dense paths.
   */
  private worthSkipping(values: Float32Array, length: number): boolean {
    if (this.path === 'sparse') return true;
    if (this.path !== 'auto' && this.path !== 'winograd') return false;
    const sample = Math.min(length, 8192);
    let zeros = 0;
    for (let i = 0; i < sample; i++) if (values[i] === 0) zeros++;
    return sample > 0 && zeros >= SPARSE_ZEROS * sample;
  }

  /**
   * The non-zero channels of each of `pixels` rows of `channels` values (`nonzero_channels`): the lists' byte
   * offset and stride in words (channels + 4: the list builder may write 3 words past a list).
   */
  private nonzeroLists(values: Float32Array, pixels: number, channels: number): [number, number] {
    const shared = this.shared;
    if (shared !== null && shared.values === values) {
      if (shared.lists !== null && shared.pixels === pixels && shared.channels === channels)
        return shared.lists;
    }
    const lists = this.buildLists(values, pixels, channels);
    if (shared !== null && shared.values === values) {
      shared.lists = lists;
      shared.pixels = pixels;
      shared.channels = channels;
    }
    return lists;
  }

  /**
   * Runs `body` (both backward passes of one convolution) with the lists of `dy`'s non-zero values built at
   * most once: nothing writes dy in between.
   */
  sharingLists(dy: Float32Array, body: () => void): void {
    this.shared = { values: dy, lists: null, pixels: 0, channels: 0 };
    try {
      body();
    } finally {
      this.shared = null;
    }
  }

  private shared: {
    values: Float32Array;
    lists: [number, number] | null;
    pixels: number;
    channels: number;
  } | null = null;

  private buildLists(values: Float32Array, pixels: number, channels: number): [number, number] {
    const stride = channels + 4;
    this.nonzeroBlock = this.grow(this.nonzeroBlock, pixels * stride);
    const lists = this.nonzeroBlock.byteOffset;
    const args = [values.byteOffset, channels, lists, stride] as const;
    const work = LIST_WORK * pixels * channels;
    this.rangeOf(RANGE.nonzeroChannels, pixels, 1, work, this.wasm.nonzero_channels, ...args);
    return [lists, stride];
  }

  /** A 1×1 convolution with stride 1 and no padding: the input is its own patch matrix. */
  private static pointwise(g: Conv2DGeometry): boolean {
    return (
      g.kernelHeight === 1 &&
      g.kernelWidth === 1 &&
      g.strideHeight === 1 &&
      g.strideWidth === 1 &&
      g.padTop === 0 &&
      g.padLeft === 0 &&
      g.outHeight === g.inHeight &&
      g.outWidth === g.inWidth
    );
  }

  /**
   * The algorithm for one pass, measured with bench/conv.ts (best of 25 alternating calls, one thread, relaxed
   * SIMD) on the small CNN's and MobileNetV2's shapes, µs im2col+GEMM → direct:
   * - forward: conv1 (28×28×1 → 32) 809 → 826, conv2 (13×13×32 → 64) 2802 → 2585, MobileNetV2 stem
   *   (96×96×3 → 16, stride 2) 4578 → 2311, its 1×1 expansion (24×24×8 → 48) 294 → 394;
   * - dW: conv1 897 → 607, conv2 8247 → 3003, stem 10032 → 1611, 1×1 502 → 395;
   * - dX: conv1 873 → 2147, conv2 3476 → 3200, stem 15056 → 20025, 1×1 238 → 283.
   * So: the direct kernels, except a 1×1 stride-1 convolution's forward and input gradient (a plain GEMM on
   * the input, no patch matrix) and the input gradient of a layer with fewer than 8 input channels (the
   * direct dX is vectorised over them; a first layer's 1 or 3 wastes most lanes). Grouped convolutions have
   * only the direct form (the GEMM kernels take whole rows).
   */
  private choose(g: Conv2DGeometry, pass: ConvolutionPass): 'direct' | 'im2col' {
    if (g.groups > 1) return 'direct';
    if (this.path === 'direct' || this.path === 'im2col') return this.path;
    if (pass === 'weights') return 'direct';
    if (WasmConvolutions.pointwise(g)) return 'im2col';
    return pass === 'input' && g.inChannels < 8 ? 'im2col' : 'direct';
  }

  conv2dForward(
    x: Float32Array,
    kernel: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    g: Conv2DGeometry,
    relu = false,
  ): boolean {
    const shape = this.convolutionShape(g, x, y, kernel, bias);
    if (shape === null) return false;
    const { sizes, depth } = shape;
    if (g.batch === 0) return true;
    // The direct and Winograd kernels apply the ReLU as they store (the geometry's flag); the others after.
    const geom = this.geometry(g, 0, relu);
    const b = bias === null ? 0 : bias.byteOffset;
    if (this.path === 'sparse' && g.groups === 1) {
      // Inputs are rarely sparse enough to pay for the lists: only when forced.
      const [lists, stride] = this.nonzeroLists(x, g.batch * g.inHeight * g.inWidth, g.inChannels);
      const work = sizes.pixels * depth * g.outChannels;
      this.listsForward(geom, x.byteOffset, kernel.byteOffset, b, y.byteOffset, lists, stride, g, work);
      if (relu) this.reluInPlace(y, sizes.output);
      return true;
    }
    if (
      winogradFits(g) &&
      (this.path === 'winograd' || (this.path === 'auto' && g.inChannels >= WINOGRAD_CHANNELS))
    ) {
      this.winogradForward(x, kernel, b, y, g, geom, sizes.pixels * depth * g.outChannels);
      return true;
    }
    if (this.choose(g, 'forward') === 'direct') {
      const zeros = this.zeroRow(g.inChannels / g.groups + 4);
      const rows = g.batch * g.outHeight;
      const args = [geom, x.byteOffset, kernel.byteOffset, b, y.byteOffset, zeros] as const;
      this.rangeOf(
        RANGE.convForward,
        rows,
        1,
        sizes.pixels * depth * g.outChannels,
        this.wasm.conv2d_forward,
        ...args,
      );
      return true;
    }
    const patches = this.patchesOf(x, g, geom, sizes.pixels * depth);
    const scratchBytes = this.wasm.gemm_scratch_bytes(sizes.pixels, depth);
    const n = g.outChannels;
    const args = [patches, kernel.byteOffset, b, y.byteOffset, sizes.pixels, depth, n];
    // Whole 8-column tiles per chunk (gemm_forward's j0), as the dense forward product splits; a split call
    // runs each chunk in the scratch region of the thread that runs it.
    this.range(
      RANGE.gemmForward,
      n,
      GEMM_UNITS.columns,
      sizes.pixels * depth * n,
      args,
      () =>
        this.wasm.gemm_forward(
          patches,
          kernel.byteOffset,
          b,
          y.byteOffset,
          sizes.pixels,
          depth,
          n,
          0,
          n,
          this.scratch(scratchBytes),
        ),
      scratchBytes,
    );
    if (relu) this.reluInPlace(y, sizes.output);
    return true;
  }

  /** y = y > 0 ? y : 0 over the first `length` floats of y, split in whole cache lines. */
  private reluInPlace(y: Float32Array, length: number): void {
    const relu = ACTIVATION_CODES.relu;
    this.range(
      RANGE.activationForward,
      length,
      16,
      2 * length,
      [relu, y.byteOffset, y.byteOffset, length],
      () => this.wasm.activation_block(relu, y.byteOffset, y.byteOffset, 1, length, 0, length),
    );
  }

  /**
   * The forward by Winograd F(2×2, 3×3) (`conv2d_winograd`): the kernel's transform on this thread, then the
   * tile rows (pairs of output rows) split between the threads, each with its own scratch.
   */
  private winogradForward(
    x: Float32Array,
    kernel: Float32Array,
    b: number,
    y: Float32Array,
    g: Conv2DGeometry,
    geom: number,
    work: number,
  ): void {
    const wasm = this.wasm;
    const u = (this.winogradKernel = this.grow(
      this.winogradKernel,
      wasm.winograd_filter_bytes(g.inChannels, g.outChannels) / 4,
    ));
    wasm.winograd_filters(geom, kernel.byteOffset, u.byteOffset);
    const tileRows = g.batch * Math.ceil(g.outHeight / 2);
    const scratchBytes = wasm.winograd_scratch_bytes(g.inChannels);
    const zeros = this.zeroRow(g.inChannels + 4);
    const args = [geom, x.byteOffset, u.byteOffset, b, y.byteOffset, zeros];
    this.range(
      RANGE.convWinograd,
      tileRows,
      1,
      work,
      args,
      () =>
        wasm.conv2d_winograd(
          geom,
          x.byteOffset,
          u.byteOffset,
          b,
          y.byteOffset,
          zeros,
          this.scratch(scratchBytes),
          0,
          tileRows,
        ),
      scratchBytes,
    );
  }

  /** `conv2d_forward_lists` over the output rows, split between the threads. */
  private listsForward(
    geom: number,
    x: number,
    w: number,
    b: number,
    y: number,
    lists: number,
    stride: number,
    g: Conv2DGeometry,
    work: number,
  ): void {
    const rows = g.batch * g.outHeight;
    const args = [geom, x, w, b, y, lists, stride] as const;
    this.rangeOf(RANGE.convForwardLists, rows, 1, work, this.wasm.conv2d_forward_lists, ...args);
  }

  /** The patch matrix of x (x itself for a pointwise convolution); its byte offset. */
  private patchesOf(x: Float32Array, g: Conv2DGeometry, geom: number, length: number): number {
    if (WasmConvolutions.pointwise(g)) return x.byteOffset;
    const patches = this.patchMatrix(length);
    const rows = g.batch * g.outHeight;
    this.rangeOf(RANGE.im2col, rows, 1, length, this.wasm.im2col, geom, x.byteOffset, patches.byteOffset);
    return patches.byteOffset;
  }

  conv2dBackwardWeights(
    x: Float32Array,
    dy: Float32Array,
    dKernel: Float32Array,
    dBias: Float32Array | null,
    g: Conv2DGeometry,
  ): boolean {
    const shape = this.convolutionShape(g, x, dy, dKernel, dBias);
    if (shape === null) return false;
    const { sizes, depth } = shape;
    if (g.batch === 0) {
      dKernel.fill(0, 0, depth * g.outChannels);
      dBias?.fill(0, 0, g.outChannels);
      return true;
    }
    const geom = this.geometry(g);
    const f = g.outChannels;
    // Per filter: a count, a cursor, an entry of 4 words per output pixel, and its sums (as weights_lists_bytes).
    const columnWords = ((2 * f + 3) & ~3) + 4 * f * sizes.pixels + f * depth;
    if (
      g.groups === 1 &&
      g.inChannels % 4 === 0 &&
      columnWords * 4 <= MAX_SCRATCH_BYTES &&
      this.worthSkipping(dy, sizes.output)
    ) {
      const [lists, stride] = this.nonzeroLists(dy, sizes.pixels, f);
      this.columnBlock = this.grow(this.columnBlock, columnWords);
      const columns = this.columnBlock.byteOffset;
      const args = [geom, x.byteOffset, dy.byteOffset, dKernel.byteOffset, lists, stride, columns] as const;
      // Whole vectors of filters per chunk.
      this.rangeOf(
        RANGE.convWeightsLists,
        f,
        4,
        sizes.pixels * depth * f,
        this.wasm.conv2d_weights_lists,
        ...args,
      );
    } else if (this.choose(g, 'weights') === 'direct') {
      const args = [geom, x.byteOffset, dy.byteOffset, dKernel.byteOffset] as const;
      if (g.groups === 1 && depth <= 12 && g.outChannels >= 8) {
        // Few kernel rows (a first layer on grayscale images has 9: tiles of 3 split 6 : 3): whole vectors of
        // filters per chunk instead.
        this.rangeOf(
          RANGE.convWeightsColumns,
          g.outChannels,
          4,
          sizes.pixels * depth * g.outChannels,
          this.wasm.conv2d_weights_columns,
          ...args,
        );
        if (dBias !== null) this.biasSums(dy, dBias, sizes.pixels, g.outChannels);
        return true;
      }
      // Whole tiles of 3 kernel rows per chunk.
      this.rangeOf(
        RANGE.convWeights,
        depth,
        3,
        sizes.pixels * depth * g.outChannels,
        this.wasm.conv2d_weights,
        ...args,
      );
    } else {
      const patches = this.patchesOf(x, g, geom, sizes.pixels * depth);
      const n = g.outChannels;
      const chunks =
        depth > 8 ? this.chunks(sizes.pixels * depth * n, Math.ceil(depth / GEMM_UNITS.rows)) : 1;
      // A chunk's rows of dW (at most all `depth`) over the depth of the pixels.
      const bytes = this.wasm.gemm_scratch_bytes(depth, sizes.pixels);
      if (chunks > 1) {
        // The dense dW product's op (rows of dW by chunk, no bias, no update), one scratch region per thread.
        const args = [patches, dy.byteOffset, 0, dKernel.byteOffset, 0, 0, depth, n, 0, 0, 0, 0, 0, 0, 0];
        const rest = [LINEAR, 0, 0, 1, 0, 0, depth, 0];
        this.sharing!.run(OP.denseBackward, chunks, sizes.pixels, [...args, ...rest], bytes);
      } else {
        const scratch = this.scratch(bytes);
        this.wasm.gemm_weights(
          patches,
          dy.byteOffset,
          dKernel.byteOffset,
          sizes.pixels,
          depth,
          n,
          0,
          depth,
          scratch,
        );
      }
    }
    if (dBias !== null) this.biasSums(dy, dBias, sizes.pixels, g.outChannels);
    return true;
  }

  /** The bias gradient: per-channel sums of dy over its `pixels` rows, split by channels. */
  private biasSums(dy: Float32Array, dBias: Float32Array, pixels: number, channels: number): void {
    const args = [dy.byteOffset, dBias.byteOffset, pixels, channels] as const;
    const work = SUM_WORK * pixels * channels;
    this.rangeOf(RANGE.channelSums, channels, 4, work, this.wasm.channel_sums, ...args);
  }

  conv2dBackwardInput(dy: Float32Array, kernel: Float32Array, dx: Float32Array, g: Conv2DGeometry): boolean {
    const shape = this.convolutionShape(g, dx, dy, kernel, null);
    if (shape === null) return false;
    const { sizes, depth } = shape;
    if (g.batch === 0) return true;
    const geom = this.geometry(g);
    if (this.choose(g, 'input') === 'direct') {
      if (g.strideHeight === 1 && g.strideWidth === 1) {
        this.flippedInput(dy, kernel, dx, g, geom);
      } else {
        const rows = g.batch * g.inHeight;
        const args = [geom, dy.byteOffset, kernel.byteOffset, dx.byteOffset] as const;
        this.rangeOf(
          RANGE.convInput,
          rows,
          1,
          sizes.pixels * depth * g.outChannels,
          this.wasm.conv2d_input,
          ...args,
        );
      }
      return true;
    }
    const pointwise = WasmConvolutions.pointwise(g);
    const target = pointwise ? dx.byteOffset : this.patchMatrix(sizes.pixels * depth).byteOffset;
    this.gemmInput(dy.byteOffset, kernel.byteOffset, target, sizes.pixels, depth, g.outChannels);
    if (!pointwise) {
      const rows = g.batch * g.inHeight;
      const args = [geom, target, dx.byteOffset] as const;
      this.rangeOf(RANGE.col2im, rows, 1, sizes.pixels * depth, this.wasm.col2im, ...args);
    }
    return true;
  }

  /** dx = dz·wᵀ (m×n by n×k), split by columns of dx (as the dense input gradient, `OP.denseBackward`). */
  private gemmInput(dz: number, w: number, dx: number, m: number, k: number, n: number): void {
    const chunks = k > 8 ? this.chunks(m * k * n, Math.ceil(k / GEMM_UNITS.columns)) : 1;
    const bytes = this.wasm.gemm_scratch_bytes(m, n);
    if (chunks > 1) {
      const args = [0, dz, w, 0, 0, 0, k, n, 1, dx, 0, 0, 0, 0, 0, LINEAR];
      this.sharing!.run(OP.denseBackward, chunks, m, [...args, 0, 0, 0, 0, 0, k, 0], bytes);
    } else this.wasm.gemm_input(dz, w, dx, m, k, n, 0, k, this.scratch(bytes));
  }

  /**
   * The input gradient of a stride-1 convolution as a forward convolution of dy with the flipped kernel:
   * `dx[iy] = Σ_ky dy[iy + pt − ky·d]·w[ky]`, which is a convolution with tap k′ = kh − 1 − ky and top padding
   * (kh − 1)·d − pt (likewise for the width), input and output channels swapped.
   */
  private flippedInput(
    dy: Float32Array,
    kernel: Float32Array,
    dx: Float32Array,
    g: Conv2DGeometry,
    geom: number,
  ): void {
    const flipped = (this.flippedKernel = this.grow(this.flippedKernel, kernel.length));
    this.wasm.conv2d_flip(geom, kernel.byteOffset, flipped.byteOffset);
    const transposed: Conv2DGeometry = {
      ...g,
      inHeight: g.outHeight,
      inWidth: g.outWidth,
      inChannels: g.outChannels,
      outHeight: g.inHeight,
      outWidth: g.inWidth,
      outChannels: g.inChannels,
      padTop: (g.kernelHeight - 1) * g.dilationHeight - g.padTop,
      padLeft: (g.kernelWidth - 1) * g.dilationWidth - g.padLeft,
    };
    const flippedGeom = this.geometry(transposed, 1);
    const work =
      g.batch * g.outHeight * g.outWidth * g.kernelHeight * g.kernelWidth * g.inChannels * g.outChannels;
    const pixels = g.batch * g.outHeight * g.outWidth;
    if (g.groups === 1 && this.worthSkipping(dy, pixels * g.outChannels)) {
      if (g.dilationHeight === 1 && g.dilationWidth === 1) {
        this.entriesForward(flippedGeom, dy, flipped.byteOffset, dx.byteOffset, transposed, work);
        return;
      }
      const [lists, stride] = this.nonzeroLists(dy, pixels, g.outChannels);
      this.listsForward(
        flippedGeom,
        dy.byteOffset,
        flipped.byteOffset,
        0,
        dx.byteOffset,
        lists,
        stride,
        transposed,
        work,
      );
      return;
    }
    const zeros = this.zeroRow(g.outChannels / g.groups + 4);
    const rows = g.batch * g.inHeight;
    const args = [flippedGeom, dy.byteOffset, flipped.byteOffset, 0, dx.byteOffset, zeros] as const;
    this.rangeOf(RANGE.convForward, rows, 1, work / g.groups, this.wasm.conv2d_forward, ...args);
  }

  /**
   * The listed forward of a stride-1, dilation-1 geometry `t` (groups 1) by rows of entries: x's non-zero values
   * packed row by row (`nonzero_entries`), then `conv2d_forward_entries`, both split by rows.
   */
  private entriesForward(
    geom: number,
    x: Float32Array,
    w: number,
    y: number,
    t: Conv2DGeometry,
    work: number,
  ): void {
    const rows = t.batch * t.inHeight;
    // Per row: 8 bytes per value and 4 entries of slack (see entryRowBytes in assembly/conv.ts).
    this.entryBlock = this.grow(this.entryBlock, rows * (t.inWidth * t.inChannels + 4) * 2);
    this.startBlock = this.grow(this.startBlock, rows * (t.inWidth + 1));
    const entries = this.entryBlock.byteOffset;
    const starts = this.startBlock.byteOffset;
    const build = [x.byteOffset, t.inChannels, t.inWidth, 4 * t.outChannels, entries, starts] as const;
    const values = rows * t.inWidth * t.inChannels;
    this.rangeOf(RANGE.nonzeroEntries, rows, 1, LIST_WORK * values, this.wasm.nonzero_entries, ...build);
    const args = [geom, w, 0, y, entries, starts] as const;
    const outRows = t.batch * t.outHeight;
    this.rangeOf(RANGE.convForwardEntries, outRows, 1, work, this.wasm.conv2d_forward_entries, ...args);
  }

  /** Checks a depthwise geometry (output channels a multiple of the input channels) and the views' lengths. */
  private depthwiseFits(
    g: Conv2DGeometry,
    input: Float32Array,
    output: Float32Array,
    kernel: Float32Array,
    bias: Float32Array | null,
  ): boolean {
    const sizes = sizesOf(g);
    return (
      sizes !== null &&
      g.groups === 1 &&
      g.outChannels % g.inChannels === 0 &&
      this.owns(input, output, kernel, bias) &&
      input.length >= sizes.input &&
      output.length >= sizes.output &&
      kernel.length >= g.kernelHeight * g.kernelWidth * g.outChannels &&
      (bias === null || bias.length >= g.outChannels)
    );
  }

  depthwiseConv2dForward(
    x: Float32Array,
    kernel: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    g: Conv2DGeometry,
  ): boolean {
    if (!this.depthwiseFits(g, x, y, kernel, bias)) return false;
    if (g.batch === 0) return true;
    const b = bias === null ? 0 : bias.byteOffset;
    const geom = this.geometry(g);
    const rows = g.batch * g.outHeight;
    const work = rows * g.outWidth * g.outChannels * g.kernelHeight * g.kernelWidth;
    const args = [geom, x.byteOffset, kernel.byteOffset, b, y.byteOffset] as const;
    this.rangeOf(RANGE.depthwiseForward, rows, 1, work, this.wasm.depthwise_forward, ...args);
    return true;
  }

  depthwiseConv2dBackwardInput(
    dy: Float32Array,
    kernel: Float32Array,
    dx: Float32Array,
    g: Conv2DGeometry,
  ): boolean {
    if (!this.depthwiseFits(g, dx, dy, kernel, null)) return false;
    if (g.batch === 0) return true;
    const geom = this.geometry(g);
    const rows = g.batch * g.inHeight;
    const work = g.batch * g.outHeight * g.outWidth * g.outChannels * g.kernelHeight * g.kernelWidth;
    if (g.outChannels === g.inChannels && g.strideHeight === 1 && g.strideWidth === 1) {
      // Stride 1: a depthwise forward of dy with the flipped kernel (see flippedInput).
      const flipped = (this.flippedKernel = this.grow(this.flippedKernel, kernel.length));
      this.wasm.depthwise_flip(geom, kernel.byteOffset, flipped.byteOffset);
      const transposed: Conv2DGeometry = {
        ...g,
        inHeight: g.outHeight,
        inWidth: g.outWidth,
        outHeight: g.inHeight,
        outWidth: g.inWidth,
        padTop: (g.kernelHeight - 1) * g.dilationHeight - g.padTop,
        padLeft: (g.kernelWidth - 1) * g.dilationWidth - g.padLeft,
      };
      const flippedGeom = this.geometry(transposed, 1);
      const args = [flippedGeom, dy.byteOffset, flipped.byteOffset, 0, dx.byteOffset] as const;
      this.rangeOf(RANGE.depthwiseForward, rows, 1, work, this.wasm.depthwise_forward, ...args);
      return true;
    }
    const args = [geom, dy.byteOffset, kernel.byteOffset, dx.byteOffset] as const;
    this.rangeOf(RANGE.depthwiseInput, rows, 1, work, this.wasm.depthwise_input, ...args);
    return true;
  }

  depthwiseConv2dBackwardWeights(
    x: Float32Array,
    dy: Float32Array,
    dKernel: Float32Array,
    dBias: Float32Array | null,
    g: Conv2DGeometry,
  ): boolean {
    if (!this.depthwiseFits(g, x, dy, dKernel, dBias)) return false;
    const geom = this.geometry(g);
    const pixels = g.batch * g.outHeight * g.outWidth;
    const channels = g.outChannels;
    const work = pixels * channels * g.kernelHeight * g.kernelWidth;
    const args = [geom, x.byteOffset, dy.byteOffset, dKernel.byteOffset] as const;
    this.rangeOf(RANGE.depthwiseWeights, channels, 4, work, this.wasm.depthwise_weights, ...args);
    if (dBias !== null) this.biasSums(dy, dBias, pixels, channels);
    return true;
  }

  /** Checks a pooling geometry (as many output channels as input channels) and the views. */
  private poolingFits(g: Conv2DGeometry, input: Float32Array, ...outputs: Float32Array[]): boolean {
    const sizes = sizesOf(g);
    return (
      sizes !== null &&
      g.groups === 1 &&
      g.outChannels === g.inChannels &&
      g.dilationHeight === 1 &&
      g.dilationWidth === 1 &&
      this.owns(input, ...outputs) &&
      input.length >= sizes.input &&
      outputs.every((output) => output.length >= sizes.output)
    );
  }

  /** Element visits of a pooling pass: every output element reads its window. */
  private static poolingWork(g: Conv2DGeometry): number {
    return g.batch * g.outHeight * g.outWidth * g.outChannels * g.kernelHeight * g.kernelWidth;
  }

  maxPool2dForward(x: Float32Array, y: Float32Array, g: Conv2DGeometry): boolean {
    if (!this.poolingFits(g, x, y)) return false;
    if (g.batch === 0) return true;
    const geom = this.geometry(g);
    const rows = g.batch * g.outHeight;
    const args = [geom, x.byteOffset, y.byteOffset] as const;
    this.rangeOf(
      RANGE.maxPoolForward,
      rows,
      1,
      WasmConvolutions.poolingWork(g),
      this.wasm.max_pool_forward,
      ...args,
    );
    return true;
  }

  maxPool2dBackward(
    x: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    g: Conv2DGeometry,
    positiveOnly = false,
  ): boolean {
    if (!this.poolingFits(g, x, y, dy) || !this.poolingFits(g, dx, y)) return false;
    if (g.batch === 0) return true;
    const geom = this.geometry(g, 0, positiveOnly);
    const args = [geom, x.byteOffset, y.byteOffset, dy.byteOffset, dx.byteOffset] as const;
    this.rangeOf(
      RANGE.maxPoolBackward,
      g.batch,
      1,
      WasmConvolutions.poolingWork(g),
      this.wasm.max_pool_backward,
      ...args,
    );
    return true;
  }

  averagePool2dForward(x: Float32Array, y: Float32Array, g: Conv2DGeometry): boolean {
    if (!this.poolingFits(g, x, y)) return false;
    if (g.batch === 0) return true;
    const geom = this.geometry(g);
    const rows = g.batch * g.outHeight;
    const args = [geom, x.byteOffset, y.byteOffset] as const;
    this.rangeOf(
      RANGE.avgPoolForward,
      rows,
      1,
      WasmConvolutions.poolingWork(g),
      this.wasm.avg_pool_forward,
      ...args,
    );
    return true;
  }

  averagePool2dBackward(dy: Float32Array, dx: Float32Array, g: Conv2DGeometry): boolean {
    if (!this.poolingFits(g, dx, dy)) return false;
    if (g.batch === 0) return true;
    const geom = this.geometry(g);
    const args = [geom, dy.byteOffset, dx.byteOffset] as const;
    this.rangeOf(
      RANGE.avgPoolBackward,
      g.batch,
      1,
      WasmConvolutions.poolingWork(g),
      this.wasm.avg_pool_backward,
      ...args,
    );
    return true;
  }

  reluForward(x: Float32Array, y: Float32Array, n: number, options: ReluOptions): boolean {
    if (!this.owns(x, y) || x.length < n || y.length < n || !(n >= 0)) return false;
    const { maxValue, negativeSlope, threshold } = options;
    const bits = [maxValue, negativeSlope, threshold].map(floatBits);
    // Chunks of whole cache lines: vectors stay where they are on one thread.
    this.range(RANGE.reluForward, n, 16, 2 * n, [x.byteOffset, y.byteOffset, ...bits], () =>
      this.wasm.relu_forward(x.byteOffset, y.byteOffset, 0, n, maxValue, negativeSlope, threshold),
    );
    return true;
  }

  reluBackward(
    x: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    n: number,
    options: ReluOptions,
  ): boolean {
    if (!this.owns(x, dy, dx) || x.length < n || dy.length < n || dx.length < n || !(n >= 0)) return false;
    const { maxValue, negativeSlope, threshold } = options;
    const bits = [maxValue, negativeSlope, threshold].map(floatBits);
    this.range(RANGE.reluBackward, n, 16, 2 * n, [x.byteOffset, dy.byteOffset, dx.byteOffset, ...bits], () =>
      this.wasm.relu_backward(
        x.byteOffset,
        dy.byteOffset,
        dx.byteOffset,
        0,
        n,
        maxValue,
        negativeSlope,
        threshold,
      ),
    );
    return true;
  }

  // ---- per-channel kernels: BatchNormalization (any rank, channels last) and Rescaling.

  /** Five rows of `c` floats of per-channel scratch. */
  private channelRows(c: number): Float32Array[] {
    this.channelScratch = this.grow(this.channelScratch, 5 * c);
    return [0, 1, 2, 3, 4].map((row) => this.channelScratch!.subarray(row * c, (row + 1) * c));
  }

  columnMoments(x: Float32Array, m: number, c: number, mean: Float32Array, variance: Float32Array): boolean {
    if (
      !this.owns(x, mean, variance) ||
      !(m > 0 && c > 0) ||
      x.length < m * c ||
      mean.length < c ||
      variance.length < c
    ) {
      return false;
    }
    const args = [x.byteOffset, m, c, mean.byteOffset, variance.byteOffset] as const;
    this.rangeOf(RANGE.channelMoments, c, 4, 2 * m * c, this.wasm.channel_moments, ...args);
    return true;
  }

  batchNormForward(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    epsilon: number,
    m: number,
    c: number,
    xHat: Float32Array | null,
    y: Float32Array,
  ): boolean {
    if (
      !this.owns(x, mean, variance, gamma, beta, xHat, y) ||
      !(m > 0 && c > 0) ||
      [x, y, xHat].some((a) => a !== null && a.length < m * c) ||
      [mean, variance, gamma, beta].some((a) => a !== null && a.length < c)
    ) {
      return false;
    }
    const [inverse] = this.channelRows(c);
    for (let j = 0; j < c; j++) inverse[j] = 1 / Math.sqrt(variance[j] + epsilon);
    const args = [
      x.byteOffset,
      mean.byteOffset,
      inverse.byteOffset,
      gamma === null ? 0 : gamma.byteOffset,
      beta === null ? 0 : beta.byteOffset,
      xHat === null ? 0 : xHat.byteOffset,
      y.byteOffset,
      c,
    ] as const;
    this.rangeOf(RANGE.bnNormalize, m, 1, 2 * m * c, this.wasm.bn_normalize, ...args);
    return true;
  }

  batchNormBackward(
    dy: Float32Array,
    xHat: Float32Array,
    variance: Float32Array,
    gamma: Float32Array | null,
    epsilon: number,
    m: number,
    c: number,
    batchStatistics: boolean,
    dx: Float32Array | null,
    dGamma: Float32Array | null,
    dBeta: Float32Array | null,
  ): boolean {
    if (
      !this.owns(dy, xHat, variance, gamma, dx, dGamma, dBeta) ||
      !(m > 0 && c > 0) ||
      [dy, xHat, dx].some((a) => a !== null && a.length < m * c) ||
      [variance, gamma, dGamma, dBeta].some((a) => a !== null && a.length < c)
    ) {
      return false;
    }
    const [sumDy, sumDyXHat, scale, offset, slope] = this.channelRows(c);
    const sums = [dy.byteOffset, xHat.byteOffset, m, c, sumDy.byteOffset, sumDyXHat.byteOffset] as const;
    this.rangeOf(RANGE.bnSums, c, 4, 2 * m * c, this.wasm.bn_sums, ...sums);
    dBeta?.set(sumDy);
    dGamma?.set(sumDyXHat);
    if (dx === null) return true;
    // dx = k·dy − k·Σdy/m − x̂·k·Σ(dy·x̂)/m with k = γ/√(σ² + ε); with moving statistics dx = k·dy.
    for (let j = 0; j < c; j++) {
      const k = (gamma === null ? 1 : gamma[j]) / Math.sqrt(variance[j] + epsilon);
      scale[j] = k;
      offset[j] = (-k * sumDy[j]) / m;
      slope[j] = (k * sumDyXHat[j]) / m;
    }
    this.affine(
      dy.byteOffset,
      scale.byteOffset,
      batchStatistics ? offset.byteOffset : 0,
      batchStatistics ? xHat.byteOffset : 0,
      batchStatistics ? slope.byteOffset : 0,
      dx.byteOffset,
      m,
      c,
    );
    return true;
  }

  channelAffine(
    x: Float32Array,
    y: Float32Array,
    m: number,
    c: number,
    scale: Float32Array,
    offset: Float32Array | null,
  ): boolean {
    if (
      !this.owns(x, y, scale, offset) ||
      !(m >= 0 && c > 0) ||
      x.length < m * c ||
      y.length < m * c ||
      scale.length < c ||
      (offset !== null && offset.length < c)
    ) {
      return false;
    }
    const offsetPointer = offset === null ? 0 : offset.byteOffset;
    this.affine(x.byteOffset, scale.byteOffset, offsetPointer, 0, 0, y.byteOffset, m, c);
    return true;
  }

  /** `channel_affine` over the m rows, split by rows (by whole cache lines of elements when c = 1). */
  private affine(
    x: number,
    scale: number,
    offset: number,
    xHat: number,
    slope: number,
    y: number,
    m: number,
    c: number,
  ): void {
    const args = [x, scale, offset, xHat, slope, y, c] as const;
    this.rangeOf(RANGE.channelAffine, m, c === 1 ? 16 : 1, 2 * m * c, this.wasm.channel_affine, ...args);
  }

  /** out = a + b over n elements (out may alias a or b), split in whole cache lines. */
  addElementwise(a: Float32Array, b: Float32Array, out: Float32Array, n: number): boolean {
    if (!this.owns(a, b, out) || !(n >= 0) || a.length < n || b.length < n || out.length < n) return false;
    this.rangeOf(RANGE.add, n, 16, n, this.wasm.add_arrays, a.byteOffset, b.byteOffset, out.byteOffset);
    return true;
  }

  /** ZeroPadding2D's forward (and Cropping2D's gradient), by output rows. */
  zeroPad2d(
    x: Float32Array,
    y: Float32Array,
    batch: number,
    height: number,
    width: number,
    channels: number,
    top: number,
    bottom: number,
    left: number,
    right: number,
  ): boolean {
    const heightOut = height + top + bottom;
    const widthOut = width + left + right;
    const counts = [batch, height, width, channels, top, bottom, left, right];
    if (
      !this.owns(x, y) ||
      !counts.every((v) => Number.isInteger(v) && v >= 0) ||
      x.length < batch * height * width * channels ||
      y.length < batch * heightOut * widthOut * channels
    ) {
      return false;
    }
    const rows = batch * heightOut;
    const args = [
      x.byteOffset,
      y.byteOffset,
      height,
      width,
      channels,
      heightOut,
      widthOut,
      top,
      left,
    ] as const;
    this.rangeOf(RANGE.zeroPad, rows, 1, rows * widthOut * channels, this.wasm.zero_pad, ...args);
    return true;
  }

  /** Returns the buffers to the heap. */
  dispose(): void {
    for (const block of [
      this.geometryBlock,
      this.zeros,
      this.patches,
      this.listScratch,
      this.flippedKernel,
      this.winogradKernel,
      this.nonzeroBlock,
      this.columnBlock,
      this.entryBlock,
      this.startBlock,
      this.channelScratch,
    ]) {
      if (block !== null) this.heap.free(block);
    }
    this.geometryBlock = this.zeros = this.patches = this.listScratch = this.flippedKernel = null;
    this.winogradKernel = null;
    this.nonzeroBlock = this.columnBlock = this.channelScratch = null;
    this.entryBlock = this.startBlock = null;
    this.geometryWords = null;
  }
}
