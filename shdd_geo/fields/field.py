"""`SphericalField`: probability densities on a HEALPix grid.

A field holds the **log-density per steradian** of one distribution, or of a
batch of ``B`` distributions, at the ``npix = 12 nside**2`` pixel centres of a
HEALPix grid (RING ordering by default, NESTED accepted).  Log space is used
throughout: SHDD densities ``exp(f)`` reach ``exp(183)`` at ``L = 47``.

Fields are immutable; every operation returns a new field.  A batch is a
field with ``log_density.shape == (B, npix)``; ``len(batch) == B`` and
``batch[i]`` is a single field.

Methods that return one number per field return a ``float`` for a single field
and a ``(B,)`` array for a batch.  Point queries (``log_likelihood``,
``expected_distance_to``, ...) take ``n`` points: for a single field they
return ``(n,)``; for a batch they pair field ``i`` with point ``i`` (``n == B``)
unless ``outer=True``, which returns ``(B, n)``.

Constructors live in :mod:`shdd_geo.fields.construct`, IO in
:mod:`shdd_geo.io.netcdf` (xarray, NetCDF) and :mod:`shdd_geo.io.geojson`, maps
in :mod:`shdd_geo.plotting`, coverage metrics in :mod:`shdd_geo.calibration`:
the methods here that reach them are thin and import them on first use.

Examples
--------
>>> import shdd_geo as sg
>>> f = sg.SphericalField.from_shdd(sg.encode([48.86], [2.35], L=15)[0], nside=16)
>>> round(f.integral(), 10)
1.0
>>> bool(abs(f.modes(k=1)["lat"][0] - 48.86) < 5)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from .._arrays import logsumexp
from .._validation import check_int

from ..coords import EARTH_RADIUS_KM, as_latlon, latlon_to_xyz
from . import grid as _grid
from . import regrid as _regrid
from .construct import as_log_rows, check_labels
from .regions import CredibleRegion

__all__ = ["CredibleRegion", "SphericalField", "open_field"]

def _rng(rng) -> np.random.Generator:
    from ..anchors import as_rng

    return as_rng(rng)


class SphericalField:
    """Log-density of one or a batch of distributions on a HEALPix grid.

    Parameters
    ----------
    values : array_like, shape (npix,) or (B, npix)
        Values at the pixel centres; ``npix = 12 * nside**2`` with ``nside`` a
        power of two.  No NaN.
    kind : {"log_density", "density"}
        Whether ``values`` are log-densities (``-inf`` allowed: zero density)
        or densities ``>= 0`` [sr^-1].  Fields need not be normalised; see
        :meth:`normalize`.
    nest : bool
        NESTED pixel ordering (default RING).
    labels : sequence of str or int, optional
        One label per field of a batch (e.g. the conditions), kept through IO.
    attrs : mapping, optional
        Free metadata (str/number values), kept through IO.

    Examples
    --------
    >>> import numpy as np
    >>> f = SphericalField(np.zeros(12 * 4**2))            # uniform, not normalised
    >>> round(f.integral() / (4 * np.pi), 12), f.nside
    (1.0, 4)
    >>> g = f.normalize(); bool(np.isclose(g.log_likelihood(10.0, 20.0), -np.log(4 * np.pi)))
    True
    """

    __slots__ = ("_attrs", "_labels", "_log", "_nest", "_nside")

    def __init__(self, values, *, kind: str = "log_density", nest: bool = False, labels=None, attrs=None):
        v = as_log_rows(values, kind)
        nside = _grid.nside_from_npix(v.shape[-1])
        v.setflags(write=False)
        labels = check_labels(labels, v.shape[0] if v.ndim == 2 else None)
        if attrs is not None and not isinstance(attrs, Mapping):
            raise TypeError(f"`attrs` must be a mapping, got {type(attrs).__name__}")
        for name, val in (("_log", v), ("_nside", nside), ("_nest", bool(nest)),
                          ("_labels", labels), ("_attrs", MappingProxyType(dict(attrs or {})))):
            object.__setattr__(self, name, val)

    def __setattr__(self, name, value):
        raise AttributeError("SphericalField is immutable; methods return new fields")

    def __reduce__(self):
        """Pickle/copy support (slots, read-only attrs)."""
        return (_unpickle, (np.array(self._log), self._nest, self._labels, dict(self._attrs)))

    @classmethod
    def _wrap(cls, v: np.ndarray, nest: bool, labels, attrs) -> SphericalField:
        """Trusted internal constructor: takes ownership of float64 log rows (no copy, no scan)."""
        self = object.__new__(cls)
        v.setflags(write=False)
        for name, val in (("_log", v), ("_nside", _grid.nside_from_npix(v.shape[-1])), ("_nest", bool(nest)),
                          ("_labels", labels), ("_attrs", attrs if attrs is not None else MappingProxyType({}))):
            object.__setattr__(self, name, val)
        return self

    def _new(self, rows: np.ndarray, nest: bool | None = None) -> SphericalField:
        """A field like ``self`` (grid, labels, attrs) owning the new log rows ``(B, npix)``."""
        single = self._log.ndim == 1
        return SphericalField._wrap(rows[0] if single else rows, self._nest if nest is None else nest,
                                    None if single else self._labels, self._attrs)

    # ------------------------------------------------------------ grid ----
    @property
    def nside(self) -> int:
        """HEALPix resolution parameter."""
        return self._nside

    @property
    def npix(self) -> int:
        """Number of pixels, ``12 * nside**2``."""
        return 12 * self._nside**2

    @property
    def nest(self) -> bool:
        """True for NESTED ordering, False for RING."""
        return self._nest

    @property
    def ordering(self) -> str:
        """``"RING"`` or ``"NESTED"`` (healpy's names)."""
        return "NESTED" if self._nest else "RING"

    @property
    def pixel_area(self) -> float:
        """Area of one pixel [sr]."""
        return _grid.pixel_area_sr(self._nside)

    @property
    def pixel_area_km2(self) -> float:
        """Area of one pixel [km^2]."""
        return self.pixel_area * EARTH_RADIUS_KM**2

    @property
    def resolution_km(self) -> float:
        """Pixel size (square root of the pixel area) [km]."""
        return math.sqrt(self.pixel_area_km2)

    @property
    def lat(self) -> np.ndarray:
        """Pixel-centre latitudes [deg], shape (npix,)."""
        return _grid.pixel_latlon(self._nside, self._nest)[0]

    @property
    def lon(self) -> np.ndarray:
        """Pixel-centre longitudes [deg] in [-180, 180), shape (npix,)."""
        return _grid.pixel_latlon(self._nside, self._nest)[1]

    # ---------------------------------------------------------- values ----
    @property
    def log_density(self) -> np.ndarray:
        """Stored log-density [log sr^-1] (read-only), shape (npix,) or (B, npix)."""
        return self._log

    @property
    def density(self) -> np.ndarray:
        """``exp(log_density)`` [sr^-1] (a new array; may underflow to 0 far from the peaks)."""
        return np.exp(self._log)

    @property
    def is_batch(self) -> bool:
        """True when the field holds a batch ``(B, npix)``."""
        return self._log.ndim == 2

    @property
    def labels(self) -> tuple | None:
        """Labels of the batch's fields, or None."""
        return self._labels

    @property
    def attrs(self) -> Mapping:
        """Read-only metadata."""
        return self._attrs

    def with_attrs(self, attrs: Mapping) -> SphericalField:
        """The same field (values shared, not copied) with ``attrs`` merged into its metadata.

        Examples
        --------
        >>> SphericalField.uniform(2).with_attrs({"text": "Paris"}).attrs["text"]
        'Paris'
        """
        if not isinstance(attrs, Mapping):
            raise TypeError(f"`attrs` must be a mapping, got {type(attrs).__name__}")
        return SphericalField._wrap(self._log, self._nest, self._labels,
                                    MappingProxyType({**self._attrs, **attrs}))

    def _rows(self) -> np.ndarray:
        return self._log if self._log.ndim == 2 else self._log[None]

    def _out(self, x):
        """Per-field result: a Python float for a single field, else the array."""
        x = np.asarray(x)
        return float(x[0]) if self._log.ndim == 1 else x

    def __len__(self) -> int:
        if self._log.ndim == 1:
            raise TypeError("a single SphericalField has no len(); check `is_batch`")
        return self._log.shape[0]

    def __getitem__(self, index) -> SphericalField:
        if self._log.ndim == 1:
            raise TypeError("a single SphericalField cannot be indexed; only batches can")
        rows = self._log[index]
        labels = None if self._labels is None else np.asarray(self._labels, dtype=object)[index]
        if rows.ndim == 1:
            return SphericalField(rows, nest=self._nest, attrs=self._attrs)
        return SphericalField(rows, nest=self._nest, attrs=self._attrs,
                              labels=None if labels is None else labels.tolist())

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        batch = f", batch={self._log.shape[0]}" if self.is_batch else ""
        return f"SphericalField(nside={self._nside}, ordering={self.ordering!r}{batch})"

    # ---------------------------------------------------- re-gridding ----
    def reorder(self, nest: bool) -> SphericalField:
        """The same field in NESTED (``nest=True``) or RING ordering.

        Examples
        --------
        >>> SphericalField.uniform(4).reorder(True).ordering
        'NESTED'
        """
        if bool(nest) == self._nest:
            return self
        rows = self._rows()[:, _grid.reorder_index(self._nside, bool(nest))]
        return self._new(rows, nest=bool(nest))

    def ud_grade(self, nside: int) -> SphericalField:
        """Change resolution, conserving mass: children share the parent's density
        (up) or the parent takes the mean density of its children (down).

        Examples
        --------
        >>> f = SphericalField.uniform(8).normalize()
        >>> f.ud_grade(2).nside, round(f.ud_grade(32).integral(), 12)
        (2, 1.0)
        """
        nside = _grid.check_nside(nside)
        if nside == self._nside:
            return self
        rows = self.reorder(True)._rows()
        if nside < self._nside:
            f = (self._nside // nside) ** 2
            rows = logsumexp(rows.reshape(rows.shape[0], -1, f), axis=2) - math.log(f)
        else:
            rows = np.repeat(rows, (nside // self._nside) ** 2, axis=1)
        return self._new(rows, nest=True).reorder(self._nest)

    # -------------------------------------------------- normalisation ----
    def log_integral(self):
        """``log`` of the integral over the sphere [log of probability mass]."""
        rows = self._rows()
        step = max(1, (1 << 18) // rows.shape[1])  # bounded temporaries for big batches
        lse = np.concatenate([logsumexp(rows[i : i + step], axis=1) for i in range(0, rows.shape[0], step)])
        return self._out(lse + math.log(self.pixel_area))

    def integral(self):
        """Integral of the density over the sphere (1 for a normalised field).

        Examples
        --------
        >>> f = SphericalField(np.zeros(48))              # density 1 per sr everywhere
        >>> bool(np.isclose(f.integral(), 4 * np.pi)), bool(np.isclose(f.normalize().integral(), 1.0))
        (True, True)
        """
        return self._out(np.exp(np.atleast_1d(self.log_integral())))

    def _log_z(self) -> np.ndarray:
        z = np.atleast_1d(self.log_integral())
        if not np.all(np.isfinite(z)):
            raise ValueError("the field has zero total mass (all densities are 0); cannot normalise")
        return z

    def normalize(self) -> SphericalField:
        """The field scaled to integrate to 1 (in log space); see :meth:`integral`."""
        rows = self._rows() - self._log_z()[:, None]
        return self._new(rows)

    def _probs(self) -> np.ndarray:
        """Probability of each pixel, rows ``(B, npix)`` summing to 1."""
        return np.exp(self._rows() - self._log_z()[:, None] + math.log(self.pixel_area))

    # ------------------------------------------------- point queries ----
    def _points(self, lat, lon, outer: bool):
        scalar = np.ndim(lat) == 0 and np.ndim(lon) == 0
        la, lo = as_latlon(lat, lon)
        if self.is_batch and not outer and la.size != self._log.shape[0]:
            raise ValueError(
                f"a batch of {self._log.shape[0]} fields pairs field i with point i, so `lat`/`lon` "
                f"need {self._log.shape[0]} entries, got {la.size}; pass outer=True for every pair"
            )
        return la, lo, scalar and not self.is_batch

    def _interp_rows(self, la, lo, interpolation: str, outer: bool) -> np.ndarray:
        hp = _grid.import_healpy()
        rows = self._rows()
        if interpolation == "nearest":
            pix = hp.ang2pix(self._nside, lo, la, nest=self._nest, lonlat=True)
            return rows[np.arange(rows.shape[0]), pix] if (self.is_batch and not outer) else rows[:, pix]
        if interpolation != "bilinear":
            raise ValueError(f"`interpolation` must be 'nearest' or 'bilinear', got {interpolation!r}")
        if self.is_batch and not outer:
            pix, w = hp.get_interp_weights(self._nside, lo, la, nest=self._nest, lonlat=True)
            with np.errstate(divide="ignore"):
                return logsumexp(rows[np.arange(rows.shape[0]), pix] + np.log(np.maximum(w, 0.0)), axis=0)
        return _regrid.interp_log(rows, self._nside, self._nest, la, lo)

    def _point_out(self, x: np.ndarray, scalar: bool):
        if self.is_batch:
            return x
        x = x[0] if x.ndim == 2 else x
        return float(x[0]) if scalar else x

    def log_density_at(self, lat, lon, *, interpolation: str = "bilinear", outer: bool = False):
        """Stored (not re-normalised) log-density at points [deg].

        ``"bilinear"`` interpolates the density linearly between the 4
        nearest pixel centres (``healpy.get_interp_weights``), in log space;
        ``"nearest"`` takes the pixel containing the point.

        Examples
        --------
        >>> f = SphericalField(np.arange(48.0))
        >>> float(f.log_density_at(f.lat[5], f.lon[5], interpolation="nearest"))
        5.0
        """
        la, lo, scalar = self._points(lat, lon, outer)
        return self._point_out(self._interp_rows(la, lo, interpolation, outer), scalar)

    def density_at(self, lat, lon, *, interpolation: str = "bilinear", outer: bool = False):
        """``exp(log_density_at(...))`` [sr^-1]."""
        return np.exp(self.log_density_at(lat, lon, interpolation=interpolation, outer=outer))

    def log_likelihood(self, lat, lon, *, interpolation: str = "bilinear", outer: bool = False):
        """Log of the normalised density at points [log sr^-1].

        Examples
        --------
        >>> f = SphericalField.uniform(8)
        >>> bool(np.isclose(f.log_likelihood(0.0, 0.0), -np.log(4 * np.pi)))
        True
        """
        la, lo, scalar = self._points(lat, lon, outer)
        v = self._interp_rows(la, lo, interpolation, outer)
        z = self._log_z()
        v = v - (z[:, None] if v.ndim == 2 else z)
        return self._point_out(v, scalar)

    def expected_distance_to(self, lat, lon, *, outer: bool = False):
        """Expected great-circle distance [km] from the field's mass to points [deg].

        Examples
        --------
        >>> d = SphericalField.uniform(16).expected_distance_to(0.0, 0.0)
        >>> bool(abs(d - np.pi / 2 * 6371.0088) < 1.0)   # a quarter circumference on average
        True
        """
        la, lo, scalar = self._points(lat, lon, outer)
        p = self._probs()
        u = _grid.pixel_xyz(self._nside, self._nest)
        x = latlon_to_xyz(la, lo)
        if self.is_batch and not outer:
            out = np.array([p[b] @ _angle(u, x[b : b + 1])[:, 0] for b in range(p.shape[0])])
        else:
            step = max(1, (1 << 22) // u.shape[0])
            out = np.concatenate([p @ _angle(u, x[i : i + step]) for i in range(0, x.shape[0], step)], axis=1)
        return self._point_out(out * EARTH_RADIUS_KM, scalar)

    # ------------------------------------------------------ analysis ----
    def entropy(self):
        """Differential entropy ``-integral q log q`` [nats, w.r.t. steradians].

        ``log(4 pi)`` for the uniform density; lower for concentrated fields.

        Examples
        --------
        >>> import shdd_geo as sg
        >>> f = SphericalField.from_shdd(sg.encode([0.0], [0.0], L=10)[0], nside=16)
        >>> bool(f.entropy() < SphericalField.uniform(16).entropy())
        True
        """
        rows = self._rows() - self._log_z()[:, None]
        p = np.exp(rows + math.log(self.pixel_area))
        h = -np.sum(np.where(p > 0, p * np.where(p > 0, rows, 0.0), 0.0), axis=1)
        return self._out(h)

    def credible_region(self, level: float = 0.9, *, calibrated: bool = True) -> CredibleRegion:
        """Highest-density credible region: the fewest pixels holding ``>= level`` mass.

        When the field carries a conformal level map (fields predicted by a
        calibrated model, see :class:`shdd_geo.calibration.ConformalLevels`),
        ``level`` is the share of truths the region should contain, and the
        region is drawn at the calibrated nominal level
        (``region.nominal_level``); ``calibrated=False`` draws it at the raw
        nominal ``level`` instead.

        Examples
        --------
        >>> import shdd_geo as sg
        >>> f = SphericalField.from_shdd(sg.encode([45.0], [7.0], L=12)[0], nside=16)
        >>> r = f.credible_region(0.5)
        >>> bool(r.mass >= 0.5), r.n_pixels <= 4
        (True, True)
        """
        from .regions import credible_region

        return credible_region(self, level, calibrated=calibrated)

    def modes(self, k: int = 5, min_separation_km: float = 500.0, *, radius_km: float | None = None,
              order: str = "mass") -> dict:
        """The ``k`` separated local maxima with the most probability mass, most first.

        Local maxima are pixels at least as dense as their 8 neighbours, taken
        greedily by density while at least ``min_separation_km`` from the
        modes already chosen; the ``k`` of them with the most mass are
        returned, ranked by mass (``order="density"``: the ``k`` densest,
        ranked by peak density, as before 0.1).  Mass, not peak height, is
        what answers "where is it most likely?": a broad region can hold
        more probability than a sharp peak.  ``mass`` is, by default, the probability of the
        mode's *basin*: the pixels from which steepest ascent over the
        neighbours ends at the mode, or at a lower local maximum that was
        passed over for lying within ``min_separation_km`` of it (of the
        densest such mode).  The basins do not overlap, so the masses add up
        to at most 1 (less when maxima beyond the ``k``-th own the rest) and a
        wide mode gets all of its mass, however far its tails reach.  With
        ``radius_km`` the mass is instead the probability within that
        distance of the mode's pixel centre (discs may overlap; 0 = the pixel
        alone).

        Returns
        -------
        dict of numpy.ndarray
            Columns ``lat``, ``lon`` [deg] (pixel centres), ``log_density``
            (normalised [log sr^-1]), ``mass``, ``pixel``, ``rank`` (0 = the
            most mass, or the densest with ``order="density"``) and, for a
            batch, ``field``; rows sorted by field then rank.
            ``pandas.DataFrame(field.modes())`` makes a table of it.

        Examples
        --------
        >>> import shdd_geo as sg
        >>> e = sg.encode([40.0, -20.0], [-3.0, 130.0], L=20).sum(0)
        >>> m = SphericalField.from_shdd(e, nside=32).modes(k=2)
        >>> bool(np.allclose(sorted(m["lat"]), [-20.0, 40.0], atol=2.0))   # pixel centres, ~1.8 deg apart
        True
        """
        from .modes import field_modes

        return field_modes(self, k, min_separation_km, radius_km, order)

    # ------------------------------------------------------ sampling ----
    def sample(self, n: int, rng=None):
        """Draw ``n`` points [deg] from the density.

        A pixel is drawn with its probability, then a point uniformly (by
        area) inside it, exactly, by rejection.  Returns ``(lat, lon)`` of
        shape ``(n,)``, or ``(B, n)`` for a batch.

        Examples
        --------
        >>> lat, lon = SphericalField.uniform(8).sample(1000, rng=0)
        >>> bool(abs(np.sin(np.radians(lat)).mean()) < 0.1)
        True
        """
        check_int(n, "n", low=0, what="a non-negative integer")
        gen = _rng(rng)
        cum = np.cumsum(self._probs(), axis=1)
        u = gen.random((cum.shape[0], int(n))) * cum[:, -1:]
        pix = np.stack([np.searchsorted(c, ui, side="right") for c, ui in zip(cum, u)])
        pix = np.minimum(pix, self.npix - 1)
        lat, lon = _grid.uniform_in_pixels(self._nside, pix, self._nest, gen)
        lat, lon = lat.reshape(pix.shape), lon.reshape(pix.shape)
        return (lat, lon) if self.is_batch else (lat[0], lon[0])

    # ---------------------------------------------------- arithmetic ----
    def _check_same_grid(self, other) -> None:
        if not isinstance(other, SphericalField):
            raise TypeError(f"`other` must be a SphericalField, got {type(other).__name__}")
        if other.nside != self._nside or other.nest != self._nest:
            raise ValueError(
                f"fields are on different grids (nside {self._nside} {self.ordering} vs "
                f"{other.nside} {other.ordering}); use `other.ud_grade(nside)` / `.reorder(nest)`"
            )
        a, b = self._rows().shape[0], other._rows().shape[0]
        if self.is_batch and other.is_batch and a != b:
            raise ValueError(f"batch sizes differ: {a} and {b}")

    def _combine(self, other, rows: np.ndarray) -> SphericalField:
        src = self if self.is_batch or not other.is_batch else other
        return SphericalField(rows if src.is_batch else rows[0], nest=self._nest,
                              labels=src.labels, attrs=self._attrs)

    def product(self, other: SphericalField) -> SphericalField:
        """Normalised product of densities (e.g. combining independent evidence).

        Examples
        --------
        >>> u = SphericalField.uniform(4).normalize()
        >>> round((u * u).integral(), 12)
        1.0
        """
        self._check_same_grid(other)
        return self._combine(other, self._rows() + other._rows()).normalize()

    __mul__ = product

    def mixture(self, other: SphericalField, weight: float = 0.5) -> SphericalField:
        """``weight * self + (1 - weight) * other`` of the normalised densities.

        Examples
        --------
        >>> u = SphericalField.uniform(4)
        >>> round(u.mixture(u, 0.3).integral(), 12)
        1.0
        """
        from .mixing import mix_log_densities

        self._check_same_grid(other)
        a = self._rows() - self._log_z()[:, None]
        b = other._rows() - other._log_z()[:, None]
        return self._combine(other, mix_log_densities(b, a, float(weight)))

    # ---------------------------------------------------- constructors ----
    @classmethod
    def from_shdd(cls, coeffs, nside: int = 64, **kwargs) -> SphericalField:
        """Field ``exp(f_e)`` of SHDD coefficients; see :func:`shdd_geo.fields.construct.from_shdd`."""
        from .construct import from_shdd

        return from_shdd(coeffs, nside, cls=cls, **kwargs)

    @classmethod
    def from_samples(cls, lat, lon, nside: int = 64, **kwargs) -> SphericalField:
        """Density estimate from points [deg]; see :func:`shdd_geo.fields.construct.from_samples`."""
        from .construct import from_samples

        return from_samples(lat, lon, nside, cls=cls, **kwargs)

    @classmethod
    def from_function(cls, func, nside: int = 64, **kwargs) -> SphericalField:
        """``func(lat, lon)`` at the pixel centres; see :func:`shdd_geo.fields.construct.from_function`."""
        from .construct import from_function

        return from_function(func, nside, cls=cls, **kwargs)

    @classmethod
    def from_latlon_grid(cls, values, lat, lon, nside: int = 64, **kwargs) -> SphericalField:
        """Regrid a lat/lon grid; see :func:`shdd_geo.fields.construct.from_latlon_grid`."""
        from .construct import from_latlon_grid

        return from_latlon_grid(values, lat, lon, nside, cls=cls, **kwargs)

    @classmethod
    def uniform(cls, nside: int = 64, **kwargs) -> SphericalField:
        """The uniform density ``1 / (4 pi)`` [sr^-1]; see :func:`shdd_geo.fields.construct.uniform`."""
        from .construct import uniform

        return uniform(nside, cls=cls, **kwargs)

    # ------------------------------------------------ IO and plotting ----
    def to_xarray(self, grid: str = "healpix", **kwargs):
        """xarray DataArray of the density; see :func:`shdd_geo.io.netcdf.to_xarray`."""
        from ..io.netcdf import to_xarray

        return to_xarray(self, grid=grid, **kwargs)

    def to_netcdf(self, path, **kwargs) -> None:
        """Write to NetCDF atomically; see :func:`shdd_geo.io.netcdf.to_netcdf`."""
        from ..io.netcdf import to_netcdf

        to_netcdf(self, path, **kwargs)

    def to_geojson(self, path=None, levels=(0.5, 0.9), **kwargs) -> dict:
        """GeoJSON of credible regions and modes; see :func:`shdd_geo.io.geojson.to_geojson`."""
        from ..io.geojson import to_geojson

        return to_geojson(self, path, levels=levels, **kwargs)

    def to_geodataframe(self, levels=(0.5, 0.9), modes: int = 5, **kwargs):
        """GeoDataFrame (EPSG:4326) of regions and modes; see :func:`shdd_geo.io.vector.to_geodataframe`."""
        from ..io.vector import to_geodataframe

        return to_geodataframe(self, levels, modes, **kwargs)

    def to_file(self, path, driver: str | None = None, **kwargs) -> str:
        """Regions and modes to an OGR file (GeoPackage...); see :func:`shdd_geo.io.vector.to_file`."""
        from ..io.vector import to_file

        return to_file(self, path, driver, **kwargs)

    def mass_in(self, polygons, **kwargs):
        """Probability mass in each polygon (area-exact); see :func:`shdd_geo.fields.zonal.mass_in`."""
        from .zonal import mass_in

        return mass_in(self, polygons, **kwargs)

    def to_raster(self, path, resolution_deg: float = 0.25, crs: str = "EPSG:4326", **kwargs) -> str:
        """North-up Cloud-Optimised GeoTIFF; see :func:`shdd_geo.io.raster.to_raster`."""
        from ..io.raster import to_raster

        return to_raster(self, path, resolution_deg=resolution_deg, crs=crs, **kwargs)

    def to_fits(self, path, **kwargs) -> str:
        """healpy FITS map of the density; see :func:`shdd_geo.io.healpix_nc.to_fits`."""
        from ..io.healpix_nc import to_fits

        return to_fits(self, path, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Map with cartopy; see :func:`shdd_geo.plotting.plot_field`."""
        from ..plotting import plot_field

        return plot_field(self, ax=ax, **kwargs)


def _unpickle(v: np.ndarray, nest: bool, labels, attrs: dict) -> SphericalField:
    return SphericalField._wrap(v, nest, labels, MappingProxyType(attrs))


def _angle(u: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Angles [rad] between unit vectors ``u (m, 3)`` and ``x (n, 3)`` (abs. error < 1e-7)."""
    d = np.clip(u @ x.T, -1.0, 1.0)
    return np.arctan2(np.sqrt(np.maximum(0.0, 1.0 - d * d)), d)


def open_field(path) -> SphericalField:
    """Read a field written by :meth:`SphericalField.to_netcdf`.

    Examples
    --------
    >>> import tempfile, os
    >>> f = SphericalField.uniform(4).normalize()
    >>> p = os.path.join(tempfile.mkdtemp(), "f.nc"); f.to_netcdf(p)
    >>> np.array_equal(open_field(p).log_density, f.log_density)
    True
    """
    from ..io.netcdf import open_field as _open

    return _open(path)
