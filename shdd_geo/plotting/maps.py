"""Maps of fields with cartopy, drawn offline.

The package ships a small public-domain Natural Earth 110m coastline and
land-border set (``shdd_geo/data/naturalearth``) in cartopy's
``pre_existing_data_dir`` layout; :func:`use_offline_natural_earth` points
cartopy at it, so coastlines never trigger a download.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import shdd_geo as sg
>>> f = sg.SphericalField.from_shdd(sg.encode([48.86], [2.35], L=15)[0], nside=16)
>>> ax = plot_field(f, true_point=(48.86, 2.35), title="Paris")
>>> type(ax).__name__
'GeoAxes'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._optional import attempt_import
from .._validation import check_int
from ..fields import SphericalField

__all__ = ["natural_earth_dir", "plot_field", "save_map", "use_offline_natural_earth"]

_COAST = Path("shapefiles", "natural_earth", "physical", "ne_110m_coastline.shp")
_PROJECTIONS = {
    "robinson": "Robinson", "platecarree": "PlateCarree", "mollweide": "Mollweide",
    "equalearth": "EqualEarth", "orthographic": "Orthographic",
}
_RASTER_PX = 800  # shading image pixels across the view: about one per pixel of the default figure
_RASTERS: dict = {}  # the shading image's pixels and HEALPix weights per projection, view and grid
_GRATICULES: dict = {}  # projected graticule lines per projection


def natural_earth_dir() -> Path:
    """Directory of the shipped Natural Earth data (a cartopy ``pre_existing_data_dir``).

    Examples
    --------
    >>> (natural_earth_dir() / "shapefiles" / "natural_earth" / "physical" / "ne_110m_coastline.shp").is_file()
    True
    """
    return Path(__file__).resolve().parents[1] / "data" / "naturalearth"


def use_offline_natural_earth() -> Path:
    """Point ``cartopy.config["pre_existing_data_dir"]`` at the shipped data.

    Left alone when the configured directory already holds a 110m coastline
    (a user's own data wins).  Returns the directory in use.

    Examples
    --------
    >>> (use_offline_natural_earth() / "shapefiles").is_dir()
    True
    """
    cartopy = attempt_import("cartopy", "maps")
    current = Path(str(cartopy.config.get("pre_existing_data_dir", "")))
    if str(current) not in ("", ".") and (current / _COAST).is_file():
        return current
    cartopy.config["pre_existing_data_dir"] = natural_earth_dir()
    return natural_earth_dir()


def _projection(projection, field: SphericalField):
    ccrs = attempt_import("cartopy.crs", "maps")
    if isinstance(projection, ccrs.Projection):
        return projection
    key = str(projection).lower().replace("_", "").replace(" ", "")
    if key not in _PROJECTIONS:
        raise ValueError(f"`projection` must be a cartopy Projection or one of {sorted(_PROJECTIONS)}, got {projection!r}")
    if key == "orthographic":
        m = field.modes(k=1)
        return ccrs.Orthographic(central_longitude=float(m["lon"][0]), central_latitude=float(m["lat"][0]))
    return getattr(ccrs, _PROJECTIONS[key])()


def _graticule(ax) -> None:
    """Meridians every 60 deg and parallels every 30 deg, projected once per projection (cached) and drawn
    as plain lines: cartopy's ``gridlines`` re-projects its lines at every draw (about half the time of a
    map)."""
    proj = ax.projection
    key = proj  # projections hash and compare by their parameters (a repr is cut short)
    lines = _GRATICULES.get(key)
    if lines is None:
        ccrs = attempt_import("cartopy.crs", "maps")
        lat = np.linspace(-90.0, 90.0, 181)
        lon = np.linspace(-180.0, 180.0, 361)
        segs = [(np.full_like(lat, m), lat) for m in np.arange(-180.0, 180.1, 60.0)]
        segs += [(lon, np.full_like(lon, p)) for p in np.arange(-60.0, 60.1, 30.0)]
        lines = []
        for lo, la in segs:
            xyz = proj.transform_points(ccrs.PlateCarree(), lo, la)
            ok = np.isfinite(xyz[:, 0]) & np.isfinite(xyz[:, 1])
            lines.append((xyz[ok, 0], xyz[ok, 1]))
        _GRATICULES[key] = lines
    for x, y in lines:
        ax.plot(x, y, transform=proj, color="0.7", linewidth=0.3, alpha=0.6, zorder=1.5)


def _edges(centres: np.ndarray) -> np.ndarray:
    step = centres[1] - centres[0]
    return np.concatenate([centres - step / 2, centres[-1:] + step / 2])


def _shading_values(g, log: bool, log_decades: float):
    """What the colours show of the log-density ``g``: ``log10`` density over ``log_decades`` decades, or
    the density (per sr, the files' unit) down to 1e-3 of its peak; the rest masked (transparent)."""
    top = np.nanmax(g)
    if log:
        return np.ma.masked_less(np.ma.masked_invalid(g) / math.log(10), (top / math.log(10)) - log_decades)
    return np.ma.masked_less(np.ma.masked_invalid(np.exp(g - top)), 1e-3) * math.exp(top)


def _shade(ax, field, log: bool, cmap, resolution_deg, log_decades: float):
    """Density on a lat/lon grid of ``resolution_deg`` (a mesh), or (``None``) an image of the axes'
    view (:func:`_raster`); returns (artist, x, y, normalised log grid, crs of x and y)."""
    ccrs = attempt_import("cartopy.crs", "maps")
    from ..fields.regrid import healpix_to_grid

    norm = field.normalize()
    if resolution_deg is None:
        x, y, g = _raster(ax, norm)
        x0, x1, y0, y1 = ax.get_xlim() + ax.get_ylim()
        image = ax.imshow(_shading_values(g, log, log_decades), extent=(x0, x1, y0, y1), origin="lower",
                          transform=ax.projection, cmap=cmap, alpha=0.85, zorder=1, interpolation="nearest")
        return image, x, y, g, ax.projection
    lat, lon, g = healpix_to_grid(norm.log_density[None], field.nside, field.nest, resolution_deg, "bilinear")
    mesh = ax.pcolormesh(_edges(lon), _edges(lat), _shading_values(g[0], log, log_decades),
                         transform=ccrs.PlateCarree(), cmap=cmap, shading="flat", alpha=0.85, zorder=1,
                         rasterized=True)
    return mesh, lon, lat, g[0], ccrs.PlateCarree()


def _raster_weights(ax, nside: int, nest: bool):
    """Pixel centres of an image of the axes' view (``_RASTER_PX`` across) in the projection, the image
    pixels on the globe and their HEALPix bilinear weights; cached per projection, view and grid."""
    import healpy as hp

    ccrs = attempt_import("cartopy.crs", "maps")
    proj = ax.projection
    x0, x1, y0, y1 = ax.get_xlim() + ax.get_ylim()
    nx = _RASTER_PX
    ny = max(2, round(nx * abs(y1 - y0) / max(abs(x1 - x0), 1e-300)))
    key = (proj, (x0, x1, y0, y1), nx, ny, nside, nest)
    hit = _RASTERS.get(key)
    if hit is not None:
        return hit
    x = x0 + (x1 - x0) * (np.arange(nx) + 0.5) / nx
    y = y0 + (y1 - y0) * (np.arange(ny) + 0.5) / ny
    X, Y = (a.ravel() for a in np.meshgrid(x, y))
    pc = ccrs.PlateCarree()
    with np.errstate(invalid="ignore"):
        ll = pc.transform_points(proj, X, Y)
        on = np.flatnonzero(np.isfinite(ll[:, 0]) & np.isfinite(ll[:, 1]))
        back = proj.transform_points(pc, ll[on, 0], ll[on, 1])  # off the globe, the inverse does not invert
        tol = 1e-6 * max(abs(x1 - x0), abs(y1 - y0))
        on = on[(np.abs(back[:, 0] - X[on]) <= tol) & (np.abs(back[:, 1] - Y[on]) <= tol)]
    pix, w = hp.get_interp_weights(nside, ll[on, 0], ll[on, 1], nest=nest, lonlat=True)
    hit = (x, y, on, pix, np.maximum(w, 0.0))
    if len(_RASTERS) >= 4:  # a few views (each ~10 MB at the default size), the oldest dropped
        _RASTERS.pop(next(iter(_RASTERS)))
    _RASTERS[key] = hit
    return hit


def _raster(ax, norm: SphericalField):
    """The normalised log-density of ``norm`` on an image of the axes' view: bilinear in density (as
    :func:`healpy.get_interp_weights`), NaN off the globe; returns (x, y, (ny, nx) log grid)."""
    x, y, on, pix, w = _raster_weights(ax, norm.nside, norm.nest)
    rows = np.asarray(norm.log_density)
    top = rows.max()
    g = np.full(x.size * y.size, np.nan)
    with np.errstate(divide="ignore"):
        g[on] = np.log(np.einsum("kn,kn->n", w, np.exp(rows[pix] - top))) + top
    return x, y, g.reshape(y.size, x.size)


def _colorbar(ax, mesh, log: bool):
    """Colour bar in sr^-1 (the unit of the NetCDF/GeoTIFF files), its label saying how to get km^-2."""
    from ..coords import EARTH_RADIUS_KM

    r2 = EARTH_RADIUS_KM**2  # density per km^2 = density per sr / R^2
    if log:
        label = (f"log10 probability density [sr$^{{-1}}$], as in the files "
                 f"(per km$^2$: subtract {math.log10(r2):.2f})")
    else:
        label = f"probability density [sr$^{{-1}}$], as in the files (per km$^2$: divide by R$^2$ = {r2:.3g})"
    return ax.figure.colorbar(mesh, ax=ax, orientation="horizontal", shrink=0.6, pad=0.04, label=label)


def _contours(ax, field, x, y, g, levels, crs):
    """HPD contours: the density at each credible region's threshold (``g`` on axes ``x``, ``y`` in ``crs``)."""
    thr = {}
    for lv in sorted(set(np.atleast_1d(levels).tolist())):
        thr.setdefault(round(float(field.credible_region(lv).log_threshold), 12), lv)
    if not thr:
        return
    keys = sorted(thr)
    low, high = np.nanmin(g), np.nanmax(g)
    if not (low < keys[0] and keys[-1] < high):
        keys = [k for k in keys if low < k < high]
    if not keys:
        return
    cs = ax.contour(x, y, np.ma.masked_invalid(g), levels=keys, colors="k", linestyles="solid",
                    linewidths=[0.7 + 0.4 * i for i in range(len(keys))], transform=crs, zorder=3)
    ax.clabel(cs, fmt={k: f"{thr[k]:.0%}" for k in keys}, fontsize=7, inline=True)


def _mode_table(field, modes, min_separation_km: float) -> dict | None:
    """The modes to mark: the field's top ``modes`` (int) or a given table (lat, lon, mass)."""
    if isinstance(modes, Mapping):
        missing = {"lat", "lon", "mass"} - set(modes)
        if missing:
            raise ValueError(f"`modes` as a table needs 'lat', 'lon' and 'mass'; missing {sorted(missing)}")
        m = {k: np.atleast_1d(np.asarray(modes[k], dtype=np.float64)) for k in ("lat", "lon", "mass")}
        if not m["lat"].shape == m["lon"].shape == m["mass"].shape or m["lat"].ndim != 1:
            raise ValueError("`modes` table: 'lat', 'lon' and 'mass' must be 1-d and of one length")
        if modes.get("name") is not None:
            m["name"] = [None if n is None else str(n) for n in modes["name"]]
            if len(m["name"]) != m["lat"].size:
                raise ValueError("`modes` table: 'name' must have one entry per mode")
        return m if m["lat"].size else None
    modes = check_int(modes, "modes", low=0, what="an int >= 0 or a table with 'lat', 'lon', 'mass'")
    return field.modes(k=modes, min_separation_km=min_separation_km) if modes else None


def _points(ax, m: dict | None, true_point):
    ccrs = attempt_import("cartopy.crs", "maps")
    pc = ccrs.PlateCarree()
    if m is not None:
        keep = m["mass"] >= 1e-3
        ax.scatter(m["lon"][keep], m["lat"][keep], s=28, marker="o", facecolor="white", edgecolor="k",
                   linewidths=0.8, transform=pc, zorder=4, label="modes")
        names = m.get("name") or [None] * m["lat"].size
        for j in np.flatnonzero(keep):
            ma = m["mass"][j]
            text = f" {ma:.0%}" if ma >= 0.01 else " <1%"
            ax.text(m["lon"][j], m["lat"][j], text if names[j] is None else f" {names[j]}{text}", transform=pc,
                    fontsize=7, zorder=5, va="bottom")
    if true_point is not None:
        from ..coords import as_latlon

        tla, tlo = as_latlon(true_point[0], true_point[1], names=("true_point[0]", "true_point[1]"))
        ax.scatter(tlo, tla, s=90, marker="*", color="red", edgecolor="k", linewidths=0.6,
                   transform=pc, zorder=6, label="true location")


def plot_field(field: SphericalField, ax=None, *, projection="robinson", levels=(0.5, 0.9), modes=3,
               min_separation_km: float = 500.0, true_point=None, log: bool = False, cmap: str = "YlOrRd",
               resolution_deg: float | None = None, title: str | None = None, colorbar: bool = True,
               coastlines: bool = True, borders: bool = True, extent=None, log_decades: float = 6.0):
    """Map one field: density shading, credible-region contours, modes, truth.

    Parameters
    ----------
    field : SphericalField
        A single field (plot ``batch[i]`` for one of a batch).
    ax : cartopy GeoAxes, optional
        Axes to draw on; a new figure with ``projection`` otherwise.
    projection : str or cartopy.crs.Projection
        ``"robinson"`` (default), ``"platecarree"``, ``"mollweide"``,
        ``"equalearth"``, ``"orthographic"`` (centred on the top mode) or a
        cartopy projection.
    levels : sequence of float
        Credible levels drawn as contours of the density.
    modes : int or dict
        Number of the field's modes marked, with the mass of each one's basin
        (:meth:`SphericalField.modes`), or a table of modes to mark instead
        (a dict with ``lat``, ``lon`` and ``mass`` sequences, e.g. those that
        ``Geolocator.locate`` lists, and optionally ``name``: a label per mode).
    true_point : (lat, lon), optional
        A known location [deg], drawn as a red star.
    log : bool
        Shade ``log10`` density over ``log_decades`` decades (default: linear,
        pixels below 1e-3 of the peak left transparent).  The colour bar is
        in sr^-1 (the unit of the files); its label gives the factor to km^-2.
    resolution_deg : float, optional
        Shade a lat/lon mesh of this resolution [deg] (dividing 180).
        Default: an image of the view, about one pixel per pixel of the
        default figure, each the field's bilinear density there (faster to
        draw, and as sharp as the figure on any ``extent``).
    extent : (lon_min, lon_max, lat_min, lat_max), optional
        Zoom; default the whole globe.

    Returns
    -------
    cartopy.mpl.geoaxes.GeoAxes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> ax = plot_field(SphericalField.uniform(8), modes=0, levels=())
    >>> ax.get_title()
    ''
    """
    if not isinstance(field, SphericalField):
        raise TypeError(f"`field` must be a SphericalField, got {type(field).__name__}")
    if field.is_batch:
        raise ValueError(f"`field` is a batch of {len(field)}; plot one at a time, e.g. field[0].plot()")
    mode_table = _mode_table(field, modes, min_separation_km)
    plt = attempt_import("matplotlib.pyplot", "maps")
    cfeature = attempt_import("cartopy.feature", "maps")
    use_offline_natural_earth()
    if ax is None:
        fig = plt.figure(figsize=(9, 5.2))
        ax = fig.add_subplot(1, 1, 1, projection=_projection(projection, field))
    elif not hasattr(ax, "projection"):
        raise TypeError("`ax` must be a cartopy GeoAxes (created with projection=...)")
    if extent is None:
        ax.set_global()
    else:
        ax.set_extent(extent, crs=attempt_import("cartopy.crs", "maps").PlateCarree())
    mesh, x, y, g, crs = _shade(ax, field, log, cmap, resolution_deg, log_decades)
    if coastlines:
        ax.coastlines(resolution="110m", linewidth=0.6, color="0.2", zorder=2)
    if borders:
        ax.add_feature(cfeature.BORDERS.with_scale("110m"), linewidth=0.3, edgecolor="0.45", zorder=2)
    _graticule(ax)
    _contours(ax, field, x, y, g, levels, crs)
    _points(ax, mode_table, true_point)
    if colorbar:
        _colorbar(ax, mesh, log)
    if title is not None:
        ax.set_title(title)
    if mode_table is not None or true_point is not None:
        ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
    return ax


def save_map(field: SphericalField, path, *, dpi: int = 110, projection="robinson", **kwargs) -> str:
    """Draw :func:`plot_field` on a figure of its own and write it as a PNG, atomically.

    The figure never enters ``matplotlib.pyplot``'s registry and is cleared
    and collected before returning, so drawing many maps in one process
    keeps memory flat.  A symbolic link at ``path`` is replaced, never
    written through; a killed run leaves the old file or none.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.png`` file to write.
    dpi : int
        Resolution of the PNG.
    projection, **kwargs
        Passed to :func:`plot_field` (``levels``, ``modes``, ``title``...).

    Returns
    -------
    str
        ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> p = save_map(SphericalField.uniform(4), os.path.join(tempfile.mkdtemp(), "u.png"), modes=0, levels=())
    >>> open(p, "rb").read(4)
    b'\\x89PNG'
    """
    import gc

    from .._atomic import atomic_write

    attempt_import("matplotlib", "maps")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(field, SphericalField):
        raise TypeError(f"`field` must be a SphericalField, got {type(field).__name__}")
    def draw(tmp) -> None:  # every reference to the figure lives in this frame, gone on return
        fig = Figure(figsize=(9, 5.2))
        FigureCanvasAgg(fig)
        try:
            ax = fig.add_subplot(1, 1, 1, projection=_projection(projection, field))
            plot_field(field, ax=ax, **kwargs)
            fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.94)
            fig.savefig(tmp, format="png", dpi=dpi)
        finally:
            fig.clear()

    # A figure's artists hold reference cycles: they are freed before returning.  The automatic
    # collector is paused while the figure lives, so none of its objects is promoted to an old
    # generation; then a collection of the youngest generation frees them all (a full collection
    # of a process with torch and the gazetteers loaded costs ~0.2 s a map).
    paused = gc.isenabled()
    gc.disable()
    try:
        return atomic_write(path, draw)
    finally:
        if paused:
            gc.enable()
        gc.collect(0)
