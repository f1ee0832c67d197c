"""NumPy ufunc inner loops around the scalar kernels, compiled as Numba ``cfunc``s.

Numba's own ``@vectorize`` loop vectorizes only when *every* operand is unit
strided, so a scalar parameter (stride 0, as in ``leaky_relu(x, 0.01)``) drops it
to a scalar loop that is 5-10x slower; and an in-place call (``out=x``) fails
LLVM's runtime overlap check and runs scalar too.  These loops have two paths,
and both run the kernel through one compiled copy of it (below):

1. direct: arrays contiguous, none sharing memory with the output, parameters
   broadcast scalars (stride 0), output not streamed.  Parameters are loaded once; the
   aligned main part runs ``out[i] = kernel(a[i], ..., p, ...)`` straight from
   the inputs to the output (the common call, at full speed);
2. chunked: everything else, and the few elements of a direct call outside its
   aligned main part.  The call runs in chunks of ``CHUNK_BYTES``: contiguous
   inputs are read where they are and strided ones gathered into stack
   buffers (every other element, ``x[::2]``, by contiguous loads and a shuffle:
   ``copy_even16``); the kernel writes a stack buffer, as a SIMD loop, and that is
   copied, streamed or scattered to the output.  The stack buffer cannot alias
   anything, so in-place calls vectorize too.  NumPy hands a loop overlapping
   operands wherever computing the elements one by one, in order, is right: the
   very same array, and an output that starts at or behind its input in the
   same buffer (``np.negative(x[1:], out=x[:-1])``).  The chunks run in order
   and each is read whole before it is written, which is right there too; the
   direct path, which computes its aligned main part before the head, is not
   (it once read inputs the main part had already overwritten), so it takes
   only operands that share no memory with the output.
   A transcendental kernel in a scalar loop costs 10x its vectorized time, far
   more than the gather and the copy.
3. parameters that vary per element (rare): a plain scalar strided loop.

A float32 block kernel (``_avx512.py``: 16 values of explicit vector IR) takes the
kernel's place in paths 1 and 2 where the CPU has AVX-512; for a kernel with
parameters it computes the function at their defaults and runs where they are
broadcast and equal to them.

A float64 block kernel built from scalar kernels (``kernels._common.range_blocks``)
holds its 16 lanes in two 512-bit halves of every value; for the large ones that
spills, and their blocks come with a *runs driver* (``block.runs``), which the
loop calls in place of its loop of block calls (``BLOCKS``): runs of 16 blocks
whose every value lies in the fast kernel's range are computed by it as one plain
loop of 8 lanes per vector, the others by the block kernels.  The driver carries
the state of its speculation (``skip``, ``backoff``) from chunk to chunk.

Each inlined kernel copy costs compile time: a loop of its own for in-place
calls (one per input that may be the output), for streaming and for the head
and tails made it 4-5 copies, and building the full family from an empty cache
took 819 s; with the two paths above it took 419 s (329k -> 250k lines of
machine code).  Both paths now call the same two functions, which hold the
loop's only copies of the kernel (``_span_source``: ``SPAN``, the scalar kernel
over a run of contiguous elements, and ``BLOCKS``, the block kernel over whole
blocks), compiled apart from the loop and called once per direct call or chunk.
Inlined into the chunked loop, a kernel ran 1.2-1.4x slower than the same
kernel in the direct loop (float64 elu, gelu and tanh in place): under the outer
loop's register pressure LLVM reloaded its constants in every iteration.  The
price of the chunked path is now the copy through the buffer alone.

In the compute-bound loops both prefetch their inputs in software,
``PREFETCH_BYTES`` ahead (below; the memory-bound, streamed loops do not): on the
Intel machine the hardware prefetchers left the long kernels latency-bound on
arrays beyond the caches (10^7 float32 gelu 2.4x slower per element than 10^6).

The loop source is generated per arity (a tiny template, like NumPy's
``.c.src``) and compiled with its file name set to this module, so Numba's
on-disk cache works.  Cache entries are keyed by a hash of the kernel sources
(the ``kernels`` package and every private ``_*.py`` module, this file
included): Numba itself only watches the file of the function it compiles, so
an edit to ``_core.py`` would otherwise leave stale machine code in the cache.
"""

from __future__ import annotations

import ast
import ctypes
import functools

import numpy as np
from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import carray, cfunc, njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy._core import _multiarray_umath

from ._avx512 import HAVE_BLOCK_KERNEL, named_target_cpu
from ._cache import SOURCE_HASH
from ._parallel import dispatch, loop_record, threshold_for

__all__ = ["make_ufunc", "SOURCE_HASH"]

_LOOP_SIG = types.void(
    types.CPointer(types.voidptr), types.CPointer(types.intp), types.CPointer(types.intp), types.voidptr
)


#: generated loops start this many lines past the top of this file (past its end)
_GENERATED_LINE_OFFSET = 1_000_000


def _compile_here(src: str):
    """Generated source compiled "from" this file (Numba's cache locator needs a
    real source file), its line numbers moved past the file's end.

    Numba annotates each function it caches with its source, via
    ``inspect.getsourcelines``.  At the generated code's own line numbers inspect
    would read this file's lines there as the function's block: for the loops
    that start at line 7 or 8, the middle of the module docstring, whose
    apostrophes Python 3.13's tokenizer rejects (``TokenError``, which Numba does
    not catch: ``fastact.leaky_relu(x)`` raised it on a cold cache).  Past the
    end, inspect raises the ``OSError`` Numba expects, and the annotation is left
    empty."""
    tree = ast.parse(src)
    ast.increment_lineno(tree, _GENERATED_LINE_OFFSET)
    return compile(tree, __file__, "exec")


def _byte_pointer(builder, ptr, nbytes):
    """LLVM IR for ``(char *)ptr + nbytes``."""
    return builder.gep(builder.bitcast(ptr, ir.IntType(8).as_pointer()), [nbytes])


@intrinsic
def load_at(typingctx, ptr, offset, like):
    """Load a value of the type of ``like`` from ``ptr + offset`` bytes."""
    if not isinstance(like, types.Float):
        return None

    def codegen(context, builder, sig, args):
        addr = _byte_pointer(builder, args[0], args[1])
        return builder.load(builder.bitcast(addr, context.get_value_type(like).as_pointer()))

    return like(ptr, offset, like), codegen


@intrinsic
def copy_even16(typingctx, src, dst, block, like):
    """``dst[16 block : 16 block + 16] = src[32 block : 32 block + 32 : 2]`` (raw
    pointers to elements of the type of ``like``): one contiguous load of 32
    elements and an even-lane shuffle (AVX-512: two loads and a ``vpermt2ps``/
    ``vpermt2pd``) in place of a 16-lane gather.  It reads the odd elements between
    the even ones too, so the caller must know ``src[32 block + 31]`` is memory of
    the operand: there is an even element after it."""
    if src != types.voidptr or dst != types.voidptr or not isinstance(block, types.Integer) \
            or not isinstance(like, types.Float):
        return None

    def codegen(context, builder, sig, args):
        elem = context.get_value_type(like)
        size = like.bitwidth // 8
        i64 = ir.IntType(64)
        blk = context.cast(builder, args[2], sig.args[2], types.int64)
        wide = ir.VectorType(elem, 32)
        addr = _byte_pointer(builder, args[0], builder.mul(blk, ir.Constant(i64, 32 * size)))
        pairs = builder.load(builder.bitcast(addr, wide.as_pointer()), align=size)
        mask = ir.Constant(ir.VectorType(ir.IntType(32), 16), list(range(0, 32, 2)))
        even = builder.shuffle_vector(pairs, ir.Constant(wide, ir.Undefined), mask)
        out = _byte_pointer(builder, args[1], builder.mul(blk, ir.Constant(i64, 16 * size)))
        builder.store(even, builder.bitcast(out, even.type.as_pointer()), align=size)
        return context.get_dummy_value()

    return types.none(src, dst, block, like), codegen


@intrinsic
def store_at(typingctx, ptr, offset, value):
    """Store ``value`` at ``ptr + offset`` bytes."""
    if not isinstance(value, types.Float):
        return None

    def codegen(context, builder, sig, args):
        val = args[2]
        addr = _byte_pointer(builder, args[0], args[1])
        builder.store(val, builder.bitcast(addr, val.type.as_pointer()))
        return context.get_dummy_value()

    return types.none(ptr, offset, value), codegen


def _mxcsr_call(builder, intrinsic_name, slot):
    i8p = ir.IntType(8).as_pointer()
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p]), intrinsic_name)
    builder.call(fn, [builder.bitcast(slot, i8p)])


@intrinsic
def fp_status(typingctx):
    """The SSE/AVX control and status register (``stmxcsr``)."""

    def codegen(context, builder, sig, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        return builder.load(slot)

    return types.uint32(), codegen


@intrinsic
def set_fp_status(typingctx, value):
    """Load the SSE/AVX control and status register (``ldmxcsr``)."""
    if value != types.uint32:
        return None

    def codegen(context, builder, sig, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        builder.store(args[0], slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.none(value), codegen


#: MXCSR's overflow (bit 3) and underflow (bit 4) flags: the ones a loop built with
#: ``quiet_range`` discards when its own arithmetic raised them
RANGE_FLAGS = np.uint32(0x18)


@njit(inline="always")
def discard_range_flags(before):
    """Put back the overflow and underflow flags as they were before the loop (the
    other flags, and the control bits, as they are now)."""
    now = fp_status()
    set_fp_status(np.uint32((now & ~RANGE_FLAGS) | (before & RANGE_FLAGS)))


@intrinsic
def load_word(typingctx, ptr, offset):
    """The int64 at ``ptr + offset`` bytes."""
    if ptr != types.voidptr or not isinstance(offset, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        addr = _byte_pointer(builder, args[0], args[1])
        return builder.load(builder.bitcast(addr, ir.IntType(64).as_pointer()))

    return types.int64(ptr, offset), codegen


@intrinsic
def address(typingctx, ptr):
    """The integer value of a raw pointer."""
    if ptr != types.voidptr:
        return None

    def codegen(context, builder, sig, args):
        return builder.ptrtoint(args[0], context.get_value_type(types.intp))

    return types.intp(ptr), codegen


@intrinsic
def offset(typingctx, ptr, nbytes):
    """``ptr + nbytes`` for a raw pointer."""
    if ptr != types.voidptr or not isinstance(nbytes, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(_byte_pointer(builder, args[0], args[1]), context.get_value_type(types.voidptr))

    return types.voidptr(ptr, nbytes), codegen


@intrinsic
def apart(typingctx, a, b, nbytes):
    """Whether the ``nbytes`` from raw pointer ``a`` and those from ``b`` share no byte."""
    if a != types.voidptr or b != types.voidptr or not isinstance(nbytes, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        lo_a, lo_b = builder.ptrtoint(args[0], i64), builder.ptrtoint(args[1], i64)
        size = context.cast(builder, args[2], sig.args[2], types.int64)
        a_first = builder.icmp_unsigned("<=", builder.add(lo_a, size), lo_b)
        b_first = builder.icmp_unsigned("<=", builder.add(lo_b, size), lo_a)
        return builder.or_(a_first, b_first)

    return types.boolean(a, b, nbytes), codegen


@intrinsic
def prefer_512_bit_vectors(typingctx):
    """Let LLVM vectorize the calling function with 512-bit (zmm) registers.

    On AVX-512 server cores LLVM's tuning prefers 256-bit vectors (to avoid the
    clock penalty of heavy 512-bit code in mixed workloads).  For these loops,
    which are pure packed arithmetic, zmm measured 25-35% faster here.  Numba's
    only switch for this (``NUMBA_CPU_FEATURES``) is process-wide; a function
    attribute scopes it to our loops.  No effect on CPUs without AVX-512.

    It also realigns the calling function's stack frame (``stackrealign``): the
    large kernels spill zmm registers, and LLVM writes those spills with unaligned
    moves into a frame that is only 16-byte aligned, so where the caller's stack
    pointer fell modulo 64 decided whether every spill and reload split two cache
    lines.  Measured on Zen 4 (float64 tanhshrink' block loop, 10^6, the same code
    in processes whose environments differ in size): 1.88 or 2.34 ns per value,
    by the luck of the stack; realigned, 1.89 in every process.
    """

    def codegen(context, builder, sig, args):
        # llvmlite validates attribute names against a fixed list that lacks
        # string attributes; the set underneath prints them verbatim.
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        set.add(builder.function.attributes, '"stackrealign"')
        return context.get_dummy_value()

    return types.none(), codegen


#: Software prefetch: the compute-bound loops' ``BLOCKS`` and ``SPAN`` ask for every
#: input cache line this many bytes before they read it.  On the Intel Rocket Lake machine the hardware prefetchers
#: alone leave the block kernels latency-bound on arrays beyond the caches: a
#: 16-lane block of float32 gelu is ~75 instructions, so the out-of-order window
#: holds only a few blocks' loads in flight, and 10^7 elements ran 2.4x slower
#: per element than 10^6 (aligned arrays; misaligned ones, whose loads touch the
#: next line early, 1.2x).  2 KiB ahead measured best of 1, 2 and 4 KiB (float32
#: gelu 1.81 -> 0.62 ns per element at 10^7, 0.67 -> 0.60 at 10^6; sigmoid 0.54
#: -> 0.34 and 0.45 -> 0.33).  A prefetch is one load-port operation per line and
#: never faults, so reading past the end of an array is harmless.
PREFETCH_BYTES = 2048
#: ``SPAN`` prefetches a piece of this many bytes per input at a time: 512 measured
#: best of 256, 512, 1024, 2048 and 4096 (float64 gelu 6.1-6.5 -> 3.3 ns per element
#: at 10^7, float64 tanhshrink 4.1-4.9 -> 2.2); larger pieces cost the short kernels
#: 10-30% at 10^6 (the inner loop is left and entered again per piece; softsign, the
#: cheapest, is streamed and does not prefetch).  Streamed loops prefetch neither in
#: ``SPAN`` nor in ``BLOCKS``: memory-bound kernels are short, and their loads are in
#: flight anyway.  The prefetches cost them: leaky_relu's block loop (9 instructions
#: per 16 values) with them took 0.96-0.99x a memory copy's time at 10^7 on the
#: Zen 4 machine, without them 0.64-0.66x, as relu's loop (one thread, 2026-12-04).
SPAN_PIECE_BYTES = 512
#: The CPUs (LLVM's names) on which ``SPAN`` does not prefetch: on the 2-core AMD
#: Zen 3 VM (2026-12-06, two alternating rounds of each build, one thread, 10^6
#: and 10^7) it cost the loops without block kernels up to 12% at both sizes and
#: gained nothing at 10^7, where the hardware prefetchers keep up: without it
#: float64 tanh took 0.89-0.90 of the time, elu 0.93-0.94, selu' 0.93-0.95, squareplus
#: and squareplus' 0.92-0.97, float32 celu 0.89-0.93, the rest (float64 gelu,
#: softplus, mish', silu', tanhshrink, squareplus_backward) 0.97-1.01.  The
#: ``BLOCKS`` prefetches stay there (without them, 0.97-1.01 but float32 gelu
#: 1.07 and log_sigmoid' 1.11 at 10^6).  Intel Rocket Lake needs them (float64
#: gelu 2x slower at 10^7 without); Zen 4, measured without any prefetch, moved
#: within noise but for float32 gelu at 10^7 (docs/how-it-is-fast.md).
SPAN_UNPREFETCHED_CPUS = frozenset({"znver3"})


def _span_prefetches() -> bool:
    """Whether ``SPAN`` prefetches on the CPU Numba compiles for (the host, or
    NUMBA_CPU_NAME)."""
    return (named_target_cpu() or llvm_binding.get_host_cpu_name()) not in SPAN_UNPREFETCHED_CPUS


#: whether the compute-bound loops' ``SPAN`` prefetches (``BLOCKS`` always does)
SPAN_PREFETCH = _span_prefetches()


@intrinsic
def prefetch(typingctx, ptr, nbytes):
    """Hint that the cache line at ``ptr + nbytes`` will be read soon (no fault
    for any address: it may lie past the end of the array)."""
    if ptr != types.voidptr or not isinstance(nbytes, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # read, keep in all cache levels, data cache
        builder.call(fn, [_byte_pointer(builder, args[0], args[1]), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.none(ptr, nbytes), codegen


#: Streaming stores: contiguous outputs of calls whose arrays (inputs and output)
#: hold at least ``_parallel.get_stream_threshold()`` bytes are computed into a
#: small stack buffer and copied to memory with non-temporal stores.  Such arrays
#: do not stay in the caches anyway; a plain store first reads each destination
#: line from memory (read-for-ownership), so a memory-bound kernel moves 3 bytes
#: per 2 useful ones.  Below it, input and output may stay cached for the next
#: call, where plain stores win.  The threshold depends on the machine
#: (``_parallel.default_stream_min_bytes``); it is read at call time from the
#: process state the loop gets as ``data`` (a parallel call's chunks get a copy
#: that says whether the whole call streams).
STREAM_THRESHOLD_OFFSET = 16  # byte offset of the threshold in that state
#: Every call runs in chunks of this many bytes per operand: the kernel reads
#: contiguous inputs where they are (strided ones are gathered into a stack
#: buffer first) and writes a stack buffer, which is then copied (or streamed,
#: or scattered) to the output.  4 KiB: a few buffers stay well inside L1, and a
#: multiple of 64 (whole cache lines for the streaming stores).
CHUNK_BYTES = 4096


@intrinsic
def scratch_buffer(typingctx, nbytes):
    """A 64-byte aligned buffer of ``nbytes`` (a literal) on the caller's stack."""
    if not isinstance(nbytes, types.IntegerLiteral):
        return None
    size = nbytes.literal_value

    def codegen(context, builder, sig, args):
        with builder.goto_entry_block():  # once per call, not per loop iteration
            buf = builder.alloca(ir.ArrayType(ir.IntType(8), size))
            buf.align = 64
        return builder.bitcast(buf, context.get_value_type(types.voidptr))

    return types.voidptr(nbytes), codegen


@intrinsic
def stream_store(typingctx, dst, src, nbytes):
    """Copy ``nbytes`` (a multiple of 64) from ``src`` to ``dst`` (both 64-byte
    aligned) with non-temporal stores, one cache line per store."""
    if dst != types.voidptr or src != types.voidptr or not isinstance(nbytes, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        line = ir.VectorType(ir.IntType(32), 16)
        nontemporal = builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
        count = builder.udiv(args[2], ir.Constant(args[2].type, 64))
        with cgutils.for_range(builder, count) as loop:
            at = builder.mul(loop.index, ir.Constant(args[2].type, 64))
            value = builder.load(builder.bitcast(_byte_pointer(builder, args[1], at), line.as_pointer()), align=64)
            store = builder.store(value, builder.bitcast(_byte_pointer(builder, args[0], at), line.as_pointer()),
                                  align=64)
            store.set_metadata("nontemporal", nontemporal)
        return context.get_dummy_value()

    return types.none(dst, src, nbytes), codegen


@intrinsic
def store_fence(typingctx):
    """``sfence``: non-temporal stores are weakly ordered; the fence makes them
    visible before the loop returns (to NumPy, or to the thread that joins it)."""

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                            "llvm.x86.sse.sfence")
        builder.call(fn, [])
        return context.get_dummy_value()

    return types.none(), codegen


def _loop_source(
    fname: str, narrays: int, nparams: int, nbaked: int, blocked: bool = False, stream: bool = False,
    quiet_range: bool = False, runs: bool = False,
) -> str:
    """Source of the ufunc inner loop for a kernel of ``narrays`` array and ``nparams``
    scalar arguments, followed by ``nbaked`` compile-time constants.  ``blocked``: a
    hand-vectorized ``BLOCK(src..., dst)`` computes 16 elements at a time (two
    sources for a fused backward: grad_out and x); with parameters, only where
    they are broadcast and equal to ``DEFAULT0, ...`` (the values the block
    computes the function at), else the kernel runs.  ``stream``: large contiguous
    outputs are written with streaming stores.  ``quiet_range``: the overflow and
    underflow flags the loop raises are discarded (``discard_range_flags``).
    ``runs``: ``BLOCKS`` is a block kernel's runs driver (float64
    ``kernels._common.range_blocks``), which takes and returns the state of its
    speculation, carried from chunk to chunk.  See the module docstring for the
    chunked structure."""
    nin = narrays + nparams
    baked = [f"BAKED{j}" for j in range(nbaked)]
    par = [f"p{j}" for j in range(nparams)] + baked
    switch = blocked and nparams > 0  # block or kernel, decided at run time

    def either(block_lines: list[str], kernel_lines: list[str]) -> list[str]:
        if not blocked:
            return kernel_lines
        if not switch:
            return block_lines
        return (["if use_block:"] + ["    " + x for x in block_lines]
                + ["else:"] + ["    " + x for x in kernel_lines])

    lines = [f"def {fname}(args, dims, steps, data):", "    prefer_512_bit_vectors()",
             "    n = dims[0]", f"    op = args[{nin}]"]
    if quiet_range:
        lines.append("    fp_before = fp_status()")
    if runs:
        lines.append("    skip, backoff = 0, 0")
    lines += [f"    {p} = ZERO" for p in par[:nparams]]
    if nparams:
        # parameters broadcast (the usual case): loaded once, so whatever the kernel
        # derives from them alone (slope_product's bounds) is computed once too
        lines.append("    if " + " and ".join(f"steps[{narrays + j}] == 0" for j in range(nparams)) + ":")
        lines += [f"        {p} = load_at(args[{narrays + j}], 0, ZERO)" for j, p in enumerate(par[:nparams])]
        # parameters that vary per element (rare): a plain strided loop
        lines.append("    else:")
        lines.append("        for i in range(n):")
        reads = [f"load_at(args[{j}], i * steps[{j}], ZERO)" for j in range(nin)] + baked
        lines.append(f"            store_at(op, i * steps[{nin}], KERNEL({', '.join(reads)}))")
        if quiet_range:
            lines.append("        discard_range_flags(fp_before)")
        lines.append("        return")
    if switch:
        lines.append("    use_block = " + " and ".join(f"p{j} == DEFAULT{j}" for j in range(nparams)))
    # A contiguous output is written from its first 64-byte boundary on: the
    # elements before it form a chunk of their own.
    lines += ["    head = n",
              f"    if steps[{nin}] == ITEM:",
              "        head = min(n, ((64 - address(op) % 64) % 64) // ITEM)",
              # the chunked loop's two segments; by default the whole array
              "    hi0 = n", "    lo1 = n"]
    direct = [f"steps[{j}] == ITEM" for j in range(narrays)] + [f"steps[{nin}] == ITEM"]
    direct += [f"apart(args[{j}], op, n * ITEM)" for j in range(narrays)]
    if stream:
        # the call's arrays (inputs and output, not the broadcast parameters)
        # against the threshold: what they displace from the cache decides
        lines.append(f"    stream = steps[{nin}] == ITEM and n * {(narrays + 1)} * ITEM"
                     " >= load_word(data, STREAM_THRESHOLD_OFFSET)")
        direct.append("not stream")
    # The common call (contiguous, not in place, not streamed) runs its aligned main
    # part straight from the inputs to the output: no copy through the buffer.
    lines += ["    if " + " and ".join(direct) + ":", "        m = n - head", "        off = head * ITEM"]
    ptrs = ", ".join([f"offset(args[{j}], off)" for j in range(narrays)] + ["offset(op, off)"])
    params = "".join(f", p{j}" for j in range(nparams))
    state = ", skip, backoff" if runs else ""
    call = "skip, backoff = BLOCKS" if runs else "BLOCKS"
    main_block = ["nblk = m // 16", f"{call}({ptrs}, nblk{state})", "lo1 = head + nblk * 16"]
    main_kernel = [f"SPAN({ptrs}, m{params})"]
    lines += ["        " + x for x in either(main_block, main_kernel)]
    lines.append("        hi0 = head")
    # Everything else (the head before the boundary, a block kernel's last partial
    # block, in-place, strided and streamed calls) runs in chunks through stack
    # buffers, over the segments [0, hi0) and [lo1, n).
    lines += [f"    g{j}p = scratch_buffer(CHUNK_BYTES)" for j in range(narrays)]
    if blocked and narrays == 2:
        lines += ["    padp = scratch_buffer(BLOCK_BYTES)", "    pad = carray(padp, (16,), DTYPE)"]
    lines += ["    rp = scratch_buffer(CHUNK_BYTES)", "    r = carray(rp, (CHUNK,), DTYPE)",
              "    for seg in range(2):",
              "        done = 0 if seg == 0 else lo1",
              "        stop = hi0 if seg == 0 else n",
              "        while done < stop:",
              "            cnt = min(CHUNK, (head if done < head else stop) - done)"]
    body = []  # one chunk, indented into the while loop below
    for j in range(narrays):
        # a contiguous input is read where it is; a strided one is gathered
        # (every other element, x[::2] or a column of two, by contiguous loads and
        # shuffles where the odd neighbour of a block's last element lies before the
        # view's next element: LLVM gathers them one by one otherwise)
        body += [f"        q{j} = offset(args[{j}], done * ITEM)",
                  f"        if steps[{j}] != ITEM:",
                  f"            g{j} = carray(g{j}p, (CHUNK,), DTYPE)",
                  "            first = 0",
                  f"            if steps[{j}] == 2 * ITEM:",
                  "                first = (cnt - 1) // 16 * 16",
                  "                for blk in range(first // 16):",
                  f"                    copy_even16(offset(args[{j}], done * 2 * ITEM), g{j}p, blk, ZERO)",
                  "            for i in range(first, cnt):",
                  f"                g{j}[i] = load_at(args[{j}], (done + i) * steps[{j}], ZERO)",
                  f"            q{j} = g{j}p"]
        if blocked:  # read by the partial last block's copy only
            body.append(f"        a{j} = carray(q{j}, (cnt,), DTYPE)")
    # whole blocks straight into the result buffer; a partial last block is
    # copied there (grad_out's into a pad buffer), padded with zeros and
    # computed in place, so the scalar kernel is never inlined into a block loop
    ptrs = ", ".join([f"q{j}" for j in range(narrays)] + ["rp"])
    tail = "offset(rp, nblk * 16 * ITEM)"
    chunk_block = ["nblk = cnt // 16",
                   f"{call}({ptrs}, nblk{state})",
                   "if cnt > nblk * 16:",
                   "    for i in range(nblk * 16, cnt):",
                   f"        r[i] = a{narrays - 1}[i]",
                   "    for i in range(cnt, nblk * 16 + 16):",
                   "        r[i] = ZERO"]
    if narrays == 2:
        chunk_block += ["    for i in range(16):",
                        "        pad[i] = a0[nblk * 16 + i] if nblk * 16 + i < cnt else ZERO",
                        f"    {call}(padp, {tail}, {tail}, 1{state})"]
    else:
        chunk_block += [f"    {call}({tail}, {tail}, 1{state})"]
    chunk_kernel = [f"SPAN({ptrs}, cnt{params})"]
    body += ["        " + x for x in either(chunk_block, chunk_kernel)]
    body += _copy_out(nin, stream)
    lines += ["    " + line for line in body]
    if stream:
        lines += ["    if stream:", "        store_fence()"]
    if quiet_range:
        lines.append("    discard_range_flags(fp_before)")
    return "\n".join(lines) + "\n"


def _span_source(fname: str, narrays: int, nparams: int, nbaked: int, blocked: bool, itemsize: int,
                 prefetch: bool) -> str:
    """Source of the functions that hold the loop's only copies of its kernel: ``SPAN``,
    ``out[i] = kernel(a[i], ..., p, ...)`` over ``cnt`` contiguous elements, and
    ``BLOCKS``, the block kernel over ``nblk`` blocks of 16.  The loop calls them
    for its direct main part, for every chunk and for a partial last block (not
    inlined: a kernel inlined into the chunked loop ran 1.2-1.4x slower than in the
    direct one, its constants reloaded in every iteration under the outer loop's
    register pressure, and each inlined copy costs compile time).  A loop with a
    block kernel and parameters needs both (the block computes the defaults only).

    Where ``prefetch`` (the compute-bound loops, not the streamed ones) both
    prefetch their inputs ``PREFETCH_BYTES`` ahead: ``BLOCKS`` every line of a
    block, ``SPAN`` (where ``SPAN_PREFETCH``) the lines of each
    ``SPAN_PIECE_BYTES`` piece before the piece's loop, a loop of constant trip
    count that LLVM vectorizes as it does the plain one; the elements past the
    last whole piece run in a plain loop (a second copy of the kernel)."""
    srcs = [f"s{j}" for j in range(narrays)]
    par = [f"p{j}" for j in range(nparams)]
    lines = []
    if not blocked or nparams > 0:
        def reads(at):
            return ", ".join([f"a{j}[{at}]" for j in range(narrays)] + par + [f"BAKED{j}" for j in range(nbaked)])

        lines += [f"def {fname}_span({', '.join(srcs + ['dst', 'cnt'] + par)}):",
                  "    prefer_512_bit_vectors()"]
        lines += [f"    a{j} = carray(s{j}, (cnt,), DTYPE)" for j in range(narrays)]
        lines += ["    o = carray(dst, (cnt,), DTYPE)"]
        rest = "0"
        if prefetch and SPAN_PREFETCH:
            lines += ["    npiece = cnt // PIECE",
                      "    for k in range(npiece):",
                      "        b = k * PIECE"]
            lines += [f"        prefetch(s{j}, b * ITEM + PREFETCH_BYTES + {c})" for j in range(narrays)
                      for c in range(0, SPAN_PIECE_BYTES, 64)]
            lines += ["        for i in range(PIECE):",
                      f"            o[b + i] = KERNEL({reads('b + i')})"]
            rest = "npiece * PIECE"
        lines += [f"    for i in range({rest}, cnt):",
                  f"        o[i] = KERNEL({reads('i')})"]
    if blocked:
        at = "j * 16 * ITEM"
        ptrs = ", ".join([f"offset(s{j}, {at})" for j in range(narrays)] + [f"offset(dst, {at})"])
        lines += [f"def {fname}_blocks({', '.join(srcs + ['dst', 'nblk'])}):",
                  "    prefer_512_bit_vectors()",
                  "    for j in range(nblk):"]
        # one prefetch per input cache line: 16 values are one line of float32, two of float64
        if prefetch:
            lines += [f"        prefetch(s{j}, {at} + PREFETCH_BYTES + {c})" for j in range(narrays)
                      for c in range(0, 16 * itemsize, 64)]
        lines += [f"        BLOCK({ptrs})"]
    return "\n".join(lines) + "\n"


def _copy_out(nin: int, stream: bool) -> list[str]:
    """The end of a chunk: the result buffer copied, streamed or scattered to the
    output."""
    body = [f"        if steps[{nin}] == ITEM:"]
    if stream:
        body += ["            if stream and cnt == CHUNK and done >= head:",
                 "                stream_store(offset(op, done * ITEM), rp, CHUNK_BYTES)",
                 "            else:",
                 "                o = carray(offset(op, done * ITEM), (cnt,), DTYPE)",
                 "                for i in range(cnt):",
                 "                    o[i] = r[i]"]
    else:
        body += ["            o = carray(offset(op, done * ITEM), (cnt,), DTYPE)",
                 "            for i in range(cnt):",
                 "                o[i] = r[i]"]
    body += ["        else:",
             "            for i in range(cnt):",
             f"                store_at(op, (done + i) * steps[{nin}], r[i])",
             "        done += cnt"]
    return body


def _compile_loop(
    kernel, name: str, dtype: np.dtype, narrays: int, nparams: int, baked: tuple, block=None, stream=False,
    quiet_range=False, block_params: tuple = (),
):
    tag = ("_baked" if baked else "") + ("_block" if block is not None else "")
    tag += ("_nt" if stream else "") + ("_qr" if quiet_range else "")
    fname = f"loop_{name}{tag}_{dtype.name}_{SOURCE_HASH}"
    runs = getattr(block, "runs", None)
    src = _loop_source(fname, narrays, nparams, len(baked), blocked=block is not None, stream=stream,
                       quiet_range=quiet_range, runs=runs is not None)
    namespace = {
        **{f"BAKED{j}": dtype.type(v) for j, v in enumerate(baked)},
        **{f"DEFAULT{j}": dtype.type(v) for j, v in enumerate(block_params)},
        "KERNEL": kernel,
        "BLOCK": block,
        "DTYPE": dtype,
        "ITEM": dtype.itemsize,
        "ZERO": dtype.type(0),
        "carray": carray,
        "load_at": load_at,
        "copy_even16": copy_even16,
        "store_at": store_at,
        "apart": apart,
        "offset": offset,
        "address": address,
        "prefer_512_bit_vectors": prefer_512_bit_vectors,
        "prefetch": prefetch,
        "PREFETCH_BYTES": PREFETCH_BYTES,
        "PIECE": SPAN_PIECE_BYTES // dtype.itemsize,
        "scratch_buffer": scratch_buffer,
        "stream_store": stream_store,
        "store_fence": store_fence,
        "load_word": load_word,
        "fp_status": fp_status,
        "discard_range_flags": discard_range_flags,
        "STREAM_THRESHOLD_OFFSET": STREAM_THRESHOLD_OFFSET,
        "CHUNK_BYTES": CHUNK_BYTES,
        "BLOCK_BYTES": 16 * dtype.itemsize,
        "CHUNK": CHUNK_BYTES // dtype.itemsize,
    }
    span_src = _span_source(fname, narrays, nparams, len(baked), block is not None, dtype.itemsize,
                            prefetch=not stream)
    exec(_compile_here(span_src), namespace)
    jit = njit(cache=True, error_model="numpy", fastmath={"contract"})
    for symbol, suffix in (("SPAN", "_span"), ("BLOCKS", "_blocks")):
        if fname + suffix in namespace and not (symbol == "BLOCKS" and runs is not None):
            namespace[fname + suffix].__module__ = __name__
            namespace[symbol] = jit(namespace[fname + suffix])
    if runs is not None:
        namespace["BLOCKS"] = runs
    exec(_compile_here(src), namespace)
    fn = namespace[fname]
    fn.__module__ = __name__
    return cfunc(_LOOP_SIG, cache=True, error_model="numpy", fastmath={"contract"})(fn)


@functools.cache
def _numpy_ufunc_constructor():
    """NumPy's C function ``PyUFunc_FromFuncAndData``, from its published C-API table.

    Numba's private ``fromfunc`` builds ufuncs on which ``where=`` fails (NumPy
    takes the generalized-ufunc path for them); the plain NumPy constructor gives
    an ordinary ufunc with every ufunc feature.
    """
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    table = ctypes.cast(get_pointer(_multiarray_umath._UFUNC_API, None), ctypes.POINTER(ctypes.c_void_p))
    proto = ctypes.PYFUNCTYPE(
        ctypes.py_object,  # the new ufunc
        ctypes.c_void_p,  # PyUFuncGenericFunction *func
        ctypes.c_void_p,  # void **data
        ctypes.c_void_p,  # char *types
        ctypes.c_int,  # ntypes
        ctypes.c_int,  # nin
        ctypes.c_int,  # nout
        ctypes.c_int,  # identity
        ctypes.c_char_p,  # name
        ctypes.c_char_p,  # doc
        ctypes.c_int,  # unused
    )
    return proto(table[1])  # slot 1 of the UFUNC API: PyUFunc_FromFuncAndData


_PyUFunc_None = -1


def make_ufunc(
    kernel, name: str, narrays: int, nparams: int, doc: str, baked: tuple = (), block_f32=None,
    stream: bool = False, quiet_range: bool = False, block_params: tuple = (), block_f64=None,
) -> tuple[np.ufunc, list]:
    """Build a real ``numpy.ufunc`` named ``name`` with float32 and float64 loops.

    The kernel takes ``narrays`` array arguments and ``nparams`` scalar parameters
    as ufunc inputs; ``baked`` parameter values (if any) follow them as constants
    compiled into the loop (the default-parameter fast path).  ``block_f32``,
    ``block_f64``: a hand-vectorized kernel for 16 contiguous elements of that
    dtype (used where the CPU has AVX-512, see ``_avx512.py``), ``block(src, dst)``
    or, for a two-array kernel, ``block(grad_out, x, dst)``.
    For a kernel with parameters, the block computes it at the parameter values
    ``block_params`` (the defaults) and runs where the parameters are broadcast
    and equal to them.  ``stream``: write contiguous outputs with non-temporal
    stores where the call's arrays hold ``_parallel.get_stream_threshold()`` bytes
    or more.
    ``quiet_range``: discard the overflow and underflow flags the loop's arithmetic
    raises (for kernels whose last step is a plain product, the fused backward
    ones: see ``_core.backward_product``).  Returns the ufunc and everything it
    points into (compiled loops, the C arrays and strings NumPy keeps pointers
    to), which must be kept alive as long as the ufunc.
    """
    nin = narrays + nparams
    dtypes = (np.dtype(np.float32), np.dtype(np.float64))
    usable = HAVE_BLOCK_KERNEL and narrays in (1, 2) and len(block_params) == nparams
    blocks = (block_f32, block_f64) if usable else (None, None)
    loops = [
        _compile_loop(kernel, name, dt, narrays, nparams, baked, block, stream, quiet_range, block_params)
        for dt, block in zip(dtypes, blocks, strict=True)
    ]
    # NumPy calls the shared dispatcher, which runs the serial loop on one or
    # several threads (see _parallel.py); each loop's data record says which.
    records = [
        loop_record(loop.address, nin + 1, threshold_for(name, dt.name), dt.itemsize, (narrays + 1) * dt.itemsize)
        for loop, dt in zip(loops, dtypes, strict=True)
    ]
    funcs = (ctypes.c_void_p * len(loops))(*(dispatch.address for _ in loops))
    data = (ctypes.c_void_p * len(loops))(*(r.ctypes.data for r in records))
    types_ = (ctypes.c_char * (len(loops) * (nin + 1)))(*[dt.num for dt in dtypes for _ in range(nin + 1)])
    c_name, c_doc = name.encode(), doc.encode()
    ufunc = _numpy_ufunc_constructor()(
        ctypes.addressof(funcs), ctypes.addressof(data), ctypes.addressof(types_),
        len(loops), nin, 1, _PyUFunc_None, c_name, c_doc, 0,
    )
    # pickle looks a ufunc up as <__module__>.<__name__>; without __module__ it
    # scans every loaded module (and trips NumPy's deprecated numpy.core aliases).
    ufunc.__module__ = "fastact.ufuncs"
    return ufunc, [loops, records, funcs, data, types_, c_name, c_doc]
