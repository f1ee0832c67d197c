"""One record per activation, and the machinery that turns records into ufuncs.

An :class:`Activation` holds everything about a function in one place: its scalar
kernels (forward, derivative, fused backward), its NumPy reference, its mpmath
definition for the accuracy tests, its parameters with defaults, its accuracy
bound per dtype, its limits at +-inf and its aliases.  The public API, the tests,
the benchmarks and the reports all iterate over :data:`REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._loops import make_ufunc

__all__ = ["Activation", "Param", "REGISTRY", "register", "build_public"]


@dataclass(frozen=True)
class Param:
    """A scalar parameter of an activation, passed as an extra ufunc argument."""

    name: str
    default: float
    doc: str


@dataclass(frozen=True)
class Activation:
    """Everything that defines one activation function.

    Kernels are Numba ``@njit`` scalar functions ``f(x, *params)``; the backward
    kernel is ``f(grad_out, x, *params)``.  ``mp_forward``/``mp_grad`` take the
    ``mpmath`` module first so that the record does not import mpmath (a test-only
    dependency): ``mp_forward(mp, x, *params)``.
    """

    name: str
    summary: str
    formula: str
    grad_formula: str
    forward: Any
    grad: Any
    backward: Any
    reference: Callable[..., np.ndarray]
    reference_grad: Callable[..., np.ndarray]
    mp_forward: Callable[..., Any]
    mp_grad: Callable[..., Any]
    params: tuple[Param, ...] = ()
    #: max error in ULPs of the correctly rounded result, per dtype name
    ulp_bound: dict[str, float] = field(default_factory=lambda: {"float32": 2.0, "float64": 2.0})
    #: (f(-inf), f(+inf)) and (f'(-inf), f'(+inf))
    limits: tuple[float, float] = (0.0, 0.0)
    grad_limits: tuple[float, float] = (0.0, 0.0)
    #: stable evaluation, kink conventions, special values: the docstring's notes
    notes: str = ""
    aliases: tuple[str, ...] = ()
    #: uses the exp/expm1 core: its loops must be vectorized (tested)
    transcendental: bool = False
    #: streaming stores for large outputs (None: unless transcendental); False for
    #: a kernel whose arithmetic bounds it even at 10^7 (squareplus: a square root
    #: and two divisions), where the streamed path's chunks only cost
    stream: bool | None = None
    #: piecewise linear: results are exact, tested bitwise
    exact: bool = False
    #: forward non-decreasing and derivative >= 0 (hard_silu dips below 0: False)
    monotone: bool = True
    #: points (at the default parameters) where the derivative jumps: numerical
    #: differentiation keeps away from them
    kinks: tuple[float, ...] = ()
    #: per dtype, the |x| from which forward and derivative equal their finite limits
    #: at +-inf exactly (exp-based functions: 1000; softsign only at 2**64 / 2**512)
    saturation: dict[str, float] = field(default_factory=lambda: {"float32": 1000.0, "float64": 1000.0})
    #: optional hand-vectorized float32 forward kernel for contiguous blocks of 16
    #: (an intrinsic ``block(src, dst)``; it must match ``forward`` bit for bit; for
    #: an activation with parameters, ``forward`` at the default parameters, where
    #: it serves the loop with the defaults compiled in and the loop with parameter
    #: arguments when they are broadcast and equal to the defaults)
    forward_block_f32: Any = None
    #: the same for the derivative and the fused backward (``block(grad, src, dst)``),
    #: matching ``grad`` and ``backward`` bit for bit
    grad_block_f32: Any = None
    backward_block_f32: Any = None
    #: the same three for float64 (16 doubles per block)
    forward_block_f64: Any = None
    grad_block_f64: Any = None
    backward_block_f64: Any = None

    @property
    def param_defaults(self) -> tuple[float, ...]:
        return tuple(p.default for p in self.params)

    @property
    def streamed(self) -> bool:
        """Whether large outputs are written with streaming stores (``stream``, or by
        default the memory-bound kernels: those without an exp core)."""
        return not self.transcendental if self.stream is None else self.stream

    @property
    def public_names(self) -> tuple[str, str, str]:
        return (self.name, self.name + "_grad", self.name + "_backward")


REGISTRY: dict[str, Activation] = {}


def register(act: Activation) -> Activation:
    """Add an activation to the registry (names must be unique)."""
    if act.name in REGISTRY:
        raise ValueError(f"activation {act.name!r} registered twice")
    REGISTRY[act.name] = act
    return act


# --------------------------------------------------------------------------------
# Ufunc construction
# --------------------------------------------------------------------------------
#: compiled ufunc inner loops by (public name, dtype name): they own the machine
#: code the ufuncs point into (so they must stay alive), and the vectorization test
#: inspects them.
LOOPS: dict[tuple[str, str], Any] = {}
#: (ufunc name, dtype) -> its loop's data record (threshold for multi-threading, ...)
LOOP_RECORDS: dict[tuple[str, str], np.ndarray] = {}
#: what the ufuncs point into (loops, C arrays, name strings): never freed
_KEEPALIVE: list = []


def _ufunc(
    kernel: Any, name: str, narrays: int, nparams: int, doc: str, baked: tuple = (), block_f32: Any = None,
    stream: bool = False, quiet_range: bool = False, block_params: tuple = (), block_f64: Any = None,
) -> np.ufunc:
    """Compile a scalar kernel into a real ``numpy.ufunc`` with float32 and float64 loops.

    With ``baked`` parameter values the ufunc takes the arrays only and has the
    parameters compiled in (the default-parameter fast path).
    """
    ufunc, keepalive = make_ufunc(kernel, name, narrays, nparams, doc, baked=baked, block_f32=block_f32,
                                  stream=stream, quiet_range=quiet_range, block_params=block_params,
                                  block_f64=block_f64)
    key = name + "[defaults]" if baked else name
    for dtype, loop, record in zip(("float32", "float64"), keepalive[0], keepalive[1], strict=True):
        LOOPS[key, dtype] = loop
        LOOP_RECORDS[key, dtype] = record
    _KEEPALIVE.append(keepalive)
    return ufunc


def _with_defaults(
    ufunc: np.ufunc, baked: np.ufunc, name: str, leading: tuple[str, ...], params: tuple[Param, ...], doc: str
):
    """A thin Python wrapper over ``ufunc`` that supplies parameter defaults.

    ``name(x, /, negative_slope=0.01, *, out=None, **ufunc_keywords)``: parameters
    by position or keyword, every ufunc keyword passed through.  With every
    parameter at its default (the very default objects, i.e. omitted) it calls
    ``baked``, a ufunc with the defaults compiled in: NumPy then has no Python
    scalar to convert, which halves the per-call cost.  That path is taken for
    float32/float64 arrays only, so that other inputs (ints, Python scalars) get
    exactly the type resolution of the explicit call, and only without other ufunc
    keywords: unpacking even an empty ``**kwargs`` into the call costs ~0.15 us, a
    fifth of the whole call.  The wrapper is generated with an explicit signature,
    since a generic ``*args, **kwargs`` one costs ~0.5 us per call.  It is a
    module-level name of :mod:`fastact`, so it pickles by reference.
    """
    lead = ", ".join(leading)
    pnames = [p.name for p in params]
    at_default = " and ".join(f"{n} is DEFAULT{j}" for j, n in enumerate(pnames))
    src = (
        f"def {name}({lead}, /, {', '.join(f'{n}=DEFAULT{j}' for j, n in enumerate(pnames))}, *, out=None, **kwargs):\n"
        f"    if {at_default} and not kwargs and type({leading[-1]}) is NDARRAY and {leading[-1]}.dtype in FLOATS:\n"
        f"        return baked({lead}, out=out)\n"
        f"    return ufunc({lead}, {', '.join(pnames)}, out=out, **kwargs)\n"
    )
    namespace = {
        "ufunc": ufunc,
        "baked": baked,
        "FLOATS": (np.dtype(np.float32), np.dtype(np.float64)),
        "NDARRAY": np.ndarray,
        **{f"DEFAULT{j}": p.default for j, p in enumerate(params)},
    }
    exec(src, namespace)
    call = namespace[name]
    call.__module__ = "fastact"
    call.__doc__ = doc
    call.ufunc = ufunc
    return call


def _docstring(act: Activation, kind: str) -> str:
    bound = ", ".join(f"{dt} <= {b:g} ULP" for dt, b in act.ulp_bound.items())
    lines = []
    if kind == "forward":
        lines += [act.summary, "", f"    {act.name}(x) = {act.formula}"]
    elif kind == "grad":
        lines += [f"Derivative of {act.name} with respect to x.", "", f"    {act.name}_grad(x) = {act.grad_formula}"]
    else:
        lines += [
            f"Fused chain rule of {act.name}: grad_out * {act.name}_grad(x) in one pass.",
            "",
            f"    {act.name}_backward(grad_out, x) = grad_out * ({act.grad_formula})",
            "",
            "Where the derivative is exactly 0 the gradient is blocked: the result is",
            "0 even for an infinite grad_out (PyTorch's threshold_backward rule; IEEE",
            "inf * 0 would be NaN with a warning).  A NaN grad_out gives NaN.",
        ]
    if act.params:
        lines += ["", "Parameters (ufunc arguments after x, with defaults):"]
        lines += [f"    {p.name} = {p.default!r}: {p.doc}" for p in act.params]
    if act.notes:
        lines += ["", act.notes.strip()]
    if kind == "backward":
        lines += [
            "",
            f"Accuracy: the derivative within {bound}, times grad_out with one rounding",
            "(below the smallest normal number the product is subnormal or +-0, absolute",
            "error < smallest normal; beyond the largest finite number it is +-inf).",
        ]
    else:
        lines += [
            "",
            f"Accuracy: max error {bound} of the correctly rounded result; results below the",
            "smallest normal number are flushed to +0 (absolute error < smallest normal).",
        ]
    lines += [
        "NaN in, NaN out; no floating-point warning for any input.",
        "float32 in -> float32 out, float64 in -> float64 out.",
    ]
    if act.aliases:
        lines += ["", "Aliases: " + ", ".join(act.aliases)]
    return "\n".join(lines)


def build_public(act: Activation) -> dict[str, Any]:
    """Compile the three ufuncs of ``act``.

    Returns ``{public name: callable}`` plus ``{"ufunc:" + name: raw ufunc}``.  The
    callables are the raw ufuncs themselves for parameter-free activations and thin
    default-supplying wrappers otherwise.
    """
    nparam = len(act.params)
    specs = (
        (act.name, act.forward, ("x",), "forward", (act.forward_block_f32, act.forward_block_f64)),
        (act.name + "_grad", act.grad, ("x",), "grad", (act.grad_block_f32, act.grad_block_f64)),
        (act.name + "_backward", act.backward, ("grad_out", "x"), "backward",
         (act.backward_block_f32, act.backward_block_f64)),
    )
    # Memory-bound kernels (by default those without an exp core: Activation.streamed)
    # write large outputs with streaming stores; for the exp-based ones they measured
    # no faster (tools/stream_threshold.py).
    stream = act.streamed
    out: dict[str, Any] = {}
    for name, kernel, leading, kind, (block, block64) in specs:
        doc = _docstring(act, kind)
        # the fused backward kernels end in backward_product: a plain product whose
        # overflow and underflow flags their loops discard
        quiet = kind == "backward"
        # a block kernel computes the function at the default parameters: it serves
        # the loops with the defaults compiled in, and those with parameter
        # arguments where these are broadcast and equal to the defaults
        uf = _ufunc(kernel, name, len(leading), nparam, doc, block_f32=block, stream=stream, quiet_range=quiet,
                    block_params=act.param_defaults, block_f64=block64)
        out["ufunc:" + name] = uf
        if nparam:
            baked = _ufunc(kernel, name, len(leading), 0, doc, baked=act.param_defaults, block_f32=block,
                           stream=stream, quiet_range=quiet, block_f64=block64)
            out[name] = _with_defaults(uf, baked, name, leading, act.params, doc)
        else:
            out[name] = uf
    return out
