"""The float64 tanhshrink (``kernels.smooth._tanhshrink64``): its rational function
is the one ``tools/fit_tanhshrink.py`` derives from Lambert's continued fraction,
and the places where its formulas meet are right: the split at |x| = 1 between
x^3 E(x^2) / D(x^2) and (|x| - 1) + 2e / (1 + e), the flush of results below the
smallest normal number (x^3 / 3 leaves the normal range near |x| = 2^-340), and
|x| - 1 rounding to x itself beyond 2^53.

The accuracy over all binades is certified with the other kernels (test_accuracy
against mpmath, ``fastact verify``: 0.821 ULP over 10^7 samples).
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
import support

import fastact
from fastact.kernels import smooth

ROOT = Path(__file__).resolve().parent.parent


def _fit_tool():
    spec = importlib.util.spec_from_file_location("fit_tanhshrink", ROOT / "tools" / "fit_tanhshrink.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_kernel_takes_the_tools_coefficients():
    e, d = _fit_tool().shrink_coefficients(9)
    assert e[0] == Fraction(1, 3) and d[0] == 1
    assert smooth._TS_E64 == tuple(float(c) for c in e[1:])
    assert smooth._TS_D64 == tuple(float(c) for c in d[1:])
    # the low parts of the first coefficients: exact double words of 7/285 and 9/19
    for c, lo in ((e[1], smooth._TS_E1_LO), (d[1], smooth._TS_D1_LO)):
        assert abs(Fraction(float(c)) + Fraction(lo) - c) < abs(c) * Fraction(1, 2**105)
    assert all(c > 0 for c in e + d)


def _mp_tanhshrink(values):
    """x - tanh x correctly rounded, with the registry's extra precision for the
    cancellation (3 |log2 x| + 20 bits more)."""
    with mp.workdps(40):
        return np.array([float(smooth._mp_tanhshrink(mp, mp.mpf(v))) for v in values])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_both_branches_meet_at_one(sign):
    # 400 neighbours of 1 on either side and a wider sweep: within 1 ULP of the
    # correctly rounded value, and monotone across the split
    near = np.concatenate([np.nextafter(1.0, 0.0) - np.arange(400) * 2.0**-53, 1.0 + np.arange(400) * 2.0**-52])
    wide = np.linspace(0.95, 1.05, 2001)
    x = sign * np.sort(np.concatenate([near, wide]))
    got = fastact.tanhshrink(x)
    assert support.ulp_distance(got, _mp_tanhshrink(x)).max() <= 1
    step = np.diff(got) * sign
    assert (step >= 0).all()


def test_results_below_the_smallest_normal_number_are_flushed_to_plus_zero():
    # x^3 / 3 crosses 2^-1022 at x = (3 * 2^-1022)^(1/3) ~ 2^-340.14: below, +0 for
    # both signs; above, normal and within 1 ULP
    edge = float(mp.cbrt(3 * mp.mpf(2) ** -1022))
    x = edge * (1 + np.linspace(-1e-6, 1e-6, 2001))
    x = np.concatenate([x, -x, [0.0, -0.0, 5e-324, -5e-324, 2.0**-600, 2.0**-520, -(2.0**-521)]])
    with np.errstate(all="raise"):
        got = fastact.tanhshrink(x)
    want = _mp_tanhshrink(x)
    flushed = got == 0
    assert (np.signbit(got[flushed]) == 0).all()
    assert (np.abs(want[flushed]) <= 2.0**-1022).all()
    assert (np.abs(got[~flushed]) >= 2.0**-1022).all()
    assert support.ulp_distance(got[~flushed], want[~flushed]).max() <= 1
    assert flushed[:2001].any() and not flushed[:2001].all()


def test_large_arguments_round_to_x_minus_one_then_to_x():
    # below 2^53 x - 1 is exact (and x - tanh x rounds to it: the e^-2x left is far
    # below half an ULP); 2^53 - 1 is representable; above 2^53, x - 1 + 2e^-2x lies
    # within half an ULP of x
    x = np.array([40.0, 41.5, 2.0**52 + 1, 2.0**53 - 2, 2.0**53, 2.0**53 + 2, 2.0**54 + 4, 1e300,
                  np.finfo(np.float64).max])
    want = np.array([39.0, 40.5, 2.0**52, 2.0**53 - 3, 2.0**53 - 1, 2.0**53 + 2, 2.0**54 + 4, 1e300,
                     np.finfo(np.float64).max])
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(fastact.tanhshrink(x), want)
        np.testing.assert_array_equal(fastact.tanhshrink(-x), -want)
        got = fastact.tanhshrink(np.array([np.inf, -np.inf, np.nan]))
    assert got[0] == np.inf and got[1] == -np.inf and np.isnan(got[2])
