"""Accuracy in ULPs against mpmath (50 digits) and, for float32, the float64 reference.

The bound is the record's ``ulp_bound[dtype]``: max error in ULPs of the correctly
rounded result over the whole domain; where the true value is below the smallest
normal number, absolute error <= smallest normal (conftest.ulp_error).

Samples: conftest.accuracy_samples (10**5 log-uniform over every binade, 5*10**4
over the unsaturated binades, and hand-placed points where the numerics change).
``pytest -s`` prints the measured max ULP per test, and the terminal summary shows
the table per function and dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import (
    DTYPES,
    N_ALL,
    RECORDS,
    evaluate,
    log_uniform,
    magnitudes,
    mp_expected,
    mp_reference,
    params_as,
    record_max_ulp,
    ulp_error,
    worst,
)
from support import accuracy_samples as sample_set


@pytest.mark.parametrize("dtype", DTYPES)
def test_sampler_covers_every_binade(dtype):
    x = sample_set(dtype)
    fi = np.finfo(dtype)
    with np.errstate(all="ignore"):
        exps = np.frexp(np.abs(x[np.isfinite(x) & (x != 0)]))[1]
    binades = set(np.unique(exps).tolist())
    assert set(range(fi.minexp + 1, fi.maxexp + 1)) <= binades
    assert (x > 0).any() and (x < 0).any() and np.isnan(x).any()
    assert x.size >= N_ALL


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_matches_mpmath(act, kind, dtype, record_property):
    x = sample_set(dtype)
    got = evaluate(act, kind, x)
    assert got.dtype == x.dtype
    expected = mp_expected(act, kind, x, "accuracy")
    err = ulp_error(got, expected)
    name = act.name + ("" if kind == "forward" else "_grad")
    measured = record_max_ulp(name, dtype, "mpmath", err)
    record_property("max_ulp", measured)
    print(f"\n{name:<16} {dtype}  max ULP vs mpmath: {measured}  (bound {act.ulp_bound[dtype]:g})")
    assert measured <= act.ulp_bound[dtype], worst(got, expected, x, err)


@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_float32_matches_float64_reference(act, kind, record_property):
    """float32 kernels against the NumPy reference evaluated in float64, rounded to float32.

    The parameters are the float32 numbers the float32 loop sees (0.01 -> float32),
    passed exactly to the float64 evaluation.
    """
    x = sample_set("float32")
    ref = act.reference if kind == "forward" else act.reference_grad
    params = tuple(float(p) for p in params_as(act, "float32"))
    # rounding to float32 may underflow (absolute rule) or overflow to inf (selu
    # near the float32 maximum: inf is then the correctly rounded result)
    with np.errstate(all="raise", under="ignore", over="ignore"):
        expected = ref(x.astype(np.float64), *params).astype(np.float32)
    got = evaluate(act, kind, x)
    assert got.dtype == np.float32
    err = ulp_error(got, expected)
    name = act.name + ("" if kind == "forward" else "_grad")
    measured = record_max_ulp(name, "float32", "float64 reference", err)
    record_property("max_ulp", measured)
    assert measured <= act.ulp_bound["float32"], worst(got, expected, x, err)


def _parameter_cases():
    for act in RECORDS:
        for kind in ("forward", "grad"):
            for scale in (0.5, 3.3, 20.0):
                if act.params:
                    yield pytest.param(act, kind, scale, id=f"{act.name}-{kind}-{scale}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("act", "kind", "scale"), list(_parameter_cases()))
def test_other_parameters_match_reference(act, kind, scale, dtype):
    """The bound holds for parameters other than the defaults: every default
    scaled by 0.5, 3.3 and 20, on the whole sample set, against the NumPy
    reference (float32 evaluated in float64, float64 in long double).  Bugs this
    found, each exact for the default parameters and so invisible elsewhere:

    * softplus with beta = 3.3 returned 8.2e32 for x = 1e10 and NaN for x = 1.6e14
      in float32 (the FMA residual of the unclamped beta |x| went on as the low
      part of the clamped one); beta = 2 and 20, the values tested before, happen
      to round to exact products on the inputs tested then;
    * elu_grad = alpha * exp(x) flushed exp(x) below the smallest normal before
      the product, so for alpha > 1 results up to alpha * 2**-126 were 0;
    * celu_grad = exp(x / alpha) dropped the rounding error of x / alpha, up to
      57 ULP at x / alpha = -67 in float32.
    """
    x = sample_set(dtype)
    ref = act.reference if kind == "forward" else act.reference_grad
    params = tuple(x.dtype.type(p * scale) for p in act.param_defaults)
    with np.errstate(all="raise", under="ignore", over="ignore"):
        expected = ref(x.astype(np.float64), *(float(p) for p in params)).astype(dtype)
    got = evaluate(act, kind, x, params=params)
    err = ulp_error(got, expected)
    assert err.max() <= act.ulp_bound[dtype], worst(got, expected, x, err)


# Parameters near both ends of their documented ranges (softplus's beta: float32
# [2**-30, 2**30], float64 [2**-200, 2**200]; squareplus's b: [2**-20, 2**20],
# [2**-60, 2**60]; celu's alpha: [2**-80, 2**80] inside x / alpha; elu's alpha is
# a factor) and where each bug below began, with the scale of x at which the
# function changes (1 / beta, sqrt(b), alpha, 1).
_EXTREME_PARAMETERS = {
    "celu": (lambda alpha: alpha, {
        "float32": (2.0**-79, 1e-21, 1e21, 2.0**79),
        "float64": (2.0**-79, 2.0**79),
    }),
    "elu": (lambda alpha: 1.0, {"float32": (1e-30, 1e30), "float64": (1e-300, 1e300)}),
    "softplus": (lambda beta: 1 / beta, {
        "float32": (2.0**-29, 1e-9, 2.0**-25, 2.0**20, 2.0**29),
        "float64": (2.0**-199, 1e-21, 2.0**-54, 2.0**61, 1e21, 2.0**199),
    }),
    "squareplus": (np.sqrt, {
        "float32": (2.0**-19.5, 1e-6, 2.0**-10, 2.0**19, 2.0**19.9),
        "float64": (2.0**-59.5, 2.0**59.5),
    }),
}


@pytest.mark.parametrize("kind", ["forward", "grad"])
@pytest.mark.parametrize(
    ("name", "dtype", "value"),
    [pytest.param(n, d, v, id=f"{n}-{d}-{v:.3g}")
     for n, (_, values) in _EXTREME_PARAMETERS.items() for d in DTYPES for v in values[d]],
)
def test_extreme_parameters_match_mpmath(name, dtype, value, kind):
    """softplus, squareplus, celu and elu with their derivatives against mpmath at
    parameters near the ends of their ranges, on a random part of the sample set,
    x = -140..140 times the function's scale of x (softplus: the tail where
    beta |x| passes 80..140), log-uniform multiples of it and tiny |x|.  Bugs this found (the
    default and the scales above were exact): below beta = 2**-24 (float32) /
    2**-53 (float64) softplus's linear tail exp(-beta |x|) / beta stayed at its value
    for beta |x| = 104 / 746, where exp was clamped, instead of decaying
    (softplus(-3.8e30, 1e-9) = 6.8e-37 in float32, exactly 0 now); in float64 |x|
    was clamped to at least 2**-120, so beyond beta = 2**60 tiny inputs were off (4
    ULP at beta = 1e21) and at beta = 2**199 both results were 0 for x = -7.6e-154
    instead of 8.6e-61 and 0.5; squareplus in float32 clamped x**2 to at least
    2**-40 whatever b, up to 12 ULP at b = 2**-19.5."""
    act = next(a for a in RECORDS if a.name == name)
    scale_of, _ = _EXTREME_PARAMETERS[name]
    scale = scale_of(value)
    t = np.dtype(dtype).type
    rng = np.random.default_rng(5)
    x = sample_set(dtype)
    x = x[np.isfinite(x)]
    signs = np.where(rng.random(2000) < 0.5, -1.0, 1.0)
    wide = magnitudes(rng, 2.0**-60, 2.0**60, 2000)
    tiny = magnitudes(rng, 2.0 ** (np.finfo(dtype).minexp - 10), 2.0**-20, 1000)
    with np.errstate(over="ignore"):
        x = np.concatenate([
            rng.choice(x, 3000, replace=False),
            np.linspace(-140, 140, 2801) * scale,
            wide * scale * signs,
            tiny * np.where(np.arange(tiny.size) % 2, 1.0, -1.0),
        ]).astype(dtype)
    x = x[np.isfinite(x)]  # the record's limits cover the infinities
    params = tuple(t(v) for v in (value,) + tuple(act.param_defaults[1:]))
    got = evaluate(act, kind, x, params=params)
    fn = act.mp_forward if kind == "forward" else act.mp_grad
    expected = mp_reference(fn, x, dtype, params)
    err = ulp_error(got, expected)
    assert err.max() <= act.ulp_bound[dtype], worst(got, expected, x, err)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_backward_is_grad_out_times_grad(act, dtype):
    """backward(g, x) is g * grad(x) with one rounding, for random g of both signs.

    Pairs whose exact product is nonzero and below the smallest normal number are
    left out here: whether such a product raises the *underflow* flag is
    test_special_values' concern; this test is about values.
    """
    x = sample_set(dtype)
    rng = np.random.default_rng(11)
    g = log_uniform(dtype, x.size, rng, binades=(-20, 20), specials=False)
    grad = evaluate(act, "grad", x)
    exact = g.astype(np.float64) * grad.astype(np.float64)
    if dtype == "float64":
        with np.errstate(under="ignore"):
            exact = g * grad  # one IEEE rounding of the exact product
    tiny = np.finfo(dtype).tiny
    with np.errstate(invalid="ignore"):
        keep = ~((exact != 0) & (np.abs(exact) < tiny))
    assert keep.mean() > 0.9
    g, x, exact = g[keep], x[keep], exact[keep]
    expected = exact.astype(dtype)
    got = evaluate(act, "backward", x, g=g)
    assert got.dtype == x.dtype
    err = ulp_error(got, expected)
    assert err.max() <= 1, worst(got, expected, x, err)
