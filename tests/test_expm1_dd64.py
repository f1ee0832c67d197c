"""The double-word float64 expm1 of the math core (tanhshrink' squares it)."""

import mpmath as mp
import numpy as np
import support
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
    """Every binade of [2**-40, 80] (negated), 3000 values, 2000 more uniform on
    [-0.35, -0.2] (k = 0 and |r| near ln2/2, where the roundings of r**3 Q weigh
    most: the worst stretch), plus the ends and the reduction's switch points (|y| =
    ln2/2 and multiples of ln2)."""
    rng = np.random.default_rng(5)
    y = np.concatenate([-support.magnitudes(rng, 2.0**-40, 80.0, 3000), rng.uniform(-0.35, -0.2, 2000)])
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
    # 2**-56.62 at worst in a denser sweep (y = -0.3357: k = 0, |r| near ln2/2, where
    # r**3 Q is largest; _core.expm1_dd64)
    assert worst < 2.0**-56.5, worst


def test_expm1_dd64_raises_no_flag():
    with np.errstate(all="raise"):
        hi, lo = _expm1_dd_many(_inputs())
    assert np.all(np.isfinite(hi)) and np.all(np.isfinite(lo))
