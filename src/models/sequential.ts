import { DisposedError } from '../kernels/errors.js';
import { getKernels } from '../kernels/index.js';
import type { Kernels } from '../kernels/kernels.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { InputLayer } from '../layers/inputLayer.js';
import type { Layer } from '../layers/layer.js';
import { uniqueLayerName } from '../layers/layer.js';
import { deserializeLayer, inputShapeFromConfig, registerLayer, serializeLayer } from '../layers/registry.js';
import { addUser, removeUser } from '../tensor/ownership.js';
import { type Shape, ShapeError } from '../tensor/tensor.js';
import { BaseModel, layerTrains, leafLayers } from './baseModel.js';

/** Options of {@link Sequential}. */
export interface SequentialOptions {
  /** The model's name (default `sequential`, `sequential_1`, …). */
  name?: string;
}

/** The keys of {@link SequentialOptions}. */
const SEQUENTIAL_OPTION_KEYS = { name: true } as const satisfies OptionKeys<SequentialOptions>;

/**
 * A plain stack of layers, each feeding the next, as Keras's `Sequential`. The layers are shared, not copied:
 * `new Sequential(modelA.layers.slice(0, -1))` trains model A's own layer objects (use `cloneModel` and
 * `setWeights` for an independent copy). {@link BaseModel.dispose} frees the model and the layers no other
 * live model uses.
 */
export class Sequential extends BaseModel {
  readonly className = 'Sequential';
  private readonly stack: Layer[] = [];
  private declaredInputShape: Shape | null = null;
  /** For each layer, whether backward must produce its input gradient (some earlier layer trains). */
  private needsInputGradient: boolean[] = [];

  constructor(layers: Layer[] = [], options: SequentialOptions = {}) {
    if (!Array.isArray(layers)) {
      throw new TypeError(
        `Sequential: the first argument is the list of layers (new Sequential([layer, …], { name })), got ${typeof layers}`,
      );
    }
    checkOptions('Sequential', options, SEQUENTIAL_OPTION_KEYS);
    super(options.name ?? uniqueLayerName('sequential'));
    for (const layer of layers) this.add(layer);
  }

  /** Appends a layer (an `InputLayer` only declares the input shape and is not listed in `layers`). */
  add(layer: Layer): void {
    this.assertLive('add a layer');
    if (layer instanceof InputLayer) {
      if (this.stack.length > 0)
        throw new ShapeError('an InputLayer can only come first in a Sequential model');
      this.declaredInputShape = layer.inputShape;
      return;
    }
    if (this.stack.includes(layer))
      throw new ShapeError(`layer '${layer.name}' is already in model '${this.name}'`);
    if (layer === this || (layer instanceof BaseModel && containsModel(layer, this)))
      throw new ShapeError(`model '${this.name}' cannot contain itself`);
    // A layer computes into its own buffers: it can run once per pass, so no layer may be here twice.
    const present = new Set(this.stack.flatMap(leafLayers));
    const twice = leafLayers(layer).find((leaf) => present.has(leaf));
    if (twice !== undefined)
      throw new ShapeError(
        `layer '${twice.name}' is already in model '${this.name}' (through '${layer.name}'): a layer can be used once per model`,
      );
    if (this.stack.some((other) => other.name === layer.name)) {
      throw new ShapeError(
        `model '${this.name}' already has a layer named '${layer.name}': layer names must be unique; pass another name to the new layer (for example { name: '${layer.name}_2' } in its options)`,
      );
    }
    if (layer.isDisposed) throw new DisposedError('layer', layer.name, `add it to model '${this.name}'`);
    this.stack.push(layer);
    addUser(layer, this);
    if (this.stack.length === 1 && this.declaredInputShape === null && layer.inputShape !== null) {
      this.declaredInputShape = layer.inputShape;
    }
    if (this.declaredInputShape !== null) this.build(this.declaredInputShape);
  }

  /** Removes the last layer, as Keras's `pop()`; the layer is yours again (this model no longer frees it). */
  pop(): Layer {
    this.assertLive('pop a layer');
    const layer = this.stack.pop();
    if (layer === undefined) throw new RangeError(`model '${this.name}' has no layers to pop`);
    removeUser(layer, this);
    if (this.compiled !== null) removeUser(this.compiled.optimizer, this);
    this.compiled = null;
    return layer;
  }

  get layers(): Layer[] {
    this.assertLive('use it');
    return [...this.stack];
  }

  get inputShape(): Shape | null {
    return this.declaredInputShape;
  }

  /** Keras's serialized `module` of the class. */
  override get kerasModule(): string {
    return 'keras';
  }

  computeOutputShape(inputShape: Shape): Shape {
    this.checkInputShape(inputShape);
    let shape = inputShape;
    for (const layer of this.stack) shape = layer.computeOutputShape(shape);
    return shape;
  }

  /** A model declared for one input shape takes no other (its layers were built for it). */
  private checkInputShape(inputShape: Shape): void {
    const declared = this.declaredInputShape;
    if (declared !== null && declared.join(',') !== inputShape.join(',')) {
      throw new ShapeError(
        `model '${this.name}' takes inputs of shape [${declared.join(', ')}], cannot take [${inputShape.join(', ')}]`,
      );
    }
  }

  get outputShape(): Shape {
    if (this.stack.length === 0) throw new ShapeError(`model '${this.name}' has no layers`);
    const shape = this.outputShapeOf(this.stack[this.stack.length - 1]);
    if (shape === null) throw new ShapeError(`model '${this.name}' does not know its input shape yet`);
    return shape;
  }

  outputShapeOf(layer: Layer): Shape | null {
    let shape = this.declaredInputShape;
    for (const current of this.stack) {
      if (shape === null) return null;
      shape = current.computeOutputShape(shape);
      if (current === layer) return shape;
    }
    return null;
  }

  build(inputShape: Shape, kernels?: Kernels): void {
    this.checkInputShape(inputShape);
    this.buildLayers(inputShape, this.stack.find((layer) => layer.built)?.kernels ?? kernels ?? getKernels());
  }

  private buildLayers(inputShape: Shape, kernels: Kernels): void {
    this.declaredInputShape = Object.freeze([...inputShape]);
    let shape: Shape = inputShape;
    for (const layer of this.stack) {
      if (layer.built && layer.kernels !== kernels) {
        throw new ShapeError(
          `layer '${layer.name}' lives on backend '${layer.kernels.name}', the model on '${kernels.name}'`,
        );
      }
      layer.build(shape, kernels);
      shape = layer.computeOutputShape(shape);
    }
  }

  protected get outputLayer(): Layer {
    return this.stack[this.stack.length - 1];
  }

  protected override get chainLayers(): readonly Layer[] {
    return this.stack;
  }

  protected forwardPass(input: Float32Array, batch: number, training: boolean): Float32Array {
    let activations = input;
    for (const layer of this.stack) activations = layer.forward(activations, batch, training);
    return activations;
  }

  protected backwardPass(
    outputGradient: Float32Array,
    batch: number,
    preActivation: boolean,
    trainable: ReadonlySet<Layer>,
    computeInputGradient: boolean,
  ): Float32Array | null {
    if (
      this.needsInputGradient.length !== this.stack.length ||
      this.planFor !== trainable ||
      this.planForInput !== computeInputGradient
    )
      this.plan(trainable, computeInputGradient);
    let gradient: Float32Array | null = outputGradient;
    const last = this.stack.length - 1;
    // Set when a layer returned ∂L/∂z of the ReLU that ends the layer below it.
    let throughRelu = false;
    for (let index = last; index >= 0 && gradient !== null; index--) {
      const layer = this.stack[index];
      const needed = this.needsInputGradient[index];
      const pre = (preActivation && index === last) || throughRelu;
      throughRelu = false;
      if (needed && !pre && index > 0 && this.stack[index - 1].outputIsRelu) {
        const folded = layer.backwardThroughRelu(gradient, batch);
        if (folded !== null) {
          gradient = folded;
          throughRelu = true;
          continue;
        }
      }
      gradient =
        layer instanceof BaseModel
          ? layer.backwardWithin(gradient, batch, trainable, needed, pre)
          : layer.backward(gradient, batch, trainable.has(layer), needed, pre);
    }
    return computeInputGradient ? gradient : null;
  }

  private planFor: ReadonlySet<Layer> | null = null;
  private planForInput = false;

  /**
   * Backward stops at the first trainable layer: nothing below it needs a gradient, unless the model's own
   * input gradient is wanted (an outer model trains something before this one).
   */
  private plan(trainable: ReadonlySet<Layer>, computeInputGradient: boolean): void {
    let earlierTrains = computeInputGradient;
    this.needsInputGradient = this.stack.map((layer) => {
      const needs = earlierTrains;
      if (layerTrains(layer, trainable)) earlierTrains = true;
      return needs;
    });
    this.planFor = trainable;
    this.planForInput = computeInputGradient;
  }

  protected override releaseLayers(): void {
    this.stack.length = 0;
    this.planFor = null;
  }

  getConfig(): Record<string, unknown> {
    this.assertLive('get its config');
    const layers = this.stack.map(serializeLayer);
    if (this.declaredInputShape !== null) {
      layers.unshift({
        module: 'keras.layers',
        class_name: 'InputLayer',
        config: {
          batch_shape: [null, ...this.declaredInputShape],
          dtype: 'float32',
          sparse: false,
          name: 'input_layer',
        },
        registered_name: null,
      });
    }
    return {
      name: this.name,
      trainable: this.trainable,
      dtype: 'float32',
      layers,
      build_input_shape: this.declaredInputShape === null ? null : [null, ...this.declaredInputShape],
    };
  }
}

/** Whether `model` has `target` among its layers, at any depth. */
export function containsModel(model: BaseModel, target: BaseModel): boolean {
  return model.layers.some(
    (layer) => layer === target || (layer instanceof BaseModel && containsModel(layer, target)),
  );
}

/**
 * A Sequential model from its Keras config (`{name, layers, build_input_shape}`, or Keras 2's bare list of
 * layers), its layers made by the registry: how a Sequential nested as a layer is created by its class name.
 * As Keras's `Sequential.from_config`, the config's own `trainable` is not read (each layer's config has its
 * flag).
 */
export function sequentialFromConfig(config: Record<string, unknown> | unknown[]): Sequential {
  const entries = Array.isArray(config) ? config : config.layers;
  if (!Array.isArray(entries)) throw new ShapeError('a Sequential config needs a "layers" list');
  const name = !Array.isArray(config) && typeof config.name === 'string' ? config.name : undefined;
  const model = new Sequential([], { name });
  for (const entry of entries) model.add(deserializeLayer(entry as { class_name: string }));
  const buildShape = Array.isArray(config)
    ? undefined
    : inputShapeFromConfig({ batch_shape: config.build_input_shape });
  if (model.inputShape === null && buildShape !== undefined && buildShape.length > 0) model.build(buildShape);
  return model;
}

registerLayer('Sequential', (config) => sequentialFromConfig(config));
