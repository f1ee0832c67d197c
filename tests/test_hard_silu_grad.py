"""hard_silu', (2t + 3) / 6 (t = clip(x, -3, 3)): the sum is an exact double word
and the division by 6 a product with one residual step, so the result is rounded
once, in float32 and float64 (hard_sigmoid, (t + 3) / 6, rounds t + 3 first: up
to 1 ULP, its documented bound).  Judged against the exact quotient: float32
values over a dense scan of (-3, 3) (float64 holds 2t + 3 exactly and the
quotient to 2^-53, 2^-29 of a float32 ULP), float64 values against rationals."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

import fastact


def _float32_scan() -> np.ndarray:
    """Every 97th float32 in (-3, 3) (22 million values), and the floats next to
    +-3 (at +-3 itself hard_silu' takes the outer pieces, 0 and 1)."""
    top = int(np.float32(3.0).view(np.int32))
    mags = np.concatenate([np.arange(0, top, 97, dtype=np.int32), np.arange(top - 1000, top, dtype=np.int32)])
    x = mags.view(np.float32)
    return np.concatenate([x, -x])


def test_float32_is_rounded_once():
    x = _float32_scan()
    got = fastact.hard_silu_grad(x).astype(np.float64)
    want = (2.0 * x.astype(np.float64) + 3.0) / 6.0
    ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    err = np.abs(got - want) / ulp
    # rounded once: half an ULP (plus the reference's 2^-29); rounding 2t + 3
    # before the division reached 1 ULP
    assert err.max() <= 0.5 + 2.0**-20, (float(err.max()), x[np.argmax(err)])


def test_float64_is_rounded_once():
    rng = np.random.default_rng(21)
    tiny = np.ldexp(rng.uniform(0.5, 1, 1000), rng.integers(-60, 1, 1000))
    x = np.concatenate([rng.uniform(-2.999, 2.999, 3000), tiny, -tiny])
    got = fastact.hard_silu_grad(x)
    for xi, yi in zip(x.tolist(), got.tolist(), strict=True):
        want = (2 * Fraction(xi) + 3) / 6
        ulp = Fraction(float(np.spacing(abs(float(want)))))
        assert abs(Fraction(yi) - want) / ulp <= Fraction(1, 2) + Fraction(1, 2**40), xi
