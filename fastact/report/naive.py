"""The tutorial's NumPy code, as people copy it, to show beside fastact on extreme inputs.

Taken from the tutorial the project started from (a Japanese introduction to
activation functions: sigmoid, tanh, ReLU and Leaky ReLU with their derivatives,
each plotted on [-5, 5]).  One change: the tutorial's ``relu_d`` builds its array
with ``dtype=np.int``, an alias NumPy removed in 1.24, so it no longer runs at all;
it is written with the builtin ``int`` here.

:data:`NAIVE` maps a registry name to ``(forward source, derivative source)``; an
activation the tutorial does not cover has no entry, and the report says so.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

NAIVE: dict[str, tuple[str, str]] = {
    "sigmoid": (
        "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))",
        "def sigmoid_d(x):\n    return (1 / (1 + np.exp(-x))) * ( 1- (1 / (1 + np.exp(-x))))",
    ),
    "tanh": (
        "def tanh(x):\n    return (np.exp(x) -np.exp(-x)) / (np.exp(x) + np.exp(-x))",
        "def tanh_d(x):\n    return 1- ( (np.exp(x) -np.exp(-x)) / (np.exp(x) + np.exp(-x)) )**2",
    ),
    "relu": (
        "def relu(x):\n    return np.maximum(0, x)",
        "def relu_d(x):\n    return np.array(x > 0, dtype=int)  # tutorial: dtype=np.int (removed in NumPy 1.24)",
    ),
    "leaky_relu": (
        "def leaky_relu(x):\n    return np.where(x > 0, x , 0.01 * x)",
        "def leaky_relu_d(x):\n    return np.where(x>0,1,0.01)",
    ),
}


def compile_source(source: str) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """``(name, function)`` defined by one ``def`` of tutorial code (NumPy as ``np``)."""
    namespace: dict = {"np": np}
    exec(source, namespace)
    (name,) = [k for k, v in namespace.items() if callable(v) and k != "np"]
    return name, namespace[name]
