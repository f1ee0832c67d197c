"""The benchmark peers compute the functions they stand in for.

Every ratio in ``bench/compare.py``, the benchmark suite and ``fastact report``
divides fastact's time by a peer's (``fastact.peers``): a peer that computed
something else (a wrong default, a missing factor of grad_out, the forward in
place of the derivative) would make those ratios meaningless.  Each installed
peer's result on ordinary inputs (N(0, 4^2), as in bench/compare.py; wider than the
central regime's N(0, 1), so the tails the peers simplify are in) is
compared with fastact's, within a tolerance loose enough for the peers'
approximations (PyTorch's float32 erf is good to about 1e-7 absolute) and far
too tight for a different function.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastact
from fastact.peers import PEER_NAMES, peer_table

N = 2000
# (rtol, atol): atol for values that cancel near a zero (a derivative's root,
# grad_out near 0, a tail the peer loses: PyTorch's float32 gelu_tanh backward
# returns 0 where the derivative is -1.4e-6, its 1 - tanh cancelling), far below
# the O(1) values every function takes on these inputs
TOLERANCE = {"float32": (2e-5, 1e-5), "float64": (1e-9, 1e-11)}
# Peers that are less accurate than the tolerance, and why (the same finding as
# tests/test_torch_oracle.py): a looser rtol for them alone
KNOWN = {
    ("torch", "hard_sigmoid_grad", "float64"): (4e-8, "hardsigmoid_backward multiplies by a float32 1/6"),
    ("torch", "hard_sigmoid_backward", "float64"): (4e-8, "hardsigmoid_backward multiplies by a float32 1/6"),
}


def _cases():
    for peer in PEER_NAMES:
        for name in sorted(peer_table(peer)):
            yield peer, name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("peer", "name"), list(_cases()))
def test_peer_computes_the_function(peer, name, dtype):
    act = next(a for a in fastact.REGISTRY.values() if name in a.public_names)
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(N) * 4).astype(dtype)
    g = rng.standard_normal(N).astype(dtype)
    args = ((g, x) if name.endswith("_backward") else (x,)) + act.param_defaults
    expected = getattr(fastact, name)(*args)
    out = np.full(N, np.nan, dtype)
    with np.errstate(all="ignore"):  # the naive formulas overflow in exp: that is theirs
        returned = peer_table(peer)[name](x, g, out, *act.param_defaults)()
    # a peer writes into out, or returns what its library allocated
    got = out
    if returned is not None and not isinstance(returned, tuple) and not (
        isinstance(returned, np.ndarray) and np.shares_memory(returned, out)
    ):
        got = np.asarray(returned.numpy() if hasattr(returned, "numpy") else returned)
    rtol, atol = TOLERANCE[dtype]
    rtol = KNOWN.get((peer, name, dtype), (rtol,))[0]
    assert got.dtype == np.dtype(dtype), (peer, name, got.dtype)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"{peer} {name} {dtype}")
