import { DisposedError } from '../kernels/errors.js';
import { getKernels } from '../kernels/index.js';
import { checkOptions, type OptionKeys } from '../kernels/options.js';
import { InputLayer } from '../layers/inputLayer.js';
import type { Layer } from '../layers/layer.js';
import { uniqueLayerName } from '../layers/layer.js';
import { serializeLayer } from '../layers/registry.js';
import { addUser, removeUser } from '../tensor/ownership.js';
import { type Shape, ShapeError } from '../tensor/tensor.js';
import { BaseModel } from './baseModel.js';

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

  build(inputShape: Shape): void {
    this.declaredInputShape = Object.freeze([...inputShape]);
    const kernels = this.stack.find((layer) => layer.built)?.kernels ?? getKernels();
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
  ): void {
    if (this.needsInputGradient.length !== this.stack.length || this.planFor !== trainable)
      this.plan(trainable);
    let gradient: Float32Array | null = outputGradient;
    for (let index = this.stack.length - 1; index >= 0 && gradient !== null; index--) {
      const layer = this.stack[index];
      gradient = layer.backward(
        gradient,
        batch,
        trainable.has(layer),
        this.needsInputGradient[index],
        preActivation && index === this.stack.length - 1,
      );
    }
  }

  private planFor: ReadonlySet<Layer> | null = null;

  /** Backward stops at the first trainable layer: nothing below it needs a gradient. */
  private plan(trainable: ReadonlySet<Layer>): void {
    let earlierTrains = false;
    this.needsInputGradient = this.stack.map((layer) => {
      const needs = earlierTrains;
      if (trainable.has(layer) && layer.weights.length > 0) earlierTrains = true;
      return needs;
    });
    this.planFor = trainable;
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
