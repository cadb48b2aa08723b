/**
 * Who frees kernel memory, and when.
 *
 * Every block of kernel memory belongs to one {@link OwnedMemory}, held by the object that uses the block (a
 * variable's value and gradient, a layer's batch buffers, an optimizer's slots, a model's input buffers). The
 * object frees it with `dispose()`. As a safety net, an `OwnedMemory` holding blocks is registered with a
 * `FinalizationRegistry` against its owner: when the owner is garbage-collected without `dispose()`, the
 * registry frees the blocks. The `OwnedMemory` holds the blocks, their backend and a weak reference to the
 * owner, never the owner itself, so the registration does not keep the owner alive.
 *
 * Layers and optimizers are shared between models (as in Keras), so they also record which models use them
 * ({@link addUser}): weakly, so that a forgotten model stops counting once it is collected.
 * @module
 */

import type { Kernels } from '../kernels/kernels.js';

let reclaimed = 0;

const registry = new FinalizationRegistry<OwnedMemory>((memory) => {
  reclaimed += memory.blockCount;
  memory.freeAll();
});

/**
 * Kernel memory lives outside the JavaScript heap, so the garbage collector cannot see it: a loop that drops
 * models without `dispose()` would fill gigabytes of kernel memory while the collector, seeing only a few
 * small objects, does not run, and the safety net never fires. So for every {@link PRESSURE_STEP} bytes
 * allocated, the owner whose allocation crosses the step holds an ArrayBuffer of that size that is never
 * touched: the engine counts it as external memory (and collects sooner), while a buffer this large is mapped
 * lazily and costs address space, not resident memory. At most {@link PRESSURE_CAP} bytes of such buffers
 * are held, so that 32-bit hosts keep their address space.
 */
const PRESSURE_STEP = 33 * 2 ** 20;
const PRESSURE_CAP = 2 ** 30;
let unreportedBytes = 0;
let pressureBytes = 0;

/**
 * The blocks of kernel memory one object owns. Freed together by {@link OwnedMemory.freeAll} (the owner's
 * `dispose`), or by the garbage collector's finalization once the owner is unreachable.
 */
export class OwnedMemory {
  private readonly blocks = new Map<Float32Array, Kernels>();
  private readonly owner: WeakRef<object>;
  private registered = false;
  private pressure: ArrayBuffer | null = null;

  /** @param owner - the object whose collection frees these blocks (only weakly referenced from here) */
  constructor(owner: object) {
    this.owner = new WeakRef(owner);
  }

  /**
   * Blocks of kernel memory freed by the garbage collector's safety net since the process started (their
   * owners were dropped without `dispose()`). Diagnostics for tests and benchmarks.
   */
  static get reclaimedBlocks(): number {
    return reclaimed;
  }

  /** Number of blocks currently held. */
  get blockCount(): number {
    return this.blocks.size;
  }

  /** `length` zeroed floats from `kernels`, owned by this object until freed. */
  alloc(kernels: Kernels, length: number): Float32Array {
    const buffer = kernels.alloc(length);
    this.blocks.set(buffer, kernels);
    if (!this.registered) {
      const owner = this.owner.deref();
      if (owner !== undefined) {
        // Registered only while holding blocks, so that disposed owners leave nothing in the registry.
        registry.register(owner, this, this);
        this.registered = true;
      }
    }
    unreportedBytes += length * 4;
    if (unreportedBytes >= PRESSURE_STEP && this.pressure === null && pressureBytes < PRESSURE_CAP) {
      this.pressure = new ArrayBuffer(unreportedBytes);
      pressureBytes += unreportedBytes;
      unreportedBytes = 0;
    }
    return buffer;
  }

  /** Frees one block allocated here (nothing for a block that is not, or no longer, held). */
  free(buffer: Float32Array): void {
    const kernels = this.blocks.get(buffer);
    if (kernels === undefined) return;
    this.blocks.delete(buffer);
    kernels.free(buffer);
    if (this.blocks.size === 0) this.freeAll();
  }

  /** Frees every block (the owner's `dispose`, or the finalization); blocks allocated later are tracked again. */
  freeAll(): void {
    if (this.registered) {
      registry.unregister(this);
      this.registered = false;
    }
    for (const [buffer, kernels] of this.blocks) kernels.free(buffer);
    this.blocks.clear();
    if (this.pressure !== null) {
      pressureBytes -= this.pressure.byteLength;
      this.pressure = null;
    }
  }
}

const usersOf = new WeakMap<object, Array<WeakRef<object>>>();

/** Records that `user` (a model) uses `resource` (a layer or an optimizer). Adding twice counts once. */
export function addUser(resource: object, user: object): void {
  const users = liveUsers(resource);
  if (!users.some((ref) => ref.deref() === user)) users.push(new WeakRef(user));
  usersOf.set(resource, users);
}

/**
 * Ends `user`'s use of `resource`. Returns whether another user (still reachable, not finished with it)
 * remains: when none does, the caller that ends the last use decides whether to dispose the resource.
 */
export function removeUser(resource: object, user: object): boolean {
  const users = liveUsers(resource).filter((ref) => ref.deref() !== user);
  usersOf.set(resource, users);
  return users.length > 0;
}

/** The users of `resource` that are still reachable (collected ones are dropped). */
function liveUsers(resource: object): Array<WeakRef<object>> {
  return (usersOf.get(resource) ?? []).filter((ref) => ref.deref() !== undefined);
}
