"""``python -m fastact`` / ``fastact``: versions, the kernel list and a quick speed check."""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys
import time


def _info(quick_n: int) -> int:
    import numba
    import numpy as np

    import fastact as fa
    from fastact._timing import best_time
    from fastact.peers import peers

    print(f"fastact {fa.__version__}  (numba {numba.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()})")
    print("\nactivations (forward, _grad, _backward; float32 and float64 ufunc loops):")
    for act in fa.REGISTRY.values():
        params = ", ".join(f"{p.name}={p.default}" for p in act.params)
        bound = "/".join(f"{b:g}" for b in act.ulp_bound.values())
        alias = f"  aliases: {', '.join(act.aliases)}" if act.aliases else ""
        print(f"  {act.name + ('(x, ' + params + ')' if params else '(x)'):34} {act.formula:40} "
              f"<= {bound} ULP (f32/f64){alias}")
    print(f"\nquick speed check, n = {quick_n}, float32, single thread (time relative to fastact; >1 = slower):")
    threads = fa.get_num_threads()
    fa.set_num_threads(1)  # like the peers; restored below
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(quick_n) * 4).astype(np.float32)
    g = rng.standard_normal(quick_n).astype(np.float32)
    out = np.empty_like(x)
    for act in fa.REGISTRY.values():
        fn = getattr(fa.ufuncs, act.name)
        t_fa = best_time(lambda: fn(x, *act.param_defaults, out=out), 0.1)
        rows = [f"memcpy {best_time(lambda: np.copyto(out, x), 0.1) / t_fa:.2f}"]
        for peer, make in peers(act.name).items():
            rows.append(f"{peer} {best_time(make(x, g, out, *act.param_defaults), 0.1) / t_fa:.2f}")
        print(f"  {act.name:12} " + "  ".join(rows))
    fa.set_num_threads(threads)
    print(f"\nthreads for large arrays: {threads} (fastact.set_num_threads, $FASTACT_NUM_THREADS)")
    return 0


class _ProgressBar:
    """A pytest plugin drawing one progress line on stderr (no dependency needed)."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.t0 = time.perf_counter()

    def pytest_collection_finish(self, session) -> None:
        self.total = len(session.items)
        self._draw("")

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.done += 1
            self._draw(report.nodeid.split("::")[-1])

    def _draw(self, label: str) -> None:
        width = 30
        frac = self.done / self.total if self.total else 0.0
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / frac - elapsed if frac else 0.0
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {elapsed:5.0f}s eta {eta:4.0f}s {label[:50]:50}")
        sys.stderr.flush()
        if self.total and self.done == self.total:
            sys.stderr.write("\n")


def _bench(args) -> int:
    """Run the pytest-benchmark suite (bench/ in the source tree) and write its JSON."""
    if args.full:
        os.environ["FASTACT_BENCH_FULL"] = "1"
    suite = pathlib.Path(__file__).resolve().parents[1] / "bench"
    if not (suite / "test_throughput.py").exists():
        print("fastact bench needs the source tree (bench/ beside the fastact package): "
              "git clone the repository and pip install -e '.[bench]'", file=sys.stderr)
        return 2
    out = pathlib.Path(args.json or f"reports/data/bench-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    import pytest

    argv = [str(suite), "--benchmark-only", f"--benchmark-json={out}", "-q", "-p", "no:cacheprovider",
            f"--rootdir={suite.parent}", "--benchmark-disable-gc"]
    if args.full:
        argv.append("--full")
    if args.select:
        argv += ["-k", args.select]
    code = pytest.main(argv, plugins=[_ProgressBar()])
    if out.exists():
        from fastact.benchdata import summary

        print(summary(out))
        print(f"\nbenchmark JSON: {out}")
    return int(code)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fastact", description="fast, accurate activation functions")
    sub = ap.add_subparsers(dest="command")
    info = sub.add_parser("info", help="versions, kernels and a quick speed check (the default)")
    info.add_argument("-n", type=int, default=1_000_000, help="array size of the speed check")
    bench = sub.add_parser("bench", help="run the benchmark suite (pytest-benchmark) and write its JSON")
    mode = bench.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="the default subset (< 10 minutes on 2 cores)")
    mode.add_argument("--full", action="store_true", help="every size, regime and implementation")
    bench.add_argument("--json", help="output path (default: reports/data/bench-<time>.json)")
    bench.add_argument("-k", dest="select", help="pytest -k expression to run a subset")
    sub.add_parser("verify", help="certify accuracy (fastact verify --help)", add_help=False)
    sub.add_parser("report", help="HTML performance report (fastact report --help)", add_help=False)
    sub.add_parser("plot", help="the tutorial's figure of activations (fastact plot --help)", add_help=False)
    sub.add_parser("playground", help="convergence per activation, Playground-style (fastact playground --help)",
                   add_help=False)
    sub.add_parser("compile", help="compile every ufunc into Numba's cache now, on every core (fastact compile --help)",
                   add_help=False)
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["verify"]:
        from fastact.verify import main as verify_main

        return verify_main(argv[1:])
    if argv[:1] == ["report"]:
        from fastact.report.cli import report_main

        return report_main(argv[1:])
    if argv[:1] == ["plot"]:
        from fastact.report.cli import plot_main

        return plot_main(argv[1:])
    if argv[:1] == ["compile"]:
        from fastact.precompile import main as compile_main

        return compile_main(argv[1:])
    if argv[:1] == ["playground"]:
        from fastact.playground.cli import main as playground_main

        return playground_main(argv[1:])
    a = ap.parse_args(argv)
    if a.command == "bench":
        return _bench(a)
    return _info(getattr(a, "n", 1_000_000))


if __name__ == "__main__":
    sys.exit(main())
