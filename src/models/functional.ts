/**
 * The functional API, as Keras's `keras.Input` / `layer(x)` / `keras.Model(inputs, outputs)`:
 *
 * ```ts
 * const input = Input({ shape: [8] });
 * const hidden1 = new Dense({ units: 30, activation: 'relu' }).apply(input);
 * const hidden2 = new Dense({ units: 30, activation: 'relu' }).apply(hidden1);
 * const concat = new Concatenate().apply([input, hidden2]);
 * const output = new Dense({ units: 1 }).apply(concat);
 * const model = new Model({ inputs: input, outputs: output });
 * ```
 *
 * Applying a layer to a {@link SymbolicTensor} builds it (as calling a Keras layer does) and records a node of
 * the graph; `new Model` collects the nodes between its inputs and outputs, in Keras's order. Training runs
 * the nodes forward in that order and backward in reverse, summing the gradients of a tensor that feeds
 * several layers.
 *
 * A model is a layer too: `base.apply(x)` calls a whole model on a tensor (how `keras.applications` bases are
 * reused), and `layer.output` is the tensor a layer made when first applied, so that
 * `new Model({ inputs: model.input, outputs: model.getLayer('block_3').output })` cuts a model (sharing its
 * layers, as Keras's `keras.Model(model.input, model.get_layer(name).output)` does).
 *
 * Limits: one input and one output per model (what `compile`/`fit` take), and each layer at most once per
 * model (no shared layers; a layer may still be used in several models, as when model B reuses model A's
 * layers).
 * @module
 */
import { DisposedError } from '../kernels/errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { InputLayer } from '../layers/inputLayer.js';
import { Layer, uniqueLayerName } from '../layers/layer.js';
import { BatchBuffer } from '../layers/layer.js';
import { Merge } from '../layers/merge.js';
import { deserializeLayer, registerLayer, serializeLayer } from '../layers/registry.js';
import { addUser } from '../tensor/ownership.js';
import { ShapeError, type Shape, sizeOf } from '../tensor/tensor.js';
import { BaseModel, layerTrains, leafLayers } from './baseModel.js';
import { registerModelCloner } from './cloneModel.js';
import { Sequential } from './sequential.js';

/** Thrown for a graph a functional model cannot be made of (disconnected, cyclic, badly described). */
export class GraphError extends Error {
  override readonly name: string = 'GraphError';
}

/** Thrown for a valid Keras graph that warmstart does not run: several inputs or outputs, shared layers. */
export class UnsupportedGraphError extends GraphError {
  override readonly name = 'UnsupportedGraphError';
}

/** One application of a layer: the tensors it took and the tensor it made. */
export interface GraphNode {
  /** The layer applied (an `InputLayer` for the graph's inputs). */
  readonly layer: Layer;
  /** What it was applied to (empty for an input). */
  readonly inputs: readonly SymbolicTensor[];
  /** Whether it was applied to a list of tensors (a merge layer). */
  readonly merged: boolean;
  /** What it produced. */
  readonly output: SymbolicTensor;
}

/** The first node each layer was applied in (Keras's `_inbound_nodes[0]`): what `layer.output` reads. */
const firstNodes = new WeakMap<Layer, GraphNode>();

/**
 * A placeholder for values flowing through a functional model: what {@link Input} returns and `layer.apply`
 * takes and returns (Keras's `KerasTensor`). It has a per-sample shape and knows the node that produces it.
 */
export class SymbolicTensor {
  /** Per-sample shape (batch axis excluded). */
  readonly shape: Shape;
  /** The node producing this tensor. */
  readonly node: GraphNode;

  /** @internal Created by {@link Input} and {@link applyLayer}. */
  constructor(shape: Shape, layer: Layer, inputs: readonly SymbolicTensor[], merged: boolean) {
    this.shape = Object.freeze([...shape]);
    this.node = { layer, inputs: Object.freeze([...inputs]), merged, output: this };
    if (!firstNodes.has(layer)) firstNodes.set(layer, this.node);
  }

  /** The name of the layer producing this tensor. */
  get name(): string {
    return this.node.layer.name;
  }
}

/** Options of {@link Input}. */
export interface InputOptions {
  /** Per-sample shape, batch excluded (`[28, 28]` for Fashion-MNIST images). */
  shape: Shape;
  /** The input layer's name (default `input_layer`, `input_layer_1`, …). */
  name?: string;
}

/** The keys of {@link InputOptions}. */
const INPUT_OPTION_KEYS = { shape: true, name: true } as const satisfies OptionKeys<InputOptions>;

/** A model input, as `keras.Input(shape)`: an `InputLayer` and the symbolic tensor it produces. */
export function Input(options: InputOptions): SymbolicTensor {
  checkOptions('Input', options, INPUT_OPTION_KEYS);
  const layer = new InputLayer({ shape: options.shape, name: options.name });
  layer.build(layer.inputShape ?? options.shape);
  return new SymbolicTensor(layer.inputShape ?? options.shape, layer, [], false);
}

/** The node a layer was first applied in, or a clear error when it never was. */
function firstNodeOf(layer: Layer, what: 'input' | 'output'): GraphNode {
  const node = firstNodes.get(layer);
  if (node === undefined) {
    throw new GraphError(
      `layer '${layer.name}' has never been applied to a tensor, so it has no ${what}: apply it (layer.apply(x)), or read it from a model built with Input() or a Sequential that knows its input shape (after reading its \`input\`)`,
    );
  }
  return node;
}

/**
 * Applies a layer to symbolic tensors (Keras's `layer(x)`): builds the layer for their shapes and returns the
 * tensor it produces. A merge layer (`Add`, `Concatenate`) takes a list, every other layer one tensor; a model
 * takes one tensor of its input shape and is one node of the graph.
 */
export function applyLayer(layer: Layer, inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor {
  if (layer instanceof InputLayer) {
    throw new GraphError(
      `InputLayer '${layer.name}' cannot be applied to tensors: use Input({ shape }) instead`,
    );
  }
  const list = Array.isArray(inputs) ? (inputs as readonly SymbolicTensor[]) : null;
  const sources: readonly SymbolicTensor[] = list ?? [inputs as SymbolicTensor];
  for (const source of sources) {
    if (!(source instanceof SymbolicTensor)) {
      throw new GraphError(
        `layer '${layer.name}' can only be applied to symbolic tensors (from Input or layer.apply)`,
      );
    }
  }
  const kernels = sources[0].node.layer.kernels;
  if (layer instanceof Merge) {
    if (list === null) {
      throw new GraphError(
        `${layer.className} '${layer.name}' merges several tensors: apply it to a list, as apply([a, b])`,
      );
    }
    const shapes = list.map((tensor) => tensor.shape);
    layer.buildMerged(shapes, kernels);
    return new SymbolicTensor(layer.computeMergedShape(shapes), layer, list, true);
  }
  if (list !== null) {
    if (list.length !== 1) {
      throw new GraphError(
        `layer '${layer.name}' (${layer.className}) takes one tensor, got a list of ${list.length}`,
      );
    }
  }
  const input = sources[0];
  layer.build(input.shape, kernels);
  return new SymbolicTensor(layer.computeOutputShape(input.shape), layer, [input], false);
}

declare module '../layers/layer.js' {
  interface Layer {
    /**
     * Applies the layer to symbolic tensors, as calling a Keras layer on `KerasTensor`s: builds it and returns
     * the tensor it produces (see {@link applyLayer}). Available once `warmstart`'s models are imported.
     */
    apply(inputs: SymbolicTensor | readonly SymbolicTensor[]): SymbolicTensor;
    /**
     * The tensor the layer produced when it was first applied: Keras's `layer.output` (named apart because
     * layers keep their output buffers under `output`). With the model's `input`, what cuts a model at this
     * layer: `new Model({ inputs: model.input, outputs: model.getLayer('block_3').outputTensor })`. Throws a
     * `GraphError` for a layer never applied to a tensor.
     */
    readonly outputTensor: SymbolicTensor;
    /** The tensor the layer was first applied to (Keras's `layer.input`); a merge layer's first input. */
    readonly inputTensor: SymbolicTensor;
  }
}

Layer.prototype.apply = function apply(this: Layer, inputs: SymbolicTensor | readonly SymbolicTensor[]) {
  return applyLayer(this, inputs);
};
Object.defineProperty(Layer.prototype, 'outputTensor', {
  configurable: true,
  get(this: Layer): SymbolicTensor {
    return firstNodeOf(this, 'output').output;
  },
});
Object.defineProperty(Layer.prototype, 'inputTensor', {
  configurable: true,
  get(this: Layer): SymbolicTensor {
    const node = firstNodeOf(this, 'input');
    return node.inputs.length === 0 ? node.output : node.inputs[0];
  },
});

declare module './sequential.js' {
  interface Sequential {
    /**
     * The model's input as a symbolic tensor (Keras's `model.input`): the Sequential is applied layer by layer to
     * an `Input` of its input shape the first time this is read, so that its layers get their `outputTensor`.
     */
    readonly input: SymbolicTensor;
    /** The model's output as a symbolic tensor (Keras's `model.output`); see `input`. */
    readonly output: SymbolicTensor;
  }
}

/** Each Sequential's symbolic graph, made when first asked for and again when its layers change. */
const sequentialGraphs = new WeakMap<
  Sequential,
  { layers: Layer[]; input: SymbolicTensor; output: SymbolicTensor }
>();

function sequentialGraph(model: Sequential): { input: SymbolicTensor; output: SymbolicTensor } {
  const layers = model.layers;
  const known = sequentialGraphs.get(model);
  if (
    known !== undefined &&
    known.layers.length === layers.length &&
    known.layers.every((l, i) => l === layers[i])
  )
    return known;
  const shape = model.inputShape;
  if (shape === null) {
    throw new GraphError(
      `model '${model.name}' has no input shape yet, so it has no input tensor: give its first layer an inputShape or build it`,
    );
  }
  const input = Input({ shape });
  let output = input;
  for (const layer of layers) output = applyLayer(layer, output);
  const graph = { layers, input, output };
  sequentialGraphs.set(model, graph);
  return graph;
}

Object.defineProperty(Sequential.prototype, 'input', {
  configurable: true,
  get(this: Sequential): SymbolicTensor {
    return sequentialGraph(this).input;
  },
});
Object.defineProperty(Sequential.prototype, 'output', {
  configurable: true,
  get(this: Sequential): SymbolicTensor {
    return sequentialGraph(this).output;
  },
});

/** Options of {@link Model}. */
export interface ModelOptions {
  /** The model's input: the tensor from {@link Input} (or a one-element list). */
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  /** The model's output (or a one-element list). */
  outputs: SymbolicTensor | readonly SymbolicTensor[];
  /** The model's name (default `functional`, `functional_1`, …). */
  name?: string;
}

/** The keys of {@link ModelOptions}. */
const MODEL_OPTION_KEYS = {
  inputs: true,
  outputs: true,
  name: true,
} as const satisfies OptionKeys<ModelOptions>;

/**
 * The graph between `inputs` and `outputs`, ordered as Keras's `map_graph` orders a functional model's
 * operations: by decreasing depth (distance to the outputs), ties broken by the order a depth-first walk from
 * the outputs first meets them. Matching Keras's order matters: saved files list layers and weights in it.
 */
function mapGraph(inputs: readonly SymbolicTensor[], outputs: readonly SymbolicTensor[]): GraphNode[] {
  const traversalIndex = new Map<GraphNode, number>();
  const finished = new Set<GraphNode>();
  const inProgress = new Set<GraphNode>();
  const ordered: GraphNode[] = [];
  const visit = (tensor: SymbolicTensor): void => {
    const node = tensor.node;
    if (finished.has(node)) return;
    if (inProgress.has(node)) throw new GraphError(`layer '${node.layer.name}' is part of a cycle`);
    if (!traversalIndex.has(node)) traversalIndex.set(node, traversalIndex.size);
    inProgress.add(node);
    for (const input of node.inputs) visit(input);
    inProgress.delete(node);
    finished.add(node);
    ordered.push(node);
  };
  for (const output of outputs) visit(output);

  const depth = new Map<GraphNode, number>();
  for (let i = ordered.length - 1; i >= 0; i--) {
    const node = ordered[i];
    const own = depth.get(node) ?? 0;
    depth.set(node, own);
    for (const input of node.inputs) depth.set(input.node, Math.max(depth.get(input.node) ?? 0, own + 1));
  }
  for (const input of inputs) {
    if (!depth.has(input.node)) {
      depth.set(input.node, 0);
      traversalIndex.set(input.node, -1);
    }
  }
  const nodes = [...depth.keys()].sort(
    (a, b) => depth.get(b)! - depth.get(a)! || traversalIndex.get(a)! - traversalIndex.get(b)!,
  );

  const declared = new Set(inputs.map((input) => input.node));
  const seenLayers = new Map<Layer, GraphNode>();
  const seenLeaves = new Set<Layer>();
  const seenNames = new Set<string>();
  for (const node of nodes) {
    if (node.inputs.length === 0 && !declared.has(node)) {
      throw new GraphError(
        `graph disconnected: the outputs depend on input '${node.layer.name}', which is not among the model's inputs`,
      );
    }
    if (seenLayers.has(node.layer)) {
      throw new UnsupportedGraphError(
        `layer '${node.layer.name}' is used twice in one model: shared layers are not supported`,
      );
    }
    seenLayers.set(node.layer, node);
    // Layers inside a nested model count too: each runs once per pass, into its own buffers.
    for (const leaf of leafLayers(node.layer)) {
      if (seenLeaves.has(leaf)) {
        throw new UnsupportedGraphError(
          `layer '${leaf.name}' is used twice in one model (directly or inside a nested model): shared layers are not supported`,
        );
      }
      seenLeaves.add(leaf);
    }
    if (seenNames.has(node.layer.name)) {
      throw new GraphError(
        `two layers of the model are named '${node.layer.name}': layer names must be unique; pass another name to one of them (for example { name: '${node.layer.name}_2' } in its options)`,
      );
    }
    seenNames.add(node.layer.name);
  }
  return nodes;
}

/** The Keras 3 config of a tensor in a node's arguments (`__keras_tensor__`). */
function kerasTensorConfig(tensor: SymbolicTensor): Record<string, unknown> {
  return {
    class_name: '__keras_tensor__',
    config: {
      shape: [null, ...tensor.shape],
      dtype: 'float32',
      keras_history: [tensor.node.layer.name, 0, 0],
    },
  };
}

/**
 * A model made of a graph of layers, as Keras's functional `keras.Model(inputs, outputs)`. It trains,
 * evaluates, predicts, saves and clones like a {@link Sequential}, and {@link BaseModel.dispose} frees it and
 * the layers no other live model uses.
 */
export class Model extends BaseModel {
  readonly className = 'Functional';
  /** The model's input tensors (one). */
  readonly inputs: readonly SymbolicTensor[];
  /** The model's output tensors (one). */
  readonly outputs: readonly SymbolicTensor[];
  private readonly nodes: readonly GraphNode[];
  private readonly nodeOf = new Map<Layer, GraphNode>();
  /** Whether inputs and outputs were given as lists (Keras keeps the structure in the config). */
  private readonly nestedInputs: boolean;
  private readonly nestedOutputs: boolean;
  /** Each tensor's position in the per-step arrays. */
  private readonly tensorIndex = new Map<SymbolicTensor, number>();
  /** For each node, the indices of its input tensors and of its output. */
  private readonly inputIndices: number[][];
  private readonly outputIndex: number[];
  /** How many of the model's nodes take each tensor. */
  private readonly consumers: number[];
  private readonly values: Array<Float32Array | null>;
  private readonly gradients: Array<Float32Array | null>;
  private readonly contributions: number[];
  /** Where gradients of tensors with several consumers are summed. */
  private readonly gradientSums: Array<BatchBuffer | null>;
  /** Per tensor, during backward: its gradient is already ∂L/∂z of the ReLU that made it (folded by its consumer). */
  private readonly throughRelu: boolean[];
  /** For each tensor, whether backward must produce its gradient (something upstream of it trains). */
  private needsGradient: boolean[] = [];
  private planFor: ReadonlySet<Layer> | null = null;
  private planForInput = false;

  constructor(options: ModelOptions) {
    checkOptions('Model', options, MODEL_OPTION_KEYS);
    super(options.name ?? uniqueLayerName('functional'));
    const inputs = Array.isArray(options.inputs) ? [...options.inputs] : [options.inputs as SymbolicTensor];
    const outputs = Array.isArray(options.outputs)
      ? [...options.outputs]
      : [options.outputs as SymbolicTensor];
    this.nestedInputs = Array.isArray(options.inputs);
    this.nestedOutputs = Array.isArray(options.outputs);
    for (const tensor of [...inputs, ...outputs]) {
      if (!(tensor instanceof SymbolicTensor)) {
        throw new GraphError(
          'Model: inputs and outputs must be symbolic tensors (from Input or layer.apply)',
        );
      }
    }
    if (inputs.length !== 1 || outputs.length !== 1) {
      throw new UnsupportedGraphError(
        `Model: exactly one input and one output are supported, got ${inputs.length} input(s) and ${outputs.length} output(s)`,
      );
    }
    for (const input of inputs) {
      if (!(input.node.layer instanceof InputLayer)) {
        throw new GraphError(
          `Model: input '${input.name}' must come from Input(), not from a layer's output`,
        );
      }
    }
    this.inputs = Object.freeze(inputs);
    this.outputs = Object.freeze(outputs);
    this.nodes = Object.freeze(mapGraph(inputs, outputs));
    const kernels = this.nodes[0].layer.kernels;
    for (const node of this.nodes) {
      if (node.layer.isDisposed) {
        throw new DisposedError('layer', node.layer.name, `make model '${this.name}' with it`);
      }
      if (node.layer.kernels !== kernels) {
        throw new GraphError(
          `layer '${node.layer.name}' lives on backend '${node.layer.kernels.name}', the model on '${kernels.name}'`,
        );
      }
      this.nodeOf.set(node.layer, node);
      this.tensorIndex.set(node.output, this.tensorIndex.size);
    }
    for (const node of this.nodes) addUser(node.layer, this);
    this.inputIndices = this.nodes.map((node) => node.inputs.map((tensor) => this.tensorIndex.get(tensor)!));
    this.outputIndex = this.nodes.map((node) => this.tensorIndex.get(node.output)!);
    const count = this.tensorIndex.size;
    this.consumers = new Array<number>(count).fill(0);
    for (const indices of this.inputIndices) for (const index of indices) this.consumers[index]++;
    this.values = new Array<Float32Array | null>(count).fill(null);
    this.gradients = new Array<Float32Array | null>(count).fill(null);
    this.contributions = new Array<number>(count).fill(0);
    this.throughRelu = new Array<boolean>(count).fill(false);
    this.gradientSums = this.nodes.map((node, i) =>
      this.consumers[this.outputIndex[i]] > 1
        ? new BatchBuffer(
            () => this.kernels,
            () => sizeOf(node.output.shape),
          )
        : null,
    );
  }

  /** The layers in Keras's order, input layers included (as Keras lists a functional model's layers). */
  get layers(): Layer[] {
    this.assertLive('use it');
    return this.nodes.map((node) => node.layer);
  }

  protected override releaseLayers(): void {
    for (const sum of this.gradientSums) sum?.release();
    this.values.fill(null);
    this.gradients.fill(null);
    this.nodeOf.clear();
    this.planFor = null;
  }

  /** The graph's nodes in Keras's order. */
  get graphNodes(): readonly GraphNode[] {
    return this.nodes;
  }

  get inputShape(): Shape {
    return this.inputs[0].shape;
  }

  get outputShape(): Shape {
    return this.outputs[0].shape;
  }

  /** The model's input tensor (Keras's `model.input`): with a layer's `outputTensor`, what cuts the model. */
  get input(): SymbolicTensor {
    return this.inputs[0];
  }

  /** The model's output tensor (Keras's `model.output`). */
  get output(): SymbolicTensor {
    return this.outputs[0];
  }

  /** Keras's serialized `module` of the class. */
  override get kerasModule(): string {
    return 'keras.src.models.functional';
  }

  /** Keras's serialized `registered_name` of the class. */
  override get registeredName(): string | null {
    return 'Functional';
  }

  computeOutputShape(inputShape: Shape): Shape {
    this.checkInputShape(inputShape);
    return this.outputShape;
  }

  private checkInputShape(inputShape: Shape): void {
    if (inputShape.join(',') !== this.inputShape.join(',')) {
      throw new ShapeError(
        `model '${this.name}' takes inputs of shape [${this.inputShape.join(', ')}], cannot build for [${inputShape.join(', ')}]`,
      );
    }
  }

  outputShapeOf(layer: Layer): Shape | null {
    return this.nodeOf.get(layer)?.output.shape ?? null;
  }

  /**
   * Builds every layer along the graph (they are built as the graph is made, so this checks); the input shape
   * must be the model's own, and the kernels those its layers live on.
   */
  build(inputShape: Shape, kernels: Kernels = this.nodes[0].layer.kernels): void {
    this.checkInputShape(inputShape);
    if (kernels !== this.nodes[0].layer.kernels) {
      throw new ShapeError(
        `model '${this.name}' lives on backend '${this.nodes[0].layer.kernels.name}', cannot be built on '${kernels.name}'`,
      );
    }
    for (const node of this.nodes) {
      const layer = node.layer;
      if (layer instanceof Merge)
        layer.buildMerged(
          node.inputs.map((tensor) => tensor.shape),
          kernels,
        );
      else layer.build(node.inputs.length === 0 ? node.output.shape : node.inputs[0].shape, kernels);
    }
  }

  protected get outputLayer(): Layer {
    return this.outputs[0].node.layer;
  }

  protected forwardPass(input: Float32Array, batch: number, training: boolean): Float32Array {
    const values = this.values;
    for (let i = 0; i < this.nodes.length; i++) {
      const node = this.nodes[i];
      const indices = this.inputIndices[i];
      let output: Float32Array;
      if (indices.length === 0) output = input;
      else if (node.merged)
        output = (node.layer as Merge).forwardMerged(
          indices.map((index) => values[index]!),
          batch,
          training,
        );
      else output = node.layer.forward(values[indices[0]]!, batch, training);
      values[this.outputIndex[i]] = output;
    }
    return values[this.tensorIndex.get(this.outputs[0])!]!;
  }

  protected backwardPass(
    outputGradient: Float32Array,
    batch: number,
    preActivation: boolean,
    trainable: ReadonlySet<Layer>,
    computeInputGradient: boolean,
  ): Float32Array | null {
    if (this.planFor !== trainable || this.planForInput !== computeInputGradient)
      this.plan(trainable, computeInputGradient);
    const gradients = this.gradients;
    gradients.fill(null);
    this.contributions.fill(0);
    const throughRelu = this.throughRelu;
    throughRelu.fill(false);
    const outputNode = this.outputs[0].node;
    gradients[this.tensorIndex.get(this.outputs[0])!] = outputGradient;
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      const indices = this.inputIndices[i];
      const gradient = gradients[this.outputIndex[i]];
      if (indices.length === 0 || gradient === null) continue;
      if (node.merged) {
        const needed = indices.map((index) => this.needsGradient[index]);
        const inputGradients = (node.layer as Merge).backwardMerged(gradient, batch, needed);
        indices.forEach((index, k) => this.accumulate(index, inputGradients[k], batch));
      } else {
        const layer = node.layer;
        const below = indices[0];
        const needed = this.needsGradient[below];
        const pre = (preActivation && node === outputNode) || throughRelu[this.outputIndex[i]];
        // A layer that only this node reads and whose output is a ReLU's (tensor k is node k's output): this
        // node may fold that ReLU's mask into its own backward (see Layer.backwardThroughRelu).
        if (needed && !pre && this.consumers[below] === 1 && this.nodes[below].layer.outputIsRelu) {
          const folded = layer.backwardThroughRelu(gradient, batch);
          if (folded !== null) {
            this.accumulate(below, folded, batch);
            throughRelu[below] = true;
            continue;
          }
        }
        const inputGradient =
          layer instanceof BaseModel
            ? layer.backwardWithin(gradient, batch, trainable, needed, pre)
            : layer.backward(gradient, batch, trainable.has(layer), needed, pre);
        this.accumulate(indices[0], inputGradient, batch);
      }
    }
    return computeInputGradient ? gradients[this.tensorIndex.get(this.inputs[0])!] : null;
  }

  /** Adds one consumer's contribution to a tensor's gradient (summing where the tensor fans out). */
  private accumulate(index: number, gradient: Float32Array | null, batch: number): void {
    if (gradient === null) return;
    const sum = this.gradientSums[index];
    if (sum === null) {
      this.gradients[index] = gradient;
      return;
    }
    const buffer = sum.rows(batch);
    if (this.contributions[index] === 0) buffer.set(gradient.subarray(0, buffer.length));
    else this.kernels.addElementwise(buffer, gradient, buffer, buffer.length);
    this.contributions[index]++;
    this.gradients[index] = buffer;
  }

  /**
   * A tensor needs a gradient when the node making it, or any node before it, has weights that train; the
   * input does when the model's caller wants the input gradient (it trains something before this model).
   */
  private plan(trainable: ReadonlySet<Layer>, computeInputGradient: boolean): void {
    const needs = new Array<boolean>(this.tensorIndex.size).fill(false);
    this.nodes.forEach((node, i) => {
      if (this.inputIndices[i].length === 0) {
        needs[this.outputIndex[i]] = computeInputGradient;
        return;
      }
      const trains = layerTrains(node.layer, trainable);
      needs[this.outputIndex[i]] = trains || this.inputIndices[i].some((index) => needs[index]);
    });
    this.needsGradient = needs;
    this.planFor = trainable;
    this.planForInput = computeInputGradient;
  }

  /**
   * Keras 3's functional config: each layer with its `inbound_nodes` (`__keras_tensor__` arguments), and the
   * model's `input_layers` and `output_layers`.
   */
  getConfig(): Record<string, unknown> {
    this.assertLive('get its config');
    const layers = this.nodes.map((node) => {
      const serialized: Record<string, unknown> = { ...serializeLayer(node.layer) };
      if (node.merged) {
        serialized.build_config = { input_shape: node.inputs.map((tensor) => [null, ...tensor.shape]) };
      } else if (node.inputs.length > 0) {
        serialized.build_config = { input_shape: [null, ...node.inputs[0].shape] };
      } else {
        delete serialized.build_config;
      }
      serialized.name = node.layer.name;
      const args = node.merged ? [node.inputs.map(kerasTensorConfig)] : node.inputs.map(kerasTensorConfig);
      serialized.inbound_nodes = node.inputs.length === 0 ? [] : [{ args, kwargs: {} }];
      return serialized;
    });
    const reference = (tensor: SymbolicTensor): [string, number, number] => [tensor.node.layer.name, 0, 0];
    return {
      name: this.name,
      trainable: this.trainable,
      layers,
      input_layers: this.nestedInputs ? this.inputs.map(reference) : reference(this.inputs[0]),
      output_layers: this.nestedOutputs ? this.outputs.map(reference) : reference(this.outputs[0]),
    };
  }

  /**
   * Rebuilds this model's graph from new layer objects: `replacement(layer)` gives each layer's stand-in.
   * Used by `cloneModel`, which passes fresh copies made from the layers' configs.
   */
  rebuild(replacement: (layer: Layer) => Layer): Model {
    this.assertLive('clone it');
    const tensors = new Map<SymbolicTensor, SymbolicTensor>();
    for (const node of this.nodes) {
      let output: SymbolicTensor;
      if (node.inputs.length === 0) {
        output = Input({ shape: node.output.shape, name: node.layer.name });
      } else {
        const layer = replacement(node.layer);
        const inputs = node.inputs.map((tensor) => tensors.get(tensor)!);
        output = applyLayer(layer, node.merged ? inputs : inputs[0]);
      }
      tensors.set(node.output, output);
    }
    const inputs = this.inputs.map((tensor) => tensors.get(tensor)!);
    const outputs = this.outputs.map((tensor) => tensors.get(tensor)!);
    return new Model({
      inputs: this.nestedInputs ? inputs : inputs[0],
      outputs: this.nestedOutputs ? outputs : outputs[0],
      name: this.name,
    });
  }
}

registerModelCloner(
  (model) => model instanceof Model,
  (model) => (model as Model).rebuild((layer) => deserializeLayer(serializeLayer(layer))),
);

/** One layer's entry in a functional config, as `Model.getConfig` writes it or Keras (2 or 3) saved it. */
export interface FunctionalLayerConfig {
  class_name: string;
  config?: Record<string, unknown>;
  name?: string;
  inbound_nodes?: unknown;
  [key: string]: unknown;
}

/**
 * Names of a config's layers that are models: tf.keras numbers a nested functional model's first call as node
 * 1 (its own graph is node 0), Keras 3 as node 0; both mean the one call warmstart supports.
 */
let nestedModelNames: ReadonlySet<string> = new Set();

/** A reference to a layer's output in a config: `[layerName, nodeIndex, tensorIndex]`. */
function parseReference(value: unknown, what: string): string {
  if (Array.isArray(value) && typeof value[0] === 'string' && value.length >= 3) {
    const firstCall = value[1] === 0 || (value[1] === 1 && nestedModelNames.has(value[0]));
    if (!firstCall || value[2] !== 0) {
      throw new UnsupportedGraphError(
        `${what} refers to node ${String(value[1])}, tensor ${String(value[2])} of layer '${value[0]}': shared layers and layers with several outputs are not supported`,
      );
    }
    return value[0];
  }
  throw new GraphError(`${what} is not a [layer, node, tensor] reference: ${JSON.stringify(value)}`);
}

/** The layer references of a node's inputs, in Keras 2's list form or Keras 3's `{args, kwargs}` form. */
function nodeInputs(node: unknown, layerName: string): { names: string[]; merged: boolean } {
  if (Array.isArray(node)) {
    // Keras 2: [[name, nodeIndex, tensorIndex, kwargs], …]; several entries for a merge layer.
    const names = node.map((entry, i) => parseReference(entry, `input ${i} of layer '${layerName}'`));
    return { names, merged: names.length > 1 };
  }
  if (typeof node === 'object' && node !== null && Array.isArray((node as { args?: unknown }).args)) {
    const args = (node as { args: unknown[] }).args;
    const history = (tensor: unknown, i: number): string => {
      const config = (tensor as { config?: { keras_history?: unknown } } | null)?.config;
      if (
        (tensor as { class_name?: unknown } | null)?.class_name !== '__keras_tensor__' ||
        config === undefined
      ) {
        throw new GraphError(
          `argument ${i} of layer '${layerName}' is not a tensor: ${JSON.stringify(tensor)}`,
        );
      }
      return parseReference(config.keras_history, `argument ${i} of layer '${layerName}'`);
    };
    if (args.length !== 1) {
      throw new UnsupportedGraphError(
        `layer '${layerName}' is called with ${args.length} arguments: only one is supported`,
      );
    }
    if (Array.isArray(args[0])) return { names: args[0].map(history), merged: true };
    return { names: [history(args[0], 0)], merged: false };
  }
  throw new GraphError(
    `layer '${layerName}' has an inbound node warmstart cannot read: ${JSON.stringify(node)}`,
  );
}

/** The tensor references of `input_layers` / `output_layers`: one reference, or a list of them. */
function references(value: unknown, what: string): string[] {
  if (Array.isArray(value) && typeof value[0] === 'string') return [parseReference(value, what)];
  if (Array.isArray(value)) return value.map((entry, i) => parseReference(entry, `${what} ${i}`));
  if (typeof value === 'object' && value !== null) {
    return Object.values(value).map((entry, i) => parseReference(entry, `${what} ${i}`));
  }
  throw new GraphError(
    `${what} must be a list of [layer, node, tensor] references, got ${JSON.stringify(value)}`,
  );
}

/** A functional config read into its graph: each layer's entry and the names of the layers it takes. */
export interface FunctionalGraphSpec {
  /** The model's name, if the config gives one. */
  name: string | undefined;
  /** Every layer, in topological order (a layer after all of its inputs). */
  layers: Array<{ name: string; entry: FunctionalLayerConfig; inputs: string[]; merged: boolean }>;
  /** The input layer's name. */
  input: string;
  /** The name of the layer making the output. */
  output: string;
  /** Whether `input_layers` / `output_layers` were lists of references. */
  nestedInputs: boolean;
  nestedOutputs: boolean;
}

/**
 * Reads a functional config (Keras 2's or Keras 3's form, as `Model.getConfig` writes or Keras saved it) into
 * its graph, checking that it is one warmstart can build: one input, one output, no shared layers, no cycle.
 */
export function parseFunctionalConfig(config: Record<string, unknown>): FunctionalGraphSpec {
  const entries = config.layers;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new GraphError('a functional config needs a non-empty "layers" list');
  }
  nestedModelNames = new Set(
    entries
      .filter((raw): raw is FunctionalLayerConfig => typeof raw === 'object' && raw !== null)
      .filter((raw) => ['Functional', 'Model'].includes(String(raw.class_name).replace(/^.*\./, '')))
      .map((raw) => (typeof raw.name === 'string' ? raw.name : String(raw.config?.name))),
  );
  const inputNames = references(config.input_layers, 'input_layers');
  const outputNames = references(config.output_layers, 'output_layers');
  if (inputNames.length !== 1 || outputNames.length !== 1) {
    throw new UnsupportedGraphError(
      `exactly one input and one output are supported, the config has ${inputNames.length} input(s) and ${outputNames.length} output(s)`,
    );
  }
  const pending: FunctionalGraphSpec['layers'] = [];
  const names = new Set<string>();
  for (const [i, raw] of entries.entries()) {
    if (
      typeof raw !== 'object' ||
      raw === null ||
      typeof (raw as FunctionalLayerConfig).class_name !== 'string'
    ) {
      throw new GraphError(`layer entry ${i} is not a {class_name, config} object`);
    }
    const entry = raw as FunctionalLayerConfig;
    const config = entry.config;
    const name = typeof entry.name === 'string' ? entry.name : (config?.name as string | undefined);
    if (typeof name !== 'string') throw new GraphError(`layer entry ${i} has no name`);
    if (names.has(name)) throw new GraphError(`two layers are named '${name}': layer names must be unique`);
    names.add(name);
    const inbound = entry.inbound_nodes ?? [];
    if (!Array.isArray(inbound)) throw new GraphError(`layer '${name}': inbound_nodes must be a list`);
    if (inbound.length > 1) {
      throw new UnsupportedGraphError(
        `layer '${name}' is called ${inbound.length} times: shared layers are not supported`,
      );
    }
    const { names: inputs, merged } =
      inbound.length === 0 ? { names: [], merged: false } : nodeInputs(inbound[0], name);
    pending.push({ name, entry, inputs, merged });
  }
  // Order the layers so that each comes after its inputs (a config's own order need not be topological).
  const ordered: FunctionalGraphSpec['layers'] = [];
  const placed = new Set<string>();
  while (pending.length > 0) {
    const index = pending.findIndex((item) => item.inputs.every((input) => placed.has(input)));
    if (index < 0) {
      const missing = pending[0].inputs.find((input) => !placed.has(input));
      throw new GraphError(
        `layer '${pending[0].name}' takes the output of '${missing}', which no layer of the config produces (or they form a cycle)`,
      );
    }
    const [item] = pending.splice(index, 1);
    placed.add(item.name);
    ordered.push(item);
  }
  if (!names.has(inputNames[0]))
    throw new GraphError(`input_layers names '${inputNames[0]}', which is not a layer of the config`);
  if (!names.has(outputNames[0]))
    throw new GraphError(`output_layers names '${outputNames[0]}', which is not a layer of the config`);
  // Keras keeps whether the model was given lists (`[["input_1", 0, 0]]`) or single tensors (`["input_1", 0, 0]`).
  const nested = (value: unknown): boolean => Array.isArray(value) && Array.isArray(value[0]);
  return {
    name: typeof config.name === 'string' ? config.name : undefined,
    layers: ordered,
    input: inputNames[0],
    output: outputNames[0],
    nestedInputs: nested(config.input_layers),
    nestedOutputs: nested(config.output_layers),
  };
}

/** Builds the model a parsed functional config describes, from its layer objects (keyed by layer name). */
export function functionalFromSpec(spec: FunctionalGraphSpec, layers: ReadonlyMap<string, Layer>): Model {
  const tensors = new Map<string, SymbolicTensor>();
  for (const item of spec.layers) {
    const layer = layers.get(item.name);
    if (layer === undefined) throw new GraphError(`no layer object was given for '${item.name}'`);
    if (item.inputs.length === 0) {
      if (!(layer instanceof InputLayer) || layer.inputShape === null) {
        throw new GraphError(
          `layer '${item.name}' (${item.entry.class_name}) has no inputs and is not an input layer`,
        );
      }
      layer.build(layer.inputShape);
      tensors.set(item.name, new SymbolicTensor(layer.inputShape, layer, [], false));
    } else {
      const inputs = item.inputs.map((input) => tensors.get(input)!);
      tensors.set(item.name, applyLayer(layer, item.merged ? inputs : inputs[0]));
    }
  }
  const input = tensors.get(spec.input)!;
  const output = tensors.get(spec.output)!;
  return new Model({
    inputs: spec.nestedInputs ? [input] : input,
    outputs: spec.nestedOutputs ? [output] : output,
    name: spec.name,
  });
}

/**
 * Rebuilds a functional model from its config (Keras 2's or Keras 3's form, as `Model.getConfig` writes or
 * Keras saved it). `createLayer` makes each layer from its entry (so that the caller decides about custom
 * and unknown classes).
 */
export function functionalFromConfig(
  config: Record<string, unknown>,
  createLayer: (entry: FunctionalLayerConfig) => Layer,
): Model {
  const spec = parseFunctionalConfig(config);
  const layers = new Map(spec.layers.map((item) => [item.name, createLayer(item.entry)] as const));
  return functionalFromSpec(spec, layers);
}

// A functional model nested as a layer of another model is created by its class name, as any layer is (what
// `cloneModel` of an outer model does). Keras's `Functional.from_config` sets the model's own `trainable`
// from the config without touching its layers', whose configs carry their own flags.
for (const className of ['Functional', 'Model']) {
  registerLayer(className, (config) => {
    const model = functionalFromConfig(config, (entry) => deserializeLayer(entry));
    if (typeof config.trainable === 'boolean') model.setOwnTrainableFlag(config.trainable);
    return model;
  });
}
