/**
 * The wasm side of the convolutional-network kernels (assembly/conv.ts): argument checks, the geometry block,
 * the scratch buffers, and the choice between the direct convolution and im2col + GEMM. `WasmKernels`
 * delegates to it; each method returns false when its arguments are not all in this backend's memory (or do
 * not fit the geometry), and the caller then falls back to the reference loops.
 * @module
 */

import type { Conv2DGeometry, ReluOptions } from '../kernels.js';
import {
  forwardScratchBytes,
  GEOMETRY_WORDS,
  type KernelExports,
  MAX_SCRATCH_BYTES,
  weightsScratchBytes,
} from './abi.js';
import type { WasmHeap } from './heap.js';

/** How a 2-D convolution is computed: chosen per case (`'auto'`), or forced (benchmarks, tests). */
export type ConvolutionPath = 'auto' | 'direct' | 'im2col';

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
 * convolution's taps on the padding read), the patch matrix of im2col, and the GEMM's zero-skipping scratch;
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
  /** Per-channel scratch of the batch-normalization kernels (5 rows of channels). */
  private channelScratch: Float32Array | null = null;
  private patches: Float32Array | null = null;
  private listScratch: Float32Array | null = null;

  constructor(
    private readonly heap: WasmHeap,
    private readonly wasm: KernelExports,
  ) {}

  /** Writes the geometry into block `slot` (0 or 1) that the kernels read; returns its byte offset. */
  private geometry(g: Conv2DGeometry, slot = 0): number {
    const length = GEOMETRY_WORDS.length;
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
    for (let i = 0; i < length; i++) words[slot * length + i] = g[GEOMETRY_WORDS[i]];
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

  /** GEMM zero-skipping scratch of `bytes`, or 0 (no skipping) when that would be unreasonably large. */
  private scratch(bytes: number): number {
    if (bytes > MAX_SCRATCH_BYTES) return 0;
    this.listScratch = this.grow(this.listScratch, Math.ceil(bytes / 4));
    return this.listScratch.byteOffset;
  }

  private owns(...views: (Float32Array | null)[]): boolean {
    return views.every((view) => view === null || this.heap.owns(view));
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
    if (this.path !== 'auto') return this.path;
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
  ): boolean {
    const sizes = sizesOf(g);
    if (
      sizes === null ||
      !this.owns(x, kernel, bias, y) ||
      g.inChannels % g.groups ||
      g.outChannels % g.groups
    ) {
      return false;
    }
    const depth = g.kernelHeight * g.kernelWidth * (g.inChannels / g.groups);
    if (
      x.length < sizes.input ||
      y.length < sizes.output ||
      kernel.length < depth * g.outChannels ||
      (bias !== null && bias.length < g.outChannels)
    ) {
      return false;
    }
    if (g.batch === 0) return true;
    const geom = this.geometry(g);
    const b = bias === null ? 0 : bias.byteOffset;
    if (this.choose(g, 'forward') === 'direct') {
      const zeros = this.zeroRow(g.inChannels / g.groups + 4);
      this.wasm.conv2d_forward(
        geom,
        x.byteOffset,
        kernel.byteOffset,
        b,
        y.byteOffset,
        zeros,
        0,
        g.batch * g.outHeight,
      );
      return true;
    }
    const patches = this.patchesOf(x, g, geom, sizes.pixels * depth);
    const scratch = this.scratch(forwardScratchBytes(depth));
    this.wasm.gemm_forward(
      patches,
      kernel.byteOffset,
      b,
      y.byteOffset,
      sizes.pixels,
      depth,
      g.outChannels,
      0,
      g.outChannels,
      scratch,
    );
    return true;
  }

  /** The patch matrix of x (x itself for a pointwise convolution); its byte offset. */
  private patchesOf(x: Float32Array, g: Conv2DGeometry, geom: number, length: number): number {
    if (WasmConvolutions.pointwise(g)) return x.byteOffset;
    const patches = this.patchMatrix(length);
    this.wasm.im2col(geom, x.byteOffset, patches.byteOffset, 0, g.batch * g.outHeight);
    return patches.byteOffset;
  }

  conv2dBackwardWeights(
    x: Float32Array,
    dy: Float32Array,
    dKernel: Float32Array,
    dBias: Float32Array | null,
    g: Conv2DGeometry,
  ): boolean {
    const sizes = sizesOf(g);
    if (
      sizes === null ||
      !this.owns(x, dy, dKernel, dBias) ||
      g.inChannels % g.groups ||
      g.outChannels % g.groups
    ) {
      return false;
    }
    const depth = g.kernelHeight * g.kernelWidth * (g.inChannels / g.groups);
    if (
      x.length < sizes.input ||
      dy.length < sizes.output ||
      dKernel.length < depth * g.outChannels ||
      (dBias !== null && dBias.length < g.outChannels)
    ) {
      return false;
    }
    if (g.batch === 0) {
      dKernel.fill(0, 0, depth * g.outChannels);
      dBias?.fill(0, 0, g.outChannels);
      return true;
    }
    const geom = this.geometry(g);
    if (this.choose(g, 'weights') === 'direct') {
      this.wasm.conv2d_weights(geom, x.byteOffset, dy.byteOffset, dKernel.byteOffset, 0, depth);
    } else {
      const patches = this.patchesOf(x, g, geom, sizes.pixels * depth);
      const scratch = this.scratch(weightsScratchBytes(sizes.pixels, depth));
      this.wasm.gemm_weights(
        patches,
        dy.byteOffset,
        dKernel.byteOffset,
        sizes.pixels,
        depth,
        g.outChannels,
        0,
        depth,
        scratch,
      );
    }
    if (dBias !== null) {
      this.wasm.channel_sums(dy.byteOffset, dBias.byteOffset, sizes.pixels, g.outChannels, 0, g.outChannels);
    }
    return true;
  }

  conv2dBackwardInput(dy: Float32Array, kernel: Float32Array, dx: Float32Array, g: Conv2DGeometry): boolean {
    const sizes = sizesOf(g);
    if (sizes === null || !this.owns(dy, kernel, dx) || g.inChannels % g.groups || g.outChannels % g.groups) {
      return false;
    }
    const depth = g.kernelHeight * g.kernelWidth * (g.inChannels / g.groups);
    if (dy.length < sizes.output || dx.length < sizes.input || kernel.length < depth * g.outChannels)
      return false;
    if (g.batch === 0) return true;
    const geom = this.geometry(g);
    if (this.choose(g, 'input') === 'direct') {
      if (g.strideHeight === 1 && g.strideWidth === 1) {
        this.flippedInput(dy, kernel, dx, g, geom);
      } else {
        this.wasm.conv2d_input(
          geom,
          dy.byteOffset,
          kernel.byteOffset,
          dx.byteOffset,
          0,
          g.batch * g.inHeight,
        );
      }
      return true;
    }
    if (WasmConvolutions.pointwise(g)) {
      this.wasm.gemm_input(
        dy.byteOffset,
        kernel.byteOffset,
        dx.byteOffset,
        sizes.pixels,
        depth,
        g.outChannels,
        0,
        depth,
      );
      return true;
    }
    const patches = this.patchMatrix(sizes.pixels * depth);
    this.wasm.gemm_input(
      dy.byteOffset,
      kernel.byteOffset,
      patches.byteOffset,
      sizes.pixels,
      depth,
      g.outChannels,
      0,
      depth,
    );
    this.wasm.col2im(geom, patches.byteOffset, dx.byteOffset, 0, g.batch * g.inHeight);
    return true;
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
    const zeros = this.zeroRow(g.outChannels / g.groups + 4);
    this.wasm.conv2d_forward(
      flippedGeom,
      dy.byteOffset,
      flipped.byteOffset,
      0,
      dx.byteOffset,
      zeros,
      0,
      g.batch * g.inHeight,
    );
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
    this.wasm.depthwise_forward(
      geom,
      x.byteOffset,
      kernel.byteOffset,
      b,
      y.byteOffset,
      0,
      g.batch * g.outHeight,
    );
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
      this.wasm.depthwise_forward(
        flippedGeom,
        dy.byteOffset,
        flipped.byteOffset,
        0,
        dx.byteOffset,
        0,
        g.batch * g.inHeight,
      );
      return true;
    }
    this.wasm.depthwise_input(geom, dy.byteOffset, kernel.byteOffset, dx.byteOffset, 0, g.batch * g.inHeight);
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
    this.wasm.depthwise_weights(geom, x.byteOffset, dy.byteOffset, dKernel.byteOffset, 0, g.outChannels);
    if (dBias !== null) {
      const pixels = g.batch * g.outHeight * g.outWidth;
      this.wasm.channel_sums(dy.byteOffset, dBias.byteOffset, pixels, g.outChannels, 0, g.outChannels);
    }
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

  maxPool2dForward(x: Float32Array, y: Float32Array, g: Conv2DGeometry): boolean {
    if (!this.poolingFits(g, x, y)) return false;
    if (g.batch > 0)
      this.wasm.max_pool_forward(this.geometry(g), x.byteOffset, y.byteOffset, 0, g.batch * g.outHeight);
    return true;
  }

  maxPool2dBackward(
    x: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    g: Conv2DGeometry,
  ): boolean {
    if (!this.poolingFits(g, x, y, dy) || !this.poolingFits(g, dx, y)) return false;
    if (g.batch === 0) return true;
    const geom = this.geometry(g);
    this.wasm.max_pool_backward(geom, x.byteOffset, y.byteOffset, dy.byteOffset, dx.byteOffset, 0, g.batch);
    return true;
  }

  averagePool2dForward(x: Float32Array, y: Float32Array, g: Conv2DGeometry): boolean {
    if (!this.poolingFits(g, x, y)) return false;
    if (g.batch > 0)
      this.wasm.avg_pool_forward(this.geometry(g), x.byteOffset, y.byteOffset, 0, g.batch * g.outHeight);
    return true;
  }

  averagePool2dBackward(dy: Float32Array, dx: Float32Array, g: Conv2DGeometry): boolean {
    if (!this.poolingFits(g, dx, dy)) return false;
    if (g.batch > 0) this.wasm.avg_pool_backward(this.geometry(g), dy.byteOffset, dx.byteOffset, 0, g.batch);
    return true;
  }

  reluForward(x: Float32Array, y: Float32Array, n: number, options: ReluOptions): boolean {
    if (!this.owns(x, y) || x.length < n || y.length < n || !(n >= 0)) return false;
    const { maxValue, negativeSlope, threshold } = options;
    this.wasm.relu_forward(x.byteOffset, y.byteOffset, 0, n, maxValue, negativeSlope, threshold);
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
    this.wasm.relu_backward(
      x.byteOffset,
      dy.byteOffset,
      dx.byteOffset,
      0,
      n,
      maxValue,
      negativeSlope,
      threshold,
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
    this.wasm.channel_moments(x.byteOffset, m, c, mean.byteOffset, variance.byteOffset, 0, c);
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
    this.wasm.bn_normalize(
      x.byteOffset,
      mean.byteOffset,
      inverse.byteOffset,
      gamma === null ? 0 : gamma.byteOffset,
      beta === null ? 0 : beta.byteOffset,
      xHat === null ? 0 : xHat.byteOffset,
      y.byteOffset,
      c,
      0,
      m,
    );
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
    this.wasm.bn_sums(dy.byteOffset, xHat.byteOffset, m, c, sumDy.byteOffset, sumDyXHat.byteOffset, 0, c);
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
    this.wasm.channel_affine(
      dy.byteOffset,
      scale.byteOffset,
      batchStatistics ? offset.byteOffset : 0,
      batchStatistics ? xHat.byteOffset : 0,
      batchStatistics ? slope.byteOffset : 0,
      dx.byteOffset,
      c,
      0,
      m,
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
    this.wasm.channel_affine(x.byteOffset, scale.byteOffset, offsetPointer, 0, 0, y.byteOffset, c, 0, m);
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
    ]) {
      if (block !== null) this.heap.free(block);
    }
    this.geometryBlock = this.zeros = this.patches = this.listScratch = this.flippedKernel = null;
    this.geometryWords = null;
  }
}
