"""The shdd-geo command line on tiny generated data (train, evaluate, calibrate, export, embed, info)."""

import json

import numpy as np
import pytest

from shdd_geo.cli import build_parser, main


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    centres = np.array([[40.0, -100.0], [-25.0, 135.0], [48.0, 2.0]])
    k = rng.integers(0, 3, 240)
    X = (np.eye(3)[k] + 0.05 * rng.normal(size=(240, 3))).astype(np.float32)
    np.save(d / "emb.npy", X)
    np.save(d / "coords.npy", centres[k] + rng.normal(0, 1, (240, 2)))
    return d


def test_train_then_evaluate(tiny_data, capsys, monkeypatch):
    # keep the CLI's model small for the test: wrap the estimator constructor
    from shdd_geo.model import LocDiffusion

    monkeypatch.setattr("shdd_geo.model.LocDiffusion", lambda **kw: LocDiffusion(
        **kw, bottleneck=16, depth=2, time_dim=16, n_anchors=256, verbose=False))
    model = tiny_data / "m.safetensors"
    rc = main(["train", "--embeddings", str(tiny_data / "emb.npy"), "--coords", str(tiny_data / "coords.npy"),
               "--out", str(model), "--L", "6", "--epochs", "2", "--batch-size", "64", "--half",
               "--prediction", "v", "--omega-0", "1", "--timestep-power", "2"])
    assert rc == 0 and model.exists()
    monkeypatch.undo()
    saved = LocDiffusion.load(model, device="cpu")
    assert saved.prediction == "v" and saved.omega_0 == 1.0 and saved.timestep_power == 2.0
    capsys.readouterr()
    rc = main(["evaluate", "--model", str(model), "--embeddings", str(tiny_data / "emb.npy"),
               "--coords", str(tiny_data / "coords.npy"), "--samples", "4", "--fields", "--nside", "8"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["n"] == 240 and 0 <= out["acc_2500km"] <= 1
    assert set(out["coverage"]) == {"0.5", "0.8", "0.9", "0.95"}
    png = tiny_data / "reliability.png"
    rc = main(["evaluate", "--model", str(model), "--embeddings", str(tiny_data / "emb.npy"),
               "--coords", str(tiny_data / "coords.npy"), "--samples", "4", "--nside", "8",
               "--reliability", str(png)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rel = out["reliability"]
    assert rel["png"] == str(png) and rel["calibrated"] is False  # the trained model has no conformal levels
    assert rel["coverage"] == rel["coverage_raw"] and set(rel["coverage_raw"]) >= {"0.5", "0.9", "0.95", "0.99"}
    assert all(0 <= v <= 1 for v in rel["coverage_raw"].values())


def test_calibrate_sets_temperature_and_prior(tiny_data, tmp_path, capsys):
    """`calibrate` = LocDiffusion.set_prior + calibrate on the same rows and seed, saved."""
    import numpy as np

    from shdd_geo.model import LocDiffusion

    X = np.load(tiny_data / "emb.npy")
    c = np.load(tiny_data / "coords.npy")
    m = LocDiffusion(L=6, bottleneck=16, depth=2, time_dim=16, n_anchors=256, batch_size=64, random_state=0,
                     verbose=False).fit(X[:200], c[:200, 0], c[:200, 1], epochs=1)
    m.save(tmp_path / "m.safetensors")
    np.save(tmp_path / "val_emb.npy", X[200:])
    np.save(tmp_path / "val.npy", c[200:])
    capsys.readouterr()
    out = tmp_path / "cal.safetensors"
    rc = main(["calibrate", "--model", str(tmp_path / "m.safetensors"), "--embeddings", str(tmp_path / "val_emb.npy"),
               "--coords", str(tmp_path / "val.npy"), "--prior-coords", str(tiny_data / "coords.npy"),
               "--prior-nside", "16", "--samples", "4", "--nside", "8", "--out", str(out)])
    printed = json.loads(capsys.readouterr().out)
    assert rc == 0 and out.exists()
    back = LocDiffusion.load(out, device="cpu")
    twin = LocDiffusion.load(tmp_path / "m.safetensors", device="cpu")
    twin.set_prior(c[:, 0], c[:, 1], nside=16, bandwidth_km=300.0)
    twin.calibrate(X[200:], c[200:, 0], c[200:, 1], n_samples=4, nside=8, generator=0)
    assert (back.temperature_, back.prior_weight_) == (twin.temperature_, twin.prior_weight_)
    assert printed["temperature"] == back.temperature_ and printed["prior_weight"] == back.prior_weight_
    np.testing.assert_allclose(back.prior_.log_density, twin.prior_.log_density, rtol=1e-6)
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n")
    assert main(["calibrate", "--model", str(out), "--embeddings", str(tmp_path / "val_emb.npy"),
                 "--coords", str(tmp_path / "val.npy"), "--prior-coords", str(tmp_path / "bad.csv"),
                 "--out", str(tmp_path / "x.safetensors")]) == 2
    assert "needs 'lat' and 'lon'" in capsys.readouterr().err


def test_export_writes_geojson_and_png(tmp_path, capsys):
    import shdd_geo as sg

    f = sg.SphericalField.from_shdd(sg.encode([10.0, -30.0], [20.0, 150.0], L=12), nside=16)
    f.to_netcdf(tmp_path / "f.nc")
    assert main(["export", str(tmp_path / "f.nc"), "--out", str(tmp_path / "out")]) == 0
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 4 and sum(n.endswith(".png") for n in files) == 2
    gj = json.loads(next((tmp_path / "out").glob("*.geojson")).read_text())
    assert gj["type"] == "FeatureCollection" and gj["features"]


def test_embed_texts(tmp_path):
    (tmp_path / "names.txt").write_text("Paris\n\nSpringfield\n", encoding="utf-8")
    assert main(["embed", "--texts", str(tmp_path / "names.txt"), "--out", str(tmp_path / "e.npy")]) == 0
    e = np.load(tmp_path / "e.npy")
    assert e.shape == (2, 384) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)


def test_info(capsys):
    assert main(["info"]) == 0
    assert "geonames-minilm" in capsys.readouterr().out


def test_bad_arguments(tmp_path, capsys):
    """More in test_cli_errors.py: a usage error is one line and exit code 2."""
    assert main(["locate", "x", "--format", "pdf"]) == 2
    assert main(["locate", "--input", str(tmp_path / "missing.txt")]) == 2
    np.save(tmp_path / "e.npy", np.zeros((3, 2), np.float32))
    np.save(tmp_path / "c.npy", np.zeros((4, 2)))
    (tmp_path / "x").write_bytes(b"")
    capsys.readouterr()
    assert main(["evaluate", "--model", str(tmp_path / "x"), "--embeddings", str(tmp_path / "e.npy"),
                 "--coords", str(tmp_path / "c.npy")]) == 2
    assert "has 3 rows" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # build_parser() itself: argparse's exit on --help
        build_parser().parse_args(["--help"])


def test_embed_images_folder(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    assert main(["embed", "--images", str(folder), "--out", str(tmp_path / "e.npy"), "--batch-size", "2"]) == 0
    e = np.load(tmp_path / "e.npy")
    assert e.shape == (3, 1280) and np.all(np.isfinite(e))
    assert main(["embed", "--out", str(tmp_path / "x.npy")]) == 2
    assert "exactly one of" in capsys.readouterr().err


def test_export_gis_formats(tmp_path, capsys):
    """Issue 26: `export --format tif|gpkg|nc` writes files that rasterio/pyogrio/xarray open."""
    rasterio = pytest.importorskip("rasterio")
    pyogrio = pytest.importorskip("pyogrio")
    import shdd_geo as sg

    f = sg.SphericalField.from_shdd(sg.encode([35.0], [135.7], L=12)[0], nside=16)
    f.to_netcdf(tmp_path / "kyoto.nc")
    out = tmp_path / "out"
    assert main(["export", str(tmp_path / "kyoto.nc"), "--out", str(out), "--format", "tif,gpkg,nc"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["kyoto.gpkg", "kyoto.nc", "kyoto.tif"]
    with rasterio.open(out / "kyoto.tif") as src:
        assert src.crs.to_epsg() == 4326 and src.transform.e < 0
    assert pyogrio.read_info(out / "kyoto.gpkg")["features"] >= 2
    np.testing.assert_array_equal(sg.open_field(out / "kyoto.nc").log_density, f.log_density)


def test_export_refuses_unknown_formats_and_missing_files(tmp_path, capsys):
    import shdd_geo as sg

    sg.SphericalField.uniform(2).to_netcdf(tmp_path / "u.nc")
    capsys.readouterr()
    assert main(["export", str(tmp_path / "u.nc"), "--out", str(tmp_path / "o"), "--format", "tif,xyz"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "xyz" in err and "tif" in err
    assert not (tmp_path / "o").exists()
    assert main(["export", str(tmp_path / "missing.nc"), "--format", "nc"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
