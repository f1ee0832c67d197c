"""What every kernel module shares: the JIT options, the tiny-input clamp and
per-dtype constants."""

import numpy as np
from numba import njit, types
from numba.extending import overload

from .._core import JIT_OPTIONS, backward_product, float_bits, inlined_by_numba

_jit = njit(**JIT_OPTIONS)

# Below this |x| every kernel here has reached its x -> 0 value (sigmoid 1/2 and
# tanh(x) == x to the last bit, in both dtypes); clamping there keeps squares of x
# out of the subnormal range.
_TINY = 2.0**-60


def _per_dtype(c32, c64, wide=False):
    """A Numba-callable ``constant(x)`` returning ``c32`` (as float32, or as float64
    with ``wide`` for kernels that evaluate float32 in float64) or ``c64`` (as
    float64) according to the dtype of ``x``."""
    f32 = float if wide else np.float32
    c32 = tuple(f32(v) for v in c32) if isinstance(c32, tuple) else f32(c32)
    c64 = tuple(float(v) for v in c64) if isinstance(c64, tuple) else float(c64)

    def constant(x):
        raise NotImplementedError  # pragma: no cover - replaced by the overload

    @overload(constant, inline="always")
    def _constant_overload(x):
        if x == types.float32:
            return lambda x: c32
        if x == types.float64:
            return lambda x: c64
        return None

    constant.float32, constant.float64 = c32, c64  # for the block kernels' emitters
    return constant


def range_blocks(fast, general, lo: float, hi: float, saturated=None, saturated_lo: float = np.inf, *,
                 dtype: str, fast_nonzero: bool = False, runs: bool = False):
    """Block kernels for ``dtype`` (16 values, raw pointers; see ``_loops``) from two
    scalar kernels: ``fast`` where every |x| of the block lies in [lo, hi], else
    ``general``.  ``fast`` must be ``general`` with the clamps, selects and
    rescalings that are identities on [lo, hi] left out (the same operations
    otherwise, so the same bits: the block tests check it bit for bit).  With
    ``saturated`` (a scalar kernel too), blocks outside [lo, hi] whose every |x|
    lies in [saturated_lo, inf] (NaN excluded) take it instead of ``general``: the
    general kernel's value there without its arithmetic (a second test, which only
    the blocks outside the first reach).  Each loop of 16 is vectorized by LLVM; a
    test is one vector compare per 512 bits.  Returns ``(block(src, dst),
    backward_block(grad, src, dst))``, the latter grad * f(x) through
    ``backward_product``, or, with ``fast_nonzero`` (``fast`` is never 0 on [lo,
    hi]), as the plain product in the blocks that take ``fast``: the same bits
    (``backward_product`` blocks the gradient only where the derivative is 0),
    without the select LLVM cannot prove idle.  ``runs`` (float64): the blocks get
    drivers (``block.runs``, ``backward_block.runs``, see :func:`_runs_drivers`)
    that compute runs of whole blocks by the fast kernel as a plain loop, for
    large fast kernels, which a block holds in two 512-bit halves of every value
    and spills; small ones (softsign, float64 sigmoid' and tanh') measured the
    same or slower with them."""
    from numba import carray

    from .._avx512 import all_in_range
    from .._core import backward_product
    from .._loops import prefer_512_bit_vectors

    float_type, int_type = (np.float32, np.int32) if dtype == "float32" else (np.float64, np.int64)

    def bits(v):
        return int(float_type(v).view(int_type))

    _all_inside = all_in_range(bits(lo), bits(hi), dtype)
    _all_saturated = all_in_range(bits(saturated_lo), bits(np.inf), dtype)
    has_saturated = saturated is not None
    saturated = general if saturated is None else saturated
    # in the lane loops as Numba IR, so that LLVM vectorizes each loop whole
    fast, general, saturated = (inlined_by_numba(k) for k in (fast, general, saturated))

    @njit(**JIT_OPTIONS)
    def block(src, dst):
        # each lane loop is vectorized where the block is compiled, before it is
        # inlined: LLVM's Intel tuning would split it into 256-bit halves (selu
        # float32 2.3x the time of the same kernel in a plain 512-bit loop on Intel
        # Rocket Lake; AMD Zen 4's tuning chose 512 bits by itself)
        prefer_512_bit_vectors()
        x = carray(src, (16,), float_type)
        y = carray(dst, (16,), float_type)
        if _all_inside(src):
            for i in range(16):
                y[i] = fast(x[i])
        elif has_saturated and _all_saturated(src):
            for i in range(16):
                y[i] = saturated(x[i])
        else:
            for i in range(16):
                y[i] = general(x[i])

    @njit(**JIT_OPTIONS)
    def backward_block(grad, src, dst):
        prefer_512_bit_vectors()
        g = carray(grad, (16,), float_type)
        x = carray(src, (16,), float_type)
        y = carray(dst, (16,), float_type)
        if _all_inside(src):
            if fast_nonzero:
                for i in range(16):
                    y[i] = g[i] * fast(x[i])
            else:
                for i in range(16):
                    y[i] = backward_product(g[i], fast(x[i]))
        elif has_saturated and _all_saturated(src):
            for i in range(16):
                y[i] = backward_product(g[i], saturated(x[i]))
        else:
            for i in range(16):
                y[i] = backward_product(g[i], general(x[i]))

    if runs:
        assert dtype == "float64", "runs drivers are for float64 blocks (two 512-bit halves per value)"
        block.runs, backward_block.runs = _runs_drivers(fast, block, backward_block, bits(lo), bits(hi),
                                                        fast_nonzero)
    return block, backward_block


#: blocks of 16 per run of :func:`_runs_drivers` (256 float64 values, 2 KiB per array)
RUN_BLOCKS = 16
#: the longest stretch of runs the drivers leave to the block kernels after failed tries
MAX_BACKOFF = 255


def _runs_drivers(fast, block, backward_block, lo_bits: int, hi_bits: int, fast_nonzero: bool):
    """The loops over ``nblk`` float64 blocks that ``_loops`` runs in place of a
    loop of ``block`` calls: ``runs(src, dst, nblk, skip, backoff)`` and
    ``backward_runs(grad, src, dst, nblk, skip, backoff)``, each returning its new
    ``(skip, backoff)``.

    Why: a block kernel holds its 16 float64 lanes in two 512-bit halves of every
    value, and a large fast kernel (gelu's, tanhshrink''s) then spills and rebuilds
    its constants for each block: 3.34 ns per value for float64 gelu, against 2.90
    for the same fast kernel as a plain loop (Zen 4, 10^6).  So the drivers
    *speculate*: each run of ``RUN_BLOCKS`` blocks is computed by the fast kernel as
    one plain loop (8 lanes per vector), with the range test folded into it (the
    least and greatest |x| bit pattern of the run, two integer min/max per vector);
    a run that leaves the range is computed again by the block kernels (NaN,
    infinities, the tails), and the floating-point flags the fast kernel raised
    on it are put back as they were (``ldmxcsr``).  The fast kernel is plain
    arithmetic (no table indexed by the input), so any input is safe to feed it.
    Testing a run before computing it, instead, costs a pass over its memory that
    does not overlap the arithmetic: no faster than the block kernels.

    Inputs where most runs leave the range (the saturated and special benchmark
    regimes: 1% NaN leaves 92% of the runs out) would pay twice: after each failed
    try the drivers leave the next ``backoff`` runs to the block kernels, backoff
    growing 0, 1, 3, ... ``MAX_BACKOFF`` with each failure in a row and back to 0
    after a run that passes.  ``skip`` and ``backoff`` carry that state from one
    call to the next (the chunks of a strided or in-place call).  Calls whose
    output overlaps an input (the loops' padded last block, computed in place)
    and the blocks after the last whole run take the block kernels."""
    from numba import carray

    from .._loops import PREFETCH_BYTES, apart, fp_status, offset, prefer_512_bit_vectors, prefetch, set_fp_status

    lo, hi = np.int64(lo_bits), np.int64(hi_bits)
    abs_mask, top = np.int64(0x7FFFFFFFFFFFFFFF), np.int64(0x7FFFFFFFFFFFFFFF)
    run_values = RUN_BLOCKS * 16
    run_bytes = run_values * 8

    @njit(**JIT_OPTIONS)
    def _fast_run(x, y):
        """y = fast(x) over one run; whether every |x| lies in [lo, hi]."""
        least, most = top, np.int64(0)
        for i in range(run_values):
            v = x[i]
            y[i] = fast(v)
            b = float_bits(v) & abs_mask
            least = min(least, b)
            most = max(most, b)
        return least >= lo and most <= hi

    @njit(**JIT_OPTIONS)
    def _fast_backward_run(g, x, y):
        least, most = top, np.int64(0)
        for i in range(run_values):
            v = x[i]
            if fast_nonzero:
                y[i] = g[i] * fast(v)
            else:
                y[i] = backward_product(g[i], fast(v))
            b = float_bits(v) & abs_mask
            least = min(least, b)
            most = max(most, b)
        return least >= lo and most <= hi

    def _backoff(passed, backoff):
        # (skip, backoff) after a try: no skip and half the backoff after a pass,
        # the next length after a failure
        if passed:
            return 0, backoff >> 1
        backoff = min(2 * backoff + 1, MAX_BACKOFF)
        return backoff, backoff

    backoff_after = njit(**JIT_OPTIONS)(_backoff)

    @njit(**JIT_OPTIONS)
    def skipped(j, end, nblk, skip):
        # (stop, skip): the blocks from j on that the block kernels take, the runs
        # left to them or the blocks after the last whole run, and the skip after
        if j >= end:
            return nblk, skip
        stop = min(j + skip * RUN_BLOCKS, end)
        return stop, skip - (stop - j) // RUN_BLOCKS

    # The block loop is a function of its own, called, not inlined (no forceinline;
    # too large for LLVM's inliner): inlined into the driver, next to the fast loop
    # whose constants LLVM hoists to the driver's entry, it ran slower than the
    # plain loop of block calls (float64 tanhshrink_backward 1.19x on the special
    # regime, where the drivers leave nearly every run to the blocks).  The fast
    # loop measured faster inlined (tanhshrink' 1.76 against 1.89 ns at 10^6).
    apart_jit = njit(error_model="numpy", fastmath={"contract"}, cache=True)

    @apart_jit
    def _blocks(src, dst, first, stop):
        prefer_512_bit_vectors()
        for b in range(first, stop):
            prefetch(src, b * 128 + PREFETCH_BYTES)
            prefetch(src, b * 128 + PREFETCH_BYTES + 64)
            block(offset(src, b * 128), offset(dst, b * 128))

    @apart_jit
    def _backward_blocks(grad, src, dst, first, stop):
        prefer_512_bit_vectors()
        for b in range(first, stop):
            for c in range(0, 128, 64):
                prefetch(grad, b * 128 + PREFETCH_BYTES + c)
                prefetch(src, b * 128 + PREFETCH_BYTES + c)
            backward_block(offset(grad, b * 128), offset(src, b * 128), offset(dst, b * 128))

    @njit(error_model="numpy", fastmath={"contract"}, cache=True)
    def runs(src, dst, nblk, skip, backoff):
        prefer_512_bit_vectors()
        # the whole runs, where the output overlaps no input
        end = nblk // RUN_BLOCKS * RUN_BLOCKS if apart(src, dst, nblk * 128) else 0
        j = 0
        while j < nblk:
            if skip == 0 and j < end:
                at = j * 128
                # the next run's lines, while this one computes
                for c in range(0, run_bytes, 64):
                    prefetch(src, at + run_bytes + c)
                before = fp_status()
                passed = _fast_run(carray(offset(src, at), (run_values,), np.float64),
                                   carray(offset(dst, at), (run_values,), np.float64))
                skip, backoff = backoff_after(passed, backoff)
                if passed:
                    j += RUN_BLOCKS
                    continue
                set_fp_status(before)
                stop = j + RUN_BLOCKS  # the run again, by the block kernels below
            else:
                stop, skip = skipped(j, end, nblk, skip)
            _blocks(src, dst, j, stop)
            j = stop
        return skip, backoff

    @njit(error_model="numpy", fastmath={"contract"}, cache=True)
    def backward_runs(grad, src, dst, nblk, skip, backoff):
        prefer_512_bit_vectors()
        whole = apart(src, dst, nblk * 128) and apart(grad, dst, nblk * 128)
        end = nblk // RUN_BLOCKS * RUN_BLOCKS if whole else 0
        j = 0
        while j < nblk:
            if skip == 0 and j < end:
                at = j * 128
                for c in range(0, run_bytes, 64):
                    prefetch(grad, at + run_bytes + c)
                    prefetch(src, at + run_bytes + c)
                before = fp_status()
                passed = _fast_backward_run(carray(offset(grad, at), (run_values,), np.float64),
                                            carray(offset(src, at), (run_values,), np.float64),
                                            carray(offset(dst, at), (run_values,), np.float64))
                skip, backoff = backoff_after(passed, backoff)
                if passed:
                    j += RUN_BLOCKS
                    continue
                set_fp_status(before)
                stop = j + RUN_BLOCKS
            else:
                stop, skip = skipped(j, end, nblk, skip)
            _backward_blocks(grad, src, dst, j, stop)
            j = stop
        return skip, backoff

    return runs, backward_runs
