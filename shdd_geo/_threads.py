"""How many threads a call uses: deliberate, polite on a shared machine.

Torch's and the BLAS's OpenMP pools default to one thread per core and spin
while they wait; with another CPU-bound process on the machine the spinning
threads fight it and a 0.2 s sampling call takes 10 s or more.  The
prediction paths (:class:`~shdd_geo.pretrained.Geolocator`, :func:`shdd_geo.locate`)
therefore run inside :func:`limit_threads`, which picks

1. an explicit ``threads`` (``n_jobs``) argument, else
2. ``$OMP_NUM_THREADS`` when set, else
3. the **free** cores: the cores this process may run on
   (``os.sched_getaffinity``) minus the load the other processes put on them
   (the 1-minute load average, less this process's own recent CPU use),
   at least 1,

and applies it to torch, to the BLAS/OpenMP pools seen by ``threadpoolctl``
(when installed) and to numba, restoring the previous settings afterwards.

Examples
--------
>>> choose_threads(1)
1
>>> with limit_threads(1) as n:
...     n
1
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack, contextmanager

from ._validation import check_int

__all__ = ["available_cores", "choose_threads", "free_cores", "limit_threads"]

_OWN = {"wall": time.monotonic(), "cpu": time.process_time()}  # last reading of this process's CPU use


def available_cores() -> int:
    """Cores this process may run on (``os.sched_getaffinity``, else ``os.cpu_count()``).

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def _own_load() -> float:
    """This process's CPU use (cores) since the last reading, over at most the last minute."""
    now, cpu = time.monotonic(), time.process_time()
    dt = now - _OWN["wall"]
    rate = (cpu - _OWN["cpu"]) / dt if dt > 0.5 else 0.0
    if dt > 0.5:
        _OWN.update(wall=now, cpu=cpu)
    return max(0.0, rate) if dt < 60.0 else 0.0


def free_cores() -> int:
    """Cores not busy with other processes: available cores minus the others' load, at least 1.

    Examples
    --------
    >>> 1 <= free_cores() <= available_cores()
    True
    """
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return cores
    others = max(0.0, load - _own_load())
    return int(min(cores, max(1, cores - int(others + 0.5))))


def _env_threads() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 1 else None


def choose_threads(threads: int | None = None) -> int:
    """The thread count to use: ``threads``, else ``$OMP_NUM_THREADS``, else :func:`free_cores`.

    Raises
    ------
    ValueError
        If ``threads`` is not a positive int (or None).

    Examples
    --------
    >>> choose_threads(2)
    2
    """
    if threads is not None:
        return check_int(threads, "threads", low=1, what="an int >= 1 or None (free cores)")
    return _env_threads() or free_cores()


@contextmanager
def limit_threads(threads: int | None = None):
    """Run the block with :func:`choose_threads` threads in torch, the BLAS pools and numba.

    Only libraries already imported are touched (this never imports torch);
    the previous settings come back on exit.  Yields the thread count.
    """
    n = choose_threads(threads)
    with ExitStack() as stack:
        torch = sys.modules.get("torch")
        if torch is not None:
            old = torch.get_num_threads()
            if old != n:
                torch.set_num_threads(n)
                stack.callback(torch.set_num_threads, old)
        numba = sys.modules.get("numba")
        if numba is not None:
            try:
                old_nb = numba.get_num_threads()
                numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
                stack.callback(numba.set_num_threads, old_nb)
            except (AttributeError, ValueError, RuntimeError):  # pragma: no cover - no threading layer
                pass
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - optional
            pass
        else:
            stack.enter_context(threadpool_limits(limits=n))
        yield n
