/**
 * Optimizer state (step count, learning rate, slots) ⇄ the variable lists Keras saves.
 *
 * Keras 3 saves `optimizer.variables` in creation order: `iteration`, `learning_rate` (unless a schedule
 * drives it), per-variable moving averages (`use_ema`) and gradient accumulators, then the optimizer's slots.
 * Slots are created in groups: one `add_optimizer_variables(vars, names)` call interleaves its names per
 * variable (Adam: m₁ v₁ m₂ v₂ …), successive calls follow each other (Adam's AMSGrad v̂ come after all of
 * those; RMSprop's velocities, momentums and average gradients are three groups). Nadam's `u_product` scalar
 * comes last. That order is what `.keras` archives store (by position) and what Keras 3's `.h5` lists.
 *
 * tf.keras 2.x `.h5` files list their own orders (2.0–2.10: `Adam/dense/kernel/m:0`, grouped by slot;
 * 2.11–2.15: `iteration:0`, `Adam/m/dense/kernel:0`, interleaved), so reading maps entries by name first and
 * by Keras 3's positions only when names do not settle it.
 * @module
 */
import { Nadam } from '../optimizers/nadam.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import { RMSprop } from '../optimizers/rmsprop.js';
import type { BaseModel } from '../models/baseModel.js';
import type { Variable } from '../tensor/variable.js';

/** One saved optimizer variable. */
export interface SavedOptimizerVariable {
  /** Its name in a `.h5` file's `weight_names`; null in a `.keras` archive (position only). */
  name: string | null;
  shape: readonly number[];
  /** The values (any numeric typed array; scalars have one element). */
  data: ArrayLike<number | bigint>;
}

/** An optimizer variable to save. */
export interface OptimizerVariableToSave {
  name: string;
  shape: number[];
  dtype: '<f' | '<q';
  data: Float32Array | BigInt64Array;
}

/** How an optimizer's slots are named and grouped (see the module comment). */
interface SlotLayout {
  /** For each of the optimizer's slots (its `getSlots` order): Keras 3's name first, then older aliases. */
  names: string[][];
  /** Creation groups, each a list of slot indices interleaved per variable. */
  groups: number[][];
}

/** Keras 3's slot names and creation groups for the optimizer's current slots (`count` of them per variable). */
function slotLayout(optimizer: Optimizer, count: number): SlotLayout {
  const layout = fullSlotLayout(optimizer, count);
  // Keep only the slots this optimizer keeps (SGD without momentum has none).
  const groups = layout.groups
    .map((group) => group.filter((index) => index < count))
    .filter((group) => group.length > 0);
  return { names: layout.names.slice(0, count), groups };
}

function fullSlotLayout(optimizer: Optimizer, count: number): SlotLayout {
  const names = (...slots: string[][]): string[][] => slots.slice(0, count);
  switch (optimizer.className) {
    case 'SGD':
    case 'Lion':
      return { names: names(['momentum', 'm']), groups: [[0]] };
    case 'Adam':
    case 'AdamW':
      return {
        names: names(['momentum', 'm'], ['velocity', 'v'], ['velocity_hat', 'vhat']),
        groups: count > 2 ? [[0, 1], [2]] : [[0, 1].slice(0, count)],
      };
    case 'Nadam':
      return { names: names(['momentum', 'm'], ['velocity', 'v']), groups: [[0, 1].slice(0, count)] };
    case 'Adamax':
      return { names: names(['momentum', 'm'], ['norm', 'u', 'v']), groups: [[0, 1].slice(0, count)] };
    case 'Adadelta':
      return {
        names: names(['accumulated_grad', 'accum_grad'], ['accumulated_delta_var', 'accum_var']),
        groups: [[0, 1].slice(0, count)],
      };
    case 'Adagrad':
      return { names: names(['accumulator']), groups: [[0]] };
    case 'Ftrl':
      return { names: names(['accumulator'], ['linear']), groups: [[0, 1].slice(0, count)] };
    case 'RMSprop': {
      const rmsprop = optimizer as RMSprop;
      const slots: string[][] = [['velocity', 'rms']];
      if (rmsprop.momentum > 0) slots.push(['momentum']);
      if (rmsprop.centered) slots.push(['average_gradient', 'mg']);
      return { names: slots.slice(0, count), groups: slots.slice(0, count).map((_, i) => [i]) };
    }
    default: {
      const generic = Array.from({ length: count }, (_, i) => [`slot_${i}`]);
      return { names: generic, groups: [generic.map((_, i) => i)] };
    }
  }
}

/** `dense/kernel` → `dense_kernel`, as Keras 3 names an optimizer variable after its model variable. */
const flatten = (path: string): string => path.replace(/[/:]/g, '_');

/** Π_t = ∏ u_s (s = 1…t), `u_s = β₁·(1 − ½·0.96^s)`, in float32 as Keras updates it step by step. */
function nadamMomentumProduct(beta1: number, steps: number): number {
  const f = Math.fround;
  let product = 1;
  for (let s = 1; s <= steps; s++)
    product = f(product * f(f(beta1) * f(1 - f(0.5 * f(Math.pow(f(0.96), s))))));
  return product;
}

/** The optimizer's variables in Keras 3's order, ready to save (the optimizer is built first, as compile does). */
export function optimizerVariablesToSave(model: BaseModel): OptimizerVariableToSave[] {
  const optimizer = model.optimizer;
  if (optimizer === null) return [];
  const variables = model.trainableWeights;
  optimizer.build(variables);
  const prefix = optimizer.name;
  const saved: OptimizerVariableToSave[] = [
    {
      name: `${prefix}/iteration`,
      shape: [],
      dtype: '<q',
      data: BigInt64Array.of(BigInt(optimizer.rawIterations)),
    },
  ];
  const learningRate = optimizer.learningRate;
  if (typeof learningRate === 'number') {
    saved.push({
      name: `${prefix}/learning_rate`,
      shape: [],
      dtype: '<f',
      data: Float32Array.of(learningRate),
    });
  }
  const perVariable = (suffix: string, values: (variable: Variable) => Float32Array): void => {
    for (const variable of variables) {
      saved.push({
        name: `${prefix}/${flatten(variable.path)}_${suffix}`,
        shape: [...variable.shape],
        dtype: '<f',
        data: Float32Array.from(values(variable)),
      });
    }
  };
  if (optimizer.useEma)
    perVariable('average', (v) => optimizer.getMovingAverage(v) ?? new Float32Array(v.size));
  // The accumulators' partial sums are internal to the optimizer: saved as zeros (exact at accumulation boundaries).
  if (optimizer.gradientAccumulationSteps !== null)
    perVariable('gradient_accumulator', (v) => new Float32Array(v.size));
  const count = variables.length === 0 ? 0 : optimizer.getSlots(variables[0]).length;
  const layout = slotLayout(optimizer, count);
  for (const group of layout.groups) {
    for (const variable of variables) {
      const slots = optimizer.getSlots(variable);
      for (const index of group) {
        saved.push({
          name: `${prefix}/${flatten(variable.path)}_${layout.names[index][0]}`,
          shape: [...variable.shape],
          dtype: '<f',
          data: Float32Array.from(slots[index]),
        });
      }
    }
  }
  if (optimizer instanceof Nadam) {
    saved.push({
      name: `${prefix}/u_product`,
      shape: [],
      dtype: '<f',
      data: Float32Array.of(optimizer.momentumProduct),
    });
  }
  return saved;
}

const ITERATION = /(^|\/)(iter|iteration|iterations)(:\d+)?$/;
const LEARNING_RATE = /(^|\/)(learning_rate|lr)(:\d+)?$/;
const MOMENTUM_PRODUCT = /(^|\/)(u_product|momentum_cache)(:\d+)?$/;

/** Which model variable and slot a saved name denotes, in any of Keras's naming schemes, or null. */
function matchSlotName(
  name: string,
  variables: readonly Variable[],
  layout: SlotLayout,
): { variable: number; slot: number } | null {
  const bare = name.replace(/:\d+$/, '');
  const flat = flatten(bare);
  let best: { variable: number; slot: number; length: number } | null = null;
  const boundary = (text: string, suffix: string, separators: string): boolean =>
    text.endsWith(suffix) &&
    (text.length === suffix.length || separators.includes(text[text.length - suffix.length - 1]));
  variables.forEach((variable, v) => {
    layout.names.forEach((aliases, s) => {
      for (const alias of aliases) {
        const matches =
          boundary(bare, `${variable.path}/${alias}`, '/') || // tf.keras 2.0–2.10: Adam/dense/kernel/m
          boundary(bare, `${alias}/${variable.path}`, '/') || // tf.keras 2.11–2.15: Adam/m/dense/kernel
          boundary(flat, `${flatten(variable.path)}_${alias}`, '_/'); // Keras 3: adam/sequential_dense_kernel_momentum
        if (matches && (best === null || variable.path.length > best.length)) {
          best = { variable: v, slot: s, length: variable.path.length };
        }
      }
    });
  });
  return best;
}

/** A saved variable's values as float32, checking its shape against the model variable's. */
function valuesFor(entry: SavedOptimizerVariable, shape: readonly number[]): Float32Array | null {
  if (entry.shape.join(',') !== shape.join(',')) return null;
  return Float32Array.from(entry.data, (value) => Number(value));
}

/**
 * Restores an optimizer's state from saved variables (after `compile`, which builds it). As Keras, a saved
 * state that does not fit the optimizer is reported through `warn` and the optimizer starts fresh; the model
 * itself is unaffected.
 */
export function restoreOptimizerState(
  model: BaseModel,
  saved: readonly SavedOptimizerVariable[],
  warn: (message: string) => void,
): boolean {
  const optimizer = model.optimizer;
  if (optimizer === null || saved.length === 0) return false;
  const variables = model.trainableWeights;
  optimizer.build(variables);
  const count = variables.length === 0 ? 0 : optimizer.getSlots(variables[0]).length;
  const layout = slotLayout(optimizer, count);
  const scalar = (entry: SavedOptimizerVariable): number | null =>
    entry.shape.length === 0 && entry.data.length === 1 ? Number(entry.data[0]) : null;

  let iterations: number | null = null;
  let learningRate: number | null = null;
  let momentumProduct: number | null = null;
  const assignments = new Map<string, Float32Array>();
  const averages = new Map<number, Float32Array>();
  const key = (variable: number, slot: number): string => `${variable}:${slot}`;

  const named = saved.every((entry) => entry.name !== null);
  let resolvedByName = false;
  if (named) {
    resolvedByName = true;
    for (const entry of saved) {
      const name = entry.name!;
      if (ITERATION.test(name)) iterations = scalar(entry);
      else if (LEARNING_RATE.test(name)) learningRate = scalar(entry);
      else if (MOMENTUM_PRODUCT.test(name)) momentumProduct = scalar(entry);
      else if (entry.shape.length > 0) {
        const match = matchSlotName(name, variables, layout);
        if (match === null) continue; // A slot this optimizer does not keep (tf.keras SGD's unused momentum).
        const values = valuesFor(entry, variables[match.variable].shape);
        if (values === null) {
          warn(
            `the optimizer state was not restored: '${name}' has shape [${entry.shape.join(', ')}], its variable [${variables[match.variable].shape.join(', ')}]`,
          );
          return false;
        }
        assignments.set(key(match.variable, match.slot), values);
      }
    }
    if (assignments.size !== variables.length * count) resolvedByName = false;
  }
  if (!resolvedByName) {
    // Keras 3's positions: iteration, learning rate, then tensors in creation order; scalars after these two
    // are extras (Nadam's u_product), wherever a Keras version put them.
    assignments.clear();
    const entries = [...saved];
    if (entries.length === 0 || scalar(entries[0]) === null) {
      warn('the optimizer state was not restored: its first variable is not the iteration count');
      return false;
    }
    iterations = scalar(entries.shift()!);
    if (typeof optimizer.learningRate === 'number' && entries.length > 0 && scalar(entries[0]) !== null) {
      learningRate = scalar(entries.shift()!);
    }
    const tensors = entries.filter((entry) => entry.shape.length > 0);
    const extras = entries.filter((entry) => entry.shape.length === 0);
    if (optimizer instanceof Nadam && extras.length === 1) momentumProduct = scalar(extras[0]);
    const expected =
      variables.length *
      (count + (optimizer.useEma ? 1 : 0) + (optimizer.gradientAccumulationSteps !== null ? 1 : 0));
    if (tensors.length !== expected) {
      warn(
        `the optimizer state was not restored: the file has ${tensors.length} slot variables, ${optimizer.className} keeps ${expected} for this model`,
      );
      return false;
    }
    let next = 0;
    const take = (variable: number): Float32Array | null =>
      valuesFor(tensors[next++], variables[variable].shape);
    for (let v = 0; v < variables.length && optimizer.useEma; v++) {
      const values = take(v);
      if (values === null) return mismatch(warn);
      averages.set(v, values);
    }
    if (optimizer.gradientAccumulationSteps !== null) next += variables.length;
    for (const group of layout.groups) {
      for (let v = 0; v < variables.length; v++) {
        for (const slot of group) {
          const values = take(v);
          if (values === null) return mismatch(warn);
          assignments.set(key(v, slot), values);
        }
      }
    }
  }

  variables.forEach((variable, v) => {
    const slots = optimizer.getSlots(variable);
    for (let s = 0; s < count; s++) {
      const values = assignments.get(key(v, s));
      if (values !== undefined) slots[s].set(values);
    }
    const average = averages.get(v);
    const target = optimizer.getMovingAverage(variable);
    if (average !== undefined && target !== null) target.set(average);
  });
  if (iterations !== null && Number.isInteger(iterations) && iterations >= 0)
    optimizer.rawIterations = iterations;
  if (
    learningRate !== null &&
    Number.isFinite(learningRate) &&
    learningRate >= 0 &&
    typeof optimizer.learningRate === 'number'
  ) {
    optimizer.learningRate = learningRate;
  }
  if (optimizer instanceof Nadam) {
    optimizer.momentumProduct =
      momentumProduct !== null && Number.isFinite(momentumProduct)
        ? Math.fround(momentumProduct)
        : nadamMomentumProduct(optimizer.beta1, optimizer.iterations);
  }
  return true;
}

function mismatch(warn: (message: string) => void): false {
  warn('the optimizer state was not restored: a slot variable has a different shape from its model variable');
  return false;
}
