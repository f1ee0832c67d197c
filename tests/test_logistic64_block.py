"""The float64 block kernels of fastact/_logistic64.py (silu, silu', the accurate
sigmoid behind softplus' and log_sigmoid', and their fused backward kernels):
bit for bit their scalar twins in every loop layout, short and general paths in
agreement.  The accuracy itself is certified with the other kernels
(test_accuracy, and ``fastact verify``)."""

from __future__ import annotations

import numpy as np
import pytest
import support
from numba import njit

import fastact
from fastact.kernels.gated import _SILU_HALF_WIDTH, _SILU_ROOT, _silu, _silu_grad
from fastact.kernels.softplus import _log_sigmoid_grad, _softplus_grad


@njit
def _softplus_grad_unit(x):
    return _softplus_grad(x, 1.0, 20.0)


# public name -> its scalar kernel (the block kernels serve the default parameters)
_TWINS = {
    "silu": _silu,
    "silu_grad": _silu_grad,
    "softplus_grad": _softplus_grad_unit,
    "log_sigmoid_grad": _log_sigmoid_grad,
}
_LOOPS = {name: support.scalar_loop(kernel) for name, kernel in _TWINS.items()}


@pytest.mark.parametrize("name", sorted(_TWINS))
def test_block_kernel_equals_scalar_kernel(name):
    x = support.float64_patterns()
    with np.errstate(all="raise"):  # no flag for any input but a signalling NaN
        finite = x[~np.isnan(x)]
        np.testing.assert_array_equal(getattr(fastact, name)(finite).view(np.uint64),
                                      _LOOPS[name](finite).view(np.uint64))
    with np.errstate(invalid="ignore"):
        support.assert_block_equals_scalar64(getattr(fastact, name), _LOOPS[name])


def test_near_the_root_of_silu_grad():
    # the window of the root polynomial (|x - x0| <= 1/2), its edges, and blocks
    # with one lane inside among lanes outside
    x0 = _SILU_ROOT.float64[0]
    rng = np.random.default_rng(3)
    x = np.concatenate([x0 + rng.uniform(-0.7, 0.7, 100_000), x0 + np.array([-0.5, 0.5]),
                        np.nextafter(x0 + np.array([-0.5, 0.5]), 0), np.nextafter(x0 + np.array([-0.5, 0.5]), -3)])
    mixed = rng.standard_normal(16 * 1000) * 10
    mixed[::16] = x0 + rng.uniform(-_SILU_HALF_WIDTH, _SILU_HALF_WIDTH, 1000)
    for values in (x, mixed):
        np.testing.assert_array_equal(fastact.silu_grad(values).view(np.uint64),
                                      _LOOPS["silu_grad"](values).view(np.uint64))


@pytest.mark.parametrize(("backward", "grad"), [("silu_backward", "silu_grad"),
                                                 ("softplus_backward", "softplus_grad"),
                                                 ("log_sigmoid_backward", "log_sigmoid_grad")])
def test_backward_layouts(backward, grad):
    # an infinite grad_out where the derivative is 0: silu' and sigmoid at -inf,
    # log_sigmoid' (the sigmoid of -x) at +inf
    zero_at = np.inf if grad == "log_sigmoid_grad" else -np.inf
    support.assert_backward_block_layouts(getattr(fastact, backward), _LOOPS[grad], zero_at, np.float64)


@pytest.mark.parametrize("name", sorted(_TWINS))
def test_every_layout_gives_the_same_bits(name):
    rng = np.random.default_rng(14)
    x = rng.standard_normal(4099) * 4
    x[::37] = 1e-300  # tiny values: the general path
    want = _LOOPS[name](x).view(np.uint64)
    f = getattr(fastact, name)
    for start in (0, 1, 5):
        for n in (1, 15, 16, 17, 33, 4000):
            np.testing.assert_array_equal(f(x[start:start + n]).view(np.uint64), want[start:start + n])
    np.testing.assert_array_equal(f(np.repeat(x, 2)[::2]).view(np.uint64), want)
    inplace = x.copy()
    f(inplace, out=inplace)
    np.testing.assert_array_equal(inplace.view(np.uint64), want)


@pytest.mark.parametrize(("name", "outsider", "result"), [
    ("silu", 1000.0, 1000.0), ("silu", -1e-300, -5e-301), ("silu", -np.inf, 0.0),
    ("silu_grad", -1000.0, 0.0), ("silu_grad", np.inf, 1.0),
    ("softplus_grad", 1e-30, 0.5), ("softplus_grad", -800.0, 0.0),
    ("log_sigmoid_grad", 1e-30, 0.5), ("log_sigmoid_grad", 800.0, 0.0),
])
def test_the_short_path_and_the_general_path_agree(name, outsider, result):
    # the short path: every |x| in [2^-60, 40]
    support.assert_short_and_general_paths_agree(getattr(fastact, name), 40.0, outsider, result, np.float64)


def test_silu_grad_within_one_ulp_around_its_root():
    # float64 silu' near x0 = -1.2785: the polynomial within 1/8 of x0, the
    # cancellation-free off-root formula beyond (its error grows as 2^-59 / |x - x0|),
    # and both sides of the window's edges; against 40 digits
    import mpmath as mp

    x0 = _SILU_ROOT.float64[0]
    rng = np.random.default_rng(9)
    edges = x0 + np.array([-0.125, 0.125])
    x = np.concatenate([x0 + rng.uniform(-0.6, 0.6, 3000), (edges + rng.uniform(-2e-3, 2e-3, (500, 2))).ravel()])
    got = fastact.silu_grad(x)
    worst = 0.0
    with mp.workdps(40):
        for xi, yi in zip(x, got, strict=True):
            s = 1 / (1 + mp.exp(-mp.mpf(float(xi))))
            exact = s * (1 + mp.mpf(float(xi)) * (1 - s))
            ulp = mp.mpf(2) ** (mp.floor(mp.log(abs(exact), 2)) - 52)
            worst = max(worst, float(abs(mp.mpf(float(yi)) - exact) / ulp))
    assert worst <= 1.0, worst
