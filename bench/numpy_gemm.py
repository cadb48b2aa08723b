"""GFLOPS of numpy's BLAS for the three products of a dense layer, on the shapes bench/gemm.ts measures.

    forward  x(m×k) · w(k×n)
    dW       xᵀ(k×m) · dz(m×n)
    dX       dz(m×n) · wᵀ(n×k)

numpy hands the transposes to sgemm as flags (no copies), as PyTorch does. Each product is timed as the
best of repeated calls within a time budget (CPU time on one thread, wall time on two, as warmstart's
side); flops are counted as 2·m·k·n. With 50 % zeros the data has
zeros in x (and dz, for dX) like warmstart's run; a BLAS does the same work either way. Threads are set
through OpenBLAS's own call (openblas_set_num_threads), 1 and then 2.

Usage: python3 numpy_gemm.py SHAPES_JSON THREADS_JSON SECONDS_PER_CELL
Prints one JSON object: {"results": [{"m", "k", "n", "threads", "zeros", "forward", "dW", "dX"}, ...]}.
"""

import ctypes
import json
import sys
import time

import numpy as np


def set_threads(threads: int) -> bool:
    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_set_num_threads(threads)
        return lib.openblas_get_num_threads() == threads
    except (OSError, AttributeError):
        return False


def best_seconds(fn, budget: float, cpu: bool) -> float:
    """Best time of one call: the process's CPU time on one thread (other processes do not inflate it),
    the wall clock on more (the threads' CPU times add up)."""
    clock = time.process_time if cpu else time.perf_counter
    fn()
    t = time.perf_counter()
    fn()
    # Batches of calls at least 2 ms long: a CPU clock may advance in coarse steps.
    batch = max(1, int(0.002 / max(time.perf_counter() - t, 1e-6)) + 1)
    best = float("inf")
    deadline = time.perf_counter() + budget
    rounds = 0
    while rounds < 3 or time.perf_counter() < deadline:
        t = clock()
        for _ in range(batch):
            fn()
        elapsed = clock() - t
        if elapsed > 0:
            best = min(best, elapsed / batch)
        rounds += 1
    return best


def matrix(rng, rows: int, cols: int, zeros: float) -> np.ndarray:
    a = rng.random((rows, cols), dtype=np.float32) - np.float32(0.5)
    if zeros > 0:
        a[rng.random((rows, cols)) < zeros] = 0
    return a


def main() -> None:
    shapes = json.loads(sys.argv[1])
    thread_counts = json.loads(sys.argv[2])
    budget = float(sys.argv[3])
    rng = np.random.default_rng(1)
    results = []
    for threads in thread_counts:
        if not set_threads(threads):
            continue
        for m, k, n in shapes:
            w = matrix(rng, k, n, 0)
            for zeros in (0.0, 0.5):
                x = matrix(rng, m, k, zeros)
                dz = matrix(rng, m, n, zeros)
                flops = 2.0 * m * k * n
                row = {"m": m, "k": k, "n": n, "threads": threads, "zeros": zeros}
                for name, fn in (("forward", lambda: x @ w), ("dW", lambda: x.T @ dz), ("dX", lambda: dz @ w.T)):
                    row[name] = flops / best_seconds(fn, budget, threads == 1) / 1e9
                results.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
