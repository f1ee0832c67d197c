"""The float32 gelu and gelu' (fastact/_gelu32.py): the AVX-512 block kernels equal
bit for bit to their scalar twins, the piecewise polynomial of the scaled Mills
ratio continuous across its 28 seams, and the near-root polynomial of gelu' in
agreement with the general formula at its edges.

The accuracy itself is certified with the other kernels (test_accuracy, against
mpmath, and the exhaustive ``fastact verify``).
"""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
import support
from numba import njit

import fastact
from fastact import _gelu32
from fastact._gelu32 import _ROOT_WINDOW_BITS, gelu32, gelu_grad32, mills_centred32, mills_minus_density32

_scalar_loop = support.scalar_loop(gelu32)
_scalar_grad_loop = support.scalar_loop(gelu_grad32)
_X0 = -0.7517915368080139  # the root of gelu'
_HALF_WIDTH = float(np.int32(_ROOT_WINDOW_BITS).view(np.float32))  # its polynomial's window


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.gelu, _scalar_loop)


def test_grad_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.gelu_grad, _scalar_grad_loop)


def test_backward_block_kernel_is_grad_out_times_the_scalar_derivative():
    support.assert_backward_block_layouts(fastact.gelu_backward, _scalar_grad_loop)


def test_the_short_path_and_the_general_path_agree_at_their_edges():
    # the short path: every |x| in [2^-30, 12.5]; gelu(1000) = 1000, gelu'(1000) = 1
    support.assert_short_and_general_paths_agree(fastact.gelu, 12.5, 1000.0, 1000.0)
    support.assert_short_and_general_paths_agree(fastact.gelu_grad, 12.5, 1000.0, 1.0)


def test_grad_root_branch_and_the_general_formula_give_the_same_bits():
    # the near-root polynomial runs only in blocks with a lane within 1/16 of x0:
    # the other lanes of a block must not notice which way it went
    rng = np.random.default_rng(8)
    far = rng.uniform(-12, 12, 16 * 4096).astype(np.float32)
    far[(far > -1.01) & (far < -0.49)] = np.float32(2.0)  # no lane near the root
    near = far.copy()
    near[1::16] = rng.uniform(_X0 - _HALF_WIDTH, _X0 + _HALF_WIDTH, 4096).astype(np.float32)  # one per block
    a, c = fastact.gelu_grad(near), fastact.gelu_grad(far)
    keep = np.ones(near.size, bool)
    keep[1::16] = False
    support.assert_same_bits(a[keep], c[keep])


def test_near_root_polynomial_meets_the_general_formula_at_its_edges():
    # just inside and just outside |x - x0| = 1/16 the two evaluations are both
    # accurate: each within 1 ULP of the float64 derivative there (0.52 and 0.79 at
    # 2026-12-04: outside, F - a/sqrt(2 pi) cancels by a factor 9)
    assert _HALF_WIDTH == 1 / 16
    for edge in (_X0 - _HALF_WIDTH, _X0 + _HALF_WIDTH):
        xs = np.float32(edge) + np.arange(-64, 65, dtype=np.float32) * np.spacing(np.float32(edge))
        got = fastact.gelu_grad(xs).astype(np.float64)
        want = fastact.gelu_grad(xs.astype(np.float64))
        assert (np.abs(got - want) <= 1.0 * np.spacing(np.abs(got.astype(np.float32)))).all()


def _sum_of_parts(mills):
    @njit
    def double_word(a):
        out = np.empty(a.size)
        for i in range(a.size):
            f_hi, f_lo = mills(a[i])
            out[i] = np.float64(f_hi) + np.float64(f_lo)
        return out

    @njit
    def centred(a):  # c0 + t poly
        out = np.empty(a.size)
        for i in range(a.size):
            c0, t, poly = mills(a[i])
            out[i] = np.float64(c0) + np.float64(t) * np.float64(poly)
        return out

    return centred if mills is mills_centred32 else double_word


# the seams of the derivative's 29 intervals, a = j/2 + 1/4, and of gelu's 32, where
# a + 1 crosses 2^e (1 + m/8) (1/8 apart below 1, then 1/4, 1/2 and 1 apart to 15)
_UNIFORM_SEAMS = [0.25 + 0.5 * j for j in range(28)]
_BINADE_SEAMS = [2.0**e * (1 + m / 8) - 1 for e in range(4) for m in range(8)][1:] + [15.0]


@pytest.mark.parametrize(
    ("mills", "density", "bound", "seams"),
    # the derivative's H = F - a/sqrt(2 pi) (F's fit 2^-28.3, c0 + t c1 formed exactly,
    # the low parts of c0 and c1 bfloat16: 2^-33 of them; measured against F where H
    # cancels, next to the root, and against H where it is larger than F, as the
    # kernel's result is) and gelu's centred F = c0 + t w (fit 2^-28.5, and the
    # rounding of w = c1 + t (...), t w at most 7% of F)
    [(mills_minus_density32, 1, 2.0**-27, _UNIFORM_SEAMS), (mills_centred32, 0, 2.0**-27, _BINADE_SEAMS)],
    ids=["minus-density", "centred"],
)
def test_scaled_mills_ratio_is_accurate_and_continuous_across_the_seams(mills, density, bound, seams):
    # F(a) = Phi(-a) exp(a^2/2) piecewise: the 32 float32 values on each side of
    # every seam (and the ends) within the bound of the exact value
    seams = seams + [0.0, 14.0]
    a = np.concatenate(
        [np.float32(s) + np.arange(-32, 33, dtype=np.float32) * np.spacing(np.float32(max(s, 1e-30))) for s in seams]
    )
    a = a[(a >= 0) & (a <= 14.0)]
    got = _sum_of_parts(mills)(a)
    mp.mp.dps = 30
    f = [mp.erfc(mp.mpf(float(v)) / mp.sqrt(2)) / 2 * mp.exp(mp.mpf(float(v)) ** 2 / 2) for v in a]
    want = np.array([float(fv - density * mp.mpf(float(v)) / mp.sqrt(2 * mp.pi)) for fv, v in zip(f, a, strict=True)])
    scale = np.maximum(np.array([float(fv) for fv in f]), np.abs(want))
    assert np.abs((got - want) / scale).max() < bound


def test_saturated_blocks_equal_the_scalar_kernels_on_every_value():
    # blocks in which every |x| > 14 (the clamp) take the general path's results
    # there without its arithmetic: x or +0 (gelu), 1 or +0 (gelu'); blocks with one
    # lane at 13.5 the general path: both against the scalar kernels on every float32
    # with 14 < |x| <= 200 and the infinities, and grad_out times them
    x, mixed = support.saturated_blocks32(float(np.nextafter(np.float32(14.0), np.float32(15.0))), 13.5)
    for ufunc, loop in ((fastact.gelu, _scalar_loop), (fastact.gelu_grad, _scalar_grad_loop)):
        for xs in (x, mixed):
            support.assert_same_bits(ufunc(xs), loop(xs))
    positive = x > 0
    assert (fastact.gelu(x[positive]) == x[positive]).all() and (fastact.gelu_grad(x[positive]) == 1).all()
    assert (fastact.gelu(x[~positive]).view(np.uint32) == 0).all()
    g = np.float32([np.inf, -np.inf, 2.5, -0.0] * (x.size // 4 + 1))[: x.size]
    with np.errstate(invalid="raise", over="raise"):
        got = fastact.gelu_backward(g, x)
    # grad_out itself, or 0 (an infinite grad_out blocked by the zero derivative)
    np.testing.assert_array_equal(got, np.where(positive, g, np.float32(0)))


def test_wide_blocks_equal_the_scalar_kernels():
    # blocks with every |x| in [2^-30, inf] and some past the short path's 12.5
    # (and past the clamp at 14): the general path without its tiny-x and NaN
    # selects; every 7th float32 in [2^-30, 16], both signs, scrambled, with a lane
    # at 13 in every block, N(0, 10^2) values, and with a NaN lane (the general path)
    x = np.arange(0, np.float32(16.0).view(np.int32), 7, dtype=np.int32).view(np.float32)
    x = x[x >= np.float32(2.0**-30)]
    x = support.scrambled(np.concatenate([x, -x]))
    x[::16] = np.float32(13.0)
    wide = (np.random.default_rng(10).standard_normal(1 << 20) * 10).astype(np.float32)
    nan = x.copy()
    nan[1::16] = np.nan
    for ufunc, loop in ((fastact.gelu, _scalar_loop), (fastact.gelu_grad, _scalar_grad_loop)):
        for xs in (x, wide, nan):
            support.assert_same_bits(ufunc(xs), loop(xs))
    g = np.random.default_rng(11).standard_normal(wide.size).astype(np.float32)
    support.assert_same_bits(fastact.gelu_backward(g, wide), g * _scalar_grad_loop(wide))


def test_tables_are_the_fit_tools_output():
    # every table and constant tools/fit_gelu32.py prints, the derivative's packed
    # low parts included (a normal stand-in for c0_lo on interval 0, where c0 = 1/2)
    tool = Path(__file__).resolve().parents[1] / "tools" / "fit_gelu32.py"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(str(tool), run_name="__main__")
    generated: dict = {"_table": _gelu32._table, "_F": np.float32}
    exec(printed.getvalue(), generated)  # the tool prints assignments to paste
    names = [name for name in generated if name.startswith("_") and name not in ("_table", "_F", "__builtins__")]
    assert "_H_LO_PACKED" in names and len(names) == 22, names
    for name in names:
        ours = getattr(_gelu32, name)
        support.assert_same_bits(np.asarray(generated[name], np.float32), np.asarray(ours, np.float32))
    assert np.isfinite(_gelu32._H_LO_PACKED).all()
    assert (np.abs(_gelu32._H_LO_PACKED[_gelu32._H_LO_PACKED != 0]) >= np.finfo(np.float32).tiny).all()
