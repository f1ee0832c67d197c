"""Accuracy in ULPs against mpmath (50 digits) and, for float32, the float64 reference.

The bound is the record's ``ulp_bound[dtype]``: max error in ULPs of the correctly
rounded result over the whole domain; where the true value is below the smallest
normal number, absolute error <= smallest normal (conftest.ulp_error).

Samples per dtype (fixed seed): 10**5 log-uniform over every binade, both signs,
with zeros, subnormals and NaN mixed in; 5*10**4 log-uniform over the binades
[2**-32, 2**10) where none of the functions is saturated or linear yet; and
hand-placed points (with their neighbours, halves and doubles, both signs) where
the numerics change.  ``pytest -s`` or the terminal summary shows the measured
max ULP per function and dtype.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import (
    DTYPES,
    RECORDS,
    evaluate,
    log_uniform,
    mp_expected,
    neighbours,
    params_as,
    record_max_ulp,
    ulp_error,
    worst,
)

N_ALL = 100_000
N_ACTIVE = 50_000

# Where the numerics change.  Exp overflow/underflow thresholds: float32 exp
# overflows above 88.72 and its result leaves the normal range below -87.33
# (subnormal to -103.28); float64 likewise at 709.78, -708.39, -744.44.  The
# kernels clamp |x| at 2**-60 and 1e4, tanh at 2**-30 (tanh(x) == x below) and 40
# (saturation), exp arguments at [-104, 88] / [-746, 709]; the logistic core
# drops its correction term where exp(-|x|) < 2**-60 (|x| = 60 ln 2 = 41.59).
# tanh and its derivative use exp(-2|x|), so every point is also taken at x/2
# and 2x; 19/20/40/44 straddle float32 and float64 tanh saturation.
THRESHOLDS = (
    88.0, 89.0, 87.33, 87.33654475, 88.72283935546875, 103.28, 103.97, 104.0,
    709.0, 710.0, 708.39, 709.782712893384, 744.44, 745.0, 746.0,
    2.0**-30, 2.0**-40, 2.0**-60, 1e-30,
    19.0, 20.0, 40.0, 44.0, 44.36, 41.58883083359672, 52.0,
    0.5, 1.0, 0.34657359027997264,  # ln2/2: edge of the exp reduction interval
    1e4,
)


def threshold_points(dtype) -> np.ndarray:
    fi = np.finfo(dtype)
    pts = [neighbours([fi.tiny, fi.smallest_subnormal, fi.tiny * 2, fi.max], dtype, steps=4)]
    for scale in (0.5, 1.0, 2.0):
        t = np.array(THRESHOLDS) * scale
        pts.append(neighbours(t, dtype, steps=4))
        with np.errstate(under="ignore"):
            dense = np.concatenate([np.linspace(v * (1 - 1e-3), v * (1 + 1e-3), 65) for v in t])
        pts.append(neighbours(dense, dtype, steps=0))
    return np.unique(np.concatenate(pts))


@functools.cache
def sample_set(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(7 if dtype == "float32" else 8)
    x = np.concatenate(
        [
            log_uniform(dtype, N_ALL, rng),
            log_uniform(dtype, N_ACTIVE, rng, binades=(-32, 10), specials=False),
            threshold_points(dtype),
        ]
    )
    # infinities are the records' exact limits, tested in test_special_values
    x = x[~np.isinf(x)]
    x.setflags(write=False)
    return x


@pytest.mark.parametrize("dtype", DTYPES)
def test_sampler_covers_every_binade(dtype):
    x = sample_set(dtype)
    fi = np.finfo(dtype)
    with np.errstate(all="ignore"):
        exps = np.frexp(np.abs(x[np.isfinite(x) & (x != 0)]))[1]
    binades = set(np.unique(exps).tolist())
    assert set(range(fi.minexp + 1, fi.maxexp + 1)) <= binades
    assert (x > 0).any() and (x < 0).any() and np.isnan(x).any()
    assert x.size >= N_ALL


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_matches_mpmath(act, kind, dtype, record_property):
    x = sample_set(dtype)
    got = evaluate(act, kind, x)
    assert got.dtype == x.dtype
    expected = mp_expected(act, kind, x, "accuracy")
    err = ulp_error(got, expected)
    name = act.name + ("" if kind == "forward" else "_grad")
    measured = record_max_ulp(name, dtype, "mpmath", err)
    record_property("max_ulp", measured)
    print(f"\n{name:<16} {dtype}  max ULP vs mpmath: {measured}  (bound {act.ulp_bound[dtype]:g})")
    assert measured <= act.ulp_bound[dtype], worst(got, expected, x, err)


@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_float32_matches_float64_reference(act, kind, record_property):
    """float32 kernels against the NumPy reference evaluated in float64, rounded to float32.

    The parameters are the float32 numbers the float32 loop sees (0.01 -> float32),
    passed exactly to the float64 evaluation.
    """
    x = sample_set("float32")
    ref = act.reference if kind == "forward" else act.reference_grad
    params = tuple(float(p) for p in params_as(act, "float32"))
    with np.errstate(all="raise", under="ignore"):
        expected = ref(x.astype(np.float64), *params).astype(np.float32)
    got = evaluate(act, kind, x)
    assert got.dtype == np.float32
    err = ulp_error(got, expected)
    name = act.name + ("" if kind == "forward" else "_grad")
    measured = record_max_ulp(name, "float32", "float64 reference", err)
    record_property("max_ulp", measured)
    assert measured <= act.ulp_bound["float32"], worst(got, expected, x, err)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_backward_is_grad_out_times_grad(act, dtype):
    """backward(g, x) is g * grad(x) with one rounding, for random g of both signs.

    Pairs whose exact product is nonzero and below the smallest normal number are
    left out here: whether such a product raises the *underflow* flag is
    test_special_values' concern; this test is about values.
    """
    x = sample_set(dtype)
    rng = np.random.default_rng(11)
    g = log_uniform(dtype, x.size, rng, binades=(-20, 20), specials=False)
    grad = evaluate(act, "grad", x)
    exact = g.astype(np.float64) * grad.astype(np.float64)
    if dtype == "float64":
        with np.errstate(under="ignore"):
            exact = g * grad  # one IEEE rounding of the exact product
    tiny = np.finfo(dtype).tiny
    with np.errstate(invalid="ignore"):
        keep = ~((exact != 0) & (np.abs(exact) < tiny))
    assert keep.mean() > 0.9
    g, x, exact = g[keep], x[keep], exact[keep]
    expected = exact.astype(dtype)
    got = evaluate(act, "backward", x, g=g)
    assert got.dtype == x.dtype
    err = ulp_error(got, expected)
    assert err.max() <= 1, worst(got, expected, x, err)
