"""Measure from which size streaming (non-temporal) stores pay off.

For a few representative kernels (memory-bound: relu, relu_backward, leaky_relu;
compute-bound: sigmoid, tanh) time each ufunc with streaming forced on and forced
off (the threshold is read at call time: ``_parallel.set_stream_threshold``) on
one thread, in interleaved rounds or (``--back-to-back``) in runs of consecutive
calls of each kind, at output sizes 256 KiB ... 64 MiB (``--sizes``,
in KiB).  Prints time(streaming) / time(plain stores) per size.  The threshold
counts the bytes of a call's arrays (inputs and output: twice the output for
relu, three times for relu_backward); ``default_stream_min_bytes`` in
``fastact/_parallel.py`` is chosen where the memory-bound kernels cross over
(the exp-based ones, measured no faster at any size, never stream:
``_registry.build_public``).  Near the crossover the two ways of timing can
disagree (on the Intel VM of 2026-12-04 interleaved rounds had streaming win
from 32 MiB outputs, calls back to back only from 64 MiB): a streamed call
leaves the output in memory, a plain one leaves it dirty in the cache, and the
next call starts from whichever the last one left.  Prints the machine's last-level cache and current default
too.  Run on a quiet machine:

    PYTHONPATH=. python tools/stream_threshold.py [--budget 0.3] [--dtypes float32,float64]
                                                  [--sizes 4096,8192] [--kernels relu,leaky_relu]
"""

from __future__ import annotations

import argparse

import numpy as np

import fastact
from fastact import _loops, _parallel
from fastact._registry import REGISTRY
from fastact._timing import best_time, best_times
from fastact.environment import _cpuinfo

KERNELS = ("relu", "relu_backward", "leaky_relu", "sigmoid", "tanh")
SIZES = [2**k for k in range(18, 27)]  # output bytes
NEVER = _parallel._NEVER  # a threshold no call reaches: plain stores


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
    ap.add_argument("--sizes", default=",".join(str(s >> 10) for s in SIZES), help="output sizes in KiB")
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--back-to-back", action="store_true",
                    help="time runs of consecutive calls of each kind (alternating, median of 3) instead")
    args = ap.parse_args()
    fastact.set_num_threads(1)
    kernels = args.kernels.split(",")
    ufuncs = {name: _build(name) for name in kernels}
    print(f"CPU: {_cpuinfo('vendor_id')}, last-level cache {_parallel._last_level_cache_bytes()} bytes, "
          f"default threshold {_parallel.default_stream_min_bytes()} bytes")
    how = "calls back to back" if args.back_to_back else "interleaved rounds"
    print(f"time with streaming stores / time with plain stores (one thread, {how}; < 1: streaming wins)")
    print("bytes    dtype    " + " ".join(f"{k:>14}" for k in kernels))
    for dtype in args.dtypes.split(","):
        for nbytes in (int(kib) << 10 for kib in args.sizes.split(",")):
            n = nbytes // np.dtype(dtype).itemsize
            rng = np.random.default_rng(n)
            x = (rng.standard_normal(n) * 4).astype(dtype)
            g = rng.standard_normal(n).astype(dtype)
            out = np.empty_like(x)
            row = []
            for name, fn in ufuncs.items():
                operands = (g, x) if name.endswith("_backward") else (x,)
                calls = {"stream": _with_threshold(fn, 0, operands, out),
                         "plain": _with_threshold(fn, NEVER, operands, out)}
                if args.back_to_back:
                    ratios = [best_time(calls["stream"], args.budget / 6) / best_time(calls["plain"], args.budget / 6)
                              for _ in range(3)]
                    row.append(float(np.median(ratios)))
                else:
                    t = best_times(calls, args.budget)
                    row.append(t["stream"] / t["plain"])
            print(f"{nbytes:>8} {dtype:8} " + " ".join(f"{r:14.2f}" for r in row), flush=True)


if __name__ == "__main__":
    main()
