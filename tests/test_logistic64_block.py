"""The float64 block kernels of fastact/_logistic64.py (silu, silu' and their
fused backward kernels), of fastact/_gelu_tanh64.py (gelu_tanh on the same exp),
fastact/_sigmoid64.py (the float64 sigmoid itself: softplus', and of -x:
log_sigmoid'), fastact/_mish64.py and
fastact/_softplus64.py (softplus and log_sigmoid): bit for bit their scalar
twins in every loop layout, short and general paths in agreement; silu' and
gelu_tanh' near their roots against mpmath.  The accuracy elsewhere is certified
with the other kernels (test_accuracy, and ``fastact verify``)."""

from __future__ import annotations

import numpy as np
import pytest
import support
from numba import njit

import fastact
from fastact.kernels.gated import (
    _GELU_TANH_HALF_WIDTH,
    _GELU_TANH_ROOT,
    _SILU_HALF_WIDTH,
    _SILU_ROOT,
    _gelu_tanh,
    _gelu_tanh_grad,
    _silu,
    _silu_grad,
)
from fastact.kernels.logistic import _sigmoid
from fastact.kernels.softplus import _log_sigmoid, _log_sigmoid_grad, _mish, _softplus, _softplus_grad


@njit
def _softplus_grad_unit(x):
    return _softplus_grad(x, 1.0, 20.0)


@njit
def _softplus_unit(x):
    return _softplus(x, 1.0, 20.0)


# public name -> its scalar kernel (the block kernels serve the default parameters)
_TWINS = {
    "sigmoid": _sigmoid,
    "mish": _mish,
    "softplus": _softplus_unit,
    "log_sigmoid": _log_sigmoid,
    "silu": _silu,
    "silu_grad": _silu_grad,
    "gelu_tanh": _gelu_tanh,
    "gelu_tanh_grad": _gelu_tanh_grad,
    "softplus_grad": _softplus_grad_unit,
    "log_sigmoid_grad": _log_sigmoid_grad,
}
_LOOPS = {name: support.scalar_loop(kernel) for name, kernel in _TWINS.items()}


@pytest.mark.parametrize("name", sorted(_TWINS))
def test_block_kernel_equals_scalar_kernel(name):
    x = support.float64_patterns()
    with np.errstate(all="raise"):  # no flag for any input but a signalling NaN
        finite = x[~np.isnan(x)]
        support.assert_same_bits(getattr(fastact, name)(finite), _LOOPS[name](finite))
    with np.errstate(invalid="ignore"):
        support.assert_block_equals_scalar64(getattr(fastact, name), _LOOPS[name])


@pytest.mark.parametrize(("name", "root", "half_width"), [("silu_grad", _SILU_ROOT, _SILU_HALF_WIDTH),
                                                          ("gelu_tanh_grad", _GELU_TANH_ROOT, _GELU_TANH_HALF_WIDTH)])
def test_near_the_root(name, root, half_width):
    # the window of the root polynomial, its edges, and blocks with one lane inside
    # among lanes outside
    x0 = root.float64[0]
    rng = np.random.default_rng(3)
    edges = x0 + np.array([-half_width, half_width])
    x = np.concatenate([x0 + rng.uniform(-0.7, 0.7, 100_000), edges, np.nextafter(edges, 0), np.nextafter(edges, -3)])
    mixed = rng.standard_normal(16 * 1000) * 10
    mixed[::16] = x0 + rng.uniform(-half_width, half_width, 1000)
    for values in (x, mixed):
        support.assert_same_bits(getattr(fastact, name)(values), _LOOPS[name](values))


@pytest.mark.parametrize(("backward", "grad"), [("silu_backward", "silu_grad"),
                                                 ("gelu_tanh_backward", "gelu_tanh_grad"),
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
    ("sigmoid", 800.0, 1.0), ("sigmoid", -800.0, 0.0), ("sigmoid", 1e-30, 0.5),
    ("mish", 1e300, 1e300), ("mish", -800.0, 0.0), ("mish", -np.inf, 0.0),
    ("softplus", 1e300, 1e300), ("softplus", -800.0, 0.0), ("log_sigmoid", 800.0, 0.0), ("log_sigmoid", -1e300, -1e300),
    ("silu", 1000.0, 1000.0), ("silu", -1e-300, -5e-301), ("silu", -np.inf, 0.0),
    ("silu_grad", -1000.0, 0.0), ("silu_grad", np.inf, 1.0),
    ("gelu_tanh", 30.0, 30.0), ("gelu_tanh", -30.0, 0.0), ("gelu_tanh", 1e-300, 5e-301),
    ("gelu_tanh_grad", 30.0, 1.0), ("gelu_tanh_grad", -np.inf, 0.0), ("gelu_tanh_grad", -1e-300, 0.5),
    ("softplus_grad", 1e-30, 0.5), ("softplus_grad", -800.0, 0.0),
    ("log_sigmoid_grad", 1e-30, 0.5), ("log_sigmoid_grad", 800.0, 0.0),
])
def test_the_short_path_and_the_general_path_agree(name, outsider, result):
    # the short path: every |x| in [2^-60, 40] (gelu_tanh: 20; mish: [2^-40, 40])
    bound = 20.0 if name.startswith("gelu_tanh") else 40.0
    support.assert_short_and_general_paths_agree(getattr(fastact, name), bound, outsider, result, np.float64)


def _mp_silu_grad(mp, x):
    s = 1 / (1 + mp.exp(-x))
    return s * (1 + x * (1 - s))


def _mp_gelu_tanh_grad(mp, x):
    c, k = 2 * mp.sqrt(2 / mp.pi), mp.mpf("0.044715")
    e = mp.exp(-c * (x + k * x**3))
    return (1 + e * (1 + x * c * (1 + 3 * k * x**2))) / (1 + e) ** 2


@pytest.mark.parametrize(("name", "exact", "root", "half_width", "bound"), [
    ("silu_grad", _mp_silu_grad, _SILU_ROOT, _SILU_HALF_WIDTH, 2.0),
    ("gelu_tanh_grad", _mp_gelu_tanh_grad, _GELU_TANH_ROOT, _GELU_TANH_HALF_WIDTH, 1.0),
])
def test_accurate_around_the_root(name, exact, root, half_width, bound):
    # float64 silu' and gelu_tanh' near their roots: the polynomial within the
    # window, the cancellation-free off-root formula beyond (its error grows as
    # the exp's error / |x - x0|), and both sides of the window's edges; against 40
    # digits.  gelu_tanh' within 1 ULP (full exp, window 1/8); silu' within its
    # contract's 2 (table exp, window 1/32: 0.71 here; 1.33 with the lean exp
    # until 2026-12-05).  (The degree-16 silu' fit on x0 +- 1/2 once failed 1 ULP
    # at 1.116.)
    import mpmath as mp

    x0 = root.float64[0]
    rng = np.random.default_rng(9)
    edges = x0 + np.array([-half_width, half_width])
    x = np.concatenate([x0 + rng.uniform(-0.6, 0.6, 3000), (edges + rng.uniform(-2e-3, 2e-3, (500, 2))).ravel()])
    got = getattr(fastact, name)(x)
    worst = 0.0
    with mp.workdps(40):
        for xi, yi in zip(x, got, strict=True):
            want = exact(mp, mp.mpf(float(xi)))
            ulp = mp.mpf(2) ** (mp.floor(mp.log(abs(want), 2)) - 52)
            worst = max(worst, float(abs(mp.mpf(float(yi)) - want) / ulp))
    assert worst <= bound, worst


def test_softplus_with_the_default_beta_passed_takes_the_same_bits():
    # the block kernel serves the parameter loop where beta = 1 is passed too
    x = support.float64_patterns(1_000_000)
    with np.errstate(invalid="ignore"):
        support.assert_same_bits(fastact.ufuncs.softplus(x, 1.0, 20.0), fastact.softplus(x))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softplus_grad_is_the_sigmoid_bit_for_bit(dtype):
    # softplus'(x) = sigmoid(x) at beta = 1 takes fastact.sigmoid's kernels (block
    # and scalar), and its fused backward multiplies by it
    with np.errstate(all="ignore"):  # float64 patterns beyond float32's range
        x = support.float64_patterns(1_000_000).astype(dtype)
    g = np.random.default_rng(8).standard_normal(x.size).astype(dtype)
    s = fastact.sigmoid(x)
    support.assert_same_bits(fastact.softplus_grad(x), s)
    support.assert_same_bits(fastact.softplus_grad(x[::3]), s[::3])  # the scalar kernel's loop
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        support.assert_same_bits(fastact.softplus_backward(g, x), g * s)


def _saturated_inputs(lo: float = 38.0) -> np.ndarray:
    """log-uniform |x| in [lo, 800], the float64 neighbours of lo and infinities,
    both signs."""
    rng = np.random.default_rng(3)
    x = support.magnitudes(rng, lo, 800.0, 16 * 200_000) * rng.choice([-1.0, 1.0], 16 * 200_000)
    x[rng.integers(0, x.size, 1000)] = np.inf
    x[rng.integers(0, x.size, 1000)] = -np.inf
    near = (np.float64(lo).view(np.int64) + np.arange(20_000)).view(np.float64)
    x[: near.size] = near * np.where(np.arange(near.size) % 2, 1.0, -1.0)
    return x


@pytest.mark.parametrize(("name", "lo"), [("sigmoid", 38.0), ("log_sigmoid_grad", 38.0), ("silu", 38.0),
                                        ("softplus_grad", 38.0), ("gelu_tanh", 8.0), ("softplus", 42.0),
                                        ("log_sigmoid", 42.0), ("mish", 42.0)])
def test_saturated_blocks_equal_the_scalar_kernel(name, lo):
    # float64 sigmoid (softplus' too, and log_sigmoid' of -x) and silu from
    # |x| = 38 on, gelu_tanh from 8 on (e < 2^-54:
    # 1 + e rounds to 1, and for sigmoid 1 - e too) take a division-free path in
    # blocks whose every |x| is there, softplus and log_sigmoid from 42 on (e <
    # 2^-60: log1p(e) = e) a log1p-free one, mish from 42 on (e dropped: no
    # division): such blocks, and blocks with one lane just below (the general path)
    x = _saturated_inputs(lo)
    mixed = x.copy()
    mixed[::16] = np.nextafter(lo, 0.0)
    for xs in (x, mixed):
        support.assert_same_bits(getattr(fastact, name)(xs), _LOOPS[name](xs))


@pytest.mark.parametrize(("name", "lo"), [("sigmoid", 38.0), ("silu", 38.0), ("gelu_tanh", 8.0), ("softplus", 42.0),
                                        ("mish", 42.0)])
def test_saturated_values(name, lo):
    # x >= lo: sigmoid 1, silu, gelu_tanh, softplus and mish x itself; x <= -lo along the
    # tail away from 0: normal results, then zeros from one threshold on
    x = _saturated_inputs(lo)
    f = getattr(fastact, name)
    positive = x[x > 0]
    assert (f(positive) == (1.0 if name == "sigmoid" else positive)).all()
    tail = f(np.sort(x[x < 0])[::-1])
    zero = tail == 0
    assert (np.abs(tail[~zero]) >= np.finfo(np.float64).tiny).all() and zero.any() and zero[np.argmax(zero):].all()
