"""Tests of shdd_geo.scale: embedding shards -> Zarr store of fields, on dask.distributed.

Twin: every block of the store equals ``model.predict_field`` called directly on
the block's rows with the task's generator (float32 storage, so compared after
the same cast); the store does not depend on the scheduler or worker count.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("dask")
pytest.importorskip("zarr")
distributed = pytest.importorskip("distributed")
xr = pytest.importorskip("xarray")

from shdd_geo.model import LocDiffusion, NpyShards, ParquetShards
from shdd_geo.scale import predict_to_zarr, rows_to_tasks

KW = dict(n_samples=2, steps=3)
NSIDE = 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    lat, lon = rng.uniform(-60, 60, 64), rng.uniform(-180, 180, 64)
    m = LocDiffusion(L=4, bottleneck=8, depth=2, time_dim=16, batch_size=32, n_anchors=128,
                     num_train_timesteps=20, random_state=0, verbose=False).fit(X, lat, lon, epochs=1)
    d = tmp_path_factory.mktemp("shards")
    files = []
    for i, (a, b) in enumerate([(0, 5), (5, 12)]):  # shards of 5 and 7 rows: tasks straddle them
        e, p = d / f"e{i}.npy", d / f"p{i}.npy"
        np.save(e, X[a:b])
        np.save(p, np.stack([lat[a:b], lon[a:b]], axis=1))
        files.append((e, p))
    shards = NpyShards([e for e, _ in files], [p for _, p in files])
    return m, shards, X[:12], lat[:12], lon[:12]


def expected(m, X, seed=0, rows=4):
    out = [m.predict_field(X[a:b], nside=NSIDE, generator=seed + i, **KW).log_density
           for i, (a, b) in enumerate(rows_to_tasks([len(X)], rows))]
    return np.concatenate(out).astype(np.float32)


def test_rows_to_tasks():
    assert rows_to_tasks([5, 7], 4) == [(0, 4), (4, 8), (8, 12)]
    assert rows_to_tasks([0], 4) == []
    with pytest.raises(ValueError, match="rows_per_task"):
        rows_to_tasks([5], 0)


def test_local_cluster_of_two_workers_writes_the_fields(setup, tmp_path):
    m, shards, X, lat, lon = setup
    store = tmp_path / "fields.zarr"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert predict_to_zarr(m, shards, store, nside=NSIDE, rows_per_task=4, client=client,
                               progress=False, **KW) == str(store)
    ds = xr.open_zarr(store)
    assert ds["log_density"].dims == ("query", "cell") and ds["log_density"].shape == (12, 192)
    assert ds["log_density"].encoding["chunks"] == (4, 192)
    np.testing.assert_array_equal(ds["log_density"].values, expected(m, X))
    np.testing.assert_array_equal(ds["true_lat"].values, lat)
    np.testing.assert_array_equal(ds["true_lon"].values, lon)
    f = ds["log_density"][7].load().shdd.to_field()  # a row back as a SphericalField
    assert f.nside == NSIDE and np.isclose(f.integral(), 1.0, rtol=1e-5)
    assert ds["cell_ids"].attrs["grid_name"] == "healpix"


def test_without_a_client_the_same_bytes(setup, tmp_path):
    m, shards, X, _, _ = setup
    store = predict_to_zarr(m, shards, tmp_path / "s.zarr", nside=NSIDE, rows_per_task=4, progress=False, **KW)
    np.testing.assert_array_equal(xr.open_zarr(store)["log_density"].values, expected(m, X))
    with pytest.raises(FileExistsError):
        predict_to_zarr(m, shards, store, nside=NSIDE, **KW)


def test_parquet_shards(setup, tmp_path):
    m, _, X, lat, lon = setup
    pytest.importorskip("pyarrow")
    shards = ParquetShards.write(tmp_path / "pq", X, lat, lon, rows_per_shard=5)
    store = predict_to_zarr(m, shards, tmp_path / "p.zarr", nside=NSIDE, rows_per_task=3, seed=7,
                            progress=False, **KW)
    np.testing.assert_array_equal(xr.open_zarr(store)["log_density"].values, expected(m, X, seed=7, rows=3))


def test_bad_inputs(setup, tmp_path):
    m, shards, X, _, _ = setup
    with pytest.raises(TypeError, match="shards"):
        predict_to_zarr(m, X, tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="nside"):
        predict_to_zarr(m, shards, tmp_path / "a.zarr", nside=3)
    with pytest.raises(TypeError, match="store"):
        predict_to_zarr(m, shards, 3)
    assert not os.path.exists(tmp_path / "a.zarr")


@pytest.mark.slow
def test_two_worker_processes(setup, tmp_path):
    """Real worker processes: the model is pickled, the shards reopened by path."""
    m, shards, X, _, _ = setup
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        store = predict_to_zarr(m, shards, tmp_path / "w.zarr", nside=NSIDE, rows_per_task=4, progress=False, **KW)
    np.testing.assert_array_equal(xr.open_zarr(store)["log_density"].values, expected(m, X))
