"""pytest-benchmark configuration of the fastact benchmark suite.

* ``pytest --benchmark-only`` (from the repository root) runs the default suite:
  every registry function x implementation x dtype x size x input regime, chosen to
  finish in under 10 minutes on 2 cores.  ``--full`` (or ``FASTACT_BENCH_FULL=1``)
  runs every combination.
* Plain ``pytest`` keeps the benchmarks as a smoke test: only the 1000-element
  cases are collected (and none marked ``slow``, like the cold-import compile),
  each run once, untimed, so the suite cannot rot and never gates CI on timings.
"""

from __future__ import annotations

import os

SMOKE_SIZE = 1000


def pytest_addoption(parser):
    parser.addoption(
        "--full",
        action="store_true",
        default=os.environ.get("FASTACT_BENCH_FULL", "") not in ("", "0"),
        help="fastact benchmarks: every size, regime and implementation (default: the quick subset)",
    )


def benchmarking(config) -> bool:
    return bool(config.getoption("benchmark_only", False) or config.getoption("benchmark_enable", False))


def pytest_collection_modifyitems(config, items):
    if benchmarking(config):
        return
    # Smoke mode: the smallest arrays only, each benchmark body run once untimed.
    session = getattr(config, "_benchmarksession", None)
    if session is not None:
        session.disabled = True
    keep, drop = [], []
    for item in items:
        size = getattr(getattr(item, "callspec", None), "params", {}).get("size")
        is_bench = "benchmark" in getattr(item, "fixturenames", ())
        too_big = size is not None and size > SMOKE_SIZE
        (drop if is_bench and (too_big or item.get_closest_marker("slow")) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_benchmark_update_machine_info(config, machine_info):
    from fastact.environment import cpu_flags, cpu_model, thread_settings, versions

    threads = thread_settings()
    try:
        import torch

        threads["torch_default_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    machine_info["fastact"] = {
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "versions": versions(),
        "threads": threads,
    }
