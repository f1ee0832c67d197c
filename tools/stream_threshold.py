"""Measure from which output size streaming (non-temporal) stores pay off.

For a few representative kernels (memory-bound: relu, relu_backward, leaky_relu;
compute-bound: sigmoid, tanh) build each ufunc twice, with streaming forced on
and forced off, and time both in interleaved rounds on one thread at output
sizes 256 KiB ... 64 MiB.  Prints time(streaming) / time(plain stores) per size;
``STREAM_MIN_BYTES`` in ``fastact/_loops.py`` is the smallest size from which
no memory-bound kernel is slower with streaming (the exp-based ones, measured
no faster at any size, never stream: ``_registry.build_public``).  Run on a quiet machine:

    PYTHONPATH=. python tools/stream_threshold.py [--budget 0.3] [--dtypes float32,float64]
"""

from __future__ import annotations

import argparse

import numpy as np

import fastact
from fastact import _loops
from fastact._registry import REGISTRY
from fastact._timing import best_times

KERNELS = ("relu", "relu_backward", "leaky_relu", "sigmoid", "tanh")
SIZES = [2**k for k in range(18, 27)]  # output bytes
NEVER = 1 << 62


def _build(name: str, stream_from: int) -> np.ufunc:
    act = REGISTRY[name.removesuffix("_backward")]
    backward = name.endswith("_backward")
    kernel = act.backward if backward else act.forward
    saved = _loops.STREAM_MIN_BYTES
    _loops.STREAM_MIN_BYTES = stream_from  # compiled into the loop (and its cache key)
    try:
        ufunc, keep = _loops.make_ufunc(
            kernel, name, 2 if backward else 1, 0, "", baked=act.param_defaults,
            block_f32=None if backward else act.forward_block_f32, stream=True,
        )
    finally:
        _loops.STREAM_MIN_BYTES = saved
    ufunc._keep = keep  # noqa: SLF001 - the machine code must outlive the ufunc
    return ufunc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=0.3, help="seconds per size and kernel")
    ap.add_argument("--dtypes", default="float32,float64")
    args = ap.parse_args()
    fastact.set_num_threads(1)
    pairs = {name: (_build(name, 0), _build(name, NEVER)) for name in KERNELS}
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
            for name, (streaming, plain) in pairs.items():
                operands = (g, x) if name.endswith("_backward") else (x,)
                t = best_times({"stream": lambda f=streaming, a=operands, o=out: f(*a, out=o),
                                "plain": lambda f=plain, a=operands, o=out: f(*a, out=o)}, args.budget)
                row.append(t["stream"] / t["plain"])
            print(f"{nbytes:>8} {dtype:8} " + " ".join(f"{r:14.2f}" for r in row), flush=True)


if __name__ == "__main__":
    main()
