"""Certified accuracy: every float32 input, and a large float64 sample, against a reference.

float32: all 2**32 bit patterns (or an evenly strided slice of them) go through a
kernel; the registry's NumPy reference on float64 copies of the inputs is the
judge.  Its error (a few ULPs of its working precision) is 2**26 times smaller
than a float32 ULP or more, so each measured error is exact to ~1e-7 ULP: ample for
the 1 and 2 ULP bounds (only the count of results above 0.5 ULP can be off, by
the rare inputs whose result lies that close to a rounding boundary).  The
references work in x87 long double (~300 ns per element), so they run in two
stages (:func:`_exact32`): in float64 working precision on every input, again in
long double on the few (~1.5%) whose judgement the float64 error could change:
the same results, 5-10x faster (40-90 ns per input instead of 230-900 for those
references).  The reference runs on cache-sized blocks and the statistics in
one compiled pass per chunk (:func:`_stats32`), two worker processes.

float64: samples log-uniform over every binade (each binade, subnormal ones
included, equally likely; the significand uniform within it; both signs; built
from bit patterns, so the same on every machine), plus the thresholds, judged
by the same NumPy reference evaluated in ``np.longdouble`` (x87 80-bit: 11 more
bits, 2**-63 relative).

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
from numba import njit

from ._core import float_bits, float_from_bits
from .reference import working_precision

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


#: float32 path: the reference runs on blocks of this many inputs, so that its
#: float64 temporaries stay in the L2 cache (one NumPy pass over a 4 Mi chunk
#: streams 32 MB through memory per temporary).
_REF_BLOCK = 1 << 15


def _reference_blocked(reference, x: np.ndarray, typed) -> np.ndarray:
    """``reference`` on float64 copies of float32 ``x``, block by block (the same
    values as one call on the whole array: the reference is elementwise)."""
    exact = np.empty(x.shape, np.float64)
    wide_params = tuple(np.float64(p) for p in typed)
    for s in range(0, x.size, _REF_BLOCK):
        xs = x[s : s + _REF_BLOCK].astype(np.float64)
        exact[s : s + _REF_BLOCK] = reference(xs, *wide_params)
    return exact


@njit(error_model="numpy", cache=True)
def _stats32(x, got, exact, bands, out_counts, examples):
    """One pass over a float32 chunk: the statistics of :func:`_check` (which see).

    ``out_counts`` receives [special mismatches, abs judged, abs violations,
    above band 0, 1, 2, index of the max error]; ``examples`` the indices of the
    first special mismatches.  Returns the max error.  Each operation is the one
    the NumPy version does (float64 difference, division by a power of two), so
    the error values are bitwise the same.
    """
    tiny = 2.0**-126
    inf_from = 2.0**128 - 2.0**103  # float64 values from here on round to float32 inf
    n_bad = 0
    n_tiny = 0
    n_viol = 0
    a0 = 0
    a1 = 0
    a2 = 0
    worst = -1
    max_err = 0.0
    for i in range(x.size):
        e = exact[i]
        g = np.float64(got[i])
        e_nan = e != e
        g_nan = g != g
        e_inf = (not e_nan) and abs(e) >= inf_from
        g_inf = (not g_nan) and abs(g) == np.inf
        if e_nan or e_inf or g_nan or g_inf:
            # exact value as the float32 it rounds to, compared with the result
            r = np.inf if e_inf else e
            if e_inf and e < 0:
                r = -np.inf
            match = (e_nan and g_nan) or ((not e_nan) and r == g)
            if not match:
                if n_bad < examples.size:
                    examples[n_bad] = i
                n_bad += 1
            continue
        d = abs(g - e)
        if abs(e) < tiny:
            n_tiny += 1
            if d > tiny:
                n_viol += 1
            continue
        # ULP of the correctly rounded float32 result: 2**(exponent - 23), built
        # from the float64 exponent field (|e| >= 2**-126 keeps it normal).
        ulp = float_from_bits(((float_bits(abs(e)) >> 52) - 23) << 52, e)
        err = d / ulp
        if err > bands[0]:
            a0 += 1
        if err > bands[1]:
            a1 += 1
        if err > bands[2]:
            a2 += 1
        if err > max_err or worst < 0:
            max_err = err
            worst = i
    out_counts[0] = n_bad
    out_counts[1] = n_tiny
    out_counts[2] = n_viol
    out_counts[3] = a0
    out_counts[4] = a1
    out_counts[5] = a2
    out_counts[6] = worst
    return max_err


def _check(name, ufunc, reference, params, x: np.ndarray, mode: str) -> Result:
    if x.dtype == np.float32 and x.ndim == 1:
        return _check32(name, ufunc, reference, params, x, mode)
    return _check_numpy(name, ufunc, reference, params, x, mode)


def _check32(name, ufunc, reference, params, x: np.ndarray, mode: str) -> Result:
    """:func:`_check_numpy` for float32, the reference evaluated in cache-sized
    blocks and two stages (:func:`_exact32`), the statistics in one compiled pass
    (the exhaustive run's speed)."""
    res = Result(name, "float32", mode, count=x.size)
    typed = tuple(np.float32(p) for p in params)
    got = np.ascontiguousarray(ufunc(x, *typed))
    x = np.ascontiguousarray(x)
    exact = _exact32(reference, x, got, typed)
    counts = np.zeros(7, np.int64)
    examples = np.zeros(5, np.int64)
    max_err = _stats32(x, got, exact, np.array(BANDS, np.float64), counts, examples)
    res.special_mismatches = int(counts[0])
    res.special_examples = [_hex(x[i], "float32") for i in examples[: min(int(counts[0]), 5)]]
    res.abs_judged, res.abs_violations = int(counts[1]), int(counts[2])
    for b, c in zip(BANDS, counts[3:6], strict=True):
        res.above[str(b)] = int(c)
    if counts[6] >= 0:
        res.max_ulp = float(max_err)
        res.worst_input = _hex(x[counts[6]], "float32")
    return res


def _exact32(reference, x: np.ndarray, got: np.ndarray, typed) -> np.ndarray:
    """The exact values that judge ``got`` on float32 ``x``: the reference in
    float64 working precision (~10x faster than long double), then again in long
    double on the inputs :func:`_to_refine` marks.

    Why this judges exactly as the long double reference alone: on float64
    copies of float32 inputs the fast reference is off by a few float64 roundings
    (2**-53 each) times the function's condition number; where that number is at
    most 2**12, by less than 2**-35 relative, 2**-11 of a float32 ULP (measured:
    <= 2e-6 ULP).  A judgement can only change where it is decided within that
    margin, and all such inputs are refined: ULP errors above 0.45 (so every count
    above a band, and the maximum and its input when above 0.45 ULP); exact values
    that are NaN, infinite or beyond float32's range, or within 2**-20 of the
    smallest normal; abs-judged ones (below it) whose distance to the result is
    within 2**-20 of the absolute bound; and every input where the conditioning
    exceeds 2**12 (near a derivative's root, where the float64 sum cancels).  The
    other abs-judged inputs, the underflowing tails (a quarter of all inputs), stay
    as they are: they depend on the exact value only through that bound.  NaN
    inputs give NaN in either precision.
    """
    with working_precision(np.float64):
        exact = _reference_blocked(reference, x, typed)
    mark = np.zeros(x.size, np.bool_)
    _to_refine(x.view(np.uint32), got, exact, mark)
    marked = np.flatnonzero(mark)
    exact[marked] = _reference_blocked(reference, x[marked], typed)
    return exact


#: fast errors above this many ULPs are judged again in long double: 0.05 ULP
#: below the 0.5 band, hundreds of times the fast reference's error.  (Not 0.4:
#: float32(0.6), mish'(0) and mish(x) ~ 0.6 x near 0, sits 0.4000 ULP from its
#: exact value, which would send a third of mish_grad's inputs to long double.)
_REFINE_ULP = 0.45


@njit(error_model="numpy", cache=True)
def _to_refine(bits, got, exact, mark):
    """Set ``mark`` on every float32 input (bit patterns ``bits``) whose judgement
    the fast ``exact`` values may not settle (:func:`_exact32` says which and why).

    Conditioning is read off neighbours, so it needs ``bits`` in increasing order
    (a sweep): within one sign, neighbouring values.  A root between neighbours
    shows as a sign change or a zero; elsewhere the relative change of the exact
    value over that of the input estimates the condition number.  The two ends
    have one neighbour each (a root beyond them would go unseen), and unordered
    input, where neighbours tell nothing, is all marked.  The loops are
    branch-free (``&``, ``|``) and separate: ~4 ns per input, not ~12.
    """
    n = bits.size
    x = bits.view(np.float32)
    tiny = 2.0**-126
    edge = 2.0**-20  # relative margin around each class edge, >> the fast error
    inf_from = 2.0**128 - 2.0**103  # as in _stats32
    for i in range(n):
        e = exact[i]
        a = abs(e)
        d = abs(np.float64(got[i]) - e)
        ulp = float_from_bits(((float_bits(a) >> 52) - 23) << 52, a)  # as in _stats32
        small = a < tiny
        # NaN, inf or beyond float32's range; the edge of the abs class; an abs
        # judgement decided by a hair; an error near or above the 0.5 band
        m = (not a < inf_from * (1 - edge)) | (abs(a - tiny) <= tiny * edge)
        m |= small & (abs(d - tiny) <= tiny * edge)
        m |= (not small) & (d > _REFINE_ULP * ulp)
        # NaN input: NaN at any working precision (every reference's contract),
        # and the costliest input for x87 long double (~5 us)
        mark[i] = m & (x[i] == x[i])
    ordered = True
    steep_pair = np.zeros(n + 1, np.bool_)  # [i]: inputs i-1 and i
    for i in range(1, n):
        ordered &= bits[i] > bits[i - 1]
        x0, x1 = np.float64(x[i - 1]), np.float64(x[i])
        e0, e1 = exact[i - 1], exact[i]
        p = x0 * x1  # no product of two float32 under- or overflows in float64
        same_side = (p > 0) & (p < np.inf)  # both finite, nonzero, of one sign
        crossing = ((e0 < 0) & (e1 > 0)) | ((e0 > 0) & (e1 < 0)) | ((e0 == 0) != (e1 == 0))
        steep = abs(e1 - e0) * abs(x1) > 2.0**12 * abs(x1 - x0) * np.maximum(abs(e0), abs(e1))
        steep_pair[i] = same_side & (crossing | steep)
    for i in range(n):
        mark[i] = mark[i] | steep_pair[i] | steep_pair[i + 1]
    if not ordered:
        mark[:] = True
    if n:
        mark[0] = True
        mark[n - 1] = True


def _check_numpy(name, ufunc, reference, params, x: np.ndarray, mode: str) -> Result:
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
    # start + i*step for i < n: below 2**32, so uint32 arithmetic cannot wrap
    bits = np.arange((stop - start + step - 1) // step, dtype=np.uint32)
    bits *= np.uint32(step)
    bits += np.uint32(start)
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


def binade_uniform(rng: np.random.Generator, e_lo: int, e_hi: int, n: int) -> np.ndarray:
    """``n`` float64 magnitudes in [2^e_lo, 2^e_hi) (integers, -1074 <= e_lo < e_hi
    <= 1024): the binade 2^e uniform over e_lo ... e_hi - 1, the 52 significand
    bits uniform (a subnormal binade keeps their top ones).

    Built from integer bit patterns alone, so that a seed draws the same values on
    every machine: ``np.exp2`` of a uniform exponent, the draw here until
    2026-12-06, rounds differently under NumPy's AVX-512 and AVX2 dispatch (the
    float64 rows published from one host could not be reproduced on the other)."""
    e = rng.integers(e_lo, e_hi, n)
    significand = rng.integers(0, 1 << 52, n, dtype=np.uint64)
    # normal binades: the biased exponent over the 52 significand bits; the 52
    # subnormal ones (e < -1022): the leading bit at e + 1074 and the significand's
    # top e + 1074 bits below it
    lead = np.clip(e + 1074, 0, 52).astype(np.uint64)
    subnormal = (np.uint64(1) << lead) | (significand >> (np.uint64(52) - lead))
    normal = (np.clip(e + 1023, 1, 2046).astype(np.uint64) << np.uint64(52)) | significand
    return np.where(e >= -1022, normal, subnormal).view(np.float64)


def float64_samples(n: int, seed: int = 0) -> np.ndarray:
    """Every binade [2^e, 2^(e+1)), e = -1074 ... 1023, equally likely, a uniform
    significand within it and either sign (:func:`binade_uniform`: the same values
    on every machine), plus thresholds and special values."""
    rng = np.random.default_rng(seed)
    mags = binade_uniform(rng, -1074, 1024, n)
    sign = rng.integers(0, 2, n, dtype=np.uint64) << np.uint64(63)
    x = (mags.view(np.uint64) | sign).view(np.float64)
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
