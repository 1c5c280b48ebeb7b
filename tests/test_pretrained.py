"""The built-in geonames-minilm model: loading, predictions, fields, the main job."""

import numpy as np
import pytest

from shdd_geo import pretrained


@pytest.fixture(scope="module")
def geo():
    return pretrained.load("geonames-minilm")


def test_registry_and_errors():
    assert pretrained.available() == ["geonames-minilm"]
    with pytest.raises(ValueError, match="`name` must be one of"):
        pretrained.load("nope")


def test_shipped_weights_are_small_and_half_precision():
    from safetensors import safe_open

    path = pretrained._model_path(pretrained._MODELS["geonames-minilm"])
    assert path.stat().st_size < 8 * 2**20
    with safe_open(str(path), "np") as f:
        dtypes = {f.get_tensor(k).dtype for k in f.keys() if k.startswith("net.")}
    assert dtypes == {np.dtype("float16")}


def test_predict_and_field(geo):
    lat, lon = geo.predict(["Tokyo", "Nairobi"], n_samples=8)
    assert lat.shape == (2,) and np.all(np.abs(lat) <= 90)
    f = geo.predict_field(["Tokyo", "Nairobi"], nside=16, n_samples=8)
    assert len(f) == 2 and f.labels == ("Tokyo", "Nairobi")
    np.testing.assert_allclose(f.integral(), 1.0, rtol=1e-10)


def test_locate_names_modes(geo):
    res = geo.locate("Lisbon", k=3, nside=32, n_samples=16)
    assert 1 <= len(res["modes"]) <= 3
    m = res["modes"][0]
    assert set(m) == {"lat", "lon", "mass", "place", "country", "place_km"}
    assert 0 < m["mass"] <= 1 and isinstance(m["place"], str)


def test_locate_cli_writes_outputs(tmp_path, capsys):
    from shdd_geo.cli import main

    assert main(["locate", "Lisbon", "--out", str(tmp_path), "--samples", "8", "--nside", "16", "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert "Lisbon" in out and "nearest known place" in out
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".geojson", ".nc", ".png"]
