"""LocDiffusion studies on GeoNames names: samplers, guidance, anchors, losses, L.

One LocDiffusion is trained (or loaded with ``--model``) on the random split of
the Table 1 benchmark (same data, embeddings and test rows as
``python -m benchmarks.accuracy --task names``) and evaluated under several inference settings.
Each case prints one JSON line; cases are chosen with ``--cases``:

``base``      DDIM-20, 16 samples, guidance 1: point metrics (centre and mode).
``sampler``   DDPM-100 vs DDIM-{10, 20, 50}: accuracy and conditions/s (issue 4's
              "DDIM-20 within 1 point of DDPM-100 at >= 4x the speed").
``guidance``  classifier-free guidance scales 1.5, 2, 3, 5 (DDIM-20).
``samples``   4, 16, 64 samples per condition (DDIM-20; ``--sample-counts``).
``hybrid``    the retrieval hybrid (k-NN top-1 searched within 200 km of the
              16 samples, paper A.4) and k-NN top-1 alone, same rows.
``multimodal`` the test places whose name is shared by places >= 1,000 km apart:
              LocDiffusion (mode), k-NN top-1 / mode and the hybrid.
``fields``    density metrics (log-likelihood, credible-region coverage/area)
              after calibrating the temperature on 500 validation rows
              (``--min-coverage``/``--max-coverage``; ``--prior-bandwidth-km``
              also mixes a KDE of the training locations into the maps and
              calibrates its weight, ``LocDiffusion.set_prior``).
``anchors``   paper Table 2: samples decoded on the training-location gallery vs
              equal-area Fibonacci grids of 21k, 100k, 500k and 1M anchors
              (``method="argmax"``, no refinement, so the anchors are the only
              candidates), side by side with the GeoCLIP-style retrieval baseline
              searching the same galleries.

Losses (paper Table 7) and degrees (Figure 4a) are separate trainings:
``--loss l1|l2|cosine|kl`` and ``--L 15|23|31|47`` with ``--cases base``;
``--kl-smoothing-km KM --kl-smoothing-steps N`` trains with the KL curriculum
(``LocDiffusion(kl_smoothing_km=..., kl_smoothing_steps=...)``).

``--data bluemarble`` runs the same studies on the Blue Marble tiles of
``python -m benchmarks.accuracy --task bluemarble`` (EfficientNet-lite0 embeddings, same splits and test
rows; ``--n-tiles``, ``--cache-dir``); ``multimodal`` needs place names and is
GeoNames only.

Run::

    python -m benchmarks.studies.geonames_study --steps 10000 --lr 3e-4 --model m.safetensors \\
        --cases base,sampler,guidance,samples,anchors
    python -m benchmarks.studies.geonames_study --steps 2000 --lr 3e-4 --loss l2 --cases base
    python -m benchmarks.studies.geonames_study --data bluemarble --cache-dir DIR --steps 3000 --L 31 --cases base
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.common import BASELINE_ARGS as _BASELINE_ARGS
from benchmarks.common import add_denoiser_options, decode_samples, load_task_data, method_factories, point_answers
from benchmarks.common import point_metrics as _metrics
from benchmarks.common import score_answers as _score
from benchmarks.common import test_rows


def _points(est, coeffs, lat, lon, decode_kwargs=None) -> dict:
    slat, slon = decode_samples(coeffs, **(decode_kwargs or {}))
    return _score(point_answers(coeffs, slat, slon), lat, lon)


_SAMPLES: dict = {}


_DDIM20 = {"sampler": "ddim", "sampler_steps": 20}  # what _samples draws unless told otherwise


def _samples(est, X, n_samples: int = 16, *, sampler: str = _DDIM20["sampler"],
             steps: int = _DDIM20["sampler_steps"], guidance_scale: float = 1.0):
    """Seeded samples of the test rows, drawn once per setting (several cases share DDIM-20 x 16)."""
    key = (n_samples, sampler, steps, guidance_scale)
    if key not in _SAMPLES:
        _SAMPLES[key] = est.sample(X, n_samples, sampler=sampler, steps=steps, guidance_scale=guidance_scale,
                                   generator=0)
    return _SAMPLES[key]


def _case_row(case: str, setting: dict, res: dict, **extra) -> None:
    print(json.dumps({"case": case, **setting, **res, **extra}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=15000)
    p.add_argument("--split", default="random", choices=("random", "spatial"))
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--L", type=int, default=23)
    p.add_argument("--loss", default="kl")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--dropout", type=float, default=0.3)
    add_denoiser_options(p)
    p.add_argument("--kl-smoothing-km", type=float, default=0.0,
                   help="KL curriculum: initial heat-kernel width (km), falling to 0 over --kl-smoothing-steps")
    p.add_argument("--kl-smoothing-steps", type=int, default=0)
    p.add_argument("--min-coverage", type=float, default=None,
                   help="fields: only temperatures whose 90%% regions cover this fraction of the validation rows")
    p.add_argument("--max-coverage", type=float, default=None,
                   help="--cases fields: calibrate with this ceiling on 90%% coverage")
    p.add_argument("--prior-bandwidth-km", type=float, default=0.0,
                   help="--cases fields: mix a KDE of the training locations (this bandwidth) "
                        "into the maps")
    p.add_argument("--sampler", default="ddim", choices=("ddim", "ddpm"),
                   help="sampler of the base, hybrid and multimodal cases")
    p.add_argument("--sampler-steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--model", default=None, help="load this model if it exists, else train and save it here")
    p.add_argument("--init-from", default=None,
                   help="train starting from this model's weights (LocDiffusion.fit(init_from=...)); "
                        "give the same --L/--dropout/--prediction as it was made with")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--cases", default="base")
    p.add_argument("--anchor-sizes", default="21000,100000,500000,1000000")
    p.add_argument("--sample-counts", default="4,16,64",
                   help="--cases samples: samples per condition, comma-separated (default: %(default)s)")
    p.add_argument("--data", default="geonames", choices=("geonames", "bluemarble"))
    p.add_argument("--n-tiles", type=int, default=12000, help="--data bluemarble: tiles (as the accuracy runner's bluemarble task)")
    p.add_argument("--cache-dir", default=None, help="--data bluemarble: the tile cache of the accuracy runner's bluemarble task")
    a = p.parse_args()
    raw = a.sample_counts
    try:
        a.sample_counts = [int(k) for k in raw.split(",")]
    except ValueError:
        a.sample_counts = []
    if not a.sample_counts or min(a.sample_counts) < 1:
        p.error(f"--sample-counts: positive integers separated by commas, e.g. 16,64,256; got {raw!r}")
    if a.data == "bluemarble" and "multimodal" in a.cases.split(","):
        p.error("--cases multimodal needs place names: use it with --data geonames")

    import torch

    from shdd_geo import LocDiffusion

    torch.set_num_threads(a.threads)
    table, X, lat, lon, s = load_task_data(a.data, size=a.size, split=a.split, n_tiles=a.n_tiles,
                                           cache_dir=a.cache_dir)
    tr = np.asarray(s.train)
    te = test_rows(s, a.n_test)
    Xte, late, lone = X[te], lat[te], lon[te]
    setting = {"data": a.data, "split": a.split, "L": a.L, "loss": a.loss, "lr": a.lr, "steps": a.steps, "dropout": a.dropout,
               "batch_size": a.batch_size, "init_from": a.init_from,
               "prediction": a.prediction, "omega_0": a.omega_0,
               "kl_smoothing_km": a.kl_smoothing_km, "kl_smoothing_steps": a.kl_smoothing_steps,
               "n_test": int(len(te))}

    t0 = time.perf_counter()
    if a.model and Path(a.model).exists():
        est = LocDiffusion.load(a.model, device="cpu")
        fit_s = None
    else:
        est = LocDiffusion(L=a.L, loss=a.loss, lr=a.lr, dropout=a.dropout, warmup_steps=200,
                           prediction=a.prediction, omega_0=a.omega_0, timestep_power=a.timestep_power,
                           kl_smoothing_km=a.kl_smoothing_km, kl_smoothing_steps=a.kl_smoothing_steps,
                           decay_steps=max(1, a.steps - 200), batch_size=a.batch_size, random_state=0,
                           verbose=False, device="cpu")
        init = LocDiffusion.load(a.init_from, device="cpu") if a.init_from else None
        est.fit(X[tr], lat[tr], lon[tr], epochs=int(np.ceil(a.steps * a.batch_size / len(tr))), max_steps=a.steps,
                init_from=init)
        fit_s = round(time.perf_counter() - t0, 1)
        if a.model:
            est.save(a.model)
    # what the model is (a loaded --model need not match the command-line options)
    setting.update(L=est.L, loss=est.loss, dropout=est.dropout, prediction=est.prediction, omega_0=est.omega_0,
                   timestep_power=est.timestep_power)
    hist = getattr(est, "history_", None) or []
    final_loss = round(float(hist[-1]["train_loss"]), 4) if hist else None
    if hist:  # the training curve, ~10 points
        print(json.dumps({"case": "history", **setting, "curve": [
            (r["step"], round(float(r["train_loss"]), 4)) for r in hist[:: max(1, len(hist) // 10)]]}), flush=True)
    cases = a.cases.split(",")
    sk = {"sampler": a.sampler, "steps": a.sampler_steps}  # base, hybrid and multimodal cases
    setting.update(sampler=a.sampler, sampler_steps=a.sampler_steps)

    if "base" in cases:
        t0 = time.perf_counter()
        coeffs = _samples(est, Xte, **sk)
        samp_s = time.perf_counter() - t0
        _case_row("base", setting, _points(est, coeffs, late, lone), fit_s=fit_s, final_loss=final_loss,
                  sample_s=round(samp_s, 2))
    if "sampler" in cases:
        for sampler, steps in (("ddpm", 100), ("ddim", 10), ("ddim", 20), ("ddim", 50)):
            t0 = time.perf_counter()
            _SAMPLES.pop((16, sampler, steps, 1.0), None)  # timed: always draw afresh
            coeffs = _samples(est, Xte, sampler=sampler, steps=steps)
            dt = time.perf_counter() - t0
            _case_row("sampler", setting, _points(est, coeffs, late, lone), sampler=sampler, sampler_steps=steps,
                      conditions_per_s=round(len(te) / dt, 2))
    if "guidance" in cases:
        for w in (1.5, 2.0, 3.0, 5.0):
            coeffs = _samples(est, Xte, guidance_scale=w)
            _case_row("guidance", setting, _points(est, coeffs, late, lone), guidance_scale=w,
                      **_DDIM20)  # always DDIM-20, whatever --sampler says
    if "samples" in cases:
        for k in a.sample_counts:
            coeffs = _samples(est, Xte, k)
            _case_row("samples", setting, _points(est, coeffs, late, lone), n_samples=k, **_DDIM20)
    fitted = {"locdiffusion": est}
    if {"hybrid", "multimodal"} & set(cases):
        for name in ("knn_top1", "knn_mode_k10"):
            fitted[name] = method_factories(_BASELINE_ARGS, {})[name]().fit(X[tr], lat[tr], lon[tr])
        hyb_args = argparse.Namespace(**vars(_BASELINE_ARGS), sample_kwargs=sk)
        fitted["hybrid_knn"] = method_factories(hyb_args, fitted)["hybrid_knn"]()
    if "hybrid" in cases:
        for name in ("knn_top1", "hybrid_knn"):
            plat, plon = fitted[name].predict(Xte)
            _case_row("hybrid", setting, {"point": _metrics(plat, plon, late, lone)}, method=name)
    if "multimodal" in cases:
        from shdd_geo.datasets import multimodal_mask

        mm = multimodal_mask(table)[te]
        Xm, lam, lom = Xte[mm], late[mm], lone[mm]
        for name in ("locdiffusion", "knn_top1", "knn_mode_k10", "hybrid_knn"):
            kw = {"n_samples": 16, "point": "mode", "generator": 0, **sk} if name == "locdiffusion" else {}
            plat, plon = fitted[name].predict(Xm, **kw)
            _case_row("multimodal", setting, {"point": _metrics(plat, plon, lam, lom)}, method=name, n=int(mm.sum()))
    if "fields" in cases:
        from shdd_geo.evaluation import evaluate_predictor

        va = np.sort(np.random.default_rng(1).choice(np.asarray(s.val), size=min(500, len(s.val)), replace=False))
        if a.prior_bandwidth_km > 0:  # KDE of the training locations mixed into the maps
            est.set_prior(lat[tr], lon[tr], nside=32, bandwidth_km=a.prior_bandwidth_km)
        est.calibrate(X[va], lat[va], lon[va], n_samples=16, nside=32, generator=0,
                      min_coverage=a.min_coverage, max_coverage=a.max_coverage)
        res = evaluate_predictor(est, Xte, late, lone, fields=True, nside=32,
                                 predict_kwargs={"n_samples": 16, "point": "mode", "generator": 0},
                                 field_kwargs={"n_samples": 16, "generator": 0})
        _case_row("fields", setting, {k: round(float(v), 4) for k, v in res.items()},
                  temperature=est.temperature_, prior_weight=est.prior_weight_,
                  prior_bandwidth_km=a.prior_bandwidth_km,
                  calibration={str(k): v for k, v in est.calibration_.items()},
                  min_coverage=a.min_coverage, max_coverage=a.max_coverage,
                  calibration_coverage={str(k): v for k, v in est.calibration_coverage_.items()})
    if "anchors" in cases:
        _anchor_study(a, est, X, lat, lon, tr, Xte, late, lone, setting)


def _anchor_study(a, est, X, lat, lon, tr, Xte, late, lone, setting) -> None:
    """Paper Table 2: decoding anchors / retrieval galleries."""
    from shdd_geo.anchors import fibonacci, gallery

    coeffs = _samples(est, Xte)
    geo = method_factories(_BASELINE_ARGS, {})["geoclip_style"]().fit(X[tr], lat[tr], lon[tr])
    sets = [("training gallery", gallery(lat[tr], lon[tr]))]
    sets += [(f"fibonacci {int(n):,}", fibonacci(int(n))) for n in a.anchor_sizes.split(",")]
    for name, anchors in sets:
        t0 = time.perf_counter()
        res = _points(est, coeffs, late, lone, {"anchors": anchors, "method": "argmax", "refine": False})
        dec_s = time.perf_counter() - t0
        geo.gallery_lat_, geo.gallery_lon_ = anchors.lat, anchors.lon
        geo.gallery_feats_ = geo.encode_locations(anchors.lat, anchors.lon)
        glat, glon = geo.predict(Xte)
        _case_row("anchors", setting, {"locdiffusion": res, "geoclip_style": _metrics(glat, glon, late, lone)},
                  anchors=name, n_anchors=int(len(anchors.lat)), decode_s=round(dec_s, 1))


if __name__ == "__main__":
    main()
