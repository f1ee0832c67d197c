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
import platform

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


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return sorted(f for f in flags if f.startswith(("avx", "fma", "sse4")))
    except OSError:
        pass
    return []


def _threading_layer() -> str | None:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # no parallel region has run yet
        return None


def pytest_benchmark_update_machine_info(config, machine_info):
    import importlib.metadata as md

    versions = {}
    for pkg in ("fastact", "numba", "llvmlite", "numpy", "scipy", "torch", "numexpr"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    import numba

    import fastact

    threads = {"NUMBA_NUM_THREADS": numba.config.NUMBA_NUM_THREADS, "fastact_threads": fastact.get_num_threads(),
               "threading_layer": _threading_layer(), "cores": os.cpu_count()}
    try:
        import torch

        threads["torch_default_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    machine_info["fastact"] = {
        "cpu_model": _cpu_model(),
        "cpu_flags": _cpu_flags(),
        "versions": versions,
        "threads": threads,
    }
