"""Plotting: maps of fields (cartopy) and grids of image tiles (matplotlib).

* :mod:`~shdd_geo.plotting.maps` -- :func:`plot_field` and :func:`save_map` (PNG), drawn offline with the
  bundled Natural Earth coastlines (``SphericalField.plot`` calls it);
* :mod:`~shdd_geo.plotting.tiles` -- :func:`plot_tiles` for the Blue Marble
  tiles of :mod:`shdd_geo.datasets.bluemarble`;
* :mod:`~shdd_geo.plotting.reliability` -- :func:`plot_reliability`, coverage
  of credible regions against their requested level (matplotlib only).

matplotlib and cartopy are imported by the functions, not by this package.

Examples
--------
>>> natural_earth_dir().name
'naturalearth'
"""

from .maps import natural_earth_dir, plot_field, save_map, use_offline_natural_earth
from .reliability import plot_reliability
from .tiles import plot_tiles

__all__ = ["natural_earth_dir", "plot_field", "plot_reliability", "plot_tiles", "save_map", "use_offline_natural_earth"]
