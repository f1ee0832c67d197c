"""The float64 tanhshrink' block kernels (``kernels._common.range_blocks`` over
``kernels.smooth._tanhshrink_grad64_fast``, ``_tanhshrink_grad64_saturated`` and
``_tanhshrink_grad64``): blocks of 16 whose every |x| is in [2^-30, 40] take the fast
kernel, of the others those whose every |x| is in [20, inf] the saturated one (1),
the rest the general one; all must give the scalar kernel's bits in every loop
layout, and the float64 range test (``_avx512.all_in_range``) must send exactly
those blocks down the fast path.
"""

from __future__ import annotations

import numpy as np
import pytest
import support

import fastact
from fastact.kernels.smooth import _tanhshrink_grad64

_scalar = support.scalar_loop(_tanhshrink_grad64)


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar64(fastact.tanhshrink_grad, _scalar, flag_free=True)


def test_backward_block_in_every_layout():
    support.assert_backward_block_layouts(fastact.tanhshrink_backward, _scalar, 0.0, np.float64)


def test_every_layout_gives_the_same_bits():
    rng = np.random.default_rng(12)
    x = rng.standard_normal(4099) * 4
    x[::37] = 1e-200  # tiny values: the general path
    want = _scalar(x).view(np.uint64)
    for start in (0, 1, 5):
        for n in (1, 15, 16, 17, 33, 4000):
            got = fastact.tanhshrink_grad(x[start:start + n])
            np.testing.assert_array_equal(got.view(np.uint64), want[start:start + n])
    np.testing.assert_array_equal(fastact.tanhshrink_grad(np.repeat(x, 2)[::2]).view(np.uint64), want)
    inplace = x.copy()
    fastact.tanhshrink_grad(inplace, out=inplace)
    np.testing.assert_array_equal(inplace.view(np.uint64), want)


@pytest.mark.parametrize(("outsider", "result"), [(1e-200, 1e-400), (45.0, 1.0), (-np.inf, 1.0), (2.0**-31, 2.0**-62)])
def test_the_fast_path_and_the_general_path_agree(outsider, result):
    support.assert_short_and_general_paths_agree(fastact.tanhshrink_grad, 40.0, outsider, result, np.float64)


def test_the_fast_kernel_gives_the_general_kernels_one_from_20_to_40():
    # the general kernel clamps |x| to 20, the fast one takes it as it is up to 40
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(20.0, 40.0, 16 * 4096), np.linspace(20.0, 40.0, 16 * 64)])
    x *= rng.choice((-1.0, 1.0), x.size)
    with np.errstate(all="raise"):
        assert (fastact.tanhshrink_grad(x) == 1.0).all()
    assert (_scalar(x) == 1.0).all()


def test_saturated_blocks_are_one():
    # every |x| in [20, inf]: the saturated kind (1, and grad_out for the backward);
    # one lane below 20 makes the block general
    rng = np.random.default_rng(4)
    x = support.magnitudes(rng, 20.0, np.finfo(np.float64).max, 16 * 4096) * rng.choice((-1.0, 1.0), 16 * 4096)
    x[::97] = np.inf
    x[5::101] = 20.0
    mixed = x.copy()
    mixed[::16] = 19.5
    for values in (x, mixed):
        np.testing.assert_array_equal(fastact.tanhshrink_grad(values).view(np.uint64), _scalar(values).view(np.uint64))
    g = rng.standard_normal(x.size)
    np.testing.assert_array_equal(fastact.tanhshrink_backward(g, x), g)


def test_the_edges_of_the_fast_range_agree_with_the_scalar_kernel():
    # the first and last floats inside [2^-30, 40], the saturated kind's start (20),
    # and their outside neighbours, each in a block of its own and among ordinary values
    edges = np.array([2.0**-30, 20.0, 40.0])
    x = np.concatenate([edges, np.nextafter(edges, 0.0), np.nextafter(edges, np.inf)])
    x = np.concatenate([x, -x])
    blocks = np.repeat(x, 16)
    mixed = np.tile(np.linspace(-3.0, 3.0, 16), x.size)
    mixed[::16] = x
    for values in (blocks, mixed):
        np.testing.assert_array_equal(fastact.tanhshrink_grad(values).view(np.uint64), _scalar(values).view(np.uint64))


def test_the_range_test_sees_every_lane():
    support.assert_range_test_sees_every_lane(2.0**-30, 20.0, np.float64)
