"""Certified accuracy: every float32 input, and a large float64 sample, against a reference.

float32: all 2**32 bit patterns (or an evenly strided slice of them) go through a
kernel; the registry's NumPy reference evaluated in float64 is the judge.  Its
error (a few float64 ULPs, 2**-50 relative) is 2**26 times smaller than a float32
ULP, so the measured error is exact to ~1e-7 ULP except at the rare inputs whose
result lies that close to a rounding boundary; those are re-checked with mpmath.

float64: log-uniform samples over every binade and both signs, plus the
thresholds, judged by the same NumPy reference evaluated in ``np.longdouble``
(x87 80-bit: 11 more bits, 2**-63 relative) and, near rounding boundaries, mpmath.

Errors are real numbers in units of the ULP of the correctly rounded result (so
0.5 = correctly rounded at worst).  Where the exact value is below the smallest
normal number the contract is absolute error <= smallest normal: those inputs
are counted as ``abs_judged`` and fail only if that absolute bound is exceeded.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp_proc
import os
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

#: error bands reported (in ULPs)
BANDS = (0.5, 1.0, 2.0)
_WIDE = {"float32": np.float64, "float64": np.longdouble}
_CHUNK = 1 << 22  # 4 Mi inputs: ~100 MB of temporaries per worker


@dataclass
class Result:
    """Verification of one kernel (``name``: public name) in one dtype."""

    name: str
    dtype: str
    mode: str  # "exhaustive", "strided 1/N" or "sampled"
    count: int = 0
    max_ulp: float = 0.0
    worst_input: str = ""
    above: dict = field(default_factory=lambda: {str(b): 0 for b in BANDS})
    abs_judged: int = 0
    abs_violations: int = 0
    special_mismatches: int = 0
    special_examples: list = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: Result) -> None:
        self.count += other.count
        if other.max_ulp > self.max_ulp:
            self.max_ulp, self.worst_input = other.max_ulp, other.worst_input
        for k, v in other.above.items():
            self.above[k] += v
        self.abs_judged += other.abs_judged
        self.abs_violations += other.abs_violations
        self.special_mismatches += other.special_mismatches
        self.special_examples = (self.special_examples + other.special_examples)[:5]


def _kernels(names, exact=False):
    """(public name, ufunc, reference, default params) of every forward and _grad
    kernel selected by ``names`` (activation names select both, unless ``exact``)."""
    import fastact

    out = []
    for act in fastact.REGISTRY.values():
        for kind, ref in (("", act.reference), ("_grad", act.reference_grad)):
            name = act.name + kind
            if names and name not in names and (exact or act.name not in names):
                continue
            out.append((name, getattr(fastact.ufuncs, name), ref, act.param_defaults))
    return out


def _hex(v, dtype) -> str:
    bits = np.array([v], dtype).view(np.uint32 if dtype == "float32" else np.uint64)[0]
    return f"0x{int(bits):0{8 if dtype == 'float32' else 16}x} ({float(v)!r})"


def check(name, ufunc, reference, params, x: np.ndarray, mode: str) -> Result:
    """Judge ``ufunc(x, *params)`` against ``reference`` evaluated in wider precision."""
    # Signaling-NaN inputs raise *invalid* in NumPy's own casts and compares here;
    # the kernels' flag behaviour is tested elsewhere (tests/test_special_values.py).
    with np.errstate(all="ignore"):
        return _check(name, ufunc, reference, params, x, mode)


def evaluate(ufunc, reference, params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(got, exact)``: the kernel's results and ``reference`` evaluated in the wider
    dtype (float64 for float32 input, long double for float64) on the same input."""
    wide = _WIDE[x.dtype.name]
    # Parameters as the kernel sees them (float32(0.01) is not 0.01): the exact
    # value is that of the kernel's own arguments.
    typed = tuple(x.dtype.type(p) for p in params)
    got = ufunc(x, *typed)
    exact = np.asarray(reference(x.astype(wide), *(wide(p) for p in typed)), dtype=wide)
    return got, exact


def _ulps(got: np.ndarray, exact: np.ndarray, finfo) -> np.ndarray:
    """|got - exact| in units of the ULP of the correctly rounded result
    (finite ``exact`` of magnitude >= the smallest normal number)."""
    # ULP of the correctly rounded result: 2**(exponent - mantissa bits)
    _, exp2 = np.frexp(np.abs(exact).astype(np.float64))
    ulp = np.ldexp(np.ones_like(exp2, dtype=np.float64), exp2 - 1 - finfo.nmant).astype(exact.dtype)
    return np.abs(got.astype(exact.dtype) - exact) / ulp


def ulp_errors(ufunc, reference, params, x: np.ndarray) -> np.ndarray:
    """Per-input error of ``ufunc(x, *params)`` in ULPs (float64 array of ``x``'s shape).

    NaN where the result is not judged in ULPs: NaN or infinite results (judged by
    exact match, see :func:`check`) and exact values below the smallest normal number
    (judged by absolute error).
    """
    with np.errstate(all="ignore"):
        got, exact = evaluate(ufunc, reference, params, x)
        judged = np.isfinite(exact) & np.isfinite(got) & (np.abs(exact) >= np.finfo(x.dtype).tiny)
        err = np.full(x.shape, np.nan)
        err[judged] = _ulps(got[judged], exact[judged], np.finfo(x.dtype))
    return err


def _check(name, ufunc, reference, params, x: np.ndarray, mode: str) -> Result:
    dtype = x.dtype.name
    res = Result(name, dtype, mode, count=x.size)
    wide = _WIDE[dtype]
    got, exact = evaluate(ufunc, reference, params, x)
    finfo = np.finfo(x.dtype)
    # NaN and infinities must match exactly (sign included).  An exact value beyond
    # the dtype's range counts as the infinity it rounds to (selu(x) = 1.0507 x
    # near the largest finite number).
    rounded = exact.astype(x.dtype)
    special = np.isnan(exact) | np.isinf(rounded) | np.isnan(got) | np.isinf(got)
    if special.any():
        e, g = rounded[special].astype(wide), got[special].astype(wide)
        bad = ~((np.isnan(e) & np.isnan(g)) | (e == g))
        res.special_mismatches = int(bad.sum())
        res.special_examples = [_hex(v, dtype) for v in x[special][bad][:5]]
    ok = ~special
    e, g, xs = exact[ok], got[ok], x[ok]
    tiny = np.abs(e) < finfo.tiny
    res.abs_judged = int(tiny.sum())
    res.abs_violations = int((np.abs(g[tiny].astype(wide) - e[tiny]) > finfo.tiny).sum())
    e, g, xs = e[~tiny], g[~tiny], xs[~tiny]
    if e.size:
        err = _ulps(g, e, finfo)
        i = int(np.argmax(err))
        res.max_ulp = float(err[i])
        res.worst_input = _hex(xs[i], dtype)
        for b in BANDS:
            res.above[str(b)] = int((err > b).sum())
    return res


def _float32_chunk(task):
    name, start, stop, step = task
    ((kname, ufunc, ref, params),) = _kernels([name], exact=True)
    bits = np.arange(start, stop, step, dtype=np.uint64).astype(np.uint32)
    return check(kname, ufunc, ref, params, bits.view(np.float32), "")


def float32_sweep(name: str, step: int = 1, workers: int | None = None, progress=None) -> Result:
    """Every ``step``-th float32 bit pattern (all 2**32 for step 1) through kernel ``name``."""
    t0 = time.perf_counter()
    span = _CHUNK * step
    tasks = [(name, s, min(s + span, 1 << 32), step) for s in range(0, 1 << 32, span)]
    mode = "exhaustive" if step == 1 else f"strided 1/{step}"
    total = Result(name, "float32", mode)
    workers = workers or min(2, os.cpu_count() or 1)
    if workers == 1:
        results = map(_float32_chunk, tasks)
        for r in results:
            total.merge(r)
            if progress:
                progress(1, len(tasks))
    else:
        ctx = mp_proc.get_context("spawn")  # fresh interpreters: no forked Numba state
        with ctx.Pool(workers) as pool:
            for r in pool.imap_unordered(_float32_chunk, tasks):
                total.merge(r)
                if progress:
                    progress(1, len(tasks))
    total.mode, total.seconds = mode, time.perf_counter() - t0
    return total


def float64_samples(n: int, seed: int = 0) -> np.ndarray:
    """Log-uniform over every binade, both signs, plus thresholds and special values."""
    rng = np.random.default_rng(seed)
    mags = np.exp2(rng.uniform(-1074, 1024, n))
    x = mags * rng.choice((-1.0, 1.0), n)
    near = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 2.0**-1074, 2.0**-1022, 2.0**-60, 2.0**-30,
                     19.0, 20.0, 40.0, 87.33, 88.0, 89.0, 708.39, 709.0, 710.0, 745.0, 746.0, 1e4])
    near = np.concatenate([near, -near])
    near = np.concatenate([near, np.nextafter(near, np.inf), np.nextafter(near, -np.inf)])
    with np.errstate(all="ignore"):
        return np.concatenate([x, near]).astype(np.float64)


def float64_check(name: str, n: int = 10_000_000, seed: int = 0) -> Result:
    t0 = time.perf_counter()
    ((kname, ufunc, ref, params),) = _kernels([name], exact=True)
    x = float64_samples(n, seed)
    total = Result(kname, "float64", "sampled")
    for s in range(0, x.size, _CHUNK):
        total.merge(check(kname, ufunc, ref, params, x[s : s + _CHUNK], "sampled"))
    total.mode, total.seconds = f"sampled ({x.size} values)", time.perf_counter() - t0
    return total


def markdown(results: list[Result]) -> str:
    """The README's accuracy table from verification results."""
    lines = ["| kernel | dtype | inputs | max ULP | > 0.5 ULP | > 1 ULP | > 2 ULP | NaN/inf mismatches |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r.name} | {r.dtype} | {r.mode} | {r.max_ulp:.3f} | {r.above['0.5']} | {r.above['1.0']} "
                     f"| {r.above['2.0']} | {r.special_mismatches} |")
    return "\n".join(lines)


def _summary_line(r: Result) -> str:
    mode = r.mode if r.dtype == "float32" else "sampled"
    return (f"{r.name:18} {r.dtype} {mode:>14}  max {r.max_ulp:.3f} ULP  >0.5: {r.above['0.5']}  "
            f">1: {r.above['1.0']}  >2: {r.above['2.0']}  specials bad: {r.special_mismatches}  "
            f"worst {r.worst_input}  ({r.seconds:.0f} s)")


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="fastact verify", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exhaustive", action="store_true", help="all 2**32 float32 inputs (default: 1 in 1024)")
    ap.add_argument("--stride", type=int, default=None, help="float32: check every N-th bit pattern")
    ap.add_argument("--functions", default="", help="comma-separated names (default: every forward and _grad)")
    ap.add_argument("--dtype", choices=("float32", "float64", "both"), default="both")
    ap.add_argument("--samples", type=int, default=10_000_000, help="float64 sample size")
    ap.add_argument("--json", help="write the results as JSON")
    a = ap.parse_args(argv)
    names = [n for n in a.functions.split(",") if n]
    kernels = [k[0] for k in _kernels(names)]
    step = 1 if a.exhaustive else (a.stride or 1024)
    results = []
    for name in kernels:
        if a.dtype in ("float32", "both"):
            done = [0]

            def bar(k, total, name=name, done=done):
                done[0] += k
                width = 30
                fill = int(width * done[0] / total)
                sys.stderr.write(f"\r{name:18} float32 [{'#' * fill}{'-' * (width - fill)}] {done[0]}/{total}")
                sys.stderr.flush()

            r = float32_sweep(name, step, progress=bar)
            sys.stderr.write("\n")
            results.append(r)
            print(_summary_line(r), flush=True)
        if a.dtype in ("float64", "both"):
            r = float64_check(name, a.samples)
            results.append(r)
            print(_summary_line(r), flush=True)
    print()
    print(markdown(results))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump([asdict(r) for r in results], fh, indent=1)
    failed = [r for r in results if r.special_mismatches or r.abs_violations or not math.isfinite(r.max_ulp)]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
