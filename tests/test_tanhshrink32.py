"""The float32 tanhshrink and tanhshrink' (fastact/_tanhshrink32.py): the AVX-512 block
kernels equal bit for bit to their scalar twins in every loop layout, their short
and general paths in agreement, and the piecewise polynomials continuous across
their 28 seams and the switches to x - sign(x) and 1 at 16 (the derivative's 1 from the
tables' end on, the same 1 as from |x| = 9.3537 on).

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
import support

import fastact
from fastact import _tanhshrink32 as table_kernel
from fastact._tanhshrink32 import tanhshrink32, tanhshrink_grad32

_scalar_loop = support.scalar_loop(tanhshrink32)
_scalar_grad_loop = support.scalar_loop(tanhshrink_grad32)


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.tanhshrink, _scalar_loop)


def test_grad_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.tanhshrink_grad, _scalar_grad_loop)


def test_backward_block_kernel_is_grad_out_times_the_scalar_derivative():
    support.assert_backward_block_layouts(fastact.tanhshrink_backward, _scalar_grad_loop, zero_derivative_at=0.0)


def test_the_kinds_of_block_agree_at_their_edges():
    # the forward's short kind: every |x| in [2^-20, 16), the tables' range; one lane
    # past it (x = 16 on: x - sign(x)) makes a wide block, a tiny lane (scaled by
    # 2^58) a general one; the derivative has a wide kind and a general one
    support.assert_short_and_general_paths_agree(fastact.tanhshrink, 15.999999, 1000.0, 999.0)
    support.assert_short_and_general_paths_agree(fastact.tanhshrink, 15.999999, 16.0, 15.0)
    support.assert_short_and_general_paths_agree(fastact.tanhshrink, 15.999999, 1e-7, 3.3333334e-22)
    support.assert_short_and_general_paths_agree(fastact.tanhshrink, 1000.0, 1e-7, 3.3333334e-22)
    tiny = np.float32(1e-7)
    square = np.float32(np.float64(tiny) ** 2)  # tanh(tiny)^2 rounded
    support.assert_short_and_general_paths_agree(fastact.tanhshrink_grad, 15.999999, tiny, square)
    support.assert_short_and_general_paths_agree(fastact.tanhshrink_grad, 1000.0, tiny, square)


def test_the_derivative_is_one_from_where_it_rounds_to_one_to_the_end_of_the_tables():
    # The derivative's wide kind clamps |x| to the tables' end (just below 16) and
    # needs no select of 1 beyond it: the tables give 1 exactly there, as from
    # |x| = 9.3537 on, where tanh(x)^2 rounds to 1
    start = np.float32(9.353694)
    assert fastact.tanhshrink_grad(np.nextafter(start, np.float32(0))) < 1
    plateau = np.arange(start.view(np.int32), np.float32(16.0).view(np.int32), dtype=np.int32).view(np.float32)
    beyond = np.float32([16.0, 17.0, 1e6, 3e38, np.inf])
    x = np.concatenate([plateau, beyond])
    x = np.concatenate([x, -x])
    assert (fastact.tanhshrink_grad(x) == 1).all()
    assert (_scalar_grad_loop(x) == 1).all()


def _exact(x: np.ndarray, grad: bool) -> np.ndarray:
    mp.mp.dps = 40
    out = []
    for v in x.astype(np.float64):
        v = mp.mpf(float(v))
        if grad:
            out.append(float(mp.tanh(v) ** 2))
        else:
            with mp.extraprec(int(3 * abs(mp.log(abs(v), 2))) + 20):
                out.append(float(v - mp.tanh(v)))
    return np.array(out)


def test_seams_and_switches_are_accurate_on_both_sides():
    # the 32 float32 values on each side of every interval boundary (1/8, then four
    # per binade up to 16), of the switch to the a >= 2 forms, of the tiny scaling
    # (2^-20) and of the end of the tables (16): within 1 ULP, the bound the
    # exhaustive scan measures
    seams = [0.125 * 2.0**e * (1 + q / 4) for e in range(8) for q in range(4)] + [2.0**-20]
    x = np.concatenate(
        [np.float32(s) + np.arange(-32, 33, dtype=np.float32) * np.spacing(np.float32(s)) for s in seams]
    )
    x = np.concatenate([x, -x])
    for ufunc, grad in ((fastact.tanhshrink, False), (fastact.tanhshrink_grad, True)):
        got = ufunc(x)
        assert got.dtype == np.float32
        want = _exact(x, grad)
        ulps = np.abs(got - want) / np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
        assert ulps.max() <= 1.0, (ufunc.__name__, x[ulps.argmax()], ulps.max())


def test_tables_are_the_fit_tools_output():
    # including the packed low parts of the forward's interval 0, where c0 = 0: a
    # normal stand-in for c0_lo (a subnormal one cost Intel cores 8x the kernel's time)
    tool = Path(__file__).resolve().parents[1] / "tools" / "fit_tanhshrink32.py"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(str(tool), run_name="__main__")
    generated: dict = {"_table": table_kernel._table}
    exec(printed.getvalue(), generated)  # the tool prints assignments to paste
    tables = table_kernel._FWD_TABLES + table_kernel._GRAD_TABLES
    names = [name for name in generated if name.startswith("_") and isinstance(generated[name], np.ndarray)]
    assert len(names) == len(tables)
    for name in names:
        support.assert_same_bits(generated[name], getattr(table_kernel, name))
