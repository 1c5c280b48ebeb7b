"""Argument types and path checks of the ``shdd-geo`` command line (used by :mod:`shdd_geo.cli`).

Every check raises :class:`UsageError` with a message that names the option;
``main`` prints it as one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["POSITIVE", "HelpFormatter", "Parser", "UsageError", "float_in", "format_list", "in_file", "int_at_least",
           "non_negative_int", "npy_shape", "nside", "out_dir", "out_file", "read_lines"]


class UsageError(Exception):
    """A bad argument, found before any work starts: one line on stderr, exit code 2."""

    def __init__(self, message: str, prog: str | None = None):
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` (one line, no usage dump) instead of exiting."""

    def error(self, message):
        raise UsageError(message, self.prog)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` after every option with a default, unless its help already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or not action.option_strings or action.default is None
                or action.default is False or action.default is argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


# ---- argument types: a bad value is a usage error naming its option ------------------------------------------
def int_at_least(low: int):
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value!r}") from None
        if n < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {n}")
        return n

    parse.__name__ = f"integer >= {low}"
    return parse


def float_in(low: float, high: float = math.inf, *, high_open: bool = False, low_open: bool = False):
    def parse(value: str) -> float:
        try:
            x = float(value)
        except ValueError:
            x = math.nan
        ok = (x > low if low_open else x >= low) and (x < high if high_open else x <= high)
        if not ok:  # NaN fails every comparison
            lo, hi = "(" if low_open else "[", ")" if high_open or high == math.inf else "]"
            raise argparse.ArgumentTypeError(f"must be a number in {lo}{low:g}, {high:g}{hi}, got {value!r}")
        return x

    return parse


POSITIVE = float_in(0.0, low_open=True)


def nside(value: str) -> int:
    n = int_at_least(1)(value)
    if n & (n - 1) or n > 8192:
        raise argparse.ArgumentTypeError(f"must be a power of 2 from 1 to 8192 (HEALPix), got {n}")
    return n


def format_list(choices: tuple[str, ...], *, allow_none: bool = False):
    """An argparse type: a non-empty comma list of ``choices`` (or ``none``, an empty list, if allowed)."""
    def parse(value: str) -> list[str]:
        if allow_none and value.strip().lower() == "none":
            return []
        fmts = [f.strip().lower() for f in value.split(",") if f.strip()]
        bad = [f for f in fmts if f not in choices]
        if bad or not fmts:
            raise argparse.ArgumentTypeError(f"unknown format(s) {','.join(bad) or '(empty)'}; "
                                             f"choose from {','.join(choices)}" + (" or none" if allow_none else ""))
        return fmts

    return parse




def non_negative_int(value: str) -> int:
    return int_at_least(0)(value)


# ---- paths: checked before any model is loaded ----------------------------------------------------------------
def in_file(path: str, opt: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{opt} {path!r} does not exist")
    if not p.is_file():
        raise UsageError(f"{opt} {path!r} is not a file")
    if not os.access(p, os.R_OK):
        raise UsageError(f"{opt} {path!r} is not readable")
    return p


def writable_dir(folder: Path, opt: str, path: str) -> None:
    """``folder`` (existing) accepts new files: probed by creating one (works for root and read-only mounts)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"{opt} {path!r}: cannot write in {str(folder)!r} ({exc.strerror or exc})") from None


def out_dir(path: str, opt: str = "--out") -> Path:
    """An output folder: an existing writable folder, or one that can be created."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{opt} {path!r} is a file, not a folder; give a folder for the outputs")
    top = p
    while not top.exists():  # the nearest existing ancestor must be a writable folder
        top = top.parent
    if not top.is_dir():
        raise UsageError(f"{opt} {path!r}: {str(top)!r} is a file, not a folder")
    writable_dir(top, opt, path)
    return p


def out_file(path: str, opt: str = "--out") -> Path:
    """An output file: not a folder, in an existing writable folder."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{opt} {path!r} is a folder; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{opt} {path!r}: folder {str(parent)!r} does not exist; create it first")
    writable_dir(parent, opt, path)
    return p


def read_lines(path: str, opt: str = "--input") -> list[str]:
    """Non-empty lines of a UTF-8 text file."""
    p = in_file(path, opt)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{opt} {path!r} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def npy_shape(path: str, opt: str) -> tuple:
    """Shape of a real numeric ``.npy`` (header only; the data is not read)."""
    p = in_file(path, opt)
    try:
        arr = np.load(p, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UsageError(f"{opt} {path!r} is not a readable .npy array ({' '.join(str(exc).split())})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise UsageError(f"{opt} {path!r} must hold a real numeric array, got dtype {getattr(arr, 'dtype', '?')}")
    return arr.shape
