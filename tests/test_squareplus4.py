"""squareplus and its derivative at the default b = 4 (fastact/_squareplus4.py): the
float32 AVX-512 block kernels equal bit for bit to their scalar twins in every loop
layout, their short and general paths in agreement, b = 4 the same bits however it
is given (float32 and float64), and the ranges where the formulas change (|x| at
the square's floor, at the clamp, at the flush) within 0.6 ULP of an exact value.

The accuracy over all inputs is certified with the other kernels (test_accuracy,
against mpmath, and the exhaustive ``fastact verify``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import support

import fastact
from fastact._squareplus4 import squareplus32, squareplus64, squareplus_grad32, squareplus_grad64

_forward32 = support.scalar_loop(squareplus32)
_grad32 = support.scalar_loop(squareplus_grad32)


def test_block_kernels_equal_scalar_kernels():
    support.assert_block_equals_scalar(fastact.squareplus, _forward32)
    support.assert_block_equals_scalar(fastact.squareplus_grad, _grad32)


def test_backward_block_in_every_layout():
    support.assert_backward_block_layouts(fastact.squareplus_backward, _grad32)


def test_the_short_path_and_the_general_path_agree():
    # the short path: every |x| in [2^-20, 2^63]; a tiny value, a value past 2^63,
    # an infinity or a NaN sends a block down the general one
    cases = {
        fastact.squareplus: ((1e-30, 1.0), (-(2.0**64), 2.0**-64), (2.0**64, 2.0**64), (-np.inf, 0.0)),
        fastact.squareplus_grad: ((1e-30, 0.5), (-(2.0**64), 0.0), (2.0**64, 1.0), (np.inf, 1.0)),
    }
    for ufunc, outsiders in cases.items():
        for outsider, result in outsiders:
            support.assert_short_and_general_paths_agree(ufunc, 30.0, outsider, result)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_b_four_gives_the_same_bits_however_it_is_passed(dtype):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(10**5) * 20).astype(dtype)
    for name in ("squareplus", "squareplus_grad"):
        ufunc = getattr(fastact, name)
        want = ufunc(x)
        scalar = {np.float32: (squareplus32, squareplus_grad32), np.float64: (squareplus64, squareplus_grad64)}[dtype]
        for got in (
            ufunc(x, 4.0),
            getattr(fastact.ufuncs, name)(x, dtype(4)),
            getattr(fastact.ufuncs, name)(x, np.full_like(x, 4)),
            ufunc(x[::-1].copy())[::-1],
            support.scalar_loop(scalar[name == "squareplus_grad"])(x),
        ):
            np.testing.assert_array_equal(np.asarray(got), want)
            assert np.asarray(got).dtype == dtype


def _exact(x: float, grad: bool) -> Fraction:
    """squareplus (or its derivative) at b = 4, to far below a float64 ULP: the
    square root by Newton's method on exact rationals."""
    v = Fraction(x) ** 2 + 4
    s = Fraction(max(abs(x), 2.0))
    for _ in range(200):
        s_next = (s + v / s) / 2
        s = Fraction(s_next.numerator * 2**300 // s_next.denominator, 2**300)
        if abs(s * s - v) < v / 2**250:
            break
    if grad:
        value = (1 + Fraction(x) / s) / 2 if x >= 0 else 2 / (s * (s - Fraction(x)))
    else:
        value = (Fraction(x) + s) / 2 if x >= 0 else 2 / (s - Fraction(x))
    return value


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_seams_are_within_0_6_ulp(dtype):
    # |x| next to 2 (x^2 + 4 crosses the binade of 4 there), next to the floor of
    # the square, the clamp and the 1 / |x| tail, both signs
    top, flush, floor = (2.0**63, 2.0**126, 2.0**-20) if dtype == np.float32 else (2.0**511, 2.0**1022, 2.0**-60)
    steps = np.arange(-20, 21)
    points = [2.0, floor, top, np.sqrt(top), 1.0, 3.0]
    mags = np.concatenate([dtype(p) + steps * np.spacing(dtype(p)) for p in points] + [[dtype(flush) * dtype(0.75)]])
    x = np.concatenate([mags, -mags]).astype(dtype)
    tiny = np.finfo(dtype).tiny
    for ufunc, grad in ((fastact.squareplus, False), (fastact.squareplus_grad, True)):
        got = ufunc(x)
        for xi, yi in zip(x, got, strict=True):
            want = _exact(float(xi), grad)
            rounded = dtype(float(want))
            if rounded < tiny:
                assert yi == 0, (xi, yi)
                continue
            err = abs(Fraction(float(yi)) - want) / Fraction(float(np.spacing(rounded)))
            assert err <= 0.6, (ufunc.__name__, xi, float(err))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tails_and_specials(dtype):
    info = np.finfo(dtype)
    top = dtype(2.0**63 if dtype == np.float32 else 2.0**511)
    flush = dtype(2.0**126 if dtype == np.float32 else 2.0**1022)
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, info.max, -info.max, -flush, -flush * 2, top * 4, -top * 4],
                 dtype)
    with np.errstate(all="raise"):
        y = fastact.squareplus(x)
        g = fastact.squareplus_grad(x)
    assert y[0] == np.inf and np.isnan(y[2]) and y[3] == y[4] == 1 and y[5] == info.max
    assert y[7] == info.tiny and y[9] == x[9] and y[10] == 1 / (top * 4)
    np.testing.assert_array_equal(y[[1, 6, 8]].view(np.uint8), np.zeros(3 * info.bits // 8, np.uint8))  # +0
    assert g[0] == 1 and np.isnan(g[2]) and g[3] == g[4] == 0.5 and g[5] == 1 and g[9] == 1
    np.testing.assert_array_equal(g[[1, 6, 7, 8, 10]], np.zeros(5, dtype))
    assert not np.signbit(g[[1, 6, 7, 8, 10]]).any()
