"""
LocDiffusion against retrieval and classification
=================================================

Every method in ``shdd_geo`` shares one protocol: ``fit(X, lat, lon)`` and
``predict(X) -> (lat, lon)``, and most also ``predict_field(X, nside=...)``
(a :class:`~shdd_geo.SphericalField` batch).  So
:func:`shdd_geo.evaluation.compare` scores them side by side with the same
metrics: accuracy within 1/25/200/750/2500 km, median error, GeoScore and,
for density predictions, the log-likelihood of the truth and the coverage and
area of credible regions.  This tutorial compares
:class:`~shdd_geo.LocDiffusion` with k-nearest-neighbour retrieval
(:class:`~shdd_geo.baselines.KNNRetrieval`), the k-NN vote
(:class:`~shdd_geo.baselines.KNNVote`), HEALPix cell classification
(:class:`~shdd_geo.baselines.CellClassifier`) and the LocDiffusion +
retrieval hybrid of the paper's appendix A.4
(:class:`~shdd_geo.RetrievalHybrid`), on the synthetic data of
:doc:`/auto_examples/model/plot_train_locdiffusion`: every condition has two
to four possible places.
"""

# %%
# The data
# --------
# The same generator as in the training tutorial: 30 conditions, each with a
# prototype embedding and 2 to 4 places of unequal probability.
import matplotlib.pyplot as plt
import numpy as np

import shdd_geo as sg
from shdd_geo import LocDiffusion, RetrievalHybrid
from shdd_geo.baselines import CellClassifier, KNNRetrieval, KNNVote
from shdd_geo.evaluation import compare, markdown_table

rng = np.random.default_rng(0)
n_cond, dim = 30, 32
prototypes = rng.normal(size=(n_cond, dim))
places = []
for c in range(n_cond):
    k = rng.integers(2, 5)
    lat = np.degrees(np.arcsin(rng.uniform(-0.8, 0.95, k)))
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

# %%
# Fit the methods
# ---------------
# LocDiffusion as in the training tutorial; by default it is
# retrieval-conditioned: its denoiser also sees the weighted SHDD mean of the
# 32 most similar training rows (``retrieval_k``).  The retrieval baseline
# keeps the training rows as its gallery and answers with the location of the
# most similar one (cosine similarity); the k-NN vote lets the 32 most similar
# rows vote (softmax weights) and answers with the neighbour that has the
# most weight within 500 km of it.  The classifier is an MLP over the
# occupied HEALPix cells at ``nside = 8`` (cells of about 700 km), answering
# with the mean training location of the most probable cell.
diffusion = LocDiffusion(L=10, bottleneck=64, depth=2, time_dim=32, dropout=0.0,
                         num_train_timesteps=200, batch_size=256, n_anchors=1024, lr=5e-4,
                         random_state=0, verbose=False).fit(X, lat, lon, epochs=60, max_steps=600)
knn = KNNRetrieval(k=10, aggregate="top1").fit(X, lat, lon)
vote = KNNVote(k=32, radius_km=500).fit(X, lat, lon)
cells = CellClassifier(nside=8, hidden=(128,), epochs=15, lr=3e-3, random_state=0).fit(X, lat, lon)
print(knn, cells, sep="\n")

# %%
# The hybrid: LocDiffusion proposes 16 decoded samples per query, and the
# retrieval answers with the most similar gallery item within 200 km of one
# of them.  Diffusion brings the coarse answer, retrieval the fine one.
hybrid = RetrievalHybrid(diffusion, knn, radius_km=200, n_samples=16,
                         sample_kwargs={"generator": 0})


# %%
# Any object with ``predict`` (and, for density metrics, ``predict_field``)
# can be evaluated.  A small wrapper fixes LocDiffusion's prediction options:
# the densest of 16 samples (``point="densest"``, right for several places per
# condition) and the mixture of their densities as the field.
class Diffusion:
    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return self.model.predict(X, n_samples=16, point="densest", generator=0)

    def predict_field(self, X, nside):
        return self.model.predict_field(X, nside=nside, n_samples=16, generator=0)


predictors = {"LocDiffusion": Diffusion(diffusion), "kNN retrieval": knn, "kNN vote": vote,
              "cell classifier": cells, "hybrid": hybrid}

# %%
# Compare
# -------
# ``fields`` asks for density metrics where a method has densities (the
# hybrid returns points only).  ``loglik`` is the mean log-density of the
# true locations [log sr^-1]; ``coverage_0.9`` the share of true locations
# inside the 90 % credible region, and ``area_0.9_km2`` that region's mean area.
rows = compare(predictors, X_test, lat_test, lon_test, nside=32,
               fields={"LocDiffusion": True, "kNN retrieval": True, "kNN vote": True, "cell classifier": True},
               levels=(0.5, 0.9))

# %%
# One more column suits this problem, ``acc_any_200km``: the share of
# predictions within 200 km of *any* place of the condition.  A point
# prediction cannot know which of the places was drawn, so ``acc_200km`` is
# bounded by the probability of the place it picks; ``acc_any_200km`` tells
# whether it picked a real place at all.
for row in rows:
    p_lat, p_lon = predictors[row["method"]].predict(X_test)
    d = [sg.great_circle_km(a, b, *places[c][:2]).min() for a, b, c in zip(p_lat, p_lon, cond_test)]
    row["acc_any_200km"] = float(np.mean(np.array(d) < 200))

columns = ["method", "acc_25km", "acc_200km", "acc_2500km", "acc_any_200km", "median_km",
           "loglik", "coverage_0.9", "area_0.9_km2"]
print(markdown_table(rows, columns))

# %%
# :func:`~shdd_geo.evaluation.markdown_table` prints accuracies and coverages
# as percentages; paste it into a report.  A bar chart of the accuracies:
thresholds = (25, 200, 750, 2500)
fig, ax = plt.subplots(figsize=(7, 3.4), constrained_layout=True)
width = 0.8 / len(rows)
for j, row in enumerate(rows):
    acc = [row[f"acc_{t}km"] for t in thresholds]
    ax.bar(np.arange(len(thresholds)) + j * width, acc, width, label=row["method"])
ax.set(xticks=np.arange(len(thresholds)) + 0.4 - width / 2,
       xticklabels=[f"{t} km" for t in thresholds], ylabel="accuracy", ylim=(0, 1),
       title="share of test rows within a distance of the truth")
ax.legend(fontsize=8, ncols=2)

# %%
# Reading the density columns: a higher ``loglik`` means the truth sits where
# the method put probability; ``coverage_0.9`` should be close to 0.9 (below:
# over-confident regions, above: too cautious), and among methods with honest
# coverage the smaller ``area_0.9_km2`` is the more useful.  The answers for
# this run:
dens = [r for r in rows if "loglik" in r]
print("highest log-likelihood:", max(dens, key=lambda r: r["loglik"])["method"])
print("coverage closest to 90%:", min(dens, key=lambda r: abs(r["coverage_0.9"] - 0.9))["method"])
print("smallest 90% region:", min(dens, key=lambda r: r["area_0.9_km2"])["method"])

# %%
# This toy problem is easy for a classifier (its 700 km cells are much
# smaller than the distances between places, and the embeddings are clean);
# the figures on real data, with the commands that produced them, are on the
# :doc:`/benchmarks` page.
#
# The densities of one test condition side by side (crosses: its places):
i = int(np.argmax([len(places[c][2]) for c in cond_test]))
fig = plt.figure(figsize=(10, 3.2), constrained_layout=True)
import cartopy.crs as ccrs  # noqa: E402

for j, name in enumerate(["LocDiffusion", "kNN retrieval", "cell classifier"]):
    field = predictors[name].predict_field(X_test[[i]], nside=32)[0]
    ax = fig.add_subplot(1, 3, j + 1, projection=ccrs.Robinson())
    field.plot(ax=ax, log=True, log_decades=3, levels=(0.9,), modes=0, colorbar=False,
               borders=False, title=name)
    ax.scatter(places[cond_test[i]][1], places[cond_test[i]][0], marker="x", color="k",
               transform=ccrs.PlateCarree(), zorder=5)
plt.show()
