"""The Playground's network and its training loop, compiled with Numba on fastact's kernels.

A fully connected network: 2 inputs (the raw x and y), hidden layers of the chosen
sizes with one registry activation, and one tanh output neuron (the Playground's
output activation for classification).  Every neuron of the Playground has a bias
and every link a weight; the initial weights are U[-0.5, 0.5) and the biases 0.1.

Parameters live in one flat float64 vector, layer after layer: the weight matrix
``W[l]`` of shape ``(sizes[l], sizes[l - 1])`` row by row (``W[l][i, j]`` links
neuron ``j`` of the layer below to neuron ``i``: the Playground's link order, so
weights are drawn in the same order), then the biases ``b[l]``.

Training follows the Playground's ``oneStep``/``backProp``/``updateWeights``:
loss 0.5 * (output - label)^2 per example; each training example in its fixed
order is forwarded and back-propagated, its derivatives added to accumulators,
and after every ``batch_size``-th example of the epoch (``(i + 1) % batch_size ==
0``) each parameter takes ``-= learning_rate * accumulated / count`` and the
accumulators are cleared (plain SGD on the batch mean, no regularization).  As
in the Playground, derivatives of a final partial batch are carried into the
next epoch (with 250 training points and batches of 10 there is none).  After
each epoch the loss (mean 0.5 (o - y)^2) is evaluated on the training and test
sets, and the test accuracy by the output's sign (o >= 0 predicts +1).

Deliberate deviation: the Playground evaluates derivatives with its own formulas
(sigmoid' = s (1 - s), tanh' = 1 - tanh^2); here they are fastact's kernels, the
same functions up to rounding (fastact's are the more accurate in the tails).
relu'(0) = 0 in both.

The hidden activation is chosen by its registry name, which Numba sees as a
literal string: each activation gets its own compiled (and cached) training
loop, with fastact's scalar kernels ``forward`` and ``backward(grad_out, x)``
inlined.  Registry parameters (``leaky_relu``'s slope) are runtime arguments, so
changing a default does not need a new compile.  The output neuron uses
fastact's ``tanh`` and ``tanh_backward`` (compiled once for all activations).

Caching: ``cache=True`` stores the compiled loops on disk.  Numba keys its cache
on this file only; the literal string the functions are specialized on is
``"<activation>@<hash of the kernel sources>"`` (the ufunc loops'
``SOURCE_HASH``), so an edit to a kernel is recompiled too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import literally, njit, types
from numba.extending import overload

from .. import scalar
from .._loops import SOURCE_HASH
from .._registry import REGISTRY

__all__ = ["layer_sizes", "num_params", "init_params", "train", "predict", "loss_and_grad"]

_OPTS = dict(cache=True, nogil=True, error_model="numpy")
_tanh = scalar.tanh
_tanh_backward = scalar.tanh_backward
#: part of every compiled function's signature (a literal string), so that the
#: on-disk cache is keyed by the kernel sources too (see the module docstring)
_VERSION = SOURCE_HASH

#: initial bias of every neuron (the Playground's Node.bias)
INIT_BIAS = 0.1


def layer_sizes(shape: Sequence[int]) -> np.ndarray:
    """Neurons per layer, inputs and output included: ``[2, *shape, 1]`` (int64)."""
    if any(int(h) < 1 for h in shape):
        raise ValueError(f"hidden layer sizes must be >= 1, got {list(shape)}")
    return np.array([2, *(int(h) for h in shape), 1], dtype=np.int64)


def num_params(shape: Sequence[int]) -> int:
    """Number of weights and biases of the network with hidden layers ``shape``."""
    s = layer_sizes(shape)
    return int(np.sum(s[1:] * s[:-1] + s[1:]))


def init_params(shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """The Playground's initialization: weights U[-0.5, 0.5), biases 0.1 (flat float64 vector)."""
    s = layer_sizes(shape)
    parts = []
    for n_in, n_out in zip(s[:-1], s[1:], strict=False):
        parts.append(rng.random(n_out * n_in) - 0.5)
        parts.append(np.full(n_out, INIT_BIAS))
    return np.concatenate(parts)


# --------------------------------------------------------------------------------
# The hidden activation, resolved at compile time from its (literal) registry name
# --------------------------------------------------------------------------------
def _activation(name, x, params):  # pragma: no cover - replaced by the overload
    raise NotImplementedError


def _activation_backward(name, grad_out, x, params):  # pragma: no cover - replaced by the overload
    raise NotImplementedError


def _kernel_call(kernel, leading: str, nparams: int):
    """``lambda name, <leading>, params: kernel(<leading>, params[0], ...)``, built for ``nparams``."""
    args = "".join(f", params[{i}]" for i in range(nparams))
    namespace = {"kernel": kernel}
    exec(f"def impl(name, {leading}, params):\n    return kernel({leading}{args})\n", namespace)
    return namespace["impl"]


def _key(activation: str) -> str:
    """The literal string the compiled functions are specialized on: name and kernel source hash."""
    return f"{activation}@{_VERSION}"


def _record(name, params):
    if not isinstance(name, types.StringLiteral):
        return None
    act = REGISTRY[name.literal_value.split("@")[0]]
    if len(params) != len(act.params):
        raise TypeError(f"{act.name} takes {len(act.params)} parameter(s), got {len(params)}")
    return act


@overload(_activation, inline="always", jit_options=dict(error_model="numpy"))
def _activation_impl(name, x, params):
    act = _record(name, params)
    return None if act is None else _kernel_call(act.forward, "x", len(act.params))


@overload(_activation_backward, inline="always", jit_options=dict(error_model="numpy"))
def _activation_backward_impl(name, grad_out, x, params):
    act = _record(name, params)
    return None if act is None else _kernel_call(act.backward, "grad_out, x", len(act.params))


# --------------------------------------------------------------------------------
# Compiled network.  Several independent networks (one per seed) are trained in
# lockstep: every array has the seed as its last, contiguous axis, and every
# innermost loop runs over seeds, so LLVM vectorizes the arithmetic and fastact's
# branch-free kernels across seeds.  Each seed's own arithmetic is the same
# sequence of operations whatever the number of seeds beside it.
#
# Shapes (S seeds, P parameters, N neurons, inputs included): theta and grad
# (P, S); z, a and delta (N, S); one example's inputs x (2, S), labels y (S,).
# --------------------------------------------------------------------------------
# The output neuron (tanh for every hidden activation) in functions of their own:
# compiled once, not once per activation (fastact's kernels are inlined where they
# are called, and inlining tanh costs seconds of compile time).
@njit(**_OPTS)
def _output(version, z, a):
    literally(version)
    for s in range(z.shape[0]):
        a[s] = _tanh(z[s])


@njit(**_OPTS)
def _output_backward(version, a, y, z, delta):
    literally(version)
    for s in range(z.shape[0]):
        delta[s] = _tanh_backward(a[s] - y[s], z[s])


@njit(**_OPTS)
def _node_count(sizes):
    """Neurons in all layers, inputs and output included (rows of z, a and delta)."""
    n = 0
    for size in sizes:
        n += size
    return n


@njit(**_OPTS)
def _forward(name, params, sizes, theta, x, z, a):
    """One example forward: pre-activations ``z`` and outputs ``a`` of every neuron."""
    literally(name)
    nseed = theta.shape[1]
    for s in range(nseed):
        a[0, s] = x[0, s]
        a[1, s] = x[1, s]
    nl = sizes.shape[0]
    p = 0  # first parameter of the current layer
    src = 0  # first neuron of the layer below
    dst = sizes[0]  # first neuron of the current layer
    for layer in range(1, nl):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        bias = p + n_out * n_in
        for i in range(n_out):
            zi = z[dst + i]
            b = theta[bias + i]
            for s in range(nseed):
                zi[s] = b[s]
            for j in range(n_in):
                w = theta[p + i * n_in + j]
                aj = a[src + j]
                for s in range(nseed):
                    zi[s] += w[s] * aj[s]
            if layer == nl - 1:
                _output(_VERSION, zi, a[dst + i])
            else:
                ai = a[dst + i]
                for s in range(nseed):
                    ai[s] = _activation(name, zi[s], params)
        p = bias + n_out
        src = dst
        dst += n_out


@njit(**_OPTS)
def _backward(name, params, sizes, theta, y, z, a, delta, grad):
    """Back-propagate 0.5 (o - y)^2 of the last forward pass; adds dLoss/dtheta to ``grad``."""
    literally(name)
    nseed = theta.shape[1]
    nl = sizes.shape[0]
    out = a.shape[0] - 1
    _output_backward(_VERSION, a[out], y, z[out], delta[out])
    p_end = theta.shape[0]  # one past the current layer's parameters
    dst = out  # first neuron of the current layer
    for layer in range(nl - 1, 0, -1):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        src = dst - n_in
        bias = p_end - n_out
        p = bias - n_out * n_in
        for i in range(n_out):
            di = delta[dst + i]
            gb = grad[bias + i]
            for s in range(nseed):
                gb[s] += di[s]
            for j in range(n_in):
                gw = grad[p + i * n_in + j]
                aj = a[src + j]
                for s in range(nseed):
                    gw[s] += di[s] * aj[s]
        if layer > 1:
            # dLoss/d(output of neuron j below), with the weights before this batch's update
            for j in range(n_in):
                dj = delta[src + j]
                for s in range(nseed):
                    dj[s] = 0.0
                for i in range(n_out):
                    w = theta[p + i * n_in + j]
                    di = delta[dst + i]
                    for s in range(nseed):
                        dj[s] += w[s] * di[s]
                zj = z[src + j]
                for s in range(nseed):
                    dj[s] = _activation_backward(name, dj[s], zj[s], params)
        p_end = p
        dst = src


@njit(**_OPTS)
def _evaluate(name, params, sizes, theta, x, y, z, a, loss, acc):
    """Per seed: mean 0.5 (o - y)^2 over the points into ``loss``, fraction right by sign(o) into ``acc``."""
    literally(name)
    nseed = theta.shape[1]
    out = a.shape[0] - 1
    right = np.zeros(nseed, dtype=np.int64)
    for s in range(nseed):
        loss[s] = 0.0
    n = x.shape[0]
    for k in range(n):
        _forward(name, params, sizes, theta, x[k], z, a)
        yk = y[k]
        o = a[out]
        for s in range(nseed):
            loss[s] += 0.5 * (o[s] - yk[s]) ** 2
            right[s] += (o[s] >= 0.0) == (yk[s] > 0.0)
    for s in range(nseed):
        loss[s] /= n
        acc[s] = right[s] / n


@njit(**_OPTS)
def _train(name, params, sizes, theta, x_train, y_train, x_test, y_test, learning_rate, batch_size,
           loss_train, loss_test, acc_test):  # fmt: skip
    """Train every seed's ``theta`` in place for ``len(loss_train)`` epochs.

    Row ``e`` of the outputs is measured after epoch ``e + 1``.
    """
    literally(name)
    nseed = theta.shape[1]
    n_nodes = _node_count(sizes)
    z = np.zeros((n_nodes, nseed))
    a = np.zeros((n_nodes, nseed))
    delta = np.zeros((n_nodes, nseed))
    grad = np.zeros(theta.shape)
    acc_train = np.zeros(nseed)
    count = 0
    n = x_train.shape[0]
    for epoch in range(loss_train.shape[0]):
        for k in range(n):
            _forward(name, params, sizes, theta, x_train[k], z, a)
            _backward(name, params, sizes, theta, y_train[k], z, a, delta, grad)
            count += 1
            if (k + 1) % batch_size == 0:
                step = learning_rate / count
                for q in range(theta.shape[0]):
                    tq = theta[q]
                    gq = grad[q]
                    for s in range(nseed):
                        tq[s] -= step * gq[s]
                        gq[s] = 0.0
                count = 0
        _evaluate(name, params, sizes, theta, x_train, y_train, z, a, loss_train[epoch], acc_train)
        _evaluate(name, params, sizes, theta, x_test, y_test, z, a, loss_test[epoch], acc_test[epoch])


@njit(**_OPTS)
def _predict(name, params, sizes, theta, x, out):
    """The output of one network (``theta`` of shape (P, 1)) at each point of ``x`` (shape (n, 2, 1))."""
    literally(name)
    n_nodes = _node_count(sizes)
    z = np.zeros((n_nodes, 1))
    a = np.zeros((n_nodes, 1))
    for k in range(x.shape[0]):
        _forward(name, params, sizes, theta, x[k], z, a)
        out[k] = a[n_nodes - 1, 0]


@njit(**_OPTS)
def _loss_grad(name, params, sizes, theta, x, y, grad):
    """Mean loss over the points ``x`` (n, 2, 1) of one network, its gradient into ``grad`` (P, 1)."""
    literally(name)
    n_nodes = _node_count(sizes)
    z = np.zeros((n_nodes, 1))
    a = np.zeros((n_nodes, 1))
    delta = np.zeros((n_nodes, 1))
    grad[:] = 0.0
    loss = 0.0
    n = x.shape[0]
    for k in range(n):
        _forward(name, params, sizes, theta, x[k], z, a)
        loss += 0.5 * (a[n_nodes - 1, 0] - y[k, 0]) ** 2
        _backward(name, params, sizes, theta, y[k], z, a, delta, grad)
    grad /= n
    return loss / n


# --------------------------------------------------------------------------------
# Python API
# --------------------------------------------------------------------------------
def _resolve(activation: str, params: Sequence[float] | None) -> tuple[str, tuple[float, ...]]:
    if activation not in REGISTRY:
        raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(REGISTRY)}")
    act = REGISTRY[activation]
    values = act.param_defaults if params is None else tuple(float(p) for p in params)
    if len(values) != len(act.params):
        raise ValueError(f"{activation} takes {len(act.params)} parameter(s), got {len(values)}")
    return _key(act.name), values


def train(
    activation: str,
    shape: Sequence[int],
    thetas: np.ndarray,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    learning_rate: float = 0.03,
    batch_size: int = 10,
    epochs: int = 2000,
    params: Sequence[float] | None = None,
) -> dict[str, np.ndarray]:
    """Train one network per seed with the Playground's SGD, all seeds in lockstep.

    ``thetas`` holds the initial parameters, shape ``(S, P)`` (``(P,)`` for one
    run); the data ``(S, n, 2)`` points and ``(S, n)`` labels (or without the
    leading axis): every seed may have its own data, with the same number of
    points.  ``params`` are the activation's parameters (default: the registry's).

    Returns ``theta`` (the trained parameters, shaped as ``thetas``) and the
    float64 ``loss_train``, ``loss_test`` and ``acc_test`` (test accuracy by the
    output's sign) of shape ``(S, epochs)``, column ``e`` measured after epoch
    ``e + 1`` (no ``S`` axis for a single run).
    """
    name, values = _resolve(activation, params)
    thetas = np.asarray(thetas, dtype=np.float64)
    single = thetas.ndim == 1
    data = [np.asarray(v, dtype=np.float64) for v in (x_train, y_train, x_test, y_test)]
    if single:
        thetas, data = thetas[None], [v[None] for v in data]
    sizes = layer_sizes(shape)
    if thetas.ndim != 2 or thetas.shape[1] != num_params(shape):
        raise ValueError(f"thetas of shape {thetas.shape}: hidden layers {list(shape)} need (S, {num_params(shape)})")
    nseed = thetas.shape[0]
    for v, nd in zip(data, (3, 2, 3, 2), strict=True):
        if v.ndim != nd or v.shape[0] != nseed or (nd == 3 and v.shape[2] != 2):
            raise ValueError(f"data of shape {v.shape} for {nseed} seed(s): need (S, n, 2) points, (S, n) labels")
    # seeds last (contiguous): the compiled loops run over them innermost
    theta = np.ascontiguousarray(thetas.T)
    xtr, ytr, xte, yte = (np.ascontiguousarray(np.moveaxis(v, 0, -1)) for v in data)
    if batch_size < 1 or epochs < 0:
        raise ValueError(f"need batch_size >= 1 and epochs >= 0, got {batch_size} and {epochs}")
    out = {k: np.empty((epochs, nseed)) for k in ("loss_train", "loss_test", "acc_test")}
    _train(name, values, sizes, theta, xtr, ytr, xte, yte, float(learning_rate), int(batch_size),
           out["loss_train"], out["loss_test"], out["acc_test"])  # fmt: skip
    out["theta"] = theta
    result = {k: np.ascontiguousarray(v.T) for k, v in out.items()}
    return {k: v[0] for k, v in result.items()} if single else result


def _one_seed(x: np.ndarray, ndim: int) -> np.ndarray:
    """``x`` as float64 with a trailing seed axis of length 1 (points must be (n, 2))."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim or (ndim == 2 and x.shape[1] != 2):
        raise ValueError(f"expected {'(n, 2) points' if ndim == 2 else 'a 1-d array'}, got shape {x.shape}")
    return np.ascontiguousarray(x[..., None])


def predict(activation: str, shape: Sequence[int], theta: np.ndarray, points: np.ndarray,
            params: Sequence[float] | None = None) -> np.ndarray:  # fmt: skip
    """The output (in [-1, 1]) of the network with parameters ``theta`` at each of ``points`` (n, 2)."""
    name, values = _resolve(activation, params)
    points = _one_seed(points, 2)
    out = np.empty(points.shape[0])
    _predict(name, values, layer_sizes(shape), _one_seed(theta, 1), points, out)
    return out


def loss_and_grad(activation: str, shape: Sequence[int], theta: np.ndarray, points: np.ndarray, labels: np.ndarray,
                  params: Sequence[float] | None = None) -> tuple[float, np.ndarray]:  # fmt: skip
    """Mean 0.5 (o - label)^2 over ``points`` (n, 2) and its gradient with respect to ``theta`` (backprop)."""
    name, values = _resolve(activation, params)
    theta = _one_seed(theta, 1)
    grad = np.empty_like(theta)
    loss = _loss_grad(name, values, layer_sizes(shape), theta, _one_seed(points, 2), _one_seed(labels, 1), grad)
    return float(loss), grad[:, 0]
