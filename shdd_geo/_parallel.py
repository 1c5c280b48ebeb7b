"""Ordered work over forked processes: how a long batch of ``locate`` uses every free core.

Threads do not speed up the per-input steps of ``locate`` (small NumPy
operations that hold the GIL), and the denoiser's batch gains little from a
second BLAS thread; separate processes, one thread each, do: about 1.9x the
names per second on two cores.  Workers are **forked**, so they inherit the
loaded model and gazetteers (no reload, pages shared until written) and the
work function is never pickled; only the chunks and the results cross between
processes.  Forking is offered on Linux only, and not from a daemonic process
(a ``multiprocessing`` or Dask worker), where :func:`can_fork` is False and
callers run in-process instead.

Examples
--------
>>> if can_fork():
...     out = list(forked_map(lambda chunk: [x * x for x in chunk], [[1, 2], [3]], processes=2))
... else:
...     out = [[1, 4], [9]]
>>> out
[[1, 4], [9]]
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator

from ._threads import available_cores, choose_threads, free_cores

__all__ = ["can_fork", "forked_map", "free_cores_now", "process_budget"]

_WORK: Callable | None = None  # the work function of this worker, set by the pool's initializer


def can_fork() -> bool:
    """True where :func:`forked_map` may start processes: Linux, not inside a daemonic process.

    Examples
    --------
    >>> isinstance(can_fork(), bool)
    True
    """
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


def _cpu_times(cpus) -> tuple[int, int] | None:
    """(busy, total) jiffies of the CPUs ``cpus`` from ``/proc/stat``; None where it cannot be read."""
    try:
        with open("/proc/stat") as f:
            lines = [ln.split() for ln in f if ln.startswith("cpu") and ln[3:4].isdigit()]
    except OSError:
        return None
    busy = total = 0
    for fields in lines:
        if int(fields[0][3:]) in cpus:
            v = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
            total += sum(v)
            busy += sum(v) - v[3] - v[4]
    return (busy, total) if total else None


def free_cores_now(window_s: float = 0.1) -> int:
    """Cores of this process's set left idle by the others over the next ``window_s`` seconds (Linux's
    ``/proc/stat``; elsewhere :func:`~shdd_geo._threads.free_cores`, from the load average).

    Unlike the one-minute load average, it sees a process that has just started or stopped: a batch
    chooses its processes once, at its start, and should not be misled by the last minute.

    Examples
    --------
    >>> 1 <= free_cores_now(0.05) <= available_cores()
    True
    """
    try:
        cpus = os.sched_getaffinity(0)
    except (AttributeError, OSError):  # pragma: no cover - macOS / Windows
        return free_cores()
    own0, first = time.process_time(), _cpu_times(cpus)
    time.sleep(window_s)
    own1, second = time.process_time(), _cpu_times(cpus)
    if first is None or second is None or second[1] <= first[1]:
        return free_cores()
    share = (second[0] - first[0]) / (second[1] - first[1])  # busy fraction of our CPUs
    own = (own1 - own0) / window_s  # this process's cores over the window (other threads of ours)
    others = max(0.0, share * len(cpus) - own)
    return int(min(available_cores(), max(1, len(cpus) - int(others + 0.5))))


def process_budget(threads: int | None = None) -> int:
    """How many cores a batch may use: ``threads``, else ``$OMP_NUM_THREADS``, else :func:`free_cores_now`.

    Examples
    --------
    >>> process_budget(3)
    3
    """
    if threads is not None or os.environ.get("OMP_NUM_THREADS", "").strip():
        return choose_threads(threads)
    return free_cores_now()


def _set_work(fn: Callable) -> None:
    global _WORK
    _WORK = fn


def _run(chunk):
    return _WORK(chunk)


def forked_map(fn: Callable, chunks: Iterable, processes: int) -> Iterator:
    """``fn(chunk)`` for each chunk in ``processes`` forked workers, the results in input order.

    ``fn`` reaches the workers by the fork itself (a closure or a bound method
    of a large object is fine); each chunk and result is pickled.  Closing the
    iterator early stops the workers.

    Raises
    ------
    RuntimeError
        Where processes cannot be forked (see :func:`can_fork`).
    """
    if not can_fork():
        raise RuntimeError("forked workers need Linux and a non-daemonic process; run in-process instead")
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(int(processes), initializer=_set_work, initargs=(fn,)) as pool:
        yield from pool.imap(_run, chunks)
