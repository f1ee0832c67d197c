"""The judging helpers of conftest are themselves tested: a wrong ULP distance or a
double-rounded reference would make every accuracy test meaningless."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from support import (
    DTYPES,
    NAN_DISTANCE,
    assert_same_bits,
    log_uniform,
    mp_reference,
    mp_round,
    scrambled,
    ulp_distance,
    ulp_error,
)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ulp_distance_counts_representable_numbers(dtype):
    dt = np.dtype(dtype).type
    fi = np.finfo(dtype)
    one = dt(1)
    up = np.nextafter(np.nextafter(one, dt(2)), dt(2))
    assert ulp_distance(up, one) == 2
    assert ulp_distance(one, up) == 2
    # across zero: -smallest subnormal .. +smallest subnormal is 2 steps, +0 == -0
    assert ulp_distance(dt(-fi.smallest_subnormal), dt(fi.smallest_subnormal)) == 2
    assert ulp_distance(dt(0.0), dt(-0.0)) == 0
    # inf is one step above max; NaN rules
    assert ulp_distance(dt(np.inf), dt(fi.max)) == 1
    assert ulp_distance(dt(np.nan), dt(np.nan)) == 0
    assert ulp_distance(dt(np.nan), dt(0)) == NAN_DISTANCE
    assert ulp_distance(dt(1), dt(np.nan)) == NAN_DISTANCE
    # the whole line fits: -max .. +max
    n_finite_pos = int(np.array(fi.max, dtype).view(np.uint32 if dtype == "float32" else np.uint64))
    assert ulp_distance(dt(-fi.max), dt(fi.max)) == 2 * n_finite_pos


@pytest.mark.parametrize("dtype", DTYPES)
def test_ulp_distance_is_monotone_with_float_order(dtype):
    x = np.sort(log_uniform(dtype, 2000, np.random.default_rng(3)))
    x = x[~np.isnan(x)]
    d = ulp_distance(x, np.full_like(x, -np.inf))
    assert np.all(np.diff(d.astype(np.float64)) >= 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ulp_error_absolute_rule_below_smallest_normal(dtype):
    dt = np.dtype(dtype).type
    tiny = np.finfo(dtype).tiny
    with np.errstate(under="ignore"):
        sub = dt(tiny / 3)
    assert ulp_error(dt(0), sub) == 0  # flushed: absolute error < tiny
    assert ulp_error(dt(0), dt(tiny)) == 0  # true value just below tiny may round up to it
    assert ulp_error(dt(0), dt(2 * tiny)) > 1000  # a normal expected value needs relative accuracy
    assert ulp_error(dt(tiny * 4), sub) > 1000  # absolute error above tiny still fails


def test_mp_round_float32_is_a_single_rounding():
    # 1 + 2**-24 + 2**-60: float64 drops the 2**-60, leaving an exact float32 tie that
    # rounds to even (1.0); correctly rounded it is 1 + 2**-23.
    with mpmath.workdps(50):
        v = mpmath.mpf(1) + mpmath.mpf(2) ** -24 + mpmath.mpf(2) ** -60
    assert np.float32(float(v)) == np.float32(1.0)
    assert mp_round(v, np.float32) == 1 + 2.0**-23
    assert mp_round(v, np.float64) == 1 + 2.0**-24


def test_mp_reference_rounds_to_dtype():
    got = mp_reference(lambda mp, x: mp.exp(x), np.array([0.0, 1.0, np.nan]), "float32")
    assert got.dtype == np.float32
    assert got[0] == 1 and got[1] == np.float32(np.e) and np.isnan(got[2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_assert_same_bits_tells_signed_zeros_and_nan_payloads_apart(dtype):
    x = np.array([1.0, -0.0, np.nan, np.inf], dtype=dtype)
    assert_same_bits(x, x.copy())
    bits = np.dtype(f"u{x.itemsize}")
    for changed in (np.array([1.0, 0.0, np.nan, np.inf], dtype=dtype),  # +0 for -0
                    np.array([np.nextafter(x[0], 2 * x[0]), -0.0, np.nan, np.inf], dtype=dtype)):
        with pytest.raises(AssertionError, match="1 of 4 elements differ"):
            assert_same_bits(changed, x)
    payload = x.copy()
    payload.view(bits)[2] ^= 1  # another NaN
    with pytest.raises(AssertionError, match="first at \\[2\\]"):
        assert_same_bits(payload, x)
    with pytest.raises(AssertionError):
        assert_same_bits(x[:3], x[:3].astype(np.float32 if dtype == "float64" else np.float64))


def test_scrambled_is_a_permutation_that_spreads_neighbours():
    for n in (16, 1000, 5_000_011):
        x = np.arange(n, dtype=np.int64)
        y = scrambled(x)
        assert np.array_equal(np.sort(y), x)  # every element once
        # any 16 neighbours come from all over: their sorted gaps are a fair share of n
        block = np.sort(y[: 16 * (n // 16)].reshape(-1, 16), axis=1)
        assert (np.diff(block, axis=1).min(axis=1) >= n // 64).all()
