"""Atomic file writes: a temporary file beside the target, then ``os.replace``.

On any error (including KeyboardInterrupt) the temporary file is removed and
an existing target is left untouched, so no partial file is ever visible.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

__all__ = ["atomic_write"]


def atomic_write(path, write: Callable[[str], None]) -> str:
    """Run ``write(tmp)`` on a temporary file beside ``path``, fsync it, then rename it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = atomic_write(target, lambda tmp: pathlib.Path(tmp).write_text("hi"))
    >>> target.read_text()
    'hi'
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise IsADirectoryError(f"`path` {path!r} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"cannot write `path` {path!r}: directory {parent!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as exc:
        raise PermissionError(f"cannot write `path` {path!r}: {exc.strerror or exc}") from exc
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
