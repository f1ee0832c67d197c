"""The vectorizable erfc of the math core (``fastact._erf``), against mpmath.

gelu is built on the same normal-tail decomposition (its accuracy is tested
through the registry); this checks the primitive itself: relative accuracy down
to the smallest normal number, 2 - erfc(|z|) for negative z, exact limits, NaN
in NaN out, and no floating-point flag for any input.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from numba import njit
from support import log_uniform, mp_reference, ulp_error, worst

from fastact._erf import erfc


@njit(error_model="numpy")
def _erfc_array(z, out):
    for i in range(z.size):
        out[i] = erfc(z[i])


def _evaluate(z):
    out = np.empty_like(z)
    with np.errstate(all="raise"):
        _erfc_array(z, out)
    return out


@pytest.mark.parametrize(("dtype", "bound"), [("float32", 1), ("float64", 2)])
def test_erfc_matches_mpmath(dtype, bound):
    rng = np.random.default_rng(31)
    z = np.concatenate([
        log_uniform(dtype, 3000, rng, specials=False),
        log_uniform(dtype, 3000, rng, binades=(-8, 5), specials=False),
        rng.uniform(-28, 28, 2000).astype(dtype),
    ])
    got = _evaluate(z)
    expected = mp_reference(lambda mp, v: mp.erfc(v), z, dtype)
    err = ulp_error(got, expected)
    assert err.max() <= bound, worst(got, expected, z, err)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_erfc_special_values(dtype):
    z = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 10.0, 30.0, -30.0], dtype)
    got = _evaluate(z)
    assert got[0] == 1 and got[1] == 1
    assert got[2] == 0 and not np.signbit(got[2]) and got[3] == 2 and np.isnan(got[4])
    assert got[5] == 1 and got[6] == 1
    # erfc(10) = 2.1e-45: subnormal in float32 (flushed to +0), normal in float64
    if dtype == "float64":
        assert abs(got[7] / float(mpmath.erfc(10)) - 1) < 1e-15
    else:
        assert got[7] == 0 and not np.signbit(got[7])
    assert got[8] == 0 and got[9] == 2
