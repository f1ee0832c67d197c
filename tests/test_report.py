"""``fastact report`` and ``fastact plot``.

The page is built once (module fixture) from ``tests/data/bench-fixture.json``, a
small real measurement of every public function (regenerate it with
``python tools/make_report_fixture.py``), and ``tests/data/playground-fixture.json``,
a hand-made file in the playground's agreed schema (``fastact.playground/1``).
Then: the HTML is well formed, every section and figure is there, nothing points
outside the page, the numbers are the fixture's, and a real headless Chromium
renders it (not blank, no console error).  Bad inputs end in one clear line and a
non-zero exit, with nothing written.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import fastact
from fastact.benchdata import parse
from fastact.report import drawing, measure
from fastact.report.analysis import ReportError, validate_bench
from fastact.report.cli import plot_main, report_main
from fastact.report.drawing import FigureJob
from fastact.report.render import SECTIONS, convergence_section, figure_jobs

DATA = Path(__file__).parent / "data"
BENCH = DATA / "bench-fixture.json"
PLAYGROUND = DATA / "playground-fixture.json"
ROOT = Path(__file__).resolve().parents[1]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    """Collects ids, figures, URL attributes and checks that every element is closed
    in order (the template closes everything, optional end tags included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.urls: list[str] = []
        self.figures: dict[str, dict] = {}
        self._figure: str | None = None
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "figure":
            self._figure = dict(attrs).get("id")
            self.figures[self._figure] = {"svg": 0, "paths": 0, "img": 0}
        if tag in ("td", "th"):
            self._cell = []

    def handle_startendtag(self, tag, attrs):
        self._attrs(tag, attrs)

    def _attrs(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("src", "href", "xlink:href", "action", "poster", "data"):
            if key in a:
                self.urls.append(a[key])
        if self._figure is not None:
            fig = self.figures[self._figure]
            if tag == "svg":
                fig["svg"] += 1
            elif tag in ("path", "use", "image"):
                fig["paths"] += 1
            elif tag == "img":
                fig["img"] += 1

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "figure":
            self._figure = None
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    # two drawers (this process and a worker interpreter) on any machine
    code = report_main(["--quick", "--bench-json", str(BENCH), "--out", str(out), "--samples", "300",
                        "--verify-json", str(ROOT / "reports" / "verify-exhaustive.json"),
                        "--playground-json", str(PLAYGROUND), "--jobs", "2"])
    assert code == 0
    html = out.read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    page.close()
    return out, html, page


def _playground_figures() -> bool:
    """Whether the playground package (its figure functions) is installed."""
    try:
        from fastact.playground import figures
    except ImportError:
        return False
    return hasattr(figures, "loss_curves_figure") and hasattr(figures, "boundaries_figure")


def expected_figures() -> set[str]:
    ids = {"fig-gradients", "fig-threads", "fig-regimes"}
    if _playground_figures():
        ids |= {"fig-playground-loss", "fig-playground-boundaries"}
    for act in fastact.REGISTRY.values():
        ids |= {f"fig-throughput-{act.name}", f"fig-tutorial-{act.name}", f"fig-accuracy-{act.name}"}
    return ids


def test_html_well_formed(built):
    _, html, page = built
    assert html.startswith("<!doctype html>")
    assert page.errors == []
    assert page.stack == []


def test_every_section_present(built):
    _, _, page = built
    missing = [sid for sid, _ in SECTIONS if sid not in page.ids]
    assert missing == []


def test_every_figure_present_and_inline(built):
    _, _, page = built
    assert expected_figures() <= set(page.figures)
    for fig_id, fig in page.figures.items():
        assert fig["svg"] + fig["img"] >= 1, fig_id
        assert fig["paths"] >= 5, f"{fig_id}: an empty figure"


def test_no_external_urls(built):
    _, html, page = built
    assert page.urls, "the page has links (the table of contents) and images"
    outside = [u for u in page.urls if not u.startswith(("#", "data:"))]
    assert outside == []
    # CSS is inline and fetches nothing; scripts: none at all
    assert "@import" not in html and "<script" not in html.lower()
    assert all(u.startswith(("#", "data:")) for u in _css_urls(html))  # SVG clip paths: url(#id)


def _css_urls(html: str) -> list[str]:
    import re

    return [m.strip("'\" ") for m in re.findall(r"url\(([^)]*)\)", html)]


def test_json_beside_the_page(built):
    out, _, _ = built
    data = json.loads(out.with_suffix(".json").read_text(), parse_constant=_reject)
    assert data["schema"] == "fastact.report/1"
    assert {r["function"] for r in data["summary"]} == {n for a in fastact.REGISTRY.values() for n in a.public_names}
    assert data["playground"]["schema"] == "fastact.playground/1"


def _reject(name):
    raise ValueError(f"non-standard JSON constant {name}")


def test_summary_numbers_come_from_the_benchmark(built):
    """Every speed-up against the NumPy reference in the table is the fixture's ratio of times."""
    _, _, page = built
    rows = parse(json.loads(BENCH.read_text()))
    idx = {(r.function, r.impl, r.dtype, r.size, r.regime): r.min_s for r in rows}
    checked = 0
    for (function, impl, dtype, size, regime), t in idx.items():
        if impl != "fastact" or regime != "central":
            continue
        ref = idx.get((function, "numpy-reference", dtype, size, regime))
        if ref is None or size != max(s for (f, i, d, s, g) in idx if (f, i, d, g) == (function, impl, dtype, regime)):
            continue
        assert f"{ref / t:.2f}×" in " ".join(page.cells), (function, dtype)
        checked += 1
    assert checked >= len(fastact.REGISTRY)


def test_convergence_section_without_experiment():
    html = convergence_section(None)
    assert 'id="convergence"' in html
    assert "fastact playground" in html


def test_convergence_section_tables(built):
    _, html, _ = built
    data = json.loads(PLAYGROUND.read_text())
    section = html[html.index('id="convergence"'):]
    for r in data["ratios"]:
        assert f"{r['ratio']:.2f}" in section
    assert all(a in section for a in data["config"]["activations"])


# --------------------------------------------------------------------------------
# Drawing on every core
# --------------------------------------------------------------------------------
def _figure_markup(html: str, fig_id: str) -> str:
    start = html.index(f'<figure id="{fig_id}">') + len(f'<figure id="{fig_id}">')
    return html[start:html.index("<figcaption>", start)]


def test_page_figures_are_those_drawn_here(built):
    """The fixture's page was drawn by this process and a worker interpreter; drawn
    here alone, from the JSON beside the page, its figures are the same bytes."""
    out, html, page = built
    jobs = {j.fig_id: j for j in figure_jobs(json.loads(out.with_suffix(".json").read_text()))}
    assert set(jobs) == set(page.figures)
    last = list(fastact.REGISTRY)[-1]
    for fig_id in ("fig-tutorial-sigmoid", f"fig-tutorial-{last}", "fig-threads", f"fig-throughput-{last}"):
        assert drawing.draw(jobs[fig_id]) == _figure_markup(html, fig_id), fig_id


def test_a_worker_draws_what_this_process_draws():
    """The worker protocol: pickled jobs in, ``(True, markup)`` or ``(False,
    traceback)`` out, nothing else on the answer stream, exit 0 when the jobs end."""
    jobs = [FigureJob("fig-a", "fastact.report.figures.tutorial_figure_of", ("relu",), alt="relu"),
            FigureJob("fig-b", "fastact.report.figures.no_such_figure")]
    proc = subprocess.run([sys.executable, "-m", "fastact.report.drawing"], capture_output=True, timeout=300,
                          input=b"".join(pickle.dumps(j) for j in jobs))
    assert proc.returncode == 0, proc.stderr.decode()
    answers = io.BytesIO(proc.stdout)
    assert pickle.load(answers) == (True, drawing.draw(jobs[0]))
    ok, trace = pickle.load(answers)
    assert not ok and "no_such_figure" in trace
    assert answers.read() == b""


def test_a_failing_figure_stops_every_drawer(monkeypatch):
    jobs = [FigureJob(f"fig-{i}", "fastact.report.figures.no_such_figure") for i in range(4)]
    monkeypatch.setattr(drawing, "FIGURES_PER_WORKER_START", 1)
    with pytest.raises(RuntimeError, match="no_such_figure"):
        drawing.draw_all(jobs, workers=2)
    with pytest.raises(AttributeError, match="no_such_figure"):  # drawn here alone: the error itself
        drawing.draw_all(jobs, workers=1)


@pytest.mark.parametrize("interpreter", ["/bin/false", "/no/such/python"])
def test_workers_that_stop_cost_time_not_the_report(interpreter, monkeypatch):
    """A worker that exits at once (or cannot start) gives its job back, this
    process draws everything, and a warning says so."""
    jobs = [FigureJob(f"fig-tutorial-{n}", "fastact.report.figures.tutorial_figure_of", (n,), alt=n)
            for n in ("relu", "relu6", "hard_tanh")]
    monkeypatch.setattr(drawing, "FIGURES_PER_WORKER_START", 1)
    monkeypatch.setattr(drawing.sys, "executable", interpreter)
    with pytest.warns(RuntimeWarning, match="2 of 2 figure worker processes stopped"):
        drawn = drawing.draw_all(jobs, workers=3)
    assert drawn == {j.fig_id: drawing.draw(j) for j in jobs}


def test_jobs_must_be_positive(tmp_path, capsys):
    assert report_main(["--bench-json", str(BENCH), "--jobs", "0", "--out", str(tmp_path / "r.html")]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------
# A real browser
# --------------------------------------------------------------------------------
def _browser():
    import headless

    if headless.chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must run the browser test (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it and runs this test")
    return headless


def _pixels(png: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")


def test_page_renders_in_chromium(built):
    headless = _browser()
    out, _, _ = built
    page = headless.load(out.resolve().as_uri())
    assert page.errors == []
    assert all(u.startswith(("file:", "data:")) for u in page.requests), page.requests
    img = _pixels(page.png)[..., :3]
    assert img.shape[:2] == (2000, 1280)
    ink = np.any(img < 0.9, axis=-1).mean()
    colours = len(np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert ink > 0.05, f"only {ink:.1%} of the screenshot is not white"
    assert colours > 50


def test_browser_check_sees_errors(built, tmp_path):
    """The console check can fail: a script error, console.error and a blocked
    external image are all reported."""
    headless = _browser()
    out, html, _ = built
    bad = tmp_path / "bad.html"
    bad.write_text(html.replace("</main>", '<img src="https://example.invalid/x.png" alt=""></main>')
                   .replace("default-src 'none'", "default-src 'none'; script-src 'unsafe-inline'")
                   .replace("</body>", "<script>console.error('deliberate'); undefinedFunction();</script></body>"))
    page = headless.load(bad.resolve().as_uri())
    text = "\n".join(page.errors)
    assert "deliberate" in text
    assert "undefinedFunction" in text
    assert "example.invalid" in text


# --------------------------------------------------------------------------------
# Bad inputs: one line, non-zero exit, nothing written
# --------------------------------------------------------------------------------
BAD_BENCH = {
    "corrupt": '{"benchmarks": [{"group": "x", ',
    "foreign": json.dumps({"name": "some other tool", "results": [1, 2, 3]}),
    "list": json.dumps([1, 2, 3]),
    "no fastact records": json.dumps({"benchmarks": [{"group": "g", "name": "t", "stats": {"min": 1.0}}]}),
    "malformed record": json.dumps({"benchmarks": [{"group": "g", "extra_info": {
        "function": "sigmoid", "impl": "fastact", "dtype": "float32", "size": 10, "regime": "central"}}]}),
    "binary": "\udcff\udcfe",
}


@pytest.mark.parametrize("kind", sorted(BAD_BENCH))
def test_bad_bench_json(kind, tmp_path, capsys):
    bad = tmp_path / "bench.json"
    bad.write_bytes(BAD_BENCH[kind].encode("utf-8", "surrogateescape"))
    out = tmp_path / "out" / "report.html"
    code = report_main(["--bench-json", str(bad), "--out", str(out)])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("fastact report: error: ") and str(bad) in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json"]


def test_bad_bench_json_command_line(tmp_path):
    """Through the real command: no traceback, exit status 2, no file."""
    bad = tmp_path / "bench.json"
    bad.write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "fastact", "report", "--bench-json", str(bad),
                           "--out", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "is not valid JSON" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json"]


def test_missing_bench_json(tmp_path, capsys):
    assert report_main(["--bench-json", str(tmp_path / "nope.json"), "--out", str(tmp_path / "r.html")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", ["[]", '{"schema": "something/else"}', '{"schema": "fastact.playground/1", '
                                     '"results": [{"dataset": "x"}]}'])
def test_bad_playground_json(content, tmp_path, capsys):
    pg = tmp_path / "pg.json"
    pg.write_text(content)
    code = report_main(["--bench-json", str(BENCH), "--playground-json", str(pg), "--out", str(tmp_path / "r.html")])
    assert code == 2
    assert "fastact report: error:" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pg.json"]


def test_validate_bench_accepts_fixture():
    validate_bench(json.loads(BENCH.read_text()), BENCH)
    with pytest.raises(ReportError, match="no fastact throughput records"):
        validate_bench({"benchmarks": []}, "x.json")


# --------------------------------------------------------------------------------
# The report's own measurement
# --------------------------------------------------------------------------------
def test_quick_measurement_is_pytest_benchmark_json():
    threads_before = fastact.get_num_threads()
    act = next(a for a in fastact.REGISTRY.values() if a.transcendental)
    names = act.public_names
    data = measure.run(sizes=(1000,), dtypes=("float32",), functions=names[:2], peer_names=("numpy-best",),
                       budget=0.0, min_rounds=1)
    validate_bench(data, "measured")
    rows = parse(json.loads(json.dumps(data)))
    got = {(r.function, r.impl, r.regime) for r in rows}
    for name in names[:2]:
        assert {(name, "fastact", "central"), (name, "memcpy", "central"), (name, "numpy-best", "central"),
                (name, "fastact", "saturated")} <= got
    assert all(r.min_s > 0 and r.median_s >= r.min_s for r in rows)
    threads = parse(data, threads=True)
    assert {r.impl for r in threads} >= {"fastact-1-thread"}
    assert data["machine_info"]["fastact"]["versions"]["fastact"] == fastact.__version__
    assert fastact.get_num_threads() == threads_before  # restored


def test_thread_scaling_times_pytorch_for_every_transcendental_function():
    """The thread-scaling groups of ``fastact report`` call PyTorch as the
    single-thread comparison does (``fastact.peers``, whose values
    tests/test_peers.py checks), for every function they cover: the quick report
    once crashed on celu, which torch has without ``out=``."""
    import torch

    threads_before = fastact.get_num_threads()
    torch_threads = torch.get_num_threads()
    inputs = measure._Inputs()
    covered = [g[1] for g in measure.plan(sizes=(1000,), dtypes=("float32",)) if g[0] == "threads"]
    assert {"sigmoid", "tanh_backward", "celu", "gelu_backward", "tanhshrink"} <= set(covered)
    try:
        for function in covered:
            groups = measure._thread_contenders(function, "float32", 1000, inputs, torch_too=True)
            assert [n for n, _ in groups] == ([1, os.cpu_count()] if (os.cpu_count() or 1) > 1 else [1]), function
            assert "torch-1-thread" in groups[0][1], function
            for _, contenders in groups:
                for call in contenders.values():
                    call()
    finally:
        fastact.set_num_threads(threads_before)
        torch.set_num_threads(torch_threads)


# --------------------------------------------------------------------------------
# fastact plot
# --------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot(suffix, tmp_path, capsys):
    out = tmp_path / f"fig{suffix}"
    acts = list(fastact.REGISTRY.values())[:2]
    names = [a.aliases[0] if a.aliases else a.name for a in acts]  # aliases work too
    assert plot_main([*names, "--range", "-6", "6", "--out", str(out)]) == 0
    content = out.read_bytes()
    if suffix == ".png":
        assert content.startswith(b"\x89PNG\r\n\x1a\n")
        assert _pixels(content).std() > 0.05
    else:
        text = content.decode()
        assert "<svg" in text
        assert all(f"{a.name}_grad" in text for a in acts)  # the legend, as text
    assert str(out) in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["no_such_activation"], "unknown activation"),
    (["sigmoid", "--out", "x.gif"], ".png, .svg or .pdf"),
    (["sigmoid", "--range", "5", "-5"], "LO < HI"),
])
def test_plot_errors(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert plot_main(argv) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_large_figures_are_embedded_as_images():
    """Inline SVG for ordinary figures; a dense one (whose SVG would bloat the page)
    becomes a data: image."""
    from matplotlib.figure import Figure

    from fastact.report.figures import MAX_SVG_BYTES, inline

    small = Figure(figsize=(3, 2))
    small.subplots().plot([0, 1], [1, 0])
    assert inline(small, "small").startswith("<svg")
    dense = Figure(figsize=(3, 2))
    xy = np.random.default_rng(0).random((2, 20_000))
    dense.subplots().scatter(*xy, s=2)
    html = inline(dense, "dense", alt='a "dense" scatter')
    assert html.startswith('<img src="data:image/') and 'alt="a &quot;dense&quot; scatter"' in html
    assert len(html) < 2 * MAX_SVG_BYTES
