"""Deprecated: :mod:`shdd_geo.datasets.bluemarble` (``plot_tiles``: :mod:`shdd_geo.plotting.tiles`)."""

from ._moved import reexport

__all__ = ["BlueMarbleTiles", "TileDataset", "TileSequence", "bmng_path", "cut_tile", "cut_tiles", "embed_tiles",
           "load_bluemarble", "plot_tiles", "sample_equirect", "tile_coordinates"]
reexport(__name__, __all__, globals(), {"plot_tiles": "shdd_geo.plotting.tiles"})
