"""On-disk cache of text embeddings: memory-mapped ``.npy`` + Parquet metadata.

Layout (one folder per key)::

    <cache_dir>/embeddings/<key>/embeddings.npy   (n, dim) float32, opened with mmap
    <cache_dir>/embeddings/<key>/meta.parquet     the table the rows belong to
    <cache_dir>/embeddings/<key>/info.json        encoder, shape, label, created

The key is a SHA-256 of the encoder's name and of every text in order, so the
cache is invalidated exactly when the data or the model change.  A folder is
written under a temporary name and renamed into place, so readers never see a
partial entry, and two processes racing on the same key both end up with a
complete copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._cache import ENV_VAR, default_cache_dir

__all__ = ["cached_embeddings", "default_cache_dir", "embedding_key"]

_FILES = ("embeddings.npy", "meta.parquet", "info.json")


def embedding_key(texts: Sequence[str], encoder_name: str) -> str:
    """Hex SHA-256 (first 24 characters) of the encoder name and the texts.

    Examples
    --------
    >>> embedding_key(["a", "b"], "m") == embedding_key(["a", "b"], "m")
    True
    >>> embedding_key(["a", "b"], "m") != embedding_key(["ab"], "m")
    True
    """
    h = hashlib.sha256()
    h.update(f"shdd_geo-embeddings-v1\0{encoder_name}\0{len(texts)}\0".encode())
    for t in texts:
        b = t.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()[:24]


def _entry_ok(folder: Path, n: int, dim: int) -> bool:
    """Whether ``folder`` holds a complete entry of the expected shape."""
    if not all((folder / f).is_file() for f in _FILES):
        return False
    try:
        info = json.loads((folder / "info.json").read_text())
        arr = np.load(folder / "embeddings.npy", mmap_mode="r")
    except (OSError, ValueError) as exc:
        warnings.warn(f"ignoring a corrupt embedding cache entry at {folder}: {exc}", stacklevel=3)
        return False
    ok = arr.shape == (n, dim) and arr.dtype == np.float32 and info.get("shape") == [n, dim]
    if not ok:
        warnings.warn(
            f"ignoring an embedding cache entry at {folder} with shape {arr.shape}, expected {(n, dim)}",
            stacklevel=3,
        )
    return ok


def _embed_unique(texts: Sequence[str], encoder: Any, batch_size: int | None, progress: bool) -> np.ndarray:
    """Embed each distinct text once and scatter back to rows (``batch_size`` None: the encoder's default)."""
    uniq, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    sized = {} if batch_size is None else {"batch_size": batch_size}
    emb = encoder.embed(list(uniq), progress=progress, **sized)
    return np.ascontiguousarray(emb[inverse], dtype=np.float32)


def _write_entry(final: Path, emb: np.ndarray, meta: Any, info: dict[str, Any]) -> None:
    """Write the three files into a temporary folder and rename it to ``final``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        np.save(tmp / "embeddings.npy", emb)
        meta.to_parquet(tmp / "meta.parquet", index=False)
        (tmp / "info.json").write_text(json.dumps(info, indent=1))
        if final.exists():  # a stale or corrupt entry: move it aside first
            stale = final.with_name(f".{final.name}.stale-{os.getpid()}-{time.time_ns()}")
            os.replace(final, stale)
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(tmp, final)
    except OSError:
        if final.is_dir() and all((final / f).is_file() for f in _FILES):
            return  # another process won the race with a complete entry
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cached_embeddings(
    meta: Any,
    *,
    text_column: str = "text",
    encoder: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    label: str = "",
    refresh: bool = False,
) -> np.ndarray:
    """Embeddings of ``meta[text_column]``, computed once and memory-mapped after.

    Parameters
    ----------
    meta : pandas.DataFrame
        The table; its ``text_column`` is embedded, and the whole table is
        stored beside the embeddings as Parquet for inspection.
    text_column : str
        Column holding the strings.
    encoder : object, optional
        Anything with ``embed(list, batch_size=, progress=)``, ``dim`` and
        ``name``; default :class:`shdd_geo.encoders.TextEncoder`.
    cache_dir : path, optional
        Cache root (default :func:`default_cache_dir`).
    batch_size, progress
        Passed to the encoder (``batch_size`` None: the encoder's default);
        distinct strings are embedded once.
    label : str
        Human-readable data version stored in ``info.json``.
    refresh : bool
        Recompute even if an entry exists.

    Returns
    -------
    numpy.ndarray
        ``(len(meta), dim)`` float32, a read-only memory map of the cache file.

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> class Toy:
    ...     name, dim = "toy", 2
    ...     def embed(self, texts, batch_size=1, progress=False):
    ...         return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
    >>> d = tempfile.mkdtemp()
    >>> e = cached_embeddings(pd.DataFrame({"text": ["ab", "c", "ab"]}), encoder=Toy(), cache_dir=d)
    >>> e[:, 0].tolist()
    [2.0, 1.0, 2.0]
    """
    if text_column not in getattr(meta, "columns", ()):
        raise ValueError(f"`meta` must be a DataFrame with a {text_column!r} column")
    texts = meta[text_column].tolist()
    if not texts:
        raise ValueError("`meta` has no rows; nothing to embed")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)][:3]
    if bad:
        raise TypeError(f"`meta[{text_column!r}]` must hold strings; rows {bad} do not")
    if encoder is None:
        from ..encoders import TextEncoder

        encoder = TextEncoder()
    key = embedding_key(texts, encoder.name)
    folder = Path(cache_dir if cache_dir is not None else default_cache_dir()) / "embeddings" / key
    if refresh or not _entry_ok(folder, len(texts), int(encoder.dim)):
        t0 = time.perf_counter()
        emb = _embed_unique(texts, encoder, batch_size, progress)
        info = {
            "key": key,
            "encoder": encoder.name,
            "shape": [len(texts), int(encoder.dim)],
            "label": label,
            "n_unique": len(set(texts)),
            "seconds": round(time.perf_counter() - t0, 3),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        _write_entry(folder, emb, meta.reset_index(drop=True), info)
    return np.load(folder / "embeddings.npy", mmap_mode="r")
