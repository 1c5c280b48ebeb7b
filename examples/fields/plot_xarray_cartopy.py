"""
Fields in xarray, maps with cartopy
===================================

:meth:`SphericalField.to_xarray <shdd_geo.SphericalField.to_xarray>` hands a
field to the xarray world in two shapes: the HEALPix pixels themselves (dim
``cell``, with ``lat``/``lon`` coordinates and the grid described in the
attributes) or a regular latitude/longitude grid with CF attributes, which
any netCDF tool, xarray's plotting and cartopy understand.  This tutorial
builds a small batch of fields, looks at both shapes, and draws maps with
cartopy directly (rather than with :meth:`~shdd_geo.SphericalField.plot`).
"""

# %%
# A batch of fields
# -----------------
# A 2-D array of SHDD coefficients gives a *batch*: one field per row, here
# labelled.  The second row is the mixture of two encodings (a place that is
# either Tokyo or Lima).
import cartopy.crs as ccrs
import matplotlib.pyplot as plt
import numpy as np

import shdd_geo as sg
from shdd_geo.plotting import use_offline_natural_earth

L = 15
E = sg.encode([64.1466, 35.6762, -12.0464], [-21.9426, 139.6503, -77.0428], L=L)
coeffs = np.stack([E[0], 0.5 * (E[1] + E[2])])
fields = sg.SphericalField.from_shdd(coeffs, nside=32, labels=["Reykjavik", "Tokyo or Lima"])
print(fields, len(fields))

# %%
# The HEALPix shape
# -----------------
# Dims ``(query, cell)``; ``cell_ids`` are the HEALPix pixel indices and
# carry the grid parameters of the xdggs convention (``grid_name``,
# ``level``, ``indexing_scheme``), so ``xdggs.decode(da)`` indexes them; the
# data's attributes add ``nside``.
da = fields.to_xarray()  # density [sr^-1]; log=True for the log-density
print(da)

# %%
# Everything xarray offers works on it: select a query by label, find the
# densest pixel and read its coordinates.
one = da.sel(query="Reykjavik")
top = one.isel(cell=int(one.argmax("cell")))
print(f"densest pixel of {top['query'].item()!r}: cell {top.cell_ids.item()}, "
      f"lat {top.lat.item():.2f}, lon {top.lon.item():.2f}")

# %%
# The ``.shdd`` accessor (registered when :mod:`shdd_geo.io.netcdf` is
# imported, which ``to_xarray`` does) converts back, exactly for HEALPix arrays.
back = da.shdd.to_field()
print("round trip exact:", np.allclose(back.log_density, fields.log_density, rtol=0, atol=1e-12))

# %%
# The latitude/longitude shape
# ----------------------------
# ``grid="latlon"`` regrids onto cell centres of a global grid of
# ``resolution_deg``.  The default ``method="conservative"`` keeps the
# probability mass (each cell holds the area-weighted mean density of the
# pixels it overlaps), so the density times the cell areas sums to 1.
grid = fields.to_xarray("latlon", resolution_deg=1.0)
print(grid.dims, grid.shape)
print({k: grid.attrs[k] for k in ("units", "long_name", "cell_methods") if k in grid.attrs})
print(grid.lat.attrs)

# steradians per 1-degree cell: dlon * (sin(lat_north) - sin(lat_south))
cell_sr = np.deg2rad(1.0) * (np.sin(np.deg2rad(grid.lat + 0.5)) - np.sin(np.deg2rad(grid.lat - 0.5)))
mass = (grid * cell_sr).sum(("lat", "lon"))
print("total mass per field:", mass.values.round(9))

# %%
# Probability of a box, e.g. the Americas west of 30 W, for each field:
americas = (grid * cell_sr).sel(lon=slice(-170, -30)).sum(("lat", "lon"))
for label, p in zip(americas["query"].values, americas.values):
    print(f"{label}: P(170 W < lon < 30 W) = {p:.3f}")

# %%
# Maps with cartopy
# -----------------
# The lat/lon DataArray plots with xarray's ``plot.pcolormesh`` on a cartopy
# axis; the data are in plate carrée coordinates, hence
# ``transform=ccrs.PlateCarree()``.  ``use_offline_natural_earth`` points
# cartopy at the Natural Earth coastlines shipped with ``shdd_geo`` (the
# 1:110m scale) so that nothing is downloaded; ask for that scale explicitly,
# ``coastlines(resolution="110m")``, because cartopy's default picks a finer
# scale on zoomed maps and would try to download it.
use_offline_natural_earth()

log10 = np.log10(grid.sel(query="Tokyo or Lima") / sg.EARTH_RADIUS_KM**2)  # [km^-2]
fig = plt.figure(figsize=(9, 4.2))
ax = fig.add_subplot(1, 1, 1, projection=ccrs.Robinson(central_longitude=180))
log10.plot.pcolormesh(ax=ax, transform=ccrs.PlateCarree(), cmap="magma_r",
                      vmin=float(log10.max()) - 6, vmax=float(log10.max()),
                      cbar_kwargs={"label": "log10 density [km$^{-2}$]", "shrink": 0.7})
ax.coastlines(resolution="110m", linewidth=0.6)
ax.set_global()
ax.set_title("Tokyo or Lima, L = 15: log10 density on a 1-degree grid")

# %%
# Credible-region contours drawn by hand: the 90 % region is the set where
# the normalised log-density exceeds ``credible_region(0.9).log_threshold``;
# contour the smooth (``method="bilinear"``) lat/lon density at that level.
# An orthographic view centred on the mode avoids the distortion of a
# world map at high latitudes; ``set_extent`` zooms in.
reyk = fields[0]
smooth = reyk.to_xarray("latlon", resolution_deg=0.5, method="bilinear", log=True)
levels = {lv: reyk.credible_region(lv).log_threshold for lv in (0.5, 0.9)}
mode = reyk.modes(k=1)

fig = plt.figure(figsize=(5, 5))
ax = fig.add_subplot(1, 1, 1, projection=ccrs.Orthographic(float(mode["lon"][0]),
                                                           float(mode["lat"][0])))
dens = np.exp(smooth)
dens.where(dens > 1e-3 * dens.max()).plot.pcolormesh(ax=ax, transform=ccrs.PlateCarree(),
                                                     cmap="YlOrRd", add_colorbar=False)
cs = smooth.plot.contour(ax=ax, transform=ccrs.PlateCarree(), colors="k", linewidths=0.8,
                         levels=sorted(levels.values()), add_colorbar=False)
ax.clabel(cs, fmt={v: f"{lv:.0%}" for lv, v in levels.items()}, fontsize=8)
ax.coastlines(resolution="110m", linewidth=0.6)
ax.gridlines(linewidth=0.3)
ax.set_extent((-50, 5, 50, 75), crs=ccrs.PlateCarree())
ax.set_title(f"Reykjavik, L = {L}: 50% and 90% credible regions")

# %%
# The HEALPix pixels can also be drawn directly, as points at the pixel
# centres; fine for a quick look, while the regridded array makes proper maps.
fig = plt.figure(figsize=(8, 3.8))
ax = fig.add_subplot(1, 1, 1, projection=ccrs.Mollweide())
sel = da.sel(query="Tokyo or Lima")
sc = ax.scatter(sel.lon, sel.lat, c=np.log10(sel / sg.EARTH_RADIUS_KM**2), s=2, cmap="magma_r",
                vmin=float(np.log10(sel.max() / sg.EARTH_RADIUS_KM**2)) - 6,
                transform=ccrs.PlateCarree())
fig.colorbar(sc, ax=ax, shrink=0.7, label="log10 density [km$^{-2}$]")
ax.coastlines(resolution="110m", linewidth=0.5)
ax.set_global()
ax.set_title(f"the {sel.sizes['cell']:,} HEALPix pixels (nside {fields.nside})")
plt.show()
