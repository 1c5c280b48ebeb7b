"""`import shdd_geo` stays light and lists its public API."""

import json
import subprocess
import sys

import pytest

HEAVY = ["torch", "healpy", "matplotlib", "cartopy", "geopandas", "xarray", "pandas", "sentence_transformers", "shapely"]


def test_import_is_light():
    code = (
        "import sys, json, shdd_geo; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_public_api_is_listed_and_importable():
    import shdd_geo

    assert shdd_geo.__all__ == sorted(shdd_geo.__all__)
    for name in shdd_geo.__all__:
        try:
            getattr(shdd_geo, name)
        except ModuleNotFoundError as exc:  # a lazily-loaded module not written yet
            if not exc.name or not exc.name.startswith("shdd_geo"):
                raise
            pytest.skip(f"{name}: {exc}")


def test_unknown_attribute():
    import shdd_geo

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        shdd_geo.nope
