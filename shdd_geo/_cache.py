"""Where shdd_geo keeps files it makes at run time (never inside the installed package).

The root is ``$SHDD_GEO_CACHE`` when set, else ``$XDG_CACHE_HOME/shdd_geo``,
else ``~/.cache/shdd_geo``.  Embedding caches, Parquet copies of gazetteers,
GeoCLIP gallery features, Blue Marble tiles and the compiled numba kernel
(``<root>/numba``, unless ``NUMBA_CACHE_DIR`` is set) all live below it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "default_cache_dir"]

ENV_VAR = "SHDD_GEO_CACHE"


def default_cache_dir() -> Path:
    """The cache root: ``$SHDD_GEO_CACHE``, else ``$XDG_CACHE_HOME/shdd_geo``, else ``~/.cache/shdd_geo``.

    The folder is not created here; writers create what they need.

    Examples
    --------
    >>> import os
    >>> root = default_cache_dir()
    >>> root.is_absolute() or bool(os.environ.get("SHDD_GEO_CACHE"))
    True
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "shdd_geo"
    return Path.home() / ".cache" / "shdd_geo"
