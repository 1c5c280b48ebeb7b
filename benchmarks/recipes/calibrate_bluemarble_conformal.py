"""Conformal credible levels for the built-in ``bluemarble-effnet`` model (issue 24): fit and measure.

The 600 Blue Marble tiles of the quick tier (``load_tiles(600)``: random
equal-area centres, seed 0; not the 12,000 training tiles, whose centres share
the first 600 latitudes but not the longitudes) are split at random: ``--n``
fit :class:`shdd_geo.calibration.ConformalLevels` on the model's maps
(``LocDiffusion.predict_field`` of the embeddings, the pipeline's maps for
images), the others measure coverage and mean area of the 50/80/90/95 %
regions, raw and calibrated (rows of task ``conformal``; the suite's
``conformal_bluemarble`` job).  ``--write`` stores the levels in the shipped
model file, and :class:`shdd_geo.pretrained.Geolocator` attaches them to
every image map.  The shipped levels were fitted with the pipeline's
defaults (nside 64, 32 samples: ``shdd_geo.defaults``)::

    python -m benchmarks.recipes.calibrate_bluemarble_conformal --n 300 --nside 64 --samples 32 --write \
        --tier full --results benchmarks/results/conformal_bluemarble-full.jsonl

Usage::

    python -m benchmarks.recipes.calibrate_bluemarble_conformal [--n 300] [--nside 64] [--samples 32] [--write] \
        [--results benchmarks/results/conformal_bluemarble-full.jsonl --tier full]
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import conformal_recipe_args, finish_conformal_recipe, load_tiles


def main() -> None:
    a = conformal_recipe_args(__doc__.splitlines()[0], n=300, nside=64, samples=32,
                              n_help="tiles that fit the levels (the other 600 - n measure)")

    from shdd_geo import pretrained
    from shdd_geo.calibration import ConformalLevels

    t0 = time.time()
    X, lat, lon = load_tiles(600, a.cache_dir)
    if not 0 < a.n < len(X):
        raise SystemExit(f"--n must be between 1 and {len(X) - 1}, got {a.n}")
    geo = pretrained.load("bluemarble-effnet")
    geo.model.conformal_ = None  # raw maps
    fields = geo.model.predict_field(X, nside=a.nside, n_samples=a.samples, generator=1, **geo.card.sample_kwargs)
    perm = np.random.default_rng(0).permutation(len(X))
    cal, ev = np.sort(perm[: a.n]), np.sort(perm[a.n:])
    levels = ConformalLevels.fit(fields[cal], lat[cal], lon[cal])
    finish_conformal_recipe(a, t0, geo, levels, "held-out tiles", fields[ev], lat[ev], lon[ev])


if __name__ == "__main__":
    main()
