"""Shared pieces of the hand-vectorized block kernels (``_tanh32``, ``_sigmoid32``,
``_silu32``, ``_logistic_grad32``, ``_rectifiers64``, ...): forward and derivative
blocks ``f(src, dst)`` and fused backward blocks ``f(grad, src, dst)``.

A block kernel evaluates 16 values with explicit LLVM vector IR: for table
lookups that LLVM's loop vectorizer would turn into gathers or, on AVX2, into
scalar loads and inserts (3-4x slower than permutes of a table held in
registers), and for a per-block branch that sends the usual blocks down a short
path without the clamps and selects that only tails, tiny values and NaN need.
Each block kernel has a scalar twin written operation for operation the same way
(explicit FMAs), used for single values, loop remainders and CPUs with neither
AVX-512 nor AVX2, so that every layout of a call gives bitwise the same results.

Two instruction sets (:data:`BLOCK_ISA`, from the host): AVX-512, where a
float32 block is one zmm register, a 16-entry table one ``vpermps``, a 32-entry
table one ``vpermi2ps`` and 2^k one ``vscalefps``; and AVX2 with FMA, where LLVM
splits each block into ymm halves and :class:`Lanes` builds the tables from
8-entry ``vpermps`` and blends (several 32-entry tables read at one index: row
loads and in-register transposes, :meth:`Lanes.tables32`) and 2^k as a multiply
by a power of 2, with the same results bit for bit.  (Before the AVX2 path, AVX2
machines ran the scalar twins, whose table lookups LLVM vectorized as scalar
loads: sigmoid, tanh, silu and the exp-based derivatives took 3-4x their time
now.)

float32 blocks are <16 x float>; float64 blocks are <16 x double>, which LLVM
splits into two zmm (four ymm) registers: the loops in ``_loops`` step 16
elements either way, and the per-block branch tests 16 values.
:class:`Lanes` carries the element type: ``v.F``/``v.I`` (vector types),
``v.splat_f``/``v.splat_i`` (constants); the module-level ``F16``, ``I16``,
``splat_f`` and ``splat_i`` are the float32 ones.
"""

from __future__ import annotations

import hashlib

from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import config, types

__all__ = [
    "BLOCK", "BLOCK_ISA", "F16", "I16", "F16D", "I16Q", "HAVE_BLOCK_KERNEL", "Lanes", "all_in_range", "block_intrinsic",
    "backward_block_intrinsic", "splat_f", "splat_i",
]

#: elements per block kernel call
BLOCK = 16

F16 = ir.VectorType(ir.FloatType(), BLOCK)
I16 = ir.VectorType(ir.IntType(32), BLOCK)
# one ymm register: the AVX2 table lookups work on 8-lane halves
_F8 = ir.VectorType(ir.FloatType(), 8)
_I8 = ir.VectorType(ir.IntType(32), 8)
# one zmm register of doubles (the float64 table lookups), and a ymm one (AVX2)
_D8 = ir.VectorType(ir.DoubleType(), 8)
_Q8 = ir.VectorType(ir.IntType(64), 8)
_D4 = ir.VectorType(ir.DoubleType(), 4)
_Q4 = ir.VectorType(ir.IntType(64), 4)
#: the float64 block: 16 doubles and their 64-bit patterns (two zmm registers each)
F16D = ir.VectorType(ir.DoubleType(), BLOCK)
I16Q = ir.VectorType(ir.IntType(64), BLOCK)
#: per element type: (float vector, int vector, LLVM type suffix, sign bit, |x| mask, +inf bits, alignment)
_GEOMETRY = {
    "float32": (F16, I16, "v16f32", -(2**31), 0x7FFFFFFF, 0x7F800000, 4),
    "float64": (F16D, I16Q, "v16f64", -(2**63), 0x7FFFFFFFFFFFFFFF, 0x7FF0000000000000, 8),
}


def named_target_cpu() -> str | None:
    """The CPU that NUMBA_CPU_NAME tells Numba to compile for (e.g. "generic", for a
    portable cache), or None where Numba compiles for the host (unset or "host").
    The one test of it: the block kernels' instruction set (:func:`_block_isa`)
    and the loops' prefetch rule (``_loops.SPAN_PREFETCH``) both follow it."""
    return None if config.CPU_NAME in (None, "host") else config.CPU_NAME


def _block_isa() -> str | None:
    """The instruction set the block kernels are built for: "avx512" (one zmm
    ``vpermps``/``vpermi2ps``/``vscalefps`` per table or scaling), "avx2" (the
    same lanes as two ymm halves, tables from ``vpermps`` ymm and blends, the
    scaling as a multiply by a power of 2: bitwise the same results), or None
    (no block kernels: the loops run the scalar twins).  Numba compiles for the
    host unless told otherwise (NUMBA_CPU_NAME, e.g. for a portable cache): then
    None, since the target's features are unknown."""
    if named_target_cpu() is not None:
        return None
    features = llvm_binding.get_host_cpu_features()
    if features.get("avx512f", False):
        return "avx512"
    if features.get("avx2", False) and features.get("fma", False):
        return "avx2"
    return None


#: "avx512", "avx2" or None: see :func:`_block_isa`
BLOCK_ISA = _block_isa()
HAVE_BLOCK_KERNEL = BLOCK_ISA is not None


def splat_i(v: int) -> ir.Constant:
    """An int32 constant in all 16 lanes."""
    return ir.Constant(I16, [v] * BLOCK)


def splat_f(v: float) -> ir.Constant:
    """A float32 constant in all 16 lanes."""
    return ir.Constant(F16, [float(v)] * BLOCK)


class Lanes:
    """Builds 16-lane IR for one element type (``dtype``: "float32" or "float64"):
    fused multiply-adds, square roots, table lookups (float32: 16 and 32 entries;
    float64: 8),
    signed integer min/max on bit patterns and the per-block branches
    (``builder``: the llvmlite IR builder, for everything else)."""

    def __init__(self, builder: ir.IRBuilder, dtype: str = "float32"):
        self.builder = builder
        self.dtype = dtype
        self.F, self.I, self._suffix, self.SIGN, self.ABS, self.INF_BITS, self.align = _GEOMETRY[dtype]
        module = builder.module
        if dtype == "float32" and BLOCK_ISA == "avx512":
            self._perm = module.declare_intrinsic(
                "llvm.x86.avx512.permvar.sf.512", fnty=ir.FunctionType(F16, [F16, I16])
            )
            self._perm2 = module.declare_intrinsic(
                "llvm.x86.avx512.vpermi2var.ps.512", fnty=ir.FunctionType(F16, [F16, I16, F16])
            )
        elif dtype == "float64" and BLOCK_ISA == "avx512":
            self._permd = module.declare_intrinsic(
                "llvm.x86.avx512.permvar.df.512", fnty=ir.FunctionType(_D8, [_D8, _Q8])
            )
        if BLOCK_ISA != "avx512":
            self._perm8 = module.declare_intrinsic("llvm.x86.avx2.permps", fnty=ir.FunctionType(_F8, [_F8, _I8]))
        self._fma = self._intrinsic("fma", 3)

    def _intrinsic(self, name: str, nargs: int):
        module = self.builder.module
        full = f"llvm.{name}.{self._suffix}"
        return module.globals.get(full) or ir.Function(module, ir.FunctionType(self.F, [self.F] * nargs), full)

    def splat_f(self, v: float) -> ir.Constant:
        """A floating-point constant in all 16 lanes."""
        return ir.Constant(self.F, [float(v)] * BLOCK)

    def splat_i(self, v: int) -> ir.Constant:
        """An integer constant (a bit pattern) in all 16 lanes."""
        return ir.Constant(self.I, [int(v)] * BLOCK)

    def fma(self, a, b, c):
        """a * b + c, rounded once."""
        return self.builder.call(self._fma, [a, b, c])

    def sqrt(self, a):
        """The square root, correctly rounded (``vsqrtps``/``vsqrtpd``)."""
        return self.builder.call(self._intrinsic("sqrt", 1), [a])

    def bfloat16_low(self, packed):
        """:func:`fastact._core.bfloat16_low` per lane: the bfloat16 in the low 16
        bits of each float32 of ``packed``, as a float32 (one shift)."""
        builder = self.builder
        return builder.bitcast(builder.shl(builder.bitcast(packed, I16), splat_i(16)), F16)

    def table(self, values, index):
        """``values[index & 15]`` per lane: one ``vpermps`` (AVX2: :meth:`_table_avx2`)."""
        if BLOCK_ISA != "avx512":
            return self._table_avx2(values, index, 4)
        return self.builder.call(self._perm, [ir.Constant(F16, [float(v) for v in values]), index])

    def table32(self, values, index):
        """``values[index & 31]`` per lane for a table of 32 (or fewer: zero-padded)
        values: one ``vpermi2ps``/``vpermt2ps`` on the table's two halves (AVX2:
        :meth:`_table_avx2`)."""
        if BLOCK_ISA != "avx512":
            return self._table_avx2(values, index, 5)
        padded = [float(v) for v in values] + [0.0] * (2 * BLOCK - len(values))
        low, high = ir.Constant(F16, padded[:BLOCK]), ir.Constant(F16, padded[BLOCK:])
        return self.builder.call(self._perm2, [low, index, high])

    def tables32(self, tables, index):
        """``[table32(t, index) for t in tables]``: several 32-entry tables read at
        one index, the same values.  AVX-512: one ``vpermi2ps`` each.  AVX2:
        :meth:`_tables32_rows` for each four tables (a lone last one by
        :meth:`table32`).  Zen 3, 10^6 float32 values, against the rule kept:
        gelu' with its ninth table padded into a third row group 2.87-2.91
        ns/value against 2.29 (and 2.09 since its ninth, a low part, shares a
        float32 with another: eight tables); every table left over from whole groups of four
        read by permutes, gelu 2.24-2.31 against 1.56, silu' 1.93-2.33 against
        1.38-1.44, tanhshrink 1.88-2.02 against 1.35."""
        if BLOCK_ISA == "avx512":
            return [self.table32(t, index) for t in tables]
        quads = len(tables) // 4 + (1 if len(tables) % 4 > 1 else 0)
        values = self._tables32_rows(tables[:4 * quads], index, quads) if quads else []
        return values + [self.table32(t, index) for t in tables[4 * quads:]]

    def _tables32_rows(self, tables, index, quads):
        """AVX2 lookups of up to 4 * ``quads`` 32-entry tables by row: the tables
        transposed into a constant array of 32 rows (row j holds every table's
        entry j, 16 bytes per four tables), and per 8-lane half each lane's row
        loaded by its index (4-float loads, two lanes' per ymm register) and
        transposed back in registers, 4x4 within each 128-bit lane (8 in-lane
        shuffles per four tables).  ``vpermps`` issues from one port on Zen 3 and
        a 32-entry table takes 4 of them and 3 blends per half, so 7 tables (gelu's
        F) took 28 cycles of that port per 8 values; loads issue from three ports
        and these shuffles from two."""
        builder = self.builder
        width = 4 * quads
        padded = [list(map(float, t)) + [0.0] * (32 - len(t)) for t in tables]
        padded += [[0.0] * 32] * (width - len(padded))
        row_type = ir.ArrayType(ir.FloatType(), width)
        rows = ir.Constant(ir.ArrayType(row_type, 32),
                           [ir.Constant(row_type, [padded[c][r] for c in range(width)]) for r in range(32)])
        name = "fastact.rows32." + hashlib.sha1(repr(padded).encode()).hexdigest()[:16]
        module = builder.module
        table = module.globals.get(name)
        if table is None:
            table = ir.GlobalVariable(module, rows.type, name)
            table.initializer = rows
            table.global_constant = True
            table.linkage = "internal"
            table.align = 64
        i32, i64 = ir.IntType(32), ir.IntType(64)
        f4p = ir.VectorType(ir.FloatType(), 4).as_pointer()
        # the row numbers of two lanes per 64-bit element, taken out as pairs: one
        # vpextrq and a shift or mask for two lanes, where vpextrd takes a
        # vector-port operation per lane
        pairs = builder.bitcast(builder.and_(index, splat_i(31)), ir.VectorType(i64, BLOCK // 2))
        # the 4x4 transpose within each 128-bit lane: interleave rows 0 and 1 (2 and
        # 3) by single floats, then the two results by float pairs
        low, high = ir.Constant(_I8, [0, 8, 1, 9, 4, 12, 5, 13]), ir.Constant(_I8, [2, 10, 3, 11, 6, 14, 7, 15])
        even, odd = ir.Constant(_I8, [0, 1, 8, 9, 4, 5, 12, 13]), ir.Constant(_I8, [2, 3, 10, 11, 6, 7, 14, 15])
        # per half, per quad: the four coefficient vectors of 8 lanes
        out = [[None, None] for _ in range(width)]
        for half in range(2):
            loads = []  # loads[lane][quad]
            for lane in range(8):
                pair = builder.extract_element(pairs, ir.Constant(i32, (8 * half + lane) // 2))
                j = builder.lshr(pair, ir.Constant(i64, 32)) if lane % 2 else builder.and_(pair, ir.Constant(i64, 31))
                loads.append([builder.load(builder.bitcast(
                    builder.gep(table, [ir.Constant(i64, 0), j, ir.Constant(i32, 4 * quad)], inbounds=True), f4p),
                    align=16) for quad in range(quads)])
            for quad in range(quads):
                # rows i and i + 4 side by side: each 128-bit lane holds four rows
                pair = [builder.shuffle_vector(loads[i][quad], loads[i + 4][quad], ir.Constant(_I8, list(range(8))))
                        for i in range(4)]
                lo01, hi01 = (builder.shuffle_vector(pair[0], pair[1], m) for m in (low, high))
                lo23, hi23 = (builder.shuffle_vector(pair[2], pair[3], m) for m in (low, high))
                for c, (x, y, m) in enumerate(((lo01, lo23, even), (lo01, lo23, odd), (hi01, hi23, even),
                                               (hi01, hi23, odd))):
                    out[4 * quad + c][half] = builder.shuffle_vector(x, y, m)
        whole = ir.Constant(I16, list(range(BLOCK)))
        return [builder.shuffle_vector(lo, hi, whole) for lo, hi in out[:len(tables)]]

    def table8(self, values, index):
        """``values[index & 7]`` per lane of a float64 block, for a table of 8
        doubles: one ``vpermpd`` per zmm half.  AVX2: per ymm quarter (4 lanes),
        the table as 16 floats in two ymm, a ``vpermps`` on each with the
        index pair (2j, 2j + 1) per lane and a blend on bit 2 of j (the same
        doubles, moved as halves)."""
        builder = self.builder
        undef = ir.Constant(I16Q, None)
        if BLOCK_ISA == "avx512":
            table = ir.Constant(_D8, [float(v) for v in values])
            halves = []
            for half in range(2):
                idx = builder.shuffle_vector(index, undef, ir.Constant(_I8, list(range(8 * half, 8 * half + 8))))
                halves.append(builder.call(self._permd, [table, idx]))
            return builder.shuffle_vector(halves[0], halves[1], ir.Constant(I16, list(range(BLOCK))))
        parts = [builder.bitcast(ir.Constant(_D4, [float(v) for v in values[i:i + 4]]), _F8) for i in (0, 4)]
        quarters = []
        q4 = ir.VectorType(ir.IntType(32), 4)
        for quarter in range(4):
            j = builder.shuffle_vector(index, undef, ir.Constant(q4, list(range(4 * quarter, 4 * quarter + 4))))
            # (2j, 2j + 1) as the two 32-bit halves of each 64-bit lane, mod 8 (all
            # vpermps reads): 2j's low half copied into both halves, the high one's
            # low bit set
            two_j = builder.bitcast(builder.add(j, j), _I8)
            idx = builder.or_(builder.shuffle_vector(two_j, ir.Constant(_I8, None),
                                                     ir.Constant(_I8, [0, 0, 2, 2, 4, 4, 6, 6])),
                              ir.Constant(_I8, [0, 1] * 4))
            low, high = (builder.bitcast(builder.call(self._perm8, [part, idx]), _D4) for part in parts)
            take_high = builder.icmp_signed("!=", builder.and_(j, ir.Constant(_Q4, [4] * 4)), ir.Constant(_Q4, [0] * 4))
            quarters.append(builder.select(take_high, high, low))
        pairs = [builder.shuffle_vector(quarters[i], quarters[i + 1], ir.Constant(_I8, list(range(8))))
                 for i in (0, 2)]
        return builder.shuffle_vector(pairs[0], pairs[1], ir.Constant(I16, list(range(BLOCK))))

    def _table_avx2(self, values, index, bits):
        """``values[index & (2^bits - 1)]`` per lane with AVX2's 8-entry ``vpermps``
        (ymm): on each 8-lane half of the block, one permute per 8 table entries,
        then a binary tree of blends on the index bits from 3 up (2^(bits-3) - 1
        blends; the bit masks are shared by every table of a kernel).  On Zen 3
        this is 1.6-2.5x faster than the same lookups as ``vgatherdps``."""
        builder = self.builder
        size = 1 << bits
        padded = [float(v) for v in values] + [0.0] * (size - len(values))
        parts = [ir.Constant(_F8, padded[i:i + 8]) for i in range(0, size, 8)]
        halves = []
        for half in range(2):
            lanes = ir.Constant(_I8, list(range(8 * half, 8 * half + 8)))
            idx = builder.shuffle_vector(index, ir.Constant(I16, None), lanes)
            level = [builder.call(self._perm8, [part, idx]) for part in parts]
            bit = 3
            while len(level) > 1:
                take_high = builder.icmp_signed("!=", builder.and_(idx, ir.Constant(_I8, [1 << bit] * 8)),
                                                ir.Constant(_I8, [0] * 8))
                level = [builder.select(take_high, level[i + 1], level[i]) for i in range(0, len(level), 2)]
                bit += 1
            halves.append(level[0])
        return builder.shuffle_vector(halves[0], halves[1], ir.Constant(I16, list(range(BLOCK))))

    def scalef(self, a, k, *, where=None, quiet=False, otherwise=None):
        """a 2^k per lane, k an exponent in both its forms (``_sigmoid32.Exponent``):
        ``k.real``, a float whose floor is k (``vscalefps``'s operand), and
        ``k.integer``, <16 x i32> (from which AVX2 builds the power,
        :meth:`_scalef_avx2`).  2^k must be normal in every lane of ``where``; the
        product is then exact wherever it is normal, which is
        where the short paths use it, to apply an exponent without the bit
        pattern's shift, mask and add.  Float32 only.  Lanes outside ``where`` (a
        vector compare; all lanes when None) keep a, or take ``otherwise`` (a
        vector: zero-masking with zeros).  ``quiet``: with exceptions suppressed
        (``{sae}``), for lanes whose subnormal or zero results are discarded (no
        underflow flag from them).  AVX-512: one ``vscalefps``."""
        if self.dtype != "float32":
            raise NotImplementedError("scalef: float32 lanes only")
        if BLOCK_ISA != "avx512":
            return self._scalef_avx2(a, k.integer, where, quiet, otherwise)
        builder = self.builder
        mask_type = ir.IntType(BLOCK)
        name = "llvm.x86.avx512.mask.scalef.ps.512"
        scalef = builder.module.globals.get(name) or ir.Function(
            builder.module, ir.FunctionType(F16, [F16, F16, F16, mask_type, ir.IntType(32)]), name
        )
        mask = ir.Constant(mask_type, 2**BLOCK - 1) if where is None else builder.bitcast(where, mask_type)
        # 4: the current rounding; 8: to nearest, exceptions suppressed
        kept = a if otherwise is None else otherwise
        return builder.call(scalef, [a, k.real, kept, mask, ir.Constant(ir.IntType(32), 8 if quiet else 4)])

    def _scalef_avx2(self, a, n, where, quiet, otherwise):
        """:meth:`scalef` without AVX-512, the same bits (2^n normal).  Without
        ``quiet``: a times the power (n + 127) << 23; multiplying by an exact power
        of 2 rounds once, as ``vscalefps`` does, and raises the same flags; lanes
        outside ``where`` multiply by 1.  ``quiet`` (``{sae}``: no flag from any
        lane, for lanes whose subnormal or zero results are discarded): n added to
        a's exponent field, integer arithmetic that is exact wherever a and a 2^n
        are normal.  Every caller has n as an integer anyway (the exp-based short
        paths' k >= -126): from the float form it took a floor, a conversion and a
        subnormal select more, five vector operations per 8 lanes."""
        builder = self.builder
        if quiet:
            shifted = builder.add(builder.bitcast(a, I16), builder.shl(n, splat_i(23)))
            product = builder.bitcast(shifted, F16)
        else:
            power = builder.bitcast(builder.shl(builder.add(n, splat_i(127)), splat_i(23)), F16)
            if where is not None:  # no flag, and no poison from an exponent out of range, outside where
                power = builder.select(where, power, splat_f(1.0))
            product = builder.fmul(a, power)
        if where is None:
            return product
        return builder.select(where, product, a if otherwise is None else otherwise)

    def any_lane(self, mask):
        """True (an i1) when any of the 16 lanes of the vector compare ``mask`` is set:
        one ``kortestw`` (AVX2: a ``vmovmskps`` per half and an or)."""
        bits = self.builder.bitcast(mask, ir.IntType(BLOCK))
        return self.builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(BLOCK), 0))

    def select_where_any(self, mask, bits, evaluate):
        """``bits`` with the lanes of ``mask`` replaced by ``evaluate()`` (a bit-pattern
        vector), which is built behind one branch and runs only when some lane
        of ``mask`` is set (a rare case: a derivative's near-root window)."""
        builder = self.builder
        before = builder.block
        with builder.if_then(self.any_lane(mask), likely=False):
            replaced = builder.select(mask, evaluate(), bits)
            after = builder.block
        merged = builder.phi(self.I)
        merged.add_incoming(bits, before)
        merged.add_incoming(replaced, after)
        return merged

    def short_or_general(self, ab, lo_bits, hi_bits, evaluate):
        """Build ``evaluate(general=False)`` for blocks whose 16 |x| bit patterns
        ``ab`` all lie in [lo_bits, hi_bits] (one unsigned compare tests both ends)
        and ``evaluate(general=True)`` for the others, behind one branch per block:
        :meth:`dispatch` with one tier (kernels with more kinds of block call it)."""
        self.dispatch(ab, [(lo_bits, hi_bits, lambda: evaluate(general=False))], lambda: evaluate(general=True))

    def dispatch(self, ab, tiers, general):
        """Build each tier's code for the blocks whose 16 |x| bit patterns ``ab`` all
        lie in its range, and ``general()`` for the rest: ``tiers`` is a list of
        ``(lo_bits, hi_bits, build)``, tested in order, each behind one branch (one
        unsigned compare per range) that only the blocks outside the earlier tiers
        reach; the first tier is the common case."""
        if not tiers:
            general()
            return
        (lo, hi, build), rest = tiers[0], tiers[1:]
        with self.builder.if_else(self.any_lane(self.outside(ab, lo, hi))) as (outside, inside):
            with outside:
                self.dispatch(ab, rest, general)
            with inside:
                build()

    def outside(self, ab, lo_bits, hi_bits):
        """The lanes whose |x| bit pattern (``ab``) lies outside [lo_bits, hi_bits]:
        one subtract and one unsigned compare test both ends."""
        builder = self.builder
        return builder.icmp_unsigned(">", builder.sub(ab, self.splat_i(lo_bits)), self.splat_i(hi_bits - lo_bits))

    def smin(self, a, b):
        return self.builder.select(self.builder.icmp_signed("<", a, b), a, b)

    def smax(self, a, b):
        return self.builder.select(self.builder.icmp_signed(">", a, b), a, b)


def block_intrinsic(src, dst, emit, dtype: str = "float32"):
    """Typing and code of a block kernel ``kernel(src, dst)`` (raw pointers, which
    may be equal): ``dst[0:16] = f(src[0:16])`` for ``dtype``.

    ``emit(lanes, bits, store)`` builds f from the input's bit pattern ``bits``
    (<16 x i32> or <16 x i64>) and calls ``store`` with the result's bit pattern,
    once on every path it builds.  For use inside a ``numba.extending.intrinsic``.
    """
    if src != types.voidptr or dst != types.voidptr:
        return None
    fvec, ivec, align = _GEOMETRY[dtype][0], _GEOMETRY[dtype][1], _GEOMETRY[dtype][6]

    def codegen(context, builder, sig, args):
        x = builder.load(builder.bitcast(args[0], fvec.as_pointer()), align=align)

        def store(bits, nonzero=False):  # nonzero: see backward_block_intrinsic
            builder.store(builder.bitcast(bits, fvec), builder.bitcast(args[1], fvec.as_pointer()), align=align)

        emit(Lanes(builder, dtype), builder.bitcast(x, ivec), store)
        return context.get_dummy_value()

    return types.none(src, dst), codegen


def backward_block_intrinsic(grad, src, dst, emit, dtype: str = "float32"):
    """Typing and code of a fused backward block kernel ``kernel(grad, src, dst)``:
    ``dst[0:16] = backward_product(grad[0:16], f'(src[0:16]))`` for ``dtype``, with
    ``emit`` building f' as for :func:`block_intrinsic`.  The product is
    ``_core.backward_product`` operation for operation: a zero derivative blocks
    an infinite grad_out (the result is 0), otherwise one IEEE multiply.  An
    emitter that knows f' is nonzero on a path calls ``store(bits, nonzero=True)``
    there: the plain multiply, the same bits, 4-5 vector operations fewer."""
    if grad != types.voidptr or src != types.voidptr or dst != types.voidptr:
        return None
    fvec, ivec, align = _GEOMETRY[dtype][0], _GEOMETRY[dtype][1], _GEOMETRY[dtype][6]

    def codegen(context, builder, sig, args):
        g = builder.load(builder.bitcast(args[0], fvec.as_pointer()), align=align)
        x = builder.load(builder.bitcast(args[1], fvec.as_pointer()), align=align)
        v = Lanes(builder, dtype)

        def store(bits, nonzero=False):
            if nonzero:  # the emitter knows f' != 0 on this path: nothing to block
                builder.store(builder.fmul(g, builder.bitcast(bits, fvec)), builder.bitcast(args[2], fvec.as_pointer()),
                              align=align)
                return
            magnitude = v.splat_i(v.ABS)
            zero_derivative = builder.icmp_signed("==", builder.and_(bits, magnitude), v.splat_i(0))
            infinite_grad = builder.icmp_signed(
                "==", builder.and_(builder.bitcast(g, ivec), magnitude), v.splat_i(v.INF_BITS)
            )
            blocked = builder.and_(zero_derivative, infinite_grad)
            factor = builder.select(blocked, v.splat_f(0.0), g)
            product = builder.fmul(factor, builder.bitcast(bits, fvec))
            builder.store(product, builder.bitcast(args[2], fvec.as_pointer()), align=align)

        emit(v, builder.bitcast(x, ivec), store)
        return context.get_dummy_value()

    return types.none(grad, src, dst), codegen


def all_in_range(lo_bits: int, hi_bits: int, dtype: str):
    """An intrinsic ``inside(src)``: True when the 16 values of ``dtype`` at the raw
    pointer ``src`` all have |x| bit patterns in [lo_bits, hi_bits] (NaN never):
    an and and :meth:`Lanes.outside` per vector (one for float32, two for float64)
    and a ``kortestw``, the test of :meth:`Lanes.dispatch`, for block kernels built
    from Numba scalar code (``kernels._common.range_blocks``), where LLVM turns
    the same test into 16 scalar compares and branches."""
    from numba.extending import intrinsic

    align = _GEOMETRY[dtype][-1]

    @intrinsic
    def inside(typingctx, src):
        if src != types.voidptr:
            return None

        def codegen(context, builder, signature, args):
            v = Lanes(builder, dtype)
            ptr = builder.bitcast(args[0], v.I.as_pointer())
            b = builder.load(ptr, align=align)
            ab = builder.and_(b, v.splat_i(v.ABS))
            return builder.not_(v.any_lane(v.outside(ab, lo_bits, hi_bits)))

        return types.boolean(types.voidptr), codegen

    return inside
