"""The report's figures: matplotlib ``Figure`` objects built from report data.

No pyplot: every figure is a :class:`matplotlib.figure.Figure` (Agg for PNG, the SVG
backend for SVG), so nothing touches a GUI or global state and figures are freed
with their last reference.  :func:`to_svg` turns one into inline SVG for the page.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

import fastact

from .analysis import DTYPES, GRAD_THRESHOLDS, ULP_EDGES, band_labels

#: one colour per implementation, the same in every figure
IMPL_COLORS = {
    "fastact": "#1f5fbf",
    "memcpy": "#222222",
    "numpy-reference": "#8c8c8c",
    "numpy-best": "#e08214",
    "scipy": "#2ca02c",
    "torch": "#d62728",
    "numexpr": "#8e5bb8",
}
_EXTRA = ("#17becf", "#bcbd22", "#e377c2", "#7f4f24", "#393b79")
#: order of implementations in legends: fastact first, the copy limit last
IMPL_ORDER = ("fastact", "numpy-reference", "numpy-best", "scipy", "torch", "numexpr", "memcpy")
KIND_LABEL = {"": "forward", "_grad": "derivative", "_backward": "backward"}


def impl_color(impl: str) -> str:
    if impl in IMPL_COLORS:
        return IMPL_COLORS[impl]
    for lib in ("fastact", "torch"):  # thread-scaling variants: light = one thread, full = every core
        if impl.startswith(lib + "-"):
            return {"fastact": "#9ab8e6", "torch": "#f2a09d"}[lib] if "-1-thread" in impl else IMPL_COLORS[lib]
    return _EXTRA[sum(map(ord, impl)) % len(_EXTRA)]


def _impl_key(impl: str):
    return (IMPL_ORDER.index(impl) if impl in IMPL_ORDER else len(IMPL_ORDER) - 0.5, impl)


#: above this size a figure is embedded as a raster image instead (dense scatter plots, many polygons)
MAX_SVG_BYTES = 250_000
#: a raster image above this size (PNG) is embedded as JPEG (smooth colour fields compress ~4x better)
MAX_PNG_BYTES = 250_000


def inline(fig: Figure, salt: str, alt: str = "") -> str:
    """``fig`` as markup for the page: inline SVG (text kept as text, small and
    searchable; no metadata; element ids salted by ``salt`` so that many figures can
    share one page), or, where the SVG would exceed :data:`MAX_SVG_BYTES`, a base64
    PNG ``<img>`` (JPEG where the PNG exceeds :data:`MAX_PNG_BYTES`): the page stays
    small enough to attach anywhere."""
    import base64
    import html

    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    if len(svg) <= MAX_SVG_BYTES:
        svg = svg[svg.index("<svg"):]
        # a responsive width; the viewBox keeps the aspect ratio
        return re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 class="fig" role="img"', svg, count=1)
    raster, mime = io.BytesIO(), "image/png"
    fig.savefig(raster, format="png", dpi=100, metadata={"Software": None})
    if raster.tell() > MAX_PNG_BYTES:
        raster, mime = io.BytesIO(), "image/jpeg"
        fig.savefig(raster, format="jpg", dpi=100, pil_kwargs={"quality": 85})
    data = base64.b64encode(raster.getvalue()).decode("ascii")
    return f'<img src="data:{mime};base64,{data}" alt="{html.escape(alt)}">'


def _style(ax) -> None:
    ax.grid(True, which="major", color="#d9d9d9", linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _loglog(ax) -> None:
    """Log axes with ticks at the decades only (minor ticks cost time and ink)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_minor_locator(NullLocator())


# --------------------------------------------------------------------------------
# The tutorial's figure (also `fastact plot`)
# --------------------------------------------------------------------------------
def resolve(name: str):
    """The registry activation called ``name`` (or one of its aliases)."""
    for act in fastact.REGISTRY.values():
        if name == act.name or name in act.aliases:
            return act
    known = ", ".join(n for act in fastact.REGISTRY.values() for n in (act.name, *act.aliases))
    raise KeyError(f"unknown activation {name!r}; known: {known}")


def tutorial_axes(ax, act, xrange=(-5.0, 5.0), ylim=(-1.1, 1.1)) -> None:
    """The tutorial's plot of one activation: the function and its derivative, grid, legend."""
    x = np.arange(xrange[0], xrange[1], (xrange[1] - xrange[0]) / 1000)
    f = getattr(fastact.ufuncs, act.name)(x, *act.param_defaults)
    d = getattr(fastact.ufuncs, act.name + "_grad")(x, *act.param_defaults)
    ax.plot(x, f, label=act.name, color="#1f5fbf", linewidth=2)
    ax.plot(x, d, label=act.name + "_grad", color="#e08214", linewidth=2, linestyle="--")
    ax.set_ylim(*ylim)
    ax.set_xlim(*xrange)
    ax.grid(True, color="#d9d9d9")
    ax.legend(loc="upper left", frameon=True, fontsize=9)
    ax.set_title(f"{act.name}(x) = {act.formula}", fontsize=10)
    ax.set_xlabel("x")


def tutorial_figure(acts, xrange=(-5.0, 5.0), ylim=(-1.1, 1.1)) -> Figure:
    """One panel per activation in ``acts``, side by side."""
    acts = list(acts)
    fig = Figure(figsize=(4.6 * len(acts), 3.6), layout="constrained")
    for ax, act in zip(fig.subplots(1, len(acts), squeeze=False)[0], acts, strict=True):
        tutorial_axes(ax, act, xrange, ylim)
    return fig


def tutorial_figure_of(name: str) -> Figure:
    """:func:`tutorial_figure` of the one activation called ``name`` (a plain value
    for :class:`fastact.report.drawing.FigureJob`)."""
    return tutorial_figure([resolve(name)])


# --------------------------------------------------------------------------------
# Throughput
# --------------------------------------------------------------------------------
def throughput_figure(act, series: dict) -> Figure:
    """Elements per second against array size, log-log: dtype rows x (forward,
    derivative, backward) columns, every implementation measured."""
    names = act.public_names
    fig = Figure(figsize=(12, 6.6), layout="constrained")
    axes = fig.subplots(len(DTYPES), len(names), sharex=True, sharey="row")
    handles = {}
    for i, dtype in enumerate(DTYPES):
        for j, name in enumerate(names):
            ax = axes[i][j]
            _style(ax)
            by_impl = series.get(name, {}).get(dtype, {})
            for impl in sorted(by_impl, key=_impl_key):
                pts = by_impl[impl]
                n, tput = zip(*pts, strict=True)
                line, = ax.plot(n, np.array(tput) / 1e9, marker="o", markersize=3.5, color=impl_color(impl),
                                linewidth=2.6 if impl == "fastact" else 1.3,
                                linestyle="--" if impl == "memcpy" else "-", label=impl, zorder=3 if impl == "fastact"
                                else 2)
                handles.setdefault(impl, line)
            _loglog(ax)
            if not by_impl:
                ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes, color="#888")
            suffix = name[len(act.name):]
            ax.set_title(f"{name} ({KIND_LABEL.get(suffix, suffix)}), {dtype}", fontsize=10)
            if i == len(DTYPES) - 1:
                ax.set_xlabel("array size (elements)")
            if j == 0:
                ax.set_ylabel("throughput (10⁹ elements/s)")
    order = sorted(handles, key=_impl_key)
    fig.legend([handles[k] for k in order], order, loc="outside lower center", ncols=len(order), frameon=False)
    fig.suptitle(f"{act.name}: throughput against array size (single thread, central regime N(0,1))", fontsize=12)
    return fig


def threads_figure(rows: list) -> Figure:
    """Thread scaling: elements per second of every implementation and thread count,
    one panel per array size, bars per function and dtype."""
    sizes = sorted({r.size for r in rows})
    impls = sorted({r.impl for r in rows}, key=lambda i: (not i.startswith("fastact"), "-1-thread" not in i, i))
    fig = Figure(figsize=(12, 3.2 * len(sizes) + 0.6), layout="constrained")
    axes = fig.subplots(len(sizes), 1, squeeze=False)[:, 0]
    width = 0.8 / max(1, len(impls))
    idx = {(r.function, r.dtype, r.size, r.impl): r for r in rows}
    for ax, size in zip(axes, sizes, strict=True):
        _style(ax)
        groups = sorted({(r.function, r.dtype) for r in rows if r.size == size})
        for k, impl in enumerate(impls):
            xs, ys = [], []
            for g, (function, dtype) in enumerate(groups):
                r = idx.get((function, dtype, size, impl))
                if r is not None:
                    xs.append(g + (k - (len(impls) - 1) / 2) * width)
                    ys.append(size / r.min_s / 1e9)
            ax.bar(xs, ys, width=width * 0.92, color=impl_color(impl), label=impl)
        ax.set_xticks(range(len(groups)), [f"{f}\n{d}" for f, d in groups], fontsize=8)
        ax.set_ylabel("10⁹ elements/s")
        ax.set_title(f"n = {fmt_size(size)}", fontsize=10)
    axes[0].legend(loc="upper right", fontsize=8, ncols=2)
    fig.suptitle("thread scaling: fastact and PyTorch on one thread and on every core", fontsize=11)
    return fig


def regimes_figure(ratios: list[dict]) -> Figure:
    """fastact's throughput per input regime relative to the central regime."""
    regimes = [k for k in ("wide", "saturated", "special") if any(k in r for r in ratios)]
    fig = Figure(figsize=(12, 5.4), layout="constrained")
    axes = fig.subplots(len(DTYPES), 1, sharex=True, squeeze=False)[:, 0]
    colors = {"wide": "#6baed6", "saturated": "#e6550d", "special": "#756bb1"}
    functions = [n for act in fastact.REGISTRY.values() for n in act.public_names
                 if any(r["function"] == n for r in ratios)]
    for ax, dtype in zip(axes, DTYPES, strict=True):
        _style(ax)
        by_fn = {r["function"]: r for r in ratios if r["dtype"] == dtype}
        w = 0.8 / max(1, len(regimes))
        for k, regime in enumerate(regimes):
            xs = [i + (k - (len(regimes) - 1) / 2) * w for i, f in enumerate(functions) if regime in by_fn.get(f, {})]
            vs = [by_fn[f][regime] for f in functions if regime in by_fn.get(f, {})]
            ax.bar(xs, vs, width=w * 0.92, color=colors.get(regime, "#999"), label=regime)
        ax.axhline(1.0, color="#222", linewidth=0.8)
        ax.axhline(0.85, color="#d62728", linewidth=1, linestyle="--", label="target 0.85")
        ax.set_ylabel(f"{dtype}\nthroughput / central")
        ax.set_ylim(0, max([1.3] + [r.get(k, 0) * 1.1 for r in ratios for k in regimes]))
    axes[-1].set_xticks(range(len(functions)), functions, rotation=35, ha="right", fontsize=8)
    axes[0].legend(loc="upper right", ncols=4, fontsize=8)
    size = sorted({r["size"] for r in ratios})
    fig.suptitle(f"fastact throughput per input regime relative to N(0,1) (n = {', '.join(f'{s:.0e}' for s in size)})",
                 fontsize=11)
    return fig


# --------------------------------------------------------------------------------
# Saturation: vanishing gradients
# --------------------------------------------------------------------------------
def gradients_figure(limit: float = 40.0, floor: float = 1e-30) -> Figure:
    """|f'(x)| of every activation on a log axis; exact zeros drawn at the floor."""
    x = np.linspace(-limit, limit, 4001)
    fig = Figure(figsize=(10, 4.6), layout="constrained")
    ax = fig.subplots()
    _style(ax)
    palette = ("#1f5fbf", "#e08214", "#2ca02c", "#d62728", "#8e5bb8", "#17becf", "#bcbd22", "#7f4f24")
    for k, act in enumerate(fastact.REGISTRY.values()):
        d = np.abs(getattr(fastact.ufuncs, act.name + "_grad")(x, *act.param_defaults))
        ax.plot(x, np.maximum(d, floor), label=act.name, color=palette[k % len(palette)], linewidth=2)
    for t, style in zip(GRAD_THRESHOLDS, ("--", ":"), strict=False):
        ax.axhline(t, color="#444", linestyle=style, linewidth=1)
        ax.text(limit, t, f" {t:g}", va="center", ha="left", fontsize=8, color="#444")
    ax.set_yscale("log")
    ax.set_ylim(floor / 3, 10)
    ax.set_xlim(-limit, limit)
    ax.set_xlabel("x")
    ax.set_ylabel("|f′(x)| (float64; 0 drawn at 10⁻³⁰)")
    ax.legend(loc="lower center", ncols=4, fontsize=9)
    ax.set_title("where gradients vanish: |f′(x)| below 10⁻³ and 10⁻⁶", fontsize=11)
    return fig


# --------------------------------------------------------------------------------
# Accuracy
# --------------------------------------------------------------------------------
def accuracy_figure(act, hists: list[dict]) -> Figure:
    """ULP-error histograms by magnitude band: one heat map per kernel and dtype,
    cells = fraction of the band's ULP-judged results in each error bin."""
    kernels = [k for k in (act.name, act.name + "_grad") if any(h["kernel"] == k for h in hists)]
    rows = max(1, len(kernels))
    width, height = 12.0, 2.5 + 2.6 * rows
    fig = Figure(figsize=(width, height))
    # Fixed margins in inches (band labels left, colour bar right, titles above,
    # rotated bin edges below) instead of layout="constrained", which measured 60%
    # of this figure's drawing time: 22 such figures per report.
    left, right, top, bottom = 1.35 / width, 1 - 1.25 / width, 1 - 0.75 / height, 0.95 / height
    axes = fig.subplots(rows, len(DTYPES), squeeze=False, sharex=True, sharey=True,
                        gridspec_kw={"left": left, "right": right, "top": top, "bottom": bottom,
                                     "wspace": 0.55 / ((right - left) * width / len(DTYPES)),
                                     "hspace": 0.55 / ((top - bottom) * height / rows)})
    labels = band_labels()
    edges = [f"{e:g}" for e in ULP_EDGES[:-1]] + ["∞"]
    norm = LogNorm(vmin=1e-6, vmax=1.0)
    image = None
    for i, kernel in enumerate(kernels):
        for j, dtype in enumerate(DTYPES):
            ax = axes[i][j]
            h = next((h for h in hists if h["kernel"] == kernel and h["dtype"] == dtype), None)
            if h is None:
                ax.set_axis_off()
                continue
            counts = np.array(h["counts"], dtype=float)
            totals = counts.sum(axis=1, keepdims=True)
            frac = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
            shown = np.where(frac > 0, np.maximum(frac, 1e-6), np.nan)
            image = ax.imshow(shown, aspect="auto", cmap="viridis", norm=norm, interpolation="nearest",
                              extent=(0, counts.shape[1], counts.shape[0], 0))
            ax.set_yticks(np.arange(len(labels)) + 0.5, labels, fontsize=7.5)
            ax.set_xticks(range(len(edges)), edges, fontsize=7, rotation=90)
            if i == len(kernels) - 1:
                ax.set_xlabel("error (ULP of the exact value)", fontsize=8)
            limit = h.get("limit")
            if limit is not None:
                ax.axvline(_edge_position(limit), color="#d62728", linewidth=1.6, linestyle="--")
            mx = h.get("max")
            ax.set_title(f"{kernel} {dtype}: max {mx:.3f} ULP (contract ≤ {limit:g})" if mx is not None
                         else f"{kernel} {dtype}", fontsize=9.5)
            for b, m in enumerate(h["band_max"]):
                text = f"max {m:.2f}" if m is not None else "no result in the normal range"
                ax.text(counts.shape[1] - 0.1, b + 0.5, text, ha="right", va="center", fontsize=7,
                        color="#333", bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0, "pad": 1})
    if image is not None:
        bar = fig.add_axes((right + 0.25 / width, bottom + 0.1 * (top - bottom), 0.18 / width, 0.8 * (top - bottom)))
        fig.colorbar(image, cax=bar, label="fraction of the band's results")
    fig.suptitle(f"{act.name}: ULP error by magnitude of x (sampled log-uniformly per band; "
                 f"red dashed line = contract)", fontsize=11)
    return fig


def _edge_position(err: float) -> float:
    """x position of an error value on the (non-uniform) bin axis of the heat maps."""
    finite = ULP_EDGES[:-1]
    if err >= finite[-1]:
        return float(len(finite) - 1)
    k = max(i for i, e in enumerate(finite) if e <= err)
    return k + (err - finite[k]) / (finite[k + 1] - finite[k])


def fmt_size(n: int) -> str:
    """10^k sizes as 10⁶ etc., others as plain integers."""
    k = round(math.log10(n)) if n > 0 else 0
    if n > 0 and 10**k == n:
        return "10" + str(k).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{n:,}"
