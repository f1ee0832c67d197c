"""pytest hooks of the correctness suite; the shared helpers live in ``support.py``
(a module of its own: ``bench/`` has a conftest too, and two modules both imported
as ``conftest`` would shadow each other)."""

from __future__ import annotations

import os
import time

from support import (
    MP_TIMES,
    RECORDS,
    ULP_TABLE,
    build_loops_in_parallel,
    loop_cache_is_warm,
    prefetch_mp_accuracy,
    start_loop_probe,
    warm_playground,
)

#: lines for the end of the run: where the time went before the first test
_PHASES: list[str] = []

#: whether Numba's cache held this source's loops before collection: collecting
#: imports test modules that build some loops at import (``fastact.gelu`` in a
#: parameter list), so the cache is never cold by the time collection ends.  Taken
#: then, CI skipped the parallel build and compiled every loop twice (the session
#: as its tests went, the probe beside it): 1061-1193 s where 847 s had been.
_CACHE_WARM_BEFORE_COLLECTION = loop_cache_is_warm()

#: tests that compare against the mpmath reference of the accuracy sample sets
_MP_ACCURACY_TESTS = {"test_matches_mpmath", "test_reference_accuracy"}


def pytest_collection_modifyitems(session, config, items):
    """The tests that compare against the mpmath references run last: the
    references are computed in another process meanwhile (below), so the session
    runs every other test instead of waiting for them."""
    waiting = [item for item in items if item.originalname in _MP_ACCURACY_TESTS]
    if waiting:
        items[:] = [item for item in items if item.originalname not in _MP_ACCURACY_TESTS] + waiting


def pytest_collection_finish(session):
    """Start, in other processes, what the selected tests will need and what takes
    minutes: the compiled-code probe (support.py), the playground's compiled loops
    and the mpmath references; on a cold cache, compile every loop on every core
    first.

    The references get one process fewer than there are cores: this process runs
    the other tests beside it (they come first, see above).  On the cold cache of
    CI they start only after the loops are compiled: started before, they shared
    the cores with the compilation the session waits for (386 of 847 s)."""
    cores = len(os.sched_getaffinity(0))
    wanted, playground = [], []
    for item in session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.originalname in _MP_ACCURACY_TESTS and {"act", "kind", "dtype"} <= params.keys():
            wanted.append((params["act"].name, params["kind"], params["dtype"]))
        if item.module.__name__ == "test_playground" and "activation" in params:
            playground.append(params["activation"])
    if any(item.module.__name__ == "test_vectorization" for item in session.items):
        if _CACHE_WARM_BEFORE_COLLECTION:
            start_loop_probe()  # cached loops cannot be inspected: compile them elsewhere
        elif cores > 1:
            # every loop is needed and none is cached (a fresh clone, CI): compile
            # them on every core before the tests start
            start = time.perf_counter()
            build_loops_in_parallel(cores)
            _PHASES.append(f"compiled every loop on {cores} cores before the tests: "
                           f"{time.perf_counter() - start:.0f} s")
    if playground and cores > 1:
        # queued first: the playground tests come long before the accuracy ones
        warm_playground(playground, workers=cores - 1)
    if wanted:
        prefetch_mp_accuracy(wanted, workers=max(1, cores - 1))


def pytest_terminal_summary(terminalreporter):
    for line in _PHASES:
        terminalreporter.write_line(line)
    if MP_TIMES["done"]:
        terminalreporter.write_line(
            f"mpmath references: {len(MP_TIMES['done'])} chunks on {MP_TIMES['workers']} processes, "
            f"done {max(MP_TIMES['done']) - MP_TIMES['start']:.0f} s after they started")
    if not ULP_TABLE:
        return
    tr = terminalreporter
    tr.section("measured max ULP error")
    columns = sorted({(k[1], k[2]) for k in ULP_TABLE}, key=lambda c: (c[1] != "mpmath", c))
    names = [
        n for act in RECORDS for n in (act.name, act.name + "_grad") if any(k[0] == n for k in ULP_TABLE)
    ]
    tr.write_line(f"{'function':<20}" + "".join(f"  {dt + ' vs ' + a:>27}" for dt, a in columns))
    for n in names:
        cells = [ULP_TABLE.get((n, dt, a)) for dt, a in columns]
        tr.write_line(f"{n:<20}" + "".join(f"  {'-' if v is None else v:>27}" for v in cells))
