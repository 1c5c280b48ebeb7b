"""
Credible regions that mean what they say
========================================

A "90 % credible region" of a predicted map should hold the true location for
90 % of the queries.  Most models miss that: maps that are too sharp
under-cover, maps that are too wide over-cover.  Split conformal calibration
(:class:`~shdd_geo.calibration.ConformalLevels`) fixes the levels for any
model that draws :class:`~shdd_geo.SphericalField` maps: every model's
``calibrate(X, lat, lon)`` scores held-out truths under its own maps and
stores the level map that its later maps carry (``conformal_``).  This example
calibrates two baselines on synthetic data and draws their reliability
diagrams (:func:`shdd_geo.plotting.plot_reliability`): coverage against the
requested level, with the mean area of the regions written beside the curves.
"""

# %%
# The data
# --------
# Twenty conditions, each with two or three possible places; every row is a
# noisy copy of its condition's embedding and one of its places, a few
# hundred kilometres off.
import matplotlib.pyplot as plt
import numpy as np

from shdd_geo.baselines import CellClassifier, UnitVectorRegression
from shdd_geo.calibration import reliability

rng = np.random.default_rng(0)
n_cond, dim = 20, 16
prototypes = rng.normal(size=(n_cond, dim))
places = [(np.degrees(np.arcsin(rng.uniform(-0.8, 0.9, k))), rng.uniform(-180, 180, k))
          for k in rng.integers(2, 4, n_cond)]


def make_rows(n):
    """``n`` rows: embeddings (n, dim) float32, lat, lon [deg]."""
    cond = rng.integers(0, n_cond, n)
    X = (prototypes[cond] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)
    pick = [rng.integers(len(places[c][0])) for c in cond]
    lat = np.array([places[c][0][j] for c, j in zip(cond, pick)]) + rng.normal(0, 3, n)
    lon = np.array([places[c][1][j] for c, j in zip(cond, pick)]) + rng.normal(0, 3, n)
    return X, np.clip(lat, -89, 89), (lon + 180) % 360 - 180


X, lat, lon = make_rows(1200)           # training rows
X_cal, lat_cal, lon_cal = make_rows(400)  # held-out rows that calibrate
X_test, lat_test, lon_test = make_rows(400)

# %%
# Two baselines
# -------------
# Regression to a unit vector draws one von Mises-Fisher bump per query:
# with two or three possible places it cannot cover them all.  The HEALPix
# cell classifier spreads its probability over cells; mixing in 1 % of a
# uniform map (``uniform_weight``) lets its regions reach every place.
regression = UnitVectorRegression(hidden=(64,), epochs=15, lr=3e-3, random_state=0).fit(X, lat, lon)
cells = CellClassifier(nside=8, hidden=(64,), epochs=15, lr=3e-3, random_state=0).fit(X, lat, lon)

raw = {"regression": regression.predict_field(X_test, nside=16),
       "cells": cells.predict_field(X_test, nside=16, uniform_weight=0.01)}

# %%
# Calibrate
# ---------
# ``calibrate`` takes the held-out rows and the same keyword arguments as
# ``predict_field``; maps drawn with those arguments carry the level map
# (any ``nside``).  The regression's ``calibrate`` also refits its
# concentration ``kappa_`` on these rows first.
regression.calibrate(X_cal, lat_cal, lon_cal, nside=16)
cells.calibrate(X_cal, lat_cal, lon_cal, nside=16, uniform_weight=0.01)
print(regression.conformal_, cells.conformal_, sep="\n")
calibrated = {"regression": regression.predict_field(X_test, nside=16),
              "cells": cells.predict_field(X_test, nside=16, uniform_weight=0.01)}

# %%
# Reliability diagrams
# --------------------
# Raw regions (blue) against calibrated ones (red) on the test rows.  The
# conformal curve follows the diagonal; the areas show what it costs.
from shdd_geo.plotting import plot_reliability  # noqa: E402

fig, axes = plt.subplots(1, 2, figsize=(10, 5))
for ax, name in zip(axes, calibrated):
    plot_reliability(calibrated[name], lat_test, lon_test, ax=ax, title=name)
fig.tight_layout()

# %%
# The same numbers as a table: coverage and mean area of the 90 % region.
for name, f in calibrated.items():
    r = reliability(f, lat_test, lon_test, levels=(0.9,))
    print(f"{name:>10}: 90 % region covers {r['coverage_raw'][0]:.0%} raw ({r['area_km2_raw'][0] / 1e6:.1f} M km²), "
          f"{r['coverage'][0]:.0%} calibrated ({r['area_km2'][0] / 1e6:.1f} M km²)")

# %%
# When test places lie in regions without training data (a spatial
# hold-out), calibration rows near the training data are not exchangeable
# with them and the regions under-cover again: calibrate on held-out regions
# then (the ``val`` cells of :func:`shdd_geo.datasets.spatial_split` for a
# model fitted on its ``train`` cells).  The study note
# ``docs/notes/calibration-2026-12.md`` measures both splits on GeoNames.
