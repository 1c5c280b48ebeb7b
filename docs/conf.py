"""Sphinx configuration for shdd_geo.

Build (offline, warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Environment switches:

``SHDD_DOCS_GALLERY=0``
    Do not execute the gallery examples (``plot_gallery = False``); pages are
    still built from the sources.  Useful while editing prose.
``SHDD_DOCS_INTERSPHINX=1``
    Link to the NumPy/SciPy/healpy/PyTorch docs.  Off by default because it
    needs the network, and an unreachable inventory is a warning (an error
    under ``-W``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document the working tree, installed or not
sys.path.insert(0, str(DOCS / "_ext"))

# Offline and headless, whatever the caller's environment says.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import shdd_geo  # noqa: E402

# -- Project -----------------------------------------------------------------
project = "shdd_geo"
author = "shdd_geo developers"
copyright = "shdd_geo developers, GPL-2.0-or-later"  # noqa: A001
release = shdd_geo.__version__
version = ".".join(release.split(".")[:2])

# -- Extensions --------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "shdd_docs",  # docs/_ext: the benchmark-results directive
]
try:  # Markdown (the benchmark write-ups); optional, see docs/_ext/shdd_docs.py
    import myst_parser  # noqa: F401

    extensions.append("myst_parser")
    myst_enable_extensions = ["dollarmath"]
    myst_heading_anchors = 3
    # The per-area write-ups start at "##" (a section of a shared page).
    suppress_warnings = ["myst.header"]
except ImportError:  # pragma: no cover
    pass

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "dev",
    "benchmarks.md",  # shown by benchmarks.rst (benchmark-results directive)
    "benchmarks_*.md",
    "**.ipynb_checkpoints",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.md5",
    "auto_examples/*.codeobj.json",
    "sg_execution_times.rst",
]
root_doc = "index"
nitpicky = False
default_role = "py:obj"  # `name` links to a Python object when it can
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc ------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # types are stated in the numpydoc Parameters sections
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # class pages list members via autosummary templates
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- intersphinx (opt-in: needs the network) ---------------------------------
if os.environ.get("SHDD_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "healpy": ("https://healpy.readthedocs.io/en/latest", None),
        "torch": ("https://pytorch.org/docs/stable", None),
        "xarray": ("https://docs.xarray.dev/en/stable", None),
    }

# -- Sphinx-Gallery ------------------------------------------------------------
# Each tutorial runs offline on 2 CPU cores in well under a minute
# (tests/test_docs.py executes every one of them in CI).
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "plot_gallery": os.environ.get("SHDD_DOCS_GALLERY", "1") != "0",
    "download_all_examples": False,
    "remove_config_comments": True,
    "subsection_order": [  # core first, the applications last
        "../examples/basics",
        "../examples/fields",
        "../examples/model",
        "../examples/applications",
    ],
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("shdd_geo",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"shdd_geo": None},
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "show_memory": False,
    "min_reported_time": 1,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- HTML ----------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "navbar_align": "left",
        "footer_start": ["copyright"],
        "footer_end": ["sphinx-version"],
        "secondary_sidebar_items": ["page-toc", "sourcelink"],
    }
except ImportError:  # pragma: no cover - fallback theme ships with Sphinx
    html_theme = "alabaster"
    html_theme_options = {}

html_title = f"shdd_geo {release}"
html_static_path = ["_static"]
html_show_sourcelink = True
html_last_updated_fmt = None
