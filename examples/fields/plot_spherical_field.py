"""
Spherical fields: modes, credible regions, files and maps
=========================================================

A :class:`~shdd_geo.SphericalField` holds a probability density on the sphere
(its log, at the pixels of a HEALPix grid).  It is what
:meth:`LocDiffusion.predict_field <shdd_geo.LocDiffusion.predict_field>` and
the built-in place-name model return.  This tutorial builds one by hand from
SHDD coefficients, asks it the usual questions (where are the modes, how much
mass do they hold, how large is the 90 % credible region, how likely is a
given point), writes it to NetCDF and GeoJSON, reads it back and draws it.
"""

# %%
# A field from SHDD coefficients
# ------------------------------
# The SHDD encoding is linear in the Dirac delta it expands, so the
# coefficients of a two-point mixture ``w delta_p + (1 - w) delta_q`` are
# ``w E(p) + (1 - w) E(q)``.  Take Paris (France) and Paris (Texas), with a
# slight preference for the first.  The density of a coefficient vector ``e``
# is ``exp(f_e) / Z``: :meth:`~shdd_geo.SphericalField.from_shdd` synthesises
# ``f_e`` on a HEALPix grid (``nside = 64``: 49,152 pixels of about 110 km)
# and normalises it in log space.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import shdd_geo as sg

paris_fr = (48.8566, 2.3522)
paris_tx = (33.6609, -95.5555)
L = 23
E = sg.encode([paris_fr[0], paris_tx[0]], [paris_fr[1], paris_tx[1]], L=L)
e = 0.51 * E[0] + 0.49 * E[1]

field = sg.SphericalField.from_shdd(e, nside=64)
print(field)
print(f"integral {field.integral():.6f}, pixel {field.pixel_area_km2:,.0f} km^2, "
      f"resolution {field.resolution_km:.0f} km")

# %%
# Because the density is ``exp(f)``, a small tilt of the coefficients moves a
# lot of mass: ``f`` peaks at ``(L+1)**2 / (4 pi)``, about 46 at ``L = 23``,
# so a 2 % difference in weight becomes a factor of ``exp(0.02 * 46)``, about
# 2.5, between the two peaks.

# %%
# Modes
# -----
# :meth:`~shdd_geo.SphericalField.modes` returns the separated local maxima,
# densest first, with the probability mass of each one's basin (the part of
# the map that climbs to it; ``radius_km=`` gives the mass within a distance
# instead).  It is a dict of columns; ``pandas.DataFrame`` makes a table of it.
modes = pd.DataFrame(field.modes(k=3, min_separation_km=1000))
print(modes[["lat", "lon", "mass", "log_density"]].round(3))

# %%
# The third "mode" is a ripple of the truncated expansion (a degree-``L``
# series rings like any truncated Fourier series); it holds no mass.  Always
# read modes together with their mass.

# %%
# Modes sit on pixel centres.  Point queries interpolate between pixels: the
# log-likelihood of a location is the log-density there, in ``log sr^-1``
# (add ``-2 log R`` with ``R`` in km for ``log km^-2``).
cities = {"Paris": paris_fr, "Paris TX": paris_tx, "Madrid": (40.4168, -3.7038),
          "Sydney": (-33.8688, 151.2093)}
lat = np.array([c[0] for c in cities.values()])
lon = np.array([c[1] for c in cities.values()])
for name, ll in zip(cities, field.log_likelihood(lat, lon)):
    print(f"{name:>8}: log-likelihood {ll:8.2f}")
print(f"entropy {field.entropy():.2f} nats (uniform: {np.log(4 * np.pi):.2f})")

# %%
# Credible regions
# ----------------
# The highest-density credible region at level ``a`` is the smallest set of
# (equal-area) pixels holding at least ``a`` of the probability.  Its mask,
# mass and area come with it, and :meth:`~shdd_geo.fields.CredibleRegion.contains`
# tells whether points fall inside.
for level in (0.5, 0.9):
    region = field.credible_region(level)
    inside = dict(zip(cities, region.contains(lat, lon)))
    print(f"{level:.0%} region: mass {region.mass:.3f}, area {region.area_km2:,.0f} km^2, "
          f"{region.mask.sum()} pixels, contains {[k for k, v in inside.items() if v]}")

# %%
# Draw a few samples from the density (a pixel by its probability, then a
# uniform point inside it) and check that about 90 % land in the 90 % region.
s_lat, s_lon = field.sample(2000, rng=np.random.default_rng(0))
print(f"samples in the 90% region: {field.credible_region(0.9).contains(s_lat, s_lon).mean():.3f}")

# %%
# NetCDF and GeoJSON
# ------------------
# :meth:`~shdd_geo.SphericalField.to_netcdf` writes the HEALPix values with
# CF attributes (atomically: a failed write leaves nothing behind) and
# :func:`shdd_geo.open_field` reads them back exactly.
# :meth:`~shdd_geo.SphericalField.to_geojson` writes the credible regions as
# (Multi)Polygons and the modes as Points, in RFC 7946's (lon, lat) order;
# any GIS reads it, here geopandas.
import geopandas as gpd

with tempfile.TemporaryDirectory() as tmp:
    nc = Path(tmp) / "paris.nc"
    field.to_netcdf(nc)
    back = sg.open_field(nc)
    print(f"{nc.name}: {nc.stat().st_size / 1024:.0f} KiB, identical: "
          f"{np.array_equal(back.log_density, field.log_density)}, attrs {dict(back.attrs)}")

    gj = Path(tmp) / "paris.geojson"
    field.to_geojson(gj, levels=(0.5, 0.9), modes=2, min_separation_km=1000)
    regions = gpd.read_file(gj)
    print(f"{gj.name}: {gj.stat().st_size / 1024:.0f} KiB")
    print(regions.drop(columns="geometry").round(3).to_string())
    print(regions.geometry.geom_type.tolist())

# %%
# A map
# -----
# :meth:`~shdd_geo.SphericalField.plot` draws the density, the credible-region
# contours and the modes on a cartopy map.  The Natural Earth coastlines and
# borders ship with the package, so this works offline.  On a whole-globe map
# the peaks are small; ``log=True`` shades the log-density over a few
# decades, which shows the tails too.
ax = field.plot(log=True, log_decades=5, levels=(0.9,), modes=2, min_separation_km=1000,
                title="w E(Paris) + (1 - w) E(Paris, TX), w = 0.51, L = 23")

# %%
# Zoom in with ``extent`` (lon_min, lon_max, lat_min, lat_max); contours mark
# the 50 % and 90 % credible regions and ``true_point`` a known location.
ax = field.plot(projection="platecarree", extent=(-110, 20, 20, 65), levels=(0.5, 0.9),
                modes=2, min_separation_km=1000, true_point=paris_fr,
                title="density, 50% and 90% credible regions, Paris (star)")

# %%
# What the weight does
# --------------------
# The mass of each mode as the mixture weight ``w`` moves from 0.45 to 0.55:
# the exponential turns a small change of coefficients into a decisive one,
# which is why the diffusion model's samples, not one averaged vector, are the
# right way to represent several plausible places (see
# :doc:`/auto_examples/model/plot_train_locdiffusion`).
weights = np.linspace(0.45, 0.55, 11)
mass = np.array([sg.SphericalField.from_shdd(w * E[0] + (1 - w) * E[1], nside=32)
                 .modes(k=2, min_separation_km=1000) for w in weights], dtype=object)
fr = [m["mass"][np.argmax(m["lon"])] for m in mass]       # the eastern mode is Paris, France
tx = [m["mass"][np.argmin(m["lon"])] for m in mass]
fig, ax = plt.subplots(figsize=(5.5, 3.2), constrained_layout=True)
ax.plot(weights, fr, "o-", label="Paris (France)")
ax.plot(weights, tx, "s-", label="Paris (Texas)")
ax.set(xlabel="weight w of Paris (France)", ylabel="probability mass of the mode",
       title="a mixture of two encodings")
ax.legend()
plt.show()
