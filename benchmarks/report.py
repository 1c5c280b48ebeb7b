"""Generate the results page ``docs/benchmarks.md`` from ``benchmarks/results/*.jsonl``.

Every figure on the page is read from a result file; the paper's figures come
from :mod:`benchmarks.paper`.  Each table names the command that made it, the
result file, the run id, git sha, date and the load average at start and end.
For each job the full-tier run is shown when it exists, else the quick-tier
run with a line saying that the full tier has not been run in this suite.
``python -m benchmarks report`` writes the page; ``render()`` returns it.
"""

from __future__ import annotations

from benchmarks.common import ROOT, read_results
from benchmarks.paper import PAPER
from benchmarks.suite import FULL_ONLY, JOBS, latest_run, result_path

__all__ = ["PAGE", "headline", "render"]

PAGE = ROOT / "docs" / "benchmarks.md"
_JOB = {j.name: j for j in JOBS}
_POINT = [("200 km", "acc_200km", "pct"), ("750 km", "acc_750km", "pct"), ("2500 km", "acc_2500km", "pct"),
          ("25 km", "acc_25km", "pct"), ("median km", "median_km", "int"), ("GeoScore", "geoscore", "int")]
_DENSITY = [("loglik", "loglik", "f2"), ("cov. 90 %", "coverage_0.9", "pct")]


def _fmt(v, how: str) -> str:
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return " ".join(str(x) for x in v)
    return {"pct": lambda x: f"{100 * x:.1f}", "int": lambda x: f"{x:,.0f}", "f1": lambda x: f"{x:.1f}",
            "f2": lambda x: f"{x:.2f}", "f3": lambda x: f"{x:.3f}", "x": lambda x: f"{x:.2f}×",
            "e": lambda x: f"{x:.1e}", "g": lambda x: f"{x:.3g}"}.get(how, str)(v)


def _get(row: dict, key: str):
    if key in ("method", "split"):
        return row[key]
    return row["metrics"].get(key)


def _shown(rows: list[dict], cols: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The columns with a value in at least one row."""
    return [c for c in cols if c[1] in ("method", "split") or any(_get(r, c[1]) is not None for r in rows)]


def _markdown(header: list[str], body: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(cells) + " |" for cells in body])


def _table(rows: list[dict], cols: list[tuple[str, str, str]]) -> list[str]:
    cols = _shown(rows, cols)
    return _markdown([c[0] for c in cols], [[_fmt(_get(r, k), how) for _, k, how in cols] for r in rows])


def _split_table(rows: list[dict], cols: list[tuple[str, str, str]], describe, note: str = "") -> list[str]:
    """One table for every split: a line per method, each cell ``random / spatial`` (splits as they appear).

    ``describe(split, rows)`` says what one split holds (rows, run); the caption joins them, then ``note``.
    """
    splits = list(dict.fromkeys(r["split"] for r in rows))
    of = {(r["method"], r["split"]): r for r in rows}
    said = "; ".join(describe(s, [r for r in rows if r["split"] == s]) for s in splits)
    lead = f"Each cell reads {' / '.join(splits)} split. " if len(splits) > 1 else ""
    cols = _shown(rows, cols)
    body = [[m] + [" / ".join(_fmt(_get(of[m, s], k), how) if (m, s) in of else "–" for s in splits)
                   for _, k, how in cols[1:]] for m in dict.fromkeys(r["method"] for r in rows)]
    return [lead + said[0].upper() + said[1:] + note + ".", ""] + _markdown([c[0] for c in cols], body)


def _source(job: str, tier: str, rows: list[dict]) -> str:
    r = rows[0]
    dirty = " (+ uncommitted library changes)" if r["git_dirty"] else ""
    load = f"{r['load_avg_start'][0]:.1f} → {r['load_avg_end'][0]:.1f}"
    command = r.get("command") or _JOB[job].command(tier)  # as run (the suite's arguments may have changed since)
    return (f"*Command:* `{command}` · *result file:* "
            f"`{result_path(job, tier).relative_to(ROOT)}` (run `{r['run_id']}`, git `{r['git_sha']}`{dirty}, "
            f"{r['timestamp'][:16].replace('T', ' ')} UTC, {r['machine']['cpu_count']} CPUs, "
            f"1-min load average {load})")


#: jobs run one split (or method) at a time (hours each): the page shows the latest run of every split and method
_PER_SPLIT = {"vs_retrieval"}


def _pick(job: str) -> tuple[str | None, list[dict]]:
    """The tier shown for a job (full when it exists) and its rows."""
    for tier in ("full", "quick"):
        rows = _latest_per_split(job, tier) if job in _PER_SPLIT else latest_run(job, tier)
        if rows:
            return tier, rows
    return None, []


def _latest_per_split(job: str, tier: str) -> list[dict]:
    """Rows of the most recent run of each split and method (splits in the order they first appear)."""
    path = result_path(job, tier)
    rows = read_results(path) if path.exists() else []
    key = lambda r: (r["split"], r["task"], r["method"])  # noqa: E731
    last = {key(r): r["run_id"] for r in rows}
    return [r for r in rows if last.get(key(r)) == r["run_id"]]


def _not_run(job: str, tier: str) -> str:
    j = _JOB[job]
    return (f"*{tier.capitalize()} tier: not yet run in this suite* (`python -m benchmarks {tier} --only {job}`); "
            f"last study figures: [docs/notes/{j.note}](notes/{j.note}).")


def _section(job: str, title: str, render_rows) -> list[str]:
    tier, rows = _pick(job)
    out = [f"### {title}"]  # the paragraph follows the heading directly: a short page
    if tier is None:
        return out + [_not_run(job, "quick" if job not in FULL_ONLY else "full"), ""]
    later = " " + _not_run(job, "full") if tier == "quick" else ""  # one paragraph: what ran, what is to run
    return out + [f"{tier.capitalize()} tier. " + _source(job, tier, rows) + later, ""] + render_rows(rows) + [""]


# -- per-job tables --------------------------------------------------------------------------


def _location(rows):
    def describe(split, sel):
        m = sel[0]["metrics"]
        return f"{split} split: {m['n_train']:,} training rows, {m['n_test']:,} test rows"

    main = [r for r in rows if r["task"] != "anchors"]
    out = _split_table(main, [("method", "method", "")] + _POINT + _DENSITY, describe,
                       "; accuracy in % of test rows") if main else []
    anchors = [r for r in rows if r["task"] == "anchors"]
    if anchors:
        out += [""] * bool(out) + ["Paper Table 2 (random split): LocDiffusion samples decoded on each anchor set "
                                   "(argmax, no refinement, samples' centre) and the GeoCLIP-style retriever "
                                   "searching the same gallery.", ""]
        out += _table(anchors, [("method", "method", ""), ("anchors", "anchors", "")] + _POINT[:3])
    return out


def _drift(rows):
    return _table(rows, [("decoder", "method", ""), ("L", "L", ""), ("points", "n", ""),
                         ("median km", "median_km", "f2"), ("p90 km", "p90_km", "f2"),
                         ("Cramér–Rao median km", "cramer_rao_median_km", "f2"),
                         ("anchor spacing km", "anchor_spacing_km", "int"),
                         ("÷ paper 5.3 km", "ratio_to_paper", "f2")])


def _resolution(rows):
    return _table(rows, [("L", "L", ""), ("kernel HWHM km", "kernel_hwhm_km", "int"),
                         ("20000/L km", "paper_20000_over_L_km", "int"), ("clean max km", "clean_max_km", "e"),
                         ("noisy median km", "noisy_median_km", "f2"), ("noisy p90 km", "noisy_p90_km", "f2")])


def _sh_basis(rows):
    peers = sorted({k for r in rows for k in r["metrics"] if k.startswith("speed_ratio_vs_")})
    return _table(rows, [("method", "method", ""), ("L", "L", ""), ("dtype", "dtype", ""),
                         ("points/s", "points_per_s", "int")]
                  + [(f"shdd_geo ÷ {p[15:]}", p, "x") for p in peers]
                  + [("max err vs scipy", "max_abs_err_vs_scipy_f64", "e")])


def _decode(rows):
    return _table(rows, [("method", "method", ""), ("anchors", "n_anchors", "int"), ("seconds", "seconds", "f2"),
                         ("peak GiB", "peak_gib", "f3"), ("time ÷ coarse-to-fine", "ratio_vs_coarse_to_fine", "x"),
                         ("matmul time ÷ this", "ratio_vs_matmul", "x"),
                         ("agree ≤ 1 km", "frac_within_1km_of_coarse_to_fine", "pct")])


def _field(rows):
    syn = [r for r in rows if r["method"] == "synthesis"]
    reg = [r for r in rows if r["method"] in ("credible_region", "memory")]
    return (_table(syn, [("case", "method", ""), ("B", "B", ""), ("nside", "nside", ""),
                         ("from_shdd s", "from_shdd_s", "f3"), ("direct s", "direct_s", "f3"),
                         ("direct ÷ from_shdd", "direct_over_from_shdd", "x"),
                         ("healpy batch ÷ loop", "batch_call_over_loop", "x"),
                         ("max abs diff", "max_abs_diff", "e")]) + [""]
            + _table(reg, [("case", "method", ""), ("B", "B", ""), ("nside", "nside", ""),
                           ("single ÷ batched", "single_over_batched", "x"),
                           ("peak ÷ values", "peak_over_values", "x")]))


def _sample(rows):
    return _table([r for r in rows if r["method"] != "train"],
                  [("sampler", "method", ""), ("L", "L", ""), ("conditions", "n_cond", ""),
                   ("cond./s", "cond_per_s_sampling", "f2"), ("speed ÷ DDPM-100", "speedup_vs_ddpm100", "x"),
                   ("after ÷ before first decode", "after_over_before_first_decode", "x"),
                   ("200 km", "acc_200km", "pct"), ("2500 km", "acc_2500km", "pct")])


def _train(rows):
    return _table(rows, [("case", "method", ""), ("D", "D", ""), ("samples/s", "samples_per_s", "f1"),
                         ("÷ first case", "ratio_vs_L15", "x"), ("peak RSS MB", "peak_rss_mb", "int")])


def _locate(rows):
    """Rows of benchmarks.perf.locate: this tree (new) against the landed code (base), same run."""
    def vs_base(task, keys):  # new ÷ base of the same run, computed here from the two rows
        got = of(task)
        base = next((r["metrics"] for r in got if r["method"] == "base"), {})
        for r in got:
            for k in keys:
                if r["method"] == "new" and base.get(k):
                    r["metrics"][f"{k}_ratio_vs_base"] = r["metrics"][k] / base[k]
        return got

    def of(task):
        return [r for r in rows if r["task"] == task]

    for task, keys in (("locate_warm", ("s_per_name", "s_per_name_files")), ("locate_cold", ("wall_s", "wall_s_files")),
                       ("locate_batch", ("names_per_s",))):
        vs_base(task, keys)
    out = []
    if not of("locate_warm"):  # an older run of the script: wall time of two names
        return _table(rows, [("case", "method", ""), ("wall s (2 names)", "wall_s", "f1"),
                             ("÷ no_snap", "ratio_vs_no_snap", "x"), ("Paris top mode km", "paris_top_mode_km", "f1"),
                             ("Springfield US and AU", "springfield_us_and_au", "")])
    out += ["Warm, per name (target ≤ 0.1 s without files, ≤ 0.3 s with the PNG, NetCDF and GeoJSON):", ""]
    out += _table(of("locate_warm"), [("code", "method", ""), ("s/name", "s_per_name", "f2"),
                                      ("÷ base", "s_per_name_ratio_vs_base", "x"),
                                      ("s/name with files", "s_per_name_files", "f2"),
                                      ("÷ base", "s_per_name_files_ratio_vs_base", "x")])
    checks = of("locate_checks")
    m = checks[0]["metrics"] if checks else {}
    said = (f" Checks: Paris top mode {_fmt(m.get('paris_top_mode_km'), 'f1')} km from Paris, France; Springfield "
            f"modes in the US and Australia: {_fmt(m.get('springfield_us_and_au'), '')}.") if checks else ""
    out += ["", "Cold, one name in a fresh process (target ≤ 4 s)." + said, ""]
    out += _table(of("locate_cold"), [("code", "method", ""), ("s, no files", "wall_s", "f1"),
                                      ("÷ base", "wall_s_ratio_vs_base", "x"), ("s, with files", "wall_s_files", "f1"),
                                      ("÷ base", "wall_s_files_ratio_vs_base", "x")])
    out += ["", "Another CPU-bound process running (target: busy ÷ quiet ≤ 2):", ""]
    out += _table(of("locate_busy"), [("code", "method", ""), ("s/name", "s_per_name", "f2"),
                                      ("busy ÷ quiet", "busy_ratio", "x"), ("s/name with files", "s_per_name_files", "f2"),
                                      ("busy ÷ quiet, files", "busy_ratio_files", "x")])
    out += ["", "Batch of GeoNames names written to one GeoPackage (target ≥ 33 names/s; 10,000 names "
            "extrapolated from the names run):", ""]
    out += _table(of("locate_batch"), [("code", "method", ""), ("names", "names", "int"),
                                       ("names/s", "names_per_s", "f2"), ("÷ base", "names_per_s_ratio_vs_base", "x"),
                                       ("10,000 names s (extrapolated)", "extrapolated_10000_s", "int")])
    if of("locate_samples"):
        n = of("locate_samples")[0]["metrics"].get("n", 0)
        out += ["", "Samples per name: top mode within 25 km of the most populous namesake on the validation "
                f"names (ranks 201-{200 + n} of the ambiguous-name set), and CPU time per name:", ""]
        out += _table(of("locate_samples"), [("samples", "n_samples", "int"), ("names", "n", "int"),
                                             ("≤ 25 km %", "acc_25km", "pct"), ("CPU s/name", "cpu_s_per_name", "f2")])
    return out


def _locate_memory(rows):
    return _table(rows, [("names", "names", ""), ("peak RSS MiB", "peak_rss_mib", "f1"),
                         ("÷ one name", "ratio_vs_1", "x"), ("within 1.2x", "within_1_2x", ""),
                         ("wall s", "wall_s", "f1")])


def _text(rows):
    return _table(rows, [("case", "method", ""), ("strings/s", "strings_per_s", "f1"),
                         ("÷ batch 256", "ratio_vs_256", "x"), ("cold ÷ warm", "ratio_cold_over_warm", "x")])


def _toponyms(rows):
    main = [r for r in rows if r["task"] == "toponyms"]
    named = [r for r in rows if r["task"] == "toponyms_named"]
    out = _table(main, [("names", "split", ""), ("n", "n", ""), ("top mode ≤ 25 km of the most populous namesake %",
                                                                  "acc_25km", "pct"),
                        ("top mode in another country", "wrong_country", "")])
    if named:
        out += ["", "Named checks of the issue: " + ", ".join(
            f"{k[3:].replace('_', ' ')}: {_fmt(v, '')}" for k, v in named[0]["metrics"].items()) + "."]
    return out


def _conformal(rows):
    return _table(rows, [("level", "level", ""), ("nominal", "nominal", "f3"),
                         ("coverage raw %", "coverage_raw", "pct"), ("area raw M km²", "area_Mkm2_raw", "g"),
                         ("coverage calibrated %", "coverage", "pct"), ("area calibrated M km²", "area_Mkm2", "g")])


def _calibration_splits(rows):
    """One line per model, split and calibration set: coverage at every level, areas of the 90 % region."""
    groups: dict[tuple, dict] = {}
    for r in rows:
        key = (r["method"], r["split"], r["metrics"].get("calibration"))
        groups.setdefault(key, {})[r["metrics"]["level"]] = r["metrics"]
    out = ["| model | split | calibrated on | coverage raw % (50/80/90/95) | coverage calibrated % (50/80/90/95) "
           "| 90 % area raw M km² | 90 % area calibrated M km² |", "|---|---|---|---|---|---|---|"]
    for (method, split, cal), by_level in groups.items():
        levels = sorted(by_level)
        cov = lambda k: " / ".join(_fmt(by_level[lv][k], "pct") for lv in levels)  # noqa: E731
        m90 = by_level.get(0.9, {})
        out.append(f"| {method} | {split} | {_fmt(cal, '')} | {cov('coverage_raw')} | {cov('coverage')} "
                   f"| {_fmt(m90.get('area_Mkm2_raw'), 'g')} | {_fmt(m90.get('area_Mkm2'), 'g')} |")
    return out


def _vs_retrieval(rows):
    """Every method on the same test rows; LocDiffusion's inference chosen on validation rows."""
    test = [r for r in rows if r["task"] == "vs_retrieval"]
    for r in test:  # fitting cost in CPU minutes (the 2-core budget is 20 minutes per model)
        r["metrics"]["fit_cpu_min"] = (r["metrics"].get("fit_cpu_s") or 0.0) / 60.0

    def describe(split, sel):
        m = sel[0]["metrics"]
        later = {r["run_id"]: r for r in sel if r["run_id"] != sel[0]["run_id"]}  # methods measured again later
        again = "".join(f"; {', '.join(x['method'] for x in sel if x['run_id'] == rid)} from run `{rid}` "
                        f"(`{r.get('command', '')}`)" for rid, r in later.items())
        return (f"{split} split (run `{sel[0]['run_id']}`{again}): {m['n_train']:,} training rows, "
                f"{m['n_test']:,} test rows, {m['n_val']:,} validation rows")

    return _split_table(test, [("method", "method", "")] + _POINT[:3] + [
        ("median km", "median_km", "int"), ("loglik", "loglik", "f2"),
        ("cal. cov. 90 %", "coverage_0.9_calibrated", "pct"), ("cal. area 90 % km²", "area_0.9_km2_calibrated", "e"),
        ("steps", "steps", ""), ("fit CPU min", "fit_cpu_min", "f1")], describe,
        " (validation rows choose the inference settings and the conformal map)")


_RENDER = {"toponyms": _toponyms, "conformal": _conformal, "conformal_bluemarble": _conformal, "calibration_splits": _calibration_splits, "vs_retrieval": _vs_retrieval, "names": _location, "names_cities1000": _location, "bluemarble": _location, "drift": _drift,
           "resolution": _resolution, "sh_basis": _sh_basis, "decode": _decode, "field": _field,
           "sample": _sample, "train": _train, "locate": _locate, "locate_memory": _locate_memory,
           "text_embedding": _text}


# -- headline table against the paper --------------------------------------------------------


def _m(rows, **match) -> dict | None:
    for r in rows:
        if all(_get(r, k) == v if k in ("method", "split") else r["metrics"].get(k) == v for k, v in match.items()):
            return r["metrics"]
    return None


def _head_drift(rows):
    ok = [r["metrics"] for r in rows if r["method"] == "mode_refined"]
    return "; ".join(f"L = {m['L']}: {m['median_km']:.2f} km (floor {m['cramer_rao_median_km']:.2f})" for m in ok)


def _head_resolution(rows):
    worst = max(r["metrics"]["clean_max_km"] for r in rows)
    hi = max(rows, key=lambda r: r["metrics"]["L"])["metrics"]
    return (f"clean decode error ≤ {worst:.1e} km for L = {rows[0]['metrics']['L']}–{hi['L']}; "
            f"noisy median {hi['noisy_median_km']:.2f} km at L = {hi['L']}")


def _head_anchors(rows):
    anc = [r for r in rows if r["task"] == "anchors"]
    if not anc:
        return None
    out = []
    for method in ("locdiffusion", "geoclip_style"):
        a = [r["metrics"] for r in anc if r["method"] == method]
        ch = max((abs(x[k] / a[0][k] - 1) for x in a[1:] for k in ("acc_200km", "acc_750km", "acc_2500km")
                  if a[0][k] > 0), default=0.0)
        out.append(f"{method}: largest change {100 * ch:.0f} % from the training gallery")
    return "; ".join(out)


def _head_table1(rows):
    r = _m(rows, method="locdiffusion", split="random")
    others = [x for x in rows if x["split"] == "random" and x["task"] != "anchors"
              and not x["method"].startswith(("locdiffusion", "hybrid"))]
    if r is None or not others:
        return None
    best = max(others, key=lambda x: x["metrics"]["acc_750km"])
    b = best["metrics"]
    return (f"random split, 200/750/2500 km: LocDiffusion {100 * r['acc_200km']:.1f} / {100 * r['acc_750km']:.1f}"
            f" / {100 * r['acc_2500km']:.1f} % vs best baseline ({best['method']}) {100 * b['acc_200km']:.1f} / "
            f"{100 * b['acc_750km']:.1f} / {100 * b['acc_2500km']:.1f} %")


def _head_losses(rows):
    losses = [r for r in rows if r["split"] == "random" and r["method"].startswith("locdiffusion")]
    if len(losses) < 2:
        return None
    return "acc. 200 km: " + ", ".join(f"{r['method']} {100 * r['metrics']['acc_200km']:.1f} %" for r in losses)


def _head_sampling(rows):
    r = _m(rows, method="ddim-20", L=23)
    return None if r is None else (f"DDIM-20 {r['speedup_vs_ddpm100']:.1f}× the conditions/s of DDPM-100 "
                                   f"(L = 23, CPU, same run)")


_HEADLINE = [("drift_km", "drift", _head_drift), ("resolution", "resolution", _head_resolution),
             ("anchors", "names", _head_anchors), ("table1", "names", _head_table1),
             ("losses", "names", _head_losses), ("sampling", "sample", _head_sampling)]


def _headline_table() -> list[str]:
    out = ["| paper claim | where | ours | tier | result file |", "|---|---|---|---|---|"]
    for key, job, fn in _HEADLINE:
        claim = PAPER[key]
        tier, rows = _pick(job)
        ours = fn(rows) if rows else None
        if key == "losses" and tier != "full":
            ours = None  # the loss ablation is a full-tier run only
        if ours is None:
            ours, tier = f"not yet run in this suite; last study figures: [notes](notes/{_JOB[job].note})", "–"
        src = f"`{result_path(job, tier).relative_to(ROOT)}`" if tier in ("quick", "full") else "–"
        out.append(f"| {claim.text} | {claim.where} | {ours} | {tier} | {src} |")
    return out


def headline(job: str, rows: list[dict]) -> str:
    """One line of figures for the summary of ``python -m benchmarks quick``."""
    fn = {"drift": _head_drift, "resolution": _head_resolution, "sample": _head_sampling,
          "names": _head_table1, "bluemarble": _head_table1}.get(job)
    text = fn(rows) if fn else None
    if text:
        return text
    ratios = [(r["method"], k, v) for r in rows for k, v in r["metrics"].items()
              if ("ratio" in k or "speedup" in k or "_over_" in k) and isinstance(v, (int, float))]
    return "; ".join(f"{m} {k} {v:.2f}" for m, k, v in ratios[:3]) or f"{len(rows)} rows"


# -- the page ----------------------------------------------------------------------------------

_NOTES = [("2026-11-27-headline.md", "headline table of 2026-11-27 (the page before this suite)"),
          ("locate.md", "`shdd-geo locate`, the retrieval hybrid"), ("builtin-model.md", "the built-in model"),
          ("geonames-table1-studies.md", "paper Table 1 on GeoNames: sessions 11–14"),
          ("locdiffusion-studies.md", "samplers, denoiser, v-prediction, namesakes, Tables 2 and 7, Figure 4a"),
          ("sh-and-decoding.md", "SH encoding and SHDD decoding"), ("field.md", "SphericalField"),
          ("model-speed.md", "training and sampling speed"), ("geonames-data.md", "GeoNames data and baselines"),
          ("bluemarble.md", "image encoders, Blue Marble tiles, GeoCLIP"),
          ("namesakes-2026-12.md", "ranking toponym answers: mass, population-weighted namesakes (2026-12-03)"),
          ("calibration-2026-12.md", "conformal credible regions on random and spatial splits (2026-12-03)"),
          ("retrieval-conditioning-2026-12.md", "retrieval-conditioned LocDiffusion against the k-NN vote (2026-12-03)")]

_INTRO = "\n".join([  # one source line per page line: the page stays short
    "<!-- Generated by `python -m benchmarks report` from benchmarks/results/*.jsonl: do not edit by hand. -->",
    "",
    "Every figure below is read from a result file in `benchmarks/results/` (one JSON line per case, with the "
    "git sha, machine, seed, command, time and load average of its run); nothing is typed by hand.",
    "`python -m benchmarks quick` runs the quick tier (small seeded data, short trainings: figures that check "
    "the pipeline and the speed ratios, **not** the paper-scale accuracy), `python -m benchmarks full` the "
    "paper-scale tier (hours), `python -m benchmarks report` regenerates this page.",
    "Speed is always a ratio against a peer measured in the same run (the development machine is shared, so "
    "absolute seconds are noisy: see each run's load average). The dated study notes behind the model choices "
    "are in [Study notes](notes/index.rst)."])


def render() -> str:
    """The results page as Markdown (a pure function of the result files)."""
    out = [_INTRO, "", "## Headline results against the paper", ""] + _headline_table() + [""]
    out += ["## Accuracy", ""]
    for j in JOBS:
        if j.kind == "accuracy":
            out += _section(j.name, j.title, _RENDER[j.name])
    out += ["## Speed", ""]
    for j in JOBS:
        if j.kind == "perf":
            out += _section(j.name, j.title, _RENDER[j.name])
    out += ["## Study notes", "", "Dated working notes (text as written at the time; script names there are the "
            "former ones, see [Study notes](notes/index.rst) for the mapping): "
            + " · ".join(f"[{title}](notes/{name})" for name, title in _NOTES)]
    return "\n".join(out).rstrip() + "\n"
