"""NumPy ufunc inner loops around the scalar kernels, compiled as Numba ``cfunc``s.

Numba's own ``@vectorize`` loop vectorizes only when *every* operand is unit
strided, so a scalar parameter (stride 0, as in ``leaky_relu(x, 0.01)``) drops it
to a scalar loop that is 5-10x slower; and an in-place call (``out=x``) fails
LLVM's runtime overlap check and runs scalar too.  These loops dispatch on the
strides NumPy hands over:

1. arrays contiguous, parameters broadcast scalars (stride 0): parameters are
   loaded once, the loop body is ``out[i] = kernel(a[i], ..., p, ...)``; an input
   that *is* the output is read through the output pointer, so in-place calls
   vectorize as well;
2. strided arrays, parameters (if any) broadcast scalars: parameters loaded
   once; the arrays are gathered into stack buffers, 2 KiB at a time, the kernel
   runs there as a SIMD loop and the results are scattered back (a
   transcendental kernel in a scalar loop costs 10x its vectorized time, far
   more than the gather and scatter);
3. parameters that vary per element (rare): a plain scalar strided loop.

The few elements of a contiguous call outside its aligned main part (before the
output's 64-byte boundary; after the last whole block of a block kernel) also
run through the gathered loop of case 2: each inlined kernel copy costs compile
time, and giving them loops of their own doubled it (353 -> 175 s for building
every loop from an empty cache, 54k -> 41k lines of machine code).

The loop source is generated per arity (a tiny template, like NumPy's
``.c.src``) and compiled with its file name set to this module, so Numba's
on-disk cache works.  Cache entries are keyed by a hash of the kernel sources
(the ``kernels`` package, ``_core*.py``, ``_tanh32.py``, this file): Numba itself only watches the file of
the function it compiles, so an edit to ``_core.py`` would otherwise leave stale
machine code in the cache.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import pathlib

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy._core import _multiarray_umath

from ._avx512 import HAVE_BLOCK_KERNEL
from ._parallel import dispatch, loop_record, threshold_for

__all__ = ["make_ufunc", "SOURCE_HASH"]

_HERE = pathlib.Path(__file__).resolve().parent
# Every module a compiled loop can inline from (the kernel modules and the private
# math modules): Numba's own cache checks only the file of the cached function.
SOURCE_HASH = hashlib.sha256(
    b"".join(f.read_bytes() for f in [*sorted((_HERE / "kernels").glob("*.py")), *sorted(_HERE.glob("_[!_]*.py"))])
).hexdigest()[:12]

_LOOP_SIG = types.void(
    types.CPointer(types.voidptr), types.CPointer(types.intp), types.CPointer(types.intp), types.voidptr
)


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
def same_address(typingctx, a, b):
    """``a == b`` for two raw pointers (Numba has no ``==`` on ``voidptr``)."""
    if a != types.voidptr or b != types.voidptr:
        return None

    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        return builder.icmp_unsigned("==", builder.ptrtoint(args[0], i64), builder.ptrtoint(args[1], i64))

    return types.boolean(a, b), codegen


@intrinsic
def prefer_512_bit_vectors(typingctx):
    """Let LLVM vectorize the calling function with 512-bit (zmm) registers.

    On AVX-512 server cores LLVM's tuning prefers 256-bit vectors (to avoid the
    clock penalty of heavy 512-bit code in mixed workloads).  For these loops,
    which are pure packed arithmetic, zmm measured 25-35% faster here.  Numba's
    only switch for this (``NUMBA_CPU_FEATURES``) is process-wide; a function
    attribute scopes it to our loops.  No effect on CPUs without AVX-512.
    """

    def codegen(context, builder, sig, args):
        # llvmlite validates attribute names against a fixed list that lacks
        # string attributes; the set underneath prints them verbatim.
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()

    return types.none(), codegen


#: Streaming stores: outputs of at least this many bytes per loop call (per thread
#: chunk) are computed into a small stack buffer and copied to memory with
#: non-temporal stores.  Such an output does not fit in the caches anyway; a plain
#: store first reads each destination line from memory (read-for-ownership), so
#: a memory-bound kernel moves 3 bytes per 2 useful ones.  Below it, the output
#: may stay cached for the next call, where plain stores win.  Measured with
#: ``tools/stream_threshold.py``.
STREAM_MIN_BYTES = 2 << 20
#: the stack buffer: 4 KiB, well inside L1, a multiple of 64 (whole cache lines)
STREAM_CHUNK_BYTES = 4096
#: strided loops gather this many bytes per input into a stack buffer, run the
#: kernel there as a SIMD loop and scatter the results (a few buffers of 2 KiB
#: stay in L1)
GATHER_BYTES = 2048


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


def _stream_lines(arr: list[str], par: list[str], blocked: bool) -> list[str]:
    """The streaming part of the contiguous loop: whole 4 KiB chunks computed into a
    stack buffer and written with non-temporal stores (see ``STREAM_MIN_BYTES``).
    The buffer is an alloca, so LLVM knows it aliases no operand: one loop body
    serves in-place calls too (each chunk is read before it is overwritten)."""
    lines = [
        "        if m * ITEM >= STREAM_MIN_BYTES:",
        "            buf = scratch_buffer(STREAM_CHUNK_BYTES)",
        "            s = carray(buf, (CHUNK,), DTYPE)",
        "            nch = m // CHUNK",
        "            for c in range(nch):",
        "                base = off + c * CHUNK * ITEM",
    ]
    if blocked:
        lines += [
            "                for j in range(CHUNK // 16):",
            "                    BLOCK(offset(args[0], base + j * 16 * ITEM), offset(buf, j * 16 * ITEM))",
        ]
    else:
        lines += [f"                {a} = carray(offset(args[{j}], base), (CHUNK,), DTYPE)" for j, a in enumerate(arr)]
        lines += [
            "                for i in range(CHUNK):",
            f"                    s[i] = KERNEL({', '.join([f'{a}[i]' for a in arr] + par)})",
        ]
    return lines + [
        "                stream_store(offset(op, base), buf, STREAM_CHUNK_BYTES)",
        "            store_fence()",
        "            m = m - nch * CHUNK",
        "            off = off + nch * CHUNK * ITEM",
    ]


def _loop_source(
    fname: str, narrays: int, nparams: int, nbaked: int, blocked: bool = False, stream: bool = False
) -> str:
    """Source of the ufunc inner loop for a kernel of ``narrays`` array and ``nparams``
    scalar arguments, followed by ``nbaked`` compile-time constants.  ``blocked``
    (one array, no parameters): the aligned main part runs a hand-vectorized
    ``BLOCK(src, dst)`` on 16 elements at a time.  ``stream``: large contiguous
    outputs are written with streaming stores.  The elements outside the aligned
    main part go through the gathered loop at the end (see the module docstring),
    as its segments ``[0, hi0)`` and ``[lo1, n)``."""
    nin = narrays + nparams
    arr = [f"a{j}" for j in range(narrays)]
    baked = [f"BAKED{j}" for j in range(nbaked)]
    par = [f"p{j}" for j in range(nparams)] + baked
    lines = [f"def {fname}(args, dims, steps, data):", "    prefer_512_bit_vectors()",
             "    n = dims[0]", f"    op = args[{nin}]",
             # the gathered loop's two segments; by default the whole array
             "    hi0 = n", "    lo1 = n"]
    lines += [f"    {p} = ZERO" for p in par[:nparams]]
    fast = " and ".join([f"steps[{j}] == ITEM" for j in range(narrays)] + [f"steps[{nin}] == ITEM"]
                        + [f"steps[{narrays + j}] == 0" for j in range(nparams)])
    lines.append(f"    if {fast}:")
    for j, p in enumerate(par[:nparams]):
        lines.append(f"        {p} = load_at(args[{narrays + j}], 0, ZERO)")
    # Peel the first elements until the output is 64-byte aligned, then run the
    # main loop on views that start there: NumPy's large arrays start 16 bytes
    # past a page boundary, and a misaligned zmm access splits across two cache
    # lines.  (Views, not range(head, n): a loop from 0 is what LLVM vectorizes
    # without index checks.)
    lines.append("        head = min(n, ((64 - address(op) % 64) % 64) // ITEM)")
    lines.append("        m = n - head")
    lines.append("        off = head * ITEM")
    lines.append("        hi0 = head")
    if stream:
        lines += _stream_lines(arr, par, blocked)
    if blocked:
        lines.append("        nblk = m // 16")
        lines.append("        for j in range(nblk):")
        lines.append("            BLOCK(offset(args[0], off + j * 16 * ITEM), offset(op, off + j * 16 * ITEM))")
        lines.append("        lo1 = n - (m - nblk * 16)")
    else:
        lines.append("        o = carray(offset(op, off), (m,), DTYPE)")
        # one branch per input that may be the output itself (in-place), plus none
        for alias in list(range(narrays)) + [None]:
            cond = "else:" if alias is None else f"{'if' if alias == 0 else 'elif'} same_address(args[{alias}], op):"
            lines.append(f"        {cond}")
            reads = []
            for j in range(narrays):
                if j == alias:
                    reads.append("o[i]")
                else:
                    lines.append(f"            {arr[j]} = carray(offset(args[{j}], off), (m,), DTYPE)")
                    reads.append(f"{arr[j]}[i]")
            lines.append("            for i in range(m):")
            lines.append(f"                o[i] = KERNEL({', '.join(reads + par)})")
    if nparams:
        # strided arrays, scalar parameters: the parameters are loaded once, so
        # whatever the kernel derives from them alone (slope_product's bounds) is
        # computed once too, not per element
        lines.append("    elif " + " and ".join(f"steps[{narrays + j}] == 0" for j in range(nparams)) + ":")
        for j, p in enumerate(par[:nparams]):
            lines.append(f"        {p} = load_at(args[{narrays + j}], 0, ZERO)")
        # parameters that vary per element (rare): a plain strided loop; one more
        # gathered kernel instance is not worth its compile time here
        lines.append("    else:")
        lines.append("        for i in range(n):")
        reads = [f"load_at(args[{j}], i * steps[{j}], ZERO)" for j in range(nin)] + baked
        lines.append(f"            store_at(op, i * steps[{nin}], KERNEL({', '.join(reads)}))")
        lines.append("        hi0 = 0")
    lines += _gathered_lines(narrays, nin, par, blocked)
    return "\n".join(lines) + "\n"


def _gathered_lines(ngather: int, nin: int, fixed: list[str], blocked: bool) -> list[str]:
    """The gathered loop, over the segments ``[0, hi0)`` and ``[lo1, n)``: the first
    ``ngather`` inputs are gathered up to ``GATHER`` elements at a time into
    contiguous stack buffers, the kernel runs on those as a SIMD loop (``fixed``
    arguments follow), and the results are scattered to the output.  Strided calls
    run it on the whole array, contiguous ones on the few elements outside their
    aligned main part.  NumPy hands over overlapping operands only as the very
    same array, and a chunk is read before it is written.  One loop for full and
    last chunks: every kernel instance is compiled code (compile time), and
    LLVM's own remainder handles the last one."""
    names = [f"g{j}" for j in range(ngather)]
    lines = []
    for g in names:
        lines.append(f"    {g}p = scratch_buffer(GATHER_BYTES)")
        lines.append(f"    {g} = carray({g}p, (GATHER,), DTYPE)")
    lines += ["    rp = scratch_buffer(GATHER_BYTES)", "    r = carray(rp, (GATHER,), DTYPE)",
              "    for seg in range(2):",
              "        done = 0 if seg == 0 else lo1",
              "        stop = hi0 if seg == 0 else n",
              "        while done < stop:",
              "            cnt = min(GATHER, stop - done)"]
    for j, g in enumerate(names):
        lines.append("            for i in range(cnt):")
        lines.append(f"                {g}[i] = load_at(args[{j}], (done + i) * steps[{j}], ZERO)")
    if blocked:
        lines.append("            nblk = cnt // 16")
        lines.append("            for j in range(nblk):")
        lines.append("                BLOCK(offset(g0p, j * 16 * ITEM), offset(rp, j * 16 * ITEM))")
        lines.append("            for i in range(nblk * 16, cnt):")
    else:
        lines.append("            for i in range(cnt):")
    lines.append(f"                r[i] = KERNEL({', '.join([f'{g}[i]' for g in names] + fixed)})")
    lines += ["            for i in range(cnt):",
              f"                store_at(op, (done + i) * steps[{nin}], r[i])",
              "            done += cnt"]
    return lines


def _compile_loop(
    kernel, name: str, dtype: np.dtype, narrays: int, nparams: int, baked: tuple, block=None, stream=False
):
    # a streaming loop has its threshold compiled in, so the threshold is part of
    # its name, which is its cache key (tools/stream_threshold.py varies it)
    tag = ("_baked" if baked else "") + ("_block" if block is not None else "")
    tag += f"_nt{STREAM_MIN_BYTES}" if stream else ""
    fname = f"loop_{name}{tag}_{dtype.name}_{SOURCE_HASH}"
    src = _loop_source(fname, narrays, nparams, len(baked), blocked=block is not None, stream=stream)
    namespace = {
        **{f"BAKED{j}": dtype.type(v) for j, v in enumerate(baked)},
        "KERNEL": kernel,
        "BLOCK": block,
        "DTYPE": dtype,
        "ITEM": dtype.itemsize,
        "ZERO": dtype.type(0),
        "carray": carray,
        "load_at": load_at,
        "store_at": store_at,
        "same_address": same_address,
        "offset": offset,
        "address": address,
        "prefer_512_bit_vectors": prefer_512_bit_vectors,
        "scratch_buffer": scratch_buffer,
        "stream_store": stream_store,
        "store_fence": store_fence,
        "STREAM_MIN_BYTES": STREAM_MIN_BYTES,  # frozen into the machine code at compile time
        "STREAM_CHUNK_BYTES": STREAM_CHUNK_BYTES,
        "CHUNK": STREAM_CHUNK_BYTES // dtype.itemsize,
        "GATHER_BYTES": GATHER_BYTES,
        "GATHER": GATHER_BYTES // dtype.itemsize,
    }
    # Compiled "from" this file: Numba's cache locator needs a real source file.
    exec(compile(src, __file__, "exec"), namespace)
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
    stream: bool = False,
) -> tuple[np.ufunc, list]:
    """Build a real ``numpy.ufunc`` named ``name`` with float32 and float64 loops.

    The kernel takes ``narrays`` array arguments and ``nparams`` scalar parameters
    as ufunc inputs; ``baked`` parameter values (if any) follow them as constants
    compiled into the loop (the default-parameter fast path).  ``block_f32``: a
    hand-vectorized float32 kernel for 16 contiguous elements (used where the CPU
    has AVX-512; see ``_tanh32.py``).  ``stream``: write contiguous outputs of
    ``STREAM_MIN_BYTES`` or more with non-temporal stores.  Returns the ufunc
    and everything it points into (compiled loops, the C arrays and strings NumPy
    keeps pointers to), which must be kept alive as long as the ufunc.
    """
    nin = narrays + nparams
    dtypes = (np.dtype(np.float32), np.dtype(np.float64))
    usable = block_f32 is not None and HAVE_BLOCK_KERNEL and narrays == 1 and nparams == 0 and not baked
    loops = [
        _compile_loop(kernel, name, dt, narrays, nparams, baked,
                      block_f32 if usable and dt == np.float32 else None, stream)
        for dt in dtypes
    ]
    # NumPy calls the shared dispatcher, which runs the serial loop on one or
    # several threads (see _parallel.py); each loop's data record says which.
    records = [
        loop_record(loop.address, nin + 1, threshold_for(name, dt.name))
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
