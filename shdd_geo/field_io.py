"""Fields to and from xarray, NetCDF and GeoJSON.

Importing this module registers the ``.shdd`` accessor on xarray objects::

    da = field.to_xarray()            # HEALPix DataArray (dim "cell")
    back = da.shdd.to_field()         # the same SphericalField

Files are written atomically: to a temporary file in the destination
directory, then ``os.replace``; on any error nothing is left behind.

Examples
--------
>>> import os, tempfile
>>> from shdd_geo.field import SphericalField
>>> f = SphericalField.uniform(2).normalize()
>>> da = to_xarray(f)
>>> da.dims, da.attrs["indexing_scheme"]
(('cell',), 'ring')
>>> p = os.path.join(tempfile.mkdtemp(), "f.nc"); to_netcdf(f, p)
>>> bool((open_field(p).log_density == f.log_density).all())
True
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from ._atomic import atomic_write
from ._optional import attempt_import
from ._validation import check_int
from .field import SphericalField

xr = attempt_import("xarray", "xarray/NetCDF export of fields")

__all__ = ["FieldAccessor", "open_field", "to_geojson", "to_netcdf", "to_xarray"]

_CONVENTIONS = "CF-1.10"
_SCHEMES = {False: "ring", True: "nested"}
_VAR_RESERVED = {"units", "long_name", "standard_name", "_FillValue", "coordinates", "cell_methods",
                 "grid_name", "nside", "level", "indexing_scheme", "shdd_kind"}
_LAT_ATTRS = {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north", "axis": "Y"}
_LON_ATTRS = {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east", "axis": "X"}


# ------------------------------------------------------------- xarray ----
def _data_attrs(log: bool) -> dict:
    if log:
        return {"long_name": "log of probability density per steradian", "units": "1", "shdd_kind": "log_density"}
    return {"long_name": "probability density per steradian", "units": "sr-1", "shdd_kind": "density"}


def _condition_coord(field: SphericalField) -> dict:
    if not field.is_batch or field.labels is None:
        return {}
    return {"condition": ("condition", np.asarray(field.labels))}


def to_xarray(field: SphericalField, grid: str = "healpix", *, resolution_deg: float = 1.0, log: bool = False,
              method: str = "conservative"):
    """An ``xarray.DataArray`` of a field's density (or log-density).

    Parameters
    ----------
    grid : {"healpix", "latlon"}
        ``"healpix"``: dim ``cell`` (``("condition", "cell")`` for a batch)
        with ``cell_ids``, ``lat``, ``lon`` coordinates and attrs
        ``grid_name``, ``nside``, ``level``, ``indexing_scheme`` (xdggs style).
        ``"latlon"``: dims ``("lat", "lon")`` at ascending cell centres of a
        global grid of ``resolution_deg``, CF attributes.
    method : {"conservative", "bilinear"}
        lat/lon only.  ``"conservative"`` (default): each cell holds the
        area-weighted mean of the pixel densities it overlaps (sampled at a
        quarter pixel), so mass is conserved.  ``"bilinear"``: the smoothly
        interpolated density at the cell centre (averaged over sub-samples for
        cells larger than a pixel); nicer maps, but peaks lose or gain mass.
    log : bool
        Log-density [log sr^-1] instead of density [sr^-1].

    Examples
    --------
    >>> f = SphericalField.uniform(4).normalize()
    >>> da = to_xarray(f, "latlon", resolution_deg=30)
    >>> da.dims, da.shape, da.attrs["units"]
    (('lat', 'lon'), (6, 12), 'sr-1')
    """
    from ._field_build import healpix_to_grid

    lead = ("condition",) if field.is_batch else ()
    name = "log_density" if log else "density"
    attrs = _data_attrs(log)
    if grid == "healpix":
        v = field.log_density if log else field.density
        scheme = _SCHEMES[field.nest]
        grid_attrs = {"grid_name": "healpix", "nside": field.nside, "level": int(math.log2(field.nside)),
                      "indexing_scheme": scheme}
        coords = {"cell_ids": ("cell", np.arange(field.npix), grid_attrs),
                  "lat": ("cell", field.lat.copy(), _LAT_ATTRS), "lon": ("cell", field.lon.copy(), _LON_ATTRS)}
        coords.update(_condition_coord(field))
        return xr.DataArray(v.copy(), dims=lead + ("cell",), coords=coords, name=name, attrs={**attrs, **grid_attrs})
    if grid != "latlon":
        raise ValueError(f"`grid` must be 'healpix' or 'latlon', got {grid!r}")
    rows = field.log_density if field.is_batch else field.log_density[None]
    lat, lon, out = healpix_to_grid(rows, field.nside, field.nest, resolution_deg, method)
    out = out if field.is_batch else out[0]
    coords = {"lat": ("lat", lat, _LAT_ATTRS), "lon": ("lon", lon, _LON_ATTRS), **_condition_coord(field)}
    attrs["cell_methods"] = "area: mean"
    return xr.DataArray(out if log else np.exp(out), dims=lead + ("lat", "lon"), coords=coords, name=name, attrs=attrs)


def _from_dataarray(da, nside: int | None = None) -> SphericalField:
    kind = da.attrs.get("shdd_kind", "log_density" if da.name == "log_density" else "density")
    labels = None
    if "condition" in da.dims and "condition" in da.coords:
        labels = [v.item() if hasattr(v, "item") else v for v in da["condition"].values]
    if da.dims[-1] == "cell":
        nest = da.attrs.get("indexing_scheme", "ring") == "nested"
        return SphericalField(da.values, kind=kind, nest=nest, labels=labels)
    if da.dims[-2:] == ("lat", "lon"):
        f = SphericalField.from_latlon_grid(da.values, da["lat"].values, da["lon"].values,
                                            nside=nside or 64, kind=kind)
        return f if labels is None else SphericalField(f.log_density, labels=labels)
    raise ValueError(f"expected a DataArray with a last dim 'cell' or dims ('lat', 'lon'), got {da.dims}")


@xr.register_dataarray_accessor("shdd")
class FieldAccessor:
    """``da.shdd.to_field(nside=None)``: back from xarray to a :class:`SphericalField`.

    HEALPix arrays convert exactly; lat/lon grids are regridded (area
    weighted) at ``nside`` (default 64).

    Examples
    --------
    >>> f = SphericalField.uniform(2)
    >>> bool((f.to_xarray().shdd.to_field().log_density == f.log_density).all())
    True
    """

    def __init__(self, obj):
        self._obj = obj

    def to_field(self, nside: int | None = None) -> SphericalField:
        """The :class:`SphericalField` held by this DataArray/Dataset."""
        obj = self._obj
        if isinstance(obj, xr.Dataset):
            names = [n for n in ("log_density", "density") if n in obj.data_vars]
            if not names:
                raise ValueError(f"the Dataset holds no 'log_density' or 'density' variable: {list(obj.data_vars)}")
            obj = obj[names[0]]
        return _from_dataarray(obj, nside)


xr.register_dataset_accessor("shdd")(FieldAccessor)


# ------------------------------------------------------------- NetCDF ----
def _check_attr(key, value):
    if not isinstance(key, str) or key in _VAR_RESERVED:
        raise ValueError(f"field attribute {key!r} is reserved or not a string; rename it")
    ok_scalar = isinstance(value, (str, int, float, np.integer, np.floating)) and not isinstance(value, bool)
    arr = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if not ok_scalar and (arr is None or arr.ndim != 1 or arr.dtype.kind not in "iuf"):
        raise TypeError(
            f"field attribute {key!r}={value!r} cannot be stored in NetCDF; use a str, "
            "a number or a 1-D list of numbers"
        )


def _to_dataset(field: SphericalField):
    da = to_xarray(field, "healpix", log=True)
    for k, v in field.attrs.items():
        _check_attr(k, v)
    da.attrs.update(field.attrs)
    if field.labels is not None:
        kinds = {type(x) for x in field.labels}
        if not (all(issubclass(k, str) for k in kinds) or all(issubclass(k, (int, np.integer)) for k in kinds)):
            raise TypeError(f"`labels` must be all str or all int to be written, got types {kinds}")
    ds = da.to_dataset()
    ds.attrs = {"Conventions": _CONVENTIONS, "title": "shdd_geo SphericalField",
                "source": "shdd_geo", "grid_name": "healpix", "nside": field.nside,
                "indexing_scheme": _SCHEMES[field.nest]}
    return ds


def to_netcdf(field: SphericalField, path) -> None:
    """Write a field (or batch along ``condition``) to NetCDF-4, atomically.

    The log-density is stored in float64, so :func:`open_field` returns the
    identical field (values, grid, labels and attrs).

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "u.nc")
    >>> to_netcdf(SphericalField.uniform(2), p); os.path.exists(p)
    True
    """
    ds = _to_dataset(field)
    enc = {name: {"_FillValue": None} for name in list(ds.data_vars) + ["lat", "lon"]}
    atomic_write(path, lambda tmp: ds.to_netcdf(tmp, format="NETCDF4", encoding=enc))


def open_field(path) -> SphericalField:
    """Read a field written by :func:`to_netcdf` (also :func:`shdd_geo.open_field`).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a
    file that is not NetCDF or holds no shdd_geo field.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "u.nc")
    >>> to_netcdf(SphericalField.uniform(2), p); open_field(p).nside
    2
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"`path` {os.fspath(path)!r} is a directory; pass a NetCDF file inside it")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`path` {os.fspath(path)!r} does not exist")
    try:
        with xr.open_dataset(path) as ds:
            ds = ds.load()
    except Exception as exc:
        raise ValueError(f"`path` {os.fspath(path)!r} is not a readable NetCDF file ({exc})") from exc
    if "log_density" not in ds.data_vars or ds.attrs.get("grid_name") != "healpix":
        raise ValueError(f"`path` {os.fspath(path)!r} does not hold a shdd_geo field (no HEALPix 'log_density')")
    da = ds["log_density"]
    field = _from_dataarray(da)
    attrs = {k: (v.tolist() if isinstance(v, np.ndarray) else v.item() if isinstance(v, np.generic) else v)
             for k, v in da.attrs.items() if k not in _VAR_RESERVED}
    return SphericalField(field.log_density, nest=field.nest, labels=field.labels, attrs=attrs)


# ------------------------------------------------------------ GeoJSON ----
def _round(geom_json, precision: int):
    if isinstance(geom_json, (list, tuple)):
        return [_round(c, precision) for c in geom_json]
    return round(float(geom_json), precision)


def _features_one(field: SphericalField, levels, modes: int, min_separation_km: float,
                  step: int, precision: int, extra: dict) -> list:
    import shapely

    from ._field_geojson import mask_to_geometry

    feats = []
    for lv in sorted(levels, reverse=True):
        r = field.credible_region(lv)
        geom = mask_to_geometry(r.mask, field.nside, field.nest, step=step, grid_size=10.0**-precision)
        gj = shapely.geometry.mapping(geom)
        props = {"kind": "credible_region", "level": r.level, "mass": float(r.mass),
                 "area_km2": float(r.area_km2), "n_pixels": r.n_pixels, **extra}
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": gj["type"], "coordinates": _round(gj["coordinates"], precision)}})
    if modes:
        m = field.modes(k=modes, min_separation_km=min_separation_km)
        for i in range(m["lat"].size):
            props = {"kind": "mode", "rank": int(m["rank"][i]), "mass": float(m["mass"][i]),
                     "log_density": float(m["log_density"][i]), **extra}
            pt = [round(float(m["lon"][i]), precision), round(float(m["lat"][i]), precision)]
            feats.append({"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": pt}})
    return feats


def to_geojson(field: SphericalField, path=None, levels=(0.5, 0.9), *, modes: int = 3,
               min_separation_km: float = 500.0, step: int = 2, precision: int = 6) -> dict:
    """RFC 7946 FeatureCollection of credible regions and modes, in (lon, lat).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Also write the JSON there (atomically).
    levels : float or sequence of float
        Credible levels in (0, 1); one (Multi)Polygon feature each, largest
        first, properties ``level``, ``mass``, ``area_km2``, ``n_pixels``.
    modes : int
        Number of mode Point features (properties ``rank``, ``mass`` -- the
        probability of the mode's basin, :meth:`SphericalField.modes` --,
        ``log_density``); 0 for none.
    step : int
        Points per pixel edge (pixel edges are curves in lon/lat).
    precision : int
        Decimal places of the coordinates (6 is about 0.1 m).

    Returns
    -------
    dict
        The FeatureCollection.  For a batch every feature carries ``field``
        (and ``condition`` when the batch has labels).

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = SphericalField.from_shdd(sg.encode([60.0], [179.0], L=10)[0], nside=16)
    >>> gj = to_geojson(f, levels=0.9, modes=1)
    >>> [feat["geometry"]["type"] for feat in gj["features"]]
    ['MultiPolygon', 'Point']
    """
    from ._field_region import check_level as _check_level

    levels = [_check_level(lv) for lv in np.atleast_1d(levels).tolist()]
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"`step` must be a positive integer, got {step!r}")
    precision = check_int(precision, "precision", low=0, high=15, what="an int number of decimals in [0, 15]")
    feats = []
    members = list(field) if field.is_batch else [field]
    for i, member in enumerate(members):
        extra = {}
        if field.is_batch:
            extra["field"] = i
            if field.labels is not None:
                extra["condition"] = field.labels[i].item() if hasattr(field.labels[i], "item") else field.labels[i]
        feats += _features_one(member, levels, int(modes), min_separation_km, int(step), int(precision), extra)
    out = {"type": "FeatureCollection", "features": feats}
    if path is not None:
        text = json.dumps(out, allow_nan=False)

        def write(tmp: str) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)

        atomic_write(path, write)
    return out
