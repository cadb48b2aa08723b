import { Tensor } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';

/** Options every optimizer takes (Keras's names in camelCase). */
export interface OptimizerOptions {
  /** Step size η. */
  learningRate?: number;
  /** Name used in configs. */
  name?: string;
}

/** Thrown for a hyperparameter outside its valid range, at construction. */
export class OptimizerConfigError extends Error {
  override readonly name = 'OptimizerConfigError';
}

/**
 * Base of every optimizer. `build` creates each variable's slots (momentum, moments, …) in the kernels'
 * memory; each step then runs the optimizer's fused update kernel once per variable.
 */
export abstract class Optimizer {
  /** Keras's class name (`SGD`, `Adam`). */
  abstract readonly className: string;
  /** Name used in configs. */
  readonly name: string;
  /** Step size η. */
  learningRate: number;
  /** Number of steps applied so far (Keras's `optimizer.iterations`). */
  iterations = 0;
  private readonly slots = new Map<Variable, Float32Array[]>();

  constructor(options: OptimizerOptions, defaults: { learningRate: number; name: string }) {
    this.learningRate = options.learningRate ?? defaults.learningRate;
    this.name = options.name ?? defaults.name;
    if (!(this.learningRate >= 0) || !Number.isFinite(this.learningRate)) {
      throw new OptimizerConfigError(`${defaults.name}: learningRate must be a finite number ≥ 0, got ${this.learningRate}`);
    }
  }

  /** How many slot arrays (each the variable's size) this optimizer keeps per variable. */
  protected abstract slotCount(): number;

  /** Updates one variable in place from its gradient, in one kernel pass. */
  protected abstract updateStep(variable: Variable, gradient: Float32Array, slots: Float32Array[]): void;

  /** Creates the slots of variables not seen before (zero-filled). */
  build(variables: readonly Variable[]): void {
    for (const variable of variables) {
      if (this.slots.has(variable)) continue;
      const slots: Float32Array[] = [];
      for (let i = 0; i < this.slotCount(); i++) slots.push(variable.kernels.alloc(variable.size));
      this.slots.set(variable, slots);
    }
  }

  /** The slots kept for a variable (empty before `build`). */
  getSlots(variable: Variable): readonly Float32Array[] {
    return this.slots.get(variable) ?? [];
  }

  /**
   * One step over variables whose gradients are in their `gradient` buffers (the training loop's path: no
   * copies, no allocation).
   */
  applyVariableGradients(variables: readonly Variable[]): void {
    for (const variable of variables) {
      let slots = this.slots.get(variable);
      if (slots === undefined) {
        this.build([variable]);
        slots = this.slots.get(variable)!;
      }
      this.updateStep(variable, variable.gradient, slots);
    }
    this.iterations++;
  }

  /** Keras's `apply_gradients([[gradient, variable], …])`: one step with the given gradients. */
  applyGradients(pairs: ReadonlyArray<readonly [Tensor | Float32Array, Variable]>): void {
    for (const [gradient, variable] of pairs) {
      const data = gradient instanceof Tensor ? gradient.data : gradient;
      if (data.length !== variable.size) {
        throw new RangeError(`gradient for '${variable.path}' has ${data.length} elements, the variable ${variable.size}`);
      }
      variable.gradient.set(data);
    }
    this.applyVariableGradients(pairs.map(([, variable]) => variable));
  }

  /** Constructor arguments as Keras's config (snake_case keys). */
  getConfig(): Record<string, unknown> {
    return { name: this.name, learning_rate: this.learningRate };
  }
}
