"""The float32 hard_silu block kernel (fastact/_hard_silu32.py): bit for bit the
scalar kernel (``kernels.rectifiers._hard_silu``) in every loop layout, its short
and general paths in agreement.  The accuracy itself is certified with the other
kernels (test_accuracy, and the exhaustive ``fastact verify``)."""

from __future__ import annotations

import numpy as np
import support

import fastact
from fastact.kernels.rectifiers import _hard_silu

_scalar = support.scalar_loop(_hard_silu)


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.hard_silu, _scalar)


def test_every_layout_gives_the_same_bits():
    rng = np.random.default_rng(12)
    x = (rng.standard_normal(4099) * 4).astype(np.float32)
    x[::37] = np.float32(1e-30)  # tiny values: the general path
    want = _scalar(x).view(np.uint32)
    for start in (0, 1, 5):
        for n in (1, 15, 16, 17, 33, 4000):
            np.testing.assert_array_equal(fastact.hard_silu(x[start:start + n]).view(np.uint32),
                                          want[start:start + n])
    np.testing.assert_array_equal(fastact.hard_silu(np.repeat(x, 2)[::2]).view(np.uint32), want)
    inplace = x.copy()
    fastact.hard_silu(inplace, out=inplace)
    np.testing.assert_array_equal(inplace.view(np.uint32), want)


def test_the_short_path_and_the_general_path_agree():
    # the short path: every x finite with |x| >= 2^-60; a tiny value, an infinity or
    # a NaN sends a block down the general one
    for outsider, result in ((1e-30, 5e-31), (-1e-40, -0.0), (np.inf, np.inf), (-np.inf, 0.0)):
        support.assert_short_and_general_paths_agree(fastact.hard_silu, 5.0, outsider, result)
    mixed = np.float32([np.nan] + [1.5] * 15)
    out = fastact.hard_silu(mixed)
    assert np.isnan(out[0]) and (out[1:] == fastact.hard_silu(np.float32([1.5] * 16))[1:]).all()
