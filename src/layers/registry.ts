import type { SerializedObject } from '../initializers/initializer.js';
import type { Shape } from '../tensor/tensor.js';
import { Activation } from './activation.js';
import { Add } from './add.js';
import { AlphaDropout } from './alphaDropout.js';
import { BatchNormalization } from './batchNormalization.js';
import { Concatenate } from './concatenate.js';
import { Conv2D } from './conv2d.js';
import { Cropping2D } from './cropping2D.js';
import { Dense } from './dense.js';
import { DepthwiseConv2D } from './depthwiseConv2D.js';
import { Dropout } from './dropout.js';
import { Flatten } from './flatten.js';
import { GlobalAveragePooling2D, GlobalMaxPooling2D } from './globalPooling2d.js';
import { InputLayer } from './inputLayer.js';
import { type Layer, reserveLayerName } from './layer.js';
import { LeakyReLU } from './leakyReLU.js';
import { AveragePooling2D, MaxPooling2D } from './pooling2d.js';
import { ReLU } from './relu.js';
import { Rescaling } from './rescaling.js';
import { Reshape } from './reshape.js';
import { SeparableConv2D } from './separableConv2D.js';
import { Softmax } from './softmax.js';
import { ZeroPadding2D } from './zeroPadding2D.js';

/** Makes a layer from its Keras config (snake_case keys, as `get_config()` writes them). */
export type LayerFactory = (config: Record<string, unknown>) => Layer;

/** Thrown when a saved model names a layer class that is neither built in nor registered. */
export class UnknownLayerError extends Error {
  override readonly name = 'UnknownLayerError';
  /** The class name as the config spells it. */
  readonly className: string;
  constructor(className: string) {
    super(
      `unknown layer class '${className}': register it with registerLayer('${className}', (config) => new YourLayer(...)) before loading`,
    );
    this.className = className;
  }
}

/** The per-sample input shape a Keras layer config declares (`batch_input_shape`, `batch_shape`, `input_shape`). */
export function inputShapeFromConfig(config: Record<string, unknown>): Shape | undefined {
  const batchShape = (config.batch_input_shape ?? config.batch_shape) as (number | null)[] | undefined;
  if (Array.isArray(batchShape)) return batchShape.slice(1).map((d) => Number(d));
  const inputShape = config.input_shape as number[] | undefined;
  return Array.isArray(inputShape) ? inputShape.map((d) => Number(d)) : undefined;
}

function common(config: Record<string, unknown>): { name?: string; trainable?: boolean; inputShape?: Shape } {
  return {
    name: typeof config.name === 'string' ? config.name : undefined,
    trainable: typeof config.trainable === 'boolean' ? config.trainable : undefined,
    inputShape: inputShapeFromConfig(config),
  };
}

const registry = new Map<string, LayerFactory>([
  [
    'Dense',
    (config) =>
      new Dense({
        ...common(config),
        units: Number(config.units),
        activation: (config.activation as string | null | undefined) ?? null,
        useBias: (config.use_bias as boolean | undefined) ?? true,
        kernelInitializer:
          (config.kernel_initializer as SerializedObject | string | undefined) ?? 'glorot_uniform',
        biasInitializer: (config.bias_initializer as SerializedObject | string | undefined) ?? 'zeros',
      }),
  ],
  ['Flatten', (config) => new Flatten(common(config))],
  [
    'InputLayer',
    (config) => {
      const shape = inputShapeFromConfig(config);
      // Without a shape the model would accept no input at all: refuse it here, where the config is named.
      if (shape === undefined || shape.length === 0)
        throw new RangeError('InputLayer: the config gives no input shape (batch_shape, batch_input_shape)');
      return new InputLayer({ name: typeof config.name === 'string' ? config.name : undefined, shape });
    },
  ],
  [
    'Dropout',
    (config) =>
      new Dropout({
        ...common(config),
        rate: config.rate as number,
        noiseShape: config.noise_shape as null | undefined,
        seed: (config.seed as number | null | undefined) ?? null,
      }),
  ],
  [
    'AlphaDropout',
    (config) =>
      new AlphaDropout({
        ...common(config),
        rate: config.rate as number,
        noiseShape: config.noise_shape as null | undefined,
        seed: (config.seed as number | null | undefined) ?? null,
      }),
  ],
  ['Activation', (config) => new Activation({ ...common(config), activation: config.activation as string })],
  [
    'BatchNormalization',
    (config) => {
      // tf.keras wrote features axes as a list (`[1]`); Keras reads a one-element list as that axis.
      const axis = Array.isArray(config.axis) && config.axis.length === 1 ? config.axis[0] : config.axis;
      if (config.renorm === true || (config.virtual_batch_size ?? null) !== null) {
        throw new RangeError('BatchNormalization: renorm and virtual_batch_size are not supported');
      }
      return new BatchNormalization({
        ...common(config),
        axis: axis === undefined ? undefined : (axis as number),
        momentum: config.momentum as number | undefined,
        epsilon: config.epsilon as number | undefined,
        center: config.center as boolean | undefined,
        scale: config.scale as boolean | undefined,
        betaInitializer: config.beta_initializer as SerializedObject | string | undefined,
        gammaInitializer: config.gamma_initializer as SerializedObject | string | undefined,
        movingMeanInitializer: config.moving_mean_initializer as SerializedObject | string | undefined,
        movingVarianceInitializer: config.moving_variance_initializer as
          SerializedObject | string | undefined,
      });
    },
  ],
  ['Add', (config) => new Add(common(config))],
  [
    'Concatenate',
    (config) =>
      new Concatenate({
        ...common(config),
        axis: config.axis === undefined ? undefined : (config.axis as number),
      }),
  ],
  ...convolutionalFactories(),
]);

/** Strips Keras's `keras.layers.` / `Custom>` style prefixes from a class name. */
export function bareClassName(className: string): string {
  return className.replace(/^Custom>/, '').replace(/^.*\./, '');
}

/**
 * Registers a layer class so that saved models and `cloneModel` can create it by its Keras class name
 * (`Custom>` and module prefixes are ignored when looking it up).
 */
export function registerLayer(className: string, factory: LayerFactory): void {
  registry.set(bareClassName(className), factory);
}

/** Whether a class name is known. */
export function isLayerRegistered(className: string): boolean {
  return registry.has(bareClassName(className));
}

/**
 * Creates a layer from Keras's `{ class_name, config }`; unknown classes throw {@link UnknownLayerError}. The
 * layer's name is reserved ({@link reserveLayerName}): later automatic names do not repeat it.
 */
export function deserializeLayer(serialized: {
  class_name: string;
  config?: Record<string, unknown>;
}): Layer {
  const factory = registry.get(bareClassName(serialized.class_name));
  if (factory === undefined) throw new UnknownLayerError(serialized.class_name);
  const layer = factory(serialized.config ?? {});
  reserveLayerName(layer.name);
  return layer;
}

/** Keras 3's serialized form of a layer. */
export function serializeLayer(layer: Layer): SerializedObject {
  return {
    module: layer.kerasModule,
    class_name: layer.className,
    config: layer.getConfig(),
    registered_name: layer.registeredName,
    ...(layer.inputShape ? { build_config: { input_shape: [null, ...layer.inputShape] } } : {}),
  };
}

type Config = Record<string, unknown>;
type InitializerConfig = SerializedObject | string | undefined;

/** A config value that Keras writes as a tuple (a JSON list) or an int, passed on for the layer to check. */
function pair(value: unknown): number | number[] | undefined {
  return value as number | number[] | undefined;
}

/** Keras's `axis` may be written as a one-element list. */
function singleAxis(value: unknown): number | undefined {
  return (Array.isArray(value) && value.length === 1 ? value[0] : value) as number | undefined;
}

/** The window arguments every 2-D convolution config has. */
function convolution(config: Config): {
  kernelSize: number | number[];
  strides?: number | number[];
  padding?: string;
  dataFormat?: string | null;
  dilationRate?: number | number[];
  activation: string | null;
  useBias?: boolean;
  biasInitializer?: InitializerConfig;
} {
  return {
    kernelSize: pair(config.kernel_size)!,
    strides: pair(config.strides),
    padding: config.padding as string | undefined,
    dataFormat: config.data_format as string | null | undefined,
    dilationRate: pair(config.dilation_rate),
    activation: (config.activation as string | null | undefined) ?? null,
    useBias: config.use_bias as boolean | undefined,
    biasInitializer: config.bias_initializer as InitializerConfig,
  };
}

/** Factories of the convolutional-network layers, from Keras 3 (and tf.keras 2) configs. */
function convolutionalFactories(): [string, LayerFactory][] {
  return [
    [
      'Conv2D',
      (config) =>
        new Conv2D({
          ...common(config),
          ...convolution(config),
          filters: config.filters as number,
          groups: config.groups as number | undefined,
          kernelInitializer: config.kernel_initializer as InitializerConfig,
        }),
    ],
    [
      'DepthwiseConv2D',
      (config) =>
        new DepthwiseConv2D({
          ...common(config),
          ...convolution(config),
          depthMultiplier: config.depth_multiplier as number | undefined,
          depthwiseInitializer: config.depthwise_initializer as InitializerConfig,
        }),
    ],
    [
      'SeparableConv2D',
      (config) =>
        new SeparableConv2D({
          ...common(config),
          ...convolution(config),
          filters: config.filters as number,
          depthMultiplier: config.depth_multiplier as number | undefined,
          depthwiseInitializer: config.depthwise_initializer as InitializerConfig,
          pointwiseInitializer: config.pointwise_initializer as InitializerConfig,
        }),
    ],
    ...(['MaxPooling2D', 'AveragePooling2D'] as const).map((name): [string, LayerFactory] => [
      name,
      (config) => {
        const Pooling = name === 'MaxPooling2D' ? MaxPooling2D : AveragePooling2D;
        return new Pooling({
          ...common(config),
          poolSize: pair(config.pool_size),
          strides: (config.strides as number | number[] | null | undefined) ?? null,
          padding: config.padding as string | undefined,
          dataFormat: config.data_format as string | null | undefined,
        });
      },
    ]),
    ...(['GlobalAveragePooling2D', 'GlobalMaxPooling2D'] as const).map((name): [string, LayerFactory] => [
      name,
      (config) => {
        const Pooling = name === 'GlobalMaxPooling2D' ? GlobalMaxPooling2D : GlobalAveragePooling2D;
        return new Pooling({
          ...common(config),
          keepdims: config.keepdims as boolean | undefined,
          dataFormat: config.data_format as string | null | undefined,
        });
      },
    ]),
    [
      'ZeroPadding2D',
      (config) =>
        new ZeroPadding2D({
          ...common(config),
          padding: config.padding as number | number[] | number[][] | undefined,
          dataFormat: config.data_format as string | null | undefined,
        }),
    ],
    [
      'Cropping2D',
      (config) =>
        new Cropping2D({
          ...common(config),
          cropping: config.cropping as number | number[] | number[][] | undefined,
          dataFormat: config.data_format as string | null | undefined,
        }),
    ],
    ['Reshape', (config) => new Reshape({ ...common(config), targetShape: config.target_shape as number[] })],
    [
      'Rescaling',
      (config) =>
        new Rescaling({
          ...common(config),
          scale: config.scale as number | number[],
          offset: config.offset as number | number[] | undefined,
        }),
    ],
    [
      'ReLU',
      (config) =>
        new ReLU({
          ...common(config),
          maxValue: config.max_value as number | null | undefined,
          negativeSlope: config.negative_slope as number | undefined,
          threshold: config.threshold as number | undefined,
        }),
    ],
    [
      'LeakyReLU',
      // Keras 2 (and Keras 3 still accepts it) called the slope `alpha`.
      (config) =>
        new LeakyReLU({
          ...common(config),
          negativeSlope: (config.negative_slope ?? config.alpha) as number | undefined,
        }),
    ],
    ['Softmax', (config) => new Softmax({ ...common(config), axis: singleAxis(config.axis) })],
  ];
}
