"""The ``shdd-geo`` command line.

Sub-commands: ``locate`` (the main job: place names -> density maps with the
built-in model), ``locate-image`` (image tiles -> density maps), ``train``,
``evaluate``, ``embed``, ``export`` and ``info``.
Run ``shdd-geo COMMAND --help`` for the options of each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ._cli_args import (POSITIVE, HelpFormatter, Parser, UsageError, float_in, format_list, in_file,
                        int_at_least, non_negative_int, npy_shape, nside, out_dir, out_file, read_lines)
from .defaults import DEFAULT_NSIDE, DEFAULT_POINT, DEFAULT_SAMPLES

__all__ = ["main"]

_FORMATS = ("png", "nc", "geojson")


_formats = format_list(_FORMATS, allow_none=True)


def _check_texts(texts: list[str]) -> list[str]:
    """Output stems of the names (refusing empty ones), before any model is loaded."""
    from .io.naming import check_name, output_stems

    for i, t in enumerate(texts, 1):
        try:
            check_name(t, f"name {i}")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return output_stems(texts)


def _check_model_kind(name: str, kind: str) -> None:
    from .pretrained.registry import MODELS

    if name not in MODELS:
        raise UsageError(f"--model {name!r} is not a built-in model; choose from {', '.join(sorted(MODELS))}")
    inputs = MODELS[name].inputs
    if inputs != kind:
        raise UsageError(f"--model {name!r} takes {inputs} inputs, not {kind}s; "
                          f"use `shdd-geo {'locate' if inputs == 'text' else 'locate-image'}`")


# ---- locate ---------------------------------------------------------------------------------------------------
def _mode_names(result: dict) -> list:
    return [m.get("place") for m in result["modes"]]


def _write_outputs(result: dict, out: Path, formats: list[str], stem: str) -> list[str]:
    """Write the field's files as ``out/<stem>.<format>``; modes (GeoJSON, PNG) are the result's own list."""
    field, text = result["field"], result["text"]
    if field.attrs.get("text") is None:
        field = field.with_attrs({"text": str(text)})
    path, written = out / stem, []
    if "nc" in formats:
        field.to_netcdf(f"{path}.nc")
        written.append(f"{path}.nc")
    if "geojson" in formats:
        modes = [{**m, "query": str(text)} for m in result["modes"]]
        field.to_geojson(f"{path}.geojson", levels=(0.5, 0.9), modes=modes)
        written.append(f"{path}.geojson")
    if "png" in formats:
        from .plotting import save_map

        listed = {key: [m[key] for m in result["modes"]] for key in ("lat", "lon", "mass")}
        listed["name"] = _mode_names(result)
        save_map(field, f"{path}.png", levels=(0.9,), modes=listed,  # the modes listed, not the map's own
                 title=f"shdd-geo locate: {text!r} (90% credible region)")
        written.append(f"{path}.png")
    return written


def _print_result(result: dict, region) -> None:
    print(f"\n{result['text']!r}: 90% credible region {region.area_km2:,.0f} km^2")
    print(f"  {'#':>2} {'lat':>8} {'lon':>9} {'mass':>6}  nearest known place")
    for i, m in enumerate(result["modes"], 1):
        if m.get("place") is None:
            where = "-"
        elif m.get("similarity") is not None:  # moved by the retrieval hybrid onto a matching place
            from .metrics import great_circle_km

            moved = float(great_circle_km(m["model_lat"], m["model_lon"], m["lat"], m["lon"]))
            where = f"{m['place']} ({m['country']}): name match {m['similarity']:.2f}, mode moved {moved:.0f} km"
        else:
            where = f"{m['place']} ({m['country']}), {m['place_km']:.0f} km"
        print(f"  {i:>2} {m['lat']:8.3f} {m['lon']:9.3f} {m['mass']:6.3f}  {where}")


def _top_countries(field, n: int) -> list[dict]:
    """The ``n`` countries holding the most probability (bundled Natural Earth polygons, area-exact)."""
    from .datasets import countries

    world = countries()
    mass = field.mass_in(world)
    return [{"country": str(world["name"].iloc[i]), "iso_a3": world["iso_a3"].iloc[i], "mass": float(mass[i])}
            for i in np.argsort(-mass, kind="stable")[:n]]


def cmd_locate(args) -> int:
    if args.column is not None:
        return _locate_table(args)
    texts = list(args.text) + (read_lines(args.input) if args.input else [])
    if not texts:
        raise UsageError("give a place name, or --input FILE with one name per line")
    return _locate_all(texts, _check_texts(texts), args, kind="text")


def _locate_table(args) -> int:
    """``locate --input TABLE --column NAME``: every name of a CSV/Parquet/GeoPackage column, one row per
    name and mode (``sg.locate``'s table) in one GeoPackage/GeoParquet, per-name files with ``--per-name``."""
    from .pretrained import geocode

    if args.text or not args.input:
        raise UsageError("--column reads the names from --input TABLE; give no names as arguments")
    in_file(args.input, "--input")
    out = out_dir(args.out)
    target = Path(args.table) if args.table else out / "locate.gpkg"
    if target.suffix.lower() not in (".gpkg", ".parquet", ".geoparquet"):
        raise UsageError(f"--table {str(target)!r} must end in .gpkg, .parquet or .geoparquet")
    _check_model_kind(args.model, "text")
    try:
        names = geocode.read_names(args.input, args.column)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(f"--input/--column: {exc}") from None
    stems = dict(zip(names, _check_texts(list(names)))) if args.per_name else {}
    out.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    write = (lambda res: _write_outputs(res, out, args.format, stems[res["text"]])) if args.per_name else None
    try:
        frame = geocode.locate(names, model=args.model, k=args.k, nside=args.nside, n_samples=args.samples,
                               seed=args.seed, progress=not args.json, threads=args.threads, n_jobs=args.jobs,
                               on_result=write,
                               snap_km=None if args.no_snap else args.snap_km, prior_weight=args.prior_weight,
                               namesake_weight=args.namesake_weight, min_mass=args.min_mass)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--input {args.input!r} column {args.column!r}: {exc}") from None
    geocode.write_table(frame, target)
    wall = time.perf_counter() - t0
    summary = {"names": len(names), "rows": len(frame), "seconds": round(wall, 2),
               "names_per_s": round(len(names) / wall, 2), "table": str(target)}
    print(json.dumps(summary) if args.json else
          f"located {len(names)} names ({len(frame)} modes) in {wall:.1f} s ({len(names) / wall:.1f} names/s); "
          f"wrote {target}")
    return 0


def cmd_locate_image(args) -> int:
    paths = list(args.image) + (read_lines(args.input) if args.input else [])
    if not paths:
        raise UsageError("give an image file, or --input FILE with one image path per line")
    for p in paths:
        in_file(p, "image")
    return _locate_all(paths, _check_texts([Path(p).stem for p in paths]), args, kind="image")


def _locate_all(items: list[str], stems: list[str], args, *, kind: str) -> int:
    """Locate each item; the table, ``--json``, GeoJSON and PNG all show ``locate``'s one list of modes."""
    _check_model_kind(args.model, kind)
    out = out_dir(args.out)
    from . import pretrained  # only now: every argument above was checked first

    t0 = time.perf_counter()
    geo = pretrained.load(args.model)
    if args.format:
        out.mkdir(parents=True, exist_ok=True)
    # locate_many: each item's answer is locate(item)'s, with the diffusion chains of a block run as one batch
    results = geo.locate_many(items, keep_fields=True, progress=len(items) > 1, k=args.k, nside=args.nside,
                              n_samples=args.samples, generator=args.seed,
                              snap_km=None if args.no_snap else args.snap_km, prior_weight=args.prior_weight,
                              namesake_weight=args.namesake_weight, min_mass=args.min_mass,
                              threads=getattr(args, "threads", None), n_jobs=getattr(args, "jobs", None))
    records = []
    for res, item, stem in zip(results, items, stems):  # results first: its bar closes with the last one
        region = res["field"].credible_region(0.9)
        written = _write_outputs(res, out, args.format, stem)
        top = _top_countries(res["field"], args.by_country) if args.by_country else None
        if not args.json:
            _print_result(res, region)
            for c in top or []:
                print(f"  {c['mass']:6.3f}  {c['country']}")
            for w in written:
                print(f"  wrote {w}")
        records.append({"text": item, "modes": res["modes"], "area90_km2": float(region.area_km2),
                        "files": written, **({"countries": top} if top is not None else {})})
        del res, region
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        print(f"\ndone in {time.perf_counter() - t0:.1f} s")
    return 0


def _load_coords(coords: str, opt: str = "--coords"):
    """(lat, lon) from an (n, 2) .npy or a CSV/Parquet table with lat/lon columns (any case), checked."""
    in_file(coords, opt)
    if coords.endswith(".npy"):
        shape = npy_shape(coords, opt)
        if len(shape) != 2 or shape[1] != 2:
            raise UsageError(f"{opt} {coords!r} must be an (n, 2) array of (lat, lon), got shape {shape}")
        c = np.load(coords).astype(np.float64)
        lat, lon = c[:, 0], c[:, 1]
    else:
        import pandas as pd

        try:
            df = pd.read_csv(coords) if not coords.endswith(".parquet") else pd.read_parquet(coords)
        except Exception as exc:  # pandas raises many types for unreadable tables
            raise UsageError(f"{opt} {coords!r} is not a readable table ({' '.join(str(exc).split())})") from None
        cols = {c.lower(): c for c in df.columns}
        if "lat" not in cols or "lon" not in cols:
            raise UsageError(f"{opt} {coords!r} needs 'lat' and 'lon' columns, has {list(df.columns)}")
        try:
            lat, lon = df[cols["lat"]].to_numpy(float), df[cols["lon"]].to_numpy(float)
        except (TypeError, ValueError):
            raise UsageError(f"{opt} {coords!r}: 'lat' and 'lon' must be numbers") from None
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon)) and np.all(np.abs(lat) <= 90)):
        raise UsageError(f"{opt} {coords!r}: coordinates must be finite with latitude in [-90, 90]")
    return lat, lon


def _load_xy(embeddings: str, coords: str):
    shape = npy_shape(embeddings, "--embeddings")
    if len(shape) != 2 or 0 in shape:
        raise UsageError(f"--embeddings {embeddings!r} must be a non-empty (n, d) array, got shape {shape}")
    lat, lon = _load_coords(coords)
    if len(lat) != shape[0]:
        raise UsageError(f"--embeddings {embeddings!r} has {shape[0]} rows but --coords {coords!r} has {len(lat)}")
    return np.load(embeddings, mmap_mode="r"), lat, lon


def cmd_train(args) -> int:
    out_file(args.out)
    if args.checkpoint:
        out_file(args.checkpoint, "--checkpoint")
    for opt, path in (("--resume", args.resume), ("--init-from", args.init_from)):
        if path:
            in_file(path, opt)
    X, lat, lon = _load_xy(args.embeddings, args.coords)
    from .model import LocDiffusion

    arch, init = {"L": 23 if args.L is None else args.L}, None
    if args.init_from:  # warm start: the network's shape is the old model's
        init = LocDiffusion.load(args.init_from, device="cpu")
        if args.L is not None and args.L != init.L:
            raise UsageError(f"--L {args.L} differs from --init-from's L = {init.L}; leave --L out")
        arch = {k: getattr(init, k) for k in ("L", "width", "bottleneck", "depth", "time_dim")}
    given = {k: v for k, v in (("lr", args.lr), ("retrieval_k", args.retrieval_k)) if v is not None}
    if init is not None and args.retrieval_k is None:  # the warm start's network decides the condition width
        given["retrieval_k"] = init.retrieval_k
    make = LocDiffusion.paper if args.preset == "paper" else LocDiffusion
    model = make(**arch, **given, batch_size=args.batch_size, loss=args.loss,
                 prediction=args.prediction, omega_0=args.omega_0, timestep_power=args.timestep_power,
                 random_state=args.seed, device=args.device)
    model.fit(np.asarray(X, dtype=np.float32), lat, lon, epochs=args.epochs, checkpoint=args.checkpoint,
              checkpoint_every=args.checkpoint_every, resume=args.resume, init_from=init)
    path = model.save(args.out, half=args.half)
    print(f"wrote {path}")
    return 0


def cmd_calibrate(args) -> int:
    in_file(args.model, "--model")
    out_file(args.out)
    X, lat, lon = _load_xy(args.embeddings, args.coords)
    prior = _load_coords(args.prior_coords, "--prior-coords") if args.prior_coords else None
    from .model import LocDiffusion

    model = LocDiffusion.load(args.model, device=args.device)
    if prior is not None:
        model.set_prior(*prior, nside=args.prior_nside, bandwidth_km=args.prior_bandwidth_km)
    model.calibrate(np.asarray(X, dtype=np.float32), lat, lon, n_samples=args.samples, nside=args.nside,
                    generator=args.seed, min_coverage=args.min_coverage, max_coverage=args.max_coverage)
    path = model.save(args.out, half=args.half)
    key = (model.temperature_, model.prior_weight_) if model.prior_ is not None else model.temperature_
    print(json.dumps({"temperature": model.temperature_, "prior_weight": model.prior_weight_,
                      "mean_log_likelihood": model.calibration_[key],
                      "coverage90": model.calibration_coverage_.get(key), "file": str(path)}))
    return 0


def cmd_evaluate(args) -> int:
    in_file(args.model, "--model")
    X, lat, lon = _load_xy(args.embeddings, args.coords)
    from .evaluation import evaluate_predictor
    from .model import LocDiffusion

    model = LocDiffusion.load(args.model, device=args.device)
    result = evaluate_predictor(
        model, np.asarray(X, dtype=np.float32), lat, lon, fields=args.fields, nside=args.nside,
        predict_kwargs={"n_samples": args.samples, "point": args.point, "generator": args.seed},
        field_kwargs={"generator": args.seed})
    if args.fields:
        levels = [k[len("coverage_"):] for k in result if k.startswith("coverage_")]
        result["coverage"] = {lv: result.pop(f"coverage_{lv}") for lv in levels}
        result["mean_log_likelihood"] = result.pop("loglik")
    if args.reliability:  # coverage vs requested level, raw and at the model's conformal levels
        from ._atomic import atomic_write
        from .evaluation import reliability_curve
        from .plotting import plot_reliability

        curve = reliability_curve(model, np.asarray(X, dtype=np.float32), lat, lon, nside=args.nside,
                                  field_kwargs={"generator": args.seed})
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = plot_reliability(curve, title=f"{Path(args.model).name}: credible regions (n = {curve['n']})")
        try:
            atomic_write(args.reliability, lambda tmp: ax.figure.savefig(tmp, format="png", dpi=110,
                                                                         bbox_inches="tight"))
        finally:
            plt.close(ax.figure)
        result["reliability"] = {"png": str(args.reliability), "calibrated": curve["calibrated"],
                                 **{k: {f"{lv:g}": float(v) for lv, v in zip(curve["level"], curve[k])}
                                    for k in ("coverage_raw", "area_km2_raw", "coverage", "area_km2")}}
    print(json.dumps(result, indent=2))
    return 0


def _embed_sources(args):
    """Check ``embed``'s inputs and output: (texts or None, image items, their metadata)."""
    if bool(args.texts) == bool(args.images):
        raise UsageError("give exactly one of --texts FILE or --images DIR|CSV")
    out_file(args.out)
    if args.weights and not Path(args.weights).exists():
        raise UsageError(f"--weights {args.weights!r} does not exist")
    if args.texts:
        texts = read_lines(args.texts, "--texts")
        if not texts:
            raise UsageError(f"--texts {args.texts!r} has no non-empty line")
        return texts, None, None
    src = Path(args.images)
    if not src.exists():
        raise UsageError(f"--images {args.images!r} does not exist")
    if src.is_dir():
        from .io import scan_image_folder

        items = scan_image_folder(src)
        if not items:
            raise UsageError(f"--images {args.images!r}: no images found in the folder")
        return None, items, None
    if args.image_dir and not Path(args.image_dir).is_dir():
        raise UsageError(f"--image-dir {args.image_dir!r} is not a folder")
    from .io import load_image_csv

    ds, report = load_image_csv(src, args.image_dir)
    print(report)
    return None, list(ds.paths), ds.meta


def cmd_embed(args) -> int:
    texts, items, meta = _embed_sources(args)
    if texts is not None:
        from ._atomic import atomic_write
        from .encoders import TextEncoder

        emb = TextEncoder(device=args.device).embed(texts, batch_size=args.batch_size, progress=True)

        def _save(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, emb)

        atomic_write(args.out, _save)
        print(f"wrote {args.out} {emb.shape}")
        return 0
    from .encoders import get_encoder
    from .io import embed_to_disk

    kw = {"path": args.weights} if args.weights else {}
    encoder = get_encoder(args.encoder, device=args.device, **kw)
    res = embed_to_disk(items, args.out, encoder=encoder, meta=meta, batch_size=args.batch_size,
                        on_error="nan")
    print(f"wrote {getattr(res, 'path', args.out)}")
    return 0


_EXPORT_FORMATS = ("png", "geojson", "gpkg", "tif", "nc")


_export_formats = format_list(_EXPORT_FORMATS)


def cmd_export(args) -> int:
    in_file(args.field, "field")
    out = out_dir(args.out)
    from .fields import open_field

    field = open_field(args.field)
    fields = [field[i] for i in range(len(field))] if field.is_batch else [field]
    stem = Path(args.field).stem
    labels = [str(field.labels[i]) if field.labels else f"{stem}_{i}" for i in range(len(fields))] \
        if field.is_batch else [stem]
    out.mkdir(parents=True, exist_ok=True)
    for f, label, target in zip(fields, labels, _check_texts(labels)):
        table = f.modes(k=3)
        res = {"text": label, "field": f,
               "modes": [dict(lat=float(a), lon=float(b), mass=float(m))
                         for a, b, m in zip(table["lat"], table["lon"], table["mass"])]}
        for w in _write_outputs(res, out, [x for x in args.format if x in ("png", "geojson")], target):
            print(f"wrote {w}")
        writers = {"gpkg": lambda p: f.to_file(p, modes=3), "tif": lambda p: f.to_raster(p),
                   "nc": lambda p: f.to_netcdf(p)}
        for fmt in (x for x in args.format if x in writers):
            writers[fmt](f"{out / target}.{fmt}")
            print(f"wrote {out / target}.{fmt}")
    return 0


def cmd_info(args) -> int:
    from . import __version__, pretrained

    cards = {name: json.loads(pretrained.model_card_json(name)) for name in pretrained.available()}
    if args.json:  # one JSON object
        print(json.dumps({"version": __version__, "models": cards}, indent=2))
        return 0
    print(f"shdd_geo {__version__}\nbuilt-in models:")
    for name, card in cards.items():
        print(f"  {name} ({card['inputs']} inputs): {card['description']}")
    return 0


def _add_locate_options(s: argparse.ArgumentParser, *, what: str, model: str, func) -> None:
    """The options ``locate`` and ``locate-image`` share."""
    s.add_argument("--out", default="shdd_geo_out", help="output folder (default: %(default)s)")
    s.add_argument("--format", type=_formats, default=",".join(_FORMATS),
                   help="comma list of png,nc,geojson, or none to print only (default: %(default)s)")
    s.add_argument("--model", default=model, help="built-in model (default: %(default)s)")
    s.add_argument("--k", type=int_at_least(1), default=5, help="number of modes to list")
    s.add_argument("--nside", type=nside, default=DEFAULT_NSIDE, help="HEALPix nside of the map (a power of 2)")
    s.add_argument("--samples", type=int_at_least(1), default=DEFAULT_SAMPLES, help=f"diffusion samples per {what}")
    s.add_argument("--seed", type=int_at_least(0), default=0, help="random seed")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.add_argument("--by-country", type=non_negative_int, default=0, metavar="N",
                   help="also list the N countries with the most probability, from the bundled Natural Earth "
                        "polygons (default: 0, none)")
    s.add_argument("--min-mass", type=float_in(0.0, 1.0), default=0.005,
                   help="list modes after the first only with at least this probability mass "
                        "(default: %(default)s; 0 lists all --k)")
    s.add_argument("--prior-weight", type=float_in(0.0, 1.0, high_open=True), default=None,
                   help="weight of the model's location prior in the map and its regions, in [0, 1) "
                        "(default: the calibrated one; 0 = the samples' density alone)")
    if what == "name":
        s.add_argument("--snap-km", type=float_in(0.0, 20038.0, low_open=True), default=350.0,
                       help="retrieval hybrid: move each mode onto the best-matching known place name "
                            "within this distance (default: %(default)s km)")
        s.add_argument("--no-snap", action="store_true", help="list the model's own modes (no hybrid)")
        s.add_argument("--namesake-weight", type=float_in(0.0, 1.0, high_open=True), default=None,
                       help="weight of the known places of the same name in the map and modes, in [0, 1) "
                            "(default: the model card's; 0 = the model alone)")
    else:
        s.set_defaults(snap_km=None, no_snap=True, namesake_weight=None)
    s.set_defaults(func=func)


def build_parser() -> argparse.ArgumentParser:
    """The ``shdd-geo`` parser: every bad value is a ``UsageError`` naming its option."""
    from . import __version__

    p = Parser(prog="shdd-geo", description=__doc__.splitlines()[0], formatter_class=HelpFormatter)
    p.add_argument("--version", action="version", version=f"shdd-geo {__version__}")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks of errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("locate", help="place names -> density maps, modes and exports (built-in model)")
    s.add_argument("text", nargs="*", help="place name(s) to locate")
    s.add_argument("--input", help="file with one name per line, or with --column a CSV/Parquet/GeoPackage table")
    s.add_argument("--column", default=None,
                   help="locate the names of this column of --input and write one table with a row per name "
                        "and mode (see --table); per-name files only with --per-name")
    s.add_argument("--table", default=None,
                   help="with --column: table to write, .gpkg or .parquet (default: OUT/locate.gpkg)")
    s.add_argument("--per-name", action="store_true", help="with --column: also write each name's --format files")
    s.add_argument("--threads", type=int, default=None,
                   help="CPU threads (default: $OMP_NUM_THREADS, else the cores other processes leave free)")
    s.add_argument("--jobs", type=int_at_least(1), default=None,
                   help="processes for many names, one thread each, same answers (default: --threads processes "
                        "for 64 names or more on Linux, else 1)")
    _add_locate_options(s, what="name", model="geonames-minilm", func=cmd_locate)

    s = sub.add_parser("locate-image", help="satellite image tiles -> density maps, modes and exports "
                                            "(built-in model)")
    s.add_argument("image", nargs="*", help="image file(s) (PNG/JPEG) to locate")
    s.add_argument("--input", help="file with one image path per line")
    _add_locate_options(s, what="image", model="bluemarble-effnet", func=cmd_locate_image)

    s = sub.add_parser("train", help="train LocDiffusion on embeddings + coordinates")
    s.add_argument("--embeddings", required=True, help=".npy (n, d) float32")
    s.add_argument("--coords", required=True, help="CSV/Parquet with lat, lon columns, or .npy (n, 2)")
    s.add_argument("--out", required=True, help="model file to write (.safetensors)")
    s.add_argument("--L", type=int_at_least(1), default=None,
                   help="SHDD degree; D = (L+1)^2 (default: 23, or --init-from's)")
    s.add_argument("--epochs", type=int_at_least(1), default=10, help="training epochs (default: %(default)s)")
    s.add_argument("--batch-size", type=int_at_least(1), default=512, help="mini-batch size (default: %(default)s)")
    s.add_argument("--preset", default="default", choices=["default", "paper"],
                   help="settings: the measured best recipe, or the paper's Table 9 (default: %(default)s)")
    s.add_argument("--lr", type=POSITIVE, default=None, help="peak AdamW learning rate (default: the preset's)")
    s.add_argument("--retrieval-k", type=int_at_least(0), default=None,
                   help="neighbours of the retrieval prior, 0 = off (default: the preset's; 32 / paper 0)")
    s.add_argument("--loss", default="kl", choices=["kl", "l1", "l2", "cosine"], help="training loss (default: %(default)s)")
    s.add_argument("--prediction", default="sample", choices=["sample", "v"],
                   help="network output: clean coefficients (paper) or velocity (default: %(default)s)")
    s.add_argument("--omega-0", type=POSITIVE, default=30.0, help="SIREN frequency factor (default: %(default)s)")
    s.add_argument("--timestep-power", type=POSITIVE, default=1.0,
                   help="training timesteps with density ~ t**(p-1); 1 = uniform (default: %(default)s)")
    s.add_argument("--checkpoint", help="resumable checkpoint file")
    s.add_argument("--checkpoint-every", type=int_at_least(1), default=None, help="steps between checkpoints")
    s.add_argument("--resume", help="checkpoint to resume from")
    s.add_argument("--init-from", help="model file to warm-start the network from (its L and widths; "
                                       "x0 <-> v is converted)")
    s.add_argument("--half", action="store_true", help="store float16 weights")
    s.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    s.add_argument("--seed", type=int_at_least(0), default=0, help="random seed")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="accuracy / median error / calibration of a saved model")
    s.add_argument("--model", required=True, help="model file written by `train` or LocDiffusion.save")
    s.add_argument("--embeddings", required=True, help=".npy (n, d) float32 embeddings")
    s.add_argument("--coords", required=True, help="CSV/Parquet with lat, lon columns, or .npy (n, 2)")
    s.add_argument("--samples", type=int_at_least(1), default=DEFAULT_SAMPLES, help="diffusion samples per condition")
    s.add_argument("--point", default=DEFAULT_POINT, choices=["centre", "densest", "median", "mode"],
                   help="how samples become one point (default: %(default)s)")
    s.add_argument("--fields", action="store_true", help="also credible-region coverage and log-likelihood")
    s.add_argument("--nside", type=nside, default=DEFAULT_NSIDE, help="HEALPix nside of the density metrics")
    s.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    s.add_argument("--seed", type=int_at_least(0), default=0, help="random seed")
    s.add_argument("--reliability", default=None, metavar="PATH",
                   help="also write a reliability plot (coverage vs requested credible level, raw and "
                        "calibrated, region areas annotated) to this PNG; its numbers join the JSON")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("calibrate", help="choose a saved model's density temperature (and prior weight)")
    s.add_argument("--model", required=True, help="model file written by `train` or LocDiffusion.save")
    s.add_argument("--embeddings", required=True, help=".npy (n, d) float32 embeddings of held-out rows")
    s.add_argument("--coords", required=True, help="CSV/Parquet with lat, lon columns, or .npy (n, 2)")
    s.add_argument("--out", required=True, help="calibrated model file to write (.safetensors)")
    s.add_argument("--prior-coords", default=None, help="locations whose density becomes the prior")
    s.add_argument("--prior-bandwidth-km", type=POSITIVE, default=300.0, help="prior kernel width (km)")
    s.add_argument("--prior-nside", type=nside, default=32, help="HEALPix nside of the stored prior")
    s.add_argument("--min-coverage", type=float_in(0.0, 1.0), default=None, help="lowest allowed 90%% coverage")
    s.add_argument("--max-coverage", type=float_in(0.0, 1.0), default=None, help="highest allowed 90%% coverage")
    s.add_argument("--samples", type=int_at_least(1), default=DEFAULT_SAMPLES, help="diffusion samples per condition")
    s.add_argument("--nside", type=nside, default=32, help="HEALPix nside of the scoring maps")
    s.add_argument("--half", action="store_true", help="store float16 weights")
    s.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    s.add_argument("--seed", type=int_at_least(0), default=0, help="random seed")
    s.set_defaults(func=cmd_calibrate)

    s = sub.add_parser("embed", help="embed texts (MiniLM) or images (EfficientNet-lite0, CLIP) to .npy")
    s.add_argument("--texts", help="file with one string per line (MiniLM)")
    s.add_argument("--images", help="image folder, or a CSV with IMG_ID, LAT, LON columns")
    s.add_argument("--image-dir", default=None, help="folder the CSV's image ids are relative to")
    s.add_argument("--encoder", default="efficientnet-lite0", help="image encoder: efficientnet-lite0 or clip")
    s.add_argument("--weights", default=None, help="local CLIP weights (folder or file); never downloaded")
    s.add_argument("--out", required=True, help=".npy file to write (resumable for images)")
    s.add_argument("--batch-size", type=int_at_least(1), default=64, help="encoder batch size")
    s.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    s.set_defaults(func=cmd_embed)

    s = sub.add_parser("export", help="NetCDF field -> maps, regions (GeoJSON, GeoPackage), GeoTIFF, NetCDF")
    s.add_argument("field", help="NetCDF file written by SphericalField.to_netcdf")
    s.add_argument("--out", default="shdd_geo_out", help="output folder (default: %(default)s)")
    s.add_argument("--format", type=_export_formats, default="png,geojson",
                   help="comma list of png,geojson,gpkg (regions and modes), tif (0.25 deg COG GeoTIFF), "
                        "nc (CF NetCDF) (default: %(default)s)")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("info", help="version and built-in models")
    s.add_argument("--json", action="store_true", help="print one JSON object (version, model cards)")
    s.set_defaults(func=cmd_info)
    p.commands = tuple(sub.choices)  # for the prefix of error messages (main)
    for name, s in sub.choices.items():
        s.prog, s.formatter_class = f"shdd-geo {name}", HelpFormatter
        s.add_argument("--debug", action="store_true", help="show Python tracebacks of errors")
    return p


def _one_line(exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shdd-geo``: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit code.

    Every argument and path is checked before a model is loaded.  A user
    error prints one line on stderr, ``shdd-geo COMMAND: error: ...``, and
    returns 2 (a bad argument or input file) or 1 (a failure while working,
    e.g. a corrupt model file); ``--debug`` raises it with its traceback.

    Examples
    --------
    >>> import contextlib, io
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out):
    ...     code = main(["info"])
    >>> code, "geonames-minilm" in out.getvalue()
    (0, True)
    >>> with contextlib.redirect_stderr(out):
    ...     main(["locate", "Kyoto", "--nside", "33"])
    2
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    debug = "--debug" in argv
    parser = build_parser()
    prog = f"shdd-geo {argv[0]}" if argv and argv[0] in parser.commands else "shdd-geo"
    try:
        args = parser.parse_args(argv)
        prog = f"shdd-geo {args.command}"
        return int(args.func(args) or 0)
    except UsageError as exc:
        if debug:
            raise
        print(f"{prog if exc.prog in (None, 'shdd-geo') else exc.prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a failure while working: one line, the traceback only with --debug
        if debug:
            raise
        print(f"{prog}: error: {_one_line(exc)} [{type(exc).__name__}; --debug shows the traceback]",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
