"""Why calibrated 90 % coverage falls short on the ``vs_retrieval`` test rows (issue 24): seeds, quantile, pixels, shift.

The ``vs_retrieval`` task (GeoNames cities1000, random split grouped by
``geonameid``, nside 32) fits :class:`shdd_geo.calibration.ConformalLevels` on
one draw of 1,000 validation rows (``default_rng(1)``) and reports calibrated
coverage on 3,000 test rows (:func:`benchmarks.common.test_rows`); every
method came out below 90 %.  For each fast method (``regression``,
``knn_vote``, ``cells_nside16``; fitted once on the training rows, settings of
:func:`benchmarks.common.method_factories`) this study computes, in chunks,
the conformity score of every row of a validation pool (all of
``split.val`` by default) and of the test rows -- the score of
``ConformalLevels.fit``: the mass of the pixels at least as dense as the
truth's pixel, re-implemented here from the public field and checked against
``ConformalLevels.fit`` chunk by chunk -- and, per test row, the mass before
the truth's pixel in the order ``credible_region`` draws pixels, and the mass
of pixels strictly denser (the rule of ``coverage``/``report``).  Then:

1. **Calibration draws** (suspect a): ``--draws`` draws of ``--n-cal``
   validation rows (seeds 1..draws, the task's own ``default_rng(seed)``
   draw; seed 1 is the task's), each giving test coverage at 50/80/90/95 %:
   mean, SD, min, max and the rank of seed 1; plus the coverage with the
   whole validation pool as calibration set (little sampling noise left).
2. **Quantile and pixels** (suspects b, c): per draw, the exact coverage the
   scores imply (fraction of test scores <= the ``ceil((n + 1) level)``-th
   calibration score, computed here without the library) against the
   coverage of ``report`` (``denser < nominal``) and of the regions drawn
   through ``ConformalLevels.apply(...).credible_region(level)`` (computed from
   the per-row mass before the truth's pixel; for seed 1 also by drawing the
   regions themselves and asserting that both agree).
3. **Shift** (suspect d): two-sample Kolmogorov-Smirnov tests of validation
   pool against test scores, of the seed-1 draw against test scores, and of
   log population between the validation pool and the test rows; the share
   of alternate-name rows of each part.

One JSON line per method (task ``conformal_seeds``) and one per method and
level (task ``conformal_seeds_level``), appended to ``--results``.  The test
rows choose nothing here: they are only measured.

Run::

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m benchmarks.studies.conformal_seeds --epochs 3 \\
        --results benchmarks/results/conformal_seeds-full.jsonl --tier full
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from benchmarks.common import (ResultLog, add_result_args, fit_method, load_names, make_split, method_factories,
                               test_rows)

LEVELS = (0.5, 0.8, 0.9, 0.95)


def _csv(s: str) -> list[str]:
    return [x for x in s.split(",") if x]


def conformal_rank(n: int, level: float) -> int:
    """``ceil((n + 1) level)`` (1-based rank of the calibration score to use), exact for levels given to 1e-6."""
    num = round(level * 1_000_000)
    return -(-(n + 1) * num // 1_000_000)


def exact_quantile(sorted_scores: np.ndarray, level: float) -> float:
    """The ``ceil((n + 1) level)``-th smallest score, 1.0 (the whole sphere) beyond ``n``."""
    k = conformal_rank(sorted_scores.size, level)
    return 1.0 if k > sorted_scores.size else float(sorted_scores[max(k, 1) - 1])


def row_masses(fields, lat, lon, before: bool = True) -> dict:
    """Per row: ``score`` (mass at least as dense as the truth's pixel), ``denser`` (strictly denser),
    ``before`` (mass ahead of the truth's pixel in ``credible_region``'s stable order) and ``tied``."""
    import healpy as hp

    rows = np.atleast_2d(fields.normalize().log_density)
    pix = hp.ang2pix(fields.nside, np.asarray(lon, float), np.asarray(lat, float), nest=fields.nest, lonlat=True)
    log_area = math.log(fields.pixel_area)
    out = {k: np.empty(len(rows)) for k in ("score", "denser", "before", "tied")}
    for b, row in enumerate(rows):
        p = np.exp(row + log_area)
        t = row[pix[b]]
        out["denser"][b] = p[row > t].sum()
        out["tied"][b] = p[row == t].sum()
        out["score"][b] = min(out["denser"][b] + out["tied"][b], 1.0)
        if not before:
            out["before"][b] = np.nan
            continue
        order = np.argsort(-row, kind="stable")  # as credible_region orders the pixels
        r = int(np.flatnonzero(order == pix[b])[0])
        out["before"][b] = 0.0 if r == 0 else float(np.cumsum(np.exp(row[order[:r]] + log_area))[-1])
    return out


def score_rows(est, X, lat, lon, rows, nside: int, chunk: int, before: bool = True) -> dict:
    """:func:`row_masses` of ``rows``, ``chunk`` fields at a time; checked against ``ConformalLevels.fit``."""
    from shdd_geo.calibration import ConformalLevels

    parts = []
    for s in range(0, len(rows), chunk):
        r = rows[s:s + chunk]
        f = est.predict_field(X[r], nside=nside)
        m = row_masses(f, lat[r], lon[r], before)
        lib = ConformalLevels.fit(f, lat[r], lon[r]).scores
        err = float(np.max(np.abs(np.sort(m["score"]) - lib)))  # the library's scores of the same rows
        if err > 1e-9:
            raise AssertionError(f"scores differ from ConformalLevels.fit by {err}")
        parts.append(m)
        del f
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def drawn_coverage_check(est, cal, X, lat, lon, te, nside: int, chunk: int, levels) -> dict:
    """Coverage of the regions actually drawn: ``cal.apply(fields).credible_region(level).contains`` (chunked)."""
    inside = {lv: 0 for lv in levels}
    for s in range(0, len(te), chunk):
        r = te[s:s + chunk]
        f = cal.apply(est.predict_field(X[r], nside=nside))
        for lv in levels:
            inside[lv] += int(np.diagonal(f.credible_region(lv).contains(lat[r], lon[r])).sum())
    return {lv: inside[lv] / len(te) for lv in levels}


def report_coverage_check(est, cal, X, lat, lon, te, nside: int, chunk: int, levels) -> dict:
    """``ConformalLevels.report`` coverage on the test rows (chunk means weighted by rows)."""
    tot = {lv: 0.0 for lv in levels}
    for s in range(0, len(te), chunk):
        r = te[s:s + chunk]
        rep = cal.report(est.predict_field(X[r], nside=nside), lat[r], lon[r], levels=levels)
        for lv in levels:
            tot[lv] += rep[lv]["coverage"] * len(r)
    return {lv: tot[lv] / len(te) for lv in levels}


def _inside(mass_ahead, nominal):
    """Inside the region drawn at ``nominal``: less than ``nominal`` ahead of the truth's pixel, or the whole
    sphere (a nominal level above ``1 - 1e-12``, as ``credible_region`` and ``report`` treat it)."""
    return (mass_ahead < nominal) | (nominal > 1.0 - 1e-12)


def summary(x: np.ndarray) -> dict:
    return {"mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1)), "min": float(np.min(x)),
            "max": float(np.max(x))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", type=_csv, default=["regression", "knn_vote", "cells_nside16"])
    p.add_argument("--size", type=int, default=1000, help="GeoNames gazetteer (1000 = cities1000)")
    p.add_argument("--nside", type=int, default=32, help="as the vs_retrieval task's density metrics")
    p.add_argument("--epochs", type=int, default=3, help="torch baselines (the vs_retrieval full run used 3)")
    p.add_argument("--n-train", type=int, default=0, help="seeded subset of the training rows (0 = all; quick runs)")
    p.add_argument("--val-pool", type=int, default=0, help="validation rows scored (0 = all of split.val)")
    p.add_argument("--n-cal", type=int, default=1000, help="calibration rows per draw (the task's --n-val)")
    p.add_argument("--n-test", type=int, default=3000, help="test rows (benchmarks.common.test_rows)")
    p.add_argument("--draws", type=int, default=50, help="calibration draws, seeds 1..draws (seed 1 = the task's)")
    p.add_argument("--full-test", action="store_true",
                   help="also score all of split.test (coverage on the whole test part, beside the 3,000 rows)")
    p.add_argument("--chunk", type=int, default=500, help="fields held in memory at once")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    add_result_args(p)
    a = p.parse_args()

    import torch
    from scipy.stats import ks_2samp

    from shdd_geo.calibration import ConformalLevels, map_level

    torch.set_num_threads(a.threads)
    table, X, lat, lon = load_names(a.size)
    s = make_split("random", lat, lon, table)
    tr = np.asarray(s.train)
    if a.n_train and a.n_train < len(tr):
        tr = np.sort(np.random.default_rng(0).choice(tr, size=a.n_train, replace=False))
    val = np.asarray(s.val)
    pool = val if not a.val_pool or a.val_pool >= len(val) else np.sort(
        np.random.default_rng(12345).choice(val, size=a.val_pool, replace=False))
    te = test_rows(s, a.n_test)
    pos = {int(r): i for i, r in enumerate(pool)}
    draws = {}
    for seed in range(1, a.draws + 1):  # the task's draw, seed by seed (from all of split.val)
        d = np.sort(np.random.default_rng(seed).choice(val, size=min(a.n_cal, len(val)), replace=False))
        draws[seed] = np.array([pos[int(r)] for r in d if int(r) in pos])
    if len(draws[1]) < min(a.n_cal, len(val)):
        print(f"note: the validation pool holds {len(draws[1])} of seed 1's {a.n_cal} rows")

    # (d) the parts themselves: population and alternate names
    logpop = np.log10(np.maximum(table.population.to_numpy(dtype=float), 1.0))
    alt = table.is_alternate.to_numpy(dtype=bool) if "is_alternate" in table else np.zeros(len(table), bool)
    parts = {"n_rows": int(len(table)), "n_groups": int(table.geonameid.nunique()),
             "alternate_share_val": float(alt[val].mean()), "alternate_share_test": float(alt[te].mean()),
             "log10_pop_mean_val": float(logpop[val].mean()), "log10_pop_mean_test": float(logpop[te].mean()),
             "log10_pop_ks_p_val_vs_test": float(ks_2samp(logpop[val], logpop[te]).pvalue),
             "log10_pop_ks_p_seed1_vs_test": float(ks_2samp(logpop[np.sort(
                 np.random.default_rng(1).choice(val, size=min(a.n_cal, len(val)), replace=False))], logpop[te]).pvalue)}

    with ResultLog(a.results, tier=a.tier, seed=1) as log:
        fitted = {}
        factories = method_factories(a, fitted)
        for name in a.methods:
            t0 = time.perf_counter()
            est = fit_method(name, factories[name](), X[tr], lat[tr], lon[tr], a)
            fit_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            mv = score_rows(est, X, lat, lon, pool, a.nside, a.chunk, before=False)
            mt = score_rows(est, X, lat, lon, te, a.nside, a.chunk)
            score_s = time.perf_counter() - t1
            sv, st = mv["score"], mt["score"]
            mf = score_rows(est, X, lat, lon, np.asarray(s.test), a.nside, a.chunk, before=False) if a.full_test else None

            cov = {lv: {k: [] for k in ("exact", "report", "drawn")} for lv in LEVELS}
            for seed, idx in draws.items():
                cal = ConformalLevels(sv[idx])
                srt = np.sort(sv[idx])
                table_map = cal.level_map()
                for lv in LEVELS:
                    q = exact_quantile(srt, lv)
                    nom, drawn_nom = cal.nominal(lv), map_level(lv, table_map)
                    cov[lv]["exact"].append(float(np.mean(st <= q)))
                    cov[lv]["report"].append(float(np.mean(_inside(mt["denser"], nom))))
                    cov[lv]["drawn"].append(float(np.mean(_inside(mt["before"], drawn_nom))))
            # seed 1 through the library itself: report() and the regions actually drawn
            t2 = time.perf_counter()
            cal1 = ConformalLevels(sv[draws[1]])
            lib_report = report_coverage_check(est, cal1, X, lat, lon, te, a.nside, a.chunk, LEVELS)
            lib_drawn = drawn_coverage_check(est, cal1, X, lat, lon, te, a.nside, a.chunk, LEVELS)
            for lv in LEVELS:
                if abs(lib_drawn[lv] - cov[lv]["drawn"][0]) > 1e-12 or abs(lib_report[lv] - cov[lv]["report"][0]) > 1e-12:
                    raise AssertionError(f"{name} {lv}: drawn {lib_drawn[lv]} vs {cov[lv]['drawn'][0]}, "
                                         f"report {lib_report[lv]} vs {cov[lv]['report'][0]}")
            check_s = time.perf_counter() - t2
            srt_pool = np.sort(sv)
            for lv in LEVELS:
                full = {}
                if mf is not None:  # the whole test part: exact (score) and report (denser < nominal) rules
                    qs = np.array([exact_quantile(np.sort(sv[idx]), lv) for idx in draws.values()])
                    ex = np.array([np.mean(mf["score"] <= q) for q in qs])
                    rp = np.array([np.mean(_inside(mf["denser"], q)) for q in qs])
                    full = {"full_test": {"n": int(len(mf["score"])), "seed1_exact": float(ex[0]),
                                          "seed1_report": float(rp[0]), "exact_over_draws": summary(ex),
                                          "report_over_draws": summary(rp),
                                          "pool_quantile_coverage": float(np.mean(
                                              mf["score"] <= exact_quantile(srt_pool, lv)))}}
                c = {k: np.asarray(v) for k, v in cov[lv].items()}
                k1 = conformal_rank(len(draws[1]), lv)
                n1 = len(draws[1])
                log.emit("conformal_seeds_level", method=name, split="random", level=lv, n_cal=n1,
                         n_test=int(len(te)), n_draws=len(draws), nominal_seed1=cal1.nominal(lv),
                         exact_quantile_seed1=exact_quantile(np.sort(sv[draws[1]]), lv),
                         seed1={k: float(v[0]) for k, v in c.items()},
                         seed1_rank=int(np.sum(c["drawn"] < c["drawn"][0]) + 1),
                         seed1_library={"report": lib_report[lv], "drawn": lib_drawn[lv]},
                         **{f"{k}_over_draws": summary(v) for k, v in c.items()},
                         drawn_minus_exact_mean=float(np.mean(c["drawn"] - c["exact"])),
                         draws_below_level=int(np.sum(c["drawn"] < lv)),
                         draws_sd_theory=float(math.sqrt(k1 * (n1 + 1 - k1) / ((n1 + 1) ** 2 * (n1 + 2)))),
                         pool_quantile_coverage=float(np.mean(st <= exact_quantile(srt_pool, lv))),
                         val_pool_share_below_seed1_quantile=float(np.mean(sv <= exact_quantile(
                             np.sort(sv[draws[1]]), lv))),
                         seed_coverages=[round(float(x), 5) for x in c["drawn"]], **full)
            ks = ks_2samp(sv, st)
            ks1 = ks_2samp(sv[draws[1]], st)
            ks1p = ks_2samp(sv[draws[1]], np.delete(sv, draws[1]))
            log.emit("conformal_seeds", method=name, split="random", nside=a.nside, n_train=int(len(tr)),
                     n_val_pool=int(len(pool)), n_test=int(len(te)), epochs=a.epochs,
                     ks_val_pool_vs_test={"stat": float(ks.statistic), "p": float(ks.pvalue)},
                     ks_seed1_vs_test={"stat": float(ks1.statistic), "p": float(ks1.pvalue)},
                     ks_seed1_vs_rest_of_pool={"stat": float(ks1p.statistic), "p": float(ks1p.pvalue)},
                     score_median_val=float(np.median(sv)), score_median_test=float(np.median(st)),
                     share_score_1_val=float(np.mean(sv >= 1 - 1e-9)), share_score_1_test=float(np.mean(st >= 1 - 1e-9)),
                     tied_mean_test=float(np.mean(mt["tied"])), tied_max_test=float(np.max(mt["tied"])),
                     share_before_gt_denser_test=float(np.mean(mt["before"] > mt["denser"] + 1e-15)),
                     **parts, fit_s=round(fit_s, 1), score_s=round(score_s, 1), check_s=round(check_s, 1))


if __name__ == "__main__":
    main()
