"""Collect the report's data (measure or read the benchmark, analyse accuracy and
saturation) and write the JSON and the HTML page, each atomically."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import fastact

from ..environment import now
from . import analysis

SCHEMA = "fastact.report/1"
DEFAULT_OUT = Path("reports") / "fastact-report.html"
DEFAULT_VERIFY_JSON = Path("reports") / "verify-exhaustive.json"
DEFAULT_PLAYGROUND_JSON = Path("reports") / "playground" / "playground.json"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a
    rename: readers see the old file or the new one, never half of one."""
    write_atomic_bytes(path, text.encode("utf-8"))


def write_atomic_bytes(path: Path, content: bytes) -> None:
    """:func:`write_atomic` for bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of our own (not mkstemp's): the file gets the umask's permissions
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def collect(
    bench: dict,
    bench_source: str,
    command: str,
    samples_per_band: int,
    verify_json: Path | None,
    playground: dict | None,
    quick: bool,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The report's data: everything the page shows, as standard JSON-able values.

    ``bench`` is validated pytest-benchmark JSON (:func:`analysis.validate_bench`).
    """
    data = {
        "schema": SCHEMA,
        "meta": {"date": now(), "command": command, "fastact_version": fastact.__version__, "quick": quick,
                 "bench_source": bench_source},
        "bench": analysis.bench_section(bench, bench_source),
    }
    data["summary"] = analysis.summary_rows(data["bench"])
    data["accuracy"] = {
        "samples_per_band": samples_per_band,
        "bands": analysis.band_labels(),
        "ulp_edges": [analysis.jsonable(e) for e in analysis.ULP_EDGES],
        "histograms": analysis.accuracy_histograms(samples_per_band, progress=progress),
        "certified": analysis.certified(verify_json) if verify_json else None,
        "certified_source": str(verify_json) if verify_json else None,
    }
    data["naive"] = analysis.naive_comparison()
    if progress:
        progress("tutorial code")
    data["gradients"] = analysis.gradient_regions()
    if progress:
        progress("gradient regions")
    data["playground"] = playground
    return data


def write(data: dict, out: Path, progress: Callable[[str], None] | None = None, t0: float | None = None,
          workers: int | None = None) -> tuple[Path, Path]:
    """Render ``data`` (its figures drawn in ``workers`` processes, default every
    core) and write ``out`` (HTML) and its JSON beside it (same stem)."""
    from .render import render

    json_path = out.with_suffix(".json")
    data["meta"]["json_name"] = json_path.name
    if t0 is not None:
        data["meta"]["seconds"] = round(time.perf_counter() - t0, 1)
    html = render(data, progress=progress, workers=workers)
    write_atomic(json_path, json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n")
    write_atomic(out, html)
    return out, json_path

