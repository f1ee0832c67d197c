"""PyTorch as a second oracle: values, autograd derivatives and backward products.

Every registry function with a PyTorch counterpart (the map below; the test that
follows it keeps the map complete) is compared with ``torch.nn.functional`` on
CPU, in the same dtype, its derivative with ``torch.autograd``.  PyTorch is an
independent implementation (SLEEF vector math, its own formulas and kink
conventions), so agreement on ordinary inputs checks our meaning of every
function, parameter and convention at the kinks.

Where the two disagree beyond a few ULPs, mpmath decides: every such point must
be within our accuracy bound of the exact value (so PyTorch is the one that is
off), and the function must be listed in :data:`TORCH_IS_OFF` with the reason.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import DTYPES, RECORDS, evaluate, log_uniform, mp_reference, params_as, ulp_error

F = torch.nn.functional
torch.set_num_threads(1)

#: registry name -> f(tensor, *params) computing the same function with PyTorch
TORCH = {
    "sigmoid": lambda x: torch.sigmoid(x),
    "tanh": lambda x: torch.tanh(x),
    "relu": lambda x: F.relu(x),
    "leaky_relu": lambda x, s: F.leaky_relu(x, s),
    "relu6": lambda x: F.relu6(x),
    "hard_sigmoid": lambda x: F.hardsigmoid(x),
    "hard_silu": lambda x: F.hardswish(x),
    "hard_tanh": lambda x, lo, hi: F.hardtanh(x, lo, hi),
    "softshrink": lambda x, lam: F.softshrink(x, lam),
    "hardshrink": lambda x, lam: F.hardshrink(x, lam),
    "threshold": lambda x, t, v: F.threshold(x, t, v),
    "softsign": lambda x: F.softsign(x),
    "elu": lambda x, a: F.elu(x, a),
    "celu": lambda x, a: F.celu(x, a),
    "selu": lambda x: F.selu(x),
    "silu": lambda x: F.silu(x),
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "softplus": lambda x, b, t: F.softplus(x, b, t),
    "log_sigmoid": lambda x: F.logsigmoid(x),
    "mish": lambda x: F.mish(x),
    "tanhshrink": lambda x: F.tanhshrink(x),
}
#: registry functions PyTorch does not have
NO_TORCH: set[str] = {"squareplus"}

# Where PyTorch is off by more than the tolerance below (mpmath decides, see
# _judge), and why.  Keys: (function, kind, dtype); kind "grad" covers backward.
TORCH_IS_OFF = {
    # sigmoid_backward is grad * (1 - y) * y from the rounded y = sigmoid(x): 1 - y
    # cancels for x >> 0 (float32: x = 17 gives y == 1 and a derivative of 0; the
    # true value is 4.1e-8).  Ours is exp(-|x|)/(1+exp(-|x|))^2, no cancellation.
    ("sigmoid", "grad", "float32"): "1 - sigmoid(x) cancels",
    ("sigmoid", "grad", "float64"): "1 - sigmoid(x) cancels",
    # tanh_backward is grad * (1 - y^2): the same cancellation for |x| >> 0.
    ("tanh", "grad", "float32"): "1 - tanh(x)^2 cancels",
    ("tanh", "grad", "float64"): "1 - tanh(x)^2 cancels",
    # hardswish_backward is grad * (x/3 + 0.5): x/3 rounds, and the sum cancels
    # near the derivative's zero at x = -1.5.  Ours is (2x + 3)/6, with 2x + 3 exact there.
    ("hard_silu", "grad", "float32"): "x/3 + 0.5 cancels near -1.5",
    ("hard_silu", "grad", "float64"): "x/3 + 0.5 cancels near -1.5",
    # softsign is the composite x / (1 + |x|): its autograd derivative
    # 1/(1+|x|) - |x|/(1+|x|)^2 cancels for large |x|; ours is 1/(1+|x|)^2.
    ("softsign", "grad", "float32"): "autograd of x / (1 + |x|) cancels",
    ("softsign", "grad", "float64"): "autograd of x / (1 + |x|) cancels",
    # hardsigmoid_backward multiplies by a float32 1/6 (0.1666666716...) in float64.
    ("hard_sigmoid", "grad", "float64"): "float32 constant 1/6 in the float64 kernel",
    # silu is x * sigmoid(x): below x = -87.3 (float32) sigmoid(x) is subnormal or 0
    # before the product, so silu(-90) is -0.0 where the true -7.4e-38 is normal.
    # Ours is x e / (1 + e) with e = p * 2**k applied after the product.
    ("silu", "forward", "float32"): "sigmoid(x) underflows before the product with x",
    # silu_backward is s * (1 + x * (1 - s)): 1 + x (1 - s) cancels near the
    # derivative's zero at x = -1.2785 (a few ULPs off within ~0.05 of it), and the
    # float32 tail underflows as above.  Ours switches to a polynomial in x - x0 there.
    ("silu", "grad", "float32"): "1 + x (1 - sigmoid(x)) cancels near -1.2785; tail underflow",
    ("silu", "grad", "float64"): "1 + x (1 - sigmoid(x)) cancels near -1.2785",
    # gelu is 0.5 x (1 + erf(x / sqrt2)): 1 + erf cancels for x < 0 (float32
    # gelu(-5) = -1.19e-6, the true value is -1.43e-6, and -0.0 from x = -5.5, where
    # the true gelu(-10) is still -7.6e-23; float64 loses digits from x = -3 and
    # gives -0.0 from x = -8.4).  Its backward Phi(x) + x phi(x) cancels in float32's
    # tail (0 from x = -6.2) and near the derivative's zero at x0 = -0.7518 in both
    # dtypes (1.07e-8 in float64 at x0, whose true value there is 1e-17).  Ours:
    # x Phi(x) with Phi(-a) = exp(-a^2/2) / (sqrt(2 pi) (a + S(a))), the
    # derivative as p (1 - a (a + S)) / (sqrt(2 pi) (a + S)) 2**k and a polynomial
    # in x - x0 near the root.
    ("gelu", "forward", "float32"): "1 + erf(x / sqrt2) cancels for x < 0",
    ("gelu", "forward", "float64"): "1 + erf(x / sqrt2) cancels for x < 0",
    ("gelu", "grad", "float32"): "Phi(x) + x phi(x) cancels in the tail and near -0.7518",
    ("gelu", "grad", "float64"): "Phi(x) + x phi(x) cancels near -0.7518",
    # gelu(approximate='tanh') is 0.5 x (1 + tanh(u)): 1 + tanh(u) cancels for u < 0
    # (float32 gives -0.0 from x = -5: the true gelu_tanh(-5.36) is -1.8e-8; float64
    # loses digits from x = -3 and gives -0.0 from x = -11.7).  Ours is
    # x sigmoid(2u) with 2u a double word.  The backward has the same 1 + tanh(u).
    ("gelu_tanh", "forward", "float32"): "1 + tanh(u) cancels for u < 0",
    ("gelu_tanh", "forward", "float64"): "1 + tanh(u) cancels for u < 0",
    ("gelu_tanh", "grad", "float32"): "1 + tanh(u) and 1 - tanh(u)^2 cancel for u < 0",
    ("gelu_tanh", "grad", "float64"): "1 + tanh(u) and 1 - tanh(u)^2 cancel for u < 0",
    # softplus returns x for beta x > threshold (20): softplus(21) = 21 + 7.6e-10 in
    # float64 (pytorch/pytorch#31110), and its backward returns grad there, not
    # grad * sigmoid(21) = grad * (1 - 7.6e-10).  Ours is accurate everywhere.
    ("softplus", "forward", "float64"): "threshold shortcut: x for beta x > 20",
    ("softplus", "grad", "float64"): "threshold shortcut: derivative 1 for beta x > 20",
    # mish_backward is tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2): the sum cancels near
    # the derivative's zero at x = -1.1924.  Ours switches to a Taylor series in x - x0.
    ("mish", "grad", "float32"): "tanh(sp) + x sigmoid (1 - tanh^2) cancels near -1.19",
    ("mish", "grad", "float64"): "tanh(sp) + x sigmoid (1 - tanh^2) cancels near -1.19",
    # tanhshrink is the composite x - tanh(x), which cancels near 0 (x^3/3 - ...), and
    # its autograd derivative 1 - (1 - tanh^2) cancels there too.  Ours: a series.
    ("tanhshrink", "forward", "float32"): "x - tanh(x) cancels near 0",
    ("tanhshrink", "forward", "float64"): "x - tanh(x) cancels near 0",
    ("tanhshrink", "grad", "float32"): "autograd 1 - (1 - tanh^2) cancels near 0",
    ("tanhshrink", "grad", "float64"): "autograd 1 - (1 - tanh^2) cancels near 0",
}

#: agreement expected on ordinary inputs: a few ULPs of either implementation
RTOL = {"float32": 2.0**-20, "float64": 2.0**-48}


def _records():
    return [a for a in RECORDS if a.name in TORCH]


def test_map_covers_the_registry():
    names = {a.name for a in RECORDS}
    assert set(TORCH) | NO_TORCH == names, names ^ (set(TORCH) | NO_TORCH)
    assert not set(TORCH) & NO_TORCH


def _torch_eval(act, x: np.ndarray, g: np.ndarray):
    """PyTorch's forward, autograd derivative (grad_out 1) and backward (grad_out g)."""
    params = [float(p) for p in params_as(act, x.dtype)]
    fn = TORCH[act.name]
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    y = fn(tx, *params)
    (d,) = torch.autograd.grad(y, tx, torch.ones_like(y), retain_graph=True)
    (b,) = torch.autograd.grad(y, tx, torch.from_numpy(g))
    return y.detach().numpy(), d.numpy(), b.numpy()


def _ordinary(dtype) -> np.ndarray:
    """N(0, 3) values, the kinks of every record and the parameters' special points."""
    rng = np.random.default_rng(21)
    kinks = [-6, -3, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 3, 6]
    return np.concatenate([rng.standard_normal(4000) * 3, kinks, np.negative(kinks)]).astype(dtype)


def _tails(dtype) -> np.ndarray:
    """Log-uniform over [2**-100, 2**14), both signs: tiny inputs and the saturated tails."""
    return log_uniform(dtype, 20000, np.random.default_rng(22), binades=(-100, 14), specials=False)


def _judge(act, kind, dtype, x, got, expected, mp_kind=None):
    """Points outside RTOL: ours must be within the record's bound of mpmath, and
    the disagreement must be an explained one.  Returns the number of such points."""
    with np.errstate(all="ignore"):
        close = np.isclose(got, expected, rtol=RTOL[dtype], atol=np.finfo(dtype).tiny)
    close |= got == expected  # infinities
    off = ~close
    if not off.any():
        return 0
    assert (act.name, "grad" if kind != "forward" else "forward", dtype) in TORCH_IS_OFF, (
        f"{act.name} {kind} {dtype}: unexplained disagreement with PyTorch at x={x[off][:5]}: "
        f"ours {got[off][:5]}, torch {expected[off][:5]}"
    )
    if mp_kind is not None:
        mp_fn = act.mp_forward if mp_kind == "forward" else act.mp_grad
        exact = mp_reference(mp_fn, x[off], dtype, act.param_defaults)
        err = ulp_error(got[off], exact)
        assert err.max() <= act.ulp_bound[dtype], (x[off][np.argmax(err)], err.max())
    return int(off.sum())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", _records(), ids=lambda a: a.name)
@pytest.mark.parametrize("inputs", ["ordinary", "tails"])
def test_agrees_with_torch(act, dtype, inputs):
    x = _ordinary(dtype) if inputs == "ordinary" else _tails(dtype)
    g = np.random.default_rng(23).standard_normal(x.size).astype(dtype)
    t_fwd, t_grad, t_bwd = _torch_eval(act, x, g)
    got_fwd = evaluate(act, "forward", x)
    got_grad = evaluate(act, "grad", x)
    got_bwd = evaluate(act, "backward", x, g=g)
    _judge(act, "forward", dtype, x, got_fwd, t_fwd, "forward")
    _judge(act, "grad", dtype, x, got_grad, t_grad, "grad")
    # backward: ours is g * grad(x) with one rounding (tested elsewhere); where
    # PyTorch's product is off, its derivative is (checked just above)
    _judge(act, "backward", dtype, x, got_bwd, t_bwd)


def test_explained_disagreements_occur():
    """Every entry of TORCH_IS_OFF is real (a stale entry would hide nothing, but lie)."""
    for (name, _kind, dtype), why in TORCH_IS_OFF.items():
        act = next(a for a in RECORDS if a.name == name)
        x = np.concatenate([_ordinary(dtype), _tails(dtype)])
        _, t_grad, _ = _torch_eval(act, x, np.ones_like(x))
        got = evaluate(act, "grad", x)
        with np.errstate(all="ignore"):
            off = ~np.isclose(got, t_grad, rtol=RTOL[dtype], atol=np.finfo(dtype).tiny)
        assert off.any(), (name, dtype, why)
