"""Early stopping on GeoNames Table 1: one training run, snapshots scored on validation and test rows.

Trains one LocDiffusion with the settings of ``geonames_study.py`` (same
data, embeddings, split and learning-rate schedule over ``--steps``), saves a
model at every ``--snapshots`` step (the run is resumed from its checkpoint
between snapshots, so it is the same run as an uninterrupted one) and scores
each snapshot (densest of 16 DDIM-20 samples) on ``--n-eval`` rows of the
split's validation part and on the test rows of ``geonames_study.py
--n-test N``.  The seed-0 cell classifier of ``python -m benchmarks.accuracy --task names`` is
scored on the same rows.  On the spatial split the validation rows come from
held-out cells of their own, so picking the snapshot by validation accuracy
is early stopping for unseen regions.

One JSON line per (model, rows).  Run::

    python -m benchmarks.studies.geonames_snapshots --split spatial --dropout 0 --steps 10000 \\
        --snapshots 500,1000,2000,3000,4500,6000,8000,10000 --out-dir snaps/
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from benchmarks.common import BASELINE_ARGS, decode_samples, load_task_data, method_factories, point_answers
from benchmarks.common import point_metrics, test_rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", default="spatial", choices=("random", "spatial"))
    p.add_argument("--steps", type=int, default=10000, help="length of the run and its cosine schedule")
    p.add_argument("--snapshots", default="500,1000,2000,3000,4500,6000,8000,10000",
                   help="comma-separated steps at which to save and score a model")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--L", type=int, default=23)
    p.add_argument("--seed", type=int, default=0, help="LocDiffusion random_state")
    p.add_argument("--n-eval", type=int, default=1000, help="validation rows")
    p.add_argument("--n-test", type=int, default=1000, help="test rows (geonames_study.py's)")
    p.add_argument("--out-dir", required=True, help="folder for the checkpoint and the snapshot models")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    try:
        snaps = sorted({int(v) for v in a.snapshots.split(",") if v.strip()})
    except ValueError:
        p.error(f"--snapshots: positive integers separated by commas, got {a.snapshots!r}")
    if not snaps or snaps[0] < 1 or snaps[-1] > a.steps:
        p.error(f"--snapshots must lie in 1..--steps ({a.steps}), got {a.snapshots!r}")

    if (Path(a.out_dir) / "run.ckpt.safetensors").exists():
        p.error(f"--out-dir {a.out_dir!r} already holds a run (run.ckpt.safetensors); give a new folder")

    import torch

    from shdd_geo import LocDiffusion

    torch.set_num_threads(a.threads)
    _, X, lat, lon, s = load_task_data("geonames", size=15000, split=a.split)
    tr = np.asarray(s.train)
    rows = {"val": np.sort(np.random.default_rng(0).choice(np.asarray(s.val), min(a.n_eval, len(s.val)),
                                                           replace=False)),
            "test": test_rows(s, a.n_test)}
    setting = {"split": a.split, "lr": a.lr, "dropout": a.dropout, "batch_size": a.batch_size, "L": a.L,
               "steps": a.steps, "seed": a.seed}

    def out(**kw) -> None:
        print(json.dumps({**setting, **kw}), flush=True)

    cells = method_factories(BASELINE_ARGS, {})["cells_nside16"]().fit(X[tr], lat[tr], lon[tr])
    for name, idx in rows.items():
        out(model="cells_nside16", rows=name, n=len(idx), point=point_metrics(*cells.predict(X[idx]), lat[idx], lon[idx]))

    out_dir = Path(a.out_dir)
    ck = out_dir / "run.ckpt.safetensors"
    out_dir.mkdir(parents=True, exist_ok=True)
    epochs = int(np.ceil(a.steps * a.batch_size / len(tr)))
    for step in snaps:
        est = LocDiffusion(L=a.L, loss="kl", lr=a.lr, dropout=a.dropout, warmup_steps=200,
                           decay_steps=max(1, a.steps - 200), batch_size=a.batch_size, random_state=a.seed,
                           verbose=False, device="cpu")
        t0 = time.perf_counter()
        est.fit(X[tr], lat[tr], lon[tr], epochs=epochs, max_steps=step, checkpoint=ck,
                resume=ck if ck.exists() else None)
        fit_s = round(time.perf_counter() - t0, 1)
        path = out_dir / f"step_{step:06d}.safetensors"
        est.save(path)
        for name, idx in rows.items():
            c = est.sample(X[idx], 16, sampler="ddim", steps=20, generator=0)
            mode = point_answers(c, *decode_samples(c))["mode"]
            out(model=str(path), step=step, rows=name, n=len(idx), train_loss=round(est.history_[-1]["train_loss"], 4),
                fit_s=fit_s, point=point_metrics(*mode, lat[idx], lon[idx]))


if __name__ == "__main__":
    main()
