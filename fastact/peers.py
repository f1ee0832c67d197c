"""What a user would run instead of fastact: peer implementations for comparisons.

Every peer is a factory ``make(x, g, out, *params) -> callable()`` that computes one
public function (forward, ``_grad`` or ``_backward``) into the preallocated ``out``
(or allocates where the library has no ``out=``).  Peers are only listed when the
library is installed.  PyTorch is pinned to one thread here; callers that compare
multi-threaded set it themselves.

Used by ``python -m fastact`` and ``bench/compare.py``; kept in the package so that
both see the same definitions.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable

import numpy as np

from . import reference as ref

Factory = Callable[..., Callable[[], object]]


def _numpy_best() -> dict[str, Factory]:
    """The fastest plain-NumPy formulations we know, in place where possible."""

    def sigmoid(x, g, out):
        one = x.dtype.type(1)
        return lambda: np.divide(one, np.add(one, np.exp(np.negative(x, out=out), out=out), out=out), out=out)

    def sigmoid_grad(x, g, out):
        s = sigmoid(x, g, out)
        one = x.dtype.type(1)
        return lambda: (s(), np.multiply(out, np.subtract(one, out), out=out))

    def sigmoid_backward(x, g, out):
        d = sigmoid_grad(x, g, out)
        return lambda: (d(), np.multiply(out, g, out=out))

    def tanh_grad(x, g, out):
        one = x.dtype.type(1)
        return lambda: (np.tanh(x, out=out), np.multiply(out, out, out=out), np.subtract(one, out, out=out))

    def tanh_backward(x, g, out):
        d = tanh_grad(x, g, out)
        return lambda: (d(), np.multiply(out, g, out=out))

    def f(x, *v):
        return x.dtype.type(v[0]) if len(v) == 1 else tuple(x.dtype.type(u) for u in v)

    def hard_sigmoid(x, g, out):
        return lambda: (
            np.multiply(x, f(x, 1 / 6), out=out),
            np.add(out, f(x, 0.5), out=out),
            np.clip(out, f(x, 0), f(x, 1), out=out),
        )

    def hard_sigmoid_backward(x, g, out):
        return lambda: (np.multiply(g, np.less(np.abs(x), 3), out=out), np.multiply(out, f(x, 1 / 6), out=out))

    def hard_silu(x, g, out):
        return lambda: (
            np.add(x, f(x, 3), out=out),
            np.clip(out, f(x, 0), f(x, 6), out=out),
            np.multiply(out, x, out=out),
            np.multiply(out, f(x, 1 / 6), out=out),
        )

    def hard_silu_grad(x, g, out):
        return lambda: (
            np.multiply(x, f(x, 1 / 3), out=out),
            np.add(out, f(x, 0.5), out=out),
            np.copyto(out, f(x, 0), where=x <= -3),
            np.copyto(out, f(x, 1), where=x >= 3),
        )

    def hard_silu_backward(x, g, out):
        d = hard_silu_grad(x, g, out)
        return lambda: (d(), np.multiply(out, g, out=out))

    def softshrink(x, g, out, lam=0.5):
        return lambda: (
            np.abs(x, out=out),
            np.subtract(out, f(x, lam), out=out),
            np.maximum(out, f(x, 0), out=out),
            np.copysign(out, x, out=out),
        )

    def softsign_grad(x, g, out):
        one = x.dtype.type(1)
        return lambda: (
            np.abs(x, out=out),
            np.add(out, one, out=out),
            np.multiply(out, out, out=out),
            np.divide(one, out, out=out),
        )

    def softsign_backward(x, g, out):
        one = x.dtype.type(1)
        return lambda: (
            np.abs(x, out=out),
            np.add(out, one, out=out),
            np.multiply(out, out, out=out),
            np.divide(g, out, out=out),
        )

    def elu(x, g, out, alpha=1.0, scale=1.0, input_scale=1.0):
        """scale * (x if x > 0 else alpha * expm1(input_scale * x)): elu, celu, selu."""
        a, s, i = f(x, alpha, scale, input_scale)
        return lambda: (
            np.minimum(x, f(x, 0), out=out),
            np.multiply(out, i, out=out) if input_scale != 1 else None,
            np.expm1(out, out=out),
            np.multiply(out, a * s, out=out),
            np.copyto(out, x * s if scale != 1 else x, where=x > 0),
        )

    def elu_grad(x, g, out, alpha=1.0, scale=1.0, input_scale=1.0, backward=False):
        a, s, i = f(x, alpha, scale, input_scale)
        return lambda: (
            np.minimum(x, f(x, 0), out=out),
            np.multiply(out, i, out=out) if input_scale != 1 else None,
            np.exp(out, out=out),
            np.multiply(out, a * s * i, out=out),
            np.copyto(out, s, where=x > 0),
            np.multiply(out, g, out=out) if backward else None,
        )

    selu_scale, selu_alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    expm1_family = {
        "elu": elu,
        "elu_grad": elu_grad,
        "elu_backward": lambda x, g, out, a=1.0: elu_grad(x, g, out, a, backward=True),
        "celu": lambda x, g, out, a=1.0: elu(x, g, out, a, 1.0, 1 / a),
        "celu_grad": lambda x, g, out, a=1.0: elu_grad(x, g, out, a, 1.0, 1 / a),
        "celu_backward": lambda x, g, out, a=1.0: elu_grad(x, g, out, a, 1.0, 1 / a, backward=True),
        "selu": lambda x, g, out: elu(x, g, out, selu_alpha, selu_scale),
        "selu_grad": lambda x, g, out: elu_grad(x, g, out, selu_alpha, selu_scale),
        "selu_backward": lambda x, g, out: elu_grad(x, g, out, selu_alpha, selu_scale, backward=True),
    }

    piecewise = expm1_family | {
        "softsign": lambda x, g, out: (
            lambda: (np.abs(x, out=out), np.add(out, f(x, 1), out=out), np.divide(x, out, out=out))
        ),
        "softsign_grad": softsign_grad,
        "softsign_backward": softsign_backward,
        "relu6": lambda x, g, out: (lambda: np.clip(x, f(x, 0), f(x, 6), out=out)),
        "relu6_grad": lambda x, g, out: (lambda: np.logical_and(x > 0, x < 6, out=out)),
        "relu6_backward": lambda x, g, out: (lambda: np.multiply(g, (x > 0) & (x < 6), out=out)),
        "hard_sigmoid": hard_sigmoid,
        "hard_sigmoid_grad": lambda x, g, out: (
            lambda: np.multiply(np.less(np.abs(x), 3), f(x, 1 / 6), out=out)
        ),
        "hard_sigmoid_backward": hard_sigmoid_backward,
        "hard_silu": hard_silu,
        "hard_silu_grad": hard_silu_grad,
        "hard_silu_backward": hard_silu_backward,
        "hard_tanh": lambda x, g, out, lo=-1.0, hi=1.0: (lambda: np.clip(x, f(x, lo), f(x, hi), out=out)),
        "hard_tanh_grad": lambda x, g, out, lo=-1.0, hi=1.0: (lambda: np.logical_and(x > lo, x < hi, out=out)),
        "hard_tanh_backward": lambda x, g, out, lo=-1.0, hi=1.0: (
            lambda: np.multiply(g, (x > lo) & (x < hi), out=out)
        ),
        "softshrink": softshrink,
        "softshrink_grad": lambda x, g, out, lam=0.5: (lambda: np.greater(np.abs(x), lam, out=out)),
        "softshrink_backward": lambda x, g, out, lam=0.5: (lambda: np.multiply(g, np.abs(x) > lam, out=out)),
        "hardshrink": lambda x, g, out, lam=0.5: (lambda: np.multiply(x, np.abs(x) > lam, out=out)),
        "hardshrink_grad": lambda x, g, out, lam=0.5: (lambda: np.greater(np.abs(x), lam, out=out)),
        "hardshrink_backward": lambda x, g, out, lam=0.5: (lambda: np.multiply(g, np.abs(x) > lam, out=out)),
        "threshold": lambda x, g, out, t=0.0, v=0.0: (lambda: np.copyto(out, np.where(x > t, x, f(x, v)))),
        "threshold_grad": lambda x, g, out, t=0.0, v=0.0: (lambda: np.greater(x, t, out=out)),
        "threshold_backward": lambda x, g, out, t=0.0, v=0.0: (lambda: np.multiply(g, x > t, out=out)),
    }

    def silu(x, g, out):
        s = sigmoid(x, g, out)
        return lambda: (s(), np.multiply(out, x, out=out))

    def silu_grad(x, g, out, backward=False):
        s = sigmoid(x, g, out)
        one = x.dtype.type(1)
        t = np.empty_like(out)

        def run():  # s * (1 + x * (1 - s)), one temporary
            s()
            np.subtract(one, out, out=t)
            np.multiply(t, x, out=t)
            np.add(t, one, out=t)
            np.multiply(out, t, out=out)
            if backward:
                np.multiply(out, g, out=out)

        return run

    def gelu_tanh(x, g, out):
        c, k, half, one = f(x, 0.7978845608028654, 0.044715, 0.5, 1.0)

        def run():  # 0.5 x (1 + tanh(c x (1 + 0.044715 x^2)))
            np.multiply(x, x, out=out)
            np.multiply(out, k, out=out)
            np.add(out, one, out=out)
            np.multiply(out, x, out=out)
            np.multiply(out, c, out=out)
            np.tanh(out, out=out)
            np.add(out, one, out=out)
            np.multiply(out, x, out=out)
            np.multiply(out, half, out=out)

        return run

    gated = {
        "silu": silu,
        "silu_grad": silu_grad,
        "silu_backward": lambda x, g, out: silu_grad(x, g, out, backward=True),
        "gelu_tanh": gelu_tanh,
    }

    def softplus_tail(x, out, b):
        """log1p(exp(-|b x|)) into out (b x must not overflow: b is 1 in the benchmarks)."""
        np.multiply(x, b, out=out) if b != 1 else np.copyto(out, x)
        np.abs(out, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)
        return np.log1p(out, out=out)

    def softplus(x, g, out, beta=1.0, threshold=20.0):
        b = f(x, beta)
        zero = f(x, 0)
        return lambda: (
            softplus_tail(x, out, b),
            np.divide(out, b, out=out) if beta != 1 else None,
            np.add(out, np.maximum(x, zero), out=out),
        )

    def softplus_grad(x, g, out, beta=1.0, threshold=20.0, backward=False):
        """sigmoid(beta x) = 1 / (1 + exp(-beta x))."""
        one = f(x, 1)
        return lambda: (
            np.multiply(x, -f(x, beta), out=out),
            np.exp(out, out=out),
            np.add(out, one, out=out),
            np.divide(g if backward else one, out, out=out),
        )

    def log_sigmoid(x, g, out):
        zero = f(x, 0)
        return lambda: (softplus_tail(x, out, 1), np.subtract(np.minimum(x, zero), out, out=out))

    def log_sigmoid_grad(x, g, out, backward=False):
        """sigmoid(-x) = 1 / (1 + exp(x))."""
        one = f(x, 1)
        return lambda: (np.exp(x, out=out), np.add(out, one, out=out), np.divide(g if backward else one, out, out=out))

    def mish(x, g, out):
        """x * tanh(log1p(exp(x))) (exp overflows to inf for x > 88 / 709: tanh(inf) = 1)."""
        return lambda: (
            np.exp(x, out=out),
            np.log1p(out, out=out),
            np.tanh(out, out=out),
            np.multiply(out, x, out=out),
        )

    def mish_grad(x, g, out, backward=False):
        """tanh(sp) + x sigmoid(x) (1 - tanh(sp)**2), sp = log1p(exp(x))."""
        one = f(x, 1)

        def run():
            t = np.tanh(np.log1p(np.exp(x)))
            s = np.exp(np.negative(x, out=out), out=out)
            np.add(s, one, out=s)
            np.divide(x, s, out=s)  # x sigmoid(x)
            np.multiply(s, np.subtract(one, np.multiply(t, t)), out=s)
            np.add(s, t, out=s)
            return np.multiply(s, g, out=s) if backward else s

        return run

    def tanhshrink_grad(x, g, out, backward=False):
        return lambda: (
            np.tanh(x, out=out),
            np.multiply(out, out, out=out),
            np.multiply(out, g, out=out) if backward else None,
        )

    def squareplus(x, g, out, b=4.0):
        return lambda: (
            np.multiply(x, x, out=out),
            np.add(out, f(x, b), out=out),
            np.sqrt(out, out=out),
            np.add(out, x, out=out),
            np.multiply(out, f(x, 0.5), out=out),
        )

    def squareplus_grad(x, g, out, b=4.0, backward=False):
        return lambda: (
            np.multiply(x, x, out=out),
            np.add(out, f(x, b), out=out),
            np.sqrt(out, out=out),
            np.divide(x, out, out=out),
            np.add(out, f(x, 1), out=out),
            np.multiply(out, f(x, 0.5), out=out),
            np.multiply(out, g, out=out) if backward else None,
        )

    smooth = {
        "tanhshrink": lambda x, g, out: lambda: (np.tanh(x, out=out), np.subtract(x, out, out=out)),
        "tanhshrink_grad": tanhshrink_grad,
        "tanhshrink_backward": lambda x, g, out: tanhshrink_grad(x, g, out, backward=True),
        "squareplus": squareplus,
        "squareplus_grad": squareplus_grad,
        "squareplus_backward": lambda x, g, out, b=4.0: squareplus_grad(x, g, out, b, backward=True),
    }

    log1p_family = smooth | {
        "mish": mish,
        "mish_grad": mish_grad,
        "mish_backward": lambda x, g, out: mish_grad(x, g, out, backward=True),
        "softplus": softplus,
        "softplus_grad": softplus_grad,
        "softplus_backward": lambda x, g, out, b=1.0, t=20.0: softplus_grad(x, g, out, b, t, backward=True),
        "log_sigmoid": log_sigmoid,
        "log_sigmoid_grad": log_sigmoid_grad,
        "log_sigmoid_backward": lambda x, g, out: log_sigmoid_grad(x, g, out, backward=True),
    }

    return piecewise | gated | log1p_family | {
        "sigmoid": sigmoid,
        "sigmoid_grad": sigmoid_grad,
        "sigmoid_backward": sigmoid_backward,
        "tanh": lambda x, g, out: (lambda: np.tanh(x, out=out)),
        "tanh_grad": tanh_grad,
        "tanh_backward": tanh_backward,
        "relu": lambda x, g, out: (lambda: np.maximum(x, x.dtype.type(0), out=out)),
        "relu_grad": lambda x, g, out: (lambda: np.greater(x, 0, out=out)),
        "relu_backward": lambda x, g, out: (lambda: np.multiply(g, np.greater(x, 0), out=out)),
        "leaky_relu": lambda x, g, out, s=0.01: (
            lambda: np.multiply(x, np.where(x > 0, x.dtype.type(1), x.dtype.type(s)), out=out)
        ),
        "leaky_relu_grad": lambda x, g, out, s=0.01: (
            lambda: np.copyto(out, np.where(x > 0, x.dtype.type(1), x.dtype.type(s)))
        ),
        "leaky_relu_backward": lambda x, g, out, s=0.01: (
            lambda: np.multiply(g, np.where(x > 0, x.dtype.type(1), x.dtype.type(s)), out=out)
        ),
    }


def _numpy_reference() -> dict[str, Factory]:
    """fastact.reference: the stable formulas the tests compare against."""
    table: dict[str, Factory] = {}
    for name in (n for n in ref.__all__ if not n.endswith("_grad")):
        fwd, grad = getattr(ref, name), getattr(ref, name + "_grad")
        table[name] = lambda x, g, out, *p, f=fwd: (lambda: f(x, *p))
        table[name + "_grad"] = lambda x, g, out, *p, f=grad: (lambda: f(x, *p))
        table[name + "_backward"] = lambda x, g, out, *p, f=grad: (lambda: np.multiply(g, f(x, *p), out=out))
    return table


def _scipy() -> dict[str, Factory]:
    if importlib.util.find_spec("scipy") is None:
        return {}
    import scipy.special as sp

    def silu(x, g, out):
        return lambda: (sp.expit(x, out=out), np.multiply(out, x, out=out))

    def gelu(x, g, out):
        c, half = x.dtype.type(-0.7071067811865476), x.dtype.type(0.5)

        def run():  # x/2 erfc(-x/sqrt2): the negative tail keeps relative accuracy
            np.multiply(x, c, out=out)
            sp.erfc(out, out=out)
            np.multiply(out, x, out=out)
            np.multiply(out, half, out=out)

        return run

    def gelu_grad(x, g, out, backward=False):
        c, half, k = x.dtype.type(-0.7071067811865476), x.dtype.type(0.5), x.dtype.type(0.3989422804014327)
        t = np.empty_like(out)

        def run():  # Phi(x) + x phi(x)
            np.multiply(x, x, out=t)
            np.multiply(t, -half, out=t)
            np.exp(t, out=t)
            np.multiply(t, x, out=t)
            np.multiply(t, k, out=t)
            np.multiply(x, c, out=out)
            sp.erfc(out, out=out)
            np.multiply(out, half, out=out)
            np.add(out, t, out=out)
            if backward:
                np.multiply(out, g, out=out)

        return run

    def expit_of(scale, backward=False):
        """expit(scale * x) (times g for a backward)."""
        def make(x, g, out, *p):
            s = x.dtype.type(scale(p))
            return lambda: (
                np.multiply(x, s, out=out),
                sp.expit(out, out=out),
                np.multiply(out, g, out=out) if backward else None,
            )

        return make

    return {
        "sigmoid": lambda x, g, out: (lambda: sp.expit(x, out=out)),
        "silu": silu,
        "gelu": gelu,
        "gelu_grad": gelu_grad,
        "gelu_backward": lambda x, g, out: gelu_grad(x, g, out, backward=True),
        "softplus_grad": expit_of(lambda p: p[0] if p else 1.0),
        "softplus_backward": expit_of(lambda p: p[0] if p else 1.0, backward=True),
        "log_sigmoid": lambda x, g, out: (lambda: sp.log_expit(x, out=out)),
        "log_sigmoid_grad": expit_of(lambda p: -1.0),
        "log_sigmoid_backward": expit_of(lambda p: -1.0, backward=True),
    }


def _torch() -> dict[str, Factory]:
    if importlib.util.find_spec("torch") is None:
        return {}
    import torch

    torch.set_num_threads(1)
    # PyTorch 2.13's float64 gelu and gelu_backward run 3.5x slower in a process
    # where no add (or neg) has run yet: 22 against 6.4 ns per value on N(0, 4^2) on
    # the Zen 4 machine, the time in one masked vmulpd of Sleef's AVX-512 erf.
    # exp, erf, mul, sigmoid or gelu itself, any number of times, leave it slow; one
    # add on 16 values ends it for good.  A program that uses PyTorch runs adds all
    # the time, and so does this one now, before any measurement: `compare.py
    # --names gelu` and the benchmarks run alone used to time the slow state.
    torch.ones(16, dtype=torch.float64) + 1
    aten = torch.ops.aten
    t = torch.from_numpy

    def with_tensors(build):
        def factory(x, g, out, *p):
            tx = t(x)
            # b: scratch buffer; ones: grad_out of 1 turns a *_backward op into a derivative
            return build(tx, t(g), t(out), torch.empty_like(tx), torch.ones_like(tx), *p)

        return factory

    def backward_pair(name, op):
        """``name_grad`` and ``name_backward`` from an aten backward op(grad, x, *params, out)."""
        return {
            name + "_grad": with_tensors(lambda x, g, o, b, ones, *p: lambda: op(ones, x, *p, o)),
            name + "_backward": with_tensors(lambda x, g, o, b, ones, *p: lambda: op(g, x, *p, o)),
        }

    def softsign_denominator(x, b, square):
        torch.abs(x, out=b)
        b.add_(1)
        return b.mul_(b) if square else b

    selu_scale, selu_alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717

    def elu_ops(name, alpha, scale, input_scale):
        """elu, celu and selu are one aten op: elu(x, alpha, scale, input_scale)."""
        def pair(p):
            return (alpha(p), scale, input_scale(p))

        def fwd(x, g, o, b, ones, *p):
            return lambda: aten.elu.out(x, *pair(p), out=o)

        def bwd(grad_out):
            def make(x, g, o, b, ones, *p):
                go = ones if grad_out == "ones" else g
                return lambda: aten.elu_backward.grad_input(go, *pair(p), False, x, grad_input=o)

            return make

        return {
            name: with_tensors(fwd),
            name + "_grad": with_tensors(bwd("ones")),
            name + "_backward": with_tensors(bwd("g")),
        }

    expm1_family = {
        **elu_ops("elu", lambda p: p[0] if p else 1.0, 1.0, lambda p: 1.0),
        **elu_ops("celu", lambda p: p[0] if p else 1.0, 1.0, lambda p: 1.0 / (p[0] if p else 1.0)),
        **elu_ops("selu", lambda p: selu_alpha, selu_scale, lambda p: 1.0),
    }

    piecewise = expm1_family | {
        "softsign": with_tensors(
            lambda x, g, o, b, ones: lambda: torch.div(x, softsign_denominator(x, b, False), out=o)
        ),
        "softsign_grad": with_tensors(
            lambda x, g, o, b, ones: lambda: torch.reciprocal(softsign_denominator(x, b, True), out=o)
        ),
        "softsign_backward": with_tensors(
            lambda x, g, o, b, ones: lambda: torch.div(g, softsign_denominator(x, b, True), out=o)
        ),
        "relu6": with_tensors(lambda x, g, o, b, ones: lambda: aten.hardtanh.out(x, 0, 6, out=o)),
        **backward_pair("relu6", lambda g, x, o: aten.hardtanh_backward.grad_input(g, x, 0, 6, grad_input=o)),
        "hard_sigmoid": with_tensors(lambda x, g, o, b, ones: lambda: aten.hardsigmoid.out(x, out=o)),
        **backward_pair("hard_sigmoid", lambda g, x, o: aten.hardsigmoid_backward.grad_input(g, x, grad_input=o)),
        "hard_silu": with_tensors(lambda x, g, o, b, ones: lambda: aten.hardswish.out(x, out=o)),
        **backward_pair("hard_silu", lambda g, x, o: aten.hardswish_backward.out(g, x, out=o)),
        "hard_tanh": with_tensors(
            lambda x, g, o, b, ones, lo=-1.0, hi=1.0: lambda: aten.hardtanh.out(x, lo, hi, out=o)
        ),
        **backward_pair(
            "hard_tanh", lambda g, x, lo, hi, o: aten.hardtanh_backward.grad_input(g, x, lo, hi, grad_input=o)
        ),
        "softshrink": with_tensors(lambda x, g, o, b, ones, lam=0.5: lambda: aten.softshrink.out(x, lam, out=o)),
        **backward_pair(
            "softshrink", lambda g, x, lam, o: aten.softshrink_backward.grad_input(g, x, lam, grad_input=o)
        ),
        "hardshrink": with_tensors(lambda x, g, o, b, ones, lam=0.5: lambda: aten.hardshrink.out(x, lam, out=o)),
        **backward_pair(
            "hardshrink", lambda g, x, lam, o: aten.hardshrink_backward.grad_input(g, x, lam, grad_input=o)
        ),
        "threshold": with_tensors(
            lambda x, g, o, b, ones, t=0.0, v=0.0: lambda: aten.threshold.out(x, t, v, out=o)
        ),
        **backward_pair(
            "threshold", lambda g, x, t, v, o: aten.threshold_backward.grad_input(g, x, t, grad_input=o)
        ),
    }

    gated = {
        "silu": with_tensors(lambda x, g, o, b, ones: lambda: aten.silu.out(x, out=o)),
        **backward_pair("silu", lambda g, x, o: aten.silu_backward.grad_input(g, x, grad_input=o)),
        "gelu": with_tensors(lambda x, g, o, b, ones: lambda: aten.gelu.out(x, out=o)),
        **backward_pair("gelu", lambda g, x, o: aten.gelu_backward.grad_input(g, x, grad_input=o)),
        "gelu_tanh": with_tensors(lambda x, g, o, b, ones: lambda: aten.gelu.out(x, approximate="tanh", out=o)),
        **backward_pair(
            "gelu_tanh", lambda g, x, o: aten.gelu_backward.grad_input(g, x, approximate="tanh", grad_input=o)
        ),
    }

    def log_sigmoid_backward(grad_out):
        # PyTorch's backward takes the buffer its forward filled: computed once, untimed
        def make(x, g, o, b, ones):
            aten.log_sigmoid_forward.output(x, output=o, buffer=b)
            go = ones if grad_out == "ones" else g
            return lambda: aten.log_sigmoid_backward.grad_input(go, x, b, grad_input=o)

        return with_tensors(make)

    log1p_family = {
        "softplus": with_tensors(
            lambda x, g, o, b, ones, beta=1.0, t=20.0: lambda: aten.softplus.out(x, beta, t, out=o)
        ),
        **backward_pair(
            "softplus", lambda g, x, beta, t, o: aten.softplus_backward.grad_input(g, x, beta, t, grad_input=o)
        ),
        "log_sigmoid": with_tensors(lambda x, g, o, b, ones: lambda: aten.log_sigmoid.out(x, out=o)),
        "mish": with_tensors(lambda x, g, o, b, ones: lambda: aten.mish.out(x, out=o)),
        "tanhshrink": with_tensors(lambda x, g, o, b, ones: lambda: torch.sub(x, torch.tanh(x, out=b), out=o)),
        "tanhshrink_grad": with_tensors(lambda x, g, o, b, ones: lambda: torch.square(torch.tanh(x, out=b), out=o)),
        "tanhshrink_backward": with_tensors(
            lambda x, g, o, b, ones: lambda: torch.mul(torch.square(torch.tanh(x, out=b), out=b), g, out=o)
        ),
        # aten.mish_backward has no out= overload: it allocates its result
        "mish_grad": with_tensors(lambda x, g, o, b, ones: lambda: aten.mish_backward(ones, x)),
        "mish_backward": with_tensors(lambda x, g, o, b, ones: lambda: aten.mish_backward(g, x)),
        "log_sigmoid_grad": log_sigmoid_backward("ones"),
        "log_sigmoid_backward": log_sigmoid_backward("g"),
    }

    return piecewise | gated | log1p_family | {
        "sigmoid": with_tensors(lambda x, g, o, b, ones: lambda: torch.sigmoid(x, out=o)),
        "sigmoid_grad": with_tensors(
            lambda x, g, o, b, ones: lambda: aten.sigmoid_backward.grad_input(
                ones, torch.sigmoid(x, out=b), grad_input=o
            )
        ),
        "sigmoid_backward": with_tensors(
            lambda x, g, o, b, ones: lambda: aten.sigmoid_backward.grad_input(g, torch.sigmoid(x, out=b), grad_input=o)
        ),
        "tanh": with_tensors(lambda x, g, o, b, ones: lambda: torch.tanh(x, out=o)),
        "tanh_grad": with_tensors(
            lambda x, g, o, b, ones: lambda: aten.tanh_backward.grad_input(
                ones, torch.tanh(x, out=b), grad_input=o
            )
        ),
        "tanh_backward": with_tensors(
            lambda x, g, o, b, ones: lambda: aten.tanh_backward.grad_input(g, torch.tanh(x, out=b), grad_input=o)
        ),
        "relu": with_tensors(lambda x, g, o, b, ones: lambda: torch.clamp_min(x, 0, out=o)),
        "relu_grad": with_tensors(lambda x, g, o, b, ones: lambda: o.copy_(x > 0)),
        "relu_backward": with_tensors(
            lambda x, g, o, b, ones: lambda: aten.threshold_backward.grad_input(g, x, 0, grad_input=o)
        ),
        "leaky_relu": with_tensors(lambda x, g, o, b, ones, s=0.01: lambda: aten.leaky_relu.out(x, s, out=o)),
        "leaky_relu_grad": with_tensors(
            lambda x, g, o, b, ones, s=0.01: lambda: aten.leaky_relu_backward.grad_input(
                ones, x, s, False, grad_input=o
            )
        ),
        "leaky_relu_backward": with_tensors(
            lambda x, g, o, b, ones, s=0.01: lambda: aten.leaky_relu_backward.grad_input(g, x, s, False, grad_input=o)
        ),
    }


def _numexpr() -> dict[str, Factory]:
    """numexpr, single thread: the expression as a user would write it."""
    if importlib.util.find_spec("numexpr") is None:
        return {}
    import numexpr as ne

    ne.set_num_threads(1)
    sig = "1 / (1 + exp(-x))"
    exprs = {
        "sigmoid": sig,
        "sigmoid_grad": f"({sig}) * (1 - {sig})",
        "sigmoid_backward": f"g * ({sig}) * (1 - {sig})",
        "tanh": "tanh(x)",
        "tanh_grad": "1 - tanh(x) ** 2",
        "tanh_backward": "g * (1 - tanh(x) ** 2)",
        "silu": f"x * ({sig})",
        "silu_grad": f"({sig}) * (1 + x * (1 - {sig}))",
        "silu_backward": f"g * ({sig}) * (1 + x * (1 - {sig}))",
        "relu": "where(x > 0, x, 0)",
        "relu_grad": "where(x > 0, 1, 0)",
        "relu_backward": "where(x > 0, g, 0)",
        "leaky_relu": "where(x > 0, x, s * x)",
        "leaky_relu_grad": "where(x > 0, 1, s)",
        "leaky_relu_backward": "where(x > 0, g, s * g)",
    }

    def factory(expr):
        def make(x, g, out, *params):
            local = {"x": x, "g": g}
            if params:
                local["s"] = x.dtype.type(params[0])
            return lambda: ne.evaluate(expr, local_dict=local, out=out, casting="unsafe")

        return make

    return {name: factory(expr) for name, expr in exprs.items()}


_BUILDERS = {
    "numpy-reference": _numpy_reference,
    "numpy-best": _numpy_best,
    "scipy": _scipy,
    "torch": _torch,
    "numexpr": _numexpr,
}
#: every peer this module knows, installed or not, in report order
PEER_NAMES: tuple[str, ...] = tuple(_BUILDERS)


@functools.cache
def peer_table(peer: str) -> dict[str, Factory]:
    """Public function name -> factory for one peer; empty when it is not installed.

    Built on first use: importing torch costs seconds.
    """
    return _BUILDERS[peer]()


def peers(name: str) -> dict[str, Factory]:
    """Installed peer implementations of the public function ``name``, by peer name."""
    return {peer: peer_table(peer)[name] for peer in PEER_NAMES if name in peer_table(peer)}


# --------------------------------------------------------------------------------
# Input regimes of the benchmarks
# --------------------------------------------------------------------------------
REGIMES = ("central", "wide", "saturated", "special")


def regime_input(regime: str, n: int, dtype: str, seed: int = 0) -> np.ndarray:
    """``n`` values of ``dtype`` drawn from one of :data:`REGIMES`.

    central: N(0, 1); wide: N(0, 10); saturated: |x| uniform in [20, 1000] with
    random signs (every exp-based kernel saturates); special: central with 1% of
    the values replaced by NaN, +inf and -inf.
    """
    rng = np.random.default_rng(seed)
    if regime == "central":
        x = rng.standard_normal(n)
    elif regime == "wide":
        x = rng.standard_normal(n) * 10
    elif regime == "saturated":
        x = rng.uniform(20, 1000, n) * rng.choice((-1.0, 1.0), n)
    elif regime == "special":
        x = rng.standard_normal(n)
        k = max(1, n // 100) if n >= 3 else 0
        idx = rng.choice(n, k, replace=False)
        x[idx] = rng.choice((np.nan, np.inf, -np.inf), k)
    else:
        raise ValueError(f"unknown regime {regime!r}; expected one of {REGIMES}")
    return x.astype(dtype)
