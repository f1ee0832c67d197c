"""Drawing the report's figures, on every core.

Drawing is most of a report's time once its data is collected (74 figures, 46 s
of matplotlib on one core of the 2-core development VM), and the figures do not
depend on one another.  A :class:`FigureJob` names what to draw with plain values
(a figure function by its dotted path, an activation by its registry name, the
report's JSON-like data), so that it can travel to another process;
:func:`draw_all` hands the jobs out, one at a time, to this process and to worker
interpreters (``python -m fastact.report.drawing``, jobs and markup pickled over
their pipes) and returns the same markup, byte for byte, as drawing them one after
another in this process: each figure's SVG ids are salted by its own id, not by
the order of drawing.  On 2 cores the 74 figures take 26 s.

Workers are plain subprocesses rather than a ``multiprocessing`` pool: a forked
child would inherit Numba's worker threads mid-state, and a spawned one re-imports
the caller's ``__main__`` (a script without an ``if __name__ == "__main__"`` guard
would run again in every worker).
"""

from __future__ import annotations

import importlib
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: a worker interpreter's start (Python, fastact and matplotlib imports, then what
#: its first figures load) takes about as long as drawing this many figures: 2.8 s
#: to its first figure against 0.62 s per figure on the 2-core development VM.  Jobs
#: get one drawer per this many of them (this process being the first).
FIGURES_PER_WORKER_START = 5


@dataclass(frozen=True)
class FigureJob:
    """One figure to draw: ``maker(*args)``, or ``maker(act, *args)`` with ``act``
    the registry record of that name, as page markup (``alt``: the raster
    fallback's alternative text)."""

    fig_id: str
    maker: str  # dotted path of a function returning a matplotlib Figure
    args: tuple = ()
    act: str | None = None
    alt: str = ""


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def draw(job: FigureJob) -> str:
    """The markup of one figure (:func:`fastact.report.figures.inline`)."""
    from . import figures

    module, name = job.maker.rsplit(".", 1)
    maker = getattr(importlib.import_module(module), name)
    args = (figures.resolve(job.act), *job.args) if job.act is not None else job.args
    return figures.inline(maker(*args), job.fig_id, alt=job.alt)


def draw_all(jobs: Sequence[FigureJob], workers: int | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, str]:
    """The markup of every job, by figure id.  ``workers``: the processes that
    draw, this one included (default: :func:`default_workers`, fewer where there
    are too few jobs to pay for a worker's start); with 1 everything is drawn here.
    ``progress(fig_id)`` is called (from this thread or a feeder thread, one call
    at a time) as each figure is done.  A figure that fails raises its own error
    when drawn here alone, and a RuntimeError with its traceback (after every
    drawer has stopped) when drawn by several."""
    workers = default_workers() if workers is None else max(1, workers)
    workers = min(workers, len(jobs) // FIGURES_PER_WORKER_START)
    done: dict[str, str] = {}
    if workers <= 1:
        for job in jobs:
            done[job.fig_id] = draw(job)
            if progress:
                progress(job.fig_id)
        return done
    pending: queue.SimpleQueue[FigureJob] = queue.SimpleQueue()
    for job in jobs:
        pending.put(job)
    lock = threading.Lock()
    failures: list[str] = []  # figures that failed: the first stops every drawer at its next job
    stopped: list[str] = []  # workers that could not start or died

    def finished(job: FigureJob, markup: str) -> None:
        with lock:
            done[job.fig_id] = markup
            if progress:
                progress(job.fig_id)

    def next_job() -> FigureJob | None:
        if failures:
            return None
        try:
            return pending.get_nowait()
        except queue.Empty:
            return None

    def feed(worker: subprocess.Popen) -> None:
        """Give ``worker`` the next job until none is left (or a figure failed).  A
        worker that cannot start or dies gives its job back to the queue: it costs
        time, not the report (this process draws what is left)."""
        job = None
        try:
            while (job := next_job()) is not None:
                pickle.dump(job, worker.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                worker.stdin.flush()
                ok, result = pickle.load(worker.stdout)
                if not ok:
                    failures.append(f"{job.fig_id}: {result}")
                    return
                finished(job, result)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError) as exc:
            if job is not None:
                pending.put(job)
            stopped.append(f"{exc!r}, exit status {worker.poll()}")

    def draw_here() -> BaseException | None:
        """Draw jobs in this process until none is left; the error of a figure that fails."""
        while (job := next_job()) is not None:
            try:
                markup = draw(job)
            except Exception as exc:  # noqa: BLE001 - raised by draw_all, after the workers stop
                failures.append(f"{job.fig_id}: {traceback.format_exc()}")
                return exc
            finished(job, markup)
        return None

    # This process is one of the drawers (its fastact and matplotlib are warm: a
    # worker's first figures also load what they use); the others are worker
    # interpreters, each fed by a thread here that waits on its pipe without the GIL.
    # Their stderr is this process's: their warnings reach the user, and no undrained
    # pipe can block them.
    procs = []
    for _ in range(workers - 1):
        try:
            procs.append(subprocess.Popen([sys.executable, "-m", "fastact.report.drawing"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE))
        except OSError as exc:  # no interpreter to start (an embedded or frozen Python)
            stopped.append(repr(exc))
    try:
        feeders = [threading.Thread(target=feed, args=(p,), daemon=True) for p in procs]
        for t in feeders:
            t.start()
        error = draw_here()
        for t in feeders:
            t.join()
        error = error or draw_here()  # the jobs of workers that stopped
    finally:
        for p in procs:
            try:
                p.stdin.close()  # end of jobs: the worker returns
            except OSError:  # it has gone already
                pass
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stdout.close()
    if failures:
        raise RuntimeError("drawing the report's figures failed: " + failures[0]) from error
    if stopped:
        warnings.warn(f"{len(stopped)} of {workers - 1} figure worker processes stopped ({stopped[0]}); "
                      "this process drew their figures", RuntimeWarning, stacklevel=2)
    return done


def serve() -> None:
    """A worker: read pickled jobs from stdin until it closes, answer each with a
    pickled ``(True, markup)`` or ``(False, traceback)`` on the original stdout.
    Whatever else would be printed goes to stderr instead of into that stream."""
    import matplotlib

    matplotlib.use("Agg")
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    jobs = sys.stdin.buffer
    while True:
        try:
            job = pickle.load(jobs)
        except EOFError:
            return
        try:
            answer = (True, draw(job))
        except Exception:  # noqa: BLE001 - reported to the parent, which raises
            answer = (False, traceback.format_exc())
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


if __name__ == "__main__":
    serve()
