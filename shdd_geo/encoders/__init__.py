"""Condition encoders: turn raw inputs (text, ...) into fixed-size embeddings.

Examples
--------
>>> from shdd_geo.encoders import TextEncoder
>>> TextEncoder().dim
384
"""

from __future__ import annotations

from .text import TextEncoder

__all__ = ["TextEncoder"]
