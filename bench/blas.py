"""Which BLAS numpy and PyTorch run on, and whether it computes correctly; for bench/run.ts.

Prints one JSON object: numpy's version and build configuration (its BLAS libraries), the BLAS shared
objects actually loaded into this process (from /proc/self/maps), OpenBLAS's kernel set, thread count and
build string when that is what libblas.so.3 resolves to, torch's version and build line (BLAS_INFO), and
`peer`: false when the loaded BLAS is the netlib reference implementation (whose speed says nothing about
what a tuned library does), or when a product disagrees with float64 (a kernel set wrongly chosen for
this CPU computes garbage).

Usage: python3 blas.py
"""

import ctypes
import io
import json
import re
import sys
from contextlib import redirect_stdout


def main() -> None:
    import numpy as np

    out = {"python": sys.version.split()[0], "numpy": np.__version__}
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        np.show_config()
    config = buffer.getvalue()
    out["numpyBlasLibraries"] = sorted(set(re.findall(r"libraries = \[([^\]]*)\]", config)))
    # A product loads the BLAS for sure; then see which shared objects are mapped.
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 200), dtype=np.float32)
    b = rng.standard_normal((200, 100), dtype=np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    error = float(np.max(np.abs(a @ b - exact)) / np.max(np.abs(exact)))
    out["relativeError"] = error
    try:
        import torch

        out["torch"] = torch.__version__
        build = torch.__config__.show()
        info = re.search(r"BLAS_INFO=([^,\s]+)", build)
        out["torchBlasInfo"] = info.group(1) if info else "unknown"
        out["torchCapability"] = (re.search(r"CPU capability usage: (\S+)", build) or [None, "unknown"])[1]
        t = torch.from_numpy(a) @ torch.from_numpy(b)
        error = max(error, float((t.double() - torch.from_numpy(exact)).abs().max() / abs(exact).max()))
        out["relativeError"] = error
    except ImportError:
        out["torch"] = None
    maps = open("/proc/self/maps").read()
    out["loaded"] = sorted(set(re.findall(r"(/\S*(?:blas|lapack|mkl|blis|atlas)\S*\.so\S*)", maps)))
    out["openblas"] = None
    try:
        lib = ctypes.CDLL("libblas.so.3")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        out["openblas"] = {
            "core": lib.openblas_get_corename().decode(),
            "threads": lib.openblas_get_num_threads(),
            "config": lib.openblas_get_config().decode(),
        }
    except (OSError, AttributeError):
        pass
    tuned = out["openblas"] is not None or any(
        re.search(r"mkl|blis|atlas|openblas", path) for path in out["loaded"]
    )
    out["reference"] = not tuned
    out["correct"] = error < 1e-4
    out["peer"] = tuned and out["correct"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
