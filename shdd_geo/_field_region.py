"""Highest-density credible regions (the result type of ``SphericalField.credible_region``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _field_grid as _grid
from .coords import as_latlon

__all__ = ["CredibleRegion", "check_level"]


def check_level(level) -> float:
    """A credible level as a float strictly inside (0, 1); clear errors otherwise."""
    if isinstance(level, bool) or not isinstance(level, (int, float, np.number)):
        raise TypeError(f"`level` must be a number in (0, 1), got {level!r}")
    lv = float(level)
    if not (0.0 < lv < 1.0):
        raise ValueError(f"`level` must be strictly between 0 and 1 (e.g. 0.9), got {level}")
    return lv


@dataclass(frozen=True, eq=False)
class CredibleRegion:
    """Highest-density credible region(s) of a field at one level.

    Attributes
    ----------
    level : float
        Requested probability in (0, 1).
    mask : numpy.ndarray of bool, shape (npix,) or (B, npix)
        Pixels in the region: the fewest (equal-area) pixels of highest density
        whose mass reaches ``level``.
    mass : float or numpy.ndarray
        Probability inside the region (``>= level``).
    area_km2 : float or numpy.ndarray
        Area of the region [km^2].
    log_threshold : float or numpy.ndarray
        Normalised log-density [log sr^-1] of the least dense pixel inside.
    nside, nest
        The grid.

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([0.0], [0.0], L=10)[0], nside=16)
    >>> r = f.credible_region(0.9)
    >>> bool(r.mass >= 0.9), bool(r.contains(0.0, 0.0)[0])
    (True, True)
    """

    level: float
    mask: np.ndarray
    mass: Any
    area_km2: Any
    log_threshold: Any
    nside: int
    nest: bool

    @property
    def n_pixels(self):
        """Number of pixels inside (int, or ``(B,)`` array for a batch)."""
        n = self.mask.sum(axis=-1)
        return int(n) if self.mask.ndim == 1 else n

    def contains(self, lat, lon) -> np.ndarray:
        """Whether points [deg] fall in the region (``(n,)``, or ``(B, n)`` for a batch).

        Examples
        --------
        >>> from shdd_geo.field import SphericalField
        >>> r = SphericalField.uniform(4).credible_region(0.5)
        >>> r.contains([0.0, 45.0], [0.0, 90.0]).shape
        (2,)
        """
        hp = _grid._hp()
        la, lo = as_latlon(lat, lon)
        pix = hp.ang2pix(self.nside, lo, la, nest=self.nest, lonlat=True)
        return self.mask[..., pix]

    @property
    def geometry(self):
        """Shapely MultiPolygon in (lon, lat) [deg] (an object array ``(B,)`` for a batch);
        see :func:`shdd_geo.io.vector.region_geometry`.

        Examples
        --------
        >>> import shdd_geo as sg
        >>> f = sg.SphericalField.from_shdd(sg.encode([0.0], [180.0], L=10)[0], nside=16)
        >>> g = f.credible_region(0.9).geometry      # cut at the antimeridian
        >>> g.geom_type, len(g.geoms), g.bounds[0], g.bounds[2]
        ('MultiPolygon', 2, -180.0, 180.0)
        """
        from .io.vector import region_geometry

        return region_geometry(self)

    @property
    def __geo_interface__(self) -> dict:
        """GeoJSON-like mapping of :attr:`geometry` (a FeatureCollection for a batch)."""
        import shapely

        g = self.geometry
        if self.mask.ndim == 1:
            return shapely.geometry.mapping(g)
        return {"type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {"field": i, "level": self.level},
                              "geometry": shapely.geometry.mapping(x)} for i, x in enumerate(g)]}

    def __repr__(self) -> str:
        shape = "" if self.mask.ndim == 1 else f", batch={self.mask.shape[0]}"
        return (
            f"CredibleRegion(level={self.level}, mass={np.round(self.mass, 4)}, "
            f"area_km2={np.round(self.area_km2, 0)}, nside={self.nside}{shape})"
        )
