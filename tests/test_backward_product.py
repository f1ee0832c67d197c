"""The fused backward kernels end in ``_core.backward_product``: the IEEE product of
``grad_out`` and the derivative (one rounding, gradual underflow, +-inf beyond the
largest finite number), whose *overflow* and *underflow* flags the ufunc loop
discards: it saves the SSE status register before the loop and puts those two
flags back after (``_loops.discard_range_flags``).  Every other flag still
reaches NumPy."""

from __future__ import annotations

import hashlib
import inspect

import numpy as np
import pytest
import support
from numba import njit

from fastact import _loops

UINT = {"float32": np.uint32, "float64": np.uint64}


def _random_operands(dtype: str, n: int, seed: int):
    """Random bit patterns for grad_out and x, every exponent equally likely; NaN
    left out (a signaling NaN raises *invalid* in any arithmetic, by design)."""
    rng = np.random.default_rng(seed)
    uint = UINT[dtype]
    top = np.iinfo(uint).max
    g = rng.integers(0, top, n, dtype=np.uint64, endpoint=True).astype(uint).view(dtype)
    x = rng.integers(0, top, n, dtype=np.uint64, endpoint=True).astype(uint).view(dtype)
    keep = ~np.isnan(g) & ~np.isnan(x)
    # and ordinary x against tiny and huge grad_out, where the products leave the range
    info = np.finfo(dtype)
    exponents = np.concatenate([rng.integers(info.minexp - 20, info.minexp + 20, 4096),
                                rng.integers(0, info.maxexp, 4096)])
    g2 = np.ldexp(1 + rng.random(exponents.size), exponents).astype(dtype)  # [1, 2) * 2**e, finite
    g2 = np.concatenate([g2, -g2])
    x2 = np.linspace(-12, 12, g2.size).astype(dtype)
    return np.concatenate([g[keep], g2]), np.concatenate([x[keep], x2])


def _backward_product_kernels():
    for act in support.RECORDS:
        if "backward_product(grad_out" in inspect.getsource(act.backward.py_func):
            yield act


BACKWARD_PRODUCT = tuple(_backward_product_kernels())


def test_the_smooth_kernels_use_backward_product():
    names = {act.name for act in BACKWARD_PRODUCT}
    assert {"sigmoid", "tanh", "silu", "gelu", "softplus", "elu", "selu", "mish", "softsign"} <= names, names


@pytest.mark.parametrize("dtype", support.DTYPES)
@pytest.mark.parametrize("act", BACKWARD_PRODUCT, ids=lambda a: a.name)
def test_backward_is_the_ieee_product_without_flags(act, dtype):
    g, x = _random_operands(dtype, 200_000, seed=len(act.name))
    got = support.evaluate(act, "backward", x, g=g)  # under errstate(all="raise")
    d = support.evaluate(act, "grad", x)
    with np.errstate(all="ignore"):
        # a zero derivative blocks even an infinite grad_out (0 * d keeps d's sign)
        expected = np.where((d == 0) & np.isinf(g), d * 0, g * d).astype(dtype)
    uint = UINT[dtype]
    same = (got.view(uint) == expected.view(uint)) | (np.isnan(got) & np.isnan(expected))
    assert same.all(), (g[~same][:4], x[~same][:4], got[~same][:4], expected[~same][:4])
    # the range was really left: subnormal and infinite products are among them
    finite = np.isfinite(g) & np.isfinite(x)
    assert (np.abs(expected[finite]) < np.finfo(dtype).tiny).any()


def _product(a, b):
    return a * b


_PRODUCT = njit(inline="always")(_product)
#: the test ufuncs are cached under a name that changes with the kernel's source
_TAG = hashlib.sha1(inspect.getsource(_product).encode()).hexdigest()[:8]


@pytest.fixture(scope="module")
def products():
    quiet = _loops.make_ufunc(_PRODUCT, f"test_quiet_product_{_TAG}", 2, 0, "a * b", quiet_range=True)
    loud = _loops.make_ufunc(_PRODUCT, f"test_loud_product_{_TAG}", 2, 0, "a * b")
    return quiet, loud  # (ufunc, keepalive) pairs: the machine code must outlive the ufuncs


@pytest.mark.parametrize("dtype", support.DTYPES)
def test_quiet_range_discards_overflow_and_underflow_only(products, dtype):
    (quiet, _), (loud, _) = products
    info = np.finfo(dtype)
    tiny = np.full(100, info.tiny, dtype)
    huge = np.full(100, info.max, dtype)
    for a, b, flag in ((tiny, tiny / 3, "underflow"), (huge, huge, "overflow")):
        with np.errstate(all="raise"):
            got = quiet(a, b)
            with pytest.raises(FloatingPointError, match=flag):
                loud(a, b)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(got, a * b)
    # *invalid* is not discarded: 0 * inf still reports
    with np.errstate(all="raise"), pytest.raises(FloatingPointError, match="invalid"):
        quiet(np.zeros(100, dtype), np.full(100, np.inf, dtype))
    # the control bits (rounding mode, masks) are untouched: a later NumPy
    # operation still rounds to nearest and raises on request
    with np.errstate(all="raise"), pytest.raises(FloatingPointError, match="overflow"):
        np.multiply(huge, huge)
    assert np.float32(1) + np.float32(2.0**-24) == np.float32(1)
