"""Shared plumbing of the baselines: input checks, fitted state, torch helpers."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from numbers import Integral, Real

from .. import _validation
from .._progress import progress_bar
from .._validation import Interval, TupleOf, check_option, check_real_values, validate_params
from ..coords import as_latlon
from ..errors import NotFittedError

__all__ = ["BaseGeolocator", "check_embeddings"]


def check_embeddings(X: Any, *, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """Validate a 2-D array of embeddings and return it as C-contiguous float32.

    Examples
    --------
    >>> check_embeddings([[1.0, 0.0]]).dtype.name
    'float32'
    """
    if type(X).__module__.startswith("torch"):
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a 2-D numeric array, got {type(X).__name__} ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"`{name}` must be a 2-D numeric array, got dtype {arr.dtype}")
    check_real_values(arr, name)
    if arr.ndim != 2:
        hint = " (reshape a single row with X[None, :])" if arr.ndim == 1 else ""
        raise ValueError(f"`{name}` must be 2-D (n_samples, n_features), got shape {arr.shape}{hint}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"`{name}` is empty (shape {arr.shape}); pass at least one row and column")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"`{name}` has {arr.shape[1]} features, but the model was fitted with {n_features}"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))[:5].tolist()
        raise ValueError(f"`{name}` contains NaN or inf (rows {bad}...)")
    return arr


def check_int(value: Any, name: str, low: int = 1) -> int:
    """``value`` as an int ``>= low`` (default 1), else a TypeError/ValueError naming ``name``."""
    return _validation.check_int(value, name, low=low)


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError naming ``name``."""
    return check_option(value, name, choices)


_POSITIVE_INT = Interval(Integral, 1, None, closed="left")

#: Constraints shared by the torch baselines (see shdd_geo._validation).
TRAINING_CONSTRAINTS: dict[str, list] = {
    "hidden": [_POSITIVE_INT, TupleOf(_POSITIVE_INT)],
    "epochs": [_POSITIVE_INT],
    "batch_size": [_POSITIVE_INT],
    "lr": [Interval(Real, 0, None, closed="left")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "random_state": [Interval(Integral, 0, None, closed="left"), None],
    "verbose": ["boolean"],
}


class BaseGeolocator:
    """Common behaviour: ``fit(X, lat, lon) -> self``, ``predict(X) -> (lat, lon)``.

    Subclasses implement ``_fit(X, lat, lon)`` and ``_predict(X)``; this class
    validates inputs, records ``n_features_in_`` and raises
    :class:`~shdd_geo.errors.NotFittedError` before ``fit``.
    """

    _fitted_attr = "n_features_in_"
    #: Allowed values of each constructor argument, checked by ``fit``.
    _parameter_constraints: dict[str, list] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("predict_field")
        if own is not None and not hasattr(own, "_raw_field"):
            cls.predict_field = _attaching_levels(own)  # every baseline's maps carry its conformal levels

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def get_params(self) -> dict[str, Any]:
        """The constructor's keyword arguments, as stored."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def fit(self, X: Any, lat: Any, lon: Any) -> BaseGeolocator:
        """Fit on embeddings ``X`` (n, d) and locations ``lat``, ``lon`` [deg]; returns ``self``."""
        X = check_embeddings(X)
        lat_a, lon_a = as_latlon(lat, lon)
        if lat_a.shape[0] != X.shape[0]:
            raise ValueError(
                f"`X` has {X.shape[0]} rows but `lat`/`lon` have {lat_a.shape[0]}; pass one location per row"
            )
        self._validate_params()
        self.n_features_in_ = X.shape[1]
        self._fit(X, lat_a, lon_a)
        return self

    def predict(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predicted ``(lat, lon)`` [deg] float64 arrays, one per row of ``X``."""
        return self._predict(self._check_X(X))

    def calibrate(self, X: Any, lat: Any, lon: Any, *, progress: bool | None = None, batch_size: int = 256,
                  **field_kwargs: Any) -> BaseGeolocator:
        """Fit conformal credible levels (``conformal_``) on held-out rows; returns ``self``.

        Scores each truth ``(lat, lon)`` [deg] under the model's own map of its
        row of ``X`` (``predict_field(X, **field_kwargs)``, e.g. ``nside=32``)
        and stores the :class:`~shdd_geo.calibration.ConformalLevels`.
        :meth:`predict_field` then attaches them to every map it draws with the
        same keyword arguments (any ``nside``), so that
        ``field.credible_region(0.9)`` contains the truth for at least 90 % of
        new queries exchangeable with these rows (split conformal prediction).
        Use rows not seen in training, and hundreds of them.  When test places
        lie in regions without training data, calibrate on such regions too
        (rows of :func:`shdd_geo.datasets.spatial_split`'s ``val`` cells for a
        model fitted on its ``train`` cells); calibration on places near
        training data then under-covers.
        Maps with zero-density pixels (a :class:`~shdd_geo.baselines.CellClassifier` without
        ``uniform_weight``) cannot cover truths there at any level: calibrate
        and predict with ``uniform_weight > 0``.

        The baselines have no file format of their own: ``conformal_`` is a
        plain attribute, kept in memory and by ``pickle``.  The maps are drawn
        ``batch_size`` rows at a time (bounded memory), with a progress bar
        (``progress``: default only when the call runs longer than a few
        seconds).

        Examples
        --------
        >>> from shdd_geo.baselines import KNNRetrieval
        >>> rng = np.random.default_rng(0)
        >>> X, lat, lon = rng.normal(size=(300, 4)), rng.uniform(-60, 60, 300), rng.uniform(-180, 180, 300)
        >>> knn = KNNRetrieval(k=5).fit(X[:200], lat[:200], lon[:200]).calibrate(X[200:], lat[200:], lon[200:], nside=8)
        >>> knn.conformal_.n
        100
        >>> "credible_level_map" in knn.predict_field(X[:2], nside=8).attrs
        True
        """
        from ..calibration import ConformalLevels

        self._check_fitted()
        if not hasattr(self, "predict_field"):
            raise TypeError(f"{type(self).__name__} draws no maps (`predict_field`); it has nothing to calibrate")
        lat_a, lon_a = as_latlon(lat, lon)
        X = self._check_X(X)
        if lat_a.shape[0] != X.shape[0]:
            raise ValueError(
                f"`X` has {X.shape[0]} rows but `lat`/`lon` have {lat_a.shape[0]}; pass one location per row"
            )
        batch_size = check_int(batch_size, "batch_size")
        raw = self.predict_field._raw_field  # type: ignore[attr-defined]
        scores = []
        with progress_bar(X.shape[0], "calibrating", unit="row", progress=progress) as bar:
            for lo in range(0, X.shape[0], batch_size):
                sl = slice(lo, lo + batch_size)
                scores.append(ConformalLevels.fit(raw(self, X[sl], **field_kwargs), lat_a[sl], lon_a[sl]).scores)
                bar.update(len(scores[-1]))
        self.conformal_ = ConformalLevels(np.concatenate(scores))
        self.conformal_params_ = _field_params(raw, (), field_kwargs)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attr):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call `fit(X, lat, lon)` first"
            )

    def _check_X(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return check_embeddings(X, n_features=self.n_features_in_)

    def _validate_params(self) -> None:
        """Check the constructor arguments against ``_parameter_constraints`` (subclasses add cross-checks)."""
        validate_params(self.get_params(), self._parameter_constraints, caller=type(self).__name__)

    def _fit(self, X: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError


def _field_params(fn: Callable, args: tuple = (), kwargs: dict | None = None) -> dict:
    """The arguments of a ``predict_field(self, X, ...)`` call that shape the map (all but ``X`` and ``nside``)."""
    bound = inspect.signature(fn).bind(None, None, *args, **(kwargs or {}))
    bound.apply_defaults()
    names = list(bound.arguments)[2:]  # self, X
    return {k: bound.arguments[k] for k in names if k != "nside"}


def _attaching_levels(fn: Callable) -> Callable:
    """``predict_field`` that attaches the model's conformal levels to maps drawn as they were calibrated."""

    @functools.wraps(fn)
    def predict_field(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        field = fn(self, X, *args, **kwargs)
        levels = getattr(self, "conformal_", None)
        if levels is not None and _field_params(fn, args, kwargs) == getattr(self, "conformal_params_", None):
            field = levels.apply(field)
        return field

    predict_field._raw_field = fn  # type: ignore[attr-defined]
    return predict_field


@contextlib.contextmanager
def torch_seeded(seed: int) -> Iterator[Any]:
    """Run a block with torch's CPU RNG seeded, restoring the global state after.

    Yields a ``torch.Generator`` seeded with ``seed`` for explicit use.
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield torch.Generator().manual_seed(seed)


def minibatches(n: int, batch_size: int, generator: Any) -> Iterator[Any]:
    """Shuffled index tensors covering ``range(n)`` in batches (last one may be short)."""
    import torch

    perm = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        yield perm[start : start + batch_size]


def mlp(d_in: int, hidden: tuple[int, ...], d_out: int, dropout: float = 0.0) -> Any:
    """``Linear -> ReLU -> Dropout`` blocks ending in a plain ``Linear``."""
    from torch import nn

    layers: list[Any] = []
    width = d_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


def check_hidden(hidden: Any) -> tuple[int, ...]:
    """Validate a tuple of hidden layer widths."""
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        out = tuple(check_int(h, "hidden") for h in hidden)
    except TypeError:
        raise TypeError(f"`hidden` must be a tuple of ints, got {hidden!r}") from None
    return out


def seed_of(random_state: int | None) -> int:
    """A concrete seed: ``random_state`` or a fresh one from OS entropy."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**31))
    return int(random_state)


def predict_in_batches(fn: Any, X: np.ndarray, batch_size: int = 8192) -> Any:
    """Apply ``fn`` to row blocks of ``X`` and concatenate (NumPy results)."""
    parts = [fn(X[i : i + batch_size]) for i in range(0, X.shape[0], batch_size)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts))
    return np.concatenate(parts)
