"""Sampling speed and accuracy of LocDiffusion: DDPM-100 vs DDIM-{10, 20, 50}.

Synthetic, seeded task: a condition is a fixed random nonlinear embedding (64
dims) of a location (random Fourier features of its unit vector, plus noise);
locations are uniform on the sphere.  For L = 23 a model (width 576,
bottleneck 128, depth 3) is trained on 20,000 rows, then evaluated on held-out
conditions: conditions/s for 16 samples each (sampling only, and with
decoding + geographic centre) and accuracy at 200/750/2500 km, with the DDPM-100
peer of the same run as reference (``speedup_vs_ddpm100``,
``d_acc_*`` in points).  For L = 47 only speed is measured (an untrained
network of the same architecture: the cost of sampling does not depend on the
weights).  One JSON line per case.

Every timed case runs after a first decode: ``ddim-20_before_first_decode``
times DDIM-20 in the fresh process before any decoding, and
``after_over_before_first_decode`` is the ratio of the two DDIM-20 rates
(the first call of the compiled SH kernel used to slow torch down in the
same process; measuring the samplers on both sides of it would compare the
order of the cases, not the samplers).

    python -m benchmarks.perf.sample [--threads 2] [--train-steps 600] [--n-eval 128] [--n-eval-47 16]

``--n-eval-47 0`` skips the L = 47 speed cases.
"""
import argparse
import time

import numpy as np
import torch

from benchmarks.common import ResultLog, add_result_args, decode_samples, random_points
from shdd_geo import LocDiffusion, accuracy_within, geographic_centre
from shdd_geo.coords import latlon_to_xyz

CASES = [("ddpm", 100), ("ddim", 50), ("ddim", 20), ("ddim", 10)]


def task(n, seed, d=64):
    """Locations uniform on the sphere and their noisy random-feature embeddings."""
    rng = np.random.default_rng(seed)
    lat, lon = random_points(n, rng)
    W = np.random.default_rng(12345).normal(size=(3, d)) * 3.0  # the fixed "encoder"
    X = np.sin(latlon_to_xyz(lat, lon) @ W) + 0.05 * rng.normal(size=(n, d))
    return X.astype(np.float32), lat, lon


def _sample_seconds(m, X, sampler, steps) -> float:
    t0 = time.perf_counter()
    m.sample(X, 16, sampler=sampler, steps=steps, generator=7)
    return time.perf_counter() - t0


def evaluate(m, X, lat, lon, sampler, steps, repeat=1):
    """Best of ``repeat`` timings (the load of a shared machine only slows a run down)."""
    runs = [_evaluate(m, X, lat, lon, sampler, steps) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[-1][2]


def _evaluate(m, X, lat, lon, sampler, steps):
    t0 = time.perf_counter()
    coeffs = m.sample(X, 16, sampler=sampler, steps=steps, generator=7)
    t_sample = time.perf_counter() - t0
    slat, slon = decode_samples(coeffs)
    plat, plon = geographic_centre(slat, slon)
    t_all = time.perf_counter() - t0
    acc = accuracy_within(plat, plon, lat, lon, thresholds_km=(200, 750, 2500)) if lat is not None else {}
    return t_sample, t_all, acc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-steps", type=int, default=600)
    ap.add_argument("--n-eval", type=int, default=128)
    ap.add_argument("--n-eval-47", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=1, help="best of this many timings per case")
    add_result_args(ap)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with ResultLog(args.results, tier=args.tier, seed=0) as log:
        run(args, log)


def run(args, log) -> None:

    # L = 23: train, then speed + accuracy
    X, lat, lon = task(20000, 0)
    Xe, late, lone = task(args.n_eval, 1)
    m = LocDiffusion(L=23, batch_size=128, lr=3e-4, dropout=0.0, cond_drop=0.1, random_state=0, verbose=False)
    t0 = time.perf_counter()
    epochs = max(1, round(args.train_steps * 128 / len(X)))
    m.fit(X, lat, lon, epochs=epochs)
    train_s = time.perf_counter() - t0
    log.emit("sample", method="train", L=23, steps=m.history_[-1]["step"], seconds=train_s,
             final_loss=m.history_[-1]["train_loss"])
    fresh = min(_sample_seconds(m, Xe, "ddim", 20) for _ in range(args.repeat))  # before any decode
    decode_samples(m.sample(Xe, 16, generator=0))  # the first decode (compiled kernels, caches)
    ref = None
    for sampler, steps in CASES:
        ts, ta, acc = evaluate(m, Xe, late, lone, sampler, steps, args.repeat)
        if (sampler, steps) == ("ddim", 20):
            log.emit("sample", method="ddim-20_before_first_decode", L=23, n_cond=len(Xe), n_samples=16,
                     cond_per_s_sampling=len(Xe) / fresh, after_over_before_first_decode=fresh / ts)
        rec = {"L": 23, "n_cond": len(Xe), "n_samples": 16,
               "cond_per_s_sampling": len(Xe) / ts, "cond_per_s_with_decode": len(Xe) / ta,
               **{f"acc_{k}km": v for k, v in acc.items()}}
        if ref is None:
            ref = rec
        rec["speedup_vs_ddpm100"] = rec["cond_per_s_sampling"] / ref["cond_per_s_sampling"]
        for k in (200, 750, 2500):
            rec[f"d_acc_{k}km_points"] = 100 * (rec[f"acc_{k}km"] - ref[f"acc_{k}km"])
        log.emit("sample", method=f"{sampler}-{steps}", **rec)

    if args.n_eval_47 <= 0:
        return
    # L = 47: speed only
    X47, lat47, lon47 = task(256, 2)
    m47 = LocDiffusion(L=47, batch_size=128, random_state=0, verbose=False).fit(X47, lat47, lon47, epochs=1)
    decode_samples(m47.sample(X47[: args.n_eval_47], 16, generator=0))  # the first decode, as for L = 23
    ref = None
    for sampler, steps in CASES:
        ts, ta, _ = evaluate(m47, X47[: args.n_eval_47], None, None, sampler, steps, args.repeat)
        rec = {"L": 47, "n_cond": args.n_eval_47, "n_samples": 16,
               "cond_per_s_sampling": args.n_eval_47 / ts, "cond_per_s_with_decode": args.n_eval_47 / ta}
        ref = ref or rec
        rec["speedup_vs_ddpm100"] = rec["cond_per_s_sampling"] / ref["cond_per_s_sampling"]
        log.emit("sample", method=f"{sampler}-{steps}", **rec)


if __name__ == "__main__":
    main()
