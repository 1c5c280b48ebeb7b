"""Fields to and from xarray and NetCDF (GeoJSON: :mod:`shdd_geo.io.geojson`).

Importing this module registers the ``.shdd`` accessor on xarray objects::

    da = field.to_xarray()            # HEALPix DataArray (dim "cell")
    back = da.shdd.to_field()         # the same SphericalField

Files are written atomically: to a temporary file in the destination
directory, then ``os.replace``; on any error nothing is left behind.

Examples
--------
>>> import os, tempfile
>>> from shdd_geo.fields import SphericalField
>>> f = SphericalField.uniform(2).normalize()
>>> da = to_xarray(f)
>>> da.dims, da.attrs["indexing_scheme"]
(('cell',), 'ring')
>>> p = os.path.join(tempfile.mkdtemp(), "f.nc"); to_netcdf(f, p)
>>> bool((open_field(p).log_density == f.log_density).all())
True
"""

from __future__ import annotations

import math
import os

import numpy as np

from .._atomic import atomic_write
from .._optional import attempt_import
from ..fields import SphericalField

xr = attempt_import("xarray", "xarray/NetCDF export of fields")

__all__ = ["FieldAccessor", "open_field", "to_netcdf", "to_xarray"]

_CONVENTIONS = "CF-1.10"
_SCHEMES = {False: "ring", True: "nested"}
_VAR_RESERVED = {"units", "long_name", "standard_name", "_FillValue", "coordinates", "cell_methods",
                 "grid_name", "nside", "level", "indexing_scheme", "shdd_kind", "grid_mapping"}
_LAT_ATTRS = {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north", "axis": "Y"}
_LON_ATTRS = {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east", "axis": "X"}


# ------------------------------------------------------------- xarray ----
def _data_attrs(log: bool) -> dict:
    if log:
        return {"long_name": "log of probability density per steradian", "units": "1", "shdd_kind": "log_density"}
    return {"long_name": "probability density per steradian", "units": "sr-1", "shdd_kind": "density"}


_BATCH_DIMS = ("query", "condition")  # "condition": files written before the batch dim was renamed


def _condition_coord(field: SphericalField) -> dict:
    if not field.is_batch or field.labels is None:
        return {}
    return {"query": ("query", np.asarray(field.labels))}


def to_xarray(field: SphericalField, grid: str = "healpix", *, resolution_deg: float = 1.0, log: bool = False,
              method: str = "conservative", descending_lat: bool = False):
    """An ``xarray.DataArray`` of a field's density (or log-density).

    Parameters
    ----------
    grid : {"healpix", "latlon"}
        ``"healpix"``: dim ``cell`` (``("query", "cell")`` for a batch)
        with ``cell_ids`` (attrs ``grid_name``, ``level``,
        ``indexing_scheme``: ``xdggs.decode`` reads it), ``lat``, ``lon``
        coordinates; the data's attrs add ``nside``.
        ``"latlon"``: dims ``("lat", "lon")`` at the cell centres of a
        global grid of ``resolution_deg``, CF attributes and a CF
        ``grid_mapping`` coordinate ``crs`` (EPSG:4326).
        The field's ``attrs`` (e.g. ``text``, ``model``) are kept on both.
    method : {"conservative", "bilinear"}
        lat/lon only.  ``"conservative"`` (default): each cell holds the
        area-weighted mean of the pixel densities it overlaps (sampled at a
        quarter pixel), so mass is conserved.  ``"bilinear"``: the smoothly
        interpolated density at the cell centre (averaged over sub-samples for
        cells larger than a pixel); nicer maps, but peaks lose or gain mass.
    log : bool
        Log-density [log sr^-1] instead of density [sr^-1].
    descending_lat : bool
        lat/lon only: latitude from north to south (north-up, as GeoTIFFs are).

    Examples
    --------
    >>> f = SphericalField.uniform(4).normalize()
    >>> da = to_xarray(f, "latlon", resolution_deg=30)
    >>> da.dims, da.shape, da.attrs["units"]
    (('lat', 'lon'), (6, 12), 'sr-1')
    """
    from ..fields.regrid import healpix_to_grid

    lead = ("query",) if field.is_batch else ()
    name = "log_density" if log else "density"
    attrs = {**{k: v for k, v in field.attrs.items() if k not in _VAR_RESERVED}, **_data_attrs(log)}
    if grid == "healpix":
        v = field.log_density if log else field.density
        scheme = _SCHEMES[field.nest]
        xdggs_attrs = {"grid_name": "healpix", "level": int(math.log2(field.nside)), "indexing_scheme": scheme}
        grid_attrs = {**xdggs_attrs, "nside": field.nside}
        coords = {"cell_ids": ("cell", np.arange(field.npix), xdggs_attrs),
                  "lat": ("cell", field.lat.copy(), _LAT_ATTRS), "lon": ("cell", field.lon.copy(), _LON_ATTRS)}
        coords.update(_condition_coord(field))
        return xr.DataArray(v.copy(), dims=lead + ("cell",), coords=coords, name=name, attrs={**attrs, **grid_attrs})
    if grid != "latlon":
        raise ValueError(f"`grid` must be 'healpix' or 'latlon', got {grid!r}")
    rows = field.log_density if field.is_batch else field.log_density[None]
    lat, lon, out = healpix_to_grid(rows, field.nside, field.nest, resolution_deg, method)
    out = out if field.is_batch else out[0]
    if descending_lat:
        lat, out = lat[::-1], out[..., ::-1, :]
    coords = {"lat": ("lat", lat, _LAT_ATTRS), "lon": ("lon", lon, _LON_ATTRS), **_condition_coord(field)}
    attrs["cell_methods"] = "area: mean"
    da = xr.DataArray(out if log else np.exp(out), dims=lead + ("lat", "lon"), coords=coords, name=name, attrs=attrs)
    from .raster import with_grid_mapping

    return with_grid_mapping(da)


def _from_dataarray(da, nside: int | None = None) -> SphericalField:
    kind = da.attrs.get("shdd_kind", "log_density" if da.name == "log_density" else "density")
    labels = None
    for dim in _BATCH_DIMS:
        if dim in da.dims and dim in da.coords:
            labels = [v.item() if hasattr(v, "item") else v for v in da[dim].values]
    if da.dims[-1] == "cell":
        nest = da.attrs.get("indexing_scheme", "ring") == "nested"
        return SphericalField(da.values, kind=kind, nest=nest, labels=labels)
    if da.dims[-2:] == ("lat", "lon"):
        if da.sizes["lat"] > 1 and da["lat"].values[0] > da["lat"].values[-1]:
            da = da.isel(lat=slice(None, None, -1))  # north-up grid
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


def to_netcdf(field: SphericalField, path, *, dtype: str = "float64", compress: bool = True) -> None:
    """Write a field (or batch along ``query``) to CF-1.10 NetCDF-4, atomically.

    The log-density is stored in float64 by default, so :func:`open_field`
    returns the identical field (values, grid, labels and attrs);
    ``dtype="float32"`` halves the file.  Arrays are compressed (zlib +
    shuffle) unless ``compress=False``.  See :mod:`shdd_geo.io.healpix_nc`
    for the CF and xdggs attributes.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "u.nc")
    >>> to_netcdf(SphericalField.uniform(2), p); os.path.exists(p)
    True
    """
    from .healpix_nc import netcdf_encoding, prepare_cf

    ds = prepare_cf(_to_dataset(field), field)
    enc = netcdf_encoding(ds, dtype=dtype, compress=compress)
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
