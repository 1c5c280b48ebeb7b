"""Exceptions raised by shdd_geo."""

from __future__ import annotations

__all__ = ["NotFittedError", "OptionalDependencyError", "ShddGeoError", "TrainingDivergedError"]


class ShddGeoError(Exception):
    """Base class of the errors specific to shdd_geo.

    Examples
    --------
    >>> issubclass(NotFittedError, ShddGeoError)
    True
    """


class NotFittedError(ShddGeoError, ValueError, AttributeError):
    """An estimator was used before ``fit`` (or ``load``).

    It is also a ``ValueError`` and an ``AttributeError``, like scikit-learn's.

    Examples
    --------
    >>> from shdd_geo.baselines import KNNRetrieval
    >>> try:
    ...     KNNRetrieval().predict([[1.0]])
    ... except NotFittedError as exc:
    ...     print(type(exc).__name__)
    NotFittedError
    """


class OptionalDependencyError(ShddGeoError, ImportError):
    """An optional dependency is missing; the message carries the pip command.

    Examples
    --------
    >>> from shdd_geo._optional import attempt_import
    >>> try:
    ...     attempt_import("no_such_package_xyz")
    ... except OptionalDependencyError as exc:
    ...     print("pip install no_such_package_xyz" in str(exc))
    True
    """


class TrainingDivergedError(ShddGeoError, RuntimeError):
    """Training produced a NaN/inf loss or gradient (usually: the learning rate is too high).

    Raised by ``fit`` before the optimiser step, so neither the weights nor
    the last checkpoint written are touched by the diverged step.

    Examples
    --------
    >>> issubclass(TrainingDivergedError, RuntimeError)
    True
    """
