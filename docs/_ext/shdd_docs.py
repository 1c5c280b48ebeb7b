"""Local Sphinx helpers for the shdd_geo docs.

``.. benchmark-results::``
    Renders the benchmark write-ups.  If ``docs/benchmarks.md`` exists (the
    merged page) it is included; otherwise every ``docs/benchmarks_*.md``
    (one per area, written by whoever owns that area) is included in name
    order; with none of them, a short note says so.  Markdown is parsed with
    MyST when ``myst_parser`` is installed, else shown as literal text, so the
    build passes either way.

Autosummary summaries
    ``sphinx.ext.autosummary`` cuts the one-line summary of a docstring at the
    first ". ", even inside an inline literal (``atan2(|a x b|, a . b)``),
    which leaves an unterminated literal and a docutils error, and inside
    parentheses (``(eq. 10)``).  The wrapper installed by :func:`setup` keeps
    Sphinx's summary unless its inline literals or parentheses are
    unbalanced, and then uses the whole first paragraph.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList


def benchmark_sources(docs_dir: Path) -> list[Path]:
    """The Markdown files the benchmarks page shows, in order."""
    merged = docs_dir / "benchmarks.md"
    if merged.is_file():
        return [merged]
    return sorted(docs_dir.glob("benchmarks_*.md"))


def _has_myst() -> bool:
    try:
        import myst_parser  # noqa: F401
    except ImportError:
        return False
    return True


class BenchmarkResults(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        docs_dir = Path(env.srcdir)
        sources = benchmark_sources(docs_dir)
        if not sources:
            para = nodes.paragraph(
                text="No benchmark results have been written yet "
                "(expected docs/benchmarks.md or docs/benchmarks_<area>.md)."
            )
            return [nodes.note("", para)]
        option = "   :parser: myst_parser.sphinx_" if _has_myst() else "   :literal:"
        lines: list[str] = []
        for path in sources:
            env.note_dependency(str(path))
            lines += [f".. include:: /{path.name}", option, ""]
        self.state_machine.insert_input(StringList(lines, source="benchmark-results"), "benchmark-results")
        return []


def _first_paragraph(doc) -> str:
    lines = []
    for line in doc:
        if not line.strip():
            if lines:
                break
            continue
        lines.append(line.strip())
    return " ".join(lines)


def _patch_autosummary_summary() -> None:
    try:
        from sphinx.ext import autosummary
    except ImportError:  # pragma: no cover
        return
    original = getattr(autosummary, "extract_summary", None)
    if original is None or getattr(original, "_shdd_patched", False):
        return

    def extract_summary(doc, settings):
        summary = original(doc, settings)
        # A cut inside an inline literal or a parenthesis ("(eq. 10)") is
        # not a sentence end: use the whole first paragraph instead.
        if summary.count("``") % 2 or summary.count("(") != summary.count(")"):
            return _first_paragraph(doc)
        return summary

    extract_summary._shdd_patched = True
    autosummary.extract_summary = extract_summary


def setup(app):
    app.add_directive("benchmark-results", BenchmarkResults)
    _patch_autosummary_summary()
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
