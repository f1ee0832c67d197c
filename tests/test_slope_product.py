"""The flag-free product with a loop-invariant slope (``fastact._core.slope_product``),
checked through ``leaky_relu(a, slope)`` = ``slope_product(a, slope)`` for a <= 0 (the
sign of the product comes from the slope's as well: both signs are covered).

Its two bounds (flush below, saturate above) are computed from the slope alone, so
they are tested where they matter: on the floats next to ``tiny / |slope|`` and
``max / |slope|``, for slopes below and above 1, subnormal, huge, 0, inf and NaN,
against the exact rational product.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import fastact


def _pattern(a: np.ndarray) -> np.ndarray:
    """The bit patterns of ``a`` as integers (signed zeros and NaN payloads differ)."""
    return a.view(np.int32 if a.dtype == np.float32 else np.int64)


def _exact(g: float, s: float, dtype) -> float:
    """g * s rounded once to ``dtype``; a product whose exact value is below the
    smallest normal number is a signed zero; 0 * slope is 0 also for g = +-inf."""
    fi = np.finfo(dtype)
    if np.isnan(g) or np.isnan(s):
        return np.nan
    negative = bool(np.signbit(g)) != bool(np.signbit(s))
    signed_zero = -0.0 if negative else 0.0
    if s == 0 and np.isinf(g):
        return signed_zero
    if np.isinf(g) or np.isinf(s):
        return float(g) * float(s)  # inf * finite nonzero = inf; 0 * inf = NaN
    exact = Fraction(float(g)) * Fraction(float(s))
    if abs(exact) < Fraction(float(fi.tiny)):
        return signed_zero
    try:
        rounded = float(exact)  # Fraction -> float rounds correctly
    except OverflowError:
        return -np.inf if negative else np.inf
    if dtype == np.float32:  # exact is a float32 * float32 product: exact in float64
        with np.errstate(over="ignore"):
            rounded = float(np.float32(rounded))
    return rounded


def _slopes(dtype):
    fi = np.finfo(dtype)
    values = [0.01, -0.01, 0.3, 1.0, -1.0, 1.0 + fi.eps, 3.0, -3.0, 123.456, 7e30, 1e-30,
              fi.tiny, fi.smallest_subnormal, float(fi.max), 0.0, -0.0, np.inf, -np.inf, np.nan]
    rng = np.random.default_rng(2026)
    values += list(rng.uniform(-2, 2, 12) * 10.0 ** rng.integers(-30, 30, 12))
    return [dtype(v) for v in values]


def _operands(slope, dtype) -> np.ndarray:
    """Floats around both bounds for this slope, and the special values."""
    fi = np.finfo(dtype)
    points = [0.0, fi.smallest_subnormal, fi.tiny, 1.0, float(fi.max), np.inf, np.nan]
    for target in (fi.tiny, fi.max):
        if slope != 0 and np.isfinite(slope):
            with np.errstate(all="ignore"):
                bound = np.array([dtype(target) / abs(slope)], dtype=dtype)
            if np.isfinite(bound[0]) and bound[0] != 0:
                b = _pattern(bound)[0]
                points += list((b + np.arange(-4, 5, dtype=b.dtype)).view(dtype))
    a = np.array(points, dtype=dtype)
    # the neighbours of max / 1 run past inf into signaling NaNs (invalid anywhere)
    a = a[~np.isnan(a) | (_pattern(a) == _pattern(np.array([np.nan], dtype=dtype))[0])]
    # the forward takes slope_product for a <= 0 only (a itself above): the bounds
    # depend on |a|, so the negative half reaches every one of them
    return -a


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_slope_product_bounds_exact(dtype):
    checked = 0
    for slope in _slopes(dtype):
        a = _operands(slope, dtype)
        with np.errstate(all="raise"):  # no flag for any operand or slope
            got = fastact.leaky_relu(a, slope)
        expected = np.array([_exact(v, slope, dtype) for v in a], dtype=dtype)
        same = (_pattern(got) == _pattern(expected)) | (np.isnan(got) & np.isnan(expected))
        # the sign of a zero from -inf * 0 is the product of the signs: not asked
        same |= (got == 0) & (expected == 0) & np.isinf(a)
        assert same.all(), (slope, a[~same], got[~same], expected[~same])
        checked += a.size
    assert checked > 500
