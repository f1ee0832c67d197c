"""Plain NumPy reference implementations: the *meaning* of every activation.

These are the tutorial's formulas (sigmoid = 1/(1+e^-x), its derivative
sigmoid*(1-sigmoid), tanh and 1-tanh^2, relu and (x > 0), leaky relu and
where(x > 0, 1, 0.01)), rewritten so that they are stable and warning-free:

* the naive ``1/(1+np.exp(-x))`` overflows in ``exp`` for x < -88 (float32) and warns;
* ``sigmoid*(1-sigmoid)`` and ``1-tanh**2`` cancel to 0 where the true derivative
  is still a perfectly representable tiny number;
* the textbook tanh ``(e^x - e^-x)/(e^x + e^-x)`` is inf/inf = NaN for |x| > 710.

Each function keeps the input's float dtype (float32 stays float32; integers and
bools become float64) and returns NaN for NaN.  Exponentials may underflow to 0 or
to a subnormal, which is the correct result; that (and only that) is silenced.
They are slow (several passes, temporaries): they exist for the tests.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "leaky_relu",
    "leaky_relu_grad",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "tanh",
    "tanh_grad",
]


def _as_float(x):
    x = np.asarray(x)
    if x.dtype.kind in "biu":
        return x.astype(np.float64)
    if x.dtype.kind != "f":
        raise TypeError(f"expected a real floating-point or integer array, got dtype {x.dtype}")
    return x


def _exp_neg_abs(x, scale=1):
    """exp(-scale*|x|), |x| clipped so that the product cannot overflow."""
    a = np.minimum(np.abs(x), x.dtype.type(1e4))
    return np.exp(-scale * a)


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x)), evaluated through e = exp(-|x|) <= 1."""
    x = _as_float(x)
    with np.errstate(under="ignore"):
        e = _exp_neg_abs(x)
        one = x.dtype.type(1)
        return np.where(x >= 0, one / (one + e), e / (one + e)).astype(x.dtype)


def sigmoid_grad(x):
    """sigmoid'(x) = sigmoid(x) * (1 - sigmoid(x)) = sigmoid(x) * sigmoid(-x).

    ``1 - sigmoid(x)`` is written as ``sigmoid(-x)``, which does not cancel.
    """
    x = _as_float(x)
    with np.errstate(under="ignore"):
        return (sigmoid(x) * sigmoid(-x)).astype(x.dtype)


def tanh(x):
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x); NumPy's np.tanh is already stable."""
    x = _as_float(x)
    return np.tanh(x)


def tanh_grad(x):
    """tanh'(x) = 1 - tanh(x)**2 = 4 * sigmoid(2x) * sigmoid(-2x).

    The second form keeps its relative accuracy where 1 - tanh^2 cancels to 0.
    """
    x = _as_float(x)
    with np.errstate(under="ignore"):
        e = _exp_neg_abs(x, 2)
        one = x.dtype.type(1)
        d = one + e
        return (x.dtype.type(4) * (e / d) / d).astype(x.dtype)


def relu(x):
    """relu(x) = max(x, 0); relu(-0.0) = +0.0, relu(NaN) = NaN."""
    x = _as_float(x)
    return np.where(x > 0, x, np.where(np.isnan(x), x, x.dtype.type(0)))


def relu_grad(x):
    """relu'(x) = 1 if x > 0 else 0 (PyTorch's convention relu'(0) = 0); NaN for NaN."""
    x = _as_float(x)
    return np.where(np.isnan(x), x, (x > 0).astype(x.dtype))


def leaky_relu(x, negative_slope=0.01):
    """leaky_relu(x) = x if x > 0 else negative_slope * x.

    A product below the smallest normal number is flushed to a signed zero, the
    library-wide rule for results in that range.
    """
    x = _as_float(x)
    with np.errstate(under="ignore"):
        scaled = x.dtype.type(negative_slope) * x
    tiny = np.abs(scaled) < np.finfo(x.dtype).tiny
    scaled = np.where(tiny, np.copysign(x.dtype.type(0), scaled), scaled)
    return np.where(x > 0, x, scaled)


def leaky_relu_grad(x, negative_slope=0.01):
    """leaky_relu'(x) = 1 if x > 0 else negative_slope (PyTorch: slope at 0); NaN for NaN."""
    x = _as_float(x)
    grad = np.where(x > 0, x.dtype.type(1), x.dtype.type(negative_slope))
    return np.where(np.isnan(x), x, grad)
