"""Records convolutional models as real Keras 3 writes them, for warmstart's tests of its CNN and nested-model I/O.

Writes into test/fixtures/keras3-cnn/ (run from anywhere):

- mobilenetv2.h5 / .keras: `keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3),
  include_top=False, weights=None)` reused the way `keras.applications` bases are,
  `Sequential([base, GlobalAveragePooling2D(), Dense(10)])` (the base is a Functional model nested as a layer),
  with random BatchNormalization statistics so that no BN is the identity; the head gives logits. Never
  downloads weights (`weights=None`), uncompiled;
- small_cnn.h5 / .keras: the Fashion-MNIST CNN (Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2,
  Flatten, Dense 128 relu, Dense 8 softmax) trained 30 steps with Adam on random data, saved uncompiled;
- nested_frozen.h5 / .keras: a Sequential holding a frozen functional base (Conv2D, BatchNormalization, ReLU,
  DepthwiseConv2D, Add) and a head, trained a few steps with SGD (momentum) and saved with its optimizer;
- nested_functional.h5 / .keras: a functional model calling a trainable nested Sequential (Conv2D,
  BatchNormalization, ReLU, SeparableConv2D) on its input, trained a few steps with Adam, saved with it;
- <name>.json: the probe inputs (from the generator below, so that the JSON stays small), Keras's
  predictions, the output of a model cut at an inner layer (`keras.Model(m.input, m.get_layer(x).output)`),
  the weights' paths, and, for the trained ones, the optimizer variables and one more step on a given batch.

Probe inputs come from Park and Miller's minimal standard generator (state = state * 48271 mod 2^31 - 1,
value = state / (2^31 - 1)), exact in float64 in Python and JavaScript alike, scaled to the model's input
range and rounded to float32.

Run (Keras 3.11.3 on PyTorch 1.13, see /work/shared/tools/keras3/README.md):
    export KERAS_ENV=/work/keras-env; . $KERAS_ENV/env.sh
    /usr/bin/python3 test/fixtures-gen/keras_cnn_fixtures.py
"""

import json
import os
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
from keras import layers, optimizers  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "keras3-cnn")
MODULUS = 2147483647


def park_miller(seed, count, low, high):
    """`count` values in [low, high) from the minimal standard generator, as float32."""
    values = np.empty(count, dtype=np.float64)
    state = seed
    for i in range(count):
        state = (state * 48271) % MODULUS
        values[i] = state / MODULUS
    return (low + (high - low) * values).astype(np.float32)


def as_list(array):
    return np.asarray(array, dtype=np.float64).ravel().tolist()


def save_both(model, name):
    for extension in ("keras", "h5"):
        path = os.path.join(OUT, f"{name}.{extension}")
        if os.path.exists(path):
            os.remove(path)
        model.save(path)


def weight_paths(model):
    return [{"path": w.path, "shape": list(w.shape)} for w in model.weights]


def write_record(name, record):
    record = {"keras_version": keras.__version__, "backend": keras.backend.backend(), **record}
    with open(os.path.join(OUT, f"{name}.json"), "w") as handle:
        json.dump(record, handle, indent=None, separators=(",", ":"))
        handle.write("\n")


def randomize_batch_normalization(model, rng):
    """Gives every BatchNormalization layer (nested ones too) random, plausible statistics and affine terms."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, layers.BatchNormalization):
            channels = layer.gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, channels).astype("float32"),
                    rng.uniform(-0.2, 0.2, channels).astype("float32"),
                    rng.uniform(-0.2, 0.2, channels).astype("float32"),
                    rng.uniform(0.5, 2.0, channels).astype("float32"),
                ]
            )


def mobilenetv2():
    keras.utils.set_random_seed(21)
    base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None)
    model = keras.Sequential(
        [keras.Input(shape=(96, 96, 3)), base, layers.GlobalAveragePooling2D(name="pool"), layers.Dense(10, name="logits")],
        name="mobilenetv2_transfer",
    )
    randomize_batch_normalization(model, np.random.default_rng(8))
    probe_shape = [4, 96, 96, 3]
    probe = park_miller(1, int(np.prod(probe_shape)), -1.0, 1.0).reshape(probe_shape)
    cut_layer = "block_13_expand_relu"
    cut = keras.Model(base.input, base.get_layer(cut_layer).output)
    save_both(model, "mobilenetv2")
    write_record(
        "mobilenetv2",
        {
            "probe_seed": 1,
            "probe_range": [-1.0, 1.0],
            "probe_shape": probe_shape,
            "logits": as_list(model.predict(probe, verbose=0)),
            "base_layers": len(base.layers),
            "parameters": int(model.count_params()),
            "cut": {"layer": cut_layer, "shape": list(cut.output.shape[1:]), "probe_0": as_list(cut.predict(probe[:1], verbose=0))},
            "weights": weight_paths(model),
        },
    )


def small_cnn():
    keras.utils.set_random_seed(22)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(8, activation="softmax"),
        ],
        name="small_cnn",
    )
    model.compile(optimizer=optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, size=(30 * 32, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 8, size=30 * 32)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    # Saved without the optimizer: the file is what a trained model A would be, at a third of the size.
    plain = keras.Sequential.from_config(model.get_config())
    plain.set_weights(model.get_weights())
    probe_shape = [8, 28, 28, 1]
    probe = park_miller(2, int(np.prod(probe_shape)), 0.0, 1.0).reshape(probe_shape)
    features = keras.Model(plain.inputs, plain.get_layer(plain.layers[-2].name).output)
    save_both(plain, "small_cnn")
    write_record(
        "small_cnn",
        {
            "probe_seed": 2,
            "probe_range": [0.0, 1.0],
            "probe_shape": probe_shape,
            "probabilities": as_list(plain.predict(probe, verbose=0)),
            "cut": {"layer": plain.layers[-2].name, "shape": [128], "probe_all": as_list(features.predict(probe, verbose=0))},
            "weights": weight_paths(plain),
        },
    )


def residual_base():
    inputs = keras.Input(shape=(8, 8, 3), name="base_input")
    x = layers.Conv2D(6, 3, padding="same", name="c1")(inputs)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(6.0, name="relu1")(x)
    y = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = layers.Add(name="add")([x, y])
    return keras.Model(inputs, x, name="base")


def nested_frozen():
    keras.utils.set_random_seed(23)
    base = residual_base()
    randomize_batch_normalization(base, np.random.default_rng(9))
    base.trainable = False
    model = keras.Sequential(
        [keras.Input(shape=(8, 8, 3)), base, layers.GlobalAveragePooling2D(name="pool"), layers.Dense(3, activation="softmax", name="head")],
        name="nested_frozen",
    )
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1, momentum=0.9), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    record_trained("nested_frozen", model, cut_model=keras.Model(base.input, base.get_layer("relu1").output), cut_layer="relu1")


def nested_functional():
    keras.utils.set_random_seed(24)
    inner = keras.Sequential(
        [
            keras.Input(shape=(8, 8, 3)),
            layers.Conv2D(4, 3, strides=2, padding="same", name="s_conv"),
            layers.BatchNormalization(name="s_bn"),
            layers.ReLU(name="s_relu"),
            layers.SeparableConv2D(5, 3, padding="same", activation="relu", name="s_sep"),
        ],
        name="features",
    )
    inputs = keras.Input(shape=(8, 8, 3), name="image")
    x = inner(inputs)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(3, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs, name="nested_functional")
    randomize_batch_normalization(model, np.random.default_rng(10))
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    record_trained("nested_functional", model, cut_model=keras.Model(inner.inputs, inner.get_layer("s_relu").output), cut_layer="s_relu")


def record_trained(name, model, cut_model, cut_layer):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(24, 8, 8, 3)).astype("float32")
    y = rng.integers(0, 3, size=24)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    probe = rng.normal(size=(5, 8, 8, 3)).astype("float32")
    next_x = rng.normal(size=(8, 8, 8, 3)).astype("float32")
    next_y = rng.integers(0, 3, size=8)
    save_both(model, name)
    record = {
        "probe": as_list(probe),
        "probe_shape": list(probe.shape),
        "predictions": as_list(model.predict(probe, verbose=0)),
        "cut": {"layer": cut_layer, "shape": list(cut_model.output.shape[1:]), "probe_all": as_list(cut_model.predict(probe, verbose=0))},
        "weights": [{"path": w.path, "shape": list(w.shape), "values": as_list(w.numpy())} for w in model.weights],
        "trainable_weights": [w.path for w in model.trainable_weights],
        "optimizer_variables": [
            {"path": v.path, "name": v.name, "shape": list(v.shape), "values": as_list(v.numpy())} for v in model.optimizer.variables
        ],
        "next_batch": {"x": as_list(next_x), "x_shape": list(next_x.shape), "y": next_y.tolist()},
    }
    model.train_on_batch(next_x, next_y)
    record["weights_after_next_batch"] = [{"path": w.path, "values": as_list(w.numpy())} for w in model.weights]
    write_record(name, record)


def main():
    os.makedirs(OUT, exist_ok=True)
    mobilenetv2()
    small_cnn()
    nested_frozen()
    nested_functional()
    print(f"wrote {OUT} with Keras {keras.__version__} ({keras.backend.backend()})", file=sys.stderr)


if __name__ == "__main__":
    main()
