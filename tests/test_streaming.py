"""Streaming stores: large outputs of the memory-bound kernels are written through a
stack buffer with non-temporal stores (from ``_parallel.get_stream_threshold()``
bytes, read at call time).  That path must give bitwise the results of every other
path: the element-by-element strided loop, in-place calls, outputs at every
alignment within a cache line, and a tail that is not a whole buffer.  The tests
lower the threshold to 64 KiB, so the streamed path runs whatever the machine's
default (the last-level cache, 4 to 32 MiB of arrays) and the arrays stay small."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import support

import fastact
from fastact import _parallel

#: the threshold the tests stream from (several whole 4 KiB buffers per call)
TEST_STREAM_BYTES = 64 << 10

STREAMING = [act for act in support.RECORDS if act.streamed]


def _cases():
    for act in STREAMING:
        for kind in support.KINDS:
            for dtype in ("float32", "float64"):
                yield pytest.param(act, kind, dtype, id=f"{support.public_name(act, kind)}-{dtype}")



@pytest.fixture
def low_stream_threshold():
    before = _parallel.get_stream_threshold()
    _parallel.set_stream_threshold(TEST_STREAM_BYTES)
    try:
        yield TEST_STREAM_BYTES
    finally:
        _parallel.set_stream_threshold(before)


def test_some_kernels_stream():
    assert STREAMING, "no memory-bound kernel in the registry"


@pytest.mark.parametrize(("act", "kind", "dtype"), list(_cases()))
def test_streamed_output_bitwise_equals_strided_loop(act, kind, dtype, low_stream_threshold):
    fn = support.public_function(act, kind)
    item = np.dtype(dtype).itemsize
    # several streaming buffers per thread, plus a tail that is not a whole buffer
    n = 3 * low_stream_threshold // item + 1237
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


def test_streaming_is_parallel_safe(low_stream_threshold):
    # every thread's chunk streams and fences before the join: the result read right
    # after the call is complete
    x = np.linspace(-10, 10, 64 * low_stream_threshold // 4, dtype=np.float32)
    before = fastact.get_num_threads()
    try:
        fastact.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # every thread of the pool
        for _ in range(3):
            np.testing.assert_array_equal(fastact.relu(x), np.maximum(x, 0))
    finally:
        fastact.set_num_threads(before)


def test_parallel_call_streams_by_its_whole_output(low_stream_threshold):
    # a parallel call's chunks all stream where the call's arrays reach the
    # threshold, though each chunk's are fewer bytes; bitwise the serial results
    assert _parallel._chunk_stream_threshold(3 * 1024, 8, 24 << 10) == 0
    assert _parallel._chunk_stream_threshold(3 * 1024 - 1, 8, 24 << 10) == _parallel._NEVER
    x = np.random.default_rng(6).standard_normal(low_stream_threshold // 8 + 77).astype(np.float32)
    g = np.random.default_rng(7).standard_normal(x.size).astype(np.float32)
    calls = {"relu": (x,), "hard_sigmoid": (x,), "softshrink_backward": (g, x)}
    _parallel.set_stream_threshold(1 << 62)
    serial = {name: getattr(fastact, name)(*args) for name, args in calls.items()}
    with support.threads(numba.config.NUMBA_NUM_THREADS, threshold=1):
        for threshold in (low_stream_threshold, 1 << 62):  # the whole output streamed, then not
            _parallel.set_stream_threshold(threshold)
            for name, args in calls.items():
                got = getattr(fastact, name)(*args)
                np.testing.assert_array_equal(support.bits(got), support.bits(serial[name]), err_msg=name)


def test_threshold_is_read_at_call_time(low_stream_threshold):
    # the same ufunc, streaming and not, gives the same bits on both sides of the
    # threshold (the loop reads it from the process state on every call)
    x = np.random.default_rng(5).standard_normal(low_stream_threshold // 4 + 4099).astype(np.float32)
    streamed = fastact.relu(x)
    _parallel.set_stream_threshold(1 << 62)
    np.testing.assert_array_equal(support.bits(fastact.relu(x)), support.bits(streamed))
    assert _parallel.get_stream_threshold() == 1 << 62
    with pytest.raises(ValueError, match=">= 0"):
        _parallel.set_stream_threshold(-1)


def test_default_threshold_rule(monkeypatch):
    monkeypatch.delenv(_parallel.STREAM_ENV_VAR, raising=False)
    monkeypatch.setattr(_parallel, "_last_level_cache_bytes", lambda: 32 << 20)
    assert _parallel.default_stream_min_bytes() == 32 << 20  # measured on Zen 4
    monkeypatch.setattr(_parallel, "_last_level_cache_bytes", lambda: 480 << 20)
    assert _parallel.default_stream_min_bytes() == 32 << 20  # the cap (Zen 4's L3)
    monkeypatch.setattr(_parallel, "_last_level_cache_bytes", lambda: 1 << 20)
    assert _parallel.default_stream_min_bytes() == 4 << 20
    monkeypatch.setattr(_parallel, "_last_level_cache_bytes", lambda: None)
    assert _parallel.default_stream_min_bytes() == 4 << 20
    monkeypatch.setenv(_parallel.STREAM_ENV_VAR, "12345")
    assert _parallel.default_stream_min_bytes() == 12345
    for bad in ("-1", "lots"):
        monkeypatch.setenv(_parallel.STREAM_ENV_VAR, bad)
        with pytest.raises(ValueError, match=_parallel.STREAM_ENV_VAR):
            _parallel.default_stream_min_bytes()


def test_last_level_cache_is_read_or_none():
    size = _parallel._last_level_cache_bytes()
    assert size is None or (isinstance(size, int) and size >= 1 << 16)
