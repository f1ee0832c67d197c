"""Report data (the JSON) -> one self-contained HTML page.

The page is a Jinja2 template (package data, ``templates/``) with its CSS inlined and
every figure inline as SVG.  No script, no external resource: a Content-Security-Policy
meta tag forbids anything but inline styles and ``data:`` images, so a browser would
refuse (and report) any request the page tried to make.
"""

from __future__ import annotations

import importlib.resources
import math
from collections.abc import Callable
from dataclasses import dataclass

import fastact

from . import figures as F
from .analysis import DTYPES, GRAD_THRESHOLDS, bench_rows, regime_ratios, throughput_series, ulp_limit, unjson
from .drawing import FigureJob, draw_all
from .measure import REGIME_SIZE

#: (id, title) of every section, in page order; the tests check each is present
SECTIONS = (
    ("environment", "Environment"),
    ("summary", "Summary"),
    ("throughput", "Throughput"),
    ("threads", "Threads"),
    ("saturation", "Saturation"),
    ("regimes", "Regimes"),
    ("accuracy", "Accuracy"),
    ("naive", "Tutorial code"),
    ("convergence", "Convergence"),
)


@dataclass
class Fig:
    id: str
    svg: str
    caption: str


def _figure_html(fig: Fig):
    from markupsafe import Markup, escape

    return Markup(f'<figure id="{escape(fig.id)}">{fig.svg}<figcaption>{escape(fig.caption)}</figcaption></figure>')


def _template(name: str) -> str:
    return importlib.resources.files("fastact.report").joinpath("templates", name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------
def fmt_value(v) -> str:
    """A result value for the tables: 7 significant digits, NaN/inf spelled out."""
    v = unjson(v)
    if v is None:
        return "—"
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    return f"{v:.7g}"


def _speed_cell(entry: dict | None, key: str = "speedup", peer: bool = False) -> dict:
    if not entry:
        return {"text": "—", "cls": "na", "title": "not measured"}
    s = entry[key]
    cls = "good" if s >= 1.1 else ("ok" if s >= 0.9 else "bad")
    sub = f"{entry['peer']} · n={F.fmt_size(entry['size'])}" if peer else f"n={F.fmt_size(entry['size'])}"
    return {"text": f"{s:.2f}×", "cls": cls, "sub": sub, "title": ""}


def _bandwidth_cell(entry: dict | None) -> dict:
    if not entry:
        return {"text": "—", "cls": "na", "title": "not measured"}
    p = entry["pct"]
    cls = "good" if p >= 80 else ("ok" if p >= 50 else "bad")
    return {"text": f"{p:.0f} %", "cls": cls, "sub": f"n={F.fmt_size(entry['size'])}", "title": ""}


def _ulp_cell(kernel: str, dtype: str, limit: float | None, certified: dict, sampled: dict) -> dict:
    if (kernel, dtype) in certified:
        err, mode = certified[kernel, dtype]
        sub = "exhaustive" if mode == "exhaustive" else ("sampled" if mode.startswith("sampled") else mode)
    elif (kernel, dtype) in sampled and sampled[kernel, dtype] is not None:
        err, sub = sampled[kernel, dtype], "this run, sampled"
    else:
        return {"text": "—", "cls": "na", "title": "backward kernels: one rounding beyond grad_out * derivative"}
    if limit is None:
        return {"text": f"{err:.3f}", "cls": "", "sub": sub, "title": ""}
    cls = "good" if err <= limit else "bad"
    return {"text": f"{err:.3f}", "cls": cls, "sub": f"{sub}, limit {limit:g}",
            "title": "real-valued error in ULPs of the exact result; the contract allows the limit shown"}


def _region(rec: dict) -> tuple[str, str]:
    if rec["empty"]:
        return "nowhere", "0"
    lo = "−∞" if rec["lo"] is None else f"{rec['lo']:.2f}"
    hi = "∞" if rec["hi"] is None else f"{rec['hi']:.2f}"
    width = "∞" if rec["width"] is None else f"{rec['width']:.2f}"
    return f"[{lo}, {hi}]".replace("[−∞", "(−∞").replace("∞]", "∞)"), width


_TAG_CLASS = {"warning": "warning", "NaN": "NaN", "NaN dropped": "dropped", "lost tail": "lost",
              "inaccurate": "inaccurate", "wrong": "wrong"}


def _tags(verdict: list[str], warnings: list[str]) -> list[dict]:
    if not verdict:
        return [{"text": "✓", "cls": "fine", "title": "correct, no warning"}]
    return [{"text": t, "cls": _TAG_CLASS.get(t, "wrong"), "title": "; ".join(warnings) if t == "warning" else ""}
            for t in verdict]


def _naive_summary(naive: list[dict]) -> list[dict]:
    rows = []
    for entry in naive:
        for kernel in entry["kernels"]:
            for dtype in DTYPES:
                sel = [r for r in kernel["rows"] if r["dtype"] == dtype]

                def xs(pred, sel=sel, who="naive"):
                    return ", ".join(fmt_value(r["x"]) for r in sel if pred(r[who + "_verdict"]))

                rows.append({
                    "naive_name": kernel["naive_name"], "dtype": dtype,
                    "nan": xs(lambda v: "NaN" in v),
                    "warns": xs(lambda v: "warning" in v),
                    "tail": xs(lambda v: "lost tail" in v),
                    "other": "; ".join(f"{t} for x = {xs(lambda v, t=t: t in v)}" for t in ("NaN dropped", "inaccurate",
                                                                                            "wrong")
                                       if xs(lambda v, t=t: t in v)),
                    "fastact": "; ".join(
                        f"{t} for x = {xs(lambda v, t=t: t in v, who='fastact')}"
                        for t in sorted({t for r in sel for t in r["fastact_verdict"]})),
                })
    return rows


# --------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------
def _env_rows(data: dict) -> tuple[dict, list]:
    bench = data["bench"]
    m = bench.get("machine_info") or {}
    fa = m.get("fastact") or {}
    cpu = fa.get("cpu_model") or (m.get("cpu") or {}).get("brand_raw") or "unknown CPU"
    cores = (fa.get("threads") or {}).get("cores") or (m.get("cpu") or {}).get("count") or "?"
    versions = ", ".join(f"{k} {v}" for k, v in (fa.get("versions") or {}).items() if v) or "not recorded"
    threads = ", ".join(f"{k}={v}" for k, v in (fa.get("threads") or {}).items() if v is not None) or "not recorded"
    meta = data["meta"]
    rows = [
        ("CPU", cpu),
        ("SIMD features", " ".join(fa.get("cpu_flags") or []) or "not recorded"),
        ("cores", cores),
        ("system", " ".join(str(m.get(k)) for k in ("system", "release", "machine") if m.get(k)) or "not recorded"),
        ("Python", m.get("python_version") or "not recorded"),
        ("versions", versions),
        ("thread settings", threads),
        ("benchmark", f"{bench['source']} (taken {bench.get('datetime') or 'at an unrecorded time'})"),
        ("report made", meta["date"]),
        ("command", meta["command"]),
    ]
    return {"cpu": cpu, "cores": cores, "rows": rows}, rows


def figure_jobs(data: dict) -> list[FigureJob]:
    """Every figure of the page for report ``data``, as jobs for
    :func:`fastact.report.drawing.draw_all` (each job's ``alt`` is its caption)."""
    bench = data["bench"]
    acts = list(fastact.REGISTRY.values())
    jobs: list[FigureJob] = []

    def job(fig_id: str, maker: str, caption: str, *args, act: str | None = None) -> None:
        jobs.append(FigureJob(fig_id, "fastact.report.figures." + maker, args, act, alt=caption))

    series = throughput_series(bench)
    for act in acts:
        job(f"fig-throughput-{act.name}", "throughput_figure",
            f"{act.name}: elements per second against array size, every implementation measured (single thread, "
            "N(0,1) inputs).", series, act=act.name)
    if bench.get("threads"):
        job("fig-threads", "threads_figure",
            "Throughput on one thread (light) and on every core (full colour): "
            "fastact.set_num_threads and torch.set_num_threads. Small arrays stay on one thread; "
            "on a machine busy with other work, more threads can be slower.", bench_rows(bench, "threads"))
    for act in acts:
        job(f"fig-tutorial-{act.name}", "tutorial_figure_of",
            f"{act.name} and its derivative on [−5, 5] (the tutorial's figure).", act.name)
    job("fig-gradients", "gradients_figure",
        "|f′(x)| on a log axis: the derivatives of saturating activations fall below 10⁻³ and "
        "10⁻⁶ a few units away from 0, where gradients vanish; exact zeros are drawn at the "
        "floor. The table gives each function's region.")
    ratios = regime_ratios(bench)
    if ratios:  # one size: 10^6 where measured (the quick suites' choice), else the largest
        sizes = {r["size"] for r in ratios}
        ratios = [r for r in ratios if r["size"] == (REGIME_SIZE if REGIME_SIZE in sizes else max(sizes))]
        job("fig-regimes", "regimes_figure",
            "Throughput in the wide N(0,10), saturated |x| in [20, 1000] and special (1 % NaN/±inf) "
            "regimes relative to N(0,1). Branch-free kernels that never form subnormals keep "
            "saturated inputs at full speed (target ≥ 0.85).", ratios)
    hists = data["accuracy"]["histograms"]
    for act in acts:
        job(f"fig-accuracy-{act.name}", "accuracy_figure",
            f"{act.name}: share of results per ULP-error bin in each magnitude band of x; the label gives the "
            "band's maximum; the red line is the accuracy contract.", hists, act=act.name)
    return jobs + _playground_jobs(data.get("playground"))


def render(data: dict, progress: Callable[[str], None] | None = None, workers: int | None = None) -> str:
    """The HTML page of report ``data`` (as written by :func:`fastact.report.build.collect`),
    its figures drawn in ``workers`` processes (:func:`fastact.report.drawing.draw_all`)."""
    env_ctx, _ = _env_rows(data)
    bench = data["bench"]
    acts = list(fastact.REGISTRY.values())

    # summary
    certified = {(c["kernel"], c["dtype"]): (c["max_ulp"], c["mode"]) for c in data["accuracy"].get("certified") or []}
    sampled = {(h["kernel"], h["dtype"]): h["max"] for h in data["accuracy"]["histograms"]}
    limits = {(act.name + s, dt): ulp_limit(act, dt) for act in acts for s in ("", "_grad") for dt in DTYPES}
    summary = []
    for row in data["summary"]:
        cells = []
        for key, maker in (("vs_reference", _speed_cell), ("vs_peer", lambda e: _speed_cell(e, peer=True)),
                           ("memcpy_pct", _bandwidth_cell)):
            cells += [maker(row.get(dt, {}).get(key)) for dt in DTYPES]
        cells += [_ulp_cell(row["function"], dt, limits[row["function"], dt], certified, sampled)
                  if (row["function"], dt) in limits else _ulp_cell(row["function"], dt, None, {}, {})
                  for dt in DTYPES]
        summary.append({"function": row["function"], "cells": cells})

    # figures: every one described first, then drawn (on every core: drawing.draw_all)
    figs = _draw(figure_jobs(data), workers, progress)
    throughput_figures = [figs[f"fig-throughput-{act.name}"] for act in acts]
    tutorial_figures = [figs[f"fig-tutorial-{act.name}"] for act in acts]
    accuracy_figures = [figs[f"fig-accuracy-{act.name}"] for act in acts]
    threads_figure, gradients_figure, regimes_figure = (figs.get(f"fig-{k}") for k in ("threads", "gradients",
                                                                                       "regimes"))

    # regions table
    regions = []
    for act in acts:
        cells = []
        for t in GRAD_THRESHOLDS:
            rec = next((r for r in data["gradients"] if r["activation"] == act.name and r["threshold"] == t), None)
            region, width = _region(rec) if rec else ("—", "—")
            cells.append({"region": region, "width": width})
        regions.append({"activation": act.name, "cells": cells})

    # tutorial code
    naive_kernels = []
    for entry in data["naive"]:
        for k in entry["kernels"]:
            naive_kernels.append({
                "kernel": k["kernel"], "naive_name": k["naive_name"], "source": k["source"],
                "rows": [{"dtype": r["dtype"], "x": fmt_value(r["x"]), "exact": fmt_value(r["exact"]),
                          "naive": fmt_value(r["naive"]), "fastact": fmt_value(r["fastact"]),
                          "naive_tags": _tags(r["naive_verdict"], r["naive_warnings"]),
                          "fastact_tags": _tags(r["fastact_verdict"], r["fastact_warnings"])} for r in k["rows"]],
            })
    naive_missing = ", ".join(e["activation"] for e in data["naive"] if not e["available"])

    cert = data["accuracy"].get("certified") or []
    modes = sorted({("float32 " if c["dtype"] == "float32" else "float64 ") + c["mode"].split(" (")[0] for c in cert})

    playground = _playground_context(data.get("playground"), figs)

    sizes = sorted({r["size"] for r in bench["rows"]})
    summary_note = (f"Sizes measured: {', '.join(F.fmt_size(s) for s in sizes)}; each cell uses the largest size "
                    "at which both sides were measured (shown under the value).")

    template = _page_template()
    meta = dict(data["meta"])
    meta.setdefault("seconds", "?")
    return template.render(
        meta=meta, env=env_ctx, sections=SECTIONS, css=_css(), figure=_figure_html,
        summary=summary, summary_note=summary_note,
        throughput_figures=throughput_figures, threads_figure=threads_figure,
        tutorial_figures=tutorial_figures, gradients_figure=gradients_figure, regimes_figure=regimes_figure,
        thresholds=[f"{t:g}" for t in GRAD_THRESHOLDS], regions=regions,
        accuracy={"samples_per_band": f"{data['accuracy']['samples_per_band']:,}",
                  "certified_source": data["accuracy"].get("certified_source"),
                  "certified_modes": ", ".join(modes)},
        accuracy_figures=accuracy_figures,
        naive_summary=_naive_summary(data["naive"]), naive_kernels=naive_kernels, naive_missing=naive_missing,
        playground=playground,
    )


def _draw(jobs: list[FigureJob], workers: int | None, progress: Callable[[str], None] | None) -> dict[str, Fig]:
    """The page's figures for ``jobs`` (:func:`fastact.report.drawing.draw_all`), by id;
    each job's ``alt`` is its caption."""
    drawn = draw_all(jobs, workers, progress)
    return {j.fig_id: Fig(j.fig_id, drawn[j.fig_id], j.alt) for j in jobs}


def _page_template():
    from jinja2 import Environment

    return Environment(autoescape=True).from_string(_template("report.html.j2"))


def convergence_section(playground: dict | None, progress: Callable[[str], None] | None = None,
                        workers: int | None = 1) -> str:
    """The page's Convergence section alone, for playground data (or ``None``)."""
    template = _page_template()
    figs = _draw(_playground_jobs(playground), workers, progress)
    context = template.new_context({"playground": _playground_context(playground, figs),
                                    "figure": _figure_html})
    return "".join(template.blocks["convergence"](context))


def _css():
    from markupsafe import Markup

    return Markup(_template("report.css"))


# --------------------------------------------------------------------------------
# Convergence (the playground experiment)
# --------------------------------------------------------------------------------
def _fmt_epochs(v) -> str:
    return "—" if v is None else f"{v:g}"


def _summary_rows(pg: dict) -> list[dict]:
    """The playground's own table rows (``fastact.playground.figures.summary_rows``)
    where installed, else the same fields read straight from ``results``."""
    try:
        from fastact.playground.figures import summary_rows
    except ImportError:
        summary_rows = None
    if summary_rows is not None:
        return summary_rows(pg)
    rows = []
    for r in pg.get("results") or []:
        epochs = r.get("epochs") or []
        rows.append({"dataset": r["dataset"], "threshold": r["threshold"], "activation": r["activation"],
                     "seeds": len(epochs), "converged": sum(e is not None for e in epochs), "median": r["median"],
                     "q25": r["q25"], "q75": r["q75"], "failure_rate": r["failure_rate"]})
    return rows


#: the playground's figures: (id, function of fastact.playground.figures, caption)
_PLAYGROUND_FIGURES = (
    ("fig-playground-loss", "loss_curves_figure",
     "Training loss (median and interquartile range over seeds) per dataset and activation."),
    ("fig-playground-boundaries", "boundaries_figure",
     "Decision boundaries learned with each activation (one seed), training points overlaid."),
)


def _playground_jobs(pg: dict | None) -> list[FigureJob]:
    """The playground's figures that this installation can draw (fastact.playground
    draws them)."""
    if not pg:
        return []
    try:
        from fastact.playground import figures as pgf
    except ImportError:
        return []
    return [FigureJob(fig_id, f"{pgf.__name__}.{fn_name}", (pg,), alt=caption)
            for fig_id, fn_name, caption in _PLAYGROUND_FIGURES if hasattr(pgf, fn_name)]


def _playground_context(pg: dict | None, figs: dict[str, Fig]) -> dict | None:
    """The Convergence section's template context; ``figs``: the figures drawn
    (:func:`_playground_jobs`), by id."""
    if not pg:
        return None
    cfg = pg.get("config") or {}
    results = _summary_rows(pg)
    activations = list(dict.fromkeys(r["activation"] for r in results))
    keys = list(dict.fromkeys((r["dataset"], r["threshold"]) for r in results))
    idx = {(r["dataset"], r["threshold"], r["activation"]): r for r in results}
    rows = []
    for dataset, threshold in keys:
        present = [idx[dataset, threshold, a] for a in activations if (dataset, threshold, a) in idx]
        medians = [r["median"] for r in present if r["median"] is not None]
        best = min(medians) if medians else None
        cells = []
        for a in activations:
            r = idx.get((dataset, threshold, a))
            if r is None:
                cells.append({"text": "—", "cls": "na", "sub": ""})
                continue
            fail = float(r["failure_rate"] or 0)
            cls = "bad" if r["median"] is None or fail >= 0.5 else ("good" if r["median"] == best else "")
            reached = f" · {r['converged']}/{r['seeds']} reached" if "converged" in r else ""
            cells.append({"text": _fmt_epochs(r["median"]),
                          "sub": f"[{_fmt_epochs(r['q25'])}–{_fmt_epochs(r['q75'])}]{reached}",
                          "cls": cls})
        rows.append({"dataset": dataset, "threshold": threshold, "cells": cells})
    ratios = [{"dataset": r["dataset"], "threshold": r["threshold"], "pair": r["pair"],
               "ratio": "—" if r["ratio"] is None else f"{r['ratio']:.2f}",
               "ci": "—" if not r.get("ci95") else f"[{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]"}
              for r in pg.get("ratios") or []]
    # a figure missing here is one _playground_jobs could not draw
    missing = any(fig_id not in figs for fig_id, _, _ in _PLAYGROUND_FIGURES)
    note = "The playground's figures need fastact.playground, which this installation lacks." if missing else ""
    shown = [figs[fig_id] for fig_id, _, _ in _PLAYGROUND_FIGURES if fig_id in figs]
    seeds = cfg.get("seeds")
    return {
        "datasets": ", ".join(map(str, cfg.get("datasets") or sorted({r["dataset"] for r in results}))),
        "seeds": len(seeds) if isinstance(seeds, list) else (seeds if seeds is not None else "?"),
        "max_epochs": cfg.get("max_epochs", "?"),
        "thresholds": [t for t in cfg.get("thresholds") or [] if isinstance(t, dict)],
        "activations": activations, "rows": rows, "ratios": ratios, "figures": shown, "note": note,
    }
