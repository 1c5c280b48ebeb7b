"""
Geolocating place names with the built-in model
===============================================

``shdd_geo`` ships one trained model, ``geonames-minilm``: a place name goes
through the offline MiniLM sentence encoder, and a LocDiffusion model trained
on the names of every GeoNames place with at least 1,000 inhabitants turns
the embedding into a density on the sphere (see :doc:`/pretrained`).  A name
shared by many towns ("Springfield") should get a density with many modes.
Nothing is downloaded: the encoder and the weights are installed with the
package.  This is what ``shdd-geo locate`` does on the command line
(:doc:`/cli`).
"""

# %%
# Load the model
# --------------
# :func:`shdd_geo.pretrained.load` returns a
# :class:`~shdd_geo.pretrained.Geolocator`: the text encoder plus the fitted
# :class:`~shdd_geo.LocDiffusion`, with ``predict``, ``predict_field`` and
# ``locate`` taking raw strings.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import shdd_geo as sg
from shdd_geo import pretrained

print(pretrained.available())
geo = pretrained.load("geonames-minilm")
print(geo)
print(geo.card.description)

# %%
# Points
# ------
# :meth:`~shdd_geo.pretrained.Geolocator.predict` gives one ``(lat, lon)``
# per name: by default the densest of 16 decoded samples.  Compare it with
# the most populous GeoNames place of that name (what a reader usually
# means; the model may well prefer a namesake).
names = ["Paris", "Kyoto", "San José", "Cambridge", "Springfield"]
lat, lon = geo.predict(names, n_samples=16, generator=0)

gazetteer = sg.datasets.load_geonames(15000)
for name, a, b in zip(names, lat, lon):
    same = gazetteer[gazetteer["text"] == name].sort_values("population", ascending=False)
    if len(same):
        top = same.iloc[0]
        d = float(sg.great_circle_km(a, b, top["lat"], top["lon"]))
        ref = f"largest {name} ({top['country']}) {d:,.0f} km away; places of that name: {len(same)}"
    else:
        ref = "no place of that name with >= 15,000 inhabitants"
    print(f"{name:>12} -> ({a:6.2f}, {b:7.2f})   {ref}")

# %%
# Modes and nearest places
# ------------------------
# :meth:`~shdd_geo.pretrained.Geolocator.locate` returns the density map of
# one name and its ``k`` most probable separated modes, each with its
# probability mass and the nearest known place (a GeoNames town of at least
# 15,000 inhabitants), which is how ``shdd-geo locate`` prints its answers.
result = geo.locate("Springfield", k=6, generator=0)
table = pd.DataFrame(result["modes"])
print(table.round({"lat": 2, "lon": 2, "mass": 3, "place_km": 0}).to_string())

# %%
# The real Springfields, for comparison: the places of that name in the
# gazetteer the model names modes with, by country.
springfields = gazetteer[gazetteer["text"] == "Springfield"]
print(springfields.groupby("country").size().rename("places").to_string())

# %%
# The map
# -------
# The field is a :class:`~shdd_geo.SphericalField`: everything from
# :doc:`/auto_examples/fields/plot_spherical_field` applies.  The map shows
# the density, the 50 % and 90 % credible regions, the modes, and the
# Springfields of the gazetteer (black dots).  The map mixes the samples'
# density with the model's location prior (where GeoNames places are at all;
# its weight ``geo.model.prior_weight_`` was calibrated on held-out places),
# which keeps names the samples miss inside the credible regions;
# ``geo.locate(..., prior_weight=0)`` maps the samples' density alone.  The
# listed modes never come from the prior.
import cartopy.crs as ccrs  # noqa: E402

field = result["field"]
ax = field.plot(log=True, log_decades=4, levels=(0.5, 0.9), modes=3,
                title="'Springfield': density, 50% and 90% credible regions")
ax.scatter(springfields["lon"], springfields["lat"], s=8, color="k", transform=ccrs.PlateCarree(),
           zorder=5, label="Springfields (>= 15,000 inhabitants)")
ax.legend(loc="lower left", fontsize=7)
r90 = field.credible_region(0.9)
print(f"90% region: {r90.area_km2:,.0f} km^2; holds {int(r90.contains(springfields['lat'], springfields['lon']).sum())} "
      f"of the {len(springfields)} Springfields")

# %%
# Several names at once
# ---------------------
# :meth:`~shdd_geo.pretrained.Geolocator.predict_field` maps a list of names
# to a batch of fields labelled with the names; a batch converts to one
# xarray DataArray with a ``query`` dimension, ready for
# ``to_netcdf``.
fields = geo.predict_field(["Kyoto", "Cambridge"], nside=32, n_samples=32, generator=0)
da = fields.to_xarray("latlon", resolution_deg=2.0)
print(da.dims, da["query"].values.tolist())
for name, f in zip(fields.labels, fields):
    m = f.modes(k=2, min_separation_km=1000)
    modes = ", ".join(f"({a:.1f}, {b:.1f}) mass {w:.3f}" for a, b, w in zip(m["lat"], m["lon"], m["mass"]))
    print(f"{name}: modes {modes}; 90% region {f.credible_region(0.9).area_km2:,.0f} km^2")

fig, axes = plt.subplots(1, 2, figsize=(10, 3), subplot_kw={"projection": ccrs.Robinson()},
                         constrained_layout=True)
for ax, name, f in zip(axes, fields.labels, fields):
    f.plot(ax=ax, log=True, log_decades=4, levels=(0.9,), modes=2, colorbar=False, borders=False,
           title=repr(name))
plt.show()
