"""The package layout's rules, checked on the source (issue 23).

* **No module imports another module's private names.**  Scanning every
  module's AST: ``from X import _name`` fails (private functions, classes and
  constants stay in their module), and a private *module* (``_caps``,
  ``_optional``...) may only be imported from inside the package that holds
  it -- ``shdd_geo/decoding/_caps.py`` by ``shdd_geo.decoding.*``,
  ``shdd_geo/_optional.py`` by any ``shdd_geo`` module -- never from a sibling
  package.  Names without an underscore inside a private module are that
  package's internal API.
* **Imports stay light**: ``import shdd_geo`` and the concept packages load no
  torch, matplotlib, cartopy, geopandas or xarray (checked in a subprocess).
* **Old module paths are thin shims** (``shdd_geo._moved.MOVED``): each warns
  on import with a DeprecationWarning naming the new path and re-exports the
  very same objects.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "shdd_geo"
HEAVY = ["torch", "matplotlib", "cartopy", "geopandas", "xarray"]
LIGHT_PACKAGES = ["shdd_geo", "shdd_geo.fields", "shdd_geo.decoding", "shdd_geo.io", "shdd_geo.datasets",
                  "shdd_geo.baselines", "shdd_geo.pretrained", "shdd_geo.plotting", "shdd_geo.encoders"]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _is_private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imports(module: str, path: Path):
    """(line, target module, imported name or None) of every import of a ``shdd_geo`` module."""
    pkg = _package_of(module, path).split(".")
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "shdd_geo":
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "shdd_geo":
                continue
            for alias in node.names:
                yield node.lineno, target, alias.name


def violations(modules: dict[str, Path] = MODULES) -> list[str]:
    """Every private import across module boundaries (see the module docstring)."""
    found = []
    for module, path in modules.items():
        for line, target, name in _imports(module, path):
            if name is not None and f"{target}.{name}" in modules:  # `from pkg import submodule`
                target, name = f"{target}.{name}", None
            parts = target.split(".")
            for i, part in enumerate(parts):
                owner = ".".join(parts[:i])  # the package that holds the private module
                if _is_private(part) and not (module == owner or module.startswith(owner + ".")):
                    found.append(f"{_rel(path)}:{line}: private module {target} outside {owner}")
                    break
            if name is not None and _is_private(name):
                found.append(f"{_rel(path)}:{line}: private name {name} from {target}")
    return found


def test_no_module_imports_private_names_of_another():
    bad = violations()
    assert not bad, "private imports across modules:\n" + "\n".join(bad)


def test_the_rule_catches_what_it_should(tmp_path: Path):
    """The scanner flags a private name, a sibling package's private module, and passes the allowed cases."""
    pkg = tmp_path / "shdd_geo"
    (pkg / "a").mkdir(parents=True)
    (pkg / "b").mkdir()
    files = {
        "__init__.py": "", "_util.py": "x = 1\n", "core.py": "def _h():\n    pass\n",
        "a/__init__.py": "from ._impl import thing\n", "a/_impl.py": "from .._util import x\nthing = x\n",
        "b/__init__.py": "", "b/bad_name.py": "from ..core import _h\n",
        "b/bad_module.py": "from ..a._impl import thing\n", "b/bad_module2.py": "from ..a import _impl\n",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    mods = {}
    for path in sorted(pkg.rglob("*.py")):
        parts = list(path.relative_to(tmp_path).with_suffix("").parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    bad = sorted(v.split(":")[0].replace("\\", "/").rsplit("/", 1)[-1] for v in violations(mods))
    assert bad == ["bad_module.py", "bad_module2.py", "bad_name.py"]


def test_imports_stay_light():
    code = ("import sys, json, warnings; warnings.simplefilter('error', DeprecationWarning); "
            + "; ".join(f"import {m}" for m in LIGHT_PACKAGES)
            + f"; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_package_uses_no_deprecated_path():
    """Nothing inside the package imports a shim (tests and docs are checked by running them)."""
    from shdd_geo._moved import MOVED

    users = [f"{path.relative_to(ROOT)}:{line}: {target}{'.' + name if name else ''}"
             for module, path in MODULES.items() if module not in MOVED
             for line, target, name in _imports(module, path)
             if target in MOVED or (name and f"{target}.{name}" in MOVED)]
    assert not users, users


@pytest.mark.parametrize("old", sorted(importlib.import_module("shdd_geo._moved").MOVED))
def test_old_paths_warn_and_reexport_the_same_objects(old: str):
    from shdd_geo._moved import MOVED

    import shdd_geo

    sys.modules.pop(old, None)
    try:
        with pytest.warns(DeprecationWarning, match=MOVED[old].replace(".", r"\.")):
            shim = importlib.import_module(old)
    finally:  # importing a submodule binds it on the package: keep `sg.bluemarble` the new module
        sys.modules.pop(old, None)
        vars(shdd_geo).pop(old.rpartition(".")[2], None)
    assert shim.__all__, old
    for name in shim.__all__:
        obj = getattr(shim, name)
        homes = [m for m in (MOVED[old], "shdd_geo.plotting.tiles", "shdd_geo.io.geojson")
                 if vars(importlib.import_module(m)).get(name) is obj]
        assert homes, f"{old}.{name} is not the object of its new module"


def test_test_file_basenames_are_unique():
    """Test-file basenames are unique across tests/ (pytest's default import mode needs it)."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_deprecated_aliases_of_names_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from shdd_geo.datasets import bluemarble
        from shdd_geo import pretrained
    with pytest.warns(DeprecationWarning, match="plotting.tiles"):
        assert bluemarble.plot_tiles is importlib.import_module("shdd_geo.plotting.tiles").plot_tiles
    with pytest.warns(DeprecationWarning, match="datasets.Gazetteer"):
        assert pretrained.Gazetteer is importlib.import_module("shdd_geo.datasets").Gazetteer
