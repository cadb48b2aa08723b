/**
 * Plans in the shared memory (the layout of assembly/step.ts): {@link WasmFusedStepPlan}, a whole training
 * step of a Dense network as one call into wasm, and {@link TaskPlan}, the one-phase plan through which the
 * layer-by-layer path shares a single product between the threads.
 *
 * A fused training step, for a chain Dense → (Dropout) → Dense → … → loss, is these phases, each split into
 * chunks that every thread claims (see pool.ts):
 *
 * 1. per Dense: z = x·W + b and y = f(z) by output columns (a Dropout right after it applies its mask in the
 *    same chunk; a softmax over several chunks gets a phase of its own, by rows); a wide layer (784→300) in
 *    two parts over the depth instead (split where the dW chunks split, so each thread reads only rows of W
 *    it wrote itself), more threads taking blocks of batch rows, then a phase that adds the parts and applies f;
 * 2. the loss and accuracy counts (one chunk), and the loss's gradient down to the top layer's pre-activation;
 * 3. per Dense, top down, by rows of W: dX = δ·Wᵀ (before W changes) taken down through the Dropout masks and
 *    the activation derivative of the layer below, then dW = xᵀ·δ in blocks of rows, each block's optimizer
 *    update applied right after it is computed, and the bias gradient and update by columns.
 *
 * The gradients are the layer path's, bit for bit (same kernels, same order of every sum), and so are the
 * updates: a chunk updates only rows of W it has already used for dX, and the forward pass of the next step
 * is the only reader of the new values. The updates are the optimizer's own kernel calls (any of Keras's
 * optimizers, with clipping by value, weight decay, gradient accumulation and moving averages), recorded
 * before the step (`WasmKernels.captureOptimizerOps`) and applied per element range as chains of
 * `optimizer_update` calls (`UPDATE.chain`): every such call is element-wise, so a range's chain gives the
 * bits of the whole-variable calls of the layer path.
 * @module
 */

import type { FusedDense, FusedStepPlan, FusedStepSpec, RecordedOptimizerOp } from '../step.js';
import {
  ACCURACY_CODES,
  ACTIVATION_CODES,
  CHAIN_ENTRY_BYTES,
  CONTROL_OFFSET,
  depthSplit,
  GEMM_UNITS,
  type KernelExports,
  LOSS_CODES,
  OP,
  PLAN,
  SOFTMAX,
  splitsByDepth,
  UPDATE,
} from './abi.js';
import type { WasmHeap } from './heap.js';
import type { PlanHandle, ThreadPool } from './pool.js';

/**
 * Multiply-adds a chunk should have at least (~1 µs of work): below, handing it to another thread costs more
 * (a barrier, the other core's cache misses on its inputs) than it saves. A phase of w multiply-adds is cut
 * into ⌊w / CHUNK_WORK⌋ chunks, at most one per thread.
 */
export const CHUNK_WORK = 1 << 15;
/**
 * Rows of dW computed, then updated, at a time: the block stays in L1/L2 between its product and update. A
 * multiple of the GEMM's 6-row groups (blocks start on a chunk's first row, itself on a group).
 */
export const UPDATE_BLOCK_ROWS = 24;
/** Multiply-adds an element-wise activation is worth, for deciding whether to share it. */
const ELEMENT_WORK = 16;
/** Most phases a plan may have. */
const MAX_PHASES = 64;
/** Bytes per update record. */
const UPDATE_BYTES = 32;
/**
 * Most recorded kernel calls a parameter's update may have in one step (accumulation, clipping, weight decay,
 * the update, the accumulator's reset, the moving average: at most 6 today).
 */
const MAX_CHAIN = 8;

/**
 * Chunks for a phase of `work` multiply-adds over `units` indivisible units (8-column tiles, 6-row groups):
 * one per {@link CHUNK_WORK}, at most one per thread. Any count gives the same results.
 */
export function chunksFor(threads: number, work: number, units: number): number {
  return Math.max(1, Math.min(threads, units, PLAN.maxChunks, Math.floor(work / CHUNK_WORK)));
}

/**
 * The GEMM scratch bytes of a product of `rows` rows (or fewer) over `depth`; with `depthUpTo`, over any depth
 * up to `depth` (dW's depth is the run's batch rows, which may be fewer than the plan's capacity, and the
 * depth blocks, hence the scratch, are not monotonic in the depth).
 */
function gemmScratch(wasm: KernelExports, rows: number, depth: number, depthUpTo = false): number {
  if (!depthUpTo) return wasm.gemm_scratch_bytes(rows, depth);
  let bytes = 0;
  for (let d = 1; d <= depth; d++) bytes = Math.max(bytes, wasm.gemm_scratch_bytes(rows, d));
  return bytes;
}

/** One plan block: header, phase records, sync words (and, for a step, update records and results). */
class PlanBlock implements PlanHandle {
  readonly offset: number;
  readonly header: Int32Array;
  readonly floats: Float64Array;
  readonly sync: number;
  lastSerial = 0;
  private readonly storage: Float32Array;

  constructor(
    private readonly heap: WasmHeap,
    readonly phases: number,
    extraBytes: number,
  ) {
    const syncStart = PLAN.phaseTable + phases * PLAN.phaseBytes;
    const bytes = syncStart + phases * PLAN.syncBytes + extraBytes;
    this.storage = heap.alloc(Math.ceil(bytes / 4));
    this.offset = this.storage.byteOffset;
    this.sync = this.offset + syncStart;
    this.header = new Int32Array(this.storage.buffer, this.offset, bytes / 4);
    this.floats = new Float64Array(this.storage.buffer, this.offset, Math.floor(bytes / 8));
    const h = this.header;
    h[PLAN.phases] = phases;
    h[PLAN.sync] = this.sync;
    h[PLAN.control] = CONTROL_OFFSET;
  }

  /** Int32 word `index` of phase `phase`'s record. */
  setWord(phase: number, index: number, value: number): void {
    this.header[(PLAN.phaseTable + phase * PLAN.phaseBytes) / 4 + index] = value;
  }

  /** First byte after the sync words (update records and results live there). */
  get extra(): number {
    return this.sync + this.phases * PLAN.syncBytes;
  }

  free(): void {
    this.heap.free(this.storage);
  }
}

/**
 * The one-phase plan of the layer-by-layer path: each split product writes its operation's words and runs.
 * Owned by the kernels object; its GEMM scratch (one region per thread, indexed by the thread that runs a
 * chunk) grows on demand.
 */
export class TaskPlan {
  private readonly block: PlanBlock;
  private scratchBuffer: Float32Array | null = null;
  private scratchStride = 0;

  constructor(
    private readonly heap: WasmHeap,
    private readonly pool: ThreadPool,
  ) {
    this.block = new PlanBlock(heap, 1, 0);
  }

  /**
   * Runs `op` in `chunks` chunks over `m` rows with the record's words 2… = `args` (and float64 `f0`, `f1`
   * at bytes 64 and 72 of the record), and per-thread GEMM scratch of `scratchBytes` (0: the op runs no
   * product).
   */
  run(
    op: number,
    chunks: number,
    m: number,
    args: readonly number[],
    scratchBytes = 0,
    f0 = 0,
    f1 = 0,
  ): void {
    const block = this.block;
    const h = block.header;
    const record = PLAN.phaseTable / 4;
    h[record] = op;
    h[record + 1] = chunks;
    for (let i = 0; i < args.length; i++) h[record + 2 + i] = args[i];
    block.floats[PLAN.phaseTable / 8 + 8] = f0;
    block.floats[PLAN.phaseTable / 8 + 9] = f1;
    h[PLAN.m] = m;
    h[PLAN.first] = 0;
    h[PLAN.last] = 1;
    h[PLAN.train] = 1;
    const [scratch, stride] = this.scratch(scratchBytes);
    h[PLAN.scratch] = scratch;
    h[PLAN.scratchStride] = stride;
    this.pool.run(block, chunks, chunks > 1);
  }

  /**
   * Base and per-thread stride of scratch regions of at least `bytes` (`gemm_scratch_bytes`: under 1 MiB) for
   * every thread ([0, 0]: none needed). Sized to the largest request so far, 64-byte aligned, without slack.
   */
  private scratch(bytes: number): [number, number] {
    if (bytes <= 0) return [0, 0];
    const threads = this.pool.threads;
    if (
      this.scratchBuffer === null ||
      bytes > this.scratchStride ||
      this.scratchBuffer.length * 4 < threads * this.scratchStride
    ) {
      if (this.scratchBuffer !== null) this.heap.free(this.scratchBuffer);
      this.scratchStride = Math.max(this.scratchStride, Math.ceil(bytes / 64) * 64);
      this.scratchBuffer = this.heap.alloc((threads * this.scratchStride) / 4);
    }
    return [this.scratchBuffer.byteOffset, this.scratchStride];
  }
}

/** Phase ranges of a plan: forward phases [0, loss), the loss phase, backward phases (loss, end). */
interface Ranges {
  forwardEnd: number;
  lossEnd: number;
  trainEnd: number;
}

/** What building a step needs from the kernels object. */
export interface StepBackend {
  readonly heap: WasmHeap;
  readonly pool: ThreadPool;
  readonly wasm: KernelExports;
}

/**
 * A fused training step in the shared memory (see the module's description). Create with
 * {@link createWasmFusedStepPlan}; it owns every buffer it allocated and frees them in {@link dispose}.
 */
export class WasmFusedStepPlan implements FusedStepPlan {
  readonly capacity: number;
  readonly input: Float32Array;
  readonly target: Float32Array;
  private readonly owned: Float32Array[];
  private readonly block: PlanBlock;
  private readonly results: Float64Array;
  private readonly output: Float32Array;
  private readonly outputWidth: number;
  private readonly dropouts: Layout['dropouts'];
  private readonly ranges: Ranges;
  private readonly chunkTotals: [number, number, number];
  private readonly shareable: [boolean, boolean, boolean];
  /** Each parameter's update record and its chain entries. */
  private readonly heads: { words: Int32Array; entries: Int32Array }[] = [];
  /** Which parameter's update an array belongs to, by byte offset (learnt from the calls, see setUpdates). */
  private readonly owners = new Map<number, number>();
  private disposed = false;

  /** @internal Use {@link createWasmFusedStepPlan}. */
  constructor(
    private readonly backend: StepBackend,
    spec: FusedStepSpec,
    layout: Layout,
  ) {
    this.capacity = spec.capacity;
    this.outputWidth = spec.outputWidth;
    this.owned = layout.owned;
    this.input = layout.input;
    this.target = layout.target;
    this.output = layout.output;
    this.dropouts = layout.dropouts;
    this.ranges = layout.ranges;
    const phases = layout.phases;
    const updates = layout.updates;
    const block = new PlanBlock(
      backend.heap,
      phases.length,
      updates.length * (UPDATE_BYTES + MAX_CHAIN * CHAIN_ENTRY_BYTES) + 64,
    );
    this.block = block;
    const updateBase = block.extra;
    const resultsOffset = updateBase + updates.length * UPDATE_BYTES;
    this.results = new Float64Array(block.header.buffer, resultsOffset, 8);
    // Update records: int32 kind (a chain), entry count (0 until a step gives calls), first entry's offset.
    const chainBase = resultsOffset + 64;
    this.heads = updates.map((update, i) => {
      const offset = updateBase + i * UPDATE_BYTES;
      const words = new Int32Array(block.header.buffer, offset, UPDATE_BYTES / 4);
      const entries = chainBase + i * MAX_CHAIN * CHAIN_ENTRY_BYTES;
      words[0] = UPDATE.chain;
      words[1] = 0;
      words[2] = entries;
      this.owners.set(update.param.byteOffset, i);
      this.owners.set(update.grad.byteOffset, i);
      return {
        words,
        entries: new Int32Array(block.header.buffer, entries, (MAX_CHAIN * CHAIN_ENTRY_BYTES) / 4),
      };
    });
    phases.forEach((phase, p) => {
      block.setWord(p, 0, phase.op);
      block.setWord(p, 1, phase.chunks);
      phase.words.forEach((value, i) => {
        const resolved =
          value instanceof Float32Array
            ? value.byteOffset
            : typeof value === 'object' && value !== null
              ? value.kind === 'update'
                ? updateBase + value.index * UPDATE_BYTES
                : resultsOffset
              : value;
        block.setWord(p, 2 + i, resolved);
      });
    });
    block.header[PLAN.scratch] = layout.scratch === null ? 0 : layout.scratch.byteOffset;
    block.header[PLAN.scratchStride] = layout.scratchStride;
    const total = (from: number, to: number) =>
      phases.slice(from, to).reduce((s, phase) => s + phase.chunks, 0);
    const any = (from: number, to: number) => phases.slice(from, to).some((phase) => phase.chunks > 1);
    const r = this.ranges;
    this.chunkTotals = [total(0, r.forwardEnd), total(0, r.lossEnd), total(0, r.trainEnd)];
    this.shareable = [any(0, r.forwardEnd), any(0, r.lossEnd), any(0, r.trainEnd)];
  }

  get lossSum(): number {
    return this.results[0];
  }

  correct(index: number): number {
    return this.results[1 + index];
  }

  train(rows: number, updates: readonly RecordedOptimizerOp[] | null): boolean {
    this.check(rows);
    const inside = updates !== null && this.setUpdates(updates);
    if (!inside) for (const head of this.heads) head.words[1] = 0;
    for (const dropout of this.dropouts) dropout.draw(dropout.mask.subarray(0, rows * dropout.width), rows);
    this.runPhases(rows, this.ranges.trainEnd, 1, 2);
    return inside;
  }

  outputRows(rows: number): Float32Array {
    return this.output.subarray(0, rows * this.outputWidth);
  }

  /**
   * Writes each parameter's chain of recorded calls, in their order. A call belongs to the parameter one of
   * whose arrays it touches (its value, its gradient, or an array an earlier call of it touched: slots,
   * accumulator, moving average); false when a call is not an element-wise update, belongs to no parameter
   * of the plan or to two, or a chain is too long.
   */
  private setUpdates(updates: readonly RecordedOptimizerOp[]): boolean {
    const heads = this.heads;
    const counts = new Array<number>(heads.length).fill(0);
    const owners = this.owners;
    const pending: [number, RecordedOptimizerOp & { kind: 'update' }][] = [];
    for (const op of updates) {
      if (op.kind !== 'update') return false;
      const offsets = [op.param, op.grad, ...op.slots].filter((offset) => offset !== 0);
      let owner = -1;
      for (const offset of offsets) {
        const found = owners.get(offset);
        if (found === undefined) continue;
        if (owner >= 0 && found !== owner) return false;
        owner = found;
      }
      if (owner < 0 || counts[owner] === MAX_CHAIN) return false;
      for (const offset of offsets) owners.set(offset, owner);
      counts[owner]++;
      pending.push([owner, op]);
    }
    counts.fill(0);
    const perEntry = CHAIN_ENTRY_BYTES / 4;
    for (const [owner, op] of pending) {
      const entries = heads[owner].entries;
      const base = counts[owner]++ * perEntry;
      entries.set(op.descriptor, base);
      entries[base + 16] = op.slots[0];
      entries[base + 17] = op.slots[1];
      entries[base + 18] = op.slots[2];
      entries[base + 20] = op.param;
      entries[base + 21] = op.grad;
    }
    heads.forEach((head, i) => (head.words[1] = counts[i]));
    return true;
  }

  evaluate(rows: number): void {
    this.check(rows);
    this.runPhases(rows, this.ranges.lossEnd, 0, 1);
  }

  predict(rows: number): Float32Array {
    this.check(rows);
    this.runPhases(rows, this.ranges.forwardEnd, 0, 0);
    return this.output.subarray(0, rows * this.outputWidth);
  }

  private runPhases(rows: number, last: number, train: number, mode: 0 | 1 | 2): void {
    const h = this.block.header;
    h[PLAN.m] = rows;
    h[PLAN.first] = 0;
    h[PLAN.last] = last;
    h[PLAN.train] = train;
    this.backend.pool.run(this.block, this.chunkTotals[mode], this.shareable[mode]);
  }

  private check(rows: number): void {
    if (this.disposed) throw new Error('warmstart: this fused step plan was disposed');
    if (!Number.isInteger(rows) || rows < 1 || rows > this.capacity) {
      throw new RangeError(`fused step: rows must be an integer in [1, ${this.capacity}], got ${rows}`);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // No helper may still be reading this plan's words when its memory is handed out again; if one cannot
    // be made to leave (it is gone), the plan's memory is kept rather than risked.
    if (!this.backend.pool.drain()) return;
    this.block.free();
    for (const buffer of this.owned) this.backend.heap.free(buffer);
  }
}

/** A word of a phase record: a number, a buffer (its offset), an update record or the results block. */
type Word = number | Float32Array | { kind: 'update'; index: number } | { kind: 'results' };

interface Phase {
  op: number;
  chunks: number;
  words: Word[];
}

/** Everything a plan is built from, computed before anything is written into the plan block. */
interface Layout {
  owned: Float32Array[];
  input: Float32Array;
  target: Float32Array;
  output: Float32Array;
  phases: Phase[];
  updates: { param: Float32Array; grad: Float32Array }[];
  dropouts: { mask: Float32Array; width: number; draw: (mask: Float32Array, rows: number) => void }[];
  ranges: Ranges;
  scratch: Float32Array | null;
  scratchStride: number;
}

/**
 * Lays out `spec` in the backend's memory, or returns null when this backend cannot run it fused: a softmax
 * before the last layer, a buffer outside its memory, too many layers or metrics.
 */
export function createWasmFusedStepPlan(backend: StepBackend, spec: FusedStepSpec): WasmFusedStepPlan | null {
  const owned: Float32Array[] = [];
  let layout: Layout | null = null;
  try {
    layout = buildLayout(backend, spec, owned);
  } finally {
    if (layout === null) for (const buffer of owned) backend.heap.free(buffer);
  }
  return layout === null ? null : new WasmFusedStepPlan(backend, spec, layout);
}

/** The buffers and phases of a plan for `spec` (allocations recorded in `owned`), or null (see above). */
function buildLayout(backend: StepBackend, spec: FusedStepSpec, owned: Float32Array[]): Layout | null {
  const heap = backend.heap;
  const wasm = backend.wasm;
  const threads = backend.pool.threads;
  const capacity = spec.capacity;
  if (!Number.isInteger(capacity) || capacity < 1 || spec.metrics.length > 4) return null;
  if (LOSS_CODES[spec.loss] === undefined) return null;
  const denses = spec.layers.filter((layer): layer is FusedDense => layer.kind === 'dense');
  if (denses.length === 0) return null;
  for (const dense of denses) {
    if (ACTIVATION_CODES[dense.activation] === undefined) return null;
    for (const buffer of [dense.kernel, dense.kernelGradient, dense.bias, dense.biasGradient]) {
      if (buffer !== null && !heap.owns(buffer)) return null;
    }
    if (dense !== denses[denses.length - 1] && dense.activation === 'softmax') return null;
  }

  const allocate = (length: number): Float32Array => {
    const buffer = heap.alloc(Math.max(1, length));
    owned.push(buffer);
    return buffer;
  };
  const phases: Phase[] = [];
  const updates: Layout['updates'] = [];
  const dropouts: Layout['dropouts'] = [];
  let scratchBytes = 0;

  const input = allocate(capacity * spec.inputWidth);
  const target = allocate(capacity * spec.targetWidth);

  // ---- Forward. For each Dense, remember its input, its buffers and the Dropouts between it and the next.
  interface DenseState {
    layer: FusedDense;
    x: Float32Array;
    z: Float32Array;
    y: Float32Array;
    /** Masks of the Dropouts applied to this layer's output, in forward order. */
    masks: Float32Array[];
    forwardPhase: number;
  }
  const states: DenseState[] = [];
  let activation = input;
  let width = spec.inputWidth;
  for (const layer of spec.layers) {
    if (layer.kind === 'identity') continue;
    if (layer.kind === 'dropout') {
      if (layer.width !== width) return null;
      const mask = allocate(capacity * width);
      const out = allocate(capacity * width);
      dropouts.push({ mask, width, draw: (m, rows) => layer.drawMask(m, rows) });
      const previous = states.at(-1);
      const lastPhase = phases.at(-1);
      // Fused into the Dense's last forward phase when it can take it: words 10 and 11 (mask, output) of a
      // forward record, 7 and 8 of an add-and-activate one.
      const slot =
        lastPhase === undefined || previous === undefined || previous.y !== activation
          ? -1
          : lastPhase.op === OP.denseForward
            ? 8
            : lastPhase.op === OP.addActivate
              ? 5
              : -1;
      if (slot >= 0 && lastPhase!.words[slot] === 0) {
        lastPhase!.words[slot] = mask;
        lastPhase!.words[slot + 1] = out;
      } else {
        const total = capacity * width;
        phases.push({
          op: OP.dropout,
          chunks: chunksFor(threads, total * 16, Math.ceil(total / 16)),
          words: [activation, mask, out, width],
        });
      }
      states.at(-1)?.masks.push(mask);
      activation = out;
      continue;
    }
    if (layer.inputs !== width) return null;
    const k = layer.inputs;
    const n = layer.units;
    const y = allocate(capacity * n);
    const z = layer.activation === 'linear' ? y : allocate(capacity * n);
    const act = ACTIVATION_CODES[layer.activation];
    states.push({ layer, x: activation, z, y, masks: [], forwardPhase: phases.length });
    if (splitsByDepth(k, n)) {
      // Two parts over the depth (a rule of the shape, as in the layer path), then their sum and f.
      const partial = allocate(capacity * n);
      const rows = GEMM_UNITS.rows;
      const blocks = Math.max(
        1,
        Math.min(Math.ceil(threads / 2), Math.ceil(capacity / rows), PLAN.maxChunks / 2),
      );
      const split = depthSplit(k);
      // A part over [0, split) or [split, k), for a block of at most all the batch's rows.
      scratchBytes = Math.max(
        scratchBytes,
        gemmScratch(wasm, capacity, split),
        gemmScratch(wasm, capacity, k - split),
      );
      phases.push({
        op: OP.forwardParts,
        chunks: chunksFor(threads, capacity * k * n, 2 * Math.ceil(capacity / rows)) === 1 ? 1 : 2 * blocks,
        words: [activation, layer.kernel, layer.bias ?? 0, z, partial, k, n, split, blocks],
      });
      phases.push({
        op: OP.addActivate,
        chunks: chunksFor(threads, capacity * n * ELEMENT_WORK, capacity),
        words: [z, partial, y, n, act, 0, 0],
      });
      activation = y;
      width = n;
      continue;
    }
    const chunks = chunksFor(threads, capacity * k * n, Math.ceil(n / GEMM_UNITS.columns));
    scratchBytes = Math.max(scratchBytes, gemmScratch(wasm, capacity, k));
    phases.push({
      op: OP.denseForward,
      chunks,
      words: [activation, layer.kernel, layer.bias ?? 0, z, y, k, n, act, 0, 0],
    });
    if (act === SOFTMAX && chunks > 1) {
      phases.push({ op: OP.softmax, chunks: Math.min(chunks, capacity), words: [z, y, n] });
    }
    activation = y;
    width = n;
  }
  if (width !== spec.outputWidth) return null;
  const forwardEnd = phases.length;

  // ---- Which Dense layers need δ: trainable ones, and those with a trainable Dense below.
  const count = states.length;
  const needsInput = states.map((_, d) => states.slice(0, d).some((s) => s.layer.trainable));
  const needsDelta = states.map((s, d) => s.layer.trainable || needsInput[d]);
  const top = states[count - 1];
  const topDelta = needsDelta[count - 1];

  // The loss writes δ of the top Dense directly when fused (no Dropout may follow it then).
  if (spec.fusedLogits && top.masks.length > 0) return null;
  const deltas = states.map((s, d) => (needsDelta[d] ? allocate(capacity * s.layer.units) : null));
  const lossGradient = !topDelta ? null : spec.fusedLogits ? deltas[count - 1]! : allocate(capacity * width);
  const metricWords = [0, 1, 2, 3].map((i) =>
    i < spec.metrics.length ? ACCURACY_CODES[spec.metrics[i]] : 0,
  );
  const topAct = ACTIVATION_CODES[top.layer.activation];
  const maskWords = (masks: Float32Array[]): Word[] => {
    // Backward order: the mask nearest the gradient's source first (any order gives the same products).
    const reversed = [...masks].reverse();
    return [0, 1, 2, 3].map((i) => reversed[i] ?? 0);
  };
  if (top.masks.length > 4) return null;
  phases.push({
    op: OP.loss,
    chunks: 1,
    words: [
      activation,
      target,
      lossGradient ?? 0,
      width,
      LOSS_CODES[spec.loss],
      spec.fusedLogits ? 1 : 0,
      spec.metrics.length,
      ...metricWords,
      { kind: 'results' },
      spec.fusedLogits || !topDelta ? -1 : topAct,
      top.z,
      top.y,
      deltas[count - 1] ?? 0,
      spec.fusedLogits ? 0 : top.masks.length,
      ...maskWords(spec.fusedLogits ? [] : top.masks),
      topDelta ? 1 : 0,
    ],
  });
  const lossEnd = phases.length;

  // ---- Backward, top down.
  const updateIndex = (param: Float32Array, grad: Float32Array | null, inside: boolean): Word => {
    if (!inside || grad === null) return 0;
    updates.push({ param, grad });
    return { kind: 'update', index: updates.length - 1 };
  };
  for (let d = count - 1; d >= 0 && needsDelta[d]; d--) {
    const state = states[d];
    const layer = state.layer;
    const k = layer.inputs;
    const n = layer.units;
    const below = d > 0 ? states[d - 1] : null;
    const input = needsInput[d] && below !== null;
    if (below !== null && below.masks.length > 4) return null;
    const weights = layer.trainable;
    const work = capacity * k * n * ((weights ? 1 : 0) + (input ? 1 : 0));
    // A chunk's rows of W fall on the GEMM's units: dX's 8 columns of dx, dW's 6-row groups, or both (24).
    const unit = input ? (weights ? GEMM_UNITS.backward : GEMM_UNITS.columns) : GEMM_UNITS.rows;
    const chunks = chunksFor(threads, work, Math.ceil(k / unit));
    // dX: all the batch's rows over the depth n; dW: a block of rows over the depth of the batch.
    if (input) scratchBytes = Math.max(scratchBytes, gemmScratch(wasm, capacity, n));
    if (weights) scratchBytes = Math.max(scratchBytes, gemmScratch(wasm, UPDATE_BLOCK_ROWS, capacity, true));
    phases.push({
      op: OP.denseBackward,
      chunks,
      words: [
        state.x,
        deltas[d]!,
        layer.kernel,
        layer.kernelGradient,
        layer.bias ?? 0,
        weights && layer.biasGradient !== null ? layer.biasGradient : 0,
        k,
        n,
        input ? 1 : 0,
        input ? deltas[d - 1]! : 0,
        input ? below!.masks.length : 0,
        ...maskWords(input ? below!.masks : []),
        input ? ACTIVATION_CODES[below!.layer.activation] : 0,
        input ? below!.z : 0,
        input ? below!.y : 0,
        weights ? 1 : 0,
        weights ? updateIndex(layer.kernel, layer.kernelGradient, layer.updatesInside) : 0,
        weights && layer.bias !== null ? updateIndex(layer.bias, layer.biasGradient, layer.updatesInside) : 0,
        UPDATE_BLOCK_ROWS,
        weights && layer.bias !== null && layer.biasGradient !== null ? 1 : 0,
      ],
    });
  }
  const trainEnd = phases.length;
  if (trainEnd > MAX_PHASES) return null;

  // One GEMM scratch region per thread (assembly/step.ts indexes them by the thread running a chunk).
  let scratch: Float32Array | null = null;
  let scratchStride = 0;
  if (scratchBytes > 0) {
    scratchStride = Math.ceil(scratchBytes / 64) * 64;
    scratch = allocate((threads * scratchStride) / 4);
  }
  return {
    owned,
    input,
    target,
    output: activation,
    phases,
    updates,
    dropouts,
    ranges: { forwardEnd, lossEnd, trainEnd },
    scratch,
    scratchStride,
  };
}
