"""Training data sources: in-memory arrays and streamed ``.npy`` / Parquet shards.

Every source exposes ``shard_sizes``, ``n_features`` and ``read(shard, rows)``
returning ``(X float32, lat, lon)`` for sorted row indices; rows are checked
(finite, latitude in range) as they are read.  :func:`iter_batches` draws the
shuffled global mini-batches of an epoch and :func:`read_batch` gathers them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .._validation import check_int
from ..coords import as_latlon

__all__ = ["ArrayData", "NpyShards", "ParquetShards", "RetrievalData", "fit_sources", "read_all"]

class ArrayData:
    """Training rows held in arrays (or NumPy memmaps): ``X (n, d)``, ``lat``, ``lon`` [deg].

    Examples
    --------
    >>> d = ArrayData(np.zeros((3, 4)), [0, 1, 2], [0, 0, 0])
    >>> d.shard_sizes, d.n_features
    ([3], 4)
    """

    def __init__(self, X, lat, lon, *, names: tuple[str, str, str] = ("X", "lat", "lon")) -> None:
        nx, nla, nlo = names
        X = check_embeddings(X, nx)
        lat, lon = as_latlon(lat, lon, names=(nla, nlo))
        if lat.shape[0] != X.shape[0]:
            raise ValueError(f"`{nx}` has {X.shape[0]} rows but `{nla}`/`{nlo}` have {lat.shape[0]}")
        self.X, self.lat, self.lon = X, lat, lon

    @property
    def shard_sizes(self) -> list[int]:
        return [self.X.shape[0]]

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def read(self, shard: int, rows: np.ndarray):
        """Rows ``rows`` (sorted) of shard ``shard`` as (X float32, lat, lon)."""
        return np.asarray(self.X[rows], dtype=np.float32), self.lat[rows], self.lon[rows]


class NpyShards:
    """Memory-mapped ``.npy`` shards that stream: embeddings ``(n_i, d)`` and ``(n_i, 2)`` (lat, lon).

    Only the rows of the current mini-batch are read from disk, so datasets of
    millions of rows train in constant memory.  Rows are checked (finite,
    latitude in range) as they are read.

    Parameters
    ----------
    embeddings, latlon : sequence of path
        Paired shard files, same number of rows in each pair.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> np.save(os.path.join(d, "e0.npy"), np.zeros((5, 3), np.float32))
    >>> np.save(os.path.join(d, "p0.npy"), np.zeros((5, 2)))
    >>> NpyShards([os.path.join(d, "e0.npy")], [os.path.join(d, "p0.npy")]).shard_sizes
    [5]
    """

    def __init__(self, embeddings: Sequence[str | os.PathLike], latlon: Sequence[str | os.PathLike]) -> None:
        if isinstance(embeddings, (str, os.PathLike)) or isinstance(latlon, (str, os.PathLike)):
            raise TypeError("`embeddings` and `latlon` must be sequences of paths (lists), not single paths")
        if len(embeddings) != len(latlon) or not embeddings:
            raise ValueError(f"need equally many (>= 1) shards, got {len(embeddings)} embedding and {len(latlon)} latlon files")
        self.paths = [(str(e), str(p)) for e, p in zip(embeddings, latlon)]
        self._emb = [np.load(e, mmap_mode="r") for e, _ in self.paths]
        self._pts = [np.load(p, mmap_mode="r") for _, p in self.paths]
        dims = {a.shape[1] if a.ndim == 2 else None for a in self._emb}
        if len(dims) != 1 or None in dims:
            raise ValueError(f"embedding shards must all be 2-D with the same width, got shapes {[a.shape for a in self._emb]}")
        for (e, p), a, b in zip(self.paths, self._emb, self._pts):
            if b.ndim != 2 or b.shape != (a.shape[0], 2):
                raise ValueError(f"`latlon` shard {p!r} must have shape ({a.shape[0]}, 2) to pair with {e!r}, got {b.shape}")

    @property
    def shard_sizes(self) -> list[int]:
        return [int(a.shape[0]) for a in self._emb]

    @property
    def n_features(self) -> int:
        return int(self._emb[0].shape[1])

    def read(self, shard: int, rows: np.ndarray):
        X = np.asarray(self._emb[shard][rows], dtype=np.float32)
        if not np.isfinite(X).all():
            raise ValueError(f"embedding shard {self.paths[shard][0]!r} has NaN/inf values in rows {rows[:5].tolist()}...")
        pts = np.asarray(self._pts[shard][rows], dtype=np.float64)
        lat, lon = as_latlon(pts[:, 0], pts[:, 1], names=(f"lat in {self.paths[shard][1]}", "lon"))
        return X, lat, lon


class ParquetShards:
    """Parquet shards that stream: an embedding list column plus ``lat``/``lon`` columns [deg].

    The layout most embedding pipelines write (one row per image, the
    embedding as a ``list<float>`` or ``fixed_size_list<float>`` column).
    Shards are decoded one at a time, when a mini-batch first needs them, and
    only ``cache`` of them are kept, so memory is bounded by the shard size
    (write shards of ~100k rows; :meth:`write` does it) whatever the dataset
    size.  Mini-batches are drawn shard by shard (see :func:`iter_batches`),
    so each shard is decoded about once per epoch.  Rows are checked (finite,
    latitude in range) as they are read.

    Parameters
    ----------
    paths : sequence of path
        Parquet files, all with the same columns and embedding width.
    embedding, lat, lon : str
        Column names.
    cache : int
        Decoded shards kept in memory (>= 1).

    Examples
    --------
    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(10, 3)).astype(np.float32)
    >>> d = ParquetShards.write(tempfile.mkdtemp(), X, np.arange(10.0), np.zeros(10), rows_per_shard=4)
    >>> d.shard_sizes, d.n_features
    ([4, 4, 2], 3)
    >>> Xb, lat, lon = d.read(1, np.array([0, 3]))
    >>> np.array_equal(Xb, X[[4, 7]]), lat.tolist()
    (True, [4.0, 7.0])
    """

    def __init__(self, paths: Sequence[str | os.PathLike], *, embedding: str = "embedding", lat: str = "lat",
                 lon: str = "lon", cache: int = 1) -> None:
        import pyarrow.parquet as pq

        if isinstance(paths, (str, os.PathLike)):
            raise TypeError("`paths` must be a sequence of Parquet files (a list), not a single path")
        if not paths:
            raise ValueError("`paths` is empty; pass at least one Parquet shard")
        check_int(cache, "cache", low=1, what="an integer >= 1")
        self.paths, self.columns, self.cache = [str(p) for p in paths], (embedding, lat, lon), cache
        self._sizes, dims = [], set()
        for p in self.paths:
            f = pq.ParquetFile(p)
            names = f.schema_arrow.names
            missing = [c for c in self.columns if c not in names]
            if missing:
                raise ValueError(f"Parquet shard {p!r} has no column(s) {missing} (columns: {names}); "
                                 "name them with `embedding=`, `lat=`, `lon=`")
            self._sizes.append(int(f.metadata.num_rows))
            if f.metadata.num_rows:
                first = f.read_row_group(0, columns=[embedding]).column(0)[0].as_py()
                dims.add(len(first) if isinstance(first, list) else None)
        if None in dims or len(dims) != 1:
            raise ValueError(f"column {embedding!r} must hold lists of one width in every shard, got widths {dims}")
        self._dim = dims.pop()
        self._decoded: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def shard_sizes(self) -> list[int]:
        return list(self._sizes)

    @property
    def n_features(self) -> int:
        return int(self._dim)

    def _shard(self, shard: int):
        if shard not in self._decoded:
            import pyarrow.parquet as pq

            while len(self._decoded) >= self.cache:
                self._decoded.pop(next(iter(self._decoded)))
            emb, lat, lon = self.columns
            t = pq.read_table(self.paths[shard], columns=list(self.columns))
            col = t.column(emb).combine_chunks()
            values = np.asarray(col.flatten(), dtype=np.float32)
            if values.size != len(t) * self._dim:
                raise ValueError(f"column {emb!r} of {self.paths[shard]!r} has rows of unequal width "
                                 f"(expected {self._dim} values per row)")
            X = values.reshape(len(t), self._dim)
            self._decoded[shard] = (X, t.column(lat).to_numpy().astype(np.float64),
                                    t.column(lon).to_numpy().astype(np.float64))
        return self._decoded[shard]

    def read(self, shard: int, rows: np.ndarray):
        """Rows ``rows`` (sorted) of shard ``shard`` as (X float32, lat, lon)."""
        X_all, lat_all, lon_all = self._shard(shard)
        X = X_all[rows]
        if not np.isfinite(X).all():
            raise ValueError(f"Parquet shard {self.paths[shard]!r} has NaN/inf embeddings in rows {rows[:5].tolist()}...")
        lat, lon = as_latlon(lat_all[rows], lon_all[rows], names=(f"lat in {self.paths[shard]}", "lon"))
        return X, lat, lon

    @classmethod
    def write(cls, folder: str | os.PathLike, X, lat, lon, *, rows_per_shard: int = 100_000,
              prefix: str = "shard") -> "ParquetShards":
        """Write ``X``, ``lat``, ``lon`` as ``<folder>/<prefix>-00000.parquet``... (atomic per file)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .._atomic import atomic_write

        data = ArrayData(X, lat, lon)
        rows_per_shard = check_int(rows_per_shard, "rows_per_shard", low=1, what="a positive integer")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, start in enumerate(range(0, data.X.shape[0], rows_per_shard)):
            sl = slice(start, start + rows_per_shard)
            Xs = np.ascontiguousarray(data.X[sl], dtype=np.float32)
            emb = pa.FixedSizeListArray.from_arrays(pa.array(Xs.ravel()), Xs.shape[1])
            table = pa.table({"embedding": emb, "lat": data.lat[sl], "lon": data.lon[sl]})
            path = folder / f"{prefix}-{i:05d}.parquet"
            atomic_write(path, lambda tmp, t=table: pq.write_table(t, tmp))
            paths.append(path)
        return cls(paths)


class RetrievalData:
    """A data source whose rows carry their retrieval prior: ``X`` becomes ``[X, prior]``.

    ``table`` holds one prior row per training row (all shards, in order;
    float16 to halve its memory); ``read`` appends the rows' priors to the
    wrapped source's embeddings (retrieval-conditioned LocDiffusion).

    Examples
    --------
    >>> d = RetrievalData(ArrayData(np.ones((3, 2)), [0, 1, 2], [0, 0, 0]), np.zeros((3, 4)))
    >>> d.n_features, d.read(0, np.array([0, 2]))[0].shape
    (6, (2, 6))
    """

    def __init__(self, data, table) -> None:
        self.data, self.table = data, np.asarray(table, dtype=np.float16)
        self._offsets = np.concatenate([[0], np.cumsum(data.shard_sizes)]).astype(np.int64)
        if self.table.ndim != 2 or self.table.shape[0] != self._offsets[-1]:
            raise ValueError(f"`table` must have one row per training row ({self._offsets[-1]}), "
                             f"got shape {self.table.shape}")

    @property
    def shard_sizes(self) -> list[int]:
        return self.data.shard_sizes

    @property
    def n_features(self) -> int:
        return int(self.data.n_features + self.table.shape[1])

    def read(self, shard: int, rows: np.ndarray):
        X, lat, lon = self.data.read(shard, rows)
        prior = self.table[self._offsets[shard] + np.asarray(rows)].astype(np.float32)
        return np.concatenate([X, prior], axis=1), lat, lon


def read_all(data, batch: int = 65536):
    """Every row of a data source, in shard order: ``(X float32, lat, lon)``.

    Examples
    --------
    >>> X, lat, lon = read_all(ArrayData(np.ones((3, 2)), [0, 1, 2], [0, 0, 0]))
    >>> X.shape, lat.tolist()
    ((3, 2), [0.0, 1.0, 2.0])
    """
    parts = []
    for s, n in enumerate(data.shard_sizes):
        for lo in range(0, n, batch):
            parts.append(data.read(s, np.arange(lo, min(n, lo + batch))))
    X, lat, lon = (np.concatenate(p) for p in zip(*parts))
    return X, lat, lon


def fit_sources(X, lat=None, lon=None, X_val=None, lat_val=None, lon_val=None):
    """The training data source and the validation arrays of ``LocDiffusion.fit``.

    ``X`` is an array (then ``lat``, ``lon`` are required) or a data source
    (then they are inside it).  Returns ``(data, val)`` with ``val`` =
    ``(X_val, lat_val, lon_val)`` checked, or None.

    Examples
    --------
    >>> data, val = fit_sources(np.ones((3, 2)), [0, 1, 2], [0, 0, 0])
    >>> data.n_features, val is None
    (2, True)
    """
    if isinstance(X, (ArrayData, NpyShards, ParquetShards)):
        if lat is not None or lon is not None:
            raise ValueError("pass `lat`/`lon` inside the data source, not separately, when `X` is a data source")
        data = X
    else:
        if lat is None or lon is None:
            raise ValueError("`lat` and `lon` are required when `X` is an array")
        data = ArrayData(X, lat, lon)
    if X_val is None:
        return data, None
    val_data = ArrayData(X_val, lat_val, lon_val, names=("X_val", "lat_val", "lon_val"))
    if val_data.n_features != data.n_features:
        raise ValueError(f"`X_val` has {val_data.n_features} features, `X` has {data.n_features}")
    return data, (val_data.X, val_data.lat, val_data.lon)


def check_embeddings(X, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """Validate a 2-D finite embedding array (memmaps kept as they are, checked in chunks)."""
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{name}` must be a numeric array of shape (n, d), got {type(X).__name__}") from exc
    if X.dtype.kind not in "fiu":
        raise TypeError(f"`{name}` must be numeric, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"`{name}` is empty (shape {X.shape}); pass at least one row")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"`{name}` has {X.shape[1]} features but the model was fitted with {n_features}; "
                         "use the same embedding model as at training")
    for start in range(0, X.shape[0], 65536):
        chunk = np.asarray(X[start : start + 65536])
        if not np.isfinite(chunk).all():
            bad = int(np.argwhere(~np.isfinite(chunk))[0, 0]) + start
            raise ValueError(f"`{name}` must be finite, got NaN/inf (first in row {bad})")
    return X


def iter_batches(sizes: Sequence[int], batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled global mini-batches as (shard ids, row ids): shard order, then rows within a shard.

    Batches may straddle two shards; the last one may be short.
    """
    order = rng.permutation(len(sizes))
    buf_s: list[np.ndarray] = []
    buf_r: list[np.ndarray] = []
    held = 0
    for s in order:
        rows = rng.permutation(sizes[s])
        buf_s.append(np.full(rows.size, s))
        buf_r.append(rows)
        held += rows.size
        while held >= batch_size:
            ss, rr = np.concatenate(buf_s), np.concatenate(buf_r)
            yield ss[:batch_size], rr[:batch_size]
            buf_s, buf_r, held = [ss[batch_size:]], [rr[batch_size:]], held - batch_size
    if held:
        yield np.concatenate(buf_s), np.concatenate(buf_r)


def read_batch(data, shards: np.ndarray, rows: np.ndarray):
    """Gather rows from ``data`` shard by shard (sorted reads), in shard-major order."""
    parts = []
    for s in np.unique(shards):
        parts.append(data.read(int(s), np.sort(rows[shards == s])))
    X, lat, lon = (np.concatenate(p) for p in zip(*parts))
    return X, lat, lon
