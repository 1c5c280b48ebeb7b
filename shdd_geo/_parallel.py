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
import sys
from collections.abc import Callable, Iterable, Iterator

__all__ = ["can_fork", "forked_map"]

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
