"""Regenerate tests/data/bench-fixture.json: a small real measurement for the report tests.

    python tools/make_report_fixture.py

Two sizes, every public function of the registry, the peers installed here, the
input regimes at the larger size and a thread-scaling group; statistics rounded
to keep the file small.  The report tests build a page from it in seconds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fastact.report.measure import run


def main() -> int:
    data = run(sizes=(1_000, 100_000), budget=0.01, min_rounds=2)
    for rec in data["benchmarks"]:
        rec["stats"] = {k: float(f"{rec['stats'][k]:.4g}") for k in ("min", "median", "mean", "max")}
        for key in ("fullname", "options", "params", "param"):
            rec.pop(key)
    data["machine_info"]["node"] = "fixture"
    out = Path(__file__).resolve().parents[1] / "tests" / "data" / "bench-fixture.json"
    out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"{out}: {len(data['benchmarks'])} records, {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
