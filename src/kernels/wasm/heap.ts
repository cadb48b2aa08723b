/**
 * The allocator over the shared memory: every buffer a wasm kernel touches comes from here, so a kernel
 * call passes byte offsets and copies nothing.
 * @module
 */

import { HEAP_START } from './abi.js';

const PAGE = 65536;
/** Blocks are whole cache lines: no two threads ever write the same line through different buffers. */
const ALIGN = 64;
/**
 * Bytes kept readable past the highest block. Kernels read whole vectors at row ends (up to 7 floats past
 * the last element) and discard or mask the extra lanes; this keeps those reads inside the memory.
 */
const GUARD = 64;

/**
 * A bump allocator with exact-size free lists, over a shared `WebAssembly.Memory`. Shared memory is never
 * detached by `grow`, so views handed out stay valid when the memory grows; only `memory.buffer` becomes a
 * new object, and the heap remembers each one so that {@link WasmHeap.owns} still recognises old views.
 */
export class WasmHeap {
  /** The memory every kernel instance (main thread and worker) imports. */
  readonly memory: WebAssembly.Memory;
  private readonly buffers = new Set<ArrayBufferLike>();
  private readonly freeLists = new Map<number, number[]>();
  private readonly live = new Map<number, number>();
  private top = HEAP_START;
  private capacity: number;

  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
    this.capacity = memory.buffer.byteLength;
    this.buffers.add(memory.buffer);
  }

  /** Creates a shared memory of `initialBytes`, growable to 4 GiB (or less where the engine refuses that). */
  static create(initialBytes: number): WasmHeap {
    const initial = Math.max(2, Math.ceil(initialBytes / PAGE));
    let memory: WebAssembly.Memory | null = null;
    // 4 GiB is the wasm32 limit; some engines (32-bit hosts, browsers) only reserve less.
    for (const maximum of [65536, 32768, 16384]) {
      try {
        memory = new WebAssembly.Memory({ initial, maximum, shared: true });
        break;
      } catch {
        memory = null;
      }
    }
    if (memory === null) throw new Error('warmstart: cannot create a shared WebAssembly.Memory');
    return new WasmHeap(memory);
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
    let total = 0;
    for (const size of this.live.values()) total += size;
    return total;
  }

  /** The memory's current buffer (a new object after each growth). */
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /** `length` zeroed floats, 64-byte aligned. */
  alloc(length: number): Float32Array {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`alloc: bad length ${length}`);
    const size = Math.max(ALIGN, Math.ceil((length * 4) / ALIGN) * ALIGN);
    const list = this.freeLists.get(size);
    let offset: number;
    let fresh = false;
    if (list !== undefined && list.length > 0) {
      offset = list.pop()!;
    } else {
      offset = this.top;
      this.ensure(offset + size + GUARD);
      this.top = offset + size;
      // Above the old top the memory has never been written: still zero.
      fresh = true;
    }
    this.live.set(offset, size);
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    const view = new Float32Array(buffer, offset, length);
    if (!fresh) view.fill(0);
    return view;
  }

  /** Returns a block from {@link WasmHeap.alloc}; throws on a view that is not one (or already freed). */
  free(view: Float32Array): void {
    const size = this.live.get(view.byteOffset);
    if (size === undefined || !this.owns(view)) {
      throw new Error('free: not a live buffer of this backend (double free, or a subarray?)');
    }
    this.live.delete(view.byteOffset);
    let list = this.freeLists.get(size);
    if (list === undefined) {
      list = [];
      this.freeLists.set(size, list);
    }
    list.push(view.byteOffset);
  }

  /** Grows the memory so that `end` bytes are addressable, by at least half again to amortise growth. */
  private ensure(end: number): void {
    if (end <= this.capacity) return;
    const wanted = Math.max(end, Math.ceil(this.capacity * 1.5));
    const pages = Math.ceil((wanted - this.capacity) / PAGE);
    try {
      this.memory.grow(pages);
    } catch {
      // Half again may exceed the maximum: retry with just what is needed.
      this.memory.grow(Math.ceil((end - this.capacity) / PAGE));
    }
    this.capacity = this.memory.buffer.byteLength;
    this.buffers.add(this.memory.buffer);
  }
}
