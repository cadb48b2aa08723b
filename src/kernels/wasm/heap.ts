/**
 * The allocator over the shared memory: every buffer a wasm kernel touches comes from here, so a kernel
 * call passes byte offsets and copies nothing.
 * @module
 */

import { OutOfMemoryError } from '../errors.js';
import { HEAP_START } from './abi.js';

const PAGE = 65536;
/** The wasm32 address space in pages: 4 GiB. */
const WASM32_PAGES = 65536;
/** Blocks are whole cache lines: no two threads ever write the same line through different buffers. */
const ALIGN = 64;
/**
 * Bytes kept readable past the highest block. Kernels read whole vectors at row ends (up to 7 floats past
 * the last element) and discard or mask the extra lanes; this keeps those reads inside the memory.
 */
const GUARD = 64;

/** Bytes of the block that holds `length` floats: whole cache lines, at least one. */
function blockBytes(length: number): number {
  return Math.max(ALIGN, Math.ceil((length * 4) / ALIGN) * ALIGN);
}

/** Options of {@link WasmHeap.create}. */
export interface WasmHeapOptions {
  /**
   * The most the memory may grow to, in bytes (default and upper bound: 4 GiB, the wasm32 address space;
   * less where the engine refuses to reserve that much). Meant for tests of running out of memory.
   */
  maximumBytes?: number;
}

/**
 * A first-fit-by-size (best fit) allocator over a shared `WebAssembly.Memory`, with splitting and coalescing.
 *
 * Blocks are 64-byte aligned runs of whole cache lines. A request takes the smallest free block that holds
 * it (the lowest such block on ties), splitting off the rest; otherwise it extends the top. A freed block
 * merges with free neighbours on both sides, and when it ends at the top the top comes down instead: after
 * everything allocated since some point is freed, the heap is exactly as it was then. Costs per call:
 * O(log f) to find a block and O(f) to keep the free list sorted, f the number of free blocks (which
 * coalescing keeps small); a training step allocates nothing anyway.
 *
 * Shared memory is never detached by `grow`, so views handed out stay valid when the memory grows; only
 * `memory.buffer` becomes a new object, and the heap remembers each one so that {@link WasmHeap.owns} still
 * recognises old views. Wasm memory cannot shrink: freed blocks are reused, not returned to the system.
 */
export class WasmHeap {
  /** The memory every kernel instance (main thread and worker) imports. */
  readonly memory: WebAssembly.Memory;
  /** The most the memory can grow to, in bytes. */
  readonly maximumBytes: number;
  private readonly buffers = new Set<ArrayBufferLike>();
  /** Live blocks: offset → bytes. */
  private readonly live = new Map<number, number>();
  /** Free blocks below the top: offset → bytes, and end → offset (to find a freed block's neighbours). */
  private readonly freeAt = new Map<number, number>();
  private readonly freeEndingAt = new Map<number, number>();
  /** Offsets of the free blocks sorted by (bytes, offset): the best fit is a binary search away. */
  private readonly freeBySize: number[] = [];
  private liveTotal = 0;
  private freeTotal = 0;
  /** End of the highest live block (no free block ever ends here: it would have lowered the top). */
  private top = HEAP_START;
  /** Highest top so far: memory from here up has never been written, so it is still zero. */
  private highWater = HEAP_START;
  private capacity: number;

  constructor(memory: WebAssembly.Memory, maximumBytes: number = WASM32_PAGES * PAGE) {
    this.memory = memory;
    this.maximumBytes = maximumBytes;
    this.capacity = memory.buffer.byteLength;
    this.buffers.add(memory.buffer);
  }

  /**
   * Creates a shared memory of `initialBytes`, growable to 4 GiB, the whole wasm32 address space (V8 in
   * Node 20 and Chrome reserve it; where an engine refuses, 2 GiB or 1 GiB).
   */
  static create(initialBytes: number, options: WasmHeapOptions = {}): WasmHeap {
    const initial = Math.max(2, Math.ceil(initialBytes / PAGE));
    const cap = Math.floor((options.maximumBytes ?? WASM32_PAGES * PAGE) / PAGE);
    if (!(cap >= initial) || cap > WASM32_PAGES) {
      throw new RangeError(
        `WasmHeap: maximumBytes must be between the initial size (${initial * PAGE}) and 4 GiB, got ${options.maximumBytes}`,
      );
    }
    const limits = [WASM32_PAGES, WASM32_PAGES / 2, WASM32_PAGES / 4].map((pages) => Math.min(pages, cap));
    for (const maximum of new Set(limits)) {
      try {
        const memory = new WebAssembly.Memory({ initial, maximum, shared: true });
        return new WasmHeap(memory, maximum * PAGE);
      } catch {
        // Some engines (32-bit hosts, some browsers) reserve less: try a smaller maximum.
      }
    }
    throw new Error('warmstart: cannot create a shared WebAssembly.Memory');
  }

  /** True when `view` lies in this heap's memory (any generation of its buffer). */
  owns(view: ArrayBufferView): boolean {
    const buffer = view.buffer;
    if (this.buffers.has(buffer)) return true;
    // V8 may replace the buffer object of a shared memory without any growth of it (it refreshes every
    // shared memory of the process when one of them grows), so a miss is checked against the current one.
    if (buffer === this.memory.buffer) {
      this.buffers.add(buffer);
      return true;
    }
    return false;
  }

  /** Bytes currently handed out (live blocks, rounded to cache lines). */
  get liveBytes(): number {
    return this.liveTotal;
  }

  /** Bytes in free blocks below the top (reused before the top grows). */
  get freeBytes(): number {
    return this.freeTotal;
  }

  /** Number of free blocks below the top. */
  get freeBlocks(): number {
    return this.freeBySize.length;
  }

  /** Number of live blocks. */
  get liveBlocks(): number {
    return this.live.size;
  }

  /** End of the highest live block: everything the heap uses lies below it. */
  get topOffset(): number {
    return this.top;
  }

  /** Current size of the memory in bytes (it only grows). */
  get capacityBytes(): number {
    return this.capacity;
  }

  /** The memory's current buffer (a new object after each growth). */
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /**
   * `length` zeroed floats, 64-byte aligned. Throws {@link OutOfMemoryError} when no free block holds them
   * and the memory cannot grow enough.
   */
  alloc(length: number): Float32Array {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`alloc: bad length ${length}`);
    const size = blockBytes(length);
    let offset = this.takeFree(size);
    if (offset < 0) {
      offset = this.top;
      this.ensure(offset + size + GUARD, size);
      this.top = offset + size;
    }
    this.live.set(offset, size);
    this.liveTotal += size;
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    const view = new Float32Array(buffer, offset, length);
    // Only memory below the high-water mark may hold old values; zeroing fresh pages would commit them.
    if (offset < this.highWater) view.fill(0, 0, Math.min(length, (this.highWater - offset) / 4));
    if (this.top > this.highWater) this.highWater = this.top;
    return view;
  }

  /** Returns a block from {@link WasmHeap.alloc}; throws on a view that is not one (or already freed). */
  free(view: Float32Array): void {
    let start = view.byteOffset;
    const size = this.live.get(start);
    if (size === undefined || size !== blockBytes(view.length) || !this.owns(view)) {
      throw new Error('free: not a live buffer of this backend (double free, or a subarray?)');
    }
    this.live.delete(start);
    this.liveTotal -= size;
    let end = start + size;
    const before = this.freeEndingAt.get(start);
    if (before !== undefined) {
      this.removeFree(before);
      start = before;
    }
    const after = this.freeAt.get(end);
    if (after !== undefined) {
      this.removeFree(end);
      end += after;
    }
    if (end === this.top) this.top = start;
    else this.insertFree(start, end - start);
  }

  /** Takes the best-fitting free block for `size` bytes (splitting off the rest); -1 when none fits. */
  private takeFree(size: number): number {
    const sorted = this.freeBySize;
    const index = this.lowerBound(size, 0);
    if (index === sorted.length) return -1;
    const offset = sorted[index];
    const available = this.freeAt.get(offset)!;
    this.removeFree(offset);
    // The rest cannot touch another free block (blocks are coalesced) nor end at the top (it would have
    // lowered it), so it goes back as it is.
    if (available > size) this.insertFree(offset + size, available - size);
    return offset;
  }

  /** First index in {@link freeBySize} whose block is not smaller than (size, offset). */
  private lowerBound(size: number, offset: number): number {
    const sorted = this.freeBySize;
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const candidate = sorted[middle];
      const candidateSize = this.freeAt.get(candidate)!;
      if (candidateSize < size || (candidateSize === size && candidate < offset)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private insertFree(offset: number, size: number): void {
    const index = this.lowerBound(size, offset);
    this.freeAt.set(offset, size);
    this.freeEndingAt.set(offset + size, offset);
    this.freeBySize.splice(index, 0, offset);
    this.freeTotal += size;
  }

  private removeFree(offset: number): void {
    const size = this.freeAt.get(offset)!;
    const index = this.lowerBound(size, offset);
    this.freeBySize.splice(index, 1);
    this.freeAt.delete(offset);
    this.freeEndingAt.delete(offset + size);
    this.freeTotal -= size;
  }

  /**
   * Grows the memory so that `end` bytes are addressable, by at least half again (up to the maximum) to
   * amortise growth; {@link OutOfMemoryError} when the maximum or the engine does not allow it.
   */
  private ensure(end: number, requested: number): void {
    if (end <= this.capacity) return;
    const outOfMemory = (cause?: unknown): OutOfMemoryError =>
      new OutOfMemoryError(
        {
          requestedBytes: requested,
          liveBytes: this.liveTotal,
          limitBytes: this.maximumBytes,
          freeBytes: this.freeTotal,
        },
        cause === undefined ? undefined : { cause },
      );
    if (end > this.maximumBytes) throw outOfMemory();
    const wanted = Math.min(this.maximumBytes, Math.max(end, Math.ceil(this.capacity * 1.5)));
    try {
      this.memory.grow(Math.ceil((wanted - this.capacity) / PAGE));
    } catch {
      // The engine may refuse a large step (address space, or the system's memory): try just what is needed.
      try {
        this.memory.grow(Math.ceil((end - this.capacity) / PAGE));
      } catch (error) {
        throw outOfMemory(error);
      }
    }
    this.capacity = this.memory.buffer.byteLength;
    this.buffers.add(this.memory.buffer);
  }
}
