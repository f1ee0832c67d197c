"""Measure from which output size streaming (non-temporal) stores pay off.

For a few representative kernels (memory-bound: relu, relu_backward, leaky_relu;
compute-bound: sigmoid, tanh) time each ufunc with streaming forced on and forced
off (the threshold is read at call time: ``_parallel.set_stream_threshold``), in
interleaved rounds on one thread at output sizes 256 KiB ... 64 MiB.  Prints
time(streaming) / time(plain stores) per size; ``default_stream_min_bytes`` in
``fastact/_parallel.py`` is the smallest size from which no memory-bound kernel
is slower with streaming (the exp-based ones, measured no faster at any size,
never stream: ``_registry.build_public``).  Prints the machine's last-level cache
and current default too.  Run on a quiet machine:

    PYTHONPATH=. python tools/stream_threshold.py [--budget 0.3] [--dtypes float32,float64]
"""

from __future__ import annotations

import argparse

import numpy as np

import fastact
from fastact import _loops, _parallel
from fastact._registry import REGISTRY
from fastact._timing import best_times

KERNELS = ("relu", "relu_backward", "leaky_relu", "sigmoid", "tanh")
SIZES = [2**k for k in range(18, 27)]  # output bytes
NEVER = 1 << 62


def _build(name: str) -> np.ufunc:
    act = REGISTRY[name.removesuffix("_backward")]
    backward = name.endswith("_backward")
    kernel = act.backward if backward else act.forward
    ufunc, keep = _loops.make_ufunc(
        kernel, name, 2 if backward else 1, 0, "", baked=act.param_defaults,
        block_f32=None if backward else act.forward_block_f32, stream=True,
    )
    ufunc._keep = keep  # noqa: SLF001 - the machine code must outlive the ufunc
    return ufunc


def _with_threshold(fn, threshold: int, operands, out):
    def call():
        _parallel.set_stream_threshold(threshold)
        fn(*operands, out=out)
    return call


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=0.3, help="seconds per size and kernel")
    ap.add_argument("--dtypes", default="float32,float64")
    args = ap.parse_args()
    fastact.set_num_threads(1)
    ufuncs = {name: _build(name) for name in KERNELS}
    print(f"CPU: {_parallel._cpu_vendor()}, last-level cache {_parallel._last_level_cache_bytes()} bytes, "
          f"default threshold {_parallel.default_stream_min_bytes()} bytes")
    print("time with streaming stores / time with plain stores (one thread; < 1: streaming wins)")
    print("bytes    dtype    " + " ".join(f"{k:>14}" for k in KERNELS))
    for dtype in args.dtypes.split(","):
        for nbytes in SIZES:
            n = nbytes // np.dtype(dtype).itemsize
            rng = np.random.default_rng(n)
            x = (rng.standard_normal(n) * 4).astype(dtype)
            g = rng.standard_normal(n).astype(dtype)
            out = np.empty_like(x)
            row = []
            for name, fn in ufuncs.items():
                operands = (g, x) if name.endswith("_backward") else (x,)
                t = best_times({"stream": _with_threshold(fn, 0, operands, out),
                                "plain": _with_threshold(fn, NEVER, operands, out)}, args.budget)
                row.append(t["stream"] / t["plain"])
            print(f"{nbytes:>8} {dtype:8} " + " ".join(f"{r:14.2f}" for r in row), flush=True)


if __name__ == "__main__":
    main()
