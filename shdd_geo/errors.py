"""Exceptions raised by shdd_geo."""

from __future__ import annotations

__all__ = ["NotFittedError", "OptionalDependencyError", "ShddGeoError"]


class ShddGeoError(Exception):
    """Base class of the errors specific to shdd_geo."""


class NotFittedError(ShddGeoError, ValueError, AttributeError):
    """An estimator was used before ``fit`` (or ``load``)."""


class OptionalDependencyError(ShddGeoError, ImportError):
    """An optional dependency is missing; the message carries the pip command."""
