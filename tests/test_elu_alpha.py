"""elu's loop with alpha as an argument: at alpha = 1 it must give the bits of the
loop with alpha compiled in (``fastact.elu(x)``) and of the scalar kernel
(``kernels.elu._elu`` branches on alpha before any arithmetic, which LLVM takes
out of the loop: the speed is measured by ``bench/``, timings never gate the
tests); other alphas keep alpha * expm1(x) through chain_rule."""

from __future__ import annotations

import numpy as np
import pytest
import support

import fastact
from fastact.kernels.elu import _elu_at_one

_scalar = support.scalar_loop(_elu_at_one)
_BITS = {np.float32: np.uint32, np.float64: np.uint64}


def test_alpha_one_as_an_argument_equals_the_compiled_in_default_float32():
    x = np.arange(0, 2**32, 61, dtype=np.uint64).astype(np.uint32).view(np.float32)
    with np.errstate(invalid="ignore"):  # signalling NaNs raise it, in every loop (IEEE 754)
        want = _scalar(x).view(np.uint32)
        for got in (fastact.ufuncs.elu(x, np.float32(1.0)), fastact.elu(x, 1.0), fastact.elu(x)):
            np.testing.assert_array_equal(got.view(np.uint32), want)


def test_alpha_one_as_an_argument_equals_the_compiled_in_default_float64():
    x = support.float64_patterns()
    with np.errstate(invalid="ignore"):
        want = _scalar(x).view(np.uint64)
        for got in (fastact.ufuncs.elu(x, 1.0), fastact.elu(x, 1.0), fastact.elu(x)):
            np.testing.assert_array_equal(got.view(np.uint64), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [0.5, 2.0, 1.0000001])
def test_other_alphas_scale_expm1(dtype, alpha):
    x = np.linspace(-20.0, 5.0, 4001, dtype=dtype)
    a = dtype(alpha)
    got = fastact.elu(x, a)
    want = np.where(x > 0, x.astype(np.float64), float(a) * np.expm1(x.astype(np.float64)))
    assert (np.abs(got - want) <= 2 * np.spacing(np.abs(want).astype(dtype)).astype(np.float64)).all()
    if alpha != 1.0:
        assert (got[x < 0] != fastact.elu(x)[x < 0]).any()
