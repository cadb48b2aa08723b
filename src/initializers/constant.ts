import { Initializer } from './initializer.js';

/** Fills with one value: `Constant({ value })`. */
export class Constant extends Initializer {
  readonly className: string = 'Constant';
  readonly value: number;
  constructor(options: { value?: number } = {}) {
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
  constructor() {
    super({ value: 0 });
  }
  override getConfig(): Record<string, unknown> {
    return {};
  }
}

/** Fills with 1. */
export class Ones extends Constant {
  override readonly className: string = 'Ones';
  constructor() {
    super({ value: 1 });
  }
  override getConfig(): Record<string, unknown> {
    return {};
  }
}
