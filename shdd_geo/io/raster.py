"""Fields as georeferenced rasters: CF lat/lon grids and Cloud-Optimised GeoTIFFs.

The lat/lon grid of :meth:`~shdd_geo.SphericalField.to_xarray` (``grid="latlon"``)
carries a CF ``grid_mapping`` variable ``crs`` (``latitude_longitude``, the
WGS 84 ellipsoid of EPSG:4326, with ``crs_wkt`` when pyproj is installed), so
GDAL, QGIS and rioxarray read its coordinate system from a NetCDF file.
The field itself lives on a sphere; its latitudes and longitudes are used
as EPSG:4326 coordinates, as GIS software expects.

:func:`to_raster` writes a north-up GeoTIFF in the COG layout (tiled,
DEFLATE, overviews) with rioxarray/rasterio: one band per field of a batch,
band descriptions = the queries, nodata NaN.  Values are the density per
steradian (``unit="sr-1"``, default, the unit of every other export) or per
km^2 (``"km-2"``, = sr^-1 / R^2 with R = 6371.0088 km).  The probability in
a cell is ``density * cell area`` with the cell's area on the sphere
``dlon * (sin lat_north - sin lat_south)`` [sr].

Examples
--------
>>> import shdd_geo as sg
>>> f = sg.SphericalField.uniform(4).normalize()
>>> da = f.to_xarray("latlon", resolution_deg=30)
>>> da.attrs["grid_mapping"], str(da["crs"].attrs["grid_mapping_name"])
('crs', 'latitude_longitude')
"""

from __future__ import annotations

import math
import os

import numpy as np

from .._atomic import atomic_write, temp_dir_beside
from .._optional import attempt_import
from ..coords import EARTH_RADIUS_KM

__all__ = ["DENSITY_UNITS", "cell_area_sr", "to_raster", "with_grid_mapping"]

_WGS84 = {"grid_mapping_name": "latitude_longitude", "long_name": "coordinate reference system (EPSG:4326)",
          "semi_major_axis": 6378137.0, "inverse_flattening": 298.257223563,
          "longitude_of_prime_meridian": 0.0}
#: Density units of the exports and the factor from sr^-1 to each.
DENSITY_UNITS = {"sr-1": 1.0, "km-2": 1.0 / EARTH_RADIUS_KM**2}


def _crs_attrs() -> dict:
    attrs = dict(_WGS84)
    try:
        import pyproj
    except ImportError:  # pragma: no cover - pyproj comes with geopandas
        return attrs
    wkt = pyproj.CRS.from_epsg(4326).to_wkt()
    return {**attrs, "crs_wkt": wkt, "spatial_ref": wkt}  # spatial_ref: the name GDAL also reads


def with_grid_mapping(da):
    """A lat/lon DataArray with a CF ``crs`` grid-mapping coordinate and ``grid_mapping="crs"``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 3)), dims=("lat", "lon"), coords={"lat": [-45, 45], "lon": [-120, 0, 120]})
    >>> with_grid_mapping(da).attrs["grid_mapping"]
    'crs'
    """
    xr = attempt_import("xarray", "lat/lon grids")
    out = da.assign_coords(crs=xr.Variable((), np.int32(0), _crs_attrs()))
    out.attrs["grid_mapping"] = "crs"
    for name in ("lat", "lon"):  # CF: coordinate variables carry no _FillValue
        out[name].encoding["_FillValue"] = None
    return out


def cell_area_sr(lat, resolution_deg: float) -> np.ndarray:
    """Area [sr] of grid cells centred at latitudes ``lat`` [deg], ``resolution_deg`` wide.

    Examples
    --------
    >>> import numpy as np
    >>> lat = np.arange(-89.5, 90.0, 1.0)
    >>> round(float(cell_area_sr(lat, 1.0).sum() * 360), 10) == round(4 * np.pi, 10)
    True
    """
    r = math.radians(float(resolution_deg))
    la = np.radians(np.asarray(lat, dtype=np.float64))
    return r * (np.sin(np.minimum(la + r / 2, math.pi / 2)) - np.sin(np.maximum(la - r / 2, -math.pi / 2)))


def _check_unit(unit) -> float:
    if unit not in DENSITY_UNITS:
        raise ValueError(f"`unit` must be one of {sorted(DENSITY_UNITS)}, got {unit!r}")
    return DENSITY_UNITS[unit]


def to_raster(field, path, resolution_deg: float = 0.25, crs: str = "EPSG:4326", *,
              method: str = "conservative", unit: str = "sr-1") -> str:
    """Write the density as a north-up Cloud-Optimised GeoTIFF, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.tif``.
    resolution_deg : float
        Cell size [deg]; 180 must be a multiple of it (see ``to_xarray``).
    crs : str
        ``"EPSG:4326"``, the field's lat/lon grid (the only one written:
        reproject the file with ``gdalwarp`` or rioxarray for another CRS;
        the values are densities, so resample them, do not sum them).
    method : {"conservative", "bilinear"}
        Regridding from HEALPix, see :meth:`~shdd_geo.SphericalField.to_xarray`.
    unit : {"sr-1", "km-2"}
        Density per steradian (default) or per square kilometre.

    Returns
    -------
    str
        ``path``.

    Examples
    --------
    >>> import os, tempfile, rasterio, shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([35.0], [135.7], L=10)[0], nside=16)
    >>> p = to_raster(f, os.path.join(tempfile.mkdtemp(), "kyoto.tif"), resolution_deg=1.0)
    >>> with rasterio.open(p) as src:
    ...     src.crs.to_epsg(), src.shape, src.transform.e < 0, src.units
    (4326, (180, 360), True, ('sr-1',))
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    scale = _check_unit(unit)
    if str(crs).upper() not in ("EPSG:4326", "OGC:CRS84"):
        raise ValueError(f"`crs` must be 'EPSG:4326' (the field's lat/lon grid), got {crs!r}; reproject the "
                         "GeoTIFF afterwards (gdalwarp, rioxarray) for another CRS")
    attempt_import("rioxarray", "GeoTIFF export")  # registers the .rio accessor
    rasterio = attempt_import("rasterio", "GeoTIFF export")
    attempt_import("rasterio.shutil", "GeoTIFF export")
    da = field.to_xarray("latlon", resolution_deg=resolution_deg, method=method, descending_lat=True)
    da = (da * scale).astype(np.float32).drop_vars("crs")
    if field.is_batch:
        da = da.rename(query="band").assign_coords(band=np.arange(1, len(field) + 1))
    da = da.rio.set_spatial_dims(x_dim="lon", y_dim="lat").rio.write_crs("EPSG:4326")
    da = da.rio.write_nodata(np.nan, encoded=False)
    labels = [str(x) for x in field.labels] if field.is_batch and field.labels is not None else None
    query = field.attrs.get("text")
    tags = {"units": unit, "long_name": f"probability density per {'steradian' if unit == 'sr-1' else 'km^2'}",
            **({"model": str(field.attrs["model"])} if "model" in field.attrs else {}),
            **({"query": str(query)} if query is not None else {})}
    da.attrs = {"units": unit}
    if labels:
        da.attrs["long_name"] = tuple(labels)  # rioxarray writes these as band descriptions

    def write(tmp: str) -> None:
        # A plain GeoTIFF first (band units and descriptions set there), then GDAL's COG copy of it.
        with temp_dir_beside(tmp) as folder:
            inner = os.path.join(folder, "plain.tif")
            da.rio.to_raster(inner, driver="GTiff", tags=tags)
            with rasterio.open(inner, "r+") as dst:
                dst.units = [unit] * dst.count
            rasterio.shutil.copy(inner, tmp, driver="COG", compress="DEFLATE")

    return atomic_write(path, write)
