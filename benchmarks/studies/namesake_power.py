"""Namesake population exponent (issue 24): which weights ``population ** gamma`` make the
namesake density most likely for held-out queries, uniform and population-weighted.

Every GeoNames cities1000 place whose name another place shares is a query for
its own name; its log-likelihood under the 200 km kernel density of the
name's places (the truth among them: a known name) is averaged uniformly and
weighted by the place's population (people ask for big places more often).
Half of the places (seeded) choose gamma, the other half report.  Run::

    python -m benchmarks.studies.namesake_power
"""
import json, sys, time
import numpy as np
from shdd_geo.datasets import load_geonames, population_copies
from shdd_geo.datasets.gazetteer import fold_name
from shdd_geo.coords import latlon_to_xyz, EARTH_RADIUS_KM



def main() -> None:
    t0 = time.time()
    t = load_geonames(1000)
    t = t[~t.is_alternate].reset_index(drop=True)
    key = np.array([fold_name(s) for s in t.text])
    pop = np.maximum(t.population.to_numpy(float), 1.0)
    xyz = latlon_to_xyz(t.lat.to_numpy(), t.lon.to_numpy())
    order = np.argsort(key, kind="stable")
    ks = key[order]
    bounds = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1], True])
    groups = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= 2]
    rng = np.random.default_rng(0)
    val_mask = rng.random(len(t)) < 0.5  # half of the places choose gamma, the other half report
    h = 200.0
    kappa = (EARTH_RADIUS_KM / h) ** 2
    logC = np.log(kappa) - np.log(2 * np.pi) - kappa - np.log1p(-np.exp(-2 * kappa))
    schemes = {f"pow{g:g}": (lambda p, g=g: p ** g) for g in (0, 0.25, 1/3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)}
    schemes["copies(current)"] = lambda p: population_copies(p).astype(float)
    rows = {name: {"val": [], "test": []} for name in schemes}
    for g in groups:
        cosm = np.clip(xyz[g] @ xyz[g].T, -1, 1)
        logk = logC + kappa * (cosm - 1.0) + kappa  # log vMF kernel between members [log sr^-1]
        for name, fn in schemes.items():
            w = fn(pop[g]); lw = np.log(w / w.sum())
            ll = np.logaddexp.reduce(lw[None, :] + logk, axis=1)  # log density at each member (truth)
            top = g[np.argmax(w)]
            d_top = np.arccos(np.clip(xyz[g] @ xyz[top], -1, 1)) * EARTH_RADIUS_KM
            for i, gi in enumerate(g):
                rows[name]["val" if val_mask[gi] else "test"].append((ll[i], pop[gi], d_top[i] <= 25.0))
    out = {"n_groups": len(groups), "n_places": int(sum(len(g) for g in groups)), "bandwidth_km": h, "results": {}}
    for name, parts in rows.items():
        res = {}
        for part, r in parts.items():
            a = np.array(r); ll, p, hit = a[:, 0], a[:, 1], a[:, 2]
            res[part] = {"n": len(a), "ll_uniform": float(ll.mean()), "ll_popweighted": float((ll * p).sum() / p.sum()),
                         "acc25_uniform": float(hit.mean()), "acc25_popweighted": float((hit * p).sum() / p.sum())}
        out["results"][name] = res
    best = max((k for k in out["results"] if k.startswith("pow")), key=lambda k: out["results"][k]["val"]["ll_popweighted"])
    out["chosen_on_val_by_popweighted_ll"] = best
    out["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
