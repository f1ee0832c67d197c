"""``fastact report`` and ``fastact plot``.

Errors in the inputs (a missing, corrupt or foreign JSON file, an unknown function
name, an unwritable output) are reported in one line on stderr with exit status 2,
never as a traceback, and before anything is written; outputs are written through
a temporary file and a rename, so no half-written file is ever left behind.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path


class Progress:
    """One progress line on stderr: ``[#####-----] 12/40  34s  label``."""

    def __init__(self, total: int, stream=None) -> None:
        self.total, self.done, self.t0 = max(1, total), 0, time.perf_counter()
        self.stream = stream or sys.stderr

    def __call__(self, label: str = "") -> None:
        self.done = min(self.total, self.done + 1)
        width = 30
        fill = int(width * self.done / self.total)
        elapsed = time.perf_counter() - self.t0
        self.stream.write(f"\r[{'#' * fill}{'-' * (width - fill)}] {self.done}/{self.total} {elapsed:4.0f}s "
                          f"{label[:48]:48}")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def _need_extras(prog: str) -> str | None:
    import importlib.util

    missing = [m for m in ("matplotlib", "jinja2") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{prog} needs {' and '.join(missing)}: pip install 'fastact[report]'"
    return None


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="fastact report",
        description="Benchmark, analyse and write one self-contained HTML report (plus the JSON it was built from).",
    )
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="a short measurement and sampling (the default; about 4 minutes on 2 cores)")
    mode.add_argument("--full", action="store_true", help="longer measurement rounds and 10x the accuracy samples")
    ap.add_argument("--bench-json", metavar="PATH",
                    help="build from an existing `fastact bench --json` file instead of measuring")
    ap.add_argument("--out", metavar="PATH", default=None,
                    help="HTML output (default: reports/fastact-report.html); the JSON goes beside it (.json)")
    ap.add_argument("--verify-json", metavar="PATH", default=None,
                    help="`fastact verify --json` results for the max-ULP column "
                         "(default: reports/verify-exhaustive.json if it exists)")
    ap.add_argument("--playground-json", metavar="PATH", default=None,
                    help="the convergence experiment (default: reports/playground/playground.json if it exists)")
    ap.add_argument("--samples", type=int, default=None, metavar="N",
                    help="accuracy samples per magnitude band (default: 100000; --full: 1000000)")
    ap.add_argument("--jobs", type=int, default=None, metavar="N",
                    help="processes that draw the figures (default: every core; 1: in this process)")
    return ap


def report_main(argv: list[str] | None = None) -> int:
    """``fastact report``."""
    prog = "fastact report"
    argv = list(sys.argv[1:] if argv is None else argv)
    a = _parser().parse_args(argv)
    if (msg := _need_extras(prog)) is not None:
        return _fail(prog, msg)
    t0 = time.perf_counter()
    import matplotlib

    matplotlib.use("Agg")

    from . import analysis, build
    from .analysis import ReportError

    out = Path(a.out) if a.out else build.DEFAULT_OUT
    if out.suffix.lower() not in (".html", ".htm"):
        return _fail(prog, f"--out {out}: the report is an HTML file (use a .html name)")
    samples = a.samples or (1_000_000 if a.full else 100_000)
    if samples < 10:
        return _fail(prog, "--samples must be at least 10")
    if a.jobs is not None and a.jobs < 1:
        return _fail(prog, "--jobs must be at least 1")
    # Every input is read and checked before any work starts or anything is written.
    try:
        bench = None
        if a.bench_json:
            bench = analysis.read_json(a.bench_json, "benchmark JSON")
            analysis.validate_bench(bench, a.bench_json)
        verify_json = Path(a.verify_json) if a.verify_json else build.DEFAULT_VERIFY_JSON
        if a.verify_json or verify_json.exists():
            analysis.certified(verify_json)
        else:
            verify_json = None
        pg_path = Path(a.playground_json) if a.playground_json else build.DEFAULT_PLAYGROUND_JSON
        playground = analysis.read_playground(pg_path) if (a.playground_json or pg_path.exists()) else None
        _check_writable(out)
    except ReportError as exc:
        return _fail(prog, str(exc))

    import fastact
    from fastact.ufuncs import build_all

    from .measure import QUICK_SIZES, plan, run

    build_all()
    n_acc = 2 * 2 * len(fastact.REGISTRY)
    n_fig = 3 * len(fastact.REGISTRY) + 3 + (2 if playground else 0)
    n_bench = 0 if bench is not None else len(plan(QUICK_SIZES))
    progress = Progress(n_bench + n_acc + 2 + n_fig)
    command = "fastact report" + "".join(" " + shlex.quote(x) for x in argv)
    try:
        if bench is None:
            bench = run(QUICK_SIZES, budget=0.5 if a.full else 0.05, min_rounds=5 if a.full else 2,
                        progress=progress)
            bench_path = _save_bench(bench)
            source = f"{bench_path} (measured by this command, {'full' if a.full else 'quick'} mode)"
        else:
            source = str(a.bench_json)
        data = build.collect(bench, source, command, samples, verify_json, playground, quick=not a.full,
                             progress=progress)
        html_path, json_path = build.write(data, out, progress=progress, t0=t0, workers=a.jobs)
    except ReportError as exc:
        progress.finish()
        return _fail(prog, str(exc))
    except OSError as exc:
        progress.finish()
        return _fail(prog, f"cannot write the report: {exc}")
    progress.finish()
    print(f"data:   {json_path}")
    print(f"report: {html_path}")
    return 0


def _check_writable(out: Path) -> None:
    from .analysis import ReportError

    parent = out.parent if str(out.parent) else Path(".")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise ReportError(f"cannot write {out}: {probe} is not a writable directory")
    if out.exists() and out.is_dir():
        raise ReportError(f"--out {out} is a directory")


def _save_bench(bench: dict) -> Path:
    """Keep the raw measurement (pytest-benchmark JSON) under reports/data/ (not committed)."""
    import json

    from .build import write_atomic

    path = Path("reports") / "data" / f"report-bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_atomic(path, json.dumps(bench, indent=1) + "\n")
    return path


# --------------------------------------------------------------------------------
# fastact plot
# --------------------------------------------------------------------------------
def plot_main(argv: list[str] | None = None) -> int:
    """``fastact plot NAME [NAME ...] [--range LO HI] [--out FILE.png|svg]``."""
    prog = "fastact plot"
    ap = argparse.ArgumentParser(
        prog=prog, description="Draw the tutorial's figure (function and derivative, grid, legend) "
                               "of registry activations.")
    ap.add_argument("names", nargs="+", metavar="NAME", help="activation names or aliases (e.g. sigmoid tanh)")
    ap.add_argument("--range", nargs=2, type=float, default=(-5.0, 5.0), metavar=("LO", "HI"),
                    help="x range (default: -5 5)")
    ap.add_argument("--ylim", nargs=2, type=float, default=(-1.1, 1.1), metavar=("LO", "HI"),
                    help="y range (default: -1.1 1.1, the tutorial's)")
    ap.add_argument("--out", metavar="FILE", default=None, help="output .png, .svg or .pdf (default: NAME[-NAME].png)")
    a = ap.parse_args(argv)
    if (msg := _need_extras(prog)) is not None:
        return _fail(prog, msg)
    import matplotlib

    matplotlib.use("Agg")
    from .figures import resolve, tutorial_figure

    try:
        acts = [resolve(n) for n in a.names]
    except KeyError as exc:
        return _fail(prog, exc.args[0])
    lo, hi = a.range
    if not (lo < hi) or not all(map(_finite, (lo, hi, *a.ylim))) or not a.ylim[0] < a.ylim[1]:
        return _fail(prog, "--range and --ylim need finite LO < HI")
    out = Path(a.out) if a.out else Path("-".join(act.name for act in acts) + ".png")
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        return _fail(prog, f"--out {out}: use a .png, .svg or .pdf file name")
    fig = tutorial_figure(acts, (lo, hi), tuple(a.ylim))
    import io

    from .build import write_atomic_bytes

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # SVG text stays text
        fig.savefig(buf, format=fmt, dpi=150, metadata={"Date": None} if fmt in ("svg", "pdf") else None)
    try:
        write_atomic_bytes(out, buf.getvalue())
    except OSError as exc:
        return _fail(prog, f"cannot write {out}: {exc}")
    print(out)
    return 0


def _finite(v: float) -> bool:
    import math

    return math.isfinite(v)
