"""Streaming stores: large outputs of the memory-bound kernels are written through a
stack buffer with non-temporal stores (``_loops.STREAM_MIN_BYTES``).  That path must
give bitwise the results of every other path: the element-by-element strided loop,
in-place calls, outputs at every alignment within a cache line, and a tail that is
not a whole buffer."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import support

import fastact
from fastact import _loops

STREAMING = [act for act in support.RECORDS if not act.transcendental]


def _cases():
    for act in STREAMING:
        for kind in support.KINDS:
            for dtype in ("float32", "float64"):
                yield pytest.param(act, kind, dtype, id=f"{support.public_name(act, kind)}-{dtype}")



def test_some_kernels_stream():
    assert STREAMING, "no memory-bound kernel in the registry"


@pytest.mark.parametrize(("act", "kind", "dtype"), list(_cases()))
def test_streamed_output_bitwise_equals_strided_loop(act, kind, dtype):
    fn = support.public_function(act, kind)
    item = np.dtype(dtype).itemsize
    # several streaming buffers per thread, plus a tail that is not a whole buffer
    n = 3 * _loops.STREAM_MIN_BYTES // item + 1237
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 8).astype(dtype)
    x[:: 1009] = np.resize(support.special_values(dtype), x[:: 1009].shape)
    args = (rng.standard_normal(n).astype(dtype), x) if kind == "backward" else (x,)
    # every operand strided: the general loop, element by element, never streams
    expected = fn(*(np.repeat(v, 2)[::2] for v in args))
    for shift in (0, 3):  # output start 0 or 3 elements past a 64-byte boundary
        backing = np.empty(n + 64 // item + 8, dtype)
        start = (-backing.ctypes.data % 64) // item + shift
        out = backing[start : start + n]
        assert fn(*args, out=out) is out
        np.testing.assert_array_equal(support.bits(out), support.bits(expected), err_msg=f"shift {shift}")
    in_place = [v.copy() for v in args]
    fn(*in_place, out=in_place[-1])
    np.testing.assert_array_equal(support.bits(in_place[-1]), support.bits(expected), err_msg="in place")


def test_streaming_is_parallel_safe():
    # every thread's chunk streams and fences before the join: the result read right
    # after the call is complete
    x = np.linspace(-10, 10, 8 * _loops.STREAM_MIN_BYTES // 4, dtype=np.float32)
    before = fastact.get_num_threads()
    try:
        fastact.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # every thread of the pool
        for _ in range(3):
            np.testing.assert_array_equal(fastact.relu(x), np.maximum(x, 0))
    finally:
        fastact.set_num_threads(before)
