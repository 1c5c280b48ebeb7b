"""Batch prediction that scales out: embedding shards -> a chunked Zarr store of HEALPix fields, with Dask.

:func:`predict_to_zarr` predicts a density map for every row of an
embedding store larger than memory (:class:`~shdd_geo.model.NpyShards` or
:class:`~shdd_geo.model.ParquetShards`) and writes them to a Zarr store,
one task per block of ``rows_per_task`` rows:

1. the store's layout is written first (xarray, ``compute=False``):
   ``log_density`` on ``(query, cell)`` in float32, one Zarr chunk per task,
   with the HEALPix coordinates and attributes of
   :meth:`~shdd_geo.SphericalField.to_xarray` and, per row, the shards'
   ``true_lat``/``true_lon``;
2. each task reopens the shards by path (memory maps and Parquet files are
   not shipped to the workers), reads its rows, calls
   ``model.predict_field`` with ``generator=seed + task`` and writes its own
   region of the store; tasks share no chunk, so they never conflict;
3. the tasks run on the active ``dask.distributed`` client (or ``client=``),
   else one after another in this process, with a progress bar.

The result does not depend on the scheduler or the number of workers: the
same ``seed`` gives the same bytes.  ``xarray.open_zarr(store)`` reads it
lazily and ``ds.log_density[i].shdd.to_field()`` gives row ``i`` as a field.

Examples
--------
>>> rows_to_tasks([3, 5], 4)
[(0, 4), (4, 8)]
"""

from __future__ import annotations

import os

import numpy as np

from ._optional import attempt_import
from ._progress import quiet_kwargs
from ._validation import check_int

__all__ = ["predict_to_zarr", "rows_to_tasks"]


def rows_to_tasks(shard_sizes, rows_per_task: int) -> list[tuple[int, int]]:
    """Global row ranges ``[start, stop)`` of the tasks: blocks of ``rows_per_task`` rows.

    Examples
    --------
    >>> rows_to_tasks([10], 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    check_int(rows_per_task, "rows_per_task", low=1, what="a positive integer")
    n = int(sum(shard_sizes))
    return [(a, min(a + int(rows_per_task), n)) for a in range(0, n, int(rows_per_task))]


def _spec(shards) -> tuple:
    """A picklable recipe that reopens ``shards`` on a worker."""
    from .model.training import NpyShards, ParquetShards

    if isinstance(shards, NpyShards):
        return ("npy", [e for e, _ in shards.paths], [p for _, p in shards.paths])
    if isinstance(shards, ParquetShards):
        emb, lat, lon = shards.columns
        return ("parquet", list(shards.paths), emb, lat, lon)
    raise TypeError(f"`shards` must be NpyShards or ParquetShards, got {type(shards).__name__}")


def _open(spec):
    from .model.training import NpyShards, ParquetShards

    if spec[0] == "npy":
        return NpyShards(spec[1], spec[2])
    return ParquetShards(spec[1], embedding=spec[2], lat=spec[3], lon=spec[4])


def _read_rows(shards, start: int, stop: int):
    """Rows ``[start, stop)`` of the concatenated shards: (X, lat, lon)."""
    bounds = np.concatenate([[0], np.cumsum(shards.shard_sizes)])
    parts = []
    for s in range(len(bounds) - 1):
        a, b = max(start, bounds[s]), min(stop, bounds[s + 1])
        if a < b:
            parts.append(shards.read(s, np.arange(a - bounds[s], b - bounds[s])))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def _run_task(model, spec, store: str, start: int, stop: int, seed: int, predict_kwargs: dict) -> int:
    """Predict rows ``[start, stop)`` and write them into their region of the store."""
    xr = attempt_import("xarray", "Zarr output")
    X, _, _ = _read_rows(_open(spec), start, stop)
    quiet = quiet_kwargs(model.predict_field)
    field = model.predict_field(X, generator=seed, **{**quiet, **predict_kwargs})  # the bar is over the tasks
    log = np.asarray(field.log_density, dtype=np.float32).reshape(stop - start, -1)
    ds = xr.Dataset({"log_density": (("query", "cell"), log)})
    ds.to_zarr(store, region={"query": slice(start, stop)}, mode="r+", consolidated=False)
    return stop - start


def _layout(shards, store: str, nside: int, rows_per_task: int, model) -> None:
    """Write the store's metadata, coordinates and the per-row truth (no field data yet)."""
    xr = attempt_import("xarray", "Zarr output")
    da = attempt_import("dask.array", "Zarr output")
    from .fields import SphericalField

    n = int(sum(shards.shard_sizes))
    template = SphericalField.uniform(nside).to_xarray(log=True)
    lat = np.concatenate([_read_rows(shards, a, b)[1] for a, b in rows_to_tasks(shards.shard_sizes, 1 << 16)])
    lon = np.concatenate([_read_rows(shards, a, b)[2] for a, b in rows_to_tasks(shards.shard_sizes, 1 << 16)])
    empty = da.zeros((n, template.sizes["cell"]), chunks=(rows_per_task, -1), dtype=np.float32)
    attrs = {**template.attrs, "model": type(model).__name__}
    ds = xr.Dataset({"log_density": (("query", "cell"), empty, attrs)},
                    coords={k: template[k] for k in ("cell_ids", "lat", "lon")})
    ds = ds.assign_coords(true_lat=("query", lat, {"units": "degrees_north", "long_name": "latitude of the row"}),
                          true_lon=("query", lon, {"units": "degrees_east", "long_name": "longitude of the row"}))
    ds.attrs = {"title": "shdd_geo fields", "source": "shdd_geo.scale.predict_to_zarr", "nside": nside}
    ds.to_zarr(store, mode="w-", compute=False, zarr_format=2, consolidated=True)  # v2: widely read


def predict_to_zarr(model, shards, store, *, nside: int = 64, rows_per_task: int = 256, seed: int = 0,
                    client=None, progress: bool = True, **predict_kwargs) -> str:
    """Density maps of every row of ``shards`` into a new Zarr store, in parallel with Dask.

    Parameters
    ----------
    model : LocDiffusion
        A fitted model (pickled to the workers).
    shards : NpyShards or ParquetShards
        The embeddings (their lat/lon are stored as ``true_lat``/``true_lon``).
    store : str or os.PathLike
        A new Zarr directory (an existing one is refused).
    nside : int
        HEALPix resolution of the maps.
    rows_per_task : int
        Rows per task and per Zarr chunk along ``query``.
    seed : int
        Task ``i`` samples with ``generator=seed + i``.
    client : distributed.Client, optional
        Default: the active client, else one task after another in this
        process (Dask's synchronous scheduler).
    progress : bool
        A progress bar over the tasks.
    **predict_kwargs
        Passed to ``model.predict_field`` (``n_samples``, ``steps``...).

    Returns
    -------
    str
        ``store``.

    Examples
    --------
    See ``tests/model/test_scale.py`` and ``benchmarks/perf/dask_predict.py``; in short::

        from distributed import Client, LocalCluster
        with Client(LocalCluster(n_workers=2)) as client:
            predict_to_zarr(model, NpyShards(emb_files, latlon_files), "fields.zarr", nside=32)
        ds = xarray.open_zarr("fields.zarr")   # (query, cell), lazily

    >>> rows_to_tasks([5, 5], 4)[-1]
    (8, 10)
    """
    dask = attempt_import("dask", "parallel prediction")
    from .fields.grid import check_nside

    spec = _spec(shards)
    nside = check_nside(nside)
    tasks = rows_to_tasks(shards.shard_sizes, rows_per_task)
    if not tasks:
        raise ValueError("`shards` hold no rows")
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"`store` must be a path to a new Zarr directory, got {type(store).__name__}")
    store = os.fspath(store)
    if os.path.exists(store):
        raise FileExistsError(f"`store` {store!r} exists; give a new path (nothing is overwritten)")
    _layout(shards, store, nside, int(rows_per_task), model)
    kwargs = {"nside": nside, **predict_kwargs}
    client = client if client is not None else _active_client()
    # The model travels once: scattered to every worker (not a copy per task in the graph).
    shared = model if client is None else client.scatter(model, broadcast=True, hash=False)
    delayed = [dask.delayed(_run_task)(shared, spec, store, a, b, int(seed) + i, kwargs)
               for i, (a, b) in enumerate(tasks)]
    _compute(dask, delayed, client, progress)
    return store


def _active_client():
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _compute(dask, delayed: list, client, progress: bool) -> None:
    if client is None:
        from dask.diagnostics import ProgressBar

        if progress:
            with ProgressBar():
                dask.compute(*delayed, scheduler="sync")
        else:
            dask.compute(*delayed, scheduler="sync")
        return
    from distributed import as_completed

    futures = client.compute(delayed)
    done = as_completed(futures)
    if progress:
        from tqdm.auto import tqdm

        done = tqdm(done, total=len(futures), desc="predict_to_zarr", unit="task")
    for fut in done:
        fut.result()  # raises a task's error here
