"""Does mixing in the known namesakes of a name improve the built-in model's maps?

``Geolocator.locate``/``predict_field`` mix ``(1 - w) q + w p_names`` into each
map, ``p_names`` the kernel density of the GeoNames places that bear exactly
the query's name (``shdd_geo.namesakes``).  This measures it where it cannot
cheat: the held-out places of ``train_geonames_default.py`` (1 % of places,
never trained on), with a gazetteer of the *training* places only, so a
held-out place can only profit from other places of the same name.  The weight
and bandwidth (and the gazetteer's population exponent, ``--population-powers``)
are chosen on the calibration half (most likely) and reported on the evaluation
half.  Log-likelihoods are reported for uniform held-out queries and for
population-weighted ones (each held-out place weighted by its population:
people ask for big places more often than small ones); ``--objective`` says
which one chooses (default: population-weighted, issue 24).

Usage::

    python -m benchmarks.studies.namesake_prior --cache-dir DIR [--model M] [--threads 2] \
        [--weights 0.1,0.3,0.5,0.7] [--population-powers none,1] [--objective popweighted]
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--model", default=None, help="model file (default: the built-in geonames-minilm)")
    ap.add_argument("--weights", default="0.1,0.2,0.3,0.5")
    ap.add_argument("--bandwidths-km", default="50,200")
    ap.add_argument("--population-powers", default="none",
                    help="gazetteer weights population**p ('none': the training copies)")
    ap.add_argument("--objective", default="popweighted", choices=("popweighted", "uniform"))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import torch

    from shdd_geo import SphericalField, pretrained
    from shdd_geo.calibration import coverage, mean_area_km2
    from shdd_geo.datasets import embed_table, load_geonames, random_split
    from shdd_geo.datasets.gazetteer import Namesakes, mix_namesakes

    torch.set_num_threads(a.threads)
    table = load_geonames(1000)
    X = np.asarray(embed_table(table, cache_dir=a.cache_dir, progress=True), np.float32)
    split = random_split(table, fractions=(0.99, 0.0, 0.01), seed=0, groups="geonameid")
    te = np.random.default_rng(0).choice(np.asarray(split.test), size=1600, replace=False)
    halves = {"calibration": te[:800], "evaluation": te[800:]}  # as train_geonames_default.py --n-test 800
    lat, lon = table["lat"].to_numpy(), table["lon"].to_numpy()
    held_out = table["geonameid"].to_numpy()[np.asarray(split.test)]
    powers = [None if p.strip().lower() == "none" else float(p) for p in a.population_powers.split(",")]
    gazetteers = {p: Namesakes.from_geonames(1000, exclude_ids=held_out, population_power=p) for p in powers}
    pop = np.maximum(table["population"].to_numpy().astype(float), 1.0)
    geo = pretrained.load("geonames-minilm")
    if a.model:
        from shdd_geo.model import LocDiffusion

        geo.model = LocDiffusion.load(a.model, device="cpu")
        geo.model.verbose = False
    weights = [float(w) for w in a.weights.split(",")]
    bws = [float(b) for b in a.bandwidths_km.split(",")]
    results = {}
    for part, rows in halves.items():
        f = geo.model.predict_field(X[rows], nside=32, n_samples=16, generator=1, **geo.card.sample_kwargs)
        texts = table["text"].to_numpy()[rows]
        qw = pop[rows] / pop[rows].sum()  # population-weighted queries
        has = np.array([next(iter(gazetteers.values())).lookup(t).size > 0 for t in texts])
        base = f.log_likelihood(lat[rows], lon[rows])
        res = {"places": len(rows), "with_namesakes": int(has.sum()), "loglik": float(base.mean()),
               "loglik_popweighted": float(qw @ base),
               "loglik_with_namesakes": float(base[has].mean()), "coverage90": coverage(f, lat[rows], lon[rows])[0.9],
               "area90_Mkm2": mean_area_km2(f)[0.9] / 1e6}
        for p, ns in gazetteers.items():
            for bw in bws:
                ks = {j: ns.field(t, nside=32, bandwidth_km=bw, nest=f.nest) for j, t in enumerate(texts) if has[j]}
                for w in weights:
                    ld = np.array(f.log_density, copy=True)
                    for j, k in ks.items():
                        ld[j] = mix_namesakes(ld[j], np.asarray(k.log_density), w)
                    g = SphericalField(ld, kind="log_density", nest=f.nest)
                    ll = g.log_likelihood(lat[rows], lon[rows])
                    key = f"w={w},bw={bw:g}" + ("" if len(powers) == 1 else f",power={p}")
                    res[key] = {"loglik": float(ll.mean()), "loglik_popweighted": float(qw @ ll),
                                "loglik_with_namesakes": float(ll[has].mean()),
                                "coverage90": coverage(g, lat[rows], lon[rows])[0.9],
                                "area90_Mkm2": mean_area_km2(g)[0.9] / 1e6}
        results[part] = res
        print(json.dumps({"half": part, **res}), flush=True)
    cal = results["calibration"]
    metric = "loglik_popweighted" if a.objective == "popweighted" else "loglik"
    best = max((k for k in cal if k.startswith("w=")), key=lambda k: cal[k][metric])
    print(json.dumps({"objective": metric, "chosen_on_calibration": best, "evaluation": results["evaluation"][best],
                      "evaluation_without": {k: results["evaluation"][k] for k in
                                             ("loglik", "loglik_popweighted", "loglik_with_namesakes",
                                              "coverage90", "area90_Mkm2")}}))


if __name__ == "__main__":
    main()
