"""Find input ranges where a kernel is much slower than on its other inputs.

A kernel's time should hardly depend on its input: the block kernels take one
short path for the common blocks and one general path for the rest.  Where it
does, something is wrong: most often a subnormal operand or result somewhere in
the arithmetic, for which Intel cores take a microcode assist on every vector
instruction concerned (about a hundred cycles; AMD's Zen cores handle most of
them in hardware, so that such a cliff shows on one machine only).  float32
tanhshrink had one: a table entry that was subnormal made its forward kernel
8x slower on |x| < 1/8 on Intel Rocket Lake (2.69 against 0.33 ns per value).

For every public function (forward, ``_grad``, ``_backward``) and dtype, times
the ufunc on 2^16 values drawn from each band |x| in [2^j, 2^(j+1)) (both signs,
and each sign alone), j from below the smallest normal number to far past every
saturation threshold, in interleaved rounds, on one thread, in L2.  Prints, per
function and dtype, the slowest band's time over the median band's and the band;
``--all`` prints every band.  Ratios above ``--flag`` (default 2.0) are marked.

    PYTHONPATH=. python tools/band_probe.py [--names tanhshrink,gelu] [--dtypes float32]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("FASTACT_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import fastact  # noqa: E402
from fastact._timing import best_times  # noqa: E402

N = 1 << 16
#: band exponents j (|x| in [2^j, 2^(j+1))): subnormal inputs, tiny, the central
#: range binade by binade, and the saturated tails
EXPONENTS = {
    "float32": [-140, -126, -100, -60, -30, -20, -14, -10, -7, -5, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 14,
                20, 40, 80, 120],
    "float64": [-1060, -1022, -900, -400, -100, -60, -30, -20, -14, -10, -7, -5, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6,
                7, 8, 9, 10, 14, 20, 40, 100, 400, 1000],
}


def bands(dtype: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {}
    for j in EXPONENTS[dtype]:
        mag = np.ldexp(1.0 + rng.random(N), j).astype(dtype)  # subnormal bands keep fewer bits
        for sign, label in ((1.0, "+"), (-1.0, "-"), (None, "+-")):
            s = np.where(rng.random(N) < 0.5, -1.0, 1.0) if sign is None else sign
            out[f"{label}2^{j}"] = (mag * s).astype(dtype)
    return out


def probe(act, name: str, dtype: str, budget: float):
    fn = getattr(fastact.ufuncs, name)
    rng = np.random.default_rng(7)
    g = rng.standard_normal(N).astype(dtype)
    out = np.empty(N, dtype)
    calls = {}
    for band, x in bands(dtype, rng).items():
        args = ((g, x) if name.endswith("_backward") else (x,)) + tuple(act.param_defaults)
        calls[band] = lambda args=args: fn(*args, out=out)
    with np.errstate(all="ignore"):
        times = best_times(calls, budget)
    median = float(np.median(list(times.values())))
    return {band: t / median for band, t in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", default=",".join(fastact.REGISTRY))
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--budget", type=float, default=0.6, help="seconds per function and dtype")
    ap.add_argument("--flag", type=float, default=2.0)
    ap.add_argument("--all", action="store_true", help="print every band")
    a = ap.parse_args(argv)
    print(f"# slowest band / median band, {N} values per band, one thread")
    for base in a.names.split(","):
        act = fastact.REGISTRY[base]
        for name in act.public_names:
            for dtype in a.dtypes.split(","):
                ratios = probe(act, name, dtype, a.budget)
                band = max(ratios, key=ratios.get)
                mark = "  <--" if ratios[band] > a.flag else ""
                print(f"{name:22} {dtype:8} {ratios[band]:6.2f}  {band}{mark}", flush=True)
                if a.all:
                    print("   " + " ".join(f"{b}={r:.2f}" for b, r in ratios.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
