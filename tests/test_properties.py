"""Hypothesis properties: identities, monotonicity, derivative vs finite differences.

Identities are per function (a small table keyed by name below); everything else
runs over every record.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from support import DTYPES, RECORDS, accuracy_samples, evaluate

# 100 arrays per property, kernel and dtype (200 cost 45 s more of CI): the values
# themselves are covered densely by test_accuracy and the exhaustive certificate;
# these look for broken identities and orderings on arbitrary arrays.
SETTINGS = settings(max_examples=100, deadline=None)


def finite(dtype, **kw):
    width = 32 if dtype == "float32" else 64
    return st.floats(allow_nan=False, allow_infinity=False, width=width, **kw)


def arrays_of(dtype, elements=None, max_size=64):
    return hnp.arrays(
        np.dtype(dtype), st.integers(1, max_size), elements=finite(dtype) if elements is None else elements
    )


# --------------------------------------------------------------------------------
# Identities of single functions.  Each takes (act, x) with x a float64 or float32
# array and asserts; keyed by record name (checked against the registry below).
# --------------------------------------------------------------------------------
def _sigmoid_complement(act, x):
    """sigmoid(x) + sigmoid(-x) == 1 within 2 eps (each term within its ULP bound)."""
    total = evaluate(act, "forward", x).astype(np.float64) + evaluate(act, "forward", -x)
    eps = np.finfo(x.dtype).eps
    np.testing.assert_array_less(np.abs(total - 1), 2 * eps + 1e-300)


def _tanh_odd(act, x):
    """tanh(-x) == -tanh(x) bit for bit (the sign of zero included)."""
    a = evaluate(act, "forward", -x)
    b = -evaluate(act, "forward", x)
    assert np.array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}"))
    ga, gb = evaluate(act, "grad", -x), evaluate(act, "grad", x)  # the derivative is even
    assert np.array_equal(ga, gb)


def _relu_split(act, x):
    """relu(x) - relu(-x) == x exactly (one of the two is 0)."""
    assert np.array_equal(evaluate(act, "forward", x) - evaluate(act, "forward", -x), x)


IDENTITIES = {
    "sigmoid": _sigmoid_complement,
    "tanh": _tanh_odd,
    "relu": _relu_split,
}


def test_identity_table_names_registered_functions():
    assert set(IDENTITIES) <= {act.name for act in RECORDS}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(IDENTITIES))
def test_identities(name, dtype):
    act = next(a for a in RECORDS if a.name == name)

    @SETTINGS
    @given(arrays_of(dtype))
    def check(x):
        IDENTITIES[name](act, x)

    check()


# --------------------------------------------------------------------------------
# Monotone records (the record's ``monotone`` field): non-decreasing forward,
# non-negative derivative.  hard_silu dips below 0 on (-3, 0): its derivative
# (2x+3)/6 is negative on (-3, -1.5); it is checked for its minimum instead.
# --------------------------------------------------------------------------------
MONOTONE = [a for a in RECORDS if a.monotone]


def test_non_monotone_records_have_a_negative_derivative_somewhere():
    """``monotone=False`` is not a way to skip the checks: it must be true."""
    x = np.linspace(-10, 10, 20001)
    for act in RECORDS:
        if not act.monotone:
            assert (evaluate(act, "grad", x) < 0).any(), act.name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", MONOTONE, ids=lambda a: a.name)
def test_forward_is_monotone(act, dtype):
    @SETTINGS
    @given(arrays_of(dtype, elements=st.one_of(finite(dtype), finite(dtype, min_value=-50, max_value=50))))
    def check(x):
        x = np.sort(x)
        y = evaluate(act, "forward", x)
        assert (y[1:] >= y[:-1]).all(), (x, y)

    check()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", MONOTONE, ids=lambda a: a.name)
def test_forward_is_monotone_on_dense_samples(act, dtype):
    """The accuracy samples, sorted: consecutive floats around every threshold."""
    x = accuracy_samples(dtype)
    x = np.sort(x[~np.isnan(x)])
    y = evaluate(act, "forward", x)
    bad = np.flatnonzero(y[1:] < y[:-1])
    assert bad.size == 0, [(x[i], x[i + 1], y[i], y[i + 1]) for i in bad[:5]]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", MONOTONE, ids=lambda a: a.name)
def test_derivative_is_non_negative(act, dtype):
    @SETTINGS
    @given(arrays_of(dtype))
    def check(x):
        g = evaluate(act, "grad", x)
        assert (g >= 0).all(), (x, g)

    check()


# --------------------------------------------------------------------------------
# Derivative against a float64 central difference of the float64 forward
# --------------------------------------------------------------------------------
# Kinks: |x| >= 1e-3 > 2h keeps the difference off 0; the other points where a
# derivative jumps (hard_tanh at +-1, relu6 at 6, hardshrink at +-lambd, ...) are
# the record's ``kinks``, and samples within 4h of one are left out.  The tolerance is the sum of the truncation error
# (rtol 1e-6: h**2 f'''/6 relative to f' is below 1e-8 for these functions at
# h ~ 7.6e-6 |x|), the rounding of the difference (4 eps |f| / 2h: in saturation
# this dominates, so the check is meaningful where the derivative is not tiny) and
# the derivative's own rounding in float32.
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_derivative_matches_central_difference(act, dtype):
    @SETTINGS
    @given(arrays_of("float64", elements=st.floats(1e-3, 20.0)), st.integers(0, 2**32 - 1))
    def check(mag, seed):
        sign = np.where(np.random.default_rng(seed).random(mag.size) < 0.5, -1.0, 1.0)
        x = (mag * sign).astype(dtype).astype(np.float64)
        h = 2.0**-17 * np.maximum(1.0, np.abs(x))
        away = np.ones(x.shape, bool)
        for k in act.kinks:
            away &= np.abs(x - k) > 4 * h
        x, h = x[away], h[away]
        f_hi = evaluate(act, "forward", x + h)
        f_lo = evaluate(act, "forward", x - h)
        cd = (f_hi - f_lo) / (2 * h)
        got = evaluate(act, "grad", x.astype(dtype)).astype(np.float64)
        eps64 = np.finfo(np.float64).eps
        tol = 1e-6 * np.abs(got) + 4 * eps64 * np.maximum(np.abs(f_hi), np.abs(f_lo)) / (2 * h)
        tol += 2 * np.finfo(dtype).eps * np.abs(got)
        # results below the smallest normal number: absolute error (the flush rule)
        tol += np.finfo(dtype).tiny
        # the truncation error estimated from the data (Richardson: cd(2h) - cd(h) is
        # 3 h**2 f3 / 6, f3 the third derivative): where f' decays fast (gelu_tanh's
        # tail ~ exp(-0.071 |x|**3), x = -12) it exceeds rtol 1e-6; twice the
        # estimate is allowed
        cd2 = (evaluate(act, "forward", x + 2 * h) - evaluate(act, "forward", x - 2 * h)) / (4 * h)
        tol += 2 * np.abs(cd2 - cd) / 3
        assert (np.abs(got - cd) <= tol).all(), (x, got, cd)

    check()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_backward_is_product_for_unit_grad_out(act, dtype):
    """backward(1, x) == grad(x) and backward(-g, x) == -backward(g, x), bit for bit."""

    @SETTINGS
    @given(arrays_of(dtype), st.floats(0.5, 2.0))
    def check(x, g):
        grad = evaluate(act, "grad", x)
        one = evaluate(act, "backward", x, g=np.ones_like(x))
        assert np.array_equal(one, grad)
        gx = np.full_like(x, g)
        a, b = evaluate(act, "backward", x, g=-gx), evaluate(act, "backward", x, g=gx)
        assert np.array_equal(a, -b)

    check()
