import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { Initializer } from './initializer.js';

/** Options of {@link Constant}. */
export interface ConstantOptions {
  /** The value every element gets (default 0). */
  value?: number;
}

/** The keys of {@link ConstantOptions}. */
const CONSTANT_OPTION_KEYS = { value: true } as const satisfies OptionKeys<ConstantOptions>;

/** `Zeros` and `Ones` take no options (an object is accepted only when empty, so that a typo is caught). */
export type NoOptions = Record<string, never>;

/** Fills with one value: `Constant({ value })`. */
export class Constant extends Initializer {
  readonly className: string = 'Constant';
  readonly value: number;
  constructor(options: ConstantOptions = {}) {
    checkOptions('Constant', options, CONSTANT_OPTION_KEYS);
    super(null);
    this.value = options.value ?? 0;
  }
  fill(target: Float32Array): void {
    target.fill(this.value);
  }
  override getConfig(): Record<string, unknown> {
    return { value: this.value };
  }
}

/** Fills with 0, Keras's default bias initializer. */
export class Zeros extends Constant {
  override readonly className: string = 'Zeros';
  constructor(options: NoOptions = {}) {
    checkOptions('Zeros', options, {});
    super({ value: 0 });
  }
  override getConfig(): Record<string, unknown> {
    return {};
  }
}

/** Fills with 1. */
export class Ones extends Constant {
  override readonly className: string = 'Ones';
  constructor(options: NoOptions = {}) {
    checkOptions('Ones', options, {});
    super({ value: 1 });
  }
  override getConfig(): Record<string, unknown> {
    return {};
  }
}
