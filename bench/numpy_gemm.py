"""GEMM GFLOPS of numpy (its BLAS) for the three batch-32 products of model A's first layer.

forward  x(32x784) . w(784x300)
dW       x^T(784x32) . dz(32x300)
dX       dz(32x300) . w^T(300x784)

Checks each product against float64 (a wrongly detected BLAS kernel set can compute garbage on new
CPUs), then prints one JSON object. Usage: python3 numpy_gemm.py [SECONDS_PER_SHAPE]
"""

import ctypes
import json
import sys
import time

import numpy as np


def main() -> None:
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 784), dtype=np.float32)
    w = rng.standard_normal((784, 300), dtype=np.float32)
    dz = rng.standard_normal((32, 300), dtype=np.float32)
    shapes = {
        "forward": (lambda: x @ w, x.astype(np.float64) @ w.astype(np.float64)),
        "dW": (lambda: x.T @ dz, x.T.astype(np.float64) @ dz.astype(np.float64)),
        "dX": (lambda: dz @ w.T, dz.astype(np.float64) @ w.T.astype(np.float64)),
    }
    flops = 2 * 32 * 784 * 300
    out = {"numpy": np.__version__, "blas": blas_core(), "gflops": {}, "correct": True}
    for name, (fn, exact) in shapes.items():
        err = np.max(np.abs(fn() - exact)) / np.max(np.abs(exact))
        out["correct"] = bool(out["correct"] and err < 1e-4)
        for _ in range(50):
            fn()
        best = float("inf")
        deadline = time.perf_counter() + budget
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            for _ in range(20):
                fn()
            best = min(best, (time.perf_counter() - t) / 20)
        out["gflops"][name] = flops / best / 1e9
    print(json.dumps(out))


def blas_core() -> str:
    """Which BLAS (and, for OpenBLAS, which kernel set) libblas.so.3 resolves to."""
    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return f"OpenBLAS {lib.openblas_get_corename().decode()} ({lib.openblas_get_num_threads()} threads)"
    except (OSError, AttributeError):
        return "reference BLAS (not OpenBLAS)"


if __name__ == "__main__":
    main()
