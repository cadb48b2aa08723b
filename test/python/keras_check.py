"""Loads model files written by warmstart with real Keras 3 and reports what Keras makes of them.

Used by test/keras-python.test.ts: `python3 keras_check.py cases.json results.json`, with Keras importable
(`. $KERAS_ENV/env.sh`). Each case of cases.json is

    {"id", "path", "probe": [...], "probe_shape": [...],
     "step": null | {"x": [...], "x_shape": [...], "y": [...]}}

and gets, in results.json, Keras's view of the file: whether it loads (else the error), the optimizer it
compiled with (class and config), its variables (name, shape, values) in `optimizer.variables` order, the
predictions on `probe`, and, when `step` is given, the weights after one more step on it (`fit` on that one batch).
"""

import json
import os
import sys
import traceback
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")
import logging  # noqa: E402

logging.getLogger("absl").setLevel(logging.ERROR)

import numpy as np  # noqa: E402
import keras  # noqa: E402


def flat(array):
    return np.asarray(array, dtype=np.float64).ravel().tolist()


def check(case):
    result = {"id": case["id"], "keras_version": keras.__version__}
    try:
        model = keras.saving.load_model(case["path"])
    except Exception as error:  # noqa: BLE001 - reported to the test, which names the case
        result["error"] = f"load_model: {type(error).__name__}: {error}"
        result["traceback"] = traceback.format_exc(limit=6)
        return result
    result["model_class"] = type(model).__name__
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        result["optimizer"] = {
            "class_name": type(optimizer).__name__,
            "config": json.loads(json.dumps(optimizer.get_config(), default=str)),
            "built": bool(getattr(optimizer, "built", False)),
            "iterations": int(optimizer.iterations.numpy()),
            "variables": [
                {"name": v.name, "path": v.path, "shape": list(v.shape), "values": flat(v.numpy())}
                for v in optimizer.variables
            ],
        }
    probe = np.asarray(case["probe"], dtype="float32").reshape(case["probe_shape"])
    result["predictions"] = flat(model.predict(probe, verbose=0))
    result["weights"] = [{"path": w.path, "values": flat(w.numpy())} for w in model.weights]
    step = case.get("step")
    if step is not None:
        try:
            x = np.asarray(step["x"], dtype="float32").reshape(step["x_shape"])
            y = np.asarray(step["y"])
            # As warmstart's `fit` (and Keras's): one epoch of one batch, then `finalize_variable_values`.
            model.fit(x, y, batch_size=len(y), epochs=1, shuffle=False, verbose=0)
            result["weights_after_step"] = [{"path": w.path, "values": flat(w.numpy())} for w in model.weights]
            result["iterations_after_step"] = int(optimizer.iterations.numpy())
        except Exception as error:  # noqa: BLE001
            result["step_error"] = f"fit: {type(error).__name__}: {error}"
            result["traceback"] = traceback.format_exc(limit=6)
    return result


def main():
    with open(sys.argv[1]) as handle:
        cases = json.load(handle)
    results = [check(case) for case in cases]
    with open(sys.argv[2], "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
