"""
Training LocDiffusion on your own embeddings
============================================

:class:`~shdd_geo.LocDiffusion` learns ``p(location | condition)`` from pairs
of an embedding (of an image, a text, a sound...) and a location.  It is a
conditional diffusion model over SHDD coefficient vectors: sampling gives
coefficient vectors, each a density on the sphere, so one condition can
have several plausible places.  This tutorial trains a small model on
synthetic embeddings in which every condition has two to four possible
locations, then samples, predicts points, builds density maps and saves the
model.  The same calls train on CLIP embeddings of millions of images on a
GPU (:doc:`/training`).
"""

# %%
# Synthetic data with several places per condition
# ------------------------------------------------
# 30 conditions; condition ``c`` has a prototype embedding (32 numbers) and
# 2 to 4 possible places with unequal probabilities.  A training row is the
# prototype plus noise, paired with one of its places (jittered by about
# 50 km).  Think of a place name shared by several towns, or a photo of a
# beach that could be on several coasts.
import time

import matplotlib.pyplot as plt
import numpy as np

import shdd_geo as sg
from shdd_geo import LocDiffusion

rng = np.random.default_rng(0)
n_cond, dim = 30, 32
prototypes = rng.normal(size=(n_cond, dim))
places = []  # per condition: (lat, lon, probability) of its possible locations
for c in range(n_cond):
    k = rng.integers(2, 5)
    lat = np.degrees(np.arcsin(rng.uniform(-0.8, 0.95, k)))  # uniform by area, 53 S to 72 N
    places.append((lat, rng.uniform(-180, 180, k), rng.dirichlet(np.full(k, 2.0))))


def make_rows(n, rng):
    """``n`` rows: embeddings (n, dim) float32, lat, lon [deg] and the condition index."""
    cond = rng.integers(0, n_cond, n)
    X = (prototypes[cond] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)
    lat, lon = np.empty(n), np.empty(n)
    for i, c in enumerate(cond):
        p_lat, p_lon, p = places[c]
        j = rng.choice(len(p), p=p)
        lat[i], lon[i] = p_lat[j] + rng.normal(0, 0.45), p_lon[j] + rng.normal(0, 0.45)
    return X, np.clip(lat, -90, 90), (lon + 180) % 360 - 180, cond


X, lat, lon, cond = make_rows(3000, rng)
X_test, lat_test, lon_test, cond_test = make_rows(200, rng)
print(f"train {X.shape}, test {X_test.shape}; places per condition: "
      f"{np.bincount([len(p[2]) for p in places])[2:]} conditions with 2, 3, 4")

# %%
# Train
# -----
# The hyper-parameters follow scikit-learn conventions: set in the
# constructor, used by :meth:`~shdd_geo.LocDiffusion.fit`, which returns the
# model.  ``L = 10`` gives ``D = 121`` coefficients; a narrow CS-UNet
# (``bottleneck``, ``depth``, ``time_dim``) and fewer diffusion steps
# (``num_train_timesteps``) keep this example to seconds on a CPU.  The paper's
# settings (``L`` 15 to 31, batch 512, lr 1e-4, dropout 0.3, 1000 steps) are
# the defaults.  ``random_state`` makes the run reproducible; ``max_steps``
# caps the number of optimisation steps.
model = LocDiffusion(L=10, bottleneck=64, depth=2, time_dim=32, dropout=0.0, num_train_timesteps=200,
                     batch_size=256, n_anchors=1024, lr=5e-4, random_state=0, verbose=False)
t0 = time.perf_counter()
model.fit(X, lat, lon, epochs=60, max_steps=600)
print(f"{model!r}\ntrained {model.history_[-1]['step']} steps in {time.perf_counter() - t0:.1f} s")

fig, ax = plt.subplots(figsize=(5.5, 3), constrained_layout=True)
ax.plot([h["epoch"] for h in model.history_], [h["train_loss"] for h in model.history_])
ax.set(xlabel="epoch", ylabel="SHDD-KL loss", title="training loss")

# %%
# Sample
# ------
# :meth:`~shdd_geo.LocDiffusion.sample` runs the reverse diffusion (DDIM with
# 20 steps by default; ``sampler="ddpm"`` for the paper's 100-step DDPM) and
# returns ``(conditions, n_samples, D)`` coefficient vectors.  Each decodes to
# a location with :func:`shdd_geo.decoding.decode`.
i = int(np.argmax([len(places[c][2]) for c in cond_test]))  # a test row with many places
c = cond_test[i]
coeffs = model.sample(X_test[[i]], n_samples=64, generator=0)
s_lat, s_lon = sg.decode(coeffs[0].astype(np.float64))
print(f"samples {coeffs.shape}; condition {c} has {len(places[c][2])} places")


def share_per_place(c, s_lat, s_lon, radius_km=300.0):
    """Fraction of the samples within ``radius_km`` of each place of condition ``c``."""
    d = sg.great_circle_km(s_lat[:, None], s_lon[:, None], places[c][0], places[c][1])
    return np.array([np.mean((d.min(1) < radius_km) & (d.argmin(1) == j)) for j in range(d.shape[1])])


for p_lat, p_lon, p, share in zip(*places[c], share_per_place(c, s_lat, s_lon)):
    print(f"  place ({p_lat:6.1f}, {p_lon:7.1f}) probability {p:.2f}: {share:.2f} of the samples")

# %%
# The samples land on the places of their condition.  Their shares estimate
# the places' probabilities, but only roughly for a model this small trained
# for seconds, and a rare place can be missed altogether (the SHDD-KL loss is
# a *reverse* KL, which is mode-seeking).  Here are the first six conditions
# (bars: share of 64 samples within 300 km of each place; dots: the true
# probability).
fig, axes = plt.subplots(1, 6, figsize=(10, 2.4), sharey=True, constrained_layout=True)
coeffs6 = model.sample(prototypes[:6].astype(np.float32), n_samples=64, generator=1)
for c6, ax in enumerate(axes):
    share = share_per_place(c6, *sg.decode(coeffs6[c6].astype(np.float64)))
    ax.bar(np.arange(share.size), share, color="tab:blue")
    ax.plot(np.arange(share.size), places[c6][2], "ko")
    ax.set(title=f"condition {c6}", xticks=np.arange(share.size), xlabel="place")
axes[0].set_ylabel("share of samples")

# %%
# Point predictions
# -----------------
# :meth:`~shdd_geo.LocDiffusion.predict` draws ``n_samples`` per condition,
# decodes them and combines them into one point.  ``point="centre"`` is the
# paper's geographic centre of the samples; with several distant places it
# falls *between* them.  ``point="densest"`` picks the sample where the mixture
# of the samples' densities is highest, i.e. the most probable place.
def nearest_place_km(p_lat, p_lon):
    """Distance from each prediction to the nearest possible place of its condition."""
    return np.array([sg.great_circle_km(a, b, *places[c][:2]).min()
                     for a, b, c in zip(p_lat, p_lon, cond_test)])


for point in ("centre", "densest"):
    p_lat, p_lon = model.predict(X_test, n_samples=16, point=point, generator=0)
    s = sg.metrics.summarize(p_lat, p_lon, lat_test, lon_test)
    near = nearest_place_km(p_lat, p_lon)
    print(f"point={point!r:9}: median error {s['median_km']:7.0f} km, within 200 km {s['acc_200km']:.2f}; "
          f"at one of the possible places (< 200 km) {np.mean(near < 200):.2f}")

# %%
# A point prediction is right about as often as its place is the one that
# was drawn: no single point can do better when a condition has several
# places.  The density says more.

# %%
# Density maps
# ------------
# :meth:`~shdd_geo.LocDiffusion.predict_field` returns a
# :class:`~shdd_geo.SphericalField` batch, one field per condition: the
# mixture of the sampled densities.  Its modes show where the places are; the
# mass near each mode follows the share of samples that chose it, spread out by
# the width of each sample's density at ``L = 10`` (a larger ``L`` gives
# sharper densities).
fields = model.predict_field(X_test[[i]], nside=32, n_samples=64, generator=0)
field = fields[0]
modes = field.modes(k=4, min_separation_km=1000)
for m_lat, m_lon, mass in zip(modes["lat"], modes["lon"], modes["mass"]):
    print(f"mode ({m_lat:6.1f}, {m_lon:7.1f}) mass {mass:.2f}")
r90 = field.credible_region(0.9)
print(f"90% credible region {r90.area_km2:,.0f} km^2 "
      f"({r90.area_km2 / (4 * np.pi * sg.EARTH_RADIUS_KM**2):.1%} of the Earth), "
      f"holds {int(r90.contains(*places[c][:2]).sum())} of the {len(places[c][2])} places")

# %%
# The map of that condition's density, its 50 % and 90 % credible regions,
# its modes, and the true places (black crosses, sized by probability):
ax = field.plot(log=True, log_decades=3, levels=(0.5, 0.9), modes=len(places[c][2]),
                min_separation_km=1000, title=f"condition {c}: predicted density")
import cartopy.crs as ccrs  # noqa: E402

ax.scatter(places[c][1], places[c][0], s=400 * places[c][2], marker="x", color="k",
           transform=ccrs.PlateCarree(), zorder=5, label="true places")
ax.legend(loc="lower left", fontsize=7)

# %%
# Log-likelihood of the test locations under their predicted densities
# (higher is better; a uniform density scores ``-log(4 pi) = -2.53``):
test_fields = model.predict_field(X_test[:50], nside=32, n_samples=16, generator=0)
ll = test_fields.log_likelihood(lat_test[:50], lon_test[:50])
print(f"mean log-likelihood {np.mean(ll):.2f} [log sr^-1]")

# %%
# Save and load
# -------------
# :meth:`~shdd_geo.LocDiffusion.save` writes one safetensors file with the
# hyper-parameters, the fitted attributes and the weights (``half=True``
# halves its size).  Sampling with the same ``generator`` gives the same
# coefficients after loading.  Resumable training checkpoints are the
# ``checkpoint=`` and ``resume=`` arguments of ``fit`` (:doc:`/training`).
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    path = model.save(Path(tmp) / "model.safetensors")
    again = LocDiffusion.load(path, device="cpu")
    same = np.array_equal(again.sample(X_test[:2], 4, generator=1), model.sample(X_test[:2], 4, generator=1))
    print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB, same samples after loading: {same}")
plt.show()
