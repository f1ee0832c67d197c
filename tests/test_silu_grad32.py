"""float32 silu' from its table of polynomials (``fastact/_silu_grad32.py``).

The block kernel (derivative and fused backward) against its scalar twin, the
three kinds of block (table only, tails only, mixed) against each other, the
accuracy where the construction could break (the interval seams, the root, the
ends of the table, the tails down to the flush), and the tables against the
output of ``tools/fit_silu_grad32.py``.  The exhaustive certificate over every
float32 is ``fastact verify --exhaustive`` (``reports/verify-exhaustive.json``).
"""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

import numpy as np
import support

import fastact
from fastact import _silu_grad32 as table_kernel
from fastact._silu_grad32 import silu_grad32
from fastact.verify import ulp_errors

_scalar_loop = support.scalar_loop(silu_grad32)
_F = np.float32
_ROOT_HI = float(table_kernel._ROOT_HI)


def _ulp_error(x32: np.ndarray) -> np.ndarray:
    """Error of the float32 derivative in ULPs (``fastact.verify``'s measure, as in
    the exhaustive certificate) against the float64 kernel (0.6 float64 ULP: exact
    to far below a float32 ULP); where the true value is below the smallest normal
    number the kernels flush, so an absolute error up to it counts as 0."""
    err = ulp_errors(fastact.silu_grad, fastact.silu_grad, (), x32)
    below = np.isnan(err)
    got = fastact.silu_grad(x32[below]).astype(np.float64)
    assert (np.abs(got - fastact.silu_grad(x32[below].astype(np.float64))) <= np.finfo(np.float32).tiny).all()
    return np.where(below, 0.0, err)


def _worst(x: np.ndarray, err: np.ndarray) -> str:
    i = int(np.argmax(err))
    return f"x = {x[i]!r}: {fastact.silu_grad(x[i])!r}, want {fastact.silu_grad(np.float64(x[i]))!r}, {err[i]:.3f} ULP"


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.silu_grad, _scalar_loop)


def test_backward_block_kernel_is_grad_out_times_the_scalar_derivative():
    support.assert_backward_block_layouts(fastact.silu_backward, _scalar_loop)


def test_table_tail_and_mixed_blocks_give_the_same_bits():
    # every |x| <= 12.4: the table only; one lane at 1000 makes the block mixed
    support.assert_short_and_general_paths_agree(fastact.silu_grad, 12.4, 1000.0, 1.0)
    # every |x| > 12.4: the tails only; one lane at 0.5 makes the block mixed
    rng = np.random.default_rng(12)
    tails = (rng.uniform(12.41, 120.0, 16 * 4096) * rng.choice((-1.0, 1.0), 16 * 4096)).astype(np.float32)
    tails[5::16] = np.inf
    tails[6::16] = -np.inf
    tails[7::16] = np.nan
    mixed = tails.copy()
    mixed[::16] = np.float32(0.5)
    a, b = fastact.silu_grad(tails), fastact.silu_grad(mixed)
    keep = np.ones(tails.size, bool)
    keep[::16] = False
    support.assert_same_bits(a[keep], b[keep])
    assert (b[::16] == fastact.silu_grad(np.float32(0.5))).all()


def test_accurate_across_every_interval_seam_and_the_ends_of_the_table():
    seams = _ROOT_HI + (np.arange(-14, 19) - 0.5) / 1.25
    ends = [12.4, 2.0**-30]
    x = support.neighbours(np.concatenate([seams, ends]), np.float32, steps=8)
    err = _ulp_error(x)
    assert err.max() <= 1.4, _worst(x, err)  # 1.385 over every float32


def test_keeps_its_relative_accuracy_and_sign_through_the_root():
    # x0 = -1.2784645427610738: the float32 nearest it is r (silu'(r) ~ -2.8e-9,
    # negative: r < x0), its neighbours give +-2.6e-8 and so on
    x = support.neighbours([_ROOT_HI], np.float32, steps=200)
    got = fastact.silu_grad(x)
    want = fastact.silu_grad(x.astype(np.float64))
    np.testing.assert_array_equal(np.sign(got), np.sign(want))
    assert _ulp_error(x).max() <= 1.4
    assert -2.9e-9 < fastact.silu_grad(np.float32(_ROOT_HI)) < -2.7e-9


def test_tails_down_to_the_flush_and_the_limits():
    x = np.concatenate([
        support.neighbours([12.4, 20.0, 20.8, 21.0, 27.0, 50.0, 87.0, 90.0, 91.5, 103.0, 104.0], np.float32, steps=8),
        np.float32([1e30, -1e30, 3e38, -3e38]),
    ])
    err = _ulp_error(x)
    assert err.max() <= 0.6, _worst(x, err)
    special = fastact.silu_grad(np.float32([np.inf, -np.inf, np.nan, -1e30, 1e30]))
    assert special[0] == 1.0 and special[4] == 1.0
    assert special[1] == 0.0 and not np.signbit(special[1]) and not np.signbit(special[3])
    assert np.isnan(special[2])


def test_block_kernel_equals_scalar_kernel_on_every_tail_value():
    # every float32 with 12.4 < |x| < 200: the tails' 2^k goes on with vscalefps in
    # the block kernel and flushes from |x| = 91.84571 on by a threshold, on the bit
    # pattern in the scalar kernel; silu' is 1 from 19.556345 on
    lo, hi = np.float32(12.4).view(np.int32) + 1, np.float32(200.0).view(np.int32)
    x = np.arange(lo, hi, dtype=np.int32).view(np.float32)
    for xs in (x, -x):
        support.assert_same_bits(fastact.silu_grad(xs), _scalar_loop(xs))
    assert (fastact.silu_grad(x[x >= np.float32(19.556345)]) == 1.0).all()
    negative = fastact.silu_grad(-x)
    flushed = x >= np.float32(91.84571)
    assert (negative[flushed] == 0.0).all() and not np.signbit(negative[flushed]).any()
    assert (np.abs(negative[~flushed]) >= np.finfo(np.float32).tiny).all()


def test_tables_are_the_fit_tools_output():
    tool = Path(__file__).resolve().parents[1] / "tools" / "fit_silu_grad32.py"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(str(tool), run_name="__main__")
    generated: dict = {"_table": table_kernel._table, "_F": _F}
    exec(printed.getvalue(), generated)  # the tool prints assignments to paste
    names = [name for name in generated if name.startswith("_") and isinstance(generated[name], np.ndarray)]
    assert len(names) == len(table_kernel._TABLES)
    for name in names:
        support.assert_same_bits(generated[name], getattr(table_kernel, name))
