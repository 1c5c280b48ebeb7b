"""Fixtures shared by the tests of shdd_geo.io.netcdf and shdd_geo.io.geojson."""

from __future__ import annotations

import pytest

from shdd_geo import codec
from shdd_geo.fields import SphericalField


@pytest.fixture(scope="module")
def batch():
    """Three fields with labels: Paris, Sydney and one next to the north pole."""
    e = codec.encode([48.86, -33.9, 89.5], [2.35, 151.2, 0.0], 15)
    return SphericalField.from_shdd(e, nside=16, labels=["paris", "sydney", "pole"])
