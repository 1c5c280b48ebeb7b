"""Geotagged image collections: MP16 / Im2GPS3k / YFCC-style CSVs and image folders.

The field's benchmark files are CSV tables with one row per photo and (at
least) the columns ``IMG_ID, LAT, LON`` [deg]; ``IMG_ID`` is the image's path
relative to an image folder (``"00/0a/123.jpg"`` in MP16, ``"123.jpg"`` in
Im2GPS3k; the extension may be missing in some YFCC exports).  Real-world
copies of these files have holes: images that were never downloaded, NaN or
swapped coordinates.  The loaders here keep every good row and return a
:class:`LoadReport` that lists each bad row and why, instead of crashing.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.jpg").write_bytes(b"")
>>> _ = (d / "meta.csv").write_text("IMG_ID,LAT,LON\\na.jpg,48.85,2.35\\nb.jpg,10,20\\nc.jpg,,5\\n")
>>> ds, report = load_image_csv(d / "meta.csv")
>>> len(ds), report.counts
(1, {'nan_coordinates': 1, 'missing_file': 1})
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import attempt_import
from ..coords import wrap_lon

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageDataset",
    "LoadReport",
    "load_image_csv",
    "read_locations_csv",
    "scan_image_folder",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
_ID_NAMES = (
    "img_id",
    "image_id",
    "imgid",
    "image",
    "img",
    "filename",
    "file_name",
    "file",
    "path",
    "photo_id",
    "id",
)
_LAT_NAMES = ("lat", "latitude", "gps_lat", "y")
_LON_NAMES = ("lon", "lng", "long", "longitude", "gps_lon", "x")
#: Reasons a row can be rejected, in the order they are checked.
REASONS = (
    "missing_id",
    "nan_coordinates",
    "lat_out_of_range",
    "duplicate_id",
    "missing_file",
    "unreadable_file",
)


@dataclass
class LoadReport:
    """What was loaded and which rows were rejected, with the reason.

    Attributes
    ----------
    n_rows : int
        Data rows read from the file.
    bad : pandas.DataFrame or None
        One row per rejected input row: ``row`` (0-based data row, the CSV
        line is ``row + 2``), ``img_id``, ``reason`` (one of
        ``missing_id``, ``nan_coordinates``, ``lat_out_of_range``,
        ``duplicate_id``, ``missing_file``, ``unreadable_file``) and
        ``detail``.

    Examples
    --------
    >>> r = LoadReport(n_rows=3)
    >>> r.n_ok, r.n_bad, r.counts
    (3, 0, {})
    """

    n_rows: int = 0
    bad: Any = None
    source: str = ""
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def n_bad(self) -> int:
        """Number of rejected rows."""
        return 0 if self.bad is None else len(self.bad)

    @property
    def n_ok(self) -> int:
        """Number of rows kept."""
        return self.n_rows - self.n_bad

    @property
    def counts(self) -> dict[str, int]:
        """``{reason: count}`` for the reasons that occurred, in check order."""
        if self.bad is None or len(self.bad) == 0:
            return {}
        vc = self.bad["reason"].value_counts()
        return {r: int(vc[r]) for r in REASONS if r in vc.index}

    def __str__(self) -> str:
        head = f"{self.source or 'input'}: {self.n_ok} of {self.n_rows} rows usable"
        if not self.n_bad:
            return head
        parts = ", ".join(f"{k}={v}" for k, v in self.counts.items())
        return f"{head}; rejected {self.n_bad} ({parts})"


@dataclass
class ImageDataset:
    """Images paired with their coordinates (only the good rows).

    Attributes
    ----------
    paths : numpy.ndarray
        ``(n,)`` object array of image file paths (strings).
    lat, lon : numpy.ndarray
        ``(n,)`` float64 [deg]; ``lon`` wrapped to [-180, 180).
    meta : pandas.DataFrame
        ``img_id``, ``lat``, ``lon``, ``path``, ``row`` (row in the source
        file) and any extra columns that were asked for.

    Examples
    --------
    >>> import pandas as pd
    >>> ds = ImageDataset(np.array(["a.jpg"], dtype=object), np.array([1.0]), np.array([2.0]), pd.DataFrame())
    >>> len(ds)
    1
    """

    paths: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    meta: Any

    def __len__(self) -> int:
        return int(self.paths.shape[0])

    def __repr__(self) -> str:
        return f"ImageDataset(n={len(self)})"


def _pick_column(
    columns: Sequence[str], wanted: str | None, names: tuple[str, ...], what: str, arg: str
) -> str:
    if wanted is not None:
        if wanted not in columns:
            raise ValueError(
                f"`{arg}` {wanted!r} is not a column of the file; columns are {list(columns)}"
            )
        return wanted
    lower = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    raise ValueError(
        f"could not find the {what} column among {list(columns)}; name it with `{arg}=` "
        f"(recognised automatically: {', '.join(names)}, any case)"
    )


def read_locations_csv(
    path: str | os.PathLike[str],
    *,
    id_column: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
    extra_columns: Sequence[str] | str = (),
    sep: str | None = None,
) -> tuple[Any, LoadReport]:
    """Read an ``IMG_ID, LAT, LON`` table and validate the coordinates.

    Parameters
    ----------
    path : path
        CSV (or TSV with ``sep="\\t"``; compressed files are fine).
    id_column, lat_column, lon_column : str, optional
        Column names; found automatically when they are called ``IMG_ID`` /
        ``image_id`` / ``filename`` ..., ``LAT`` / ``latitude``, ``LON`` /
        ``lng`` / ``longitude`` (any case).
    extra_columns : sequence of str or "all"
        Other columns to keep (e.g. Im2GPS3k's ``S3_Label``).
    sep : str, optional
        Field separator; default ``","``.

    Returns
    -------
    table : pandas.DataFrame
        Good rows: ``img_id`` (str), ``lat``, ``lon`` (float64, ``lon``
        wrapped), ``row`` and the extra columns.
    report : LoadReport
        Rows with a missing id, NaN/non-numeric coordinates, a latitude
        outside [-90, 90] or a repeated id (the first occurrence is kept).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a coordinate or id column cannot be found.

    Examples
    --------
    >>> import io
    >>> t, r = read_locations_csv(io.StringIO("IMG_ID,LAT,LON\\nx,95,0\\ny,1,190\\n"))
    >>> t["lon"].tolist(), r.counts
    ([-170.0], {'lat_out_of_range': 1})
    """
    pd = attempt_import("pandas", "reading location tables")
    if isinstance(path, (str, os.PathLike)) and not Path(path).is_file():
        raise FileNotFoundError(f"`path`: no such file {str(path)!r}")
    header = pd.read_csv(path, nrows=0, sep=sep or ",").columns.tolist()
    if hasattr(path, "seek"):
        path.seek(0)
    cid = _pick_column(header, id_column, _ID_NAMES, "image id", "id_column")
    clat = _pick_column(header, lat_column, _LAT_NAMES, "latitude", "lat_column")
    clon = _pick_column(header, lon_column, _LON_NAMES, "longitude", "lon_column")
    extra = (
        [c for c in header if c not in (cid, clat, clon)]
        if extra_columns == "all"
        else list(extra_columns)
    )
    for c in extra:
        if c not in header:
            raise ValueError(
                f"`extra_columns` names {c!r}, which is not a column; columns are {header}"
            )
    raw = pd.read_csv(
        path,
        sep=sep or ",",
        usecols=[cid, clat, clon, *extra],
        dtype={cid: str},
        keep_default_na=False,
    )
    table = pd.DataFrame(
        {
            "img_id": raw[cid].astype(str).str.strip(),
            "lat": pd.to_numeric(raw[clat], errors="coerce").astype(np.float64),
            "lon": pd.to_numeric(raw[clon], errors="coerce").astype(np.float64),
            "row": np.arange(len(raw), dtype=np.int64),
        }
    )
    for c in extra:
        table[c] = raw[c].to_numpy()
    reason = np.full(len(table), "", dtype=object)
    lat, lon = table["lat"].to_numpy(), table["lon"].to_numpy()
    _flag(reason, (table["img_id"] == "").to_numpy(), "missing_id")
    _flag(reason, ~(np.isfinite(lat) & np.isfinite(lon)), "nan_coordinates")
    _flag(reason, np.abs(np.nan_to_num(lat)) > 90.0, "lat_out_of_range")
    _flag(reason, (reason == "") & table["img_id"].duplicated().to_numpy(), "duplicate_id")
    detail = [
        _detail(r, i, a, o) for r, i, a, o in zip(reason, table["img_id"], raw[clat], raw[clon])
    ]
    bad_mask = reason != ""
    bad = pd.DataFrame(
        {
            "row": table["row"].to_numpy()[bad_mask],
            "img_id": table["img_id"].to_numpy()[bad_mask],
            "reason": reason[bad_mask],
            "detail": np.asarray(detail, dtype=object)[bad_mask]
            if len(detail)
            else np.array([], dtype=object),
        }
    )
    good = table.loc[~bad_mask].reset_index(drop=True)
    good["lon"] = wrap_lon(good["lon"].to_numpy())
    cols = {"id": cid, "lat": clat, "lon": clon}
    return good, LoadReport(
        n_rows=len(table), bad=bad, source=str(getattr(path, "name", path)), columns=cols
    )


def _flag(reason: np.ndarray, mask: np.ndarray, what: str) -> None:
    """Set ``reason`` where ``mask`` holds and no earlier reason was recorded."""
    reason[(reason == "") & mask] = what


def _detail(reason: str, img_id: str, lat: Any, lon: Any) -> str:
    if reason in ("nan_coordinates", "lat_out_of_range"):
        return f"LAT={lat!s}, LON={lon!s}"
    if reason == "duplicate_id":
        return f"IMG_ID {img_id!r} seen before"
    return ""


def _resolve_file(root: Path, img_id: str, extensions: Sequence[str]) -> Path | None:
    p = root / img_id
    if p.is_file():
        return p
    if not p.suffix:
        for ext in extensions:
            q = p.with_name(p.name + ext)
            if q.is_file():
                return q
    return None


def _verify(path: Path) -> str:
    """Empty string if ``path`` decodes as an image, else the error."""
    Image = attempt_import("PIL.Image", "checking image files")
    try:
        with Image.open(path) as im:
            im.verify()
        return ""
    except Exception as exc:  # noqa: BLE001 - PIL raises many types on corrupt data
        return f"{type(exc).__name__}: {exc}"


def load_image_csv(
    csv_path: str | os.PathLike[str],
    image_dir: str | os.PathLike[str] | None = None,
    *,
    check_files: bool = True,
    verify_images: bool = False,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    **csv_kwargs: Any,
) -> tuple[ImageDataset, LoadReport]:
    """Pair the images of a folder with the coordinates of a CSV; report bad rows.

    Parameters
    ----------
    csv_path : path
        ``IMG_ID, LAT, LON`` table (see :func:`read_locations_csv`).
    image_dir : path, optional
        Folder that ``IMG_ID`` is relative to; default: the CSV's folder.
        An id without an extension is also tried with each of ``extensions``.
    check_files : bool
        Reject rows whose image file does not exist (``missing_file``).
    verify_images : bool
        Also open every image and reject undecodable ones
        (``unreadable_file``); slow for large collections.
    **csv_kwargs
        ``id_column``, ``lat_column``, ``lon_column``, ``extra_columns``, ``sep``.

    Returns
    -------
    dataset : ImageDataset
        The good rows.
    report : LoadReport
        The rejected rows, with reasons.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "1.jpg").write_bytes(b"")
    >>> _ = (d / "t.csv").write_text("IMG_ID,LAT,LON\\n1,0,0\\n")
    >>> ds, rep = load_image_csv(d / "t.csv")
    >>> pathlib.Path(ds.paths[0]).name, rep.n_bad
    ('1.jpg', 0)
    """
    pd = attempt_import("pandas", "reading location tables")
    table, report = read_locations_csv(csv_path, **csv_kwargs)
    root = Path(image_dir) if image_dir is not None else Path(csv_path).parent
    if image_dir is not None and not root.is_dir():
        raise FileNotFoundError(f"`image_dir`: no such folder {str(root)!r}")
    paths = np.empty(len(table), dtype=object)
    reason = np.full(len(table), "", dtype=object)
    detail = np.full(len(table), "", dtype=object)
    for i, img_id in enumerate(table["img_id"].to_numpy()):
        found = _resolve_file(root, img_id, extensions) if check_files else root / img_id
        if found is None:
            reason[i], detail[i] = "missing_file", str(root / img_id)
            continue
        paths[i] = str(found)
        if verify_images:
            err = _verify(found)
            if err:
                reason[i], detail[i] = "unreadable_file", err
    bad_mask = reason != ""
    if bad_mask.any():
        more = pd.DataFrame(
            {
                "row": table["row"].to_numpy()[bad_mask],
                "img_id": table["img_id"].to_numpy()[bad_mask],
                "reason": reason[bad_mask],
                "detail": detail[bad_mask],
            }
        )
        report.bad = pd.concat([report.bad, more], ignore_index=True).sort_values(
            "row", kind="stable"
        )
        report.bad = report.bad.reset_index(drop=True)
    meta = table.loc[~bad_mask].reset_index(drop=True)
    meta.insert(3, "path", paths[~bad_mask])
    ds = ImageDataset(
        paths=meta["path"].to_numpy(dtype=object),
        lat=meta["lat"].to_numpy(dtype=np.float64),
        lon=meta["lon"].to_numpy(dtype=np.float64),
        meta=meta,
    )
    return ds, report


def scan_image_folder(
    folder: str | os.PathLike[str],
    *,
    recursive: bool = True,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
) -> list[str]:
    """Sorted paths of the image files in ``folder`` (by extension, any case).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for n in ("b.JPG", "a.png", "notes.txt"):
    ...     _ = (d / n).write_bytes(b"")
    >>> [pathlib.Path(p).name for p in scan_image_folder(d)]
    ['a.png', 'b.JPG']
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"`folder`: no such folder {str(root)!r}")
    exts = {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        out.extend(
            os.path.join(dirpath, f) for f in filenames if os.path.splitext(f)[1].lower() in exts
        )
        if not recursive:
            break
    return sorted(out)
