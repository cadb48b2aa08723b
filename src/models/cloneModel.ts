import { deserializeLayer, serializeLayer } from '../layers/registry.js';
import type { BaseModel } from './baseModel.js';
import { Sequential } from './sequential.js';

/** Makes a model of the same kind from a model; the functional `Model` registers its own. */
export type ModelCloner = (model: BaseModel) => BaseModel;
const cloners: Array<{ accepts: (model: BaseModel) => boolean; clone: ModelCloner }> = [];

/** Lets `cloneModel` copy another kind of model (used by the functional API). */
export function registerModelCloner(accepts: (model: BaseModel) => boolean, clone: ModelCloner): void {
  cloners.unshift({ accepts, clone });
}

/**
 * A new model with the same architecture and new layer objects whose weights are freshly initialised, as
 * Keras's `clone_model`. Copy the weights with `clone.setWeights(model.getWeights())`; the two models then
 * train independently. The clone is not compiled.
 */
export function cloneModel<M extends BaseModel>(model: M): M {
  const custom = cloners.find((cloner) => cloner.accepts(model));
  if (custom !== undefined) return custom.clone(model) as M;
  if (!(model instanceof Sequential))
    throw new TypeError(`cloneModel: cannot clone a ${model.constructor.name}`);
  const layers = model.layers.map((layer) => deserializeLayer(serializeLayer(layer)));
  const clone = new Sequential([], { name: model.name });
  for (const layer of layers) clone.add(layer);
  if (model.inputShape !== null && !clone.built) clone.build(model.inputShape);
  return clone as unknown as M;
}
