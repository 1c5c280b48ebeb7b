"""`shdd-geo locate`: one list of modes behind the table, --json, GeoJSON and PNG; no colliding files (issues 26, 28)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sentence_transformers")

from shdd_geo.cli import main

FAST = ["--samples", "8", "--nside", "16"]


def test_table_json_geojson_and_png_show_the_same_modes(tmp_path, capsys, monkeypatch):
    import shdd_geo.plotting

    drawn = {}
    real = shdd_geo.plotting.save_map

    def spy(field, path, **kw):
        drawn[path] = kw["modes"]
        return real(field, path, **kw)

    monkeypatch.setattr(shdd_geo.plotting, "save_map", spy)
    assert main(["locate", "Springfield", "--k", "3", "--min-mass", "0", "--out", str(tmp_path), *FAST,
                 "--format", "geojson,png", "--json"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    modes = rec["modes"]
    assert len(modes) == 3  # --k honoured everywhere
    gj = json.loads((tmp_path / "Springfield.geojson").read_text())
    points = [f for f in gj["features"] if f["properties"]["kind"] == "mode"]
    assert [p["geometry"]["coordinates"] for p in points] == [[round(m["lon"], 6), round(m["lat"], 6)] for m in modes]
    assert [(p["properties"]["mass"], p["properties"]["place"]) for p in points] == [(m["mass"], m["place"]) for m in modes]
    assert {p["properties"]["query"] for p in gj["features"]} == {"Springfield"}
    (png_modes,) = drawn.values()
    assert png_modes["lat"] == [m["lat"] for m in modes] and png_modes["mass"] == [m["mass"] for m in modes]
    assert png_modes["name"] == [m["place"] for m in modes]
    assert main(["locate", "Springfield", "--k", "3", "--min-mass", "0", "--out", str(tmp_path), *FAST,
                 "--format", "nc"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit()]
    assert [(float(r[1]), float(r[2]), float(r[3])) for r in rows] == [
        (round(m["lat"], 3), round(m["lon"], 3), round(m["mass"], 3)) for m in modes]


@pytest.mark.slow
def test_colliding_names_get_their_own_files(tmp_path, capsys):
    """Issue 28 item 1: `Paris` and `Paris!` were both written to Paris.nc."""
    import shdd_geo as sg

    names = ["Paris", "Paris!", "Paris, Texas", "Paris Texas"]
    assert main(["locate", *names, "--out", str(tmp_path), *FAST, "--format", "nc", "--json"]) == 0
    files = [r["files"][0] for r in json.loads(capsys.readouterr().out)]
    assert len(set(files)) == 4 and len(list(tmp_path.iterdir())) == 4
    assert [sg.open_field(f).attrs["text"] for f in files] == names


def test_several_names_are_the_one_name_answers_and_the_bar_closes(tmp_path, capsys):
    """Several names go through Geolocator.locate_many (chains batched): each answer is the one-name
    command's, and the progress bar ends on its final line."""
    one_thread = ["--threads", "1"]  # then bit for bit (see conventions)
    assert main(["locate", "Kyoto", "Lima", "--out", str(tmp_path), *FAST, *one_thread, "--format", "none",
                 "--json"]) == 0
    out = capsys.readouterr()
    both = json.loads(out.out)
    assert out.err.endswith("\n") and "2/2" in out.err.rstrip().split("\r")[-1]  # closed: the final line
    for i, name in enumerate(["Kyoto", "Lima"]):
        assert main(["locate", name, "--out", str(tmp_path), *FAST, *one_thread, "--format", "none",
                     "--json"]) == 0
        one = json.loads(capsys.readouterr().out)[0]
        assert [m["place"] for m in one["modes"]] == [m["place"] for m in both[i]["modes"]]
        for a, b in zip(one["modes"], both[i]["modes"]):
            assert a["lat"] == pytest.approx(b["lat"], abs=1e-6) and a["mass"] == pytest.approx(b["mass"], abs=1e-6)
