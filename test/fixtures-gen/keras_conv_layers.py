"""Records Keras 3's outputs of the convolutional-network layers for test/layers-conv-keras.test.ts.

Run with the Keras 3 build of ../shared/tools/keras3 (torch backend):
    export KERAS_ENV=/work/keras-env; . $KERAS_ENV/env.sh
    /usr/bin/python3 test/fixtures-gen/keras_conv_layers.py > test/fixtures/keras-conv-layers.json
    npx prettier --write test/fixtures/keras-conv-layers.json
Each case: the layer's class name and get_config() as Keras writes it, the input shape, the input, the weights
(Keras's order) and Keras's output, all float32 values.
"""
import json

import numpy as np
import keras
from keras import layers

rng = np.random.default_rng(20261127)

CASES = [
    (layers.Conv2D(4, 3), (6, 5, 2)),
    (layers.Conv2D(3, 3, strides=2, padding="same"), (7, 6, 2)),
    (layers.Conv2D(2, (2, 3), strides=(2, 1), padding="same"), (5, 5, 3)),
    (layers.Conv2D(2, 3, dilation_rate=2, padding="same"), (6, 7, 2)),
    (layers.Conv2D(4, 3, groups=2, padding="same", activation="relu"), (4, 5, 6)),
    (layers.Conv2D(3, 1, strides=2, use_bias=False), (5, 4, 2)),
    (layers.Conv2D(5, 4, strides=3, padding="same"), (8, 10, 3)),
    (layers.DepthwiseConv2D(3, padding="same"), (5, 5, 3)),
    (layers.DepthwiseConv2D(3, strides=2, padding="same"), (7, 8, 4)),
    (layers.DepthwiseConv2D(3, strides=2, padding="same"), (8, 8, 4)),
    (layers.DepthwiseConv2D((2, 3), depth_multiplier=3, dilation_rate=2, padding="same"), (5, 6, 2)),
    (layers.SeparableConv2D(3, 3, depth_multiplier=2, strides=2, padding="same", activation="tanh"), (6, 7, 3)),
    (layers.MaxPooling2D(), (6, 5, 2)),
    (layers.MaxPooling2D(3, strides=2, padding="same"), (7, 6, 3)),
    (layers.MaxPooling2D((2, 3), strides=1), (4, 5, 2)),
    (layers.AveragePooling2D(2), (6, 6, 2)),
    (layers.AveragePooling2D(3, strides=2, padding="same"), (7, 7, 3)),
    (layers.AveragePooling2D(3, strides=1, padding="same"), (4, 5, 2)),
    (layers.AveragePooling2D(2, padding="same"), (5, 5, 1)),
    (layers.GlobalAveragePooling2D(), (3, 4, 5)),
    (layers.GlobalMaxPooling2D(keepdims=True), (4, 2, 3)),
    (layers.ZeroPadding2D(((1, 2), (0, 3))), (3, 2, 2)),
    (layers.Cropping2D(((1, 0), (2, 1))), (4, 5, 2)),
    (layers.Reshape((-1, 4)), (2, 3, 2)),
    (layers.Rescaling(1 / 127.5, offset=-1), (2, 3, 2)),
    (layers.ReLU(6.0), (3, 4)),
    (layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5), (3, 4)),
    (layers.LeakyReLU(), (3, 4)),
    (layers.LeakyReLU(negative_slope=0.1), (2, 2, 2)),
    (layers.Softmax(), (2, 3, 4)),
    (layers.BatchNormalization(), (3, 2, 4)),
]


def values(array):
    return [float(v) for v in np.asarray(array, dtype=np.float32).ravel()]


cases = []
for layer, shape in CASES:
    batch = 2
    layer.build((batch,) + shape)
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
    if isinstance(layer, layers.BatchNormalization):
        weights[3] = np.abs(weights[3]) + 0.5  # a moving variance must be positive
    layer.set_weights(weights)
    scale = 4.0 if isinstance(layer, layers.ReLU) else 1.0
    x = (scale * rng.normal(size=(batch,) + shape)).astype(np.float32)
    y = keras.ops.convert_to_numpy(layer(x))
    cases.append(
        {
            "class_name": layer.__class__.__name__,
            "config": layer.get_config(),
            "input_shape": list(shape),
            "batch": batch,
            "x": values(x),
            "weights": [{"shape": list(w.shape), "values": values(w)} for w in weights],
            "output_shape": list(y.shape[1:]),
            "y": values(y),
        }
    )

print(json.dumps({"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": cases}))
