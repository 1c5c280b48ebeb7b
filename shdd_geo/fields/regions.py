"""Highest-density credible regions (the result type of ``SphericalField.credible_region``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..coords import as_latlon
from .._validation import check_real

from .grid import import_healpy

__all__ = ["LEVEL_MAP_ATTR", "CredibleRegion", "check_level", "credible_region"]

#: Field attribute holding a conformal level map (:class:`shdd_geo.calibration.ConformalLevels`).
LEVEL_MAP_ATTR = "credible_level_map"
#: Nominal levels above this are "the whole sphere" (a conformal level of 1, or within rounding of it):
#: every pixel, including tails whose mass underflows.
WHOLE_LEVEL = 1.0 - 1e-12


def check_level(level) -> float:
    """A credible level as a float strictly inside (0, 1); clear errors otherwise.

    Examples
    --------
    >>> check_level(0.9)
    0.9
    """
    return check_real(level, "level", low=0.0, high=1.0, closed="neither")


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
    nominal_level : float or None
        The level the pixels were drawn at: ``level`` itself, or the
        conformal nominal level when the field is calibrated.

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
    nominal_level: float | None = None

    @property
    def n_pixels(self):
        """Number of pixels inside (int, or ``(B,)`` array for a batch)."""
        n = self.mask.sum(axis=-1)
        return int(n) if self.mask.ndim == 1 else n

    def contains(self, lat, lon) -> np.ndarray:
        """Whether points [deg] fall in the region (``(n,)``, or ``(B, n)`` for a batch).

        Examples
        --------
        >>> from shdd_geo.fields import SphericalField
        >>> r = SphericalField.uniform(4).credible_region(0.5)
        >>> r.contains([0.0, 45.0], [0.0, 90.0]).shape
        (2,)
        """
        hp = import_healpy()
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
        from ..io.vector import region_geometry

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


def credible_region(field, level: float = 0.9, *, calibrated: bool = True) -> CredibleRegion:
    """Highest-density credible region of a field: the fewest pixels holding ``>= level`` mass.

    The engine of :meth:`SphericalField.credible_region
    <shdd_geo.fields.SphericalField.credible_region>`; rows are handled one at
    a time, so temporaries stay ``O(npix)`` for any batch.  A field carrying a
    conformal level map (attribute ``credible_level_map``, see
    :class:`shdd_geo.calibration.ConformalLevels`) is cut at the calibrated
    nominal level unless ``calibrated=False``; a nominal level of 1 (within
    ``1e-12``) is the whole sphere, every pixel.

    Examples
    --------
    >>> from shdd_geo.fields import SphericalField
    >>> credible_region(SphericalField.uniform(4), 0.5).n_pixels in (96, 97)   # half of 192 pixels
    True
    """
    level = nominal = check_level(level)
    if calibrated and field.attrs.get(LEVEL_MAP_ATTR) is not None:
        from ..calibration import map_level

        nominal = map_level(level, field.attrs[LEVEL_MAP_ATTR])  # a float, or one per field of a batch
    rows = np.atleast_2d(field.normalize().log_density)
    nominals = np.broadcast_to(np.asarray(nominal, dtype=float), (rows.shape[0],))
    log_area = math.log(field.pixel_area)
    mask = np.zeros(rows.shape, dtype=bool)
    mass, n_in, thr = np.empty(rows.shape[0]), np.empty(rows.shape[0], dtype=np.int64), np.empty(rows.shape[0])
    for b, row in enumerate(rows):
        order = np.argsort(-row, kind="stable")
        cum = np.cumsum(np.exp(row[order] + log_area))
        n = min(int(np.searchsorted(cum, nominals[b], side="left")) + 1, row.size)  # first cum >= level
        if nominals[b] > WHOLE_LEVEL:  # conformal "whole sphere": cum reaches 1.0 before the underflowing tail
            n = row.size
        mask[b, order[:n]] = True
        mass[b], n_in[b], thr[b] = cum[n - 1], n, row[order[n - 1]]
    one = (lambda x: float(x[0])) if not field.is_batch else (lambda x: x)
    return CredibleRegion(
        level=level, mask=mask if field.is_batch else mask[0], mass=one(mass),
        area_km2=one(n_in * field.pixel_area_km2), log_threshold=one(thr),
        nside=field.nside, nest=field.nest,
        nominal_level=nominal if np.ndim(nominal) == 0 or field.is_batch else float(nominals[0]),
    )
