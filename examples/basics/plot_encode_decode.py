"""
Encoding a point, and what L does
=================================

A location is encoded by its SHDD vector: the real spherical harmonics up to
degree ``L`` at the point (the coefficients of a Dirac delta, truncated).  The
vector defines a function ``f`` on the sphere and a density
``q = exp(f) / Z``.  This tutorial encodes a point, looks at its density,
finds the point again, and shows how the truncation degree ``L`` sets the
width of the kernel, i.e. the resolution in kilometres.
"""

# %%
# Encode a point
# --------------
# :func:`shdd_geo.encode` takes latitudes and longitudes in degrees and
# returns one row of ``(L+1)**2`` float64 coefficients per point.
import matplotlib.pyplot as plt
import numpy as np

import shdd_geo as sg
from shdd_geo.sh import zonal_kernel

paris = (48.8566, 2.3522)
L = 23
e = sg.encode([paris[0]], [paris[1]], L=L)
print("encoding shape:", e.shape)

# %%
# The function ``f_e`` peaks at the encoded point with the value
# ``(L+1)**2 / (4 pi)`` and decays with the great-circle distance.  Evaluate
# it on a regular grid around Europe and compare it with the density, which is
# computed in log space (``f`` itself reaches 183 at ``L = 47``, and
# ``exp(183)`` overflows float32).
lat_g = np.arange(30.0, 70.01, 0.5)
lon_g = np.arange(-25.0, 35.01, 0.5)
LAT, LON = np.meshgrid(lat_g, lon_g, indexing="ij")
f = sg.evaluate(e[0], LAT.ravel(), LON.ravel()).reshape(LAT.shape)
print(f"peak of f: {f.max():.2f}  ((L+1)^2/4pi = {(L + 1) ** 2 / (4 * np.pi):.2f})")

log_q = f - f.max()  # log of the density relative to its peak
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
extent = (lon_g[0], lon_g[-1], lat_g[0], lat_g[-1])
im0 = axes[0].imshow(f, origin="lower", extent=extent, cmap="viridis")
axes[0].set_title(f"f_e at L = {L}")
fig.colorbar(im0, ax=axes[0], shrink=0.8)
im1 = axes[1].imshow(np.exp(log_q), origin="lower", extent=extent, cmap="magma")
axes[1].set_title("density exp(f) / peak")
fig.colorbar(im1, ax=axes[1], shrink=0.8)
for ax in axes:
    ax.plot(paris[1], paris[0], "w+", ms=10)
    ax.set_xlabel("longitude [deg]")
axes[0].set_ylabel("latitude [deg]")

# %%
# Find the point again
# --------------------
# On a set of *anchors* the density is a discrete distribution.  The anchor
# with the largest log-probability is the simplest decoder; its error is
# bounded by the anchor spacing (the decoders of the :doc:`method page
# </method>` refine it continuously).
anchors = sg.anchors.healpix(32)
log_p = sg.codec.log_density(e, anchors)[0]
best = int(np.argmax(log_p))
err = float(sg.great_circle_km(anchors.lat[best], anchors.lon[best], *paris))
print(f"{anchors}: best anchor ({anchors.lat[best]:.2f}, {anchors.lon[best]:.2f}), "
      f"error {err:.1f} km")

# %%
# The decoder of :mod:`shdd_geo.decoding` does better: it scores caps of
# anchors by their probability mass (the paper's mode-seeking decoder) and
# then refines the winner continuously, so an exact encoding comes back to
# float64 round-off, and a noisy one to within a few kilometres.
from shdd_geo.decoding import decode

lat_hat, lon_hat = decode(e[0])
print(f"decode(E(p)): error {float(sg.great_circle_km(lat_hat, lon_hat, *paris)):.1e} km")

rng = np.random.default_rng(0)
fig, ax = plt.subplots(figsize=(6, 3.2), constrained_layout=True)
for deg in (15, 23, 47):
    e_deg = sg.encode([paris[0]], [paris[1]], L=deg)
    noisy = e_deg + rng.normal(0.0, 0.1, size=(200, e_deg.shape[1]))  # N(0, 0.1^2) per coefficient
    d_km = sg.great_circle_km(*decode(noisy), *paris)
    ax.hist(d_km, bins=np.linspace(0, 60, 41), histtype="step", lw=1.5, label=f"L = {deg}")
    print(f"L = {deg:2d}: noise std 0.1 -> median decoding error {np.median(d_km):5.1f} km")
ax.set(xlabel="decoding error [km]", ylabel="encodings", title="decoding E(p) + noise")
ax.legend()

# %%
# The reverse KL divergence between the density of ``e`` and the encoding of
# a candidate location is zero at the truth and grows with distance: it is the
# training loss of LocDiffusion and the basis of the KL decoder.
cand_lat = np.full(6, paris[0])
cand_lon = paris[1] + np.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0])
kl = sg.shdd_kl(np.repeat(e, cand_lat.size, axis=0), cand_lat, cand_lon, anchors)
for lo, k in zip(cand_lon, kl):
    d = float(sg.great_circle_km(paris[0], paris[1], paris[0], lo))
    print(f"candidate {d:7.1f} km away: KL = {k:8.3f}")

# %%
# What L does to the kernel width
# -------------------------------
# By the addition theorem, ``f`` of an encoded point depends only on the angle
# ``gamma`` to that point: ``K_L(gamma) = sum_l (2l+1)/(4 pi) P_l(cos gamma)``
# (:func:`shdd_geo.sh.zonal_kernel`).  Its half width at half maximum shrinks
# like ``1/L`` (about ``2.2 / L`` rad), close to the paper's rule of thumb of
# ``20000 / L`` km.  The density ``exp(K_L)`` is far sharper, since the
# exponential magnifies the peak.
degrees = (15, 23, 31, 47, 63, 100)
gamma = np.linspace(0.0, np.radians(25.0), 4001)
dist_km = gamma * sg.EARTH_RADIUS_KM

fig, (ax_k, ax_q) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
for deg in degrees:
    k = zonal_kernel(np.cos(gamma), deg)
    peak = k[0]
    hwhm = dist_km[np.argmax(k <= peak / 2)]
    (line,) = ax_k.plot(dist_km, k / peak, label=f"L = {deg}: HWHM {hwhm:.0f} km")
    ax_k.axvline(20000 / deg, color=line.get_color(), ls=":", lw=0.8)
    ax_q.semilogx(dist_km[1:], np.exp(k[1:] - peak), color=line.get_color(), label=f"L = {deg}")
    print(f"L = {deg:3d}: D = {(deg + 1) ** 2:5d}, kernel HWHM = {hwhm:6.0f} km, "
          f"20000/L = {20000 / deg:5.0f} km")
ax_k.axhline(0.5, color="grey", lw=0.8)
ax_k.set(xlabel="distance from the encoded point [km]", ylabel="K_L / K_L(0)",
         title="kernel f (dotted: 20000/L km)", xlim=(0, 2500))
ax_k.legend(fontsize=7)
ax_q.axhline(0.5, color="grey", lw=0.8)
ax_q.set(xlabel="distance [km] (log scale)", ylabel="exp(K_L - K_L(0))",
         title="density q, relative to its peak", xlim=(1, 2500))
ax_q.legend(fontsize=7)

# %%
# The resolution table of the :doc:`method page </method>` lists these widths
# exactly (``python docs/dev/resolution_table.py``).  Larger ``L`` sharpens the
# kernel at the price of ``(L+1)**2`` coefficients: 576 at ``L = 23``, 2304 at
# ``L = 47``, 10201 at ``L = 100``.
plt.show()
