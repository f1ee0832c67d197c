"""Every activation: scalar kernels (forward, derivative, fused backward) and its record.

Each block in these modules is the single definition of one activation.  The scalar kernels are
Numba ``@njit`` functions, generic over float32/float64 (``T = type(x)``, every
literal wrapped in ``T(...)``), branch-free (selects, not jumps) and free of libm
calls, so that LLVM vectorizes the ufunc loops built from them.

Common pattern: comparisons and clamps that may see a NaN are made on integer bits
(``abs_clamped``, ``is_positive``, ``sign_clear`` from ``_core``), because ordered
float comparisons on NaN raise the *invalid* flag that NumPy turns into a
RuntimeWarning; ``nan = x != x`` (a quiet comparison) puts the NaN back at the end
(NaN in, NaN out).

One module per group of related activations; importing this package registers
them all, in the order below (the registry's order: tests, benchmarks, the report
and the CLI list functions in it).  A new activation is one block in one module.
"""

import importlib

#: registration order (an import list would be re-sorted alphabetically by isort)
MODULES = ("logistic", "rectifiers", "softsign", "elu", "gated", "softplus", "smooth")

for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")
