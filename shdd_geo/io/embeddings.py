"""Embeddings on disk: memory-mapped ``.npy`` + metadata, written atomically and resumably.

For an output path ``emb.npy`` the files are::

    emb.npy           (n, dim) float32 rows, readable with np.load(..., mmap_mode="r")
    emb.parquet       one metadata row per embedding (or emb.csv without pyarrow);
                      always has a boolean column ``ok`` (False: the input failed, row is NaN)
    emb.json          encoder name, shape, input key, timestamps, status "complete"

While running, rows go to ``emb.npy.partial`` (a memory map) and progress to
``emb.json.partial``; progress is only recorded after the rows are flushed.
An interrupted run (Ctrl-C, crash, pre-emption) restarts after the last
finished chunk when called again with the same inputs and encoder.  The
final names appear only when everything is written, so a reader never sees
a half-written ``emb.npy``.  Only one process may write a given path at a
time.

Examples
--------
>>> import tempfile, pathlib, numpy as np
>>> class Toy:
...     name, dim = "toy", 2
...     def embed(self, items, batch_size=32, progress=False):
...         return np.array([[float(len(s)), 1.0] for s in items], np.float32)
>>> out = pathlib.Path(tempfile.mkdtemp()) / "emb.npy"
>>> f = embed_to_disk(["a", "bb", "ccc"], out, encoder=Toy(), progress=False)
>>> f.array.shape, f.meta["ok"].tolist()
((3, 2), [True, True, True])
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_write
from .._optional import attempt_import
from .._validation import check_int

__all__ = ["EmbeddingFile", "embed_to_disk", "items_key", "open_embeddings"]

_FORMAT = "shdd_geo-embeddings"
_VERSION = 1


@dataclass
class EmbeddingFile:
    """A finished embedding file: memory-mapped rows, metadata and info.

    Attributes
    ----------
    array : numpy.memmap
        ``(n, dim)`` float32, read-only memory map.
    meta : pandas.DataFrame
        One row per embedding (with ``ok``).
    info : dict
        Encoder name, shape, input key, timestamps.
    path : pathlib.Path
        The ``.npy`` file.

    Examples
    --------
    :func:`embed_to_disk` and :func:`open_embeddings` return one:

    >>> import tempfile, pathlib
    >>> class Ones:
    ...     name, dim = "ones", 3
    ...     def embed(self, items, batch_size=32, progress=False):
    ...         return np.ones((len(items), 3), np.float32)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ones.npy"
    >>> f = embed_to_disk(["x", "y"], path, encoder=Ones(), progress=False)
    >>> type(f).__name__, f.array.shape, f.info["encoder"], f.path.name
    ('EmbeddingFile', (2, 3), 'ones', 'ones.npy')
    """

    array: np.ndarray
    meta: Any
    info: dict[str, Any]
    path: Path

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def __repr__(self) -> str:
        return f"EmbeddingFile({str(self.path)!r}, shape={tuple(self.array.shape)}, encoder={self.info.get('encoder')!r})"


def _sidecars(out: Path) -> dict[str, Path]:
    stem = out.with_suffix("")
    return {
        "npy": out,
        "partial": out.with_name(out.name + ".partial"),
        "json": stem.with_name(stem.name + ".json"),
        "progress": stem.with_name(stem.name + ".json.partial"),
        "parquet": stem.with_name(stem.name + ".parquet"),
        "csv": stem.with_name(stem.name + ".csv"),
    }


def items_key(items: Sequence[Any]) -> str:
    """SHA-256 (24 hex) identifying a list of inputs: paths/strings, arrays or PIL images.

    Examples
    --------
    >>> items_key(["a.jpg", "b.jpg"]) == items_key(["a.jpg", "b.jpg"])
    True
    >>> items_key(["a.jpg"]) == items_key(["b.jpg"])
    False
    """
    h = hashlib.sha256(f"{_FORMAT}-items\0{len(items)}\0".encode())
    for it in items:
        if isinstance(it, (str, os.PathLike)):
            b = os.fspath(it).encode("utf-8", "surrogatepass")
        elif isinstance(it, np.ndarray):
            b = f"{it.shape}{it.dtype}".encode() + np.ascontiguousarray(it).tobytes()
        elif hasattr(it, "tobytes") and hasattr(it, "size"):  # PIL image
            b = f"{it.size}{getattr(it, 'mode', '')}".encode() + it.tobytes()
        else:
            raise TypeError(
                f"cannot fingerprint an input of type {type(it).__name__}; pass `key=` "
                "(any string that changes when the inputs change)"
            )
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()[:24]


def _write_json_atomic(path: Path, obj: dict[str, Any]) -> None:
    text = json.dumps(obj, indent=1)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _meta_frame(meta: Any, n: int) -> Any:
    pd = attempt_import("pandas", "embedding metadata")
    if meta is None:
        return pd.DataFrame({"index": np.arange(n, dtype=np.int64)})
    df = meta if isinstance(meta, pd.DataFrame) else pd.DataFrame(meta)
    if len(df) != n:
        raise ValueError(f"`meta` must have one row per input ({n}), got {len(df)} rows")
    if "ok" in df.columns:
        raise ValueError(
            "`meta` must not have a column named 'ok' (it is written by embed_to_disk)"
        )
    return df.reset_index(drop=True)


def _choose_format(meta_format: str) -> str:
    if meta_format not in ("auto", "parquet", "csv"):
        raise ValueError(f"`meta_format` must be 'auto', 'parquet' or 'csv', got {meta_format!r}")
    if meta_format != "auto":
        return meta_format
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return "csv"
    return "parquet"


def _start(paths: dict[str, Path], info: dict[str, Any], resume: bool) -> tuple[np.ndarray, int]:
    """Open (or reopen) the partial memory map; return it and the rows already done."""
    prog = paths["progress"]
    if resume and prog.is_file() and paths["partial"].is_file():
        try:
            old = json.loads(prog.read_text())
        except ValueError:
            old = {}
        same = all(old.get(k) == info[k] for k in ("encoder", "dim", "n", "key"))
        if same:
            arr = np.lib.format.open_memmap(paths["partial"], mode="r+")
            if arr.shape == (info["n"], info["dim"]) and arr.dtype == np.float32:
                return arr, int(old.get("done", 0))
    for p in (paths["partial"], prog):
        p.unlink(missing_ok=True)
    arr = np.lib.format.open_memmap(
        paths["partial"], mode="w+", dtype=np.float32, shape=(info["n"], info["dim"])
    )
    _write_json_atomic(prog, {**info, "done": 0, "status": "partial"})
    return arr, 0


def embed_to_disk(
    items: Sequence[Any],
    out: str | os.PathLike[str],
    *,
    encoder: Any,
    meta: Any = None,
    key: str | None = None,
    chunk_size: int = 1024,
    batch_size: int = 32,
    progress: bool = True,
    resume: bool = True,
    overwrite: bool = False,
    meta_format: str = "auto",
    **embed_kwargs: Any,
) -> EmbeddingFile:
    """Embed ``items`` chunk by chunk into ``out`` (``.npy``), resumably.

    Parameters
    ----------
    items : sequence
        Anything ``encoder.embed`` takes as a list: image paths, arrays,
        strings.  It is sliced one chunk at a time, so a lazy sequence
        (``__len__`` + slicing) never needs to be held in memory whole.
    out : path
        The ``.npy`` file to write (suffix added when missing).
    encoder : object
        Has ``embed(list, batch_size=, progress=, ...)``, ``dim`` and ``name``
        (e.g. :class:`~shdd_geo.encoders.image.EfficientNetLite0Encoder`).
    meta : pandas.DataFrame or dict, optional
        One row per item, stored beside the embeddings (default: ``index``).
    key : str, optional
        Identity of the inputs, used to check that a resumed run continues
        the same job; default :func:`items_key` of ``items`` (or
        ``items.cache_key`` when a lazy sequence provides one).
    chunk_size : int
        Items per chunk; progress is saved after each chunk.
    batch_size : int
        Passed to ``encoder.embed``.
    progress : bool
        A progress bar over chunks.
    resume : bool
        Continue a matching interrupted run (default); ``False`` restarts.
    overwrite : bool
        Replace a finished file; otherwise an existing complete file with
        the same key and encoder is returned as is, and one with a different
        key raises ``FileExistsError``.
    meta_format : {"auto", "parquet", "csv"}
        Parquet when pyarrow is installed, else CSV.
    **embed_kwargs
        More options for ``encoder.embed`` (``device=``, ``on_error="nan"``...).

    Returns
    -------
    EmbeddingFile
        The finished, memory-mapped result.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from shdd_geo.encoders.image import EfficientNetLite0Encoder
    >>> imgs = np.zeros((3, 32, 32, 3), np.uint8)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "e.npy"
    >>> f = embed_to_disk(list(imgs), out, encoder=EfficientNetLite0Encoder(device="cpu"), progress=False)
    >>> f.array.shape
    (3, 1280)
    """
    n = len(items)
    if n == 0:
        raise ValueError("`items` is empty; pass at least one input")
    for name, v in (("chunk_size", chunk_size), ("batch_size", batch_size)):
        check_int(v, name, low=1, what="an int >= 1")
    out = Path(out)
    if out.suffix != ".npy":
        out = out.with_name(out.name + ".npy")
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = _sidecars(out)
    fmt = _choose_format(meta_format)
    key = key or getattr(items, "cache_key", None) or items_key(items)
    info = {
        "format": _FORMAT,
        "version": _VERSION,
        "encoder": str(encoder.name),
        "dim": int(encoder.dim),
        "n": int(n),
        "key": key,
        "chunk_size": int(chunk_size),
        "dtype": "float32",
    }
    done_file = _existing(paths, info, overwrite)
    if done_file is not None:
        return done_file
    meta_df = _meta_frame(meta, n)
    arr, done = _start(paths, info, resume)
    _run_chunks(items, arr, done, paths, info, encoder, batch_size, progress, embed_kwargs)
    return _finish(arr, meta_df, paths, info, fmt)


def _existing(
    paths: dict[str, Path], info: dict[str, Any], overwrite: bool
) -> EmbeddingFile | None:
    if not paths["npy"].exists():
        return None
    if overwrite:
        for p in ("npy", "json", "parquet", "csv"):
            paths[p].unlink(missing_ok=True)
        return None
    try:
        f = open_embeddings(paths["npy"])
    except (OSError, ValueError) as exc:
        raise FileExistsError(
            f"{str(paths['npy'])!r} exists but cannot be read ({exc}); pass overwrite=True"
        ) from exc
    if all(f.info.get(k) == info[k] for k in ("encoder", "dim", "n", "key")):
        return f
    raise FileExistsError(
        f"{str(paths['npy'])!r} already holds embeddings of other inputs or another encoder "
        f"({f.info.get('encoder')!r}, n={f.info.get('n')}); pass overwrite=True or choose another `out`"
    )


def _run_chunks(
    items: Any,
    arr: np.ndarray,
    done: int,
    paths: dict[str, Path],
    info: dict[str, Any],
    encoder: Any,
    batch_size: int,
    progress: bool,
    embed_kwargs: dict[str, Any],
) -> None:
    n, cs = info["n"], info["chunk_size"]
    bar = None
    if progress:
        bar = attempt_import("tqdm", "progress bars").tqdm(
            total=n, initial=done, desc="embedding", unit="item"
        )
    try:
        for start in range(done, n, cs):
            stop = min(start + cs, n)
            rows = encoder.embed(
                list(items[start:stop]), batch_size=batch_size, progress=False, **embed_kwargs
            )
            rows = np.asarray(rows, dtype=np.float32)
            if rows.shape != (stop - start, info["dim"]):
                raise RuntimeError(
                    f"the encoder returned shape {rows.shape} for {stop - start} inputs"
                )
            arr[start:stop] = rows
            arr.flush()  # rows first, then the progress record that vouches for them
            _write_json_atomic(
                paths["progress"],
                {**info, "done": stop, "status": "partial", "updated": time.time()},
            )
            if bar is not None:
                bar.update(stop - start)
    finally:
        if bar is not None:
            bar.close()


def _finish(
    arr: np.ndarray, meta_df: Any, paths: dict[str, Path], info: dict[str, Any], fmt: str
) -> EmbeddingFile:
    ok = np.ones(info["n"], dtype=bool)
    for s in range(0, info["n"], 65536):
        ok[s : s + 65536] = np.isfinite(arr[s : s + 65536]).all(axis=1)
    arr.flush()
    del arr
    meta_df = meta_df.copy()
    meta_df["ok"] = ok
    target = paths[fmt]
    if fmt == "parquet":
        atomic_write(target, lambda tmp: meta_df.to_parquet(tmp, index=False))
    else:
        atomic_write(target, lambda tmp: meta_df.to_csv(tmp, index=False))
    final = {
        **info,
        "status": "complete",
        "meta": target.name,
        "n_failed": int((~ok).sum()),
        "finished": time.time(),
    }
    _write_json_atomic(paths["json"], final)
    # the .npy last: a kill before this rename leaves no .npy (the run resumes), never a .npy without its .json
    os.replace(paths["partial"], paths["npy"])
    paths["progress"].unlink(missing_ok=True)
    return open_embeddings(paths["npy"])


def open_embeddings(path: str | os.PathLike[str]) -> EmbeddingFile:
    """Open a finished embedding file (memory-mapped, read-only) with its metadata.

    Raises
    ------
    FileNotFoundError
        If the ``.npy`` or its ``.json`` is missing (an unfinished run leaves
        only ``.partial`` files: call :func:`embed_to_disk` again to resume).
    ValueError
        If the files disagree (shape, row count).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> class Toy:
    ...     name, dim = "toy", 1
    ...     def embed(self, items, batch_size=32, progress=False):
    ...         return np.ones((len(items), 1), np.float32)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "e.npy"
    >>> _ = embed_to_disk(["x"], out, encoder=Toy(), progress=False)
    >>> open_embeddings(out).info["status"]
    'complete'
    """
    pd = attempt_import("pandas", "embedding metadata")
    out = Path(path)
    paths = _sidecars(out)
    if not out.is_file() or not paths["json"].is_file():
        hint = (
            " (an interrupted run left .partial files: call embed_to_disk again to resume)"
            if paths["partial"].exists()
            else ""
        )
        raise FileNotFoundError(f"`path`: no finished embedding file at {str(out)!r}{hint}")
    info = json.loads(paths["json"].read_text())
    arr = np.load(out, mmap_mode="r")
    meta_path = out.parent / info.get("meta", paths["parquet"].name)
    meta = pd.read_parquet(meta_path) if meta_path.suffix == ".parquet" else pd.read_csv(meta_path)
    if (
        arr.ndim != 2
        or arr.shape[0] != len(meta)
        or list(arr.shape) != [info.get("n"), info.get("dim")]
    ):
        raise ValueError(
            f"inconsistent embedding files at {str(out)!r}: array {arr.shape}, {len(meta)} metadata rows, "
            f"info n={info.get('n')} dim={info.get('dim')}"
        )
    return EmbeddingFile(array=arr, meta=meta, info=info, path=out)
