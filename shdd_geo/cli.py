"""The ``shdd-geo`` command line.

Sub-commands: ``locate`` (the main job: place names -> density maps with the
built-in model), ``locate-image`` (image tiles -> density maps), ``train``,
``evaluate``, ``embed``, ``export`` and ``info``.
Run ``shdd-geo COMMAND --help`` for the options of each.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]

_FORMATS = ("png", "nc", "geojson")


def _slug(text: str) -> str:
    s = re.sub(r"[^\w\-]+", "_", text.strip(), flags=re.UNICODE).strip("_")
    return (s or "query")[:80]


def _formats(value: str) -> list[str]:
    fmts = [f.strip().lower() for f in value.split(",") if f.strip()]
    bad = [f for f in fmts if f not in _FORMATS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown format(s) {bad}; choose from {','.join(_FORMATS)}")
    return fmts


def _read_lines(path: str) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise SystemExit(f"error: --input {path!r} is not a file")
    return [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write_outputs(result: dict, out: Path, formats: list[str], stem: str | None = None) -> list[str]:
    """Write the field's files as ``out/<slug of stem (default: the result's text)>.<format>``."""
    field, stem = result["field"], out / _slug(stem or result["text"])
    written = []
    if "nc" in formats:
        field.to_netcdf(f"{stem}.nc")
        written.append(f"{stem}.nc")
    if "geojson" in formats:
        field.to_geojson(f"{stem}.geojson", levels=(0.5, 0.9))
        written.append(f"{stem}.geojson")
    if "png" in formats:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        listed = {key: [m[key] for m in result["modes"]] for key in ("lat", "lon", "mass")}
        ax = field.plot(levels=(0.9,), modes=listed,  # the modes printed, not the map's own
                        title=f"shdd-geo locate: {result['text']!r} (90% credible region)")
        from ._atomic import atomic_write

        try:  # atomic like the other files: a kill never leaves a truncated PNG
            atomic_write(f"{stem}.png", lambda tmp: ax.figure.savefig(tmp, format="png", dpi=110,
                                                                     bbox_inches="tight"))
        finally:
            plt.close(ax.figure)
        written.append(f"{stem}.png")
    return written


def _print_result(result: dict, region) -> None:
    print(f"\n{result['text']!r}: 90% credible region {region.area_km2:,.0f} km^2")
    print(f"  {'#':>2} {'lat':>8} {'lon':>9} {'mass':>6}  nearest known place")
    for i, m in enumerate(result["modes"], 1):
        if m.get("similarity") is not None:  # moved by the retrieval hybrid onto a matching place
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


def _non_negative_int(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {n}")
    return n


def cmd_locate(args) -> int:
    if args.column is not None:
        return _locate_table(args)
    texts = list(args.text) + (_read_lines(args.input) if args.input else [])
    if not texts:
        raise SystemExit("error: give a place name, or --input FILE with one name per line")
    return _locate_all(texts, args, kind="text", unit="name")


def _locate_table(args) -> int:
    """``locate --input TABLE --column NAME``: every name of a CSV/Parquet/GeoPackage column, one row per
    name and mode (``sg.locate``'s table) in one GeoPackage/GeoParquet, per-name files with ``--per-name``."""
    from .pretrained import geocode

    if args.text or not args.input:
        raise SystemExit("error: --column reads the names from --input TABLE; give no names as arguments")
    try:
        names = geocode.read_names(args.input, args.column)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"error: --input/--column: {exc}") from None
    out = Path(args.out)
    target = Path(args.table) if args.table else out / "locate.gpkg"
    if target.suffix.lower() not in (".gpkg", ".parquet", ".geoparquet"):
        raise SystemExit(f"error: --table {str(target)!r} must end in .gpkg, .parquet or .geoparquet")
    out.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    write = (lambda res: _write_outputs(res, out, args.format)) if args.per_name else None
    try:
        frame = geocode.locate(names, model=args.model, k=args.k, nside=args.nside, n_samples=args.samples,
                               seed=args.seed, progress=not args.json, threads=args.threads, on_result=write,
                               snap_km=None if args.no_snap else args.snap_km, prior_weight=args.prior_weight,
                               namesake_weight=args.namesake_weight, min_mass=args.min_mass)
    except (TypeError, ValueError) as exc:
        raise SystemExit(f"error: --input {args.input!r} column {args.column!r}: {exc}") from None
    geocode.write_table(frame, target)
    wall = time.perf_counter() - t0
    summary = {"names": len(names), "rows": len(frame), "seconds": round(wall, 2),
               "names_per_s": round(len(names) / wall, 2), "table": str(target)}
    print(json.dumps(summary) if args.json else
          f"located {len(names)} names ({len(frame)} modes) in {wall:.1f} s ({len(names) / wall:.1f} names/s); "
          f"wrote {target}")
    return 0


def cmd_locate_image(args) -> int:
    paths = list(args.image) + (_read_lines(args.input) if args.input else [])
    if not paths:
        raise SystemExit("error: give an image file, or --input FILE with one image path per line")
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise SystemExit(f"error: image file(s) not found: {missing[:5]}")
    return _locate_all(paths, args, kind="image", unit="image")


def _locate_all(items: list[str], args, *, kind: str, unit: str) -> int:
    from . import pretrained

    t0 = time.perf_counter()
    geo = pretrained.load(args.model)
    if geo.card.inputs != kind:
        raise SystemExit(f"error: --model {args.model!r} takes {geo.card.inputs} inputs, not {kind}s; "
                         f"use `shdd-geo {'locate' if geo.card.inputs == 'text' else 'locate-image'}`")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    iterator = items
    if len(items) > 1:
        from tqdm.auto import tqdm

        iterator = tqdm(items, desc="locate", unit=unit)
    records = []
    for item in iterator:
        res = geo.locate(item, k=args.k, nside=args.nside, n_samples=args.samples, generator=args.seed,
                         snap_km=None if args.no_snap else args.snap_km, prior_weight=args.prior_weight,
                         namesake_weight=args.namesake_weight, min_mass=args.min_mass,
                         threads=getattr(args, "threads", None))
        region = res["field"].credible_region(0.9)
        written = _write_outputs(res, out, args.format, stem=Path(item).stem if kind == "image" else None)
        top = _top_countries(res["field"], args.by_country) if args.by_country else None
        if not args.json:
            _print_result(res, region)
            for c in top or []:
                print(f"  {c['mass']:6.3f}  {c['country']}")
            for w in written:
                print(f"  wrote {w}")
        records.append({"text": item, "modes": res["modes"], "area90_km2": float(region.area_km2),
                        "files": written, **({"countries": top} if top is not None else {})})
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        print(f"\ndone in {time.perf_counter() - t0:.1f} s")
    return 0


def _load_coords(coords: str):
    """(lat, lon) from an (n, 2) .npy or a CSV/Parquet table with lat/lon columns (any case)."""
    if coords.endswith(".npy"):
        c = np.load(coords)
        return c[:, 0], c[:, 1]
    import pandas as pd

    df = pd.read_csv(coords) if not coords.endswith(".parquet") else pd.read_parquet(coords)
    cols = {c.lower(): c for c in df.columns}
    if "lat" not in cols or "lon" not in cols:
        raise SystemExit(f"error: {coords!r} needs 'lat' and 'lon' columns, has {list(df.columns)}")
    return df[cols["lat"]].to_numpy(float), df[cols["lon"]].to_numpy(float)


def _load_xy(embeddings: str, coords: str):
    X = np.load(embeddings, mmap_mode="r")
    lat, lon = _load_coords(coords)
    if len(lat) != X.shape[0]:
        raise SystemExit(f"error: {embeddings!r} has {X.shape[0]} rows but {coords!r} has {len(lat)}")
    return X, lat, lon


def cmd_train(args) -> int:
    from .model import LocDiffusion

    X, lat, lon = _load_xy(args.embeddings, args.coords)
    arch, init = {"L": 23 if args.L is None else args.L}, None
    if args.init_from:  # warm start: the network's shape is the old model's
        if not Path(args.init_from).is_file():
            raise SystemExit(f"error: --init-from {args.init_from!r} is not a file")
        init = LocDiffusion.load(args.init_from, device="cpu")
        if args.L is not None and args.L != init.L:
            raise SystemExit(f"error: --L {args.L} differs from --init-from's L = {init.L}; leave --L out")
        arch = {k: getattr(init, k) for k in ("L", "width", "bottleneck", "depth", "time_dim")}
    model = LocDiffusion(**arch, batch_size=args.batch_size, lr=args.lr, loss=args.loss,
                         prediction=args.prediction, omega_0=args.omega_0, timestep_power=args.timestep_power,
                         random_state=args.seed, device=args.device)
    model.fit(np.asarray(X, dtype=np.float32), lat, lon, epochs=args.epochs, checkpoint=args.checkpoint,
              checkpoint_every=args.checkpoint_every, resume=args.resume, init_from=init)
    path = model.save(args.out, half=args.half)
    print(f"wrote {path}")
    return 0


def cmd_calibrate(args) -> int:
    from .model import LocDiffusion

    X, lat, lon = _load_xy(args.embeddings, args.coords)
    model = LocDiffusion.load(args.model, device=args.device)
    if args.prior_coords:
        plat, plon = _load_coords(args.prior_coords)
        model.set_prior(plat, plon, nside=args.prior_nside, bandwidth_km=args.prior_bandwidth_km)
    model.calibrate(np.asarray(X, dtype=np.float32), lat, lon, n_samples=args.samples, nside=args.nside,
                    generator=args.seed, min_coverage=args.min_coverage, max_coverage=args.max_coverage)
    path = model.save(args.out, half=args.half)
    key = (model.temperature_, model.prior_weight_) if model.prior_ is not None else model.temperature_
    print(json.dumps({"temperature": model.temperature_, "prior_weight": model.prior_weight_,
                      "mean_log_likelihood": model.calibration_[key],
                      "coverage90": model.calibration_coverage_.get(key), "file": str(path)}))
    return 0


def cmd_evaluate(args) -> int:
    from .evaluation import evaluate_predictor
    from .model import LocDiffusion

    X, lat, lon = _load_xy(args.embeddings, args.coords)
    model = LocDiffusion.load(args.model, device=args.device)
    result = evaluate_predictor(
        model, np.asarray(X, dtype=np.float32), lat, lon, fields=args.fields, nside=args.nside,
        predict_kwargs={"n_samples": args.samples, "point": args.point, "generator": args.seed},
        field_kwargs={"generator": args.seed})
    if args.fields:
        levels = [k[len("coverage_"):] for k in result if k.startswith("coverage_")]
        result["coverage"] = {lv: result.pop(f"coverage_{lv}") for lv in levels}
        result["mean_log_likelihood"] = result.pop("loglik")
    print(json.dumps(result, indent=2))
    return 0


def cmd_embed(args) -> int:
    if bool(args.texts) == bool(args.images):
        raise SystemExit("error: give exactly one of --texts FILE or --images DIR|CSV")
    if args.texts:
        from .encoders import TextEncoder

        texts = _read_lines(args.texts)
        emb = TextEncoder(device=args.device).embed(texts, batch_size=args.batch_size, progress=True)
        from ._atomic import atomic_write

        def _save(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, emb)

        atomic_write(args.out, _save)
        print(f"wrote {args.out} {emb.shape}")
        return 0
    from .encoders import get_encoder
    from .io import embed_to_disk, load_image_csv, scan_image_folder

    src = Path(args.images)
    if src.is_dir():
        items, meta = scan_image_folder(src), None
        if not items:
            raise SystemExit(f"error: no images found in {src}")
    elif src.is_file():
        ds, report = load_image_csv(src, args.image_dir)
        print(report)
        items, meta = list(ds.paths), ds.meta
    else:
        raise SystemExit(f"error: --images {args.images!r} is neither a folder nor a CSV file")
    kw = {"path": args.weights} if args.weights else {}
    encoder = get_encoder(args.encoder, device=args.device, **kw)
    res = embed_to_disk(items, args.out, encoder=encoder, meta=meta, batch_size=args.batch_size,
                        on_error="nan")
    print(f"wrote {getattr(res, 'path', args.out)}")
    return 0


_EXPORT_FORMATS = ("png", "geojson", "gpkg", "tif", "nc")


def _export_formats(value: str) -> list[str]:
    """``export --format``: a comma list of png,geojson,gpkg,tif,nc (checked by :func:`cmd_export`)."""
    return [f.strip().lower() for f in value.split(",") if f.strip()]


def cmd_export(args) -> int:
    from .fields import open_field

    bad = [f for f in args.format if f not in _EXPORT_FORMATS]
    if bad or not args.format:
        print(f"shdd-geo export: error: unknown --format {','.join(bad) or '(empty)'}; "
              f"choose from {','.join(_EXPORT_FORMATS)}", file=sys.stderr)
        return 2
    try:
        field = open_field(args.field)
    except (FileNotFoundError, ValueError) as exc:
        print(f"shdd-geo export: error: {exc}", file=sys.stderr)
        return 1
    fields = [field[i] for i in range(len(field))] if field.is_batch else [field]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(fields):
        stem = Path(args.field).stem
        if field.is_batch:
            label = str(field.labels[i]) if field.labels else f"{stem}_{i}"
        else:
            label = stem
        table = f.modes(k=3)
        res = {"text": str(label), "field": f,
               "modes": [dict(lat=a, lon=b, mass=m) for a, b, m in zip(table["lat"], table["lon"], table["mass"])]}
        for w in _write_outputs(res, out, [x for x in args.format if x in ("png", "geojson")]):
            print(f"wrote {w}")
        target = out / _slug(str(label))
        writers = {"gpkg": lambda p: f.to_file(p, modes=3), "tif": lambda p: f.to_raster(p),
                   "nc": lambda p: f.to_netcdf(p)}
        for fmt in (x for x in args.format if x in writers):
            writers[fmt](f"{target}.{fmt}")
            print(f"wrote {target}.{fmt}")
    return 0


def cmd_info(args) -> int:
    from . import __version__, pretrained

    print(f"shdd_geo {__version__}")
    for name in pretrained.available():
        print(pretrained.model_card_json(name))
    return 0


def _add_locate_options(s: argparse.ArgumentParser, *, what: str, model: str, func) -> None:
    """The options ``locate`` and ``locate-image`` share."""
    s.add_argument("--out", default="shdd_geo_out", help="output folder (default: %(default)s)")
    s.add_argument("--format", type=_formats, default=list(_FORMATS), help="comma list of png,nc,geojson")
    s.add_argument("--model", default=model, help="built-in model (default: %(default)s)")
    s.add_argument("--k", type=int, default=5, help="number of modes to list")
    s.add_argument("--nside", type=int, default=64, help="HEALPix nside of the map")
    s.add_argument("--samples", type=int, default=64, help=f"diffusion samples per {what}")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.add_argument("--by-country", type=_non_negative_int, default=0, metavar="N",
                   help="also list the N countries with the most probability, from the bundled Natural Earth "
                        "polygons (default: 0, none)")
    s.add_argument("--min-mass", type=float, default=0.005,
                   help="list modes after the first only with at least this probability mass "
                        "(default: %(default)s; 0 lists all --k)")
    s.add_argument("--prior-weight", type=float, default=None,
                   help="weight of the model's location prior in the map and its regions, in [0, 1) "
                        "(default: the calibrated one; 0 = the samples' density alone)")
    if what == "name":
        s.add_argument("--snap-km", type=float, default=350.0,
                       help="retrieval hybrid: move each mode onto the best-matching known place name "
                            "within this distance (default: %(default)s km)")
        s.add_argument("--no-snap", action="store_true", help="list the model's own modes (no hybrid)")
        s.add_argument("--namesake-weight", type=float, default=None,
                       help="weight of the known places of the same name in the map and modes, in [0, 1) "
                            "(default: the model card's; 0 = the model alone)")
    else:
        s.set_defaults(snap_km=None, no_snap=True, namesake_weight=None)
    s.set_defaults(func=func)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shdd-geo", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

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
    s.add_argument("--L", type=int, default=None,
                   help="SHDD degree; D = (L+1)^2 (default: 23, or --init-from's)")
    s.add_argument("--epochs", type=int, default=10, help="training epochs (default: %(default)s)")
    s.add_argument("--batch-size", type=int, default=512, help="mini-batch size (default: %(default)s)")
    s.add_argument("--lr", type=float, default=1e-4, help="AdamW learning rate (default: %(default)s)")
    s.add_argument("--loss", default="kl", choices=["kl", "l1", "l2", "cosine"], help="training loss (default: %(default)s)")
    s.add_argument("--prediction", default="sample", choices=["sample", "v"],
                   help="network output: clean coefficients (paper) or velocity (default: %(default)s)")
    s.add_argument("--omega-0", type=float, default=30.0, help="SIREN frequency factor (default: %(default)s)")
    s.add_argument("--timestep-power", type=float, default=1.0,
                   help="training timesteps with density ~ t**(p-1); 1 = uniform (default: %(default)s)")
    s.add_argument("--checkpoint", help="resumable checkpoint file")
    s.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints")
    s.add_argument("--resume", help="checkpoint to resume from")
    s.add_argument("--init-from", help="model file to warm-start the network from (its L and widths; "
                                       "x0 <-> v is converted)")
    s.add_argument("--half", action="store_true", help="store float16 weights")
    s.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="accuracy / median error / calibration of a saved model")
    s.add_argument("--model", required=True, help="model file written by `train` or LocDiffusion.save")
    s.add_argument("--embeddings", required=True, help=".npy (n, d) float32 embeddings")
    s.add_argument("--coords", required=True, help="CSV/Parquet with lat, lon columns, or .npy (n, 2)")
    s.add_argument("--samples", type=int, default=16, help="diffusion samples per condition")
    s.add_argument("--point", default="centre", choices=["centre", "densest", "median", "mode"],
                   help="how samples become one point (default: %(default)s)")
    s.add_argument("--fields", action="store_true", help="also credible-region coverage and log-likelihood")
    s.add_argument("--nside", type=int, default=64, help="HEALPix nside of the density metrics")
    s.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("calibrate", help="choose a saved model's density temperature (and prior weight)")
    s.add_argument("--model", required=True, help="model file written by `train` or LocDiffusion.save")
    s.add_argument("--embeddings", required=True, help=".npy (n, d) float32 embeddings of held-out rows")
    s.add_argument("--coords", required=True, help="CSV/Parquet with lat, lon columns, or .npy (n, 2)")
    s.add_argument("--out", required=True, help="calibrated model file to write (.safetensors)")
    s.add_argument("--prior-coords", default=None, help="locations whose density becomes the prior")
    s.add_argument("--prior-bandwidth-km", type=float, default=300.0, help="prior kernel width (km)")
    s.add_argument("--prior-nside", type=int, default=32, help="HEALPix nside of the stored prior")
    s.add_argument("--min-coverage", type=float, default=None, help="lowest allowed 90%% coverage")
    s.add_argument("--max-coverage", type=float, default=None, help="highest allowed 90%% coverage")
    s.add_argument("--samples", type=int, default=16, help="diffusion samples per condition")
    s.add_argument("--nside", type=int, default=32, help="HEALPix nside of the scoring maps")
    s.add_argument("--half", action="store_true", help="store float16 weights")
    s.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.set_defaults(func=cmd_calibrate)

    s = sub.add_parser("embed", help="embed texts (MiniLM) or images (EfficientNet-lite0, CLIP) to .npy")
    s.add_argument("--texts", help="file with one string per line (MiniLM)")
    s.add_argument("--images", help="image folder, or a CSV with IMG_ID, LAT, LON columns")
    s.add_argument("--image-dir", default=None, help="folder the CSV's image ids are relative to")
    s.add_argument("--encoder", default="efficientnet-lite0", help="image encoder: efficientnet-lite0 or clip")
    s.add_argument("--weights", default=None, help="local CLIP weights (folder or file); never downloaded")
    s.add_argument("--out", required=True, help=".npy file to write (resumable for images)")
    s.add_argument("--batch-size", type=int, default=64, help="encoder batch size")
    s.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    s.set_defaults(func=cmd_embed)

    s = sub.add_parser("export", help="NetCDF field -> maps, regions (GeoJSON, GeoPackage), GeoTIFF, NetCDF")
    s.add_argument("field", help="NetCDF file written by SphericalField.to_netcdf")
    s.add_argument("--out", default="shdd_geo_out", help="output folder (default: %(default)s)")
    s.add_argument("--format", type=_export_formats, default=["png", "geojson"],
                   help="comma list of png,geojson,gpkg (regions and modes), tif (0.25 deg COG GeoTIFF), "
                        "nc (CF NetCDF) (default: png,geojson)")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("info", help="version and built-in models")
    s.set_defaults(func=cmd_info)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shdd-geo``: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit code.

    Examples
    --------
    >>> import contextlib, io
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out):
    ...     code = main(["info"])
    >>> code, "geonames-minilm" in out.getvalue()
    (0, True)
    """
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
