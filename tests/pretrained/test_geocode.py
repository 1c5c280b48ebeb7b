"""sg.locate, Geolocator.locate_many and `shdd-geo locate --input TABLE --column NAME`: batch geocoding."""

import numpy as np
import pandas as pd
import pytest

import shdd_geo as sg
from shdd_geo import pretrained
from shdd_geo._parallel import can_fork, forked_map
from shdd_geo.pretrained import geocode
from shdd_geo.pretrained.geolocator import LOCATE_BLOCK

# one thread: then a batch's answers are bit for bit the one-name answers (with more threads the BLAS
# may split a bigger batch differently, and the denoiser amplifies float rounding: see conventions)
FAST = {"nside": 16, "n_samples": 8, "threads": 1}
NAMES = ["Lisbon", "Springfield", "San José"]


@pytest.fixture(scope="module")
def geo():
    return pretrained.load("geonames-minilm")


@pytest.fixture(scope="module")
def frame():
    return sg.locate(pd.Series(NAMES, index=[10, 11, 12]), k=3, seed=3, progress=False, **FAST)


def test_batch_rows_are_the_one_at_a_time_answers(geo, frame):
    assert frame.crs.to_string() == "EPSG:4326"
    assert list(frame.columns) == list(geocode.COLUMNS)
    for label, name in zip([10, 11, 12], NAMES):
        one = geo.locate(name, k=3, generator=3, **FAST)
        rows = frame[frame["row"] == label]
        assert rows["query"].tolist() == [name] * len(one["modes"])
        assert rows["rank"].tolist() == list(range(1, len(one["modes"]) + 1))
        for (_, r), m in zip(rows.iterrows(), one["modes"]):
            assert (r["lat"], r["lon"], r["mass"], r["place"], r["country"]) == \
                (m["lat"], m["lon"], m["mass"], m["place"], m["country"])
            assert (r.geometry.x, r.geometry.y) == (m["lon"], m["lat"])
        assert rows["area90_km2"].nunique() == 1
        np.testing.assert_allclose(rows["area90_km2"].iloc[0], one["field"].credible_region(0.9).area_km2)


def same_modes(a: list[dict], b: list[dict]) -> bool:
    """The same answers: places and countries equal, numbers equal up to float rounding."""
    return len(a) == len(b) and all(
        x["place"] == y["place"] and x["country"] == y["country"]
        and np.allclose([x[k] for k in ("lat", "lon", "mass", "place_km")],
                        [y[k] for k in ("lat", "lon", "mass", "place_km")], rtol=1e-6, atol=1e-6)
        for x, y in zip(a, b))


def test_the_batch_does_not_change_an_answer(geo, monkeypatch):
    alone = list(geo.locate_many(["Kyoto"], progress=False, generator=5, **FAST))[0]
    among = list(geo.locate_many(["Lisbon", "Kyoto", "Paris"], progress=False, generator=5, **FAST))[1]
    assert same_modes(alone["modes"], among["modes"])
    np.testing.assert_allclose(alone["area90_km2"], among["area90_km2"], rtol=1e-6)
    # blocks of two (the diffusion chains of a block run as one batch): every answer is still its own
    monkeypatch.setattr("shdd_geo.pretrained.geolocator.LOCATE_BLOCK", 2)
    names = ["Lisbon", "Kyoto", "Paris", "Springfield", "San José"]
    blocks = list(geo.locate_many(names, progress=False, generator=5, keep_fields=True, **FAST))
    for name, res in zip(names, blocks):
        one = geo.locate(name, generator=5, **FAST)
        assert res["text"] == name and same_modes(res["modes"], one["modes"])
        np.testing.assert_allclose(res["field"].log_density, one["field"].log_density, rtol=0, atol=1e-6)
    assert "field" not in alone
    kept = list(geo.locate_many(["Kyoto"], progress=False, keep_fields=True, generator=5, **FAST))[0]
    assert kept["modes"] == alone["modes"] and kept["field"].npix == 12 * 16 * 16


@pytest.mark.skipif(not can_fork(), reason="forked workers need Linux")
def test_processes_give_the_one_thread_answers(geo, monkeypatch):
    """n_jobs=2: blocks go to two forked processes, one thread each; the answers and their order are the
    in-process answers bit for bit, maps included."""
    monkeypatch.setattr("shdd_geo.pretrained.geolocator.LOCATE_BLOCK", 2)
    names = ["Lisbon", "Kyoto", "Paris", "Springfield", "San José"]
    here = list(geo.locate_many(names, progress=False, generator=5, keep_fields=True, n_jobs=1, **FAST))
    forked = list(geo.locate_many(names, progress=False, generator=5, keep_fields=True, n_jobs=2, **FAST))
    assert [r["text"] for r in forked] == names
    for a, b in zip(here, forked):
        assert a["modes"] == b["modes"] and a["namesakes"] == b["namesakes"]
        np.testing.assert_array_equal(a["field"].log_density, b["field"].log_density)
    frame = sg.locate(names, k=3, seed=5, progress=False, n_jobs=2, **FAST)
    assert frame.drop(columns="geometry").equals(
        sg.locate(names, k=3, seed=5, progress=False, n_jobs=1, **FAST).drop(columns="geometry"))


def test_how_many_processes(geo, monkeypatch):
    monkeypatch.setattr("shdd_geo.pretrained.geolocator.can_fork", lambda: True, raising=False)
    procs = pretrained.Geolocator._processes
    assert procs(10, None, 4, 0) == 1                      # too few inputs to pay for the workers
    assert procs(10 * LOCATE_BLOCK, None, 3, 0) == 3      # automatic: the thread budget
    assert procs(3 * LOCATE_BLOCK, 8, None, None) == 3     # never more processes than blocks
    assert procs(10 * LOCATE_BLOCK, 1, 4, 0) == 1
    with pytest.raises(ValueError, match="`n_jobs`"):
        procs(100, 0, None, 0)
    for bad in (1.5, True, "2"):
        with pytest.raises(TypeError, match="`n_jobs`"):
            procs(100, bad, None, 0)
    import torch

    with pytest.raises(ValueError, match="`generator` as an int seed"):
        procs(10 * LOCATE_BLOCK, 2, None, torch.Generator())


def test_forked_map_keeps_the_order_and_stops_early():
    if not can_fork():
        with pytest.raises(RuntimeError, match="in-process"):
            next(forked_map(len, [[1]], 2))
        return
    assert list(forked_map(lambda c: sum(c) * 10, [[1], [2, 3], [4], [5, 6]], 2)) == [10, 50, 40, 110]
    it = forked_map(lambda c: c, [[i] for i in range(50)], 2)
    assert next(it) == [0]
    it.close()  # the pool is terminated, no worker is left running
    with pytest.raises(ZeroDivisionError):
        list(forked_map(lambda c: 1 / c[0], [[1], [0]], 2))


def test_locate_many_checks_options_before_running(geo):
    with pytest.raises(TypeError, match="unknown keyword argument.*nsid"):
        geo.locate_many(["Kyoto"], nsid=16)
    with pytest.raises(ValueError, match="`min_mass`"):
        geo.locate_many(["Kyoto"], min_mass=2.0)


def test_as_frame_false_gives_the_locate_dicts():
    res = sg.locate("Kyoto", as_frame=False, **FAST)
    assert len(res) == 1 and res[0]["text"] == "Kyoto" and res[0]["field"].nside == 16


@pytest.mark.parametrize(("texts", "error", "match"), [
    ([], ValueError, "empty"), (["Lisbon", "  "], ValueError, "row 1 is an empty name"),
    (["Lisbon", None], TypeError, "row 1 holds NoneType"),
])
def test_bad_names_are_refused(texts, error, match):
    with pytest.raises(error, match=match):
        sg.locate(texts, **FAST)


def test_image_models_are_refused():
    with pytest.raises(ValueError, match="takes images"):
        sg.locate(["Lisbon"], model="bluemarble-effnet", **FAST)


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".gpkg"])
def test_read_names_from_tables(tmp_path, ext):
    import geopandas as gpd

    df = pd.DataFrame({"name": ["Lisbon", "Kyoto"], "n": [1, 2]})
    path = tmp_path / f"t{ext}"
    if ext == ".csv":
        df.to_csv(path, index=False)
    elif ext == ".parquet":
        df.to_parquet(path)
    else:
        gpd.GeoDataFrame(df, geometry=gpd.points_from_xy([0, 1], [0, 1]), crs="EPSG:4326").to_file(path)
    assert geocode.read_names(path, "name").tolist() == ["Lisbon", "Kyoto"]
    with pytest.raises(ValueError, match=r"`column` 'nom' is not in .*columns are \['name', 'n'"):
        geocode.read_names(path, "nom")


def test_read_names_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a file"):
        geocode.read_names(tmp_path / "none.csv", "name")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(ValueError, match="unknown table format '.xlsx'"):
        geocode.read_names(tmp_path / "x.xlsx", "name")


@pytest.mark.parametrize("ext", [".gpkg", ".parquet"])
def test_write_table_round_trip(frame, tmp_path, ext):
    import geopandas as gpd

    path = tmp_path / f"out{ext}"
    assert geocode.write_table(frame, path) == str(path)
    back = gpd.read_file(path) if ext == ".gpkg" else gpd.read_parquet(path)
    assert back.crs.to_epsg() == 4326 and len(back) == len(frame)
    assert back["query"].tolist() == frame["query"].tolist()
    np.testing.assert_array_equal(back["lat"], frame["lat"])
    np.testing.assert_array_equal(back.geometry.y, frame["lat"])
    with pytest.raises(ValueError, match="unknown output format '.shp'"):
        geocode.write_table(frame, tmp_path / "x.shp")


def test_cli_table_mode_writes_the_batch_rows(tmp_path, capsys):
    import geopandas as gpd

    from shdd_geo.cli import main

    src = tmp_path / "names.csv"
    pd.DataFrame({"id": [1, 2], "name": ["Lisbon", "Kyoto"]}).to_csv(src, index=False)
    out = tmp_path / "o"
    args = ["locate", "--input", str(src), "--column", "name", "--out", str(out), "--nside", "16",
            "--samples", "8", "--k", "3", "--seed", "2"]
    assert main(args + ["--per-name", "--format", "geojson"]) == 0
    assert "located 2 names" in capsys.readouterr().out
    table = gpd.read_file(out / "locate.gpkg")
    expected = sg.locate(["Lisbon", "Kyoto"], k=3, seed=2, progress=False, **FAST)
    assert table["query"].tolist() == expected["query"].tolist()
    np.testing.assert_array_equal(table["lat"], expected["lat"])
    assert sorted(p.name for p in out.iterdir()) == ["Kyoto.geojson", "Lisbon.geojson", "locate.gpkg"]
    capsys.readouterr()
    for argv, message in ((["locate", "Paris", "--input", str(src), "--column", "name"], "give no names as arguments"),
                          (["locate", "--input", str(src), "--column", "nom"], "`column` 'nom' is not in names.csv"),
                          (["locate", "--input", str(src), "--column", "name", "--table", str(tmp_path / "x.csv")],
                           "must end in .gpkg")):
        assert main(argv) == 2  # a usage error: one line on stderr, no traceback
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
