"""Derive the offline Natural Earth 110m coastline and borders shipped in shdd_geo/data.

One-off developer script (not part of the package).  The source is the
public-domain Natural Earth "admin 0 countries" 110m layer bundled with pyogrio
as a test fixture (``pyogrio/tests/fixtures/naturalearth_lowres``), so no
download is needed.  It writes, in the layout cartopy expects under
``cartopy.config["pre_existing_data_dir"]``::

    shdd_geo/data/naturalearth/shapefiles/natural_earth/physical/ne_110m_coastline.shp
    shdd_geo/data/naturalearth/shapefiles/natural_earth/cultural/ne_110m_admin_0_boundary_lines_land.shp

* coastline: the boundary of the union of all countries (land), without the
  artificial edges the source has along the antimeridian and the south-pole
  line (Antarctica, Russia, Fiji are cut there);
* borders: country boundaries that are not coastline.

Run from the repository root::

    /work/venv/bin/python docs/dev/make_coastline.py
"""

from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

SRC = Path(pyogrio.__file__).parent / "tests" / "fixtures" / "naturalearth_lowres" / "naturalearth_lowres.shp"
OUT = Path(__file__).resolve().parents[2] / "shdd_geo" / "data" / "naturalearth" / "shapefiles" / "natural_earth"
EPS = 1e-6


def _artificial(seg: np.ndarray) -> bool:
    """A segment lying on the antimeridian or on the south-pole line."""
    (x0, y0), (x1, y1) = seg
    on_am = abs(abs(x0) - 180) < EPS and abs(abs(x1) - 180) < EPS and np.sign(x0) == np.sign(x1)
    on_pole = abs(y0 + 90) < 1e-3 and abs(y1 + 90) < 1e-3
    return bool(on_am or on_pole)


def _drop_artificial(lines) -> shapely.MultiLineString:
    """Split linework into runs of real segments."""
    runs = []
    for line in getattr(lines, "geoms", [lines]):
        xy = np.asarray(line.coords)[:, :2]
        cur = [xy[0]]
        for a, b in pairwise(xy):
            if _artificial((a, b)):
                if len(cur) > 1:
                    runs.append(shapely.LineString(cur))
                cur = [b]
            else:
                cur.append(b)
        if len(cur) > 1:
            runs.append(shapely.LineString(cur))
    return shapely.line_merge(shapely.MultiLineString(runs))


def main() -> None:
    countries = gpd.read_file(SRC)
    land = shapely.unary_union(countries.geometry.values)
    coast = _drop_artificial(shapely.boundary(land))
    boundaries = shapely.unary_union([shapely.boundary(g) for g in countries.geometry.values])
    borders = _drop_artificial(shapely.difference(boundaries, shapely.buffer(shapely.boundary(land), EPS)))
    for category, name, geom in (
        ("physical", "ne_110m_coastline", coast),
        ("cultural", "ne_110m_admin_0_boundary_lines_land", borders),
    ):
        geom = shapely.transform(geom, lambda xy: np.clip(xy, [-180.0, -90.0], [180.0, 90.0]))
        parts = [g for g in getattr(geom, "geoms", [geom]) if g.length > 0]
        out = OUT / category
        out.mkdir(parents=True, exist_ok=True)
        df = gpd.GeoDataFrame({"featurecla": [name.split("ne_110m_")[1]] * len(parts)},
                              geometry=parts, crs="EPSG:4326")
        df.to_file(out / f"{name}.shp", engine="pyogrio")
        print(f"{out / name}.shp: {len(parts)} lines, {sum(len(p.coords) for p in parts)} points")


if __name__ == "__main__":
    main()
