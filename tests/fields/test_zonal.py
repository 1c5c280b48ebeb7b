"""Tests of shdd_geo.fields.zonal: probability mass per polygon, exact to the pixel fraction.

Twins: (1) analytic -- a uniform field puts ``area / 4 pi`` in a lon/lat box,
whose area on the unit sphere is ``dlon * (sin lat2 - sin lat1)``; (2) brute
force -- the field refined 64x per side (children keep the parent's density,
so it is the same piecewise-constant field) and the fine pixel centres
tested point-in-polygon.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

gpd = pytest.importorskip("geopandas")
shapely = pytest.importorskip("shapely")

import shdd_geo as sg
from shdd_geo.fields import SphericalField
from shdd_geo.fields.zonal import mass_in


def box_mass(lon1, lat1, lon2, lat2) -> float:
    """Share of the sphere in a lon/lat box (exact)."""
    return math.radians(lon2 - lon1) * (math.sin(math.radians(lat2)) - math.sin(math.radians(lat1))) / (4 * math.pi)


@pytest.fixture(scope="module")
def world():
    return sg.datasets.countries()


@pytest.mark.parametrize("nest", [False, True])
@pytest.mark.parametrize(
    "box, rtol",
    [((2.0, 40.0, 13.0, 47.5), 1e-3),       # across many equatorial / polar-cap pixels
     ((-10.0, -5.0, 10.0, 5.0), 1e-9),      # equatorial zone only: pixel edges are exact there
     ((170.0, -30.0, 180.0, -10.0), 1e-9),  # up to the antimeridian
     ((-180.0, 60.0, 180.0, 90.0), 5e-3),   # polar cap, holds the pole pixels (0.4 % area error)
     ((-180.0, -90.0, 0.0, -75.0), 5e-3),   # closed along the south pole line
     ((3.01, 0.51, 3.02, 0.52), 1e-9)],     # far smaller than one pixel
)
def test_uniform_field_gives_the_box_area(box, rtol, nest):
    u = SphericalField.uniform(16, nest=nest).normalize()
    got = mass_in(u, [shapely.box(*box)])
    assert got.shape == (1,)
    assert got[0] == pytest.approx(box_mass(*box), rel=rtol)


def test_brute_force_twin_on_countries(world):
    """Exact fractions vs fine sub-sampling (64x64 sub-pixels per pixel).

    The sub-sampled sum misplaces the sub-pixels cut by a border (< 1e-4 of the
    mass for these borders at this nside) and the exact one the polar chords
    (< 1e-4 at step=8), so they agree to 5e-4 absolute, and to 3 % for the
    small Luxembourg (whose border cuts many sub-pixels relative to its size).
    """
    sel = world[world["name"].isin(["Antarctica", "Brazil", "Fiji", "France", "Luxembourg", "Russia"])]
    e = sg.encode([47.0, -17.0, -85.0, 60.0], [3.0, 179.5, 40.0, 100.0], L=6).sum(0)
    f = SphericalField.from_shdd(e, nside=8)
    exact = f.mass_in(sel)
    fine = f.ud_grade(8 * 64).normalize()
    p = fine.density * fine.pixel_area
    brute = np.array([p[shapely.contains_xy(g, fine.lon, fine.lat)].sum() for g in sel.geometry])
    assert np.all(exact > 4e-5)  # every polygon holds some mass, Fiji across the antimeridian too
    np.testing.assert_allclose(exact, brute, atol=5e-4)


def test_monte_carlo_twin_for_a_small_country(world):
    """Luxembourg (2,600 km^2, inside one or two nside-8 pixels) vs 2e6 points uniform by area
    in its lon/lat bounding box: agree within 5 standard errors (~1e-3 relative)."""
    hp = pytest.importorskip("healpy")
    g = world.loc[world["name"] == "Luxembourg", "geometry"].item()
    e = sg.encode([47.0, -17.0, -85.0, 60.0], [3.0, 179.5, 40.0, 100.0], L=6).sum(0)
    f = SphericalField.from_shdd(e, nside=8).normalize()
    x0, y0, x1, y1 = g.bounds
    rng = np.random.default_rng(0)
    n = 2_000_000
    lon = rng.uniform(x0, x1, n)
    lat = np.degrees(np.arcsin(rng.uniform(math.sin(math.radians(y0)), math.sin(math.radians(y1)), n)))
    box_sr = box_mass(x0, y0, x1, y1) * 4 * math.pi
    d = f.density[hp.ang2pix(8, lon, lat, lonlat=True)] * shapely.contains_xy(g, lon, lat) * box_sr
    assert f.mass_in([g])[0] == pytest.approx(d.mean(), abs=5 * d.std() / math.sqrt(n))


def test_partition_sums_to_one_for_a_batch(world):
    ocean = shapely.difference(shapely.box(-180, -90, 180, 90), shapely.union_all(world.geometry.values))
    parts = list(world.geometry) + [ocean]
    e = sg.encode([46.8, -33.9, 89.0], [2.5, 151.2, 0.0], L=12)
    f = SphericalField.from_shdd(e, nside=16)
    m = f.mass_in(parts)
    assert m.shape == (3, len(parts))
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-9)
    for i in range(3):
        np.testing.assert_allclose(m[i], f[i].mass_in(parts), rtol=1e-12, atol=1e-15)
    assert world["name"].iloc[int(m[0, :-1].argmax())] == "France"
    assert world["name"].iloc[int(m[1, :-1].argmax())] == "Australia"
    assert m[2, -1] > 0.5  # near the north pole: mostly ocean


def test_polygon_inputs(world):
    f = SphericalField.from_shdd(sg.encode([46.8], [2.5], L=10)[0], nside=16)
    france = world[world["name"] == "France"]
    ref = f.mass_in(france)
    assert f.mass_in(france.geometry.iloc[0])[0] == pytest.approx(ref[0], rel=1e-12)
    assert f.mass_in(france.geometry)[0] == pytest.approx(ref[0], rel=1e-12)
    merc = france.to_crs(3857)  # converted back to EPSG:4326 before use
    assert f.mass_in(merc)[0] == pytest.approx(ref[0], rel=1e-6)


def test_bad_polygons():
    f = SphericalField.uniform(4)
    with pytest.raises(TypeError, match="Polygon"):
        f.mass_in([shapely.Point(0, 0)])
    with pytest.raises(TypeError, match="polygons"):
        f.mass_in(3.0)
    with pytest.raises(ValueError, match="at least one"):
        f.mass_in([])
    with pytest.raises(ValueError, match="antimeridian"):
        f.mass_in([shapely.box(170, 0, 190, 10)])
    with pytest.raises(ValueError, match="step"):
        f.mass_in([shapely.box(0, 0, 1, 1)], step=0)
    with pytest.raises(ValueError, match="densify_deg"):
        f.mass_in([shapely.box(0, 0, 1, 1)], densify_deg=-1)
