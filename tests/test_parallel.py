"""Multi-core execution: bitwise identical to one thread, thread-safe, controllable.

Results must not depend on the thread count: each element goes through the same
serial loop whichever thread runs its chunk.  The tests force every loop's
threshold down to one element, so small arrays of awkward sizes (chunk edges inside
a cache line, fewer elements than threads) exercise the parallel path, and compare
bit patterns (NaN payloads and signed zeros included) against ``set_num_threads(1)``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
import support

import fastact
from fastact import _parallel
from fastact._registry import LOOP_RECORDS

POOL = numba.config.NUMBA_NUM_THREADS
SIZES = (1, 63, 64, 65, 1000, 4099)
threads = support.threads


def _inputs(act, kind: str, dtype: str, size: int, seed: int) -> tuple:
    """Arguments of a public function: values over the whole float range plus specials."""
    rng = np.random.default_rng(seed)
    specials = support.special_values(dtype)
    x = np.concatenate([specials, rng.standard_normal(size) * 8]).astype(dtype)[:size]
    rng.shuffle(x)
    if kind != "backward":
        return (x,)
    return (rng.standard_normal(size).astype(dtype), x)


def _in_place(fn, args: tuple) -> np.ndarray:
    """``fn`` writing over a copy of its last array argument (x)."""
    copies = [v.copy() for v in args]
    return fn(*copies, out=copies[-1])


needs_two_threads = pytest.mark.skipif(POOL < 2, reason="Numba's thread pool has one thread (NUMBA_NUM_THREADS=1)")


def _cases():
    for act in support.RECORDS:
        for kind in support.KINDS:
            for dtype in ("float32", "float64"):
                yield pytest.param(act, kind, dtype, id=f"{support.public_name(act, kind)}-{dtype}")


@needs_two_threads
@pytest.mark.parametrize(("act", "kind", "dtype"), list(_cases()))
def test_parallel_bitwise_equals_single_thread(act, kind, dtype):
    fn = support.public_function(act, kind)
    raw = support.raw_ufunc(act, kind)
    params = support.params_as(act, dtype)
    for size in SIZES:
        args = _inputs(act, kind, dtype, size, seed=size)
        layouts = {
            "contiguous": lambda a=args: fn(*a),
            "strided": lambda a=args: fn(*(np.repeat(v, 3)[::3] for v in a)),
            "2-d": lambda a=args: fn(*(v.reshape(1, -1) for v in a)),
            "in place": lambda a=args: _in_place(fn, a),
        }
        if params:
            # parameters as arrays: a non-zero parameter stride takes the strided loop
            layouts["array params"] = lambda a=args: raw(*a, *(np.full(a[0].shape, p) for p in params))
        for layout, call in layouts.items():
            with threads(1):
                expected = call()
            with threads(POOL, threshold=1):
                got = call()
            assert got.dtype == expected.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(support.bits(got), support.bits(expected), err_msg=f"{layout}, n={size}")


@needs_two_threads
def test_parallel_in_place_and_out():
    x = np.linspace(-50, 50, 100_003, dtype=np.float32)
    with threads(1):
        expected = fastact.sigmoid(x)
    with threads(POOL, threshold=1):
        got = x.copy()
        fastact.sigmoid(got, out=got)
        np.testing.assert_array_equal(got, expected)
        out = np.full_like(x, np.nan)
        assert fastact.sigmoid(x, out=out) is out
        np.testing.assert_array_equal(out, expected)
        # where= wraps our loop in NumPy's masked loop; untouched elements stay
        out = np.zeros_like(x)
        fastact.sigmoid(x, out=out, where=x > 0)
        np.testing.assert_array_equal(out, np.where(x > 0, expected, 0))


@needs_two_threads
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parallel_output_behind_its_input(dtype):
    """NumPy hands the loop an output one element behind its input in the same buffer
    (no copy: computing the elements in order is right).  Chunks on several threads
    would read elements a neighbouring chunk has already overwritten; the call stays
    on one thread and gives the results of separate arrays."""
    x = np.linspace(-50, 50, 100_003, dtype=dtype)
    g = np.cos(x)
    with threads(1):
        expected = {name: fn(x[1:]) for name, fn in (("sigmoid", fastact.sigmoid), ("relu", fastact.relu))}
        expected["sigmoid_backward"] = fastact.sigmoid_backward(g[:-1], x[1:])
    with threads(POOL, threshold=1):
        for name in ("sigmoid", "relu"):
            buf = x.copy()
            getattr(fastact, name)(buf[1:], out=buf[:-1])
            np.testing.assert_array_equal(buf[:-1], expected[name], err_msg=name)
        buf = x.copy()
        fastact.sigmoid_backward(g[:-1], buf[1:], out=buf[:-1])
        np.testing.assert_array_equal(buf[:-1], expected["sigmoid_backward"])


def test_small_arrays_stay_on_the_calling_thread():
    # measured thresholds are far above the sizes where a thread launch (~10 us)
    # could pay off; a 1000-element call never reaches the parallel path
    fastact.ufuncs.build_all()
    assert min(int(r[0]) for r in LOOP_RECORDS.values()) > 10_000


def test_busy_flag_released():
    with threads(POOL, threshold=1):
        fastact.tanh(np.ones(5000))
    assert _parallel._STATE[1] == 0


def test_set_num_threads_validates():
    before = fastact.get_num_threads()
    with pytest.raises(ValueError, match="between 1 and"):
        fastact.set_num_threads(0)
    with pytest.raises(ValueError, match="NUMBA_NUM_THREADS"):
        fastact.set_num_threads(POOL + 1)
    assert fastact.get_num_threads() == before
    fastact.set_num_threads(1)
    try:
        assert fastact.get_num_threads() == 1
    finally:
        fastact.set_num_threads(before)


def _mixed_jobs(n_jobs: int, size: int):
    """(function, args) pairs over every public function and both dtypes."""
    jobs = []
    names = [(act, kind) for act in support.RECORDS for kind in support.KINDS]
    for j in range(n_jobs):
        act, kind = names[j % len(names)]
        dtype = ("float32", "float64")[(j // len(names)) % 2]
        jobs.append((support.public_function(act, kind), _inputs(act, kind, dtype, size + j, seed=j)))
    return jobs


@pytest.mark.parametrize("threshold", [None, 1], ids=["measured-threshold", "every-call-parallel"])
def test_concurrent_calls_equal_serial(threshold):
    jobs = _mixed_jobs(96, 200_000)
    with threads(1):
        expected = [fn(*args) for fn, args in jobs]
    with threads(POOL, threshold=threshold), ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(2):
            got = list(pool.map(lambda job: job[0](*job[1]), jobs))
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_array_equal(support.bits(g), support.bits(e))
    assert _parallel._STATE[1] == 0


_PROBE = textwrap.dedent(
    """
    import json, numpy as np, fastact
    from fastact import _parallel
    from fastact._registry import LOOP_RECORDS
    report = {"threads": fastact.get_num_threads()}
    try:
        fastact.set_num_threads(2)
        report["set_2"] = "ok"
    except ValueError as e:
        report["set_2"] = str(e)
    fastact.ufuncs.build_all()
    x = np.linspace(-30, 30, 10_001)
    fastact.set_num_threads(1)
    expected = [fastact.tanh(x), fastact.leaky_relu_backward(x, x, 0.3), fastact.sigmoid(x.astype(np.float32))]
    for record in LOOP_RECORDS.values():
        _parallel.set_threshold(record, 1)
    fastact.set_num_threads(numba_threads := __import__("numba").config.NUMBA_NUM_THREADS)
    got = [fastact.tanh(x), fastact.leaky_relu_backward(x, x, 0.3), fastact.sigmoid(x.astype(np.float32))]
    report["equal"] = all(np.array_equal(g.view(np.uint8), e.view(np.uint8)) for g, e in zip(got, expected))
    print(json.dumps(report))
    """
)


def _probes(*envs: dict[str, str]) -> list[dict]:
    """The probe's report in one fresh interpreter per environment, all at once
    (each loads every loop from the cache: seconds apiece)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("FASTACT_NUM_THREADS", "NUMBA_NUM_THREADS")}
    running = [subprocess.Popen([sys.executable, "-c", _PROBE], env={**environ, **env}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for env in envs]  # fmt: skip
    reports = []
    for process in running:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def test_environment_controls_threads():
    four, three, capped, single = _probes(
        {"NUMBA_NUM_THREADS": "4"},
        {"NUMBA_NUM_THREADS": "4", "FASTACT_NUM_THREADS": "3"},
        {"NUMBA_NUM_THREADS": "2", "FASTACT_NUM_THREADS": "8"},
        {"NUMBA_NUM_THREADS": "1"},
    )
    # four threads on any machine: chunk edges at 1/4, 1/2, 3/4
    assert four == {"threads": 4, "set_2": "ok", "equal": True}
    assert three["threads"] == 3
    # FASTACT_NUM_THREADS above the pool is capped by it
    assert capped["threads"] == 2
    assert single["threads"] == 1 and "between 1 and 1" in single["set_2"] and single["equal"]


def test_bad_environment_value_is_a_clear_error():
    environ = {k: v for k, v in os.environ.items() if k != "FASTACT_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", "import fastact"], env={**environ, "FASTACT_NUM_THREADS": "many"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "FASTACT_NUM_THREADS='many': expected a positive integer" in done.stderr


_FORK_PROBE = textwrap.dedent(
    """
    import json, multiprocessing as mp, numpy as np, fastact
    x = np.linspace(-9, 9, 1_000_003, dtype=np.float32)
    expected = fastact.tanh(x)  # the parent runs a parallel region first

    def child(queue):
        refused = False
        try:
            fastact.set_num_threads(2)
        except RuntimeError:
            refused = True
        queue.put((bool(np.array_equal(fastact.tanh(x), expected)), fastact.get_num_threads(), refused))

    if __name__ == "__main__":
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        proc = ctx.Process(target=child, args=(queue,))
        proc.start()
        equal, threads, refused = queue.get(timeout=120)
        proc.join()
        print(json.dumps({"equal": equal, "child_threads": threads, "refused": refused,
                          "parent_threads": fastact.get_num_threads(), "exitcode": proc.exitcode,
                          "layer": __import__("numba").threading_layer()}))
    """
)


@needs_two_threads
def test_forked_children_keep_working(tmp_path):
    # multiprocessing's default start method on Linux, and PyTorch DataLoader workers
    script = tmp_path / "fork_probe.py"
    script.write_text(_FORK_PROBE)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["equal"] and report["exitcode"] == 0 and report["parent_threads"] == POOL
    if report["layer"] == "omp":  # GNU OpenMP: the child runs single-threaded
        assert report["child_threads"] == 1 and report["refused"]
