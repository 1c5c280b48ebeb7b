"""Progress bars of long calls: one policy for the whole package.

Every call that can run for more than a few seconds (sampling, drawing maps,
evaluation, calibration, training, batch ``locate``) takes ``progress``:

- ``None`` (the default): a bar appears only once the call has run for
  :data:`DELAY_S` seconds, so quick calls stay silent and long ones report;
- ``True``: a bar from the start;
- ``False``: never a bar.

Bars go to standard error (:mod:`tqdm.auto`: a widget in notebooks) and are
removed when the call ends.  A call that shows a bar passes
``progress=False`` to the calls inside it, so bars never nest.  Without
:mod:`tqdm` (the ``model`` extra) the default shows nothing and
``progress=True`` raises an error that says how to install it.

Examples
--------
>>> with progress_bar(3, "demo", progress=False) as bar:
...     for _ in range(3):
...         bar.update()
>>> bar.n
3
"""

from __future__ import annotations

import inspect
from typing import Any

from ._validation import check_bool

__all__ = ["DELAY_S", "check_progress", "progress_bar", "quiet_kwargs"]

#: Seconds a call with ``progress=None`` runs before its bar appears.
DELAY_S = 2.0


def check_progress(progress: Any) -> bool | None:
    """``progress`` checked: None, True or False (a TypeError naming it otherwise).

    Examples
    --------
    >>> check_progress(None), check_progress(True)
    (None, True)
    >>> check_progress("yes")
    Traceback (most recent call last):
    ...
    TypeError: `progress` must be a bool (True or False); got 'yes' (str)
    """
    return None if progress is None else check_bool(progress, "progress")


class _Silent:
    """The bar used when none can be shown: counts, prints nothing."""

    def __init__(self, total: int | None) -> None:
        self.total, self.n = total, 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_bar(total: int | None, desc: str, *, unit: str = "it", progress: bool | None = None) -> Any:
    """A progress bar over ``total`` units for a call's ``progress`` argument (see the module).

    Use it as a context manager and call ``update(n)``; it is a tqdm bar
    when one may show, else a silent counter with the same methods.
    """
    progress = check_progress(progress)
    if progress is False:
        return _Silent(total)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            from ._optional import attempt_import

            attempt_import("tqdm", "progress bars (or pass progress=False)")
        return _Silent(total)
    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True,
                delay=0.0 if progress else DELAY_S)


def quiet_kwargs(fn: Any) -> dict[str, bool]:
    """``{"progress": False}`` if callable ``fn`` takes a ``progress`` argument, else ``{}``.

    For a call inside a call that shows its own bar (so that bars never nest).

    Examples
    --------
    >>> quiet_kwargs(lambda X, progress=None: X), quiet_kwargs(lambda X: X)
    ({'progress': False}, {})
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {"progress": False} if "progress" in params else {}
