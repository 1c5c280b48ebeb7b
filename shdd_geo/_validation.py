"""Declarative parameter checks and the input checks shared by the NumPy and torch paths.

Estimators declare one table of constraints per class (the pattern of
scikit-learn's ``_parameter_constraints``; this is our own small version)::

    _parameter_constraints = {
        "L": [Interval(Integral, 1, 200, closed="both")],
        "loss": [StrOptions({"kl", "l1", "l2", "cosine"})],
        "decay_steps": [Interval(Integral, 1, None, closed="left"), None],
    }

and call :func:`validate_params` in ``fit``.  A value that satisfies none of
its constraints raises ``TypeError`` when its type fits none of them and
``ValueError`` otherwise; the message names the argument, what is allowed and
what arrived.  Functions use the helpers (:func:`check_int`,
:func:`check_real`, :func:`check_option`, :func:`as_real_array`,
:func:`check_tensor`, :func:`check_nbytes`) instead of hand-written
``isinstance`` chains.

Examples
--------
>>> validate_params({"k": 0}, {"k": [Interval(Integral, 1, None, closed="left")]}, caller="KNN")
Traceback (most recent call last):
...
ValueError: KNN: `k` must be an int in the range [1, inf); got 0
>>> check_int(3, "k", low=1)
3
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = [
    "Interval",
    "Options",
    "StrOptions",
    "TupleOf",
    "as_real_array",
    "check_bool",
    "check_int",
    "check_nbytes",
    "check_option",
    "check_real",
    "check_real_values",
    "check_tensor",
    "format_bytes",
    "memory_limit_bytes",
    "validate_params",
]


def _short(value: Any, n: int = 60) -> str:
    r = repr(value)
    return r if len(r) <= n else r[: n - 3] + "..."


# ----------------------------------------------------------------- constraints
class _Constraint:
    """One allowed kind of value; ``type_ok`` decides TypeError vs ValueError."""

    def type_ok(self, value: Any) -> bool:
        return self.is_satisfied_by(value)

    def is_satisfied_by(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


class Interval(_Constraint):
    """Numbers of ``type`` (``Integral`` or ``Real``) between ``left`` and ``right``.

    ``None`` as a bound means unbounded; ``closed`` is ``"both"``, ``"left"``,
    ``"right"`` or ``"neither"``.  Booleans are never numbers here, and NaN
    or infinity never satisfies a ``Real`` interval.

    Examples
    --------
    >>> Interval(Real, 0, None, closed="neither").is_satisfied_by(0.0)
    False
    >>> str(Interval(Integral, 1, 200, closed="both"))
    'an int in the range [1, 200]'
    """

    def __init__(self, type: type, left: float | None, right: float | None, *, closed: str = "both") -> None:
        if type not in (Integral, Real):
            raise TypeError(f"`type` must be numbers.Integral or numbers.Real, got {type!r}")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"`closed` must be 'both', 'left', 'right' or 'neither', got {closed!r}")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def type_ok(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        return isinstance(value, Integral) if self.type is Integral else isinstance(value, Real)

    def is_satisfied_by(self, value: Any) -> bool:
        if not self.type_ok(value):
            return False
        if self.type is Real and not math.isfinite(value):  # NaN and inf never qualify
            return False
        lo_in = self.closed in ("both", "left")
        hi_in = self.closed in ("both", "right")
        if self.left is not None and not (value >= self.left if lo_in else value > self.left):
            return False
        if self.right is not None and not (value <= self.right if hi_in else value < self.right):
            return False
        return True

    def __str__(self) -> str:
        kind = "an int" if self.type is Integral else "a real number"
        lo = "-inf" if self.left is None else f"{self.left}"
        hi = "inf" if self.right is None else f"{self.right}"
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        return f"{kind} in the range {lb}{lo}, {hi}{rb}"


class Options(_Constraint):
    """One of the values ``options``, all of type ``type``.

    Examples
    --------
    >>> Options(Real, {0.5, 1.0}).is_satisfied_by(1.0)
    True
    """

    def __init__(self, type: type, options: Iterable) -> None:
        self.type, self.options = type, frozenset(options)

    def type_ok(self, value: Any) -> bool:
        return isinstance(value, self.type) and not isinstance(value, (bool, np.bool_)) or (
            self.type is bool and isinstance(value, (bool, np.bool_)))

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return self.type_ok(value) and value in self.options
        except TypeError:  # unhashable
            return False

    def __str__(self) -> str:
        return f"one of {sorted(self.options, key=repr)}"


class StrOptions(Options):
    """A string among ``options``.

    Examples
    --------
    >>> StrOptions({"kl", "l1"}).is_satisfied_by("l2")
    False
    """

    def __init__(self, options: Iterable[str]) -> None:
        super().__init__(str, options)

    def __str__(self) -> str:
        return f"one of {sorted(self.options)}"


class TupleOf(_Constraint):
    """A tuple or list of ``length`` items, each satisfying ``item``.

    Examples
    --------
    >>> TupleOf(Interval(Real, 0, 1, closed="left"), length=2).is_satisfied_by((0.9, 0.99))
    True
    """

    def __init__(self, item: _Constraint, length: int | None = None) -> None:
        self.item, self.length = item, length

    def type_ok(self, value: Any) -> bool:
        return isinstance(value, (tuple, list)) and all(self.item.type_ok(v) for v in value)

    def is_satisfied_by(self, value: Any) -> bool:
        if not isinstance(value, (tuple, list)) or (self.length is not None and len(value) != self.length):
            return False
        if self.length is None and not value:
            return False
        return all(self.item.is_satisfied_by(v) for v in value)

    def __str__(self) -> str:
        n = "a non-empty" if self.length is None else f"{self.length}"
        return f"a tuple of {n} items, each {self.item}"


class _Named(_Constraint):
    def __init__(self, name: str, test, text: str, type_test=None) -> None:
        self.name, self.test, self.text, self.type_test = name, test, text, type_test

    def type_ok(self, value: Any) -> bool:
        return bool((self.type_test or self.test)(value))

    def is_satisfied_by(self, value: Any) -> bool:
        return bool(self.test(value))

    def __str__(self) -> str:
        return self.text


def _is_torch_generator(value: Any) -> bool:
    t = type(value)
    return t.__module__.startswith("torch") and t.__name__ == "Generator"


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


_NAMED = {
    "boolean": _Named("boolean", lambda v: isinstance(v, (bool, np.bool_)), "a bool"),
    "array-like": _Named("array-like", lambda v: not isinstance(v, (str, bytes)) and (
        hasattr(v, "__array__") or hasattr(v, "__len__")), "array-like"),
    "callable": _Named("callable", callable, "a callable"),
    "random_state": _Named("random_state", lambda v: isinstance(v, (np.random.Generator, np.random.RandomState))
                           or (_is_int(v) and v >= 0), "an int seed >= 0 or a numpy Generator",
                           lambda v: isinstance(v, (np.random.Generator, np.random.RandomState)) or _is_int(v)),
    "generator": _Named("generator", lambda v: _is_torch_generator(v) or (_is_int(v) and v >= 0),
                        "an int seed >= 0 or a torch.Generator", lambda v: _is_torch_generator(v) or _is_int(v)),
}
_NONE = _Named("None", lambda v: v is None, "None")


def _make(c: Any) -> _Constraint:
    if c is None:
        return _NONE
    if isinstance(c, _Constraint):
        return c
    if isinstance(c, str) and c in _NAMED:
        return _NAMED[c]
    if isinstance(c, type):
        return _Named(c.__name__, lambda v, t=c: isinstance(v, t), f"an instance of {c.__name__}")
    raise ValueError(f"unknown constraint {c!r}")


def validate_params(params: Mapping[str, Any], constraints: Mapping[str, list], *, caller: str) -> None:
    """Check every value of ``params`` named in ``constraints`` against its allowed list.

    Raises ``TypeError`` when the value's type fits none of the constraints,
    ``ValueError`` when its type fits but its value does not; both name the
    argument (in backticks), ``caller``, the constraints and what arrived.

    Examples
    --------
    >>> validate_params({"loss": "huber"}, {"loss": [StrOptions({"kl", "l1"})]}, caller="LocDiffusion")
    Traceback (most recent call last):
    ...
    ValueError: LocDiffusion: `loss` must be one of ['kl', 'l1']; got 'huber'
    >>> validate_params({"L": "5"}, {"L": [Interval(Integral, 1, 200)]}, caller="encode")
    Traceback (most recent call last):
    ...
    TypeError: encode: `L` must be an int in the range [1, 200]; got '5' (str)
    """
    for name, allowed in constraints.items():
        if name not in params:
            continue
        value = params[name]
        cs = [_make(c) for c in allowed]
        if any(c.is_satisfied_by(value) for c in cs):
            continue
        text = " or ".join(str(c) for c in cs)
        if any(c.type_ok(value) for c in cs if c is not _NONE):
            raise ValueError(f"{caller}: `{name}` must be {text}; got {_short(value)}")
        raise TypeError(f"{caller}: `{name}` must be {text}; got {_short(value)} ({type(value).__name__})")


# ------------------------------------------------------------- scalar helpers
def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None,
              what: str | None = None) -> int:
    """``value`` as an ``int`` within ``[low, high]`` (bounds optional); bools refused.

    ``what`` replaces the description of the allowed values in the message.

    Examples
    --------
    >>> check_int(0, "k", low=1)
    Traceback (most recent call last):
    ...
    ValueError: `k` must be an int in the range [1, inf); got 0
    """
    c = Interval(Integral, low, high, closed="both")
    if not c.is_satisfied_by(value):
        kind = ValueError if c.type_ok(value) else TypeError
        extra = "" if kind is ValueError else f" ({type(value).__name__})"
        raise kind(f"`{name}` must be {what or c}; got {_short(value)}{extra}")
    return int(value)


def check_real(value: Any, name: str, *, low: float | None = None, high: float | None = None,
               closed: str = "both", unit: str = "", what: str | None = None) -> float:
    """``value`` as a finite ``float`` within the interval (bounds optional).

    ``what`` replaces the description of the allowed values in the message.

    Examples
    --------
    >>> check_real(float("nan"), "guidance_scale")
    Traceback (most recent call last):
    ...
    ValueError: `guidance_scale` must be a finite real number; got nan
    >>> check_real(0, "bandwidth_km", low=0, closed="neither", unit=" [km]")
    Traceback (most recent call last):
    ...
    ValueError: `bandwidth_km` [km] must be a real number in the range (0, inf); got 0
    """
    c = Interval(Real, low, high, closed=closed)
    text = what or (str(c) if (low is not None or high is not None) else "a finite real number")
    if not c.type_ok(value):
        raise TypeError(f"`{name}`{unit} must be {text}; got {_short(value)} ({type(value).__name__})")
    if not (c.is_satisfied_by(value) and math.isfinite(value)):
        raise ValueError(f"`{name}`{unit} must be {text}; got {_short(value)}")
    return float(value)


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a ``bool`` (Python or NumPy bool only).

    Examples
    --------
    >>> check_bool(1, "nest")
    Traceback (most recent call last):
    ...
    TypeError: `nest` must be a bool (True or False); got 1 (int)
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool (True or False); got {_short(value)} ({type(value).__name__})")
    return bool(value)


def check_option(value: Any, name: str, options: Iterable) -> Any:
    """``value`` if it is one of ``options`` (order kept for the message).

    Examples
    --------
    >>> check_option("mean", "point", ("centre", "mode"))
    Traceback (most recent call last):
    ...
    ValueError: `point` must be one of ('centre', 'mode'); got 'mean'
    """
    options = tuple(options)
    try:
        ok = value in options and not isinstance(value, (bool, np.bool_))
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"`{name}` must be one of {options}; got {_short(value)}")
    return value


# -------------------------------------------------------------- array helpers
def _refuse_complex(kind: str, name: str, dtype: Any) -> None:
    if kind == "c":
        raise TypeError(f"`{name}` must be real, got the complex dtype {dtype}; "
                        "pass `.real` (or `abs(...)`) explicitly if that is what you mean")


def as_real_array(x: Any, name: str, *, dtype: Any = np.float64, finite: bool = True,
                  copy: bool = False) -> np.ndarray:
    """``x`` as a real NumPy array of ``dtype``; complex, text and object input refused.

    Torch tensors are detached and moved to the CPU.  With ``finite`` (default)
    NaN/inf raise a ``ValueError`` that gives their count and first index.

    Examples
    --------
    >>> as_real_array([1, 2], "lat").dtype.name
    'float64'
    >>> as_real_array(np.array([1 + 2j]), "coeffs")
    Traceback (most recent call last):
    ...
    TypeError: `coeffs` must be real, got the complex dtype complex128; pass `.real` (or `abs(...)`) explicitly if that is what you mean
    """
    if type(x).__module__.startswith("torch"):
        check_tensor(x, name, finite=False)
        x = x.detach().cpu().numpy()
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"`{name}` must be numeric, got {type(x).__name__}")
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind is None:
        try:
            probe = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{name}` must be a number or an array of numbers, got {type(x).__name__}") from exc
        kind, dt = probe.dtype.kind, probe.dtype
    else:
        dt = x.dtype
    _refuse_complex(kind, name, dt)
    if kind in ("U", "S", "V"):
        raise TypeError(f"`{name}` must be numeric, got dtype {dt}")
    try:
        arr = np.array(x, dtype=dtype, copy=True) if copy else np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a number or an array of numbers, got {type(x).__name__}") from exc
    if finite:
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"`{name}` must be finite, got {int(bad.sum())} NaN/inf value(s) "
                             f"(first at index {int(np.flatnonzero(bad.ravel())[0])})")
    return arr


def check_real_values(values: Any, name: str = "values") -> None:
    """Refuse complex arrays or tensors (their imaginary part would be dropped silently).

    Examples
    --------
    >>> check_real_values(np.zeros(3, complex))
    Traceback (most recent call last):
    ...
    TypeError: `values` must be real, got the complex dtype complex128; pass `.real` (or `abs(...)`) explicitly if that is what you mean
    """
    dt = getattr(values, "dtype", None)
    if dt is None:
        if isinstance(values, complex):
            _refuse_complex("c", name, "complex")
        try:
            dt = np.asarray(values).dtype
        except (TypeError, ValueError):
            return
    if getattr(dt, "is_complex", False) is True:  # a torch dtype
        _refuse_complex("c", name, dt)
    if isinstance(dt, np.dtype):
        _refuse_complex(dt.kind, name, dt)


def check_tensor(t: Any, name: str, *, finite: bool = True, low: float | None = None,
                 high: float | None = None, unit: str = "") -> None:
    """Torch twin of the NumPy checks: real floating dtype, finite, within [low, high].

    Examples
    --------
    >>> import torch
    >>> check_tensor(torch.tensor([91.0]), "lat", low=-90, high=90, unit=" degrees")
    Traceback (most recent call last):
    ...
    ValueError: `lat` must be within [-90, 90] degrees, got min=91, max=91
    """
    if t.is_complex():
        _refuse_complex("c", name, t.dtype)
    if t.numel() == 0 or not (finite or low is not None or high is not None):
        return
    t = t.detach()
    ok = t.isfinite().all() if finite else t.new_ones((), dtype=bool)
    if low is not None:
        ok = ok & (t >= low).all()
    if high is not None:
        ok = ok & (t <= high).all()
    if bool(ok):  # one device sync on the good path
        return
    bad = ~t.isfinite()
    if finite and bool(bad.any()):
        first = int(bad.reshape(-1).nonzero()[0, 0])
        raise ValueError(f"`{name}` must be finite, got {int(bad.sum())} NaN/inf value(s) (first at index {first})")
    lo, hi = float(t.min()), float(t.max())
    lo_s, hi_s = ("-inf" if low is None else f"{low:g}"), ("inf" if high is None else f"{high:g}")
    raise ValueError(f"`{name}` must be within [{lo_s}, {hi_s}]{unit}, got min={lo:.6g}, max={hi:.6g}")


# -------------------------------------------------------------- memory checks
def memory_limit_bytes() -> int:
    """The machine's physical memory in bytes (``2**40`` when it cannot be read).

    Examples
    --------
    >>> memory_limit_bytes() > 2**20
    True
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 2**40


def format_bytes(n: float) -> str:
    """Human-readable size: ``format_bytes(3 * 2**30) == '3 GiB'``.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(1.5e18)
    ('3 GiB', '1.3 EiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if n >= 100 else f"{n:.3g} {unit}"
        n /= 1024
    return ""  # not reached


def check_nbytes(nbytes: float, name: str, value: Any, *, what: str, fix: str = "") -> None:
    """Refuse a call whose output would need more than the machine's memory.

    ``nbytes`` is computed by the caller before allocating; the message names
    the argument, its value and the size.

    Examples
    --------
    >>> check_nbytes(2.0**70, "L", 10**5, what="the SH basis")
    Traceback (most recent call last):
    ...
    ValueError: `L`=100000 would need 1024 EiB for the SH basis, more than this machine's ... of memory
    """
    limit = memory_limit_bytes()
    if nbytes > limit:
        hint = f"; {fix}" if fix else ""
        raise ValueError(f"`{name}`={_short(value)} would need {format_bytes(nbytes)} for {what}, "
                         f"more than this machine's {format_bytes(limit)} of memory{hint}")
