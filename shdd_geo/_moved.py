"""Old module paths kept for one release after the package was laid out by concept.

Each old module (``shdd_geo.field``, ``shdd_geo.field_io``, ...) is a thin
shim that re-exports the public names of its new home and warns once, on
import, with a :class:`DeprecationWarning` naming the new path.  The old paths
go away in the next release.

Examples
--------
>>> MOVED["shdd_geo.field"]
'shdd_geo.fields'
"""

from __future__ import annotations

import importlib
import warnings

__all__ = ["MOVED", "reexport"]

#: old module -> its new home (removed in 0.2)
MOVED = {
    "shdd_geo.field": "shdd_geo.fields",
    "shdd_geo.field_io": "shdd_geo.io.netcdf",
    "shdd_geo.namesakes": "shdd_geo.datasets.gazetteer",
    "shdd_geo.bluemarble": "shdd_geo.datasets.bluemarble",
    "shdd_geo.geoclip_adapter": "shdd_geo.baselines.geoclip",
    "shdd_geo.hybrid": "shdd_geo.baselines.hybrid",
}


def reexport(old: str, names, namespace: dict, sources=None) -> None:
    """Warn that ``old`` moved and copy ``names`` from the new module(s) into ``namespace``.

    ``sources`` maps a name to the module it now lives in (default
    ``MOVED[old]``).

    Examples
    --------
    >>> import warnings
    >>> ns = {}
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     reexport("shdd_geo.field", ["SphericalField"], ns)
    >>> ns["SphericalField"].__module__, w[0].category.__name__
    ('shdd_geo.fields.field', 'DeprecationWarning')
    """
    new = MOVED[old]
    warnings.warn(
        f"`{old}` is deprecated and will be removed in shdd_geo 0.2; import from `{new}` instead",
        DeprecationWarning,
        stacklevel=3,
    )
    sources = sources or {}
    for name in names:
        namespace[name] = getattr(importlib.import_module(sources.get(name, new)), name)
