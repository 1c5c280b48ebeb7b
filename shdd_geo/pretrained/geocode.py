"""Geocode place names in bulk: :func:`locate` (``sg.locate``), the Python twin of ``shdd-geo locate``.

:func:`locate` takes one name, a list or a pandas Series (a table column) and
returns a GeoDataFrame with **one row per name and mode**, built from the
``modes`` list of :meth:`Geolocator.locate <shdd_geo.pretrained.Geolocator.locate>`
(the one list every output of ``locate`` comes from).  :func:`read_names` and
:func:`write_table` read a column of names from CSV/Parquet/GeoPackage and
write the result as GeoPackage or GeoParquet; ``shdd-geo locate --input
names.csv --column name`` is these three calls.

Each name is sampled on its own with the same seed, so a row is what
``load(model).locate(name, generator=seed)`` gives, whatever else is in the
batch (bit for bit with one thread per process; see
:meth:`Geolocator.locate_many <shdd_geo.pretrained.Geolocator.locate_many>`).

Examples
--------
>>> import shdd_geo as sg
>>> gdf = sg.locate(["Lisbon", "Kyoto"], k=2, nside=16, n_samples=8, progress=False)
>>> gdf.groupby("query", sort=False)["rank"].min().to_dict()
{'Lisbon': 1, 'Kyoto': 1}
>>> gdf.crs.to_string()
'EPSG:4326'
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .geolocator import DEFAULT_NSIDE, DEFAULT_SAMPLES

__all__ = ["COLUMNS", "locate", "read_names", "results_frame", "write_table"]

#: Columns of :func:`locate`'s table, in order (``geometry``: the mode as a point, EPSG:4326).
COLUMNS = ("row", "query", "rank", "lat", "lon", "mass", "place", "country", "place_km", "similarity",
           "model_lat", "model_lon", "area90_km2", "namesakes", "model", "geometry")

_TABLE_FORMATS = {".gpkg": "GeoPackage", ".parquet": "GeoParquet", ".geoparquet": "GeoParquet"}


@functools.lru_cache(maxsize=2)
def _geolocator(model: str, device: str | None):
    from .registry import load

    return load(model, device=device)


def _names(texts) -> tuple[list[str], list]:
    """The names and the row labels (a Series' index, else positions); empty or non-text names refused."""
    if isinstance(texts, str):
        texts = [texts]
    index = list(texts.index) if hasattr(texts, "index") and not isinstance(texts, (list, tuple)) else None
    values = list(texts.tolist() if hasattr(texts, "tolist") else texts)
    if index is None:
        index = list(range(len(values)))
    if not values:
        raise ValueError("`texts` is empty: give at least one place name")
    for label, v in zip(index, values):
        if not isinstance(v, str):
            raise TypeError(f"`texts` must hold strings; row {label!r} holds {type(v).__name__} {v!r}")
        if not v.strip():
            raise ValueError(f"`texts` row {label!r} is an empty name; drop it or fill it in")
    return values, index


def locate(texts, *, model: str = "geonames-minilm", k: int = 5, nside: int = DEFAULT_NSIDE,
           n_samples: int = DEFAULT_SAMPLES, seed: int = 0, as_frame: bool = True, progress: bool | None = None,
           threads: int | None = None, n_jobs: int | None = None, device: str | None = None, on_result=None,
           **options):
    """Locate place names with a built-in model: the Python twin of ``shdd-geo locate``.

    Parameters
    ----------
    texts : str, list of str or pandas.Series
        The names (a Series keeps its index in the ``row`` column).  Empty
        names are refused.
    model : str
        Built-in text model (:func:`shdd_geo.pretrained.available`); loaded
        once per process.
    k, nside, n_samples, seed
        Modes per name, map resolution, diffusion samples, random seed (every
        name is sampled with this seed).
    as_frame : bool
        True (default): a GeoDataFrame (below).  False: the list of
        :meth:`Geolocator.locate <shdd_geo.pretrained.Geolocator.locate>`
        results, one dict per name, each with its density map ``field``.
    progress : bool, optional
        Progress bar (default: for more than one name).
    threads : int, optional
        CPU threads (default ``$OMP_NUM_THREADS``, else the free cores).
    n_jobs : int, optional
        Processes, one thread each (forked: the model is not loaded again);
        the answers are the same.  Default: ``threads`` processes for 64
        names or more on Linux, else 1 (see ``Geolocator.locate_many``).
    device : str, optional
        Torch device of the model (default CPU).
    on_result : callable, optional
        Called with each name's result dict (with its ``field``) as it comes,
        e.g. to write per-name maps; the table keeps only the field's
        ``area90_km2``.
    **options
        Any other option of ``Geolocator.locate`` (``snap_km``,
        ``min_mass``, ``namesake_weight``, ``prior_weight``, ...).

    Returns
    -------
    geopandas.GeoDataFrame or list of dict
        One row per name and mode, in input order and rank order, with the
        columns of :data:`COLUMNS`: ``row`` (the input's label), ``query``,
        ``rank`` (1 = most probable), ``lat``, ``lon``, ``mass``, ``place``,
        ``country``, ``place_km``, ``similarity``, ``model_lat``,
        ``model_lon`` (see ``Geolocator.locate``), ``area90_km2`` (area of
        the name's 90 % credible region, the same on every row of a name),
        ``namesakes`` (known places of that name), ``model`` and ``geometry``
        (the mode, a point in EPSG:4326).

    Examples
    --------
    >>> import shdd_geo as sg
    >>> res = sg.locate("Lisbon", k=1, nside=16, n_samples=8, as_frame=False)
    >>> res[0]["text"], res[0]["modes"][0]["country"]
    ('Lisbon', 'PT')
    """
    values, index = _names(texts)
    geo = _geolocator(model, device)
    if geo.card.inputs != "text":
        raise ValueError(f"`model` {model!r} takes images; sg.locate takes place names "
                         f"(use load({model!r}).locate for images)")
    results = []
    for res in geo.locate_many(values, k=k, nside=nside, n_samples=n_samples, generator=seed, progress=progress,
                               threads=threads, n_jobs=n_jobs, keep_fields=not as_frame or on_result is not None, **options):
        if on_result is not None:
            on_result(res)
        if as_frame and "field" in res:
            res["area90_km2"] = float(res.pop("field").credible_region(0.9).area_km2)
        results.append(res)
    if not as_frame:
        return results
    return results_frame(results, index=index, model=model)


def results_frame(results: list[dict[str, Any]], *, index=None, model: str | None = None):
    """The rows of :func:`locate` from ``Geolocator.locate``/``locate_many`` results.

    Examples
    --------
    >>> res = {"text": "X", "namesakes": 0, "area90_km2": 1.0,
    ...        "modes": [{"lat": 1.0, "lon": 2.0, "mass": 0.9, "place": "P", "country": "C", "place_km": 3.0}]}
    >>> row = results_frame([res]).iloc[0]
    >>> row["query"], int(row["rank"]), float(row["lat"]), row["similarity"]
    ('X', 1, 1.0, None)
    """
    import geopandas as gpd
    import pandas as pd

    index = list(range(len(results))) if index is None else list(index)
    rows = []
    for label, res in zip(index, results):
        area = res.get("area90_km2")
        if area is None and res.get("field") is not None:
            area = float(res["field"].credible_region(0.9).area_km2)
        for rank, m in enumerate(res["modes"], 1):
            rows.append({"row": label, "query": res["text"], "rank": rank, "lat": m["lat"], "lon": m["lon"],
                         "mass": m["mass"], "place": m.get("place"), "country": m.get("country"),
                         "place_km": m.get("place_km"), "similarity": m.get("similarity"),
                         "model_lat": m.get("model_lat", m["lat"]), "model_lon": m.get("model_lon", m["lon"]),
                         "area90_km2": area, "namesakes": int(res.get("namesakes", 0)),
                         "model": model or (res["field"].attrs.get("model") if res.get("field") is not None
                                            else None)})
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "geometry"])
    df["similarity"] = df["similarity"].astype(object).where(df["similarity"].notna(), None)
    geometry = gpd.points_from_xy(df["lon"].astype(float), df["lat"].astype(float), crs="EPSG:4326")
    return gpd.GeoDataFrame(df, geometry=geometry, crs="EPSG:4326")


def read_names(path, column: str) -> "Any":
    """The column ``column`` of a CSV, Parquet/GeoParquet or GeoPackage table, as a pandas Series.

    Raises
    ------
    FileNotFoundError, ValueError
        A missing file, an unknown extension, or a missing column (the
        message lists the table's columns).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "n.csv"; _ = p.write_text("name\\nLisbon\\nKyoto\\n")
    >>> read_names(p, "name").tolist()
    ['Lisbon', 'Kyoto']
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"`path` {str(path)!r} is not a file")
    ext = p.suffix.lower()
    if ext in (".csv", ".txt", ".tsv"):
        df = pd.read_csv(p, sep="\t" if ext == ".tsv" else ",", dtype=str, keep_default_na=False)
    elif ext in (".parquet", ".geoparquet"):
        df = pd.read_parquet(p)
    elif ext == ".gpkg":
        import pyogrio

        df = pyogrio.read_dataframe(p, read_geometry=False)
    else:
        raise ValueError(f"`path` {str(path)!r}: unknown table format {ext!r}; use .csv, .tsv, .parquet or .gpkg")
    if column not in df.columns:
        raise ValueError(f"`column` {column!r} is not in {p.name}; its columns are {list(df.columns)}")
    return df[column]


def write_table(frame, path) -> str:
    """Write :func:`locate`'s rows atomically: ``.gpkg`` (GeoPackage, layer ``modes``) or
    ``.parquet``/``.geoparquet`` (GeoParquet).  Returns the path.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> res = {"text": "X", "namesakes": 0, "area90_km2": 1.0,
    ...        "modes": [{"lat": 1.0, "lon": 2.0, "mass": 0.9, "place": "P", "country": "C", "place_km": 3.0}]}
    >>> out = write_table(results_frame([res]), pathlib.Path(tempfile.mkdtemp()) / "x.gpkg")
    >>> out.endswith("x.gpkg")
    True
    """
    from .._atomic import atomic_write

    ext = Path(path).suffix.lower()
    if ext not in _TABLE_FORMATS:
        raise ValueError(f"`path` {str(path)!r}: unknown output format {ext!r}; use "
                         f"{', '.join(sorted(_TABLE_FORMATS))}")
    out = frame.copy()
    out["row"] = out["row"].astype(str)  # a Series index may be of any type; GIS columns need one
    out["similarity"] = out["similarity"].astype(float)
    if ext == ".gpkg":
        def _gpkg(tmp: str) -> None:
            with warnings.catch_warnings():  # the temporary name's extension is not .gpkg; the final one is
                warnings.filterwarnings("ignore", message="The filename extension should be", category=RuntimeWarning)
                out.to_file(tmp, driver="GPKG", layer="modes")

        return atomic_write(path, _gpkg)
    return atomic_write(path, lambda tmp: out.to_parquet(tmp))
