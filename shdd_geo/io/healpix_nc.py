"""HEALPix fields in files other tools read: CF-1.10 NetCDF, xdggs and healpy FITS.

:meth:`~shdd_geo.SphericalField.to_netcdf` writes a CF-1.10 file (the
``compliance-checker`` reports no errors): ``log_density`` on ``(query,)
cell``, the ``cell_ids`` coordinate with ``long_name`` and the grid
parameters xdggs reads (``grid_name="healpix"``, ``level``,
``indexing_scheme``), ``lat``/``lon`` of the pixel centres, global
``history``, stored with zlib + shuffle (float64 by default, exact round
trip; ``dtype="float32"`` halves the file and rounds the log-density to
~1e-7 relative).

xdggs' own convention takes *every* attribute of ``cell_ids`` as a grid
parameter, so CF's ``long_name`` there makes a plain ``xdggs.decode(ds)``
fail; :func:`open_xdggs` opens such a file with the grid parameters only,
and a field's in-memory ``to_xarray()`` carries exactly those (so
``xdggs.decode(field.to_xarray())`` works as it is).

Examples
--------
>>> import os, tempfile, shdd_geo as sg
>>> f = sg.SphericalField.uniform(2).normalize()
>>> p = os.path.join(tempfile.mkdtemp(), "u.nc"); f.to_netcdf(p)
>>> ds = open_xdggs(p)
>>> ds.dggs.grid_info.level, ds.dggs.grid_info.indexing_scheme
(1, 'ring')
"""

from __future__ import annotations

import datetime
import math
import os

import numpy as np

from .. import __version__
from .._atomic import atomic_write
from .._optional import attempt_import
from .._validation import check_bool

__all__ = ["XDGGS_KEYS", "netcdf_encoding", "open_xdggs", "prepare_cf", "to_fits"]

#: The attributes of ``cell_ids`` that xdggs reads as HEALPix grid parameters.
XDGGS_KEYS = ("grid_name", "level", "indexing_scheme")
_DTYPES = {"float64": np.float64, "float32": np.float32}


def _check_dtype(dtype) -> str:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        raise ValueError(f"`dtype` must be 'float64' (exact round trip) or 'float32', got {dtype!r}")
    return name


def prepare_cf(ds, field):
    """Complete a field's HEALPix Dataset for CF-1.10: ``cell_ids`` names, ``history``.

    Examples
    --------
    >>> import shdd_geo as sg
    >>> f = sg.SphericalField.uniform(1)
    >>> ds = prepare_cf(f.to_xarray(log=True).to_dataset(), f)
    >>> ds["cell_ids"].attrs["long_name"]
    'HEALPix cell index (RING ordering, nside 1)'
    """
    ds = ds.copy()
    ds["cell_ids"].attrs.update(long_name=f"HEALPix cell index ({field.ordering} ordering, nside {field.nside})",
                                units="1")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ds.attrs["history"] = f"{stamp} written by shdd_geo {__version__} (SphericalField.to_netcdf)"
    return ds


def netcdf_encoding(ds, *, dtype: str = "float64", compress: bool = True, complevel: int = 4) -> dict:
    """NetCDF-4 encoding: zlib + shuffle on every array, the data in ``dtype``, no fill values.

    Examples
    --------
    >>> import shdd_geo as sg
    >>> ds = sg.SphericalField.uniform(1).to_xarray(log=True).to_dataset()
    >>> netcdf_encoding(ds, dtype="float32")["log_density"]["dtype"]
    'float32'
    """
    dtype = _check_dtype(dtype)
    compress = check_bool(compress, "compress")
    comp = {"zlib": True, "shuffle": True, "complevel": int(complevel)} if compress else {}
    enc = {}
    for name in list(ds.data_vars) + [c for c in ds.coords if ds[c].ndim > 0]:
        enc[name] = {"_FillValue": None, **(comp if ds[name].size > 1 else {})}
    for name in ds.data_vars:
        enc[name]["dtype"] = dtype
    return enc


def open_xdggs(path):
    """Open a field's NetCDF as an xdggs-decoded ``xarray.Dataset`` (HEALPix index on ``cell_ids``).

    Examples
    --------
    >>> import os, tempfile, shdd_geo as sg
    >>> p = os.path.join(tempfile.mkdtemp(), "f.nc")
    >>> sg.SphericalField.uniform(4).reorder(True).to_netcdf(p)
    >>> open_xdggs(p).dggs.grid_info.nside
    4
    """
    xr = attempt_import("xarray", "xdggs interop")
    xdggs = attempt_import("xdggs", "xdggs interop")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`path` {os.fspath(path)!r} does not exist")
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    attrs = ds["cell_ids"].attrs if "cell_ids" in ds.variables else {}
    missing = [k for k in XDGGS_KEYS if k not in attrs]
    if missing:
        raise ValueError(f"`path` {os.fspath(path)!r} has no HEALPix `cell_ids` with {missing}")
    info = {k: attrs[k].item() if hasattr(attrs[k], "item") else attrs[k] for k in XDGGS_KEYS}
    return xdggs.decode(ds, grid_info=info)


def to_fits(field, path, *, unit: str = "sr-1") -> str:
    """Write the normalised density as a healpy FITS map (one column per field of a batch), atomically.

    ``healpy.read_map(path)`` returns it (RING or NESTED as stored, header
    ``ORDERING``); values are float64 densities [sr^-1], or [km^-2] with
    ``unit="km-2"``.

    Examples
    --------
    >>> import os, tempfile, healpy as hp, numpy as np, shdd_geo as sg
    >>> f = sg.SphericalField.from_shdd(sg.encode([10.0], [20.0], L=8)[0], nside=8)
    >>> p = to_fits(f, os.path.join(tempfile.mkdtemp(), "f.fits"))
    >>> m = hp.read_map(p)
    >>> bool(np.allclose(m, f.normalize().density))
    True
    """
    hp = attempt_import("healpy", "FITS export")
    from .raster import DENSITY_UNITS

    if unit not in DENSITY_UNITS:
        raise ValueError(f"`unit` must be one of {sorted(DENSITY_UNITS)}, got {unit!r}")
    scale = DENSITY_UNITS[unit]
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}")
    maps = np.atleast_2d(field.normalize().density) * scale
    names = [str(x)[:68] for x in field.labels] if field.is_batch and field.labels is not None else None
    extra = [("BUNIT", unit, "probability density"), ("LEVEL", int(math.log2(field.nside)), "HEALPix level")]
    if "model" in field.attrs:
        extra.append(("MODEL", str(field.attrs["model"])[:68], "shdd_geo model"))

    def write(tmp: str) -> None:
        hp.write_map(tmp, list(maps) if field.is_batch else maps[0], nest=field.nest, dtype=np.float64,
                     overwrite=True, column_names=names, column_units=unit, extra_header=extra)

    return atomic_write(path, write)
