"""Records what real Keras 3's BatchNormalization does in training, for test/layers-batchnorm.test.ts.

Writes test/fixtures/keras3/batchnorm.json: for a few layers (momentum 0.9 and 0.7, so that `momentum` and
`1 - momentum` differ; features of a dense layer and channels of images), the batches fed in training mode,
the moving mean and variance after each batch, the training outputs, and the inference output on one more
batch. Keras's rule is `moving = moving * momentum + batch_statistic * (1 - momentum)`, with the biased batch
variance.

Run (Keras 3.11.3 on PyTorch 1.13, see /work/shared/tools/keras3/README.md), from the repository root:
    export KERAS_ENV=/work/keras-env; . $KERAS_ENV/env.sh
    /usr/bin/python3 test/fixtures-gen/keras_batchnorm.py
"""

import json
import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
from keras import layers  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "keras3", "batchnorm.json")


def floats(array):
    return [float(v) for v in np.asarray(array, dtype=np.float32).reshape(-1)]


def record(name, shape, momentum, epsilon, steps, seed):
    rng = np.random.default_rng(seed)
    layer = layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    layer.build((None, *shape))
    features = shape[-1]
    gamma = (0.5 + rng.random(features)).astype(np.float32)
    beta = rng.normal(size=features).astype(np.float32)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    batch = 4 if len(shape) == 1 else 2
    recorded_steps = []
    for _ in range(steps):
        # Shifted and scaled so that the batch statistics are far from the initial 0 and 1.
        x = (rng.normal(size=(batch, *shape)) * 3.0 + 2.0).astype(np.float32)
        y = layer(x, training=True)
        recorded_steps.append(
            {
                "input": floats(x),
                "output": floats(keras.ops.convert_to_numpy(y)),
                "moving_mean": floats(keras.ops.convert_to_numpy(layer.moving_mean)),
                "moving_variance": floats(keras.ops.convert_to_numpy(layer.moving_variance)),
            }
        )
    x = (rng.normal(size=(batch, *shape)) * 3.0 + 2.0).astype(np.float32)
    inference = {"input": floats(x), "output": floats(keras.ops.convert_to_numpy(layer(x, training=False)))}
    return {
        "name": name,
        "shape": list(shape),
        "batch": batch,
        "momentum": momentum,
        "epsilon": epsilon,
        "gamma": floats(gamma),
        "beta": floats(beta),
        "steps": recorded_steps,
        "inference": inference,
    }


def main():
    cases = [
        record("features, momentum 0.9", (3,), 0.9, 1e-3, 3, 1),
        record("image channels, momentum 0.7", (3, 3, 2), 0.7, 1e-2, 2, 2),
    ]
    with open(OUT, "w") as out:
        json.dump({"keras_version": keras.__version__, "backend": keras.backend.backend(), "cases": cases}, out)
        out.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
