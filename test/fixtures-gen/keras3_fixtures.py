"""Records what real Keras 3 writes, for warmstart's tests to check its reader and writer against.

Writes into test/fixtures/keras3/ (run from the repository root):

- config-types.json: Keras's own serialization (`serialize_keras_object`, then `json.dumps`, kept as text so
  that `0.0` and `0` stay distinct) of every optimizer, schedule, layer and initializer warmstart implements,
  and of a few layers it may implement later, built with integer-valued float hyperparameters (momentum 0.0,
  learning rate 1.0, ...) where a JavaScript writer would print an integer;
- <name>.keras and <name>.h5: small models trained a few steps by Keras, saved with their optimizer state;
- <name>.json: the inputs, Keras's predictions, weights and optimizer variables (in `optimizer.variables`
  order, with their paths), and one more training step on a given batch with the weights it leads to.

Run (Keras 3.11.3 on PyTorch 1.13, see /work/shared/tools/keras3/README.md):
    export KERAS_ENV=/work/keras-env; . $KERAS_ENV/env.sh
    /usr/bin/python3 test/fixtures-gen/keras3_fixtures.py
"""

import json
import os
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
from keras import layers, initializers, optimizers  # noqa: E402
from keras.optimizers import schedules  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "keras3")


def serialized(obj):
    return json.dumps(keras.saving.serialize_keras_object(obj))


def config_types():
    """Keras's serialization of each class, with integer-valued floats wherever the class takes floats."""
    records = []

    def add(kind, obj, note=""):
        records.append({"kind": kind, "class_name": type(obj).__name__, "note": note, "json": serialized(obj)})

    exp = schedules.ExponentialDecay(initial_learning_rate=1.0, decay_steps=10, decay_rate=1.0, staircase=True)
    piecewise = schedules.PiecewiseConstantDecay(boundaries=[10, 20], values=[1.0, 0.5, 0.0])
    poly = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.0, power=1.0, cycle=True)
    inverse = schedules.InverseTimeDecay(1.0, 10, 1.0)
    cosine = schedules.CosineDecay(1.0, 10, alpha=0.0, warmup_target=2.0, warmup_steps=5)
    restarts = schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=1.0, alpha=0.0)
    for schedule in [exp, piecewise, poly, inverse, cosine, restarts]:
        add("schedule", schedule)

    add("optimizer", optimizers.SGD(learning_rate=1.0, momentum=0.0), "the notebook's SGD with integer-valued floats")
    add("optimizer", optimizers.SGD(learning_rate=1.0, momentum=1.0, nesterov=True, clipnorm=1.0, weight_decay=0.0))
    add("optimizer", optimizers.SGD(learning_rate=exp, momentum=0.0), "a schedule as learning rate")
    add("optimizer", optimizers.RMSprop(learning_rate=1.0, rho=0.0, momentum=0.0, epsilon=1.0, centered=True, clipvalue=1.0))
    add("optimizer", optimizers.Adam(learning_rate=1.0, beta_1=0.0, beta_2=0.0, epsilon=1.0, amsgrad=True, global_clipnorm=1.0))
    add("optimizer", optimizers.Adam(learning_rate=1.0, use_ema=True, ema_momentum=0.0, ema_overwrite_frequency=2))
    add("optimizer", optimizers.Adam(learning_rate=piecewise, gradient_accumulation_steps=2))
    add("optimizer", optimizers.AdamW(learning_rate=1.0, weight_decay=0.0, beta_1=0.0, beta_2=0.0, epsilon=1.0))
    add("optimizer", optimizers.Adadelta(learning_rate=1.0, rho=0.0, epsilon=1.0))
    add("optimizer", optimizers.Adagrad(learning_rate=1.0, initial_accumulator_value=0.0, epsilon=1.0))
    add("optimizer", optimizers.Adamax(learning_rate=1.0, beta_1=0.0, beta_2=0.0, epsilon=1.0))
    add("optimizer", optimizers.Nadam(learning_rate=1.0, beta_1=0.0, beta_2=0.0, epsilon=1.0))
    add("optimizer", optimizers.Lion(learning_rate=1.0, beta_1=0.5, beta_2=0.0))
    add(
        "optimizer",
        optimizers.Ftrl(
            learning_rate=1.0,
            learning_rate_power=-1.0,
            initial_accumulator_value=0.0,
            l1_regularization_strength=0.0,
            l2_regularization_strength=0.0,
            l2_shrinkage_regularization_strength=0.0,
            beta=0.0,
        ),
    )

    for initializer in [
        initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1),
        initializers.RandomUniform(minval=0.0, maxval=1.0, seed=2),
        initializers.TruncatedNormal(mean=0.0, stddev=1.0, seed=3),
        initializers.VarianceScaling(scale=1.0, mode="fan_avg", distribution="uniform", seed=4),
        initializers.GlorotUniform(seed=5),
        initializers.GlorotNormal(),
        initializers.LecunNormal(),
        initializers.LecunUniform(),
        initializers.HeNormal(),
        initializers.HeUniform(),
        initializers.Orthogonal(gain=1.0, seed=6),
        initializers.Identity(gain=1.0),
        initializers.Constant(value=0.0),
        initializers.Zeros(),
        initializers.Ones(),
    ]:
        add("initializer", initializer)

    dense = layers.Dense(
        3,
        activation="selu",
        kernel_initializer=initializers.VarianceScaling(scale=1.0, seed=7),
        bias_initializer=initializers.Constant(0.0),
        name="dense",
    )
    built = [
        (layers.InputLayer(shape=(4,), name="input_layer"), None),
        (dense, (None, 4)),
        (layers.Flatten(name="flatten"), (None, 2, 2)),
        (layers.Dropout(rate=0.0, seed=3, name="dropout"), (None, 4)),
        (layers.AlphaDropout(rate=0.0, name="alpha_dropout"), (None, 4)),
        (layers.Activation("relu", name="activation"), (None, 4)),
        (layers.BatchNormalization(momentum=0.0, epsilon=1.0, name="batch_normalization"), (None, 4)),
        (layers.Add(name="add"), [(None, 4), (None, 4)]),
        (layers.Concatenate(axis=-1, name="concatenate"), [(None, 4), (None, 2)]),
        # Layers warmstart may implement later: checked as soon as its registry knows them.
        (layers.Conv2D(2, 3, strides=1, name="conv2d"), (None, 6, 6, 1)),
        (layers.MaxPooling2D(pool_size=2, name="max_pooling2d"), (None, 4, 4, 1)),
        (layers.AveragePooling2D(pool_size=2, name="average_pooling2d"), (None, 4, 4, 1)),
        (layers.GlobalAveragePooling2D(name="global_average_pooling2d"), (None, 4, 4, 1)),
        (layers.Reshape((2, 2), name="reshape"), (None, 4)),
        (layers.LayerNormalization(epsilon=1.0, name="layer_normalization"), (None, 4)),
        (layers.LeakyReLU(negative_slope=0.0, name="leaky_re_lu"), (None, 4)),
        (layers.ReLU(max_value=6.0, negative_slope=0.0, threshold=0.0, name="re_lu"), (None, 4)),
        (layers.ELU(alpha=1.0, name="elu"), (None, 4)),
        (layers.Softmax(axis=-1, name="softmax"), (None, 4)),
        (layers.GaussianNoise(stddev=1.0, name="gaussian_noise"), (None, 4)),
        (layers.GaussianDropout(rate=0.0, name="gaussian_dropout"), (None, 4)),
        (layers.SpatialDropout2D(rate=0.0, name="spatial_dropout2d"), (None, 4, 4, 1)),
        (layers.Embedding(10, 4, name="embedding"), (None, 3)),
        (layers.DepthwiseConv2D(3, depth_multiplier=2, name="depthwise_conv2d"), (None, 6, 6, 1)),
        (layers.SeparableConv2D(2, 3, depth_multiplier=1, name="separable_conv2d"), (None, 6, 6, 1)),
        (layers.GlobalMaxPooling2D(name="global_max_pooling2d"), (None, 4, 4, 1)),
        (layers.ZeroPadding2D(padding=1, name="zero_padding2d"), (None, 4, 4, 1)),
        (layers.Cropping2D(cropping=1, name="cropping2d"), (None, 4, 4, 1)),
        (layers.Rescaling(scale=1.0, offset=0.0, name="rescaling"), (None, 4)),
    ]
    for layer, shape in built:
        if shape is not None:
            layer.build(shape)
        add("layer", layer)
    return records


def trained_models():
    """Small models trained a few steps, whose files carry optimizer state Keras wrote."""

    def sequential_adam():
        model = keras.Sequential(
            [
                keras.Input(shape=(4,)),
                layers.Dense(5, activation="relu"),
                layers.Dense(3, activation="softmax"),
            ],
            name="adam_model",
        )
        model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def sequential_sgd_momentum():
        model = keras.Sequential(
            [
                keras.Input(shape=(4,)),
                layers.Dense(5),
                layers.BatchNormalization(),
                layers.Activation("selu"),
                layers.Dense(3, activation="softmax"),
            ],
            name="sgd_model",
        )
        model.compile(optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def functional_rmsprop():
        inputs = keras.Input(shape=(4,), name="features")
        hidden = layers.Dense(5, activation="tanh", name="hidden")(inputs)
        merged = layers.Concatenate(name="wide_deep")([inputs, hidden])
        outputs = layers.Dense(3, activation="softmax", name="head")(merged)
        model = keras.Model(inputs, outputs, name="rmsprop_model")
        model.compile(
            optimizer=optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    return [("adam", sequential_adam), ("sgd_momentum", sequential_sgd_momentum), ("rmsprop_centered", functional_rmsprop)]


def as_list(array):
    return np.asarray(array, dtype=np.float64).ravel().tolist()


def record_model(name, build):
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(24, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0).astype("int64")
    model = build()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    probe = rng.normal(size=(6, 4)).astype("float32")
    next_x = rng.normal(size=(8, 4)).astype("float32")
    next_y = (next_x[:, 0] > 0).astype("int64") + (next_x[:, 1] > 0).astype("int64")

    for extension in ("keras", "h5"):
        path = os.path.join(OUT, f"{name}.{extension}")
        if os.path.exists(path):
            os.remove(path)
        model.save(path)

    record = {
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "probe": as_list(probe),
        "probe_shape": list(probe.shape),
        "predictions": as_list(model.predict(probe, verbose=0)),
        "weights": [{"path": w.path, "shape": list(w.shape), "values": as_list(w.numpy())} for w in model.weights],
        "optimizer_variables": [
            {"path": v.path, "name": v.name, "shape": list(v.shape), "values": as_list(v.numpy())}
            for v in model.optimizer.variables
        ],
        "next_batch": {"x": as_list(next_x), "x_shape": list(next_x.shape), "y": next_y.tolist()},
    }
    model.train_on_batch(next_x, next_y)
    record["weights_after_next_batch"] = [{"path": w.path, "values": as_list(w.numpy())} for w in model.weights]
    with open(os.path.join(OUT, f"{name}.json"), "w") as handle:
        json.dump(record, handle, indent=1)
        handle.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "config-types.json"), "w") as handle:
        json.dump(
            {"keras_version": keras.__version__, "records": config_types()},
            handle,
            indent=1,
        )
        handle.write("\n")
    for name, build in trained_models():
        record_model(name, build)
    print(f"wrote {OUT} with Keras {keras.__version__} ({keras.backend.backend()})", file=sys.stderr)


if __name__ == "__main__":
    main()
