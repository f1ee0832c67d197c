"""Shared pieces of the hand-vectorized float32 block kernels (``_tanh32``, ``_sigmoid32``).

A block kernel evaluates 16 float32 values with explicit LLVM vector IR, for
table lookups that LLVM's loop vectorizer would turn into gathers (3-4x slower
than one ``vpermps`` on a 16-entry table held in a register).  Each block kernel
has a scalar twin written operation for operation the same way (explicit FMAs),
used for single values, loop remainders and CPUs without AVX-512, so that every
layout of a call gives bitwise the same results.
"""

from __future__ import annotations

from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import config

__all__ = ["BLOCK", "F16", "I16", "HAVE_BLOCK_KERNEL", "splat_f", "splat_i", "vector_intrinsics"]

#: elements per block kernel call
BLOCK = 16

F16 = ir.VectorType(ir.FloatType(), BLOCK)
I16 = ir.VectorType(ir.IntType(32), BLOCK)


def _have_avx512() -> bool:
    # Numba compiles for the host unless told otherwise (NUMBA_CPU_NAME, e.g. for
    # a portable cache); the block kernels need AVX-512F on the target.
    if config.CPU_NAME not in (None, "host"):
        return False
    return bool(llvm_binding.get_host_cpu_features().get("avx512f", False))


HAVE_BLOCK_KERNEL = _have_avx512()


def splat_i(v: int) -> ir.Constant:
    """An int32 constant in all 16 lanes."""
    return ir.Constant(I16, [v] * BLOCK)


def splat_f(v: float) -> ir.Constant:
    """A float32 constant in all 16 lanes."""
    return ir.Constant(F16, [float(v)] * BLOCK)


def vector_intrinsics(module: ir.Module):
    """``(permute, fma)`` declared in ``module``: ``vpermps`` (lane i of the result
    is lane ``index[i] & 15`` of the table) and the 16-lane fused multiply-add."""
    perm = module.declare_intrinsic("llvm.x86.avx512.permvar.sf.512", fnty=ir.FunctionType(F16, [F16, I16]))
    fma16 = module.globals.get("llvm.fma.v16f32") or ir.Function(
        module, ir.FunctionType(F16, [F16, F16, F16]), "llvm.fma.v16f32"
    )
    return perm, fma16
