"""Probability densities on the sphere: the HEALPix :class:`SphericalField`.

Modules, one concept each:

* :mod:`~shdd_geo.fields.field` -- :class:`SphericalField` (grid, values,
  point queries, analysis, sampling, arithmetic) and :func:`open_field`;
* :mod:`~shdd_geo.fields.construct` -- its constructors (``from_shdd``,
  ``from_samples``, ``from_function``, ``from_latlon_grid``, ``uniform``);
* :mod:`~shdd_geo.fields.grid` -- HEALPix grid helpers (healpy, cached);
* :mod:`~shdd_geo.fields.kde` -- kernel density estimates and bandwidths;
* :mod:`~shdd_geo.fields.regrid` -- HEALPix <-> lat/lon regridding, interpolation;
* :mod:`~shdd_geo.fields.modes` -- local maxima and their basins;
* :mod:`~shdd_geo.fields.regions` -- highest-density credible regions.

IO lives in :mod:`shdd_geo.io` (``netcdf``, ``geojson``), maps in
:mod:`shdd_geo.plotting`.

Examples
--------
>>> from shdd_geo.fields import SphericalField
>>> round(SphericalField.uniform(4).normalize().integral(), 12)
1.0
"""

from .field import SphericalField, open_field
from .regions import CredibleRegion

__all__ = ["CredibleRegion", "SphericalField", "open_field"]
