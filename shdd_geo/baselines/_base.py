"""Shared plumbing of the baselines: input checks, fitted state, torch helpers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

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
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"`{name}` must be >= {low}, got {value}")
    return int(value)


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}, got {value!r}")
    return value


class BaseGeolocator:
    """Common behaviour: ``fit(X, lat, lon) -> self``, ``predict(X) -> (lat, lon)``.

    Subclasses implement ``_fit(X, lat, lon)`` and ``_predict(X)``; this class
    validates inputs, records ``n_features_in_`` and raises
    :class:`~shdd_geo.errors.NotFittedError` before ``fit``.
    """

    _fitted_attr = "n_features_in_"

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

    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attr):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call `fit(X, lat, lon)` first"
            )

    def _check_X(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return check_embeddings(X, n_features=self.n_features_in_)

    def _validate_params(self) -> None:  # pragma: no cover - overridden
        pass

    def _fit(self, X: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError


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


def check_training(est: Any) -> None:
    """Validate the common training hyper-parameters of the torch baselines."""
    check_int(est.epochs, "epochs")
    check_int(est.batch_size, "batch_size")
    for name in ("lr", "weight_decay", "dropout"):
        v = getattr(est, name)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not np.isfinite(v) or v < 0:
            raise ValueError(f"`{name}` must be a finite number >= 0, got {v!r}")
    if not 0 <= est.dropout < 1:
        raise ValueError(f"`dropout` must be in [0, 1), got {est.dropout!r}")
    if est.random_state is not None:
        check_int(est.random_state, "random_state", low=0)


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
