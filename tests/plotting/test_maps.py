"""Tests of shdd_geo.plotting: maps render offline with the shipped coastline."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
cartopy = pytest.importorskip("cartopy")
import matplotlib.pyplot as plt

from shdd_geo import codec
from shdd_geo.fields import SphericalField
from shdd_geo.plotting import natural_earth_dir, plot_field, use_offline_natural_earth


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and an empty cartopy download/data dir: only shipped data can be used."""

    def refuse(*args, **kwargs):
        raise OSError("network access blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setitem(cartopy.config, "data_dir", str(tmp_path / "cartopy_data"))
    monkeypatch.setitem(cartopy.config, "pre_existing_data_dir", str(tmp_path / "nothing_here"))
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def field():
    e = codec.encode([48.86, 40.7], [2.35, -74.0], 12)
    return SphericalField.from_shdd(0.6 * e[0] + 0.5 * e[1], nside=32)


def test_shipped_natural_earth_files():
    base = natural_earth_dir() / "shapefiles" / "natural_earth"
    for rel in ("physical/ne_110m_coastline", "cultural/ne_110m_admin_0_boundary_lines_land"):
        for ext in (".shp", ".shx", ".dbf"):
            assert (base / (rel + ext)).is_file()
    reader = cartopy.io.shapereader.Reader(str(base / "physical" / "ne_110m_coastline.shp"))
    geoms = list(reader.geometries())
    assert len(geoms) > 50
    xs = np.concatenate([np.asarray(g.coords)[:, 0] for g in geoms])
    assert xs.min() >= -180 and xs.max() <= 180


def test_png_renders_offline(offline, field, tmp_path):
    ax = field.plot(true_point=(48.86, 2.35), title="Paris or New York?", levels=(0.5, 0.9), modes=2)
    out = tmp_path / "map.png"
    ax.figure.savefig(out, dpi=80)  # features load here: a download attempt would raise
    assert cartopy.config["pre_existing_data_dir"] == natural_earth_dir()
    assert out.stat().st_size > 20_000
    img = plt.imread(out)
    assert img.shape[0] > 300 and img.shape[1] > 500
    assert img[..., :3].std() > 0.05  # not a blank canvas
    assert ax.get_title() == "Paris or New York?"
    # coastline and borders were drawn from the shipped shapefiles (nothing downloaded)
    assert not (tmp_path / "cartopy_data").exists()
    dark = (img[..., :3].sum(axis=2) < 1.0).mean()
    assert dark > 0.002  # coastline strokes are present


@pytest.mark.parametrize("projection", ["platecarree", "orthographic", "mollweide"])
def test_projections_and_log_shading(offline, field, tmp_path, projection):
    ax = plot_field(field, projection=projection, log=True, colorbar=False, modes=0, levels=(0.9,))
    ax.figure.savefig(tmp_path / "m.png", dpi=40)
    assert (tmp_path / "m.png").stat().st_size > 3_000


def test_existing_axes_and_extent(offline, field, tmp_path):
    ccrs = pytest.importorskip("cartopy.crs")
    fig = plt.figure()
    ax = fig.add_subplot(projection=ccrs.PlateCarree())
    out = field.plot(ax=ax, extent=(-20, 40, 30, 65), borders=False)
    assert out is ax
    fig.savefig(tmp_path / "zoom.png", dpi=40)


def test_plot_errors(field):
    b = SphericalField.from_shdd(codec.encode([0.0, 1.0], [0.0, 1.0], 4), nside=8)
    with pytest.raises(ValueError, match="batch"):
        b.plot()
    with pytest.raises(ValueError, match="projection"):
        field.plot(projection="azimuthal-ish")
    _, ax = plt.subplots()
    with pytest.raises(TypeError, match="GeoAxes"):
        field.plot(ax=ax)
    with pytest.raises(TypeError, match="SphericalField"):
        plot_field(np.zeros(48))
    plt.close("all")


def test_user_data_dir_is_respected(monkeypatch):
    monkeypatch.setitem(cartopy.config, "pre_existing_data_dir", natural_earth_dir())
    assert use_offline_natural_earth() == natural_earth_dir()
    monkeypatch.setitem(cartopy.config, "pre_existing_data_dir", ".")
    assert use_offline_natural_earth() == natural_earth_dir()


def test_core_import_stays_light():
    code = (
        "import sys, shdd_geo, shdd_geo.fields, shdd_geo.calibration;"
        "heavy = {'matplotlib', 'cartopy', 'xarray', 'shapely', 'geopandas', 'pandas', 'torch'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _marked(ax):
    """(lon, lat) of the mode markers and the mass labels drawn on ``ax``."""
    pts = [c for c in ax.collections if c.get_label() == "modes"]
    xy = np.asarray(pts[0].get_offsets()) if pts else np.empty((0, 2))
    return xy, sorted(t.get_text().strip() for t in ax.texts if t.get_text().strip().endswith("%"))


def test_modes_given_as_a_table_are_the_ones_marked(offline, field):
    table = {"lat": [10.0, -33.0, 5.0], "lon": [20.0, 151.0, 0.0], "mass": [0.5, 0.02, 0.0001]}
    xy, labels = _marked(field.plot(modes=table, levels=()))
    np.testing.assert_allclose(xy, [[20.0, 10.0], [151.0, -33.0]])  # the 0.01 % mode is not drawn
    assert labels == ["2%", "50%"]
    own = field.modes(k=2)
    xy, labels = _marked(field.plot(modes=2, levels=()))
    np.testing.assert_allclose(xy, np.c_[own["lon"], own["lat"]])
    assert labels == sorted(f"{m:.0%}" for m in own["mass"])
    xy, _ = _marked(field.plot(modes={"lat": [], "lon": [], "mass": []}, levels=()))
    assert xy.size == 0


@pytest.mark.parametrize("bad, exc, match", [
    ({"lat": [1.0], "lon": [2.0]}, ValueError, "missing \\['mass'\\]"),
    ({"lat": [1.0, 2.0], "lon": [2.0], "mass": [0.1]}, ValueError, "one length"),
    (-1, ValueError, "`modes`"),
    (True, TypeError, "`modes`"),
    ("3", TypeError, "`modes`"),
])
def test_modes_argument_errors(field, bad, exc, match):
    with pytest.raises(exc, match=match):
        field.plot(modes=bad)


def test_colour_bar_is_in_the_files_unit(offline, field):
    """Issue 26: the files hold sr^-1; the bar says so and gives the km^-2 factor."""
    for log in (False, True):
        ax = plot_field(field, modes=0, levels=(), log=log)
        (bar_ax,) = [a for a in ax.figure.axes if a is not ax]
        label = bar_ax.get_xlabel()
        assert "sr$^{-1}$" in label and "km$^2$" in label and "files" in label
        plt.close(ax.figure)
    # linear shading is the normalised density per steradian: its peak is the field's
    ax = plot_field(field, modes=0, levels=())
    assert ax.images[0].get_array().max() == pytest.approx(field.normalize().density.max(), rel=0.05)
    plt.close(ax.figure)
    ax = plot_field(field, modes=0, levels=(), resolution_deg=1.0)  # the lat/lon mesh instead of the image
    assert ax.collections[0].get_array().max() == pytest.approx(field.normalize().density.max(), rel=0.05)
    plt.close(ax.figure)


def test_shading_image_is_the_bilinear_density_of_the_view(offline, field):
    """Brute-force twin of the shading image: each image pixel's lat/lon by cartopy, one at a time, and
    healpy's own bilinear interpolation of the density there; off the globe nothing is drawn."""
    import healpy as hp

    ccrs = pytest.importorskip("cartopy.crs")
    norm = field.normalize()
    for projection, extent in (("robinson", None), ("platecarree", (-20, 40, 30, 65))):
        ax = plot_field(field, projection=projection, modes=0, levels=(0.9,), extent=extent, colorbar=False)
        image = ax.images[0]
        data = image.get_array()
        ny, nx = data.shape
        x0, x1, y0, y1 = image.get_extent()
        rng = np.random.default_rng(0)
        shown = np.argwhere(~np.ma.getmaskarray(data))
        assert len(shown) > 1000
        picks = np.concatenate([np.c_[rng.integers(0, ny, 200), rng.integers(0, nx, 200)],
                                shown[rng.choice(len(shown), 200, replace=False)]])
        compared = 0
        for i, j in picks:
            x, y = x0 + (x1 - x0) * (j + 0.5) / nx, y0 + (y1 - y0) * (i + 0.5) / ny
            lon, lat = ccrs.PlateCarree().transform_point(x, y, ax.projection)
            back = ax.projection.transform_point(lon, lat, ccrs.PlateCarree())
            if not (np.isfinite(lon) and np.allclose(back, (x, y), atol=1e-3 * abs(x1 - x0))):
                assert data.mask[i, j]  # off the globe: transparent
                continue
            want = hp.get_interp_val(norm.density, lon, lat, lonlat=True)
            if want < 0.99e-3 * data.max():  # below 1e-3 of the image's peak: transparent
                assert data.mask[i, j]
            elif want > 1.01e-3 * data.max():
                assert data[i, j] == pytest.approx(want, rel=1e-9)
                compared += 1
        assert compared >= 150
        plt.close(ax.figure)


def test_save_map_names_modes_and_leaves_no_figure(offline, field, tmp_path):
    from PIL import Image

    from shdd_geo.plotting import save_map

    before = plt.get_fignums()
    table = {"lat": [48.9], "lon": [2.35], "mass": [0.8], "name": ["Paris"]}
    path = save_map(field, tmp_path / "m.png", modes=table, levels=(0.9,), dpi=40)
    assert plt.get_fignums() == before  # never registered with pyplot, nothing to close or leak
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 100
    with pytest.raises(ValueError, match="one entry per mode"):
        save_map(field, tmp_path / "bad.png", modes={**table, "name": ["a", "b"]})
    assert not (tmp_path / "bad.png").exists()


def test_save_map_frees_its_figure_without_a_full_collection(offline, field, tmp_path, monkeypatch):
    """The figure's reference cycles are gone when save_map returns (memory stays flat over many maps),
    and the garbage collector is left as it was found."""
    import gc
    import weakref

    import matplotlib.figure

    from shdd_geo.plotting import save_map

    made = []

    class Tracked(matplotlib.figure.Figure):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(weakref.ref(self))

    monkeypatch.setattr(matplotlib.figure, "Figure", Tracked)
    real_collect, asked = gc.collect, []

    def collect(generation=2):
        asked.append(generation)
        return real_collect(generation)

    monkeypatch.setattr(gc, "collect", collect)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            save_map(field, tmp_path / "m.png", dpi=30)
            assert gc.isenabled() == enabled
        finally:
            gc.enable()
    assert len(made) == 2 and all(ref() is None for ref in made)
    assert asked and 2 not in asked  # the young generation only: no 0.2 s full collection per map
