"""Figures of the convergence experiment, drawn from its JSON dict.

Plain ``matplotlib.figure.Figure`` objects (no pyplot state, no GUI backend):
save them with ``fig.savefig(path)``.  matplotlib belongs to the ``report``
extra, not to fastact's dependencies: it is imported when a figure is drawn,
with a clear error if it is missing.
:func:`summary_rows` (the table) needs no plotting library.
"""

from __future__ import annotations

from typing import Any

from .experiment import summary_rows

__all__ = ["loss_curves_figure", "boundaries_figure", "summary_rows", "PLAYGROUND_COLORS"]

#: the Playground's colour scale: output -1 (orange), 0 (light grey), +1 (blue)
PLAYGROUND_COLORS = ("#f59322", "#e8eaeb", "#0877bd")
_ACTIVATION_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f")


def _new_figure(**kwargs: Any) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the playground figures need matplotlib: pip install 'fastact[report]' (or pip install matplotlib)"
        ) from exc
    return Figure(**kwargs)


def _colors(data: dict) -> dict[str, tuple[str, str]]:
    """A colour and line style per activation, stable across runs: by registry order (then by name).

    Styles alternate solid/dashed so that curves lying on each other (relu and
    leaky_relu often do) both stay visible.
    """
    from .._registry import REGISTRY

    order = list(REGISTRY) + sorted(set(data["config"]["activations"]) - set(REGISTRY))
    return {a: (_ACTIVATION_COLORS[order.index(a) % len(_ACTIVATION_COLORS)], ("-", "--")[order.index(a) % 2])
            for a in data["config"]["activations"]}  # fmt: skip


def _grid_shape(n: int) -> tuple[int, int]:
    cols = min(n, 2 if n == 4 else 3)
    return -(-n // cols), cols


def loss_curves_figure(data: dict):
    """Median training loss per epoch with its quartile band, per activation, one panel per dataset."""
    datasets = data["config"]["datasets"]
    colors = _colors(data)
    rows, cols = _grid_shape(len(datasets))
    fig = _new_figure(figsize=(5.2 * cols, 3.8 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, d in zip(axes.flat, datasets, strict=False):
        for c in (c for c in data["curves"] if c["dataset"] == d):
            col, style = colors[c["activation"]]
            ax.fill_between(c["epochs"], c["train_loss_q25"], c["train_loss_q75"], color=col, alpha=0.2, lw=0)
            ax.plot(c["epochs"], c["train_loss_median"], color=col, ls=style, lw=1.6, label=c["activation"])
        ax.axhline(0.05, color="0.4", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(d)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(datasets):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, title="hidden activation", title_fontsize=8)
    cfg = data["config"]
    fig.suptitle(
        f"Training loss: median and quartiles over {cfg['seeds']} seeds\n"
        f"hidden layers {cfg['shape']}, lr {cfg['learning_rate']}, batch {cfg['batch_size']}; dashed: 0.05",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def boundaries_figure(data: dict):
    """The network's output over the plane after training (Playground colours), datasets x activations."""
    fig = _new_figure(figsize=(2.4 * len(data["config"]["activations"]), 2.4 * len(data["config"]["datasets"])))
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("playground", PLAYGROUND_COLORS)
    datasets = data["config"]["datasets"]
    acts = data["config"]["activations"]
    by_key = {(b["dataset"], b["activation"]): b for b in data["boundaries"]}
    axes = fig.subplots(len(datasets), len(acts), squeeze=False)
    for i, d in enumerate(datasets):
        for j, a in enumerate(acts):
            ax = axes[i, j]
            b = by_key.get((d, a))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(a, fontsize=10)
            if j == 0:
                ax.set_ylabel(d, fontsize=10)
            if b is None:
                ax.set_axis_off()
                continue
            # the Playground paints the background paler than the points
            ax.imshow(b["grid"], extent=b["extent"], origin="upper", cmap=cmap, vmin=-1, vmax=1,
                      interpolation="bilinear", alpha=0.7)  # fmt: skip
            pts = b["train_points"]
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=7,
                       c=[PLAYGROUND_COLORS[2] if p[2] > 0 else PLAYGROUND_COLORS[0] for p in pts],
                       edgecolors="white", linewidths=0.5)  # fmt: skip
            ax.set_xlim(b["extent"][:2])
            ax.set_ylim(b["extent"][2:])
    seed_epochs = {(b["seed"], b.get("epochs")) for b in data["boundaries"]}
    note = ", ".join(f"seed {s}" + (f" after {e} epochs" if e else "") for s, e in sorted(seed_epochs))
    fig.suptitle(f"Network output over [-6, 6]^2\n{note}; training points on top", fontsize=9)
    fig.tight_layout()
    return fig
