"""W_A in PyTorch: one epoch of model A, for comparison with warmstart's kernels (bench/run.ts).

Same model (Flatten 28x28 -> Dense 300/100/50/50/50 selu -> Dense 8, softmax fused into the
cross-entropy), SGD lr 1e-3, batch 32, 44,000 random images in shuffled order, per-batch accuracy like
Keras, then evaluation of 5,000 images; and predict on 10,000 images. Prints one JSON object.

Usage: python3 torch_w_a.py THREADS [TRAIN VALIDATION PREDICT]
"""

import json
import sys
import time


def main() -> None:
    import torch

    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    n_train = int(sys.argv[2]) if len(sys.argv) > 2 else 44000
    n_val = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    n_predict = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    torch.set_num_threads(threads)
    torch.manual_seed(1)

    def images(count: int) -> torch.Tensor:
        # ~80 % zeros, like MNIST-style digits (the JS side draws from the same distribution).
        r = torch.rand(count, 28, 28)
        return torch.where(r < 0.8, torch.zeros_like(r), (r - 0.8) * 5)

    x_train, y_train = images(n_train), torch.randint(0, 8, (n_train,))
    x_val, y_val = images(n_val), torch.randint(0, 8, (n_val,))
    x_pred = images(n_predict)

    layers = [torch.nn.Flatten()]
    sizes = [784, 300, 100, 50, 50, 50]
    for a, b in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.SELU()]
    layers.append(torch.nn.Linear(50, 8))
    model = torch.nn.Sequential(*layers)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    batch = 32

    def train_epoch(steps: int) -> float:
        order = torch.randperm(n_train)
        total = 0.0
        correct = 0
        for s in range(steps):
            index = order[s * batch : (s + 1) * batch]
            xb, yb = x_train[index], y_train[index]
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
            correct += (logits.argmax(1) == yb).sum().item()
        return total

    def evaluate() -> None:
        with torch.no_grad():
            for start in range(0, n_val, batch):
                logits = model(x_val[start : start + batch])
                loss_fn(logits, y_val[start : start + batch]).item()
                (logits.argmax(1) == y_val[start : start + batch]).sum().item()

    steps = (n_train + batch - 1) // batch
    train_epoch(50)  # warm-up: allocator, thread pool, code paths
    t0 = time.perf_counter()
    train_epoch(steps)
    t1 = time.perf_counter()
    evaluate()
    t2 = time.perf_counter()
    with torch.no_grad():
        t3 = time.perf_counter()
        for start in range(0, n_predict, batch):
            torch.softmax(model(x_pred[start : start + batch]), 1)
        t4 = time.perf_counter()
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "trainSeconds": t1 - t0,
                "evalSeconds": t2 - t1,
                "epochSeconds": t2 - t0,
                "stepsPerEpoch": steps,
                "predictImagesPerSecond": n_predict / (t4 - t3),
                "blas": blas_core(),
            }
        )
    )


def blas_core() -> str:
    """Which BLAS (and, for OpenBLAS, which kernel set) libblas.so.3 resolves to."""
    import ctypes

    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return "OpenBLAS " + lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "reference BLAS (not OpenBLAS)"


if __name__ == "__main__":
    main()
