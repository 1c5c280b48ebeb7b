"""
Probability per country
=======================

A GIS question in a few lines: for a few place names, how likely is each
country?  The built-in model gives a density map per name
(:meth:`~shdd_geo.pretrained.Geolocator.predict_field`);
:meth:`~shdd_geo.SphericalField.mass_in` integrates it over the bundled
Natural Earth country polygons (:func:`shdd_geo.datasets.countries`), exactly
to the fraction of each HEALPix pixel inside a border (not by pixel
centres); :meth:`~shdd_geo.SphericalField.to_geodataframe` gives the credible
regions as a GeoDataFrame for the map.  Everything runs offline.
"""

# %%
# Names to a per-country table
# ----------------------------
import shdd_geo as sg

geo = sg.pretrained.load("geonames-minilm")
fields = geo.predict_field(["Kyoto", "Springfield", "Victoria"], nside=32, n_samples=8)
world = sg.datasets.countries()
table = world.assign(**dict(zip(fields.labels, fields.mass_in(world))))
for name in fields.labels:
    print(table.nlargest(3, name)[["name", name]].to_string(index=False), "\n")

# %%
# The masses of all countries plus the ocean add up to one; what is left
# over here is the probability that the place lies at sea or on a small
# island missing from the 1:110m layer.
print((table[list(fields.labels)].sum()).round(3).to_dict())

# %%
# A map: probability per country and the 90 % credible region
# ------------------------------------------------------------
ax = table.plot(column="Springfield", cmap="Reds", legend=True, figsize=(10, 5),
                legend_kwds={"label": "P(Springfield is in the country)", "shrink": 0.6})
regions = fields[1].to_geodataframe(levels=0.9, modes=3)
regions[regions["kind"] == "credible_region"].boundary.plot(ax=ax, color="k", linewidth=0.8)
regions[regions["kind"] == "mode"].plot(ax=ax, color="blue", markersize=20)
ax.set_title("Springfield: probability per country, 90 % region (black) and modes (blue)")
