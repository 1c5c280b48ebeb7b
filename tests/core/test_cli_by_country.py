"""`shdd-geo locate --by-country N`: the top countries by probability mass (issue 26)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("geopandas")
pytest.importorskip("sentence_transformers")

from shdd_geo.cli import _top_countries, main


def test_top_countries_of_a_field():
    import shdd_geo as sg

    f = sg.SphericalField.from_shdd(sg.encode([46.8], [2.5], L=15)[0], nside=16)
    top = _top_countries(f, 3)
    assert [c["country"] for c in top][:1] == ["France"] and top[0]["iso_a3"] == "FRA"
    masses = [c["mass"] for c in top]
    assert masses == sorted(masses, reverse=True) and 0 < sum(masses) <= 1 + 1e-9
    world = sg.datasets.countries()
    assert top[0]["mass"] == pytest.approx(f.mass_in(world[world["name"] == "France"])[0], rel=1e-12)


def test_locate_by_country_json(tmp_path, capsys):
    assert main(["locate", "Kyoto", "--out", str(tmp_path), "--samples", "8", "--nside", "16", "--format", "nc",
                 "--by-country", "3", "--json"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert len(rec["countries"]) == 3 and rec["countries"][0]["country"] == "Japan"
    assert main(["locate", "x", "--by-country", "-1"]) == 2
    assert "--by-country" in capsys.readouterr().err
