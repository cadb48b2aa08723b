import * as host from '../platform/host.js';
import type { Kernels } from './kernels.js';
import { ReferenceKernels } from './reference.js';

export * from './errors.js';
export * from './kernels.js';
export { ReferenceKernels } from './reference.js';
export {
  checkOptions,
  type OptionKeys,
  suggestOption,
  type UnknownKey,
  UnknownOptionError,
} from './options.js';

/** A function that creates a backend's kernels (asynchronously when it must compile code first). */
export type BackendFactory = () => Kernels | Promise<Kernels>;

const factories = new Map<string, BackendFactory>([['reference', () => new ReferenceKernels()]]);
const instances = new Map<string, Kernels>();
let current: Kernels | null = null;

/** Makes a backend available to {@link setBackend} under `name`. */
export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
}

/** Names of the registered backends. */
export function listBackends(): string[] {
  return [...factories.keys()];
}

/**
 * Selects the kernels that models built from now on will use (`'wasm'` or `'reference'`). A model keeps the
 * backend it was built with: its weights live in that backend's memory.
 */
export async function setBackend(name: string): Promise<Kernels> {
  let kernels = instances.get(name);
  if (kernels === undefined) {
    const factory = factories.get(name);
    if (factory === undefined) {
      throw new Error(`unknown backend '${name}': known backends are ${listBackends().join(', ')}`);
    }
    kernels = await factory();
    instances.set(name, kernels);
  }
  current = kernels;
  return kernels;
}

/** Sets the current kernels directly (an already created backend). */
export function setKernels(kernels: Kernels): void {
  instances.set(kernels.name, kernels);
  current = kernels;
}

/** The kernels new models use; the reference backend until {@link setBackend} picks another. */
export function getKernels(): Kernels {
  if (current === null) {
    // Node starts the wasm backend at import; a page that builds a model before `ready()` gets this.
    if (host.hostName === 'browser') {
      console.info('warmstart: using the reference kernels; `await ready()` first for the WebAssembly ones');
    }
    current = new ReferenceKernels();
    instances.set(current.name, current);
  }
  return current;
}
