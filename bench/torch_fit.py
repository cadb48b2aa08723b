"""PyTorch's side of bench/run.ts: times epochs of a dense network, the way Keras's `fit` runs them.

The network: Flatten, Dense layers with the given hidden activation, a linear output layer whose softmax is
fused into the cross-entropy (as warmstart fuses it). Per step: zero_grad, forward, loss, backward, step,
and the per-batch accuracy a Keras progress bar shows. The data is either files written by the bench
(uint8 images scaled by 1/255, uint8 labels, the validation set likewise) or random images with a given
fraction of zeros, generated here with the same distribution as on the JS side.

Usage: python3 torch_fit.py SPEC_JSON
SPEC: {"sizes": [784, 300, ..., 8], "activation": "selu", "batch": 32, "threads": 1, "epochs": 3,
       "optimizer": {"name": "sgd", "lr": 0.01, ...},
       "data": {"kind": "files", "train": [images, labels, count], "valid": [...]}
             | {"kind": "random", "count": 16384, "zeros": 0.5, "classes": 10},
       "predict": [images, count] (optional)}
Prints one JSON object: per-epoch seconds (training + validation), their parts, and predict images/s.
"""

import json
import sys
import time

import numpy as np


def optimizer_for(torch, params, spec):
    name = spec["name"]
    eps = spec.get("epsilon", 1e-7)
    if name in ("sgd", "momentum", "nesterov"):
        return torch.optim.SGD(
            params, lr=spec["lr"], momentum=spec.get("momentum", 0.0), nesterov=spec.get("nesterov", False)
        )
    if name == "adagrad":
        return torch.optim.Adagrad(
            params, lr=spec["lr"], initial_accumulator_value=spec.get("initial_accumulator", 0.1), eps=eps
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=spec["lr"], alpha=spec.get("rho", 0.9), eps=eps)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=spec["lr"], rho=spec.get("rho", 0.95), eps=eps)
    if name == "adam":
        return torch.optim.Adam(params, lr=spec["lr"], betas=(spec.get("beta1", 0.9), spec.get("beta2", 0.999)), eps=eps)
    if name == "nadam":
        return torch.optim.NAdam(params, lr=spec["lr"], betas=(spec.get("beta1", 0.9), spec.get("beta2", 0.999)), eps=eps)
    raise ValueError(f"unknown optimizer {name}")


def load_images(torch, path: str, count: int):
    pixels = np.fromfile(path, dtype=np.uint8, count=count * 784).reshape(count, 28, 28)
    # The notebook's X / 255., in float64, then float32: the same values as warmstart's toFloat32Images.
    return torch.from_numpy((pixels.astype(np.float64) / 255.0).astype(np.float32))


def load_labels(torch, path: str, count: int):
    return torch.from_numpy(np.fromfile(path, dtype=np.uint8, count=count).astype(np.int64))


def random_images(torch, count: int, zeros: float, classes: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    r = torch.rand(count, 28, 28, generator=generator)
    x = torch.where(r < zeros, torch.zeros_like(r), (r - zeros) / (1 - zeros))
    return x, torch.randint(0, classes, (count,), generator=generator)


def set_blas_threads(threads: int) -> int:
    """OpenBLAS keeps its own pthread pool, which torch.set_num_threads does not size."""
    import ctypes

    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_set_num_threads(threads)
        return lib.openblas_get_num_threads()
    except (OSError, AttributeError):
        return -1


def main() -> None:
    import torch

    spec = json.loads(sys.argv[1])
    torch.set_num_threads(spec["threads"])
    blas_threads = set_blas_threads(spec["threads"])
    torch.manual_seed(42)
    data = spec["data"]
    if data["kind"] == "files":
        x_train = load_images(torch, data["train"][0], data["train"][2])
        y_train = load_labels(torch, data["train"][1], data["train"][2])
        if data.get("valid"):
            x_valid = load_images(torch, data["valid"][0], data["valid"][2])
            y_valid = load_labels(torch, data["valid"][1], data["valid"][2])
        else:
            x_valid = y_valid = None
    else:
        x_train, y_train = random_images(torch, data["count"], data["zeros"], data["classes"], 1)
        x_valid = y_valid = None

    sizes = spec["sizes"]
    act = {"selu": torch.nn.SELU, "relu": torch.nn.ReLU, "elu": torch.nn.ELU, "tanh": torch.nn.Tanh}[spec["activation"]]
    layers = [torch.nn.Flatten()]
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(a, b), act()]
    layers.append(torch.nn.Linear(sizes[-2], sizes[-1]))
    model = torch.nn.Sequential(*layers)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = optimizer_for(torch, model.parameters(), spec["optimizer"])
    batch = spec["batch"]
    n_train = x_train.shape[0]

    def train(steps: int) -> None:
        order = torch.randperm(n_train)
        model.train()
        for s in range(steps):
            index = order[s * batch : (s + 1) * batch]
            xb, yb = x_train[index], y_train[index]
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            loss.item()
            (logits.argmax(1) == yb).sum().item()

    def evaluate() -> None:
        model.eval()
        with torch.no_grad():
            for start in range(0, x_valid.shape[0], batch):
                logits = model(x_valid[start : start + batch])
                loss_fn(logits, y_valid[start : start + batch]).item()
                (logits.argmax(1) == y_valid[start : start + batch]).sum().item()

    steps = (n_train + batch - 1) // batch
    train(min(steps, spec.get("warmupSteps", 20)))  # allocator, thread pool, code paths
    epochs, trains, evals = [], [], []
    for _ in range(spec["epochs"]):
        t0 = time.perf_counter()
        train(steps)
        t1 = time.perf_counter()
        if x_valid is not None:
            evaluate()
        t2 = time.perf_counter()
        epochs.append(t2 - t0)
        trains.append(t1 - t0)
        evals.append(t2 - t1)
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blasThreads": blas_threads,
        "epochSeconds": epochs,
        "trainSeconds": trains,
        "evalSeconds": evals,
        "steps": steps,
    }
    if spec.get("predict"):
        x_pred = load_images(torch, spec["predict"][0], spec["predict"][1])
        model.eval()
        best = float("inf")
        with torch.no_grad():
            for _ in range(3):
                t = time.perf_counter()
                for start in range(0, x_pred.shape[0], batch):
                    torch.softmax(model(x_pred[start : start + batch]), 1)
                best = min(best, time.perf_counter() - t)
        out["predictImagesPerSecond"] = x_pred.shape[0] / best
    print(json.dumps(out))


if __name__ == "__main__":
    main()
