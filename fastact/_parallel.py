"""Multi-core execution of the ufunc loops for large arrays.

NumPy calls a ufunc's inner loop once per contiguous run (for a 1-D or contiguous
array: once for the whole array), with the GIL released.  The loop NumPy is given
is :func:`dispatch`, one compiled function shared by every fastact ufunc; the loop's
``data`` pointer (which NumPy hands through untouched) points to a small record:

    [threshold, serial loop address, number of operands, state address, item size,
     bytes per element of the arrays (inputs and output, not broadcast parameters)]

Below ``threshold`` elements, ``dispatch`` calls the serial loop (``_loops.py``)
directly: small arrays pay one compare and an indirect call, nothing else.  Above
it, ``_run_chunks`` (a Numba ``parallel=True`` function) splits the index range into
one chunk per thread, each a multiple of 64 elements (whole cache lines, so two
threads never write one line), and runs the same serial loop on each chunk.  Every
element goes through the same machine code either way, so results are bitwise
identical to one thread.  A call whose output shares memory with an input without
being it (the output one element behind, say) stays on one thread: its elements
must be computed in order.

The process-wide state is three int64 words: the thread count
(:func:`set_num_threads`), a busy flag, and the size of a call's arrays from
which the memory-bound loops write with streaming stores
(:func:`set_stream_threshold`; every serial loop gets the state's address as its
``data``, and the chunks of a parallel call a copy whose threshold says whether
the whole call streams).  A call goes parallel only if it wins the flag with an
atomic compare-and-swap; a call that loses (another thread's large call is
running, e.g. Dask's threaded scheduler) runs serially on its own thread instead
of waiting.  That keeps the cores from being oversubscribed, and
Numba's ``workqueue`` threading layer, which aborts the process on concurrent
parallel launches, safe.  Nothing else is written at call time.

Addresses are never compiled into machine code (they change from process to
process and the code is cached on disk): they reach the loop through ``data``.
"""

from __future__ import annotations

import json
import os
import pathlib

import numba
import numpy as np
from llvmlite import ir
from numba import cfunc, config, njit, prange, types
from numba.extending import intrinsic
from numba.np.ufunc.parallel import _launch_threads

__all__ = ["dispatch", "loop_record", "set_num_threads", "get_num_threads", "threshold_for"]

#: the environment variable giving the default thread count
ENV_VAR = "FASTACT_NUM_THREADS"

#: elements per chunk are a multiple of this: 64 float32 or float64 values are
#: whole cache lines (4 or 8) whatever the array's alignment
_CHUNK_QUANTUM = 64

_I64 = ir.IntType(64)

_LOOP_SIG = types.void(
    types.CPointer(types.voidptr), types.CPointer(types.intp), types.CPointer(types.intp), types.voidptr
)


@intrinsic
def _load_word(typingctx, addr):
    """The int64 at address ``addr``."""

    def codegen(context, builder, sig, args):
        return builder.load(builder.inttoptr(args[0], _I64.as_pointer()))

    return types.int64(addr), codegen


@intrinsic
def _try_acquire(typingctx, addr):
    """Atomically set the int64 at ``addr`` from 0 to 1; whether it was 0."""

    def codegen(context, builder, sig, args):
        ptr = builder.inttoptr(args[0], _I64.as_pointer())
        pair = builder.cmpxchg(ptr, ir.Constant(_I64, 0), ir.Constant(_I64, 1), "acq_rel", "monotonic")
        return builder.extract_value(pair, 1)

    return types.boolean(addr), codegen


@intrinsic
def _release(typingctx, addr):
    """Atomically store 0 at ``addr`` (release ordering)."""

    def codegen(context, builder, sig, args):
        ptr = builder.inttoptr(args[0], _I64.as_pointer())
        builder.store_atomic(ir.Constant(_I64, 0), ptr, "release", 8)
        return context.get_dummy_value()

    return types.none(addr), codegen


@intrinsic
def _call_loop(typingctx, fn, args, dims, steps, state):
    """Call the serial ufunc loop at address ``fn`` with these (integer) pointers;
    its ``data`` is the process state (the loop reads the streaming threshold)."""

    def codegen(context, builder, sig, a):
        i8p = ir.IntType(8).as_pointer()
        intp_p = context.get_value_type(types.intp).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p.as_pointer(), intp_p, intp_p, i8p])
        callee = builder.inttoptr(a[0], fnty.as_pointer())
        builder.call(callee, [builder.inttoptr(a[1], i8p.as_pointer()), builder.inttoptr(a[2], intp_p),
                              builder.inttoptr(a[3], intp_p), builder.inttoptr(a[4], i8p)])
        return context.get_dummy_value()

    return types.none(fn, args, dims, steps, state), codegen


@intrinsic
def _address(typingctx, ptr):
    """The integer value of a pointer."""

    def codegen(context, builder, sig, args):
        return builder.ptrtoint(args[0], _I64)

    return types.int64(ptr), codegen


#: a streaming threshold no output reaches
_NEVER = 1 << 62


@njit(cache=True)
def _chunk_stream_threshold(n, array_bytes, threshold):  # pragma: no cover - compiled
    """The threshold each chunk of a parallel call of ``n`` elements gets
    (``array_bytes`` per element over its arrays): 0 (stream) where the call's
    arrays reach ``threshold``, else never.  All chunks share the last-level
    cache, so the whole call decides: every chunk streams or none does."""
    return 0 if n * array_bytes >= threshold else _NEVER


@njit(parallel=True, cache=True)
def _run_chunks(loop, args, steps, n, noperands, nchunks, state, array_bytes):  # pragma: no cover - compiled
    chunk = (n + nchunks - 1) // nchunks
    chunk = (chunk + _CHUNK_QUANTUM - 1) // _CHUNK_QUANTUM * _CHUNK_QUANTUM
    # the chunks' loops read the streaming threshold from this copy of the state
    chunk_state = np.empty(3, np.int64)
    for j in range(3):
        chunk_state[j] = _load_word(state + 8 * j)
    chunk_state[2] = _chunk_stream_threshold(n, array_bytes, chunk_state[2])
    for c in prange(nchunks):
        start = c * chunk
        count = min(n, start + chunk) - start
        if count > 0:
            local = np.empty(noperands, np.int64)
            for j in range(noperands):
                local[j] = _load_word(args + 8 * j) + start * _load_word(steps + 8 * j)
            dims = np.empty(1, np.int64)
            dims[0] = count
            _call_loop(loop, _address(local.ctypes.data), _address(dims.ctypes.data), steps,
                       _address(chunk_state.ctypes.data))


@njit(cache=True)
def _shares_memory_unevenly(args, steps, n, noperands, item):  # pragma: no cover - compiled
    """Whether an input shares memory with the output without being it (the same
    address and stride): NumPy hands over such operands when computing the elements
    in order is right (``np.negative(x[1:], out=x[:-1])``), and chunks run at once
    on several threads would read values that another thread has already written."""
    last = noperands - 1
    out = _load_word(args + 8 * last)
    out_step = _load_word(steps + 8 * last)
    out_span = out_step * (n - 1)
    out_lo = out + min(out_span, 0)
    out_hi = out + max(out_span, 0) + item
    for j in range(last):
        ptr = _load_word(args + 8 * j)
        step = _load_word(steps + 8 * j)
        if ptr == out and step == out_step:
            continue  # in place: each element reads and writes only itself
        span = step * (n - 1)
        if ptr + min(span, 0) < out_hi and out_lo < ptr + max(span, 0) + item:
            return True
    return False


def _dispatch(args, dims, steps, data):  # pragma: no cover - compiled
    record = _address(data)
    n = dims[0]
    loop = _load_word(record + 8)
    noperands = _load_word(record + 16)
    state = _load_word(record + 24)
    nthreads = _load_word(state)
    if (
        n >= _load_word(record)
        and nthreads > 1
        and not _shares_memory_unevenly(_address(args), _address(steps), n, noperands, _load_word(record + 32))
        and _try_acquire(state + 8)
    ):
        _run_chunks(loop, _address(args), _address(steps), n, noperands, nthreads, state, _load_word(record + 40))
        _release(state + 8)
    else:
        _call_loop(loop, _address(args), _address(dims), _address(steps), state)


# Numba starts its threading layer (and registers the symbols parallel code links
# against) when it compiles a parallel function, not when it loads one from cache.
_launch_threads()

#: the ufunc loop NumPy calls for every fastact ufunc (its ``data`` is a loop record)
dispatch = cfunc(_LOOP_SIG, cache=True)(_dispatch)


def _env_int(name: str, minimum: int, expected: str) -> int | None:
    """The integer in environment variable ``name`` (None where unset or blank);
    a ValueError naming the variable where it is not an integer >= ``minimum``."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        wanted = int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: expected {expected}") from None
    if wanted < minimum:
        raise ValueError(f"{name}={value!r}: expected {expected}")
    return wanted


def _default_threads() -> int:
    pool = config.NUMBA_NUM_THREADS
    wanted = _env_int(ENV_VAR, 1, "a positive integer")
    return pool if wanted is None else min(wanted, pool)


STREAM_ENV_VAR = "FASTACT_STREAM_MIN_BYTES"
#: the streaming threshold where the last-level cache size is unknown (bytes of a
#: call's arrays: a 2 MiB output of a one-input kernel)
DEFAULT_STREAM_MIN_BYTES = 4 << 20
#: the largest default threshold: a virtual machine reports its host's whole
#: last-level cache, most of which serves other guests (32 MiB: Zen 4's L3)
MAX_STREAM_MIN_BYTES = 32 << 20


def _last_level_cache_bytes() -> int | None:
    """Size of cpu0's last-level cache, from Linux sysfs (None where unreadable)."""
    best_level, best_size = 0, None
    for index in pathlib.Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            level = int((index / "level").read_text())
            text = (index / "size").read_text().strip().upper()
        except (OSError, ValueError):
            continue
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit() and level > best_level:
            best_level, best_size = level, int(digits) * scale
    return best_size


def default_stream_min_bytes() -> int:
    """The size of a call's arrays (inputs and output, all threads together) from
    which memory-bound loops stream their output.

    ``$FASTACT_STREAM_MIN_BYTES`` if set.  Otherwise the last-level cache, at most
    32 MiB (4 MiB where its size is unknown): streaming pays once a call's arrays
    no longer stay in the cache.  Measured with ``tools/stream_threshold.py`` and
    ``bench/compare.py`` (one thread): on AMD Zen 4 (32 MiB L3) plain stores into
    the L3 are 1.15-1.8x faster up to outputs of 8 MiB (relu, leaky_relu: 16 MiB
    of arrays) and streaming is 0.6-0.9x from 16 MiB (32 MiB of arrays).  The
    Intel VM reports its host's 480 MiB L3, shared with other guests, and which
    store wins at 80 MiB of arrays (float32 forwards at 10^7) changed from day to
    day: on 2026-12-04 plain stores were 1.1-1.2x faster there (the cap was 96
    MiB), on 2026-12-05 streaming was 0.59-0.65x (interleaved and back to back,
    relu, leaky_relu, hard_tanh, relu_backward, 40 MiB outputs) and relu 0.93-1.00
    of PyTorch in ``peer_compare.py`` against 1.03-1.25 with plain stores.  A
    core's share of a shared cache rarely holds 80 MiB: the cap is Zen 4's L3.  At
    10^6 elements (8-24 MiB of arrays) plain stores stay: 0.98-1.05x of streaming
    back to back.
    """
    wanted = _env_int(STREAM_ENV_VAR, 0, "a byte count >= 0")
    if wanted is not None:
        return wanted
    llc = _last_level_cache_bytes()
    if llc:
        return min(max(DEFAULT_STREAM_MIN_BYTES, llc), MAX_STREAM_MIN_BYTES)
    return DEFAULT_STREAM_MIN_BYTES


#: [thread count, busy flag, streaming threshold in bytes]: the only state
#: shared by all calls
_STATE = np.zeros(3, np.int64)
_STATE[0] = _default_threads()
_STATE[2] = default_stream_min_bytes()


def set_stream_threshold(nbytes: int) -> None:
    """Write the outputs of calls whose arrays (inputs and output) hold ``nbytes``
    or more with streaming stores, in the memory-bound kernels (measurement and
    tests; the default is :func:`default_stream_min_bytes`)."""
    nbytes = int(nbytes)
    if nbytes < 0:
        raise ValueError(f"streaming threshold must be >= 0 bytes, got {nbytes}")
    _STATE[2] = nbytes


def get_stream_threshold() -> int:
    """Bytes of a call's arrays from which memory-bound kernels stream their output."""
    return int(_STATE[2])


def _after_fork_in_child() -> None:
    # GNU OpenMP cannot start parallel regions in a child forked from a process
    # that used it (Numba's omp layer terminates the child), and fork is how
    # multiprocessing and PyTorch's DataLoader start workers on Linux: such
    # children run fastact single-threaded.  (Numba's tbb and workqueue layers
    # are fork-safe.)
    global _FORKED_FROM_OMP
    if numba.threading_layer() == "omp":
        _FORKED_FROM_OMP = True
        _STATE[0] = 1
        _STATE[1] = 0


_FORKED_FROM_OMP = False
os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n: int) -> None:
    """Use up to ``n`` threads for large arrays (1 = single-threaded everywhere).

    The default is ``$FASTACT_NUM_THREADS``, else Numba's pool size
    (``$NUMBA_NUM_THREADS``, by default the number of cores).  ``n`` cannot exceed
    the pool size, which Numba fixes when it starts.
    """
    n = int(n)
    if n > 1 and _FORKED_FROM_OMP:
        raise RuntimeError("this process was forked from one using GNU OpenMP, which cannot run parallel "
                           "code after fork(): fastact stays single-threaded here (use the 'spawn' or "
                           "'forkserver' start method for multi-threaded workers)")
    if not 1 <= n <= config.NUMBA_NUM_THREADS:
        raise ValueError(f"number of threads must be between 1 and {config.NUMBA_NUM_THREADS} "
                         f"(NUMBA_NUM_THREADS), got {n}")
    _STATE[0] = n


def get_num_threads() -> int:
    """The number of threads fastact uses for large arrays."""
    return int(_STATE[0])


_THRESHOLDS_FILE = pathlib.Path(__file__).with_name("parallel_thresholds.json")
#: used for a loop the measurement file does not list (a new activation)
DEFAULT_THRESHOLD = 1 << 17


def _load_thresholds() -> dict[str, int]:
    try:
        table = json.loads(_THRESHOLDS_FILE.read_text())["thresholds"]
    except FileNotFoundError:
        return {}
    return {key: int(value) for key, value in table.items()}


_THRESHOLDS = _load_thresholds()


def threshold_for(name: str, dtype: str) -> int:
    """Elements from which ufunc ``name`` runs on several threads (measured, see
    ``tools/parallel_threshold.py``)."""
    return _THRESHOLDS.get(f"{name}/{dtype}", DEFAULT_THRESHOLD)


def loop_record(
    serial_loop_address: int, noperands: int, threshold: int, itemsize: int, array_bytes: int
) -> np.ndarray:
    """The ``data`` record of one ufunc loop (``array_bytes``: bytes per element
    of its arrays, inputs and output); keep it alive as long as the ufunc."""
    return np.array([threshold, serial_loop_address, noperands, _STATE.ctypes.data, itemsize, array_bytes],
                    np.int64)


def set_threshold(record: np.ndarray, threshold: int) -> None:
    """Change one loop's threshold (measurement and tests)."""
    record[0] = max(int(threshold), 1)

