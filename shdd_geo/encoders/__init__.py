"""Condition encoders: turn raw inputs (text, ...) into fixed-size embeddings.

Examples
--------
>>> from shdd_geo.encoders import TextEncoder
>>> TextEncoder().dim
384
"""

from __future__ import annotations

from .image import CLIPImageEncoder, EfficientNetLite0Encoder, ImageEncoder
from .registry import available_encoders, get_encoder
from .text import TextEncoder

__all__ = [
    "CLIPImageEncoder",
    "EfficientNetLite0Encoder",
    "ImageEncoder",
    "TextEncoder",
    "available_encoders",
    "get_encoder",
]
