"""Shared pieces of the hand-vectorized float32 block kernels (``_tanh32``, ``_sigmoid32``,
``_silu32``, ``_logistic_grad32``): forward and derivative blocks ``f(src, dst)``
and fused backward blocks ``f(grad, src, dst)``.

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
from numba import config, types

__all__ = [
    "BLOCK", "F16", "I16", "HAVE_BLOCK_KERNEL", "Lanes", "block_intrinsic", "backward_block_intrinsic",
    "splat_f", "splat_i",
]

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


class Lanes:
    """Builds 16-lane IR: fused multiply-adds, 16- and 32-entry table lookups and signed
    int32 min/max (``builder``: the llvmlite IR builder, for everything else)."""

    def __init__(self, builder: ir.IRBuilder):
        self.builder = builder
        module = builder.module
        self._perm = module.declare_intrinsic(
            "llvm.x86.avx512.permvar.sf.512", fnty=ir.FunctionType(F16, [F16, I16])
        )
        self._perm2 = module.declare_intrinsic(
            "llvm.x86.avx512.vpermi2var.ps.512", fnty=ir.FunctionType(F16, [F16, I16, F16])
        )
        self._fma = module.globals.get("llvm.fma.v16f32") or ir.Function(
            module, ir.FunctionType(F16, [F16, F16, F16]), "llvm.fma.v16f32"
        )

    def fma(self, a, b, c):
        """a * b + c, rounded once."""
        return self.builder.call(self._fma, [a, b, c])

    def sqrt(self, a):
        """The square root, correctly rounded (one ``vsqrtps``)."""
        module = self.builder.module
        fn = module.globals.get("llvm.sqrt.v16f32") or ir.Function(
            module, ir.FunctionType(F16, [F16]), "llvm.sqrt.v16f32"
        )
        return self.builder.call(fn, [a])

    def table(self, values, index):
        """``values[index & 15]`` per lane: one ``vpermps``."""
        return self.builder.call(self._perm, [ir.Constant(F16, [float(v) for v in values]), index])

    def table32(self, values, index):
        """``values[index & 31]`` per lane for a table of 32 (or fewer: zero-padded)
        values: one ``vpermi2ps``/``vpermt2ps`` on the table's two halves."""
        padded = [float(v) for v in values] + [0.0] * (2 * BLOCK - len(values))
        low, high = ir.Constant(F16, padded[:BLOCK]), ir.Constant(F16, padded[BLOCK:])
        return self.builder.call(self._perm2, [low, index, high])

    def any_lane(self, mask):
        """True (an i1) when any of the 16 lanes of the vector compare ``mask`` is set:
        one ``kortestw``."""
        bits = self.builder.bitcast(mask, ir.IntType(BLOCK))
        return self.builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(BLOCK), 0))

    def select_where_any(self, mask, bits, evaluate):
        """``bits`` with the lanes of ``mask`` replaced by ``evaluate()`` (an <16 x i32>
        bit pattern), which is built behind one branch and runs only when some lane
        of ``mask`` is set (a rare case: a derivative's near-root window)."""
        builder = self.builder
        before = builder.block
        with builder.if_then(self.any_lane(mask), likely=False):
            replaced = builder.select(mask, evaluate(), bits)
            after = builder.block
        merged = builder.phi(I16)
        merged.add_incoming(bits, before)
        merged.add_incoming(replaced, after)
        return merged

    def short_or_general(self, ab, lo_bits, hi_bits, evaluate):
        """Build ``evaluate(general=False)`` for blocks whose 16 |x| bit patterns
        ``ab`` all lie in [lo_bits, hi_bits] (one unsigned compare tests both ends)
        and ``evaluate(general=True)`` for the others, behind one branch per block."""
        builder = self.builder
        offset = builder.sub(ab, splat_i(lo_bits))
        outside = builder.icmp_unsigned(">", offset, splat_i(hi_bits - lo_bits))
        with builder.if_else(self.any_lane(outside)) as (rare, common):
            with rare:
                evaluate(general=True)
            with common:
                evaluate(general=False)

    def smin(self, a, b):
        return self.builder.select(self.builder.icmp_signed("<", a, b), a, b)

    def smax(self, a, b):
        return self.builder.select(self.builder.icmp_signed(">", a, b), a, b)


def block_intrinsic(src, dst, emit):
    """Typing and code of a block kernel ``kernel(src, dst)`` (raw pointers, which
    may be equal): ``dst[0:16] = f(src[0:16])`` for float32.

    ``emit(lanes, bits, store)`` builds f from the input's bit pattern ``bits``
    (<16 x i32>) and calls ``store`` with the result's bit pattern, once on every
    path it builds.  For use inside a ``numba.extending.intrinsic``.
    """
    if src != types.voidptr or dst != types.voidptr:
        return None

    def codegen(context, builder, sig, args):
        x = builder.load(builder.bitcast(args[0], F16.as_pointer()), align=4)

        def store(bits):
            builder.store(builder.bitcast(bits, F16), builder.bitcast(args[1], F16.as_pointer()), align=4)

        emit(Lanes(builder), builder.bitcast(x, I16), store)
        return context.get_dummy_value()

    return types.none(src, dst), codegen


def backward_block_intrinsic(grad, src, dst, emit):
    """Typing and code of a fused backward block kernel ``kernel(grad, src, dst)``:
    ``dst[0:16] = backward_product(grad[0:16], f'(src[0:16]))`` for float32, with
    ``emit`` building f' as for :func:`block_intrinsic`.  The product is
    ``_core.backward_product`` operation for operation: a zero derivative blocks
    an infinite grad_out (the result is 0), otherwise one IEEE multiply."""
    if grad != types.voidptr or src != types.voidptr or dst != types.voidptr:
        return None

    def codegen(context, builder, sig, args):
        g = builder.load(builder.bitcast(args[0], F16.as_pointer()), align=4)
        x = builder.load(builder.bitcast(args[1], F16.as_pointer()), align=4)

        def store(bits):
            magnitude = splat_i(0x7FFFFFFF)
            zero_derivative = builder.icmp_signed("==", builder.and_(bits, magnitude), splat_i(0))
            infinite_grad = builder.icmp_signed(
                "==", builder.and_(builder.bitcast(g, I16), magnitude), splat_i(0x7F800000)
            )
            blocked = builder.and_(zero_derivative, infinite_grad)
            factor = builder.select(blocked, splat_f(0.0), g)
            product = builder.fmul(factor, builder.bitcast(bits, F16))
            builder.store(product, builder.bitcast(args[2], F16.as_pointer()), align=4)

        emit(Lanes(builder), builder.bitcast(x, I16), store)
        return context.get_dummy_value()

    return types.none(grad, src, dst), codegen
