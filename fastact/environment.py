"""Where and how a measurement was taken: CPU, cores, versions and thread settings.

Shared by the benchmark suite's machine info (``bench/conftest.py``), the report's
own quick measurement and the playground's JSON, so they all record the same
environment.
"""

from __future__ import annotations

import datetime
import importlib.metadata as md
import os
import platform

PACKAGES = ("fastact", "numba", "llvmlite", "numpy", "scipy", "torch", "numexpr", "matplotlib", "jinja2")


def _cpuinfo(key: str) -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The SIMD flags that matter to the kernels (AVX*, FMA, SSE4)."""
    flags = (_cpuinfo("flags") or "").split()
    return sorted(f for f in set(flags) if f.startswith(("avx", "fma", "sse4")))


def versions() -> dict[str, str | None]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def thread_settings() -> dict:
    """Cores, fastact's and Numba's thread counts, and the thread variables set."""
    import numba

    import fastact

    threads: dict = {"cores": os.cpu_count(), "NUMBA_NUM_THREADS": numba.config.NUMBA_NUM_THREADS,
                     "fastact_threads": fastact.get_num_threads()}
    try:
        threads["threading_layer"] = numba.threading_layer()
    except ValueError:  # no parallel region has run yet
        threads["threading_layer"] = None
    for var in ("FASTACT_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var) is not None:
            threads[var] = os.environ[var]
    return threads


def machine_info() -> dict:
    """pytest-benchmark's ``machine_info`` shape, with the suite's ``fastact`` block."""
    return {
        "node": platform.node(),
        "machine": platform.machine(),
        "system": platform.system(),
        "release": platform.release(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "cpu": {"brand_raw": cpu_model(), "count": os.cpu_count(), "arch_string_raw": platform.machine()},
        "fastact": {
            "cpu_model": cpu_model(),
            "cpu_flags": cpu_flags(),
            "versions": versions(),
            "threads": thread_settings(),
        },
    }


def now() -> str:
    """The local time, ISO 8601 with the UTC offset, to the second."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")
