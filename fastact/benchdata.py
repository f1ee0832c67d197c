"""Read pytest-benchmark JSON from the fastact suite and turn it into tables.

The benchmark records carry their parameters in ``extra_info`` (function, impl,
dtype, size, regime); everything here is a pure function of that JSON, so the
command line, the README numbers and the HTML report agree by construction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .peers import PEER_NAMES


@dataclass(frozen=True)
class Row:
    function: str
    impl: str
    dtype: str
    size: int
    regime: str
    min_s: float
    median_s: float


def parse(data: dict, threads: bool = False) -> list[Row]:
    """Throughput rows of parsed pytest-benchmark JSON: the records of our suite
    (``extra_info`` function/impl/dtype/size/regime), either the thread-scaling
    groups (``threads ...``, where ``impl`` names the thread count, e.g.
    ``torch-2-threads``) or everything else."""
    rows = []
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if not {"function", "impl", "dtype", "size", "regime"} <= info.keys():
            continue
        if bench.get("group", "").startswith("threads") != threads:
            continue
        stats = bench["stats"]
        rows.append(
            Row(info["function"], info["impl"], info["dtype"], int(info["size"]), info["regime"],
                float(stats["min"]), float(stats["median"]))
        )
    return rows


def load(path: str | Path) -> tuple[list[Row], dict]:
    """Throughput rows and the machine info of one pytest-benchmark JSON file."""
    data = json.loads(Path(path).read_text())
    return parse(data), data.get("machine_info", {})


def _index(rows: list[Row]) -> dict:
    return {(r.function, r.impl, r.dtype, r.size, r.regime): r for r in rows}


def peer_ratios(rows: list[Row], sizes=(1_000_000, 10_000_000)) -> list[dict]:
    """fastact / fastest peer (min times), single thread, ``central`` regime."""
    idx = _index(rows)
    out = []
    for (function, impl, dtype, size, regime), r in sorted(idx.items()):
        if impl != "fastact" or regime != "central" or size not in sizes:
            continue
        keys = {p: (function, p, dtype, size, regime) for p in PEER_NAMES}
        peers = {p: idx[k].min_s for p, k in keys.items() if k in idx}
        if not peers:
            continue
        best = min(peers, key=peers.get)
        copy = idx.get((function, "memcpy", dtype, size, regime))
        out.append({
            "function": function, "dtype": dtype, "size": size, "best_peer": best,
            "ratio": r.min_s / peers[best], "memcpy_ratio": r.min_s / copy.min_s if copy else None,
        })
    return out


def saturation_ratios(rows: list[Row]) -> list[dict]:
    """fastact throughput in each regime relative to ``central`` (>= 0.85 is the target)."""
    idx = _index(rows)
    table = defaultdict(dict)
    for (function, impl, dtype, size, regime), r in idx.items():
        if impl == "fastact" and (function, impl, dtype, size, "central") in idx:
            central = idx[function, impl, dtype, size, "central"].min_s
            if regime != "central":
                table[function, dtype, size][regime] = central / r.min_s
    return [{"function": f, "dtype": d, "size": n, **v} for (f, d, n), v in sorted(table.items())]


def format_table(records: list[dict], columns: list[str]) -> str:
    """Plain-text table of ``records`` (floats to 2 decimals)."""
    def cell(v):
        return f"{v:.2f}" if isinstance(v, float) else ("-" if v is None else str(v))

    body = [[cell(r.get(c)) for c in columns] for r in records]
    widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def summary(path: str | Path) -> str:
    rows, machine = load(path)
    info = machine.get("fastact", {})
    cpu = info.get("cpu_model", machine.get("cpu", {}).get("brand_raw", "?"))
    parts = [f"# {cpu}, versions {info.get('versions')}"]
    parts += ["", "## fastact / fastest peer (single thread, central regime; < 1 is faster)"]
    parts.append(format_table(peer_ratios(rows), ["function", "dtype", "size", "best_peer", "ratio", "memcpy_ratio"]))
    parts += ["", "## throughput relative to the central regime (>= 0.85 is the target)"]
    parts.append(format_table(saturation_ratios(rows), ["function", "dtype", "size", "wide", "saturated", "special"]))
    return "\n".join(parts)


if __name__ == "__main__":
    import sys

    print(summary(sys.argv[1]))
