"""Atomic file writes: a temporary file beside the target, then ``os.replace``.

On any error (including KeyboardInterrupt) the temporary file is removed and
an existing target is left untouched, so no partial file is ever visible.
The new file gets the permissions an ordinary ``open(path, "w")`` would give
it (``0o666`` less the process umask), or those of the file it replaces; a
symbolic link at ``path`` is replaced by the file, never written through.
Temporary files (and the folders of :func:`temp_dir_beside`) that a killed
writer left behind (``.NAME.PID.*.tmp`` of a process that no longer runs)
are removed by the next write of ``NAME``.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable

__all__ = ["atomic_write", "default_file_mode", "temp_dir_beside"]

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux: /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore (brief; serialised within this process)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """Permissions of a newly created file: ``0o666`` less the umask (``0o644`` for umask 022).

    Examples
    --------
    >>> 0 <= default_file_mode() <= 0o666
    True
    """
    return 0o666 & ~_umask()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (owned by someone else) or cannot tell: keep its files
    return True


def _remove_stale_temps(parent: str, base: str) -> None:
    """Remove ``.{base}.{pid}.*.tmp`` files of writers that are no longer running."""
    prefix = f".{base}."
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            stale = os.path.join(parent, name)
            try:
                if os.path.isdir(stale) and not os.path.islink(stale):
                    shutil.rmtree(stale)  # a writer's private folder (see temp_dir_beside)
                else:
                    os.remove(stale)
            except OSError:
                pass


def temp_dir_beside(tmp: str) -> tempfile.TemporaryDirectory:
    """A private folder next to ``atomic_write``'s temporary file ``tmp``, cleaned like it after a kill.

    For writers that need a folder (OGR picks drivers by file name).

    Examples
    --------
    >>> import os, pathlib, tempfile
    >>> tmp = os.path.join(tempfile.mkdtemp(), f".a.gpkg.{os.getpid()}.x1.tmp")
    >>> with temp_dir_beside(tmp) as folder:
    ...     os.path.basename(folder).startswith(os.path.basename(tmp)[:-4])
    True
    """
    name = os.path.basename(tmp)
    return tempfile.TemporaryDirectory(dir=os.path.dirname(tmp) or ".", prefix=name[:-4] + ".",
                                       suffix=".tmp")


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
    if os.path.isdir(path) and not os.path.islink(path):
        raise IsADirectoryError(f"`path` {path!r} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"cannot write `path` {path!r}: directory {parent!r} does not exist")
    base = os.path.basename(path)
    _remove_stale_temps(parent, base)
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{base}.{os.getpid()}.", suffix=".tmp")
    except OSError as exc:
        raise PermissionError(f"cannot write `path` {path!r}: {exc.strerror or exc}") from exc
    os.close(fd)
    try:
        write(tmp)
        try:  # the mode of the file being replaced (not of a link's target), else open()'s default
            st = os.lstat(path)
            mode = stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else default_file_mode()
        except FileNotFoundError:
            mode = default_file_mode()
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
