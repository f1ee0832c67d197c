"""The float32 gelu_tanh and gelu_tanh' (fastact/_gelu_tanh32.py): the AVX-512 block
kernels equal bit for bit to their scalar twins in every loop layout, their short
and general paths in agreement, and the near-root polynomial of gelu_tanh' in
agreement with the general formula at the edges of its window.

The accuracy itself is certified with the other kernels (test_accuracy, against
mpmath, and the exhaustive ``fastact verify``).
"""

from __future__ import annotations

import numpy as np
import support

import fastact
from fastact._gelu_tanh32 import gelu_tanh32, gelu_tanh_grad32

_scalar_loop = support.scalar_loop(gelu_tanh32)
_scalar_grad_loop = support.scalar_loop(gelu_tanh_grad32)


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.gelu_tanh, _scalar_loop)


def test_grad_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.gelu_tanh_grad, _scalar_grad_loop)


def test_backward_block_kernel_is_grad_out_times_the_scalar_derivative():
    support.assert_backward_block_layouts(fastact.gelu_tanh_backward, _scalar_grad_loop)


def test_the_short_path_and_the_general_path_agree():
    # the short path: every |x| finite and at least 2^-30 (clamped at 10.5 inside);
    # an infinity sends a block down the general one
    support.assert_short_and_general_paths_agree(fastact.gelu_tanh, 12.0, np.inf, np.inf)
    support.assert_short_and_general_paths_agree(fastact.gelu_tanh_grad, 12.0, np.inf, 1.0)
    support.assert_short_and_general_paths_agree(fastact.gelu_tanh, 12.0, -1e-12, -5e-13)


def test_grad_root_branch_and_the_general_formula_give_the_same_bits():
    # the near-root polynomial runs only in blocks with a lane within 2^-4 of x0:
    # the other lanes of a block must not notice which way it went
    rng = np.random.default_rng(8)
    far = rng.uniform(-10, 10, 16 * 4096).astype(np.float32)
    far[(far > -0.82) & (far < -0.68)] = np.float32(2.0)  # no lane near the root
    near = far.copy()
    near[1::16] = rng.uniform(-0.81, -0.69, 4096).astype(np.float32)  # one per block
    a, c = fastact.gelu_tanh_grad(near), fastact.gelu_tanh_grad(far)
    keep = np.ones(near.size, bool)
    keep[1::16] = False
    support.assert_same_bits(a[keep], c[keep])


def test_near_root_polynomial_meets_the_general_formula_at_its_edges():
    # just inside and just outside |x - x0| = 2^-4 the two evaluations are both
    # accurate: each within 0.9 ULP of the float64 derivative there
    x0 = -0.7524614220710163
    for edge in (x0 - 2.0**-4, x0 + 2.0**-4):
        xs = np.float32(edge) + np.arange(-64, 65, dtype=np.float32) * np.spacing(np.float32(edge))
        got = fastact.gelu_tanh_grad(xs).astype(np.float64)
        want = fastact.gelu_tanh_grad(xs.astype(np.float64))
        assert (np.abs(got - want) <= 0.9 * np.spacing(np.abs(got.astype(np.float32)))).all()
