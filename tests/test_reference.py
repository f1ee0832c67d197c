"""Kernels against their NumPy reference (the *meaning* of each function), and the
reference against the naive tutorial formulas it replaces."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from support import (
    DTYPES,
    RECORDS,
    accuracy_samples,
    evaluate,
    fp_errstate,
    log_uniform,
    mp_expected,
    mp_reference,
    params_as,
    public_name,
    special_values,
    ulp_distance,
    ulp_error,
    worst,
)

from fastact import reference

# The reference is not correctly rounded: several NumPy passes (np.exp, a sum, a
# division, a product), each rounded.  Its own error against mpmath, measured on
# the accuracy samples: <= 4 ULP in float32 (the derivatives), <= 3 in float64.
# A kernel within its bound may therefore sit up to bound + REFERENCE_ULP from it.
REFERENCE_ULP = 4


# The tutorial formulas, written out as every tutorial has them, with the points
# where each one breaks down (all taken from DESIGN.md / reference.py):
#   overflow_x: exp overflows (RuntimeWarning); the naive result there is naive_at_overflow
#   cancel_x:   float32 point where the naive derivative has cancelled to exactly 0
def _naive_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _naive_tanh(x):
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))


NAIVE = {
    "sigmoid": dict(
        forward=_naive_sigmoid,
        grad=lambda x: _naive_sigmoid(x) * (1 - _naive_sigmoid(x)),
        overflow_x=-1000.0,
        naive_at_overflow=0.0,
        cancel_x=30.0,
        documented_grad=9.36e-14,  # the record's notes: sigmoid_grad(30) is 9.36e-14 in float32
    ),
    "tanh": dict(
        forward=_naive_tanh,
        grad=lambda x: 1 - np.tanh(x) ** 2,
        overflow_x=1000.0,
        naive_at_overflow=np.nan,  # inf / inf
        cancel_x=20.0,
        documented_grad=None,
    ),
}


def _reference(act, kind):
    return act.reference if kind == "forward" else act.reference_grad


def _ref_name(act, kind):
    return public_name(act, kind)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_kernel_agrees_with_reference(act, kind, dtype):
    x = accuracy_samples(dtype)
    got = evaluate(act, kind, x)
    with fp_errstate(_ref_name(act, kind)):
        expected = _reference(act, kind)(x, *act.param_defaults)
    assert expected.dtype == got.dtype == x.dtype
    if act.exact:
        # piecewise linear: bit for bit, signs of zero and NaNs included
        uint = np.uint32 if dtype == "float32" else np.uint64
        mismatch = got.view(uint) != expected.view(uint)
        assert not mismatch.any(), worst(got, expected, x, mismatch.astype(np.uint64))
    else:
        err = ulp_error(got, expected)
        assert err.max() <= act.ulp_bound[dtype] + REFERENCE_ULP, worst(got, expected, x, err)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_reference_accuracy(act, kind, dtype):
    """The tolerance above is justified: the reference is within REFERENCE_ULP of mpmath."""
    x = accuracy_samples(dtype)
    with fp_errstate(_ref_name(act, kind)):
        got = _reference(act, kind)(x, *act.param_defaults)
    expected = mp_expected(act, kind, x, "accuracy")
    err = ulp_error(got, expected)
    assert err.max() <= (0 if act.exact else REFERENCE_ULP), worst(got, expected, x, err)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_reference_is_warning_free(act, kind, dtype):
    """Under np.errstate(all="raise"): the reference silences only underflow itself."""
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [
            special_values(dtype),
            log_uniform(dtype, 5000, rng),
            np.array([1e4, -1e4, 1000, -1000, 100, -100, 30, -30], dtype),
        ]
    )
    with fp_errstate(_ref_name(act, kind)):
        got = _reference(act, kind)(x, *act.param_defaults)
    assert got.dtype == x.dtype
    assert np.array_equal(np.isnan(got), np.isnan(x))


@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_reference_in_float64_working_precision(act, kind):
    """``working_precision(np.float64)``, the float32 verifier's fast stage, on
    float64 copies of float32 inputs (specials, huge and subnormal ones included):
    warning-free, NaN exactly for NaN, and within 2**-40 relative of the long
    double values (or 2**-60 absolute: float64 subnormal results)."""
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            special_values("float32"),
            log_uniform("float32", 5000, rng),
            np.array([1e4, -1e4, 1000, -1000, 104, -104, 88.7, -88.7, 30, -30], "float32"),
        ]
    ).astype(np.float64)
    ref = _reference(act, kind)
    with fp_errstate(_ref_name(act, kind)):
        with reference.working_precision(np.float64):
            fast = ref(x, *act.param_defaults)
        slow = ref(x, *act.param_defaults)
    assert fast.dtype == np.float64
    assert np.array_equal(np.isnan(fast), np.isnan(x))
    np.testing.assert_allclose(fast, slow, rtol=2**-40, atol=2**-60)


def test_working_precision_is_scoped_and_per_thread():
    """The setting holds inside its block only (undone by an exception too), and
    in its own thread only: another thread's references stay in long double."""
    x = np.ones(1)

    def widest():
        return reference._wide(x).dtype

    assert widest() == np.longdouble
    with reference.working_precision(np.float64):
        assert widest() == np.float64
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(widest).result() == np.longdouble
    assert widest() == np.longdouble
    with pytest.raises(KeyError), reference.working_precision(np.float64):
        raise KeyError
    assert widest() == np.longdouble
    with pytest.raises(ValueError, match="float64 or longdouble"), reference.working_precision(np.float32):
        pass


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_reference_keeps_float_dtype_and_promotes_ints(act, kind, dtype):
    ref = _reference(act, kind)
    assert ref(np.zeros(3, dtype), *act.param_defaults).dtype == np.dtype(dtype)
    assert ref(np.arange(-2, 3), *act.param_defaults).dtype == np.float64
    with pytest.raises(TypeError):
        ref(np.array([1j]), *act.param_defaults)


# --------------------------------------------------------------------------------
# Where the naive formulas fail, the reference and the kernels do not
# --------------------------------------------------------------------------------
def _naive_cases():
    return [pytest.param(name, id=name) for name in NAIVE]


def test_naive_table_names_registered_functions():
    assert set(NAIVE) <= {act.name for act in RECORDS}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", _naive_cases())
def test_naive_forward_overflows_where_reference_does_not(name, dtype):
    act = next(a for a in RECORDS if a.name == name)
    case = NAIVE[name]
    x = np.array([case["overflow_x"]], dtype)
    with np.errstate(all="warn"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        naive = case["forward"](x)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert any("overflow" in m for m in messages), messages
    np.testing.assert_array_equal(naive, np.array([case["naive_at_overflow"]], dtype))

    expected = mp_reference(act.mp_forward, x, dtype)
    with fp_errstate(name):
        ref = act.reference(x)
    got = evaluate(act, "forward", x)
    # the true values there are the saturation limits: exact
    assert expected[0] in act.limits
    assert ref[0] == expected[0] and got[0] == expected[0], (ref, got, expected)


@pytest.mark.parametrize("name", _naive_cases())
def test_naive_derivative_cancels_where_reference_does_not(name):
    act = next(a for a in RECORDS if a.name == name)
    case = NAIVE[name]
    x = np.array([case["cancel_x"]], np.float32)
    with np.errstate(all="raise"):
        naive = case["grad"](x)
    assert naive[0] == 0  # s * (1 - s) with s rounded to 1; 1 - tanh**2 with tanh rounded to 1

    expected = mp_reference(act.mp_grad, x, "float32")
    assert expected[0] >= np.finfo(np.float32).tiny  # a perfectly representable normal number
    got = evaluate(act, "grad", x)
    with fp_errstate(name + "_grad"):
        ref = act.reference_grad(x)
    assert ulp_distance(got, expected)[0] <= 2, (got, expected)
    assert ulp_distance(ref, expected)[0] <= REFERENCE_ULP, (ref, expected)
    if case["documented_grad"] is not None:
        assert got[0] == pytest.approx(case["documented_grad"], rel=1e-3)


@pytest.mark.parametrize("name", _naive_cases())
def test_naive_formulas_mean_the_same_where_benign(name):
    """The reference is the tutorial formula made stable, not another function.

    rtol 1e-11: 1 - tanh(5)**2 = 1.8e-4 loses ~4 digits to cancellation in the naive form.
    """
    act = next(a for a in RECORDS if a.name == name)
    x = np.linspace(0.5, 5, 101)
    x = np.concatenate([x, -x])
    with np.errstate(all="raise"):
        for kind in ("forward", "grad"):
            np.testing.assert_allclose(_reference(act, kind)(x), NAIVE[name][kind](x), rtol=1e-11, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_reference_accepts_parameters_as_the_kernel_does(act, dtype):
    """Non-default parameters reach the reference the same way (exact records: bitwise)."""
    if not act.params:
        params = ()
    else:
        params = tuple(p.default * 20 for p in act.params)
    x = np.linspace(-3, 3, 61).astype(dtype)
    for kind in ("forward", "grad"):
        got = evaluate(act, kind, x, params=params)
        with fp_errstate(_ref_name(act, kind)):
            expected = _reference(act, kind)(x, *params)
        err = ulp_error(got, expected)
        assert err.max() <= act.ulp_bound[dtype] + (0 if act.exact else REFERENCE_ULP), worst(
            got, expected, x, err
        )
    # params_as is what the loops see: the float32 loop rounds the parameter once
    assert all(np.asarray(p).dtype == np.dtype(dtype) for p in params_as(act, dtype))
