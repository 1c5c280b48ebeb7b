"""Image tiles on a grid, titled with their centres (the Blue Marble dataset's tiles).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from shdd_geo.datasets.bluemarble import cut_tiles
>>> len(plot_tiles(cut_tiles(2, size=16, rng=0)).axes)
2
"""

from __future__ import annotations

import math
import os
from typing import Any

from .._optional import attempt_import

__all__ = ["plot_tiles"]


def plot_tiles(
    tiles: Any, path: str | os.PathLike[str] | None = None, *, ncols: int = 4
) -> Any:
    """A matplotlib grid of tiles titled with their centres; saved to ``path`` if given.

    ``tiles`` is a :class:`~shdd_geo.datasets.bluemarble.BlueMarbleTiles` (or
    anything with ``images``, ``lat`` and ``lon``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from shdd_geo.datasets.bluemarble import cut_tiles
    >>> fig = plot_tiles(cut_tiles(2, size=16, rng=0))
    >>> len(fig.axes)
    2
    """
    plt = attempt_import("matplotlib.pyplot", "plotting tiles")
    n = len(tiles)
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.8 * nrows), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            fig.delaxes(ax)
            continue
        ax.imshow(tiles.images[k])
        ax.set_title(f"{tiles.lat[k]:.1f}°, {tiles.lon[k]:.1f}°", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
