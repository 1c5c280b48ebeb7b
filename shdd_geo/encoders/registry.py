"""Encoders by name: ``get_encoder("minilm" | "efficientnet-lite0" | "clip", **kw)``.

Examples
--------
>>> from shdd_geo.encoders.registry import available_encoders, get_encoder
>>> available_encoders()
('clip', 'efficientnet-lite0', 'minilm')
>>> get_encoder("efficientnet-lite0", device="cpu").dim
1280
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["available_encoders", "get_encoder"]


def _minilm(**kw: Any) -> Any:
    from .text import TextEncoder

    return TextEncoder(**kw)


def _effnet(**kw: Any) -> Any:
    from .image import EfficientNetLite0Encoder

    return EfficientNetLite0Encoder(**kw)


def _clip(**kw: Any) -> Any:
    from .image import CLIPImageEncoder

    return CLIPImageEncoder(**kw)


_REGISTRY: dict[str, tuple[Callable[..., Any], str]] = {
    "minilm": (_minilm, "MiniLM (all-MiniLM-L6-v2) text encoder, 384-d, bundled weights"),
    "efficientnet-lite0": (
        _effnet,
        "EfficientNet-lite0 ImageNet image features, 1280-d, bundled weights",
    ),
    "clip": (_clip, "CLIP image tower from local weights: get_encoder('clip', path='DIR')"),
}
_ALIASES = {
    "text": "minilm",
    "all-minilm-l6-v2": "minilm",
    "efficientnet": "efficientnet-lite0",
    "effnet": "efficientnet-lite0",
    "efficientnet_lite0": "efficientnet-lite0",
    "clip-image": "clip",
}


def available_encoders() -> tuple[str, ...]:
    """Sorted canonical encoder names.

    Examples
    --------
    >>> "clip" in available_encoders()
    True
    """
    return tuple(sorted(_REGISTRY))


def get_encoder(name: str, **kwargs: Any) -> Any:
    """Create an encoder by name; keyword arguments go to its constructor.

    Parameters
    ----------
    name : str
        ``"minilm"`` (:class:`~shdd_geo.encoders.text.TextEncoder`),
        ``"efficientnet-lite0"``
        (:class:`~shdd_geo.encoders.image.EfficientNetLite0Encoder`) or
        ``"clip"`` (:class:`~shdd_geo.encoders.image.CLIPImageEncoder`; pass
        ``path=`` to local weights).  Case-insensitive; a few aliases
        (``"effnet"``, ``"text"``) are accepted.
    **kwargs
        Constructor options, e.g. ``device="cuda"``, ``path="clip-vit-l14"``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    TypeError
        If ``name`` is not a string.

    Examples
    --------
    >>> get_encoder("EfficientNet-Lite0").name.startswith("efficientnet-lite0")
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        known = ", ".join(f"{k!r} ({d})" for k, (_, d) in sorted(_REGISTRY.items()))
        raise ValueError(f"unknown encoder `name` {name!r}; choose one of: {known}")
    factory, _ = _REGISTRY[key]
    return factory(**kwargs)
