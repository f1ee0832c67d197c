"""The float32 softplus and log_sigmoid (fastact/_softplus32.py): the AVX-512 block
kernels equal bit for bit to their scalar twins in every loop layout, their short
and general paths in agreement, beta = 1 the same bits however it is given, and
the table log1p at its seams and in the tails.

The accuracy itself is certified with the other kernels (test_accuracy, against
mpmath, and the exhaustive ``fastact verify``).
"""

from __future__ import annotations

import numpy as np
import support

import fastact
from fastact._softplus32 import _C, log_sigmoid32, softplus32

_softplus_loop = support.scalar_loop(softplus32)
_log_sigmoid_loop = support.scalar_loop(log_sigmoid32)


def _ulp_error(got, want):
    return np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)


def test_block_kernels_equal_scalar_kernels():
    support.assert_block_equals_scalar(fastact.softplus, _softplus_loop)
    support.assert_block_equals_scalar(fastact.log_sigmoid, _log_sigmoid_loop)


def test_the_short_path_and_the_general_path_agree():
    # the short path: every |x| in [2^-30, 27]; an infinity, a tiny value or a value
    # past 27 sends a block down the general one
    for ufunc, sign in ((fastact.softplus, 1), (fastact.log_sigmoid, -1)):
        support.assert_short_and_general_paths_agree(ufunc, 27.0, sign * np.inf, sign * np.inf)
        support.assert_short_and_general_paths_agree(ufunc, 27.0, -sign * np.inf, 0.0)
        support.assert_short_and_general_paths_agree(ufunc, 27.0, 1e-35, sign * np.float32(np.log(2.0)))
        support.assert_short_and_general_paths_agree(ufunc, 27.0, sign * 50.0, sign * 50.0)


def test_beta_one_gives_the_same_bits_however_it_is_passed():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(10**5) * 20).astype(np.float32)
    want = fastact.softplus(x).view(np.uint32)
    one, th = np.float32(1), np.float32(20)
    for got in (
        fastact.softplus(x, 1.0),
        fastact.ufuncs.softplus(x, one, th),
        fastact.ufuncs.softplus(x, np.ones_like(x), th),
        fastact.softplus(x[::-1].copy())[::-1],
        _softplus_loop(x),
    ):
        np.testing.assert_array_equal(np.asarray(got).view(np.uint32), want)


def test_table_seams_and_the_left_tail_are_within_0_6_ulp():
    # every seam of the table log1p (e = j/16, u = 1 + e crossing into the next
    # entry) and the left tail down to the smallest normal, against float64
    seams = -np.log(np.arange(1, 16) / 16.0)
    steps = np.arange(-200, 201, dtype=np.float32)
    x = np.concatenate(
        [np.float32(-s) + steps * np.spacing(np.float32(s)) for s in seams]
        + [-np.linspace(20.0, 87.3, 50001).astype(np.float32), np.linspace(-27, 27, 100001).astype(np.float32)]
    )
    x64 = x.astype(np.float64)
    want = np.logaddexp(0.0, x64)
    normal = want >= np.finfo(np.float32).tiny
    assert normal.sum() > 0.99 * x.size
    assert _ulp_error(fastact.softplus(x)[normal], want[normal]).max() <= 0.6
    assert _ulp_error(fastact.log_sigmoid(-x)[normal], -want[normal]).max() <= 0.6
    assert (fastact.softplus(x)[~normal] == 0).all()


def test_flushed_tails_and_specials():
    x = np.array([-88.0, -104.0, -1e30, -np.inf, np.inf, np.nan, 0.0, -0.0, 104.5, 3e38], np.float32)
    sp = fastact.softplus(x)
    np.testing.assert_array_equal(sp[:4].view(np.uint32), np.zeros(4, np.uint32))  # +0, not -0
    assert sp[4] == np.inf and np.isnan(sp[5])
    assert sp[6] == sp[7] == np.float32(np.log(2.0))
    assert sp[8] == x[8] and sp[9] == x[9]
    ls = fastact.log_sigmoid(-x)
    np.testing.assert_array_equal(ls[:4].view(np.uint32), np.zeros(4, np.uint32))  # flushed: +0
    assert ls[4] == -np.inf and np.isnan(ls[5])
    assert ls[6] == ls[7] == -np.float32(np.log(2.0))
    # NaN in, the same NaN out (payload and sign kept)
    nans = np.array([0x7FC00001, 0xFFC12345], np.uint32).view(np.float32)
    for ufunc in (fastact.softplus, fastact.log_sigmoid):
        support.assert_same_bits(ufunc(nans), nans)


def test_table_reciprocals_keep_the_reduced_argument_small():
    # r = c_j (1 + e) - 1 over the interval of entry j stays in [-2^-24, 1/16] (the
    # range of the fitted log1p)
    j = np.arange(16)
    lo = _C.astype(np.float64) * (1 + j / 16.0) - 1
    hi = _C.astype(np.float64) * (1 + (j + 1) / 16.0) - 1
    assert _C[0] == 1 and (lo >= -(2.0**-24)).all() and (hi <= 1 / 16).all()


def test_saturated_blocks_equal_the_scalar_kernels_on_every_value():
    # blocks in which every |x| >= 21 take the saturated path (1 + e rounds to 1:
    # the tables' first interval, no lookup; x itself for x > 0), blocks with one
    # lane below 21 the general path: both against the scalar kernels on every
    # float32 with 21 <= |x| <= 200 and the infinities
    x, mixed = support.saturated_blocks32(21.0, 20.5)
    for ufunc, loop in ((fastact.softplus, _softplus_loop), (fastact.log_sigmoid, _log_sigmoid_loop)):
        for xs in (x, mixed):
            support.assert_same_bits(ufunc(xs), loop(xs))
    positive = x > 0
    assert (fastact.softplus(x[positive]) == x[positive]).all()
    assert (fastact.log_sigmoid(-x[positive]) == -x[positive]).all()
    support.assert_flushes_from_one_threshold(fastact.softplus(np.sort(x[~positive])[::-1]))


def test_log_table_is_the_correctly_rounded_values():
    """log(1 / c_j) in float64 (c_j = float32(1 / (1 + j/16))) are literals,
    correctly rounded (checked at 200 bits), not NumPy's log at import (see
    test_sigmoid32's test of the exp table)."""
    import mpmath as mp

    from fastact import _softplus32 as s

    with mp.workprec(200):
        assert s._L64.tolist() == [float(-mp.log(mp.mpf(float(c)))) for c in s._C]
