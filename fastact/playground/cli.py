"""``fastact playground``: run the convergence experiment, print its tables, write JSON and figures."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

from .._registry import REGISTRY
from .datasets import DATASETS
from .experiment import Config, run_experiment, summary_rows

DEFAULT_OUT = "reports/playground"


class _Progress:
    """One progress line on stderr, redrawn in place (no dependency needed)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()

    def __call__(self, done: int, total: int, label: str) -> None:
        width = 30
        frac = done / total if total else 1.0
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / frac - elapsed if frac else 0.0
        self.stream.write(f"\r[{bar}] {done}/{total} {elapsed:5.0f}s eta {eta:4.0f}s {label[:40]:40}")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def _names(text: str, known: dict, what: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        bad = ", ".join(unknown) or "(none)"
        raise argparse.ArgumentTypeError(f"unknown {what} {bad}; choose from {', '.join(known)}")
    return names


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="fastact playground",
        description="Convergence of a TensorFlow-Playground network (2 inputs, tanh output, SGD) per hidden "
        "activation, over many seeds: epochs until the test loss < 0.05 and until 100%% test accuracy.",
    )
    ap.add_argument("--datasets", type=lambda t: _names(t, DATASETS, "dataset"), default=tuple(DATASETS),
                    help=f"comma-separated (default: {','.join(DATASETS)})")
    ap.add_argument("--activations", type=lambda t: _names(t, REGISTRY, "activation"), default=tuple(REGISTRY),
                    help=f"hidden-layer activations, comma-separated (default: {','.join(REGISTRY)})")
    ap.add_argument("--seeds", type=int, default=50, help="runs per dataset and activation (default 50)")
    ap.add_argument("--shape", type=lambda t: tuple(int(v) for v in t.split(",")), default=(3, 3),
                    help="hidden layer sizes (default 3,3: the tutorial's network)")
    ap.add_argument("--max-epochs", type=int, default=2000, help="epochs per run (default 2000)")
    ap.add_argument("--learning-rate", type=float, default=0.03)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--noise", type=float, default=0.0, help="the Playground's noise as a fraction (0 to 0.5)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="threads (default: all cores)")
    ap.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples for the ratio CIs")
    ap.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    ap.add_argument("--no-figures", action="store_true", help="write the JSON only")
    return ap  # fmt: skip


def _epochs(v: float | None, cap: int) -> str:
    return f">{cap}" if v is None else f"{v:g}"


def format_tables(data: dict) -> str:
    """The per-dataset tables printed by the command."""
    cfg = data["config"]
    cap = cfg["max_epochs"]
    rows = summary_rows(data)
    names = [t["name"] for t in cfg["thresholds"]]
    lines = [
        f"Epochs to converge, {cfg['seeds']} seeds, hidden layers {cfg['shape']}, lr {cfg['learning_rate']}, "
        f"batch {cfg['batch_size']}, noise {cfg['noise']}, at most {cap} epochs.",
        "Per criterion: median [q25, q75] (failures count as never converging) and the failure rate.",
    ]
    for t in cfg["thresholds"]:
        lines.append(f"  {t['name']}: {t['description']}")
    for d in cfg["datasets"]:
        lines += ["", f"{d}", f"  {'activation':12}" + "".join(f"{n:>32}" for n in names)]
        for a in cfg["activations"]:
            cells = []
            for n in names:
                r = next(r for r in rows if (r["dataset"], r["activation"], r["threshold"]) == (d, a, n))
                cell = f"{_epochs(r['median'], cap)} [{_epochs(r['q25'], cap)}, {_epochs(r['q75'], cap)}]"
                cells.append(f"{cell:>22} fail {100 * r['failure_rate']:3.0f}%")
            lines.append(f"  {a:12}" + "".join(f"{c:>32}" for c in cells))
        for pair in dict.fromkeys(r["pair"] for r in data["ratios"] if r["dataset"] == d):
            cells = []
            for n in names:
                r = next(r for r in data["ratios"] if (r["dataset"], r["pair"], r["threshold"]) == (d, pair, n))
                if r["ratio"] is None:
                    cell = "n/a (median > cap)"
                elif r["ci95"] is None:
                    lower = "" if r["ci95_lower"] is None else f"{r['ci95_lower']:.2f}"
                    cell = f"{r['ratio']:.2f} [{lower}, inf)"
                else:
                    cell = f"{r['ratio']:.2f} [{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]"
                cells.append(cell)
            lines.append(f"  {pair:12}" + "".join(f"{c:>32}" for c in cells))
    if data["ratios"]:
        lines += ["", "Ratios: median epochs over median epochs, [95% paired bootstrap CI over seeds]."]
    return "\n".join(lines)


def write_outputs(data: dict, out: pathlib.Path, figures: bool = True) -> list[pathlib.Path]:
    """Write ``playground.json`` and (if matplotlib is installed) the figures; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "playground.json"]
    written[0].write_text(json.dumps(data, separators=(",", ":")) + "\n")
    if not figures:
        return written
    try:
        from .figures import boundaries_figure, loss_curves_figure

        curves = loss_curves_figure(data)
        boundaries = boundaries_figure(data)
    except ImportError as exc:
        print(f"figures skipped: {exc}", file=sys.stderr)
        return written
    import matplotlib

    # SVG text as text (not glyph outlines) and no date: smaller, reproducible files
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "fastact"}):
        curves.savefig(out / "loss_curves.svg", metadata={"Date": None})
    _save_png(curves, out / "loss_curves.png", 100)
    _save_png(boundaries, out / "boundaries.png", 80)
    return [*written, out / "loss_curves.svg", out / "loss_curves.png", out / "boundaries.png"]


def _save_png(fig, path: pathlib.Path, dpi: int) -> None:
    """A PNG with a 256-colour palette: a third of the size, no visible loss for these figures."""
    import io

    from PIL import Image  # a dependency of matplotlib

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    image = Image.open(buf).convert("RGB")
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cfg = Config(
        datasets=args.datasets,
        activations=args.activations,
        seeds=args.seeds,
        shape=args.shape,
        max_epochs=args.max_epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        noise=args.noise,
        workers=args.workers,
        bootstrap=args.bootstrap,
    )
    try:
        cfg.validate()
    except ValueError as exc:
        print(f"fastact playground: {exc}", file=sys.stderr)
        return 2
    command = " ".join(["fastact", "playground", *(sys.argv[1:] if argv is None else argv)])
    data = run_experiment(cfg, progress=_Progress(), command=command)
    print(format_tables(data))
    written = write_outputs(data, pathlib.Path(args.out), figures=not args.no_figures)
    print(f"\n{data['meta']['elapsed_s']:.1f} s on {data['meta']['processes']} thread(s); wrote "
          + ", ".join(str(p) for p in written))  # fmt: skip
    return 0
