"""
Anchor sets and great-circle metrics
====================================

*Anchors* are points on the sphere with area weights (summing to ``4 pi``):
the KL loss compares densities on them and the decoders search them.  This
tutorial builds the four kinds that :mod:`shdd_geo.anchors` offers (HEALPix,
Fibonacci, uniform random and a regular lat/lon grid), compares their spacing,
weights and quadrature accuracy, then scores a toy set of predictions with
the metrics of :mod:`shdd_geo.metrics`.
"""

# %%
# Four anchor sets of similar size
# --------------------------------
import matplotlib.pyplot as plt
import numpy as np
from scipy.integrate import quad
from scipy.spatial import cKDTree

import shdd_geo as sg
from shdd_geo.coords import latlon_to_xyz, xyz_to_latlon
from shdd_geo.sh import zonal_kernel

sets = {
    "healpix(8)": sg.anchors.healpix(8),
    "fibonacci(768)": sg.anchors.fibonacci(768),
    "uniform(768, rng=0)": sg.anchors.uniform(768, rng=0),
    "grid(7.5)": sg.anchors.grid(7.5),
}
for name, a in sets.items():
    print(f"{name:20s} n={a.n:5d}  sum(w)/4pi={a.weights.sum() / (4 * np.pi):.12f}  "
          f"equal_area={a.equal_area}  spacing_km={a.spacing_km:.0f}")

fig, axes = plt.subplots(2, 2, figsize=(9, 5), sharex=True, sharey=True, constrained_layout=True)
for ax, (name, a) in zip(axes.flat, sets.items()):
    ax.scatter(a.lon, a.lat, s=30 * a.weights / a.weights.max(), c=a.weights, cmap="viridis")
    ax.set_title(f"{name}: {a.n} anchors", fontsize=9)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
for ax in axes[1]:
    ax.set_xlabel("longitude [deg]")
for ax in axes[:, 0]:
    ax.set_ylabel("latitude [deg]")
fig.suptitle("marker size and colour: area weight")

# %%
# Spacing: distance to the nearest neighbour
# ------------------------------------------
# Equal-area constructions are regular: HEALPix and Fibonacci points have
# nearly the same nearest-neighbour distance everywhere.  Uniform random
# points clump and leave holes; the lat/lon grid crowds towards the poles,
# which is why its cells carry smaller weights there.
fig, ax = plt.subplots(figsize=(6, 3.4), constrained_layout=True)
bins = np.linspace(0, 1400, 57)
for name, a in sets.items():
    dist, _ = cKDTree(a.xyz).query(a.xyz, k=2)
    nn_km = 2 * np.arcsin(dist[:, 1] / 2) * sg.EARTH_RADIUS_KM  # chord -> arc
    ax.hist(nn_km, bins=bins, histtype="step", lw=1.5, label=name)
    print(f"{name:20s} nearest neighbour [km]: min {nn_km.min():6.0f}  "
          f"median {np.median(nn_km):6.0f}  max {nn_km.max():6.0f}")
ax.set(xlabel="distance to the nearest anchor [km]", ylabel="anchors")
ax.legend(fontsize=8)

# %%
# Weights make sums into integrals
# --------------------------------
# With weights ``w_i``, ``sum_i w_i g(a_i)`` approximates the integral of
# ``g`` over the sphere.  Take ``g = exp(f)`` for the SHDD function of a point
# at ``L = 8``: its integral ``Z`` is known in closed form up to a 1-D
# integral, ``Z = 2 pi int_{-1}^{1} exp(K_L(t)) dt``.  The Fibonacci lattice
# is the best quadrature here; HEALPix centres (equal weights) and the grid
# (exact cell areas) converge steadily; random points converge slowly and
# erratically (Monte Carlo, about ``1/sqrt(n)``), which is why the training
# loss draws fresh random anchors for every mini-batch rather than trusting
# one draw.
L_q = 8
Z_exact = 2 * np.pi * quad(lambda t: np.exp(zonal_kernel(t, L_q)), -1, 1, epsabs=0, epsrel=1e-13)[0]
e8 = sg.encode([37.0], [-122.0], L=L_q)[0]

builders = {  # k -> list of anchor sets (random points: 8 independent draws)
    "healpix": lambda k: [sg.anchors.healpix(4 * 2**k)],
    "fibonacci": lambda k: [sg.anchors.fibonacci(192 * 4**k)],
    "uniform (rms of 8)": lambda k: [sg.anchors.uniform(192 * 4**k, rng=100 * k + s) for s in range(8)],
    "grid": lambda k: [sg.anchors.grid(15.0 / 2**k)],
}
fig, ax = plt.subplots(figsize=(6, 3.4), constrained_layout=True)
for name, build in builders.items():
    ns, errs = [], []
    for k in range(4):
        rel = [np.sum(a.weights * np.exp(a.basis(L_q) @ e8)) / Z_exact - 1 for a in build(k)]
        ns.append(build(k)[0].n)
        errs.append(float(np.sqrt(np.mean(np.square(rel)))))
    ax.loglog(ns, errs, "o-", label=name)
    print(f"{name:18s} " + "  ".join(f"n={n}: {err:.1e}" for n, err in zip(ns, errs)))
ax.set(xlabel="number of anchors", ylabel="relative error of Z", title=f"quadrature of exp(f), L = {L_q}")
ax.legend(fontsize=8)

# %%
# Great-circle distances and accuracy thresholds
# ----------------------------------------------
# A toy geolocation problem: 2000 true locations uniform on the sphere, and
# predictions displaced in a random direction by a log-normally distributed
# distance (median 300 km).  :func:`shdd_geo.great_circle_km` measures the
# errors; :func:`shdd_geo.accuracy_within` gives the fraction within the
# usual thresholds (1, 25, 200, 750 and 2500 km) and
# :func:`shdd_geo.metrics.summarize` everything at once, GeoScore included.
rng = np.random.default_rng(0)
truth = sg.anchors.uniform(2000, rng=rng)
shift_km = rng.lognormal(np.log(300.0), 1.2, truth.n)


def displace(lat, lon, dist_km, rng):
    """Move points by ``dist_km`` along random great circles."""
    x = latlon_to_xyz(lat, lon)
    t = rng.normal(size=x.shape)
    t -= np.sum(t * x, axis=1, keepdims=True) * x  # tangent direction
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    ang = (dist_km / sg.EARTH_RADIUS_KM)[:, None]
    return xyz_to_latlon(np.cos(ang) * x + np.sin(ang) * t)


pred_lat, pred_lon = displace(truth.lat, truth.lon, shift_km, rng)
err_km = sg.great_circle_km(pred_lat, pred_lon, truth.lat, truth.lon)
print("max |error - displacement| [km]:", float(np.abs(err_km - shift_km).max()))
print("accuracy_within:", sg.accuracy_within(pred_lat, pred_lon, truth.lat, truth.lon))
summary = sg.metrics.summarize(pred_lat, pred_lon, truth.lat, truth.lon)
print({k: round(v, 3) for k, v in summary.items()})

fig, ax = plt.subplots(figsize=(6, 3.4), constrained_layout=True)
d_sorted = np.sort(err_km)
ax.semilogx(d_sorted, np.arange(1, d_sorted.size + 1) / d_sorted.size)
for t, acc in sg.accuracy_within(pred_lat, pred_lon, truth.lat, truth.lon).items():
    ax.plot([t], [acc], "ko")
    ax.annotate(f"{t} km: {acc:.2f}", (t, acc), textcoords="offset points", xytext=(5, -12), fontsize=8)
ax.set(xlabel="error [km]", ylabel="fraction within", title="accuracy vs distance threshold")

# %%
# Centre or median of several guesses
# -----------------------------------
# LocDiffusion draws several samples per query and combines them.  The
# geographic centre (normalised mean of unit vectors) is pulled by an outlier;
# the spherical geometric median is not.
guess_lat = np.r_[48.8566 + rng.normal(0, 0.3, 10), 40.7128]
guess_lon = np.r_[2.3522 + rng.normal(0, 0.3, 10), -74.0060]
for name, fn in (("geographic_centre", sg.geographic_centre), ("geometric_median", sg.geometric_median)):
    c_lat, c_lon = fn(guess_lat, guess_lon)
    d = float(sg.great_circle_km(c_lat, c_lon, 48.8566, 2.3522))
    print(f"{name:18s} ({float(c_lat):7.3f}, {float(c_lon):8.3f})  {d:7.1f} km from Paris")

plt.show()
