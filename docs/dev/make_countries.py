"""Derive the bundled Natural Earth 110m admin-0 countries layer (``sg.datasets.countries()``).

One-off developer script (not part of the package), like ``make_coastline.py``.
The source is the public-domain Natural Earth "admin 0 countries" 110m layer
bundled with pyogrio as a test fixture
(``pyogrio/tests/fixtures/naturalearth_lowres``), so no download is needed.  It
writes ``shdd_geo/data/naturalearth/ne_110m_admin_0_countries.geojson``
(EPSG:4326, RFC 7946, 5 decimals: about 1 m) with the columns ``name``, ``iso_a3``,
``continent`` and ``pop_est``.  The source marks five ISO codes as ``-99``;
France and Norway get their ISO 3166-1 codes, Kosovo the user-assigned code
``XKX`` in common use, N. Cyprus and Somaliland none (null).

Run from the repository root::

    /work/venv/bin/python docs/dev/make_countries.py
"""

from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

SRC = Path(pyogrio.__file__).parent / "tests" / "fixtures" / "naturalearth_lowres" / "naturalearth_lowres.shp"
OUT = Path(__file__).resolve().parents[2] / "shdd_geo" / "data" / "naturalearth" / "ne_110m_admin_0_countries.geojson"
ISO_FIXES = {"France": "FRA", "Norway": "NOR", "Kosovo": "XKX", "N. Cyprus": None, "Somaliland": None}


def _polygonal(g):
    """The (Multi)Polygon part of a geometry (snapping can leave a zero-width line beside it)."""
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def main() -> None:
    df = gpd.read_file(SRC)
    iso = [ISO_FIXES.get(n, c) if c == "-99" else c for n, c in zip(df["name"], df["iso_a3"])]
    geoms = [_polygonal(g) for g in shapely.set_precision(df.geometry.values, 1e-5)]  # 5 decimals, valid
    out = gpd.GeoDataFrame({"name": df["name"], "iso_a3": iso, "continent": df["continent"],
                            "pop_est": df["pop_est"].astype("int64")}, geometry=geoms, crs="EPSG:4326")
    out = out.sort_values("name", ignore_index=True)
    OUT.unlink(missing_ok=True)
    out.to_file(OUT, driver="GeoJSON", engine="pyogrio", RFC7946="YES", COORDINATE_PRECISION=5, WRITE_NAME="NO")
    print(f"{OUT}: {len(out)} countries, {OUT.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
