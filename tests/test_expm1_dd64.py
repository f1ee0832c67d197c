"""The double-word float64 expm1 of the math core (tanhshrink' squares it)."""

import mpmath as mp
import numpy as np
from numba import njit

from fastact._core import expm1_dd64


@njit
def _expm1_dd_many(y):
    hi = np.empty_like(y)
    lo = np.empty_like(y)
    for i in range(y.size):
        hi[i], lo[i] = expm1_dd64(y[i])
    return hi, lo


def _inputs():
    """Log-uniform over [2**-40, 80] (negated), plus the ends and the reduction's
    switch points (|y| = ln2/2 and multiples of ln2)."""
    rng = np.random.default_rng(5)
    y = -np.exp2(rng.uniform(-40, np.log2(80), 3000))
    edges = [2.0**-40, np.log(2) / 2, np.log(2), 2 * np.log(2), 20.0, 40.0, 80.0]
    near = [np.nextafter(v, s) for v in edges for s in (0, 100)]
    return np.concatenate([y, -np.array(edges + near)])


def test_expm1_dd64_is_a_normalized_double_word_within_2_pow_minus_57_5():
    y = _inputs()
    hi, lo = _expm1_dd_many(y)
    mp.mp.prec = 200
    worst = 0.0
    for yi, h, lw in zip(y, hi, lo, strict=True):
        exact = mp.expm1(mp.mpf(float(yi)))
        worst = max(worst, float(abs((mp.mpf(float(h)) + mp.mpf(float(lw)) - exact) / exact)))
        # normalized: the low part lies within an ULP of the high one
        assert abs(lw) <= np.spacing(abs(h)), (yi, h, lw)
    # measured 2**-57.7 (at |y| = ln2/2, where r**3 Q is largest)
    assert worst < 2.0**-57.5, worst


def test_expm1_dd64_raises_no_flag():
    with np.errstate(all="raise"):
        hi, lo = _expm1_dd_many(_inputs())
    assert np.all(np.isfinite(hi)) and np.all(np.isfinite(lo))
