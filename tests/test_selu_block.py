"""The selu forward block kernels (``kernels._common.range_blocks`` over
``kernels.elu._selu_fast`` and ``_selu``, float32 and float64): blocks of 16 whose
every |x| lies in [expm1's linear threshold, 2^100] take the fast kernel (no
tiny-x scale, no clamp at the largest finite number, no NaN or zero select), the
others the general one; every layout must give the scalar kernel's bits, with no
floating-point flag, and the float32 range test must send exactly those blocks
down the fast path.
"""

from __future__ import annotations

import numpy as np
import pytest
import support

import fastact
from fastact.kernels.elu import _selu

_scalar = support.scalar_loop(_selu)
_LINEAR = {np.float32: 2.0**-40, np.float64: 2.0**-60}
_BITS = {np.float32: np.uint32, np.float64: np.uint64}


def test_float32_block_kernel_equals_scalar_kernel():
    with np.errstate(invalid="ignore"):  # signalling NaNs raise it, in both (IEEE 754)
        support.assert_block_equals_scalar(fastact.selu, _scalar)


def test_float32_blocks_raise_no_flag():
    x = np.arange(3, 2**32, 127, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = x[~np.isnan(x)]
    with np.errstate(all="raise"):
        support.assert_same_bits(fastact.selu(x), _scalar(x))


def test_float64_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar64(fastact.selu, _scalar, flag_free=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_edges_of_the_fast_range_agree_with_the_scalar_kernel(dtype):
    # the first and last values inside the fast range, their outside neighbours, and
    # the values where selu saturates or overflows, each in a block of its own and
    # among ordinary values
    edges = np.array([_LINEAR[dtype], 2.0**100, 20.0, 40.0, np.finfo(dtype).max / 2], dtype=dtype)
    x = np.concatenate([edges, np.nextafter(edges, dtype(0)), np.nextafter(edges, dtype(np.inf))])
    x = np.concatenate([x, -x, dtype([0.0, -0.0, np.inf, -np.inf, np.nan])])
    blocks = np.repeat(x, 16)
    mixed = np.tile(np.linspace(-3.0, 3.0, 16, dtype=dtype), x.size)
    mixed[::16] = x
    for values in (blocks, mixed):
        np.testing.assert_array_equal(fastact.selu(values).view(_BITS[dtype]), _scalar(values).view(_BITS[dtype]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("outsider", "result"), [(0.0, 0.0), (2.0**101, 1.0507009873554805 * 2.0**101)])
def test_the_fast_path_and_the_general_path_agree(dtype, outsider, result):
    support.assert_short_and_general_paths_agree(fastact.selu, 30.0, outsider, dtype(result), dtype)


def test_the_float32_range_test_sees_every_lane():
    support.assert_range_test_sees_every_lane(2.0**-40, 20.0, np.float32)
