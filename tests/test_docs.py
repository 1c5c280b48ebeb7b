"""Documentation checks: gallery examples run, doctests pass, the API page is complete.

* every ``examples/<topic>/plot_*.py`` runs offline in a fresh interpreter
  (``MPLBACKEND=Agg``, network disabled through unreachable proxies and the
  Hugging Face offline switches); how long they take is measured by
  ``benchmarks/``, not asserted here (the examples over ~10 s are ``slow``);
* the ``Examples`` sections of every importable module of ``shdd_geo`` pass
  as doctests (modules whose optional dependency is missing, or that name a
  missing package in ``__doctest_requires__``, are skipped), and
  so do the ``>>>`` examples of the reST pages under ``docs/``;
* ``docs/api.rst`` lists every public name, and the resolution table pasted
  into ``docs/method.rst`` is what ``docs/dev/resolution_table.py`` prints;
* the ``python`` code blocks of the reST pages compile and their
  ``shdd_geo`` imports exist; every ``$ shdd-geo ...`` command line of the
  pages parses with :func:`shdd_geo.cli.build_parser`; ``docs/cli.rst``
  documents every sub-command and describes every option;
* (slow) the Sphinx build passes with ``-W`` (gallery not re-executed: the
  tests above run every example).
"""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import inspect
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import shdd_geo
from shdd_geo.errors import OptionalDependencyError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("*/plot_*.py"))
# Examples that take over ~10 s on 2 cores run in the slow step (measured with --durations=0).
SLOW_EXAMPLES = {
    "model/plot_calibrated_regions.py",  # ~10 s CPU (trains two MLPs; 27-56 s wall under load 11-13)
    "model/plot_compare_baselines.py",  # ~37 s (trains four models)
    "model/plot_train_locdiffusion.py",  # ~26 s
}
EXAMPLE_HANG_S = 900  # a guard against a hung example, not a speed target
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Public names whose documentation waits for their module to land (each is
# exported lazily by shdd_geo/__init__.py).  Remove a name when its API
# section is added to docs/api.rst.
PENDING_TOP_LEVEL: set[str] = set()
PENDING_MODULES: set[str] = set()


def _offline_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MPLBACKEND="Agg",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        # Any attempt to reach the network fails at once.
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
        # CI's 2 cores; a caller's own setting wins (on a shared, loaded machine
        # OMP_NUM_THREADS=1 avoids oversubscribed OpenMP threads spinning).
        OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"),
        MKL_NUM_THREADS=env.get("MKL_NUM_THREADS", env.get("OMP_NUM_THREADS", "2")),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
    )
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


# -- gallery -------------------------------------------------------------------


def test_there_are_gallery_examples():
    assert EXAMPLES, "no examples/<topic>/plot_*.py found"


def _example_param(path: Path):
    marks = [pytest.mark.slow] if f"{path.parent.name}/{path.name}" in SLOW_EXAMPLES else []
    return pytest.param(path, marks=marks, id=f"{path.parent.name}/{path.name}")


def test_slow_examples_exist():
    names = {f"{p.parent.name}/{p.name}" for p in EXAMPLES}
    assert SLOW_EXAMPLES <= names, f"SLOW_EXAMPLES names missing examples: {SLOW_EXAMPLES - names}"


@pytest.mark.parametrize("path", [_example_param(p) for p in EXAMPLES])
def test_gallery_example_runs_offline(path: Path, tmp_path: Path):
    try:
        proc = subprocess.run(
            [sys.executable, str(path)],
            cwd=tmp_path,
            env=_offline_env(),
            capture_output=True,
            text=True,
            timeout=EXAMPLE_HANG_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path.name} hung (no end within {EXAMPLE_HANG_S} s)")
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stderr[-4000:]}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_gallery_example_layout(path: Path):
    """A reST title docstring, then plain ``# %%`` cells, no ``main()``."""
    src = path.read_text()
    m = re.match(r'\s*"""\n(?P<title>[^\n]+)\n(?P<rule>=+)\n', src)
    assert m, f"{path.name} must start with a docstring whose first line is a reST title"
    assert len(m["rule"]) >= len(m["title"].rstrip()), f"{path.name}: title underline too short"
    assert "# %%" in src, f"{path.name} has no '# %%' cells"
    assert not re.search(r"^def main\(|^if __name__ ==", src, re.M), f"{path.name}: no main() wrapper"
    header = path.parent / "GALLERY_HEADER.rst"
    assert header.is_file() or (path.parent / "README.txt").is_file(), f"{path.parent} needs GALLERY_HEADER.rst"


# -- doctests ------------------------------------------------------------------


def _module_names() -> list[str]:
    """Every module of the package, found on disk (nothing imported at collection), except the
    deprecated shims of old paths (``shdd_geo._moved.MOVED``; tests/test_architecture.py checks them)."""
    from shdd_geo._moved import MOVED

    pkg = ROOT / "shdd_geo"
    names = []
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(not part.isidentifier() for part in parts) or ".".join(parts) in MOVED:
            continue
        names.append(".".join(parts))
    return sorted(names)


def _import_or_skip(name: str):
    try:
        return importlib.import_module(name)
    except (ImportError, OptionalDependencyError) as exc:  # optional dependency missing
        pytest.skip(f"{name} not importable here: {exc}")


@pytest.mark.parametrize("name", _module_names())
def test_module_doctests(name: str):
    module = _import_or_skip(name)
    missing = [r for r in getattr(module, "__doctest_requires__", ()) if importlib.util.find_spec(r) is None]
    if missing:
        pytest.skip(f"{name}'s examples need {missing} (not installed here)")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    tests = finder.find(module, name)  # globals: a copy of the module namespace
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name} (see output above)"



def _public_callables():
    """(qualified name, object) of every class/function in a public module's ``__all__``."""
    seen = {}
    for name in _module_names():
        if any(part.startswith("_") for part in name.split(".")):
            continue
        try:
            module = importlib.import_module(name)
        except (ImportError, OptionalDependencyError):  # optional dependency missing
            continue
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                seen.setdefault(id(obj), (f"{name}.{attr}", obj))
    return sorted(seen.values(), key=lambda item: item[0])


def test_every_public_name_has_a_runnable_example():
    """Issue 7: every public class and function carries its own ``>>>`` example (run above)."""
    public = _public_callables()
    assert len(public) > 100
    missing = [q for q, obj in public if ">>>" not in (inspect.getdoc(obj) or "")]
    assert not missing, f"public names without an Examples section with '>>>': {missing}"

DOC_PAGES = sorted(p for p in DOCS.glob("*.rst") if ">>> " in p.read_text())


def test_doc_pages_with_examples_exist():
    names = {p.name for p in DOC_PAGES}
    assert {"quickstart.rst", "conventions.rst"} <= names


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: p.name)
def test_doc_page_examples(page: Path):
    result = doctest.testfile(str(page), module_relative=False, optionflags=DOCTEST_FLAGS, report=True)
    assert result.failed == 0, f"{result.failed} example(s) failed in docs/{page.name}"


# -- code blocks and command lines of the pages -------------------------------------

ALL_PAGES = sorted(DOCS.glob("*.rst"))


def _blocks(text: str, language: str) -> list[str]:
    """Bodies of ``.. code-block:: <language>`` directives, dedented."""
    out = []
    for m in re.finditer(rf"^( *)\.\. code-block:: {language}\n((?:\1[ \t]+.*\n|[ \t]*\n)+)", text, re.M):
        out.append(textwrap.dedent(m.group(2)).strip("\n") + "\n")
    return out


def _command_lines(text: str) -> list[str]:
    """``$ shdd-geo ...`` lines of console blocks, with backslash continuations joined."""
    lines = []
    for block in _blocks(text, "console"):
        joined = re.sub(r"\s*\\\n\s*", " ", block)
        for ln in joined.splitlines():
            if ln.startswith("$ shdd-geo "):  # drop comments and shell redirections
                lines.append(re.split(r"\s+(?:#|>|\|)\s", ln[2:])[0].strip())
    return lines


def test_doc_pages_have_code_blocks_and_commands():
    text = "".join(p.read_text() for p in ALL_PAGES)
    assert len(_blocks(text, "python")) >= 10
    assert len(_command_lines(text)) >= 10
    block = ".. code-block:: console\n\n   $ shdd-geo a \\\n      --b c > x.json\n   $ ls\n"
    assert _command_lines(block) == ["shdd-geo a --b c"]


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: p.name)
def test_doc_page_python_blocks_compile_and_import(page: Path):
    for i, code in enumerate(_blocks(page.read_text(), "python")):
        tree = compile(code, f"{page.name}[block {i}]", "exec", flags=ast.PyCF_ONLY_AST)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "shdd_geo":
                module = _import_or_skip(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(
                        f"{node.module}.{alias.name}"), f"{page.name}: {node.module} has no {alias.name}"


@pytest.mark.parametrize("page", [p for p in ALL_PAGES if "$ shdd-geo " in p.read_text()],
                         ids=lambda p: p.name)
def test_doc_page_command_lines_parse(page: Path):
    from shdd_geo.cli import build_parser

    for line in _command_lines(page.read_text()):
        argv = shlex.split(line)[1:]
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"docs/{page.name}: `{line}` is not a valid shdd-geo command line")
        assert callable(args.func)


def _shdd_docs():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import shdd_docs
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return shdd_docs


def test_cli_page_documents_every_subcommand_and_option():
    from shdd_geo.cli import build_parser

    ext = _shdd_docs()
    text = (DOCS / "cli.rst").read_text()
    blocks = {m.group(1): m.group(2) for m in re.finditer(
        r"^\.\. cli-help:: (\S+)\n((?:[ \t]+.*\n|[ \t]*\n)*)", text, re.M)}
    assert set(blocks) == set(ext.cli_subcommands(build_parser())), "docs/cli.rst: one `.. cli-help:: NAME` per sub-command"
    for command, body in blocks.items():
        notes = ext.parse_option_notes(textwrap.dedent(body).splitlines())
        rows = ext.cli_options(command)
        names = {r[0] for r in rows}
        assert set(notes) <= names, f"{command}: notes for unknown options {set(notes) - names}"
        bare = [r[0] for r in rows if not (notes.get(r[0]) or r[3])]
        assert not bare, f"docs/cli.rst: describe {bare} of `shdd-geo {command}`"
        usage = ext.cli_help(command)
        assert usage.startswith(f"usage: shdd-geo {command}")
        for name in names:
            assert name in usage, (command, name)


def test_cli_help_is_the_parsers_help():
    from shdd_geo.cli import build_parser

    ext = _shdd_docs()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(ext.CLI_WIDTH)
    try:
        expected = build_parser().format_help()
    finally:
        os.environ.pop("COLUMNS") if old is None else os.environ.__setitem__("COLUMNS", old)
    assert ext.cli_help() == expected.rstrip() + "\n"
    with pytest.raises(ValueError, match="unknown shdd-geo sub-command"):
        ext.cli_help("nope")
    with pytest.raises(ValueError, match="expected"):
        ext.parse_option_notes(["no colon here"])


# -- API page and method page ------------------------------------------------------


def _api_entries() -> tuple[set[str], set[str]]:
    """Autosummary entries (relative to ``shdd_geo``) and automodule targets of api.rst."""
    text = (DOCS / "api.rst").read_text()
    entries: set[str] = set()
    for block in re.finditer(r"\.\. autosummary::\n((?:[ \t]+.*\n|\n)+)", text):
        for line in block.group(1).splitlines():
            item = line.strip()
            if item and not item.startswith(":"):
                entries.add(item.lstrip("~"))
    modules = set(re.findall(r"^\.\. automodule:: (\S+)", text, re.M))
    return entries, modules


def _listed_in_a_module(name: str, obj, entries: set[str]) -> bool:
    """``name`` is listed as ``module.name`` of a module that holds the same object."""
    for entry in entries:
        mod, _, attr = entry.rpartition(".")
        if attr == name and mod and getattr(importlib.import_module(f"shdd_geo.{mod}"), attr, None) is obj:
            return True
    return False


def test_api_page_lists_every_top_level_name():
    entries, modules = _api_entries()
    missing = []
    for name in shdd_geo.__all__:
        if name == "__version__":
            continue
        if name in PENDING_TOP_LEVEL or name in PENDING_MODULES:
            continue
        obj = getattr(shdd_geo, name)
        if isinstance(obj, type(shdd_geo)):
            # a top-level module name may point at its module's real home (sg.namesakes ->
            # shdd_geo.datasets.gazetteer): either name documents it
            paths = {name, obj.__name__.removeprefix("shdd_geo.")}
            if not any(f"shdd_geo.{p}" in modules or any(e.startswith(f"{p}.") for e in entries) for p in paths):
                missing.append(f"module shdd_geo.{name}")
        elif name not in entries and not _listed_in_a_module(name, obj, entries):
            missing.append(name)
    assert not missing, f"docs/api.rst does not list: {missing}"


def test_api_page_lists_every_public_name_of_documented_modules():
    entries, modules = _api_entries()
    documented = {m.removeprefix("shdd_geo.") for m in modules if m != "shdd_geo"}
    documented |= {e.split(".")[0] for e in entries if "." in e}
    assert {"anchors", "codec", "coords", "metrics", "sh"} <= documented
    missing = []
    for mod_name in sorted(documented):
        module = importlib.import_module(f"shdd_geo.{mod_name}")
        for name in getattr(module, "__all__", []):
            reexported = getattr(shdd_geo, name, None) is getattr(module, name)
            if f"{mod_name}.{name}" in entries or (reexported and name in entries):
                continue
            missing.append(f"{mod_name}.{name}")
    assert not missing, f"docs/api.rst does not list: {missing}"


def test_api_page_entries_exist():
    entries, _ = _api_entries()
    for entry in sorted(entries):
        obj = shdd_geo
        for part in entry.split("."):
            if inspect.ismodule(obj) and not hasattr(obj, part) and importlib.util.find_spec(f"{obj.__name__}.{part}"):
                importlib.import_module(f"{obj.__name__}.{part}")  # a submodule its package loads lazily
            obj = getattr(obj, part)  # AttributeError names the bad entry


def test_pending_lists_are_current():
    """A pending name that api.rst already lists must leave the pending lists."""
    entries, modules = _api_entries()
    stale = {n for n in PENDING_TOP_LEVEL if n in entries}
    stale |= {m for m in PENDING_MODULES if f"shdd_geo.{m}" in modules}
    assert not stale, f"remove {sorted(stale)} from the PENDING lists of tests/test_docs.py"


def _resolution_script():
    spec = importlib.util.spec_from_file_location("resolution_table", DOCS / "dev" / "resolution_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_method_page_resolution_table_is_current():
    table = _resolution_script().table()
    assert table in (DOCS / "method.rst").read_text(), (
        "docs/method.rst is out of date: paste the output of `python docs/dev/resolution_table.py`"
    )


def test_resolution_table_widths_shrink_like_one_over_L():
    rows = _resolution_script().rows((15, 47))
    (_, _, _, k15, q15, _), (_, _, _, k47, q47, _) = rows
    # Kernel half width ~ 2.2/L rad: k*L is nearly constant; the density's
    # half width shrinks faster (~1/L**2).
    assert k15 * 15 == pytest.approx(k47 * 47, rel=0.05)
    assert 2.0 < k15 / shdd_geo.EARTH_RADIUS_KM * 15 < 2.3
    assert q15 / q47 > 0.7 * (47 / 15) ** 2


# -- benchmark page helper -------------------------------------------------------


def test_benchmark_sources_prefers_merged_page(tmp_path: Path):
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from shdd_docs import benchmark_sources
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    assert benchmark_sources(tmp_path) == []
    (tmp_path / "benchmarks_sh.md").write_text("## SH\n")
    (tmp_path / "benchmarks_codec.md").write_text("## codec\n")
    assert [p.name for p in benchmark_sources(tmp_path)] == ["benchmarks_codec.md", "benchmarks_sh.md"]
    (tmp_path / "benchmarks.md").write_text("# Benchmarks\n")
    assert [p.name for p in benchmark_sources(tmp_path)] == ["benchmarks.md"]


# -- full build (slow) -------------------------------------------------------------


@pytest.mark.slow
def test_sphinx_build_passes_with_warnings_as_errors(tmp_path: Path):
    for dist in ("sphinx", "sphinx_gallery", "numpydoc"):
        pytest.importorskip(dist)
    out = tmp_path / "html"
    env = _offline_env()
    env["SHDD_DOCS_GALLERY"] = "0"  # the gallery tests above run every example already
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"sphinx -W failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    for page in ("index", "install", "quickstart", "conventions", "method", "cli", "pretrained", "training",
                 "distributed", "api", "benchmarks", "auto_examples/index",
                 *(f"auto_examples/{p.parent.name}/{p.stem}" for p in EXAMPLES)):
        assert (out / f"{page}.html").is_file(), page
