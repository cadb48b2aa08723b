import { DisposedError } from '../kernels/errors.js';
import { OwnedMemory } from '../tensor/ownership.js';
import { Tensor } from '../tensor/tensor.js';
import type { Variable } from '../tensor/variable.js';
import { checkConfigKeys, checkOptions, type OptionKeyList, type OptionKeys } from '../kernels/options.js';
import {
  camelCaseKeys,
  checkBoolean,
  checkNumber,
  checkOptionalNumber,
  checkString,
  type KerasConfig,
  writtenKeys,
} from './config.js';
import { OptimizerConfigError } from './errors.js';
import { deserializeSchedule, LearningRateSchedule, serializeSchedule } from './schedules/index.js';

export { OptimizerConfigError } from './errors.js';
export type { KerasConfig } from './config.js';

/** A learning rate: a constant, or a schedule evaluated at the optimizer's step count. */
export type LearningRate = number | LearningRateSchedule;

/** Options every optimizer takes (Keras's names in camelCase; `null` means "not set", as Keras's `None`). */
export interface OptimizerOptions {
  /** Step size η, or a schedule giving η at each step. */
  learningRate?: LearningRate;
  /** Name used in configs. */
  name?: string;
  /** Decoupled weight decay λ: before each update, `θ ← θ − θ·λ·η` (`θ·(1 − λη)`). */
  weightDecay?: number | null;
  /** Clip each gradient tensor to this L2 norm: `g ← g · c / max(‖g‖, c)`. */
  clipnorm?: number | null;
  /** Clip each gradient element to `[−c, c]`. */
  clipvalue?: number | null;
  /** Clip all gradients together to this global L2 norm: `g ← g · c / max(‖(g₁, g₂, …)‖, c)`. */
  globalClipnorm?: number | null;
  /** Keep an exponential moving average of the weights (default false). */
  useEma?: boolean;
  /** μ of the moving average: `θ̄ ← μ·θ̄ + (1 − μ)·θ` (default 0.99; the first step copies θ). */
  emaMomentum?: number;
  /** Every this many iterations, overwrite the weights with their moving average (default null: only at the end). */
  emaOverwriteFrequency?: number | null;
  /**
   * Apply the mean of this many successive gradients once every that many calls (default null: every call).
   * `iterations` then counts applied updates, while schedules see every call (as in Keras).
   */
  gradientAccumulationSteps?: number | null;
  /** Keras's loss scaling; not supported: only `null` is accepted (so Keras configs load). */
  lossScaleFactor?: null;
}

/** The keys of {@link OptimizerOptions}; each optimizer's `optionKeys` adds its own. */
export const OPTIMIZER_OPTION_KEYS = {
  learningRate: true,
  name: true,
  weightDecay: true,
  clipnorm: true,
  clipvalue: true,
  globalClipnorm: true,
  useEma: true,
  emaMomentum: true,
  emaOverwriteFrequency: true,
  gradientAccumulationSteps: true,
  lossScaleFactor: true,
} as const satisfies OptionKeys<OptimizerOptions>;

/** Keras's defaults for one optimizer class. */
export interface OptimizerDefaults {
  learningRate: number;
  name: string;
  /** Default weight decay (AdamW: 0.004). */
  weightDecay?: number | null;
}

/** What an optimizer keeps for one variable. */
interface VariableState {
  readonly variable: Variable;
  /** The optimizer's own slots (momentum, moments, …), in Keras's creation order. */
  readonly slots: Float32Array[];
  /** Sum of the gradients since the last applied update (gradient accumulation only). */
  readonly accumulator: Float32Array | null;
  /** Moving average of the variable (EMA only). */
  readonly average: Float32Array | null;
  /** Whether weight decay applies to this variable. */
  decays: boolean;
}

const f = Math.fround;

/**
 * Base of every optimizer, Keras 3's `BaseOptimizer` (PyTorch backend) step for step. One call of
 * {@link Optimizer.applyVariableGradients} does, in order:
 *
 * 1. `η = learningRate`, or `schedule(rawIterations)` (the count before this call);
 * 2. gradient accumulation (when set): add g to the accumulator; on every N-th call continue with
 *    `g = (accumulator + g) / N` and reset the accumulator, on the other calls skip to 5;
 * 3. clipping (`clipnorm`, `clipvalue` or `globalClipnorm`), then weight decay `θ ← θ·(1 − λη)`;
 * 4. the optimizer's update: one fused kernel call per variable ({@link Optimizer.updateStep});
 * 5. EMA: `θ̄ ← μ·θ̄ + (1 − μ)·θ` (μ = 0 while `iterations` is 0), and every `emaOverwriteFrequency`
 *    iterations `θ ← θ̄`;
 * 6. `rawIterations += 1`.
 *
 * Slots live in the variables' kernel memory from {@link Optimizer.build} on; a step allocates nothing.
 * Arithmetic on scalars (bias corrections, η) is done here in float32 (`Math.fround`) as Keras does it; loops over
 * floats are kernel calls.
 *
 * Memory: the optimizer owns its slots (and accumulators, moving averages). A model uses the optimizer of its
 * last `compile`; disposing the last model that uses it disposes it ({@link Optimizer.dispose}), and disposing
 * a model frees the slots of the variables disposed with it ({@link Optimizer.releaseVariables}). An optimizer
 * dropped without `dispose` has its slots freed after garbage collection.
 */
export abstract class Optimizer {
  /** Keras's class name (`SGD`, `Adam`). */
  abstract readonly className: string;
  /** Name used in configs. */
  readonly name: string;
  /** Decoupled weight decay λ, or null. */
  readonly weightDecay: number | null;
  /** Per-tensor gradient norm clip, or null. */
  readonly clipnorm: number | null;
  /** Per-element gradient value clip, or null. */
  readonly clipvalue: number | null;
  /** Global gradient norm clip, or null. */
  readonly globalClipnorm: number | null;
  /** Whether a moving average of the weights is kept. */
  readonly useEma: boolean;
  /** μ of the moving average. */
  readonly emaMomentum: number;
  /** Overwrite weights with their average every this many iterations, or null. */
  readonly emaOverwriteFrequency: number | null;
  /** Number of calls whose gradients are averaged into one update, or null. */
  readonly gradientAccumulationSteps: number | null;

  private learningRateValue: LearningRate;
  private callCount = 0;
  private readonly states = new Map<Variable, VariableState>();
  /** Variables in the order they were built (Keras's `_trainable_variables`). */
  private readonly builtStates: VariableState[] = [];
  private excludedVariables = new Set<Variable>();
  private excludedNames: RegExp | null = null;
  private readonly memory = new OwnedMemory(this);
  private disposed = false;

  constructor(options: OptimizerOptions, defaults: OptimizerDefaults) {
    const owner = new.target.name;
    this.name = checkString(owner, 'name', options.name ?? defaults.name);
    this.learningRateValue = checkLearningRate(owner, options.learningRate ?? defaults.learningRate);
    this.weightDecay = checkOptionalNumber(
      owner,
      'weightDecay',
      options.weightDecay === undefined ? (defaults.weightDecay ?? null) : options.weightDecay,
      { min: 0 },
    );
    const positive = { min: 0, minExclusive: true };
    this.clipnorm = checkOptionalNumber(owner, 'clipnorm', options.clipnorm, positive);
    this.clipvalue = checkOptionalNumber(owner, 'clipvalue', options.clipvalue, positive);
    this.globalClipnorm = checkOptionalNumber(owner, 'globalClipnorm', options.globalClipnorm, positive);
    const clips = [this.clipnorm, this.clipvalue, this.globalClipnorm].filter((c) => c !== null).length;
    if (clips > 1) {
      throw new OptimizerConfigError(
        `${owner}: only one of clipnorm, clipvalue and globalClipnorm can be set, got clipnorm=${this.clipnorm}, ` +
          `clipvalue=${this.clipvalue}, globalClipnorm=${this.globalClipnorm}`,
      );
    }
    this.useEma = checkBoolean(owner, 'useEma', options.useEma ?? false);
    this.emaMomentum = checkNumber(owner, 'emaMomentum', options.emaMomentum ?? 0.99, { min: 0, max: 1 });
    this.emaOverwriteFrequency = checkOptionalNumber(
      owner,
      'emaOverwriteFrequency',
      options.emaOverwriteFrequency,
      {
        min: 1,
        integer: true,
      },
    );
    this.gradientAccumulationSteps = checkOptionalNumber(
      owner,
      'gradientAccumulationSteps',
      options.gradientAccumulationSteps,
      { min: 2, integer: true },
    );
    if (options.lossScaleFactor !== undefined && options.lossScaleFactor !== null) {
      throw new OptimizerConfigError(
        `${owner}: lossScaleFactor is not supported (got ${String(options.lossScaleFactor)})`,
      );
    }
  }

  // ---- What each optimizer defines.

  /** Initial value of each slot the optimizer keeps per variable (its length is the number of slots). */
  protected abstract slotInitialValues(): readonly number[];

  /**
   * Called once per applied update, before the per-variable updates: compute the step's scalars (bias
   * corrections, …) from `learningRate` and `localStep` (`iterations + 1`).
   */
  protected prepareStep(_learningRate: number, _localStep: number): void {}

  /** Updates one variable in place from its gradient, in one kernel call. */
  protected abstract updateStep(
    variable: Variable,
    gradient: Float32Array,
    slots: readonly Float32Array[],
  ): void;

  // ---- Learning rate and counters.

  /**
   * The learning rate as given: a number (float32, as Keras stores it in a variable) or the schedule. Setting a
   * number is how callbacks such as ReduceLROnPlateau change it; that is an error while a schedule is in use
   * (as in Keras). A schedule may replace either.
   */
  get learningRate(): LearningRate {
    return this.learningRateValue;
  }

  set learningRate(value: LearningRate) {
    if (typeof value === 'number' && this.learningRateValue instanceof LearningRateSchedule) {
      throw new OptimizerConfigError(
        `${this.name}: this optimizer was created with a ${this.learningRateValue.className} learning-rate schedule, ` +
          'so its learning rate cannot be set to a number; create it with a number learningRate to make it settable',
      );
    }
    this.learningRateValue = checkLearningRate(this.name, value);
  }

  /** The learning rate the next step will use: the number, or the schedule's value at `rawIterations`. */
  currentLearningRate(): number {
    const value = this.learningRateValue;
    return typeof value === 'number' ? value : value.valueAt(this.callCount);
  }

  /**
   * Number of updates applied (Keras's `optimizer.iterations`). With gradient accumulation it is
   * `⌊rawIterations / gradientAccumulationSteps⌋`; bias corrections and EMA use it.
   */
  get iterations(): number {
    const steps = this.gradientAccumulationSteps;
    return steps === null ? this.callCount : Math.floor(this.callCount / steps);
  }

  set iterations(value: number) {
    checkNumber(this.name, 'iterations', value, { min: 0, integer: true });
    this.callCount = value * (this.gradientAccumulationSteps ?? 1);
  }

  /** Number of calls of `applyGradients`/`applyVariableGradients` (Keras's `optimizer._iterations`); schedules see it. */
  get rawIterations(): number {
    return this.callCount;
  }

  set rawIterations(value: number) {
    this.callCount = checkNumber(this.name, 'rawIterations', value, { min: 0, integer: true });
  }

  // ---- State.

  /** Creates the slots (and accumulators, moving averages) of variables not seen before. */
  build(variables: readonly Variable[]): void {
    for (const variable of variables) this.buildVariable(variable);
  }

  private buildVariable(variable: Variable): VariableState {
    const existing = this.states.get(variable);
    if (existing !== undefined) return existing;
    if (this.disposed) throw new DisposedError('optimizer', this.name, `build slots for '${variable.path}'`);
    const kernels = variable.kernels;
    const allocate = (value: number): Float32Array => {
      const buffer = this.memory.alloc(kernels, variable.size);
      if (value !== 0) kernels.fill(buffer, value);
      return buffer;
    };
    const state: VariableState = {
      variable,
      slots: this.slotInitialValues().map(allocate),
      accumulator: this.gradientAccumulationSteps === null ? null : allocate(0),
      average: this.useEma ? allocate(0) : null,
      decays: this.decaysVariable(variable),
    };
    this.states.set(variable, state);
    this.builtStates.push(state);
    return state;
  }

  /**
   * Frees the slots (accumulators, moving averages) kept for these variables: what a model's `dispose` calls
   * for the variables it disposes. A variable seen again later starts from fresh slots.
   */
  releaseVariables(variables: readonly Variable[]): void {
    for (const variable of variables) {
      const state = this.states.get(variable);
      if (state === undefined) continue;
      for (const buffer of [...state.slots, state.accumulator, state.average]) {
        if (buffer !== null) this.memory.free(buffer);
      }
      this.states.delete(variable);
      this.builtStates.splice(this.builtStates.indexOf(state), 1);
    }
  }

  /**
   * Frees every slot; the optimizer cannot build or apply anything afterwards ({@link DisposedError}).
   * `model.dispose()` calls it when no other live model was compiled with this optimizer. Calling it again
   * does nothing.
   */
  dispose(): void {
    this.memory.freeAll();
    this.states.clear();
    this.builtStates.length = 0;
    this.disposed = true;
  }

  /** Whether {@link Optimizer.dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The optimizer's slots for a variable, in Keras's order (empty before `build`). */
  getSlots(variable: Variable): readonly Float32Array[] {
    return this.states.get(variable)?.slots ?? [];
  }

  /** The moving average kept for a variable (`useEma`), or null. */
  getMovingAverage(variable: Variable): Float32Array | null {
    return this.states.get(variable)?.average ?? null;
  }

  /**
   * Keras's `exclude_from_weight_decay`: no weight decay for these variables, nor for variables whose name
   * contains one of `names`.
   */
  excludeFromWeightDecay(options: { variables?: readonly Variable[]; names?: readonly string[] }): void {
    checkOptions(`${this.className}.excludeFromWeightDecay`, options, { variables: true, names: true });
    this.excludedVariables = new Set(options.variables ?? []);
    const names = options.names ?? [];
    // As in Keras, the names are joined into one regular expression searched in each variable's name.
    this.excludedNames = names.length === 0 ? null : new RegExp([...new Set(names)].join('|'));
    for (const state of this.builtStates) state.decays = this.decaysVariable(state.variable);
  }

  private decaysVariable(variable: Variable): boolean {
    if (this.excludedVariables.has(variable)) return false;
    return this.excludedNames === null || !this.excludedNames.test(variable.name);
  }

  // ---- Steps.

  /** Keras's `apply_gradients([[gradient, variable], …])`: one step with the given gradients. */
  applyGradients(pairs: ReadonlyArray<readonly [Tensor | Float32Array, Variable]>): void {
    for (const [gradient, variable] of pairs) {
      const data = gradient instanceof Tensor ? gradient.data : gradient;
      if (data.length !== variable.size) {
        throw new RangeError(
          `gradient for '${variable.path}' has ${data.length} elements, the variable ${variable.size}`,
        );
      }
      variable.gradient.set(data);
    }
    this.applyVariableGradients(pairs.map(([, variable]) => variable));
  }

  /**
   * One step over variables whose gradients are in their `gradient` buffers (the training loop's path: no
   * copies, no allocation). Clipping rewrites those gradient buffers in place.
   */
  applyVariableGradients(variables: readonly Variable[]): void {
    for (let i = 0; i < variables.length; i++) this.buildVariable(variables[i]);
    const learningRate = this.currentLearningRate();
    const steps = this.gradientAccumulationSteps;
    if (steps === null) {
      this.update(variables, learningRate, false);
    } else if ((this.callCount + 1) % steps !== 0) {
      for (let i = 0; i < variables.length; i++) {
        const variable = variables[i];
        variable.kernels.accumulateGradient(this.states.get(variable)!.accumulator!, variable.gradient, 1);
      }
    } else {
      for (let i = 0; i < variables.length; i++) {
        const variable = variables[i];
        variable.kernels.accumulateGradient(
          this.states.get(variable)!.accumulator!,
          variable.gradient,
          steps,
        );
      }
      this.update(variables, learningRate, true);
      for (let i = 0; i < variables.length; i++) {
        const variable = variables[i];
        variable.kernels.fill(this.states.get(variable)!.accumulator!, 0);
      }
    }
    if (this.useEma) this.updateMovingAverages();
    this.callCount++;
  }

  /** Clipping, weight decay and the optimizer's update, with gradients from the variables or the accumulators. */
  private update(variables: readonly Variable[], learningRate: number, accumulated: boolean): void {
    const states = this.states;

    if (this.clipnorm !== null) {
      const clip = f(this.clipnorm);
      for (let i = 0; i < variables.length; i++) {
        const variable = variables[i];
        const gradient = this.gradientOf(variable, accumulated);
        const norm = f(Math.sqrt(f(variable.kernels.sumOfSquares(gradient))));
        if (norm > clip) variable.kernels.scale(gradient, clip / norm);
      }
    } else if (this.globalClipnorm !== null) {
      const clip = f(this.globalClipnorm);
      let sum = 0;
      for (let i = 0; i < variables.length; i++) {
        const variable = variables[i];
        sum += f(variable.kernels.sumOfSquares(this.gradientOf(variable, accumulated)));
      }
      const norm = f(Math.sqrt(f(sum)));
      // Keras: g · c·min(1/‖g‖, 1/c) (a NaN norm makes every gradient NaN).
      const factor = Number.isFinite(norm) ? f(clip * Math.min(f(1 / norm), f(1 / clip))) : NaN;
      if (factor !== 1) {
        for (let i = 0; i < variables.length; i++) {
          const variable = variables[i];
          variable.kernels.scale(this.gradientOf(variable, accumulated), factor);
        }
      }
    } else if (this.clipvalue !== null) {
      const clip = this.clipvalue;
      for (let i = 0; i < variables.length; i++) {
        const variable = variables[i];
        variable.kernels.clipByValue(this.gradientOf(variable, accumulated), -clip, clip);
      }
    }

    if (this.weightDecay !== null) {
      const factor = f(1 - f(f(this.weightDecay) * learningRate));
      for (let i = 0; i < variables.length; i++) {
        const variable = variables[i];
        if (states.get(variable)!.decays) variable.kernels.scale(variable.value, factor);
      }
    }

    this.prepareStep(learningRate, this.iterations + 1);
    for (let i = 0; i < variables.length; i++) {
      const variable = variables[i];
      this.updateStep(variable, this.gradientOf(variable, accumulated), states.get(variable)!.slots);
    }
  }

  private gradientOf(variable: Variable, accumulated: boolean): Float32Array {
    return accumulated ? this.states.get(variable)!.accumulator! : variable.gradient;
  }

  private updateMovingAverages(): void {
    const iterations = this.iterations;
    const momentum = iterations === 0 ? 0 : f(this.emaMomentum);
    const states = this.builtStates;
    for (let i = 0; i < states.length; i++) {
      const state = states[i];
      state.variable.kernels.emaUpdate(state.average!, state.variable.value, momentum);
    }
    const frequency = this.emaOverwriteFrequency;
    if (frequency !== null && (iterations + 1) % frequency === 0) {
      for (let i = 0; i < states.length; i++) states[i].variable.value.set(states[i].average!);
    }
  }

  /**
   * Keras's `finalize_variable_values`: with `useEma`, overwrite the variables with their moving averages (the
   * end of training). Otherwise nothing.
   */
  finalizeVariableValues(variables: readonly Variable[]): void {
    if (!this.useEma) return;
    for (const variable of variables) {
      const state = this.states.get(variable);
      if (state === undefined) {
        throw new RangeError(`${this.name}: variable '${variable.path}' was never built by this optimizer`);
      }
      variable.value.set(state.average!);
    }
  }

  // ---- Configs.

  /** Constructor arguments as Keras's config (snake_case keys, Keras's order; schedules serialized). */
  getConfig(): KerasConfig {
    const learningRate = this.learningRateValue;
    return {
      name: this.name,
      learning_rate: typeof learningRate === 'number' ? learningRate : serializeSchedule(learningRate),
      weight_decay: this.weightDecay,
      clipnorm: this.clipnorm,
      global_clipnorm: this.globalClipnorm,
      clipvalue: this.clipvalue,
      use_ema: this.useEma,
      ema_momentum: this.emaMomentum,
      ema_overwrite_frequency: this.emaOverwriteFrequency,
      loss_scale_factor: null,
      gradient_accumulation_steps: this.gradientAccumulationSteps,
    };
  }

  /**
   * Builds an optimizer from Keras's config (snake_case keys; a schedule as its serialized dict), rejecting
   * keys the class does not take with an `UnknownOptionError` in Keras's spelling (Keras's obsolete `decay` is
   * ignored). The keys are the class's `optionKeys` in snake_case; a subclass that declares none is checked
   * against what its `getConfig()` writes.
   */
  static fromConfig<T extends Optimizer>(
    this: (new (options: never) => T) & { readonly optionKeys?: OptionKeyList },
    config: KerasConfig,
  ): T {
    const declared = this.optionKeys;
    if (declared !== undefined) checkConfigKeys(this.name, config, declared, ['decay']);
    const options = camelCaseKeys(config);
    delete options['decay'];
    const learningRate = options['learningRate'];
    if (
      typeof learningRate === 'object' &&
      learningRate !== null &&
      !(learningRate instanceof LearningRateSchedule)
    ) {
      options['learningRate'] = deserializeSchedule(
        learningRate as { class_name: string; config?: KerasConfig },
      );
    }
    const optimizer = new this(options as never);
    if (declared === undefined) {
      checkConfigKeys(optimizer.className, config, writtenKeys(optimizer.getConfig()), ['decay']);
    }
    return optimizer;
  }
}

function checkLearningRate(owner: string, value: unknown): LearningRate {
  if (value instanceof LearningRateSchedule) return value;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new OptimizerConfigError(
      `${owner}: learningRate must be a finite number ≥ 0 or a LearningRateSchedule, got ${String(value)}`,
    );
  }
  return f(value);
}
