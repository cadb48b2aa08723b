// Plans: a list of phases that every thread of the pool runs together, meeting at barriers in this shared
// memory, with no JavaScript in between. A training step of a Dense network (forward, loss, backward and the
// optimizer's update) is one plan; so is a single split product of the layer-by-layer path (one phase).
//
// Each phase is cut into at most 32 chunks. A thread claims a chunk by setting its bit in the phase's claim
// word, preferring the chunks of its own share (thread t of A: chunks [t·C/A, (t+1)·C/A)), so that a block of a
// matrix normally stays with one core from one step to the next, and then steals whatever is left. A thread
// that is late, asleep or descheduled simply claims nothing and the others do its share: a step never waits
// for a thread that has not started a chunk. Before running a chunk of phase p a thread waits until every
// chunk of phase p − 1 is done.
//
// Claim and done words are 64-bit: the high half is the serial of the run they belong to, so a thread that
// arrives late from an earlier run sees a newer serial and leaves, and the first claim of a run resets the
// word with a compare-exchange (nobody has to clear the words between runs).
//
// No chunk's arithmetic depends on which thread runs it or on how many chunks a phase has: products are
// split by whole output columns (forward: 8-column tiles) or whole rows of W (dW: 6-row groups; dX: 8
// columns of dx; both in one chunk: 24), on the GEMM's units (assembly/gemm.ts), reductions (the loss, the
// accuracy counts, the bias gradients per column) are never split across chunks. Results are therefore
// bit-identical for any number of threads. Keep the layout below in step with src/kernels/wasm/step.ts.

import { add_partial, gemm_forward, gemm_forward_part, gemm_input, gemm_weights } from './gemm';
import { activation_backward, activation_block, softmax_backward, softmax_rows, LINEAR, SOFTMAX } from './elementwise';
import { count_correct, loss } from './loss';
import { optimizer_update } from './optimizers';
import { run_range } from './range';
import { storeLanes } from './simd';

// ---- Plan header: int32 words at the plan's start.
/** Serial of the run in progress (written by the calling thread before it publishes the run). */
const H_SERIAL: i32 = 0;
/** Number of phases in the plan. */
const H_PHASES: i32 = 1;
/** Rows of this run's batch. */
const H_M: i32 = 2;
/** Threads that take part in this run (thread indices ≥ this return at once). */
const H_ALLOWED: i32 = 3;
/**
 * The GEMM's scratch, one region per thread (thread t's at base + t·stride): base and bytes per thread. Every
 * product requires one that no concurrent call uses; a thread runs one chunk at a time, so its own region
 * serves every product of every chunk it runs. Each region holds the plan's largest gemm_scratch_bytes.
 */
const H_SCRATCH: i32 = 4;
const H_SCRATCH_STRIDE: i32 = 5;
/** Byte offset of the sync area (128 bytes per phase: claim word, then done word on its own line). */
const H_SYNC: i32 = 6;
/** Phases [first, last) run this time (predict stops after the forward pass, evaluation after the loss). */
const H_FIRST: i32 = 7;
const H_LAST: i32 = 8;
/** 1 in training (dropout masks, gradients, updates), 0 in inference. */
const H_TRAIN: i32 = 9;
/** Tests: the calling thread runs at most this many chunks per phase (0: no limit). */
const H_MAIN_LIMIT: i32 = 10;
/** Barrier waits of the calling thread that took long (a helper was descheduled in a chunk). */
const H_LONG_WAITS: i32 = 11;
/** Threads asleep on one of this plan's done words (a finisher must notify). */
const H_SLEEPERS: i32 = 12;
/** Byte offset of the pool's control block (serial, failure flag). */
const H_CONTROL: i32 = 13;
/** Phase records start here, PHASE_BYTES each. */
const PHASE_TABLE: usize = 128;
const PHASE_BYTES: usize = 128;

// ---- Control block of the pool (int32 words), shared with src/kernels/wasm/abi.ts.
const C_SERIAL: usize = 0;
const C_FAILED: usize = 80 << 2;

// ---- Phase operations (word 0 of a record; word 1 is the chunk count).
const OP_DENSE_FORWARD: i32 = 1;
const OP_DROPOUT: i32 = 2;
const OP_LOSS: i32 = 3;
const OP_DENSE_BACKWARD: i32 = 4;
// 5 was the float32 SGD task, replaced by OP_OPTIMIZER.
const OP_SOFTMAX: i32 = 6;
const OP_FORWARD_PARTS: i32 = 7;
const OP_ADD_ACTIVATE: i32 = 8;
/** A range kernel of assembly/range.ts (convolutions, pooling, element-wise passes): words 2 kernel, 3 length, 4 unit, 5.. arguments. */
const OP_RANGE: i32 = 9;
/** `optimizer_update` over a variable: words 2 descriptor, 3 param, 4 grad, 5 slots, 6 length, 7 row length. */
const OP_OPTIMIZER: i32 = 10;

// ---- Update records (32 bytes): how a parameter is updated from its gradient inside the step.
const UPDATE_NONE: i32 = 0;
// 1 was the float32 SGD update, replaced by chains of optimizer_update.
/**
 * A chain of `optimizer_update` calls (assembly/optimizers.ts), applied in order to the same element range:
 * word 1 the count, word 2 the byte offset of the first entry. Each entry is {@link CHAIN_ENTRY_BYTES} bytes:
 * the 64-byte descriptor, three slot addresses (bytes 64–75), then the param (byte 80) and grad (byte 84)
 * addresses. Every kind is element-wise, so a range's chain gives the bits of the whole-variable calls.
 */
const UPDATE_CHAIN: i32 = 2;
const CHAIN_ENTRY_BYTES: usize = 96;

/** Spins of a barrier wait before a thread that may block goes to sleep. */
const SPINS_BEFORE_SLEEP: i32 = 1 << 15;
/**
 * Spins after which the calling thread's wait counts as long, for the pool's pause heuristic: tens of
 * microseconds, as long as the wait before sleeping. A helper descheduled in the middle of a chunk (another
 * process took its core) makes waits of milliseconds; the imbalance of a split phase, a few microseconds,
 * must not count, or a step of fifteen barriers would look slow all the time.
 */
const LONG_WAIT_SPINS: i32 = SPINS_BEFORE_SLEEP;
/** Sleep timeout (ns): a sleeper re-checks for a failure or a newer run at least this often. */
const SLEEP_NANOS: i64 = 1_000_000;

// @ts-ignore: decorator
@inline
function word(p: usize, index: i32): i32 {
  return load<i32>(p + ((<usize>index) << 2));
}

// @ts-ignore: decorator
@inline
function ptr(p: usize, index: i32): usize {
  return <usize>load<i32>(p + ((<usize>index) << 2));
}

// @ts-ignore: decorator
@inline
function chunkStart(c: i32, chunks: i32, total: i32, align: i32): i32 {
  const units = (total + align - 1) / align;
  return min(total, <i32>((<i64>units * c) / chunks) * align);
}

// @ts-ignore: decorator
@inline
function tagged(serial: i32, low: u32): u64 {
  return ((<u64><u32>serial) << 32) | <u64>low;
}

/**
 * Runs the plan at `plan` as thread `t` for the run `serial`; `canBlock` says whether this thread may sleep
 * in `memory.atomic.wait` (not a browser's main thread). Thread 0, the caller, returns once every phase is
 * done; helpers return when nothing is left to claim. Returns the number of chunks this thread ran (0 when it
 * had no part in the run: a newer run started, or it is not allowed), or −1 when a helper failed (the caller
 * then gives up the pool).
 */
export function plan_run(plan: usize, t: i32, canBlock: i32, serial: i32): i32 {
  if (atomic.load<i32>(plan + (<usize>H_SERIAL << 2)) != serial) return 0;
  const allowed = word(plan, H_ALLOWED);
  if (t >= allowed) return 0;
  const first = word(plan, H_FIRST);
  const last = word(plan, H_LAST);
  const sync = ptr(plan, H_SYNC);
  const limit = t == 0 ? word(plan, H_MAIN_LIMIT) : 0;
  let ran = 0;
  for (let p = first; p < last; p++) {
    const record = plan + PHASE_TABLE + <usize>p * PHASE_BYTES;
    const chunks = word(record, 1);
    const full: u32 = chunks >= 32 ? 0xffffffff : (1 << chunks) - 1;
    const claim = sync + (<usize>p << 7);
    let taken = 0;
    for (;;) {
      if (limit > 0 && taken >= limit) break;
      const current = atomic.load<u64>(claim);
      const behind = serial - <i32>(current >>> 32);
      if (behind < 0) return ran; // a newer run has started: this thread is late
      const mask: u32 = behind == 0 ? <u32>current : 0;
      // All of this phase's chunks are taken. A superset counts too: the caller closes a finished run's claim
      // words with every bit set (below), and a thread late from that run may have read the chunk count the
      // caller has since written for the next run (it rewrites the words before it publishes that run).
      if ((mask & full) == full) break;
      const c = pick(mask, full, t, allowed, chunks);
      if (atomic.cmpxchg<u64>(claim, current, tagged(serial, mask | (1 << c))) != current) continue;
      taken++;
      if (p > first) {
        const previous = plan + PHASE_TABLE + <usize>(p - 1) * PHASE_BYTES;
        const state = waitDone(plan, sync + (<usize>(p - 1) << 7) + 64, serial, word(previous, 1), t, canBlock);
        if (state != 0) return state < 0 ? -1 : ran;
      }
      runChunk(plan, record, c, chunks, t);
      finish(plan, claim + 64, serial, chunks);
      ran++;
    }
  }
  if (t == 0 && last > first) {
    const record = plan + PHASE_TABLE + <usize>(last - 1) * PHASE_BYTES;
    if (waitDone(plan, sync + (<usize>(last - 1) << 7) + 64, serial, word(record, 1), 0, canBlock) != 0) return -1;
    // Close the run: every claim word of its phases gets all 32 bits, so that a thread still on its way into
    // this run (it read the serial before the run ended) claims nothing, whatever chunk count it reads from
    // words the caller rewrites next. Without this, such a thread could read a larger count for the next
    // run, find a chunk free in this run's mask and run it with the next run's half-written words.
    for (let p = first; p < last; p++) atomic.store<u64>(sync + (<usize>p << 7), tagged(serial, 0xffffffff));
  }
  return ran;
}

/** The chunk thread t claims next: the lowest free one of its own share, else the highest free one. */
function pick(mask: u32, full: u32, t: i32, allowed: i32, chunks: i32): i32 {
  const low = (t * chunks) / allowed;
  const high = ((t + 1) * chunks) / allowed;
  for (let c = low; c < high; c++) if ((mask & (1 << c)) == 0) return c;
  return 31 - <i32>clz(full & ~mask);
}

/** Counts one finished chunk; the thread that completes the phase wakes any sleeper. */
function finish(plan: usize, done: usize, serial: i32, chunks: i32): void {
  for (;;) {
    const current = atomic.load<u64>(done);
    const count: u32 = <i32>(current >>> 32) == serial ? <u32>current + 1 : 1;
    if (atomic.cmpxchg<u64>(done, current, tagged(serial, count)) == current) {
      if (<i32>count == chunks && atomic.load<i32>(plan + (<usize>H_SLEEPERS << 2)) > 0) atomic.notify(done);
      return;
    }
  }
}

/**
 * Waits until all `chunks` chunks of a phase are done. Spins first (a chunk takes microseconds), then sleeps
 * when allowed. Returns 0 when they are, −1 when a helper failed (the run is abandoned), 1 when (for a helper)
 * a newer run has started, so this one is over.
 */
function waitDone(plan: usize, done: usize, serial: i32, chunks: i32, t: i32, canBlock: i32): i32 {
  const target = tagged(serial, <u32>chunks);
  const control = ptr(plan, H_CONTROL);
  let spins = 0;
  for (;;) {
    const current = atomic.load<u64>(done);
    if (current == target) break;
    // A newer run has reused the word: this one is over (only a late helper can see this). The serial is
    // read as its own int32, not shifted out of `current`: V8's baseline compiler (Liftoff, Node 20)
    // corrupts an i64 that is both computed on and passed to `memory.atomic.wait` in this loop, and the
    // wait then never ends (a minimal reproduction hangs under --liftoff-only, not under --no-liftoff).
    if (atomic.load<i32>(done, 4) - serial > 0) return 1;
    spins++;
    if ((spins & 255) != 0) continue;
    if (atomic.load<i32>(control + C_FAILED) != 0) return -1;
    if (t > 0 && atomic.load<i32>(control + C_SERIAL) != serial) return 1;
    if (canBlock != 0 && spins >= SPINS_BEFORE_SLEEP) {
      const sleepers = plan + (<usize>H_SLEEPERS << 2);
      atomic.add<i32>(sleepers, 1);
      atomic.wait<u64>(done, current, SLEEP_NANOS);
      atomic.sub<i32>(sleepers, 1);
    }
  }
  if (t == 0 && spins >= LONG_WAIT_SPINS) atomic.add<i32>(plan + (<usize>H_LONG_WAITS << 2), 1);
  return 0;
}

function runChunk(plan: usize, record: usize, c: i32, chunks: i32, t: i32): void {
  const m = word(plan, H_M);
  const train = word(plan, H_TRAIN) != 0;
  const scratch: usize = ptr(plan, H_SCRATCH) + <usize>t * ptr(plan, H_SCRATCH_STRIDE);
  const op = word(record, 0);
  if (op == OP_DENSE_FORWARD) denseForward(record, c, chunks, m, train, scratch);
  else if (op == OP_DENSE_BACKWARD) denseBackward(record, c, chunks, m, scratch);
  else if (op == OP_LOSS) lossChunk(record, m, train);
  else if (op == OP_DROPOUT) dropout(record, c, chunks, m, train);
  else if (op == OP_SOFTMAX) {
    const n = word(record, 4);
    const i0 = chunkStart(c, chunks, m, 1);
    const i1 = chunkStart(c + 1, chunks, m, 1);
    const offset = <usize>i0 * (<usize>n << 2);
    softmax_rows(ptr(record, 2) + offset, ptr(record, 3) + offset, i1 - i0, n);
  } else if (op == OP_FORWARD_PARTS) forwardParts(record, c, chunks, m, scratch);
  else if (op == OP_ADD_ACTIVATE) addActivate(record, c, chunks, m, train);
  else if (op == OP_RANGE) {
    const total = word(record, 3);
    const unit = word(record, 4);
    run_range(record, word(record, 2), scratch, chunkStart(c, chunks, total, unit), chunkStart(c + 1, chunks, total, unit));
  } else if (op == OP_OPTIMIZER) optimizerChunk(record, c, chunks);
}

/**
 * `optimizer_update` over this chunk's elements, split as the SGD step splits (whole 6-row groups of a matrix
 * whose dW product split it so, else whole cache lines). Words: 2 descriptor, 3 param, 4 grad, 5 slots,
 * 6 length, 7 row length.
 */
function optimizerChunk(record: usize, c: i32, chunks: i32): void {
  const length = word(record, 6);
  const rowLength = word(record, 7);
  let i0: i32, i1: i32;
  if (rowLength > 0) {
    const rows = length / rowLength;
    i0 = chunkStart(c, chunks, rows, 6) * rowLength;
    i1 = chunkStart(c + 1, chunks, rows, 6) * rowLength;
  } else {
    i0 = chunkStart(c, chunks, length, 16);
    i1 = chunkStart(c + 1, chunks, length, 16);
  }
  if (i0 >= i1) return;
  optimizer_update(ptr(record, 2), ptr(record, 3), ptr(record, 4), ptr(record, 5), i0, i1);
}

/**
 * A wide layer's product z = x·W + b in two parts over the depth, split at a row of W fixed by the shape
 * (`split`, word 9): part 0 (rows [0, split), with the bias) into z, part 1 into `partial`; OP_ADD_ACTIVATE
 * then adds them. With one chunk it computes both; otherwise chunk c computes part ⌊c/R⌋ for the c mod R-th
 * block of batch rows (R, word 10: whole 6-row groups, so each block's groups are the ones of the whole
 * batch, fixed from row 0). The two parts are the same sums whoever computes
 * them, so the split costs no bits between thread counts, and each part reads only the rows of W that the
 * dW chunk and update of the same thread wrote (two threads: W never crosses between the cores' caches).
 * Words: 2 x, 3 W, 4 b, 5 z, 6 partial, 7 k, 8 n.
 */
function forwardParts(record: usize, c: i32, chunks: i32, m: i32, scratch: usize): void {
  const x = ptr(record, 2);
  const w = ptr(record, 3);
  const k = word(record, 7);
  const n = word(record, 8);
  const split = word(record, 9);
  const blocks = chunks == 1 ? 1 : word(record, 10);
  const block = chunks == 1 ? 0 : c % blocks;
  const i0 = chunkStart(block, blocks, m, 6);
  const i1 = chunkStart(block + 1, blocks, m, 6);
  if (i0 >= i1) return;
  const xi = x + <usize>i0 * (<usize>k << 2);
  const zo = <usize>i0 * (<usize>n << 2);
  if (chunks == 1 || c < blocks) gemm_forward_part(xi, w, ptr(record, 4), ptr(record, 5) + zo, i1 - i0, k, n, 0, split, scratch);
  if (chunks == 1 || c >= blocks) gemm_forward_part(xi, w, 0, ptr(record, 6) + zo, i1 - i0, k, n, split, k, scratch);
}

/**
 * z += partial, then y = f(z) (a softmax included: whole rows) and a following Dropout's mask, over this
 * chunk's batch rows. Words: 2 z, 3 partial, 4 y, 5 n, 6 activation, 7 mask (0: none), 8 dropout output.
 */
function addActivate(record: usize, c: i32, chunks: i32, m: i32, train: bool): void {
  const n = word(record, 5);
  const i0 = chunkStart(c, chunks, m, 1);
  const i1 = chunkStart(c + 1, chunks, m, 1);
  if (i0 >= i1) return;
  const rows = i1 - i0;
  const offset = <usize>i0 * (<usize>n << 2);
  const z = ptr(record, 2) + offset;
  const y = ptr(record, 4) + offset;
  add_partial(z, ptr(record, 3) + offset, rows * n);
  const act = word(record, 6);
  if (act == SOFTMAX) softmax_rows(z, y, rows, n);
  else if (act != LINEAR || z != y) activation_block(act, z, y, rows, n, 0, n);
  const mask = ptr(record, 7);
  if (mask != 0) multiplyRange(y, train ? mask + offset : 0, ptr(record, 8) + offset, rows * n);
}

/**
 * Forward of a Dense layer over output columns [j0, j1) (whole 8-column tiles, the GEMM's forward unit): z = x·W + b, y = f(z), and, when a
 * Dropout follows, its output y ⊙ mask (a copy of y in inference). Words: 2 x, 3 W, 4 b, 5 z, 6 y, 7 k, 8 n,
 * 9 activation, 10 mask (0: none), 11 dropout output. A softmax is applied here only when the phase has one
 * chunk; otherwise an OP_SOFTMAX phase follows.
 */
function denseForward(record: usize, c: i32, chunks: i32, m: i32, train: bool, scratch: usize): void {
  const n = word(record, 8);
  const j0 = chunkStart(c, chunks, n, 8);
  const j1 = chunkStart(c + 1, chunks, n, 8);
  if (j0 >= j1) return;
  const z = ptr(record, 5);
  const y = ptr(record, 6);
  const act = word(record, 9);
  gemm_forward(ptr(record, 2), ptr(record, 3), ptr(record, 4), z, m, word(record, 7), n, j0, j1, scratch);
  if (act == SOFTMAX) {
    if (chunks == 1) softmax_rows(z, y, m, n);
  } else if (act != LINEAR || z != y) {
    activation_block(act, z, y, m, n, j0, j1);
  }
  const mask = ptr(record, 10);
  if (mask != 0) multiplyColumns(y, train ? mask : 0, ptr(record, 11), m, n, j0, j1);
}

/** out[:, j0..j1) = a ⊙ mask (a copy of a when mask is 0), rows of `stride` floats. */
function multiplyColumns(a: usize, mask: usize, out: usize, m: i32, stride: i32, j0: i32, j1: i32): void {
  const s4 = (<usize>stride) << 2;
  const o0 = (<usize>j0) << 2;
  for (let i = 0; i < m; i++) {
    const row = <usize>i * s4 + o0;
    multiplyRange(a + row, mask == 0 ? 0 : mask + row, out + row, j1 - j0);
  }
}

/** out[0..length) = a ⊙ mask, or a copy of a when mask is 0; lanes past the end are never written. */
function multiplyRange(a: usize, mask: usize, out: usize, length: i32): void {
  if (mask == 0) {
    if (a != out) memory.copy(out, a, (<usize>length) << 2);
    return;
  }
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(mask + o)));
  }
  if (i < length) {
    const o = (<usize>i) << 2;
    storeLanes(out + o, f32x4.mul(v128.load(a + o), v128.load(mask + o)), length - i);
  }
}

/** A Dropout not fused into a Dense: words 2 x, 3 mask, 4 out, 5 width; elements split in cache lines. */
function dropout(record: usize, c: i32, chunks: i32, m: i32, train: bool): void {
  const total = m * word(record, 5);
  const e0 = chunkStart(c, chunks, total, 16);
  const e1 = chunkStart(c + 1, chunks, total, 16);
  const o = (<usize>e0) << 2;
  multiplyRange(ptr(record, 2) + o, train ? ptr(record, 3) + o : 0, ptr(record, 4) + o, e1 - e0);
}

/**
 * The loss and the accuracy counts (one chunk): words 2 yPred, 3 yTrue, 4 dPred, 5 n, 6 loss kind, 7 fused,
 * 8 metric count, 9..12 metric kinds, 13 results (float64: loss sum, then the counts). In training, when 23
 * (needGradient) is set, the gradient then goes down to the top Dense layer's pre-activation: through the
 * masks of Dropouts above it (18 count, 19..22), then its activation's derivative (14 activation, −1: none;
 * 15 z, 16 y) into 17 (dz).
 */
function lossChunk(record: usize, m: i32, train: bool): void {
  const yPred = ptr(record, 2);
  const yTrue = ptr(record, 3);
  const n = word(record, 5);
  const gradient = train && word(record, 23) != 0;
  const dPred = gradient ? ptr(record, 4) : 0;
  const results = ptr(record, 13);
  store<f64>(results, loss(word(record, 6), yPred, yTrue, dPred, m, n, word(record, 7)));
  const metrics = word(record, 8);
  for (let i = 0; i < metrics; i++) {
    store<f64>(results + 8 + (<usize>i << 3), count_correct(word(record, 9 + i), yPred, yTrue, m, n));
  }
  if (!gradient) return;
  const length = m * n;
  const masks = word(record, 18);
  for (let i = 0; i < masks; i++) multiplyRange(dPred, ptr(record, 19 + i), dPred, length);
  const act = word(record, 14);
  if (act < 0) return;
  const dz = ptr(record, 17);
  if (act == SOFTMAX) softmax_backward(ptr(record, 16), dPred, dz, m, n);
  else activation_backward(act, ptr(record, 15), ptr(record, 16), dPred, dz, length);
}

/**
 * Backward of a Dense layer over rows [p0, p1) of W, given δ = ∂L/∂z (m×n). The rows fall on the GEMM's units:
 * whole 8-row blocks (columns of dx) for dX alone, 6-row groups for dW alone, 24 rows when a chunk computes
 * both (it must update only the rows of W its own dX read):
 * - word 10 set: ∂L/∂x[:, p0..p1) = δ·Wᵀ, before W changes, then down to the pre-activation of the Dense
 *   below, in place (11): times the masks of Dropouts between (12 count, 13..16), times f′ of its activation
 *   (17, 18 z, 19 y);
 * - word 20 set: dW[p0..p1, :] = xᵀ·δ, in blocks of `blockRows` (23) rows, each block's update (21) applied
 *   right after it is computed, while it is in cache;
 * - word 24 set: db[j0..j1) = Σ_rows δ over this chunk's share of the columns, and the bias's update (22).
 * Words 2 x, 3 δ, 4 W, 5 dW, 6 b, 7 db, 8 k, 9 n. Each chunk reads and writes only its own rows of W, so a
 * chunk's dX never sees another chunk's update.
 */
function denseBackward(record: usize, c: i32, chunks: i32, m: i32, scratch: usize): void {
  const x = ptr(record, 2);
  const dz = ptr(record, 3);
  const w = ptr(record, 4);
  const k = word(record, 8);
  const n = word(record, 9);
  const input = word(record, 10) != 0;
  const weights = word(record, 20) != 0;
  const unit = input ? (weights ? 24 : 8) : 6;
  const p0 = chunkStart(c, chunks, k, unit);
  const p1 = chunkStart(c + 1, chunks, k, unit);
  if (p0 < p1 && input) {
    const dx = ptr(record, 11);
    gemm_input(dz, w, dx, m, k, n, p0, p1, scratch);
    const k4 = (<usize>k) << 2;
    const o0 = (<usize>p0) << 2;
    const width = p1 - p0;
    const masks = word(record, 12);
    const act = word(record, 17);
    for (let i = 0; i < m; i++) {
      const row = <usize>i * k4 + o0;
      for (let q = 0; q < masks; q++) multiplyRange(dx + row, ptr(record, 13 + q) + row, dx + row, width);
      if (act != LINEAR) activation_backward(act, ptr(record, 18) + row, ptr(record, 19) + row, dx + row, dx + row, width);
    }
  }
  if (p0 < p1 && weights) {
    const dw = ptr(record, 5);
    const update = ptr(record, 21);
    const block = word(record, 23);
    for (let b0 = p0; b0 < p1; b0 += block) {
      const b1 = min(p1, b0 + block);
      gemm_weights(x, dz, dw, m, k, n, b0, b1, scratch);
      if (update != 0) applyUpdate(update, b0 * n, b1 * n);
    }
  }
  if (word(record, 24) != 0) {
    const j0 = chunkStart(c, chunks, n, 4);
    const j1 = chunkStart(c + 1, chunks, n, 4);
    if (j0 < j1) {
      columnSums(dz, ptr(record, 7), m, n, j0, j1);
      const update = ptr(record, 22);
      if (update != 0) applyUpdate(update, j0, j1);
    }
  }
}

/** db[j0..j1) = Σ_i dz[i, j], rows in order (the same sums as column_sums, whatever the range). */
function columnSums(dz: usize, db: usize, m: i32, n: i32, j0: i32, j1: i32): void {
  const n4 = (<usize>n) << 2;
  for (let j = j0; j < j1; j += 4) {
    let acc = f32x4.splat(0);
    let p = dz + ((<usize>j) << 2);
    for (let i = 0; i < m; i++) {
      acc = f32x4.add(acc, v128.load(p));
      p += n4;
    }
    storeLanes(db + ((<usize>j) << 2), acc, j1 - j);
  }
}

/** Applies the update record at `update` to elements [i0, i1) of its parameter. */
function applyUpdate(update: usize, i0: i32, i1: i32): void {
  const kind = word(update, 0);
  if (kind == UPDATE_CHAIN) {
    const count = word(update, 1);
    let entry = ptr(update, 2);
    for (let i = 0; i < count; i++) {
      optimizer_update(entry, ptr(entry, 20), ptr(entry, 21), entry + 64, i0, i1);
      entry += CHAIN_ENTRY_BYTES;
    }
  }
}
