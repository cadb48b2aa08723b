/**
 * The optimizer steps of the WebAssembly backend: each `…Update` of {@link WasmKernels} writes the step's
 * descriptor (layout: `OPTIMIZER_DESCRIPTOR` in `abi.ts`) and runs `optimizer_update` over the variable, on
 * one thread for small variables and split over the pool for large ones. Every method returns false, having
 * done nothing, when an array is outside the backend's memory, too short, or a scalar is not a float32 value:
 * the caller then runs the reference loop, whose results the kernels reproduce bit for bit otherwise.
 * @module
 */

import type {
  AdadeltaStep,
  AdagradStep,
  AdamaxStep,
  AdamStep,
  FtrlStep,
  LionStep,
  NadamStep,
  RmspropStep,
  SgdStep,
} from '../kernels.js';
import type { RecordedOptimizerOp } from '../step.js';
import { type KernelExports, OP, OPTIMIZER_DESCRIPTOR, OPTIMIZER_KINDS as KIND } from './abi.js';
import type { WasmHeap } from './heap.js';
import type { Sharing } from './index.js';

/** A recorded kernel call (see `WasmKernels.captureOptimizerOps`). */
export type CapturedOptimizerOp = RecordedOptimizerOp;

/** What the optimizer kernels need from the backend that owns them. */
export interface OptimizerHost {
  readonly heap: WasmHeap;
  readonly wasm: KernelExports;
  /** How calls are shared between the threads. */
  readonly sharing: Sharing;
  /** Row length of the weight gradient at this byte offset, when a dW product wrote it (else 0). */
  rowLengthOf(gradientOffset: number): number;
  /**
   * True when `f32x4.relaxed_madd` fuses here (see `maddFuses` in index.ts): SGD's `x + α·y` then run as
   * one float32 fused multiply-add instead of in float64 lanes (the same bits, a third of the work).
   */
  readonly fusedMultiplyAdd: boolean;
}

/**
 * Elements from which a pass splits over the threads: passes that are mostly memory traffic (SGD, fill,
 * clip, accumulation, EMA, scale) from 16 Ki elements, as the SGD task always has (model A's 300×100 matrix
 * splits too, so its rows stay on the core whose dW and forward chunks use them); updates with a square
 * root and a division per element are several times the work per element, so they split earlier.
 */
const SPLIT_LIGHT = 1 << 14;
const SPLIT_HEAVY = 1 << 12;

/** Int32 index of the slot addresses in the descriptor block (they follow the 64-byte descriptor). */
const SLOT_WORD = OPTIMIZER_DESCRIPTOR.bytes / 4;
/** Float32 index of the first scalar. */
const SCALAR = OPTIMIZER_DESCRIPTOR.scalars / 4;

/** Descriptor-driven optimizer kernels over one {@link WasmHeap}. */
export class WasmOptimizers {
  /** @internal Elements from which memory-bound passes split (benchmarks may change it). */
  splitLight = SPLIT_LIGHT;
  /** @internal Elements from which updates with a square root and a division split. */
  splitHeavy = SPLIT_HEAVY;
  /**
   * The descriptor (64 bytes) and, after it, the three slot addresses: one block, which lives as long as the
   * backend (as its scratch regions do: the kernels stay usable after `dispose`, which only stops the pool).
   */
  private readonly block: Float32Array;
  private readonly words: Int32Array;
  private readonly doubles: Float64Array;
  private readonly descriptor: number;
  private readonly slots: number;
  /** @internal While set, updates are recorded here instead of run (see {@link CapturedOptimizerOp}). */
  capture: CapturedOptimizerOp[] | null = null;

  constructor(private readonly host: OptimizerHost) {
    this.block = host.heap.alloc(OPTIMIZER_DESCRIPTOR.bytes / 4 + 4);
    this.words = new Int32Array(this.block.buffer, this.block.byteOffset, this.block.length);
    this.doubles = new Float64Array(this.block.buffer, this.block.byteOffset, this.block.length / 2);
    this.descriptor = this.block.byteOffset;
    this.slots = this.descriptor + OPTIMIZER_DESCRIPTOR.bytes;
  }

  sgd(param: Float32Array, grad: Float32Array, velocity: Float32Array | null, step: SgdStep): boolean {
    const momentum = velocity !== null && step.momentum !== 0;
    if (!this.fits(param, grad) || (momentum && !this.fits(param, velocity))) return false;
    const kind = momentum ? (step.nesterov ? 'sgdNesterov' : 'sgdMomentum') : 'sgd';
    this.words[0] = KIND[this.host.fusedMultiplyAdd ? (`${kind}Fma` as const) : kind];
    // Rounded as the reference rounds them (Keras holds η and casts μ in the variable's float32).
    this.scalars(Math.fround(step.learningRate), Math.fround(step.momentum));
    this.run(param, grad, momentum ? velocity : null, null, null, this.splitLight);
    return true;
  }

  rmsprop(
    param: Float32Array,
    grad: Float32Array,
    velocity: Float32Array,
    averageGradient: Float32Array | null,
    momentum: Float32Array | null,
    step: RmspropStep,
  ): boolean {
    if (
      !this.fits(param, grad) ||
      !this.fits(param, velocity) ||
      (averageGradient !== null && !this.fits(param, averageGradient)) ||
      (momentum !== null && !this.fits(param, momentum)) ||
      !this.scalars(step.learningRate, step.rho, step.oneMinusRho, step.momentum, step.epsilon)
    ) {
      return false;
    }
    const centered = averageGradient !== null;
    this.words[0] =
      momentum !== null
        ? centered
          ? KIND.rmspropCenteredMomentum
          : KIND.rmspropMomentum
        : centered
          ? KIND.rmspropCentered
          : KIND.rmsprop;
    this.run(param, grad, velocity, momentum, averageGradient, this.splitHeavy);
    return true;
  }

  adam(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    vhat: Float32Array | null,
    step: AdamStep,
  ): boolean {
    if (
      !this.fits(param, grad) ||
      !this.fits(param, m) ||
      !this.fits(param, v) ||
      (vhat !== null && !this.fits(param, vhat)) ||
      !this.scalars(step.alpha, step.beta1, step.oneMinusBeta1, step.beta2, step.oneMinusBeta2, step.epsilon)
    ) {
      return false;
    }
    this.words[0] = vhat !== null ? KIND.adamAmsgrad : KIND.adam;
    this.run(param, grad, m, v, vhat, this.splitHeavy);
    return true;
  }

  adadelta(
    param: Float32Array,
    grad: Float32Array,
    accumulatedGrad: Float32Array,
    accumulatedDelta: Float32Array,
    step: AdadeltaStep,
  ): boolean {
    if (
      !this.fits(param, grad) ||
      !this.fits(param, accumulatedGrad) ||
      !this.fits(param, accumulatedDelta) ||
      !this.scalars(step.learningRate, step.rho, step.oneMinusRho, step.epsilon)
    ) {
      return false;
    }
    this.words[0] = KIND.adadelta;
    this.run(param, grad, accumulatedGrad, accumulatedDelta, null, this.splitHeavy);
    return true;
  }

  adagrad(param: Float32Array, grad: Float32Array, accumulator: Float32Array, step: AdagradStep): boolean {
    if (
      !this.fits(param, grad) ||
      !this.fits(param, accumulator) ||
      !this.scalars(step.learningRate, step.epsilon)
    ) {
      return false;
    }
    this.words[0] = KIND.adagrad;
    this.run(param, grad, accumulator, null, null, this.splitHeavy);
    return true;
  }

  adamax(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    u: Float32Array,
    step: AdamaxStep,
  ): boolean {
    if (
      !this.fits(param, grad) ||
      !this.fits(param, m) ||
      !this.fits(param, u) ||
      !this.scalars(
        step.learningRate,
        step.beta1,
        step.oneMinusBeta1,
        step.beta2,
        step.epsilon,
        step.biasCorrection,
      )
    ) {
      return false;
    }
    this.words[0] = KIND.adamax;
    this.run(param, grad, m, u, null, this.splitHeavy);
    return true;
  }

  nadam(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, step: NadamStep): boolean {
    if (
      !this.fits(param, grad) ||
      !this.fits(param, m) ||
      !this.fits(param, v) ||
      !this.scalars(
        step.learningRate,
        step.beta1,
        step.oneMinusBeta1,
        step.beta2,
        step.oneMinusBeta2,
        step.epsilon,
        step.nextMomentum,
        step.nextProductComplement,
        step.oneMinusMomentum,
        step.productComplement,
        step.beta2Correction,
      )
    ) {
      return false;
    }
    this.words[0] = KIND.nadam;
    this.run(param, grad, m, v, null, this.splitHeavy);
    return true;
  }

  lion(param: Float32Array, grad: Float32Array, m: Float32Array, step: LionStep): boolean {
    if (
      !this.fits(param, grad) ||
      !this.fits(param, m) ||
      !this.scalars(step.learningRate, step.beta1, step.oneMinusBeta1, step.beta2, step.oneMinusBeta2)
    ) {
      return false;
    }
    this.words[0] = KIND.lion;
    this.run(param, grad, m, null, null, this.splitLight);
    return true;
  }

  ftrl(
    param: Float32Array,
    grad: Float32Array,
    accumulator: Float32Array,
    linear: Float32Array,
    step: FtrlStep,
  ): boolean {
    if (
      !this.fits(param, grad) ||
      !this.fits(param, accumulator) ||
      !this.fits(param, linear) ||
      !this.scalars(step.learningRate, step.power, step.l1, step.twiceL2, step.twiceL2Shrinkage)
    ) {
      return false;
    }
    this.words[0] = KIND.ftrl;
    this.run(param, grad, accumulator, linear, null, this.splitHeavy);
    return true;
  }

  /** `x[i] = value`; any number (Float32Array's fill rounds it to float32 too). */
  fill(x: Float32Array, value: number): boolean {
    if (!this.host.heap.owns(x)) return false;
    this.words[0] = KIND.fill;
    this.block[SCALAR] = value;
    this.run(x, null, null, null, null, this.splitLight);
    return true;
  }

  /**
   * `x ← min(max(x, min), max)`. The bounds are rounded to float32: no float32 lies strictly between a bound
   * and its rounding, so every comparison, and so every result, is the reference's.
   */
  clipByValue(x: Float32Array, min: number, max: number): boolean {
    if (!this.host.heap.owns(x) || Number.isNaN(min) || Number.isNaN(max)) return false;
    this.words[0] = KIND.clip;
    this.block[SCALAR] = min;
    this.block[SCALAR + 1] = max;
    this.run(x, null, null, null, null, this.splitLight);
    return true;
  }

  accumulateGradient(accumulator: Float32Array, gradient: Float32Array, divisor: number): boolean {
    if (!this.fits(accumulator, gradient) || !this.scalars(divisor)) return false;
    this.words[0] = KIND.accumulate;
    this.run(accumulator, gradient, null, null, null, this.splitLight);
    return true;
  }

  emaUpdate(average: Float32Array, value: Float32Array, momentum: number): boolean {
    // The reference's own float32 rounding of μ and 1 − μ.
    const mu = Math.fround(momentum);
    if (!this.fits(average, value) || !this.scalars(mu, Math.fround(1 - mu))) return false;
    this.words[0] = KIND.ema;
    this.run(average, value, null, null, null, this.splitLight);
    return true;
  }

  /** `x *= factor`, the product in float64 rounded once (the factor may be any number). */
  scale(x: Float32Array, factor: number): boolean {
    if (!this.host.heap.owns(x)) return false;
    this.words[0] = KIND.scale;
    this.doubles[1] = factor;
    this.run(x, null, null, null, null, this.splitLight);
    return true;
  }

  /** True when `array` is in the backend's memory and at least as long as `param` (which is in it too). */
  private fits(param: Float32Array, array: Float32Array): boolean {
    const heap = this.host.heap;
    return heap.owns(param) && heap.owns(array) && array.length >= param.length;
  }

  /**
   * Writes float32 scalars 0..10 of the descriptor (unused ones 0); false if one of them is not a float32
   * value. Fixed parameters rather than a rest array: a training step allocates nothing.
   */
  private scalars(
    s0: number,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    s4 = 0,
    s5 = 0,
    s6 = 0,
    s7 = 0,
    s8 = 0,
    s9 = 0,
    s10 = 0,
  ): boolean {
    const b = this.block;
    const i = SCALAR;
    b[i] = s0;
    b[i + 1] = s1;
    b[i + 2] = s2;
    b[i + 3] = s3;
    b[i + 4] = s4;
    b[i + 5] = s5;
    b[i + 6] = s6;
    b[i + 7] = s7;
    b[i + 8] = s8;
    b[i + 9] = s9;
    b[i + 10] = s10;
    return (
      b[i] === s0 &&
      b[i + 1] === s1 &&
      b[i + 2] === s2 &&
      b[i + 3] === s3 &&
      b[i + 4] === s4 &&
      b[i + 5] === s5 &&
      b[i + 6] === s6 &&
      b[i + 7] === s7 &&
      b[i + 8] === s8 &&
      b[i + 9] === s9 &&
      b[i + 10] === s10
    );
  }

  /** Runs the descriptor over `param`'s elements, on one thread or split over the pool. */
  private run(
    param: Float32Array,
    grad: Float32Array | null,
    slot0: Float32Array | null,
    slot1: Float32Array | null,
    slot2: Float32Array | null,
    threshold: number,
  ): void {
    const slots: [number, number, number] = [
      slot0 === null ? 0 : slot0.byteOffset,
      slot1 === null ? 0 : slot1.byteOffset,
      slot2 === null ? 0 : slot2.byteOffset,
    ];
    const gradOffset = grad === null ? 0 : grad.byteOffset;
    if (this.capture !== null) {
      this.capture.push({
        kind: 'update',
        descriptor: this.words.slice(0, SLOT_WORD),
        slots,
        param: param.byteOffset,
        grad: gradOffset,
        length: param.length,
        threshold,
      });
      return;
    }
    this.runUpdate(slots, param.byteOffset, gradOffset, param.length, threshold);
  }

  /** Runs a recorded op (see {@link CapturedOptimizerOp}): what the call that recorded it would have done. */
  replay(op: CapturedOptimizerOp): void {
    if (op.kind === 'call') {
      op.run();
      return;
    }
    this.words.set(op.descriptor);
    this.runUpdate(op.slots, op.param, op.grad, op.length, op.threshold);
  }

  /** `optimizer_update` with the descriptor in the block, on one thread or split over the threads. */
  private runUpdate(
    slots: readonly [number, number, number],
    param: number,
    grad: number,
    length: number,
    threshold: number,
  ): void {
    const words = this.words;
    words[SLOT_WORD] = slots[0];
    words[SLOT_WORD + 1] = slots[1];
    words[SLOT_WORD + 2] = slots[2];
    const chunks = this.host.sharing.split(length, threshold, Math.ceil(length / 16));
    if (chunks <= 1) {
      this.host.wasm.optimizer_update(this.descriptor, param, grad, this.slots, 0, length);
      return;
    }
    // A weight matrix splits at the row where its dW product split (see `optimizerChunk` in
    // assembly/step.ts); a stale or unknown row length only changes how elements are shared out, never a result.
    const n = grad === 0 ? 0 : this.host.rowLengthOf(grad);
    const rowLength = n > 0 && length % n === 0 && length / n > 8 ? n : 0;
    this.host.sharing.run(OP.optimizer, chunks, 1, [
      this.descriptor,
      param,
      grad,
      this.slots,
      length,
      rowLength,
    ]);
  }
}
