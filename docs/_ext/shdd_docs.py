"""Local Sphinx helpers for the shdd_geo docs.

``.. benchmark-results::``
    Renders the benchmark write-ups.  If ``docs/benchmarks.md`` exists (the
    merged page) it is included; otherwise every ``docs/benchmarks_*.md``
    (one per area, written by whoever owns that area) is included in name
    order; with none of them, a short note says so.  Markdown is parsed with
    MyST when ``myst_parser`` is installed, else shown as literal text, so the
    build passes either way.

``.. cli-help:: [COMMAND]``
    The ``--help`` text of ``shdd-geo`` (or of one sub-command), generated
    from :func:`shdd_geo.cli.build_parser` at build time as a literal block,
    so the CLI page can never drift from the parser.  Rendered at a fixed
    width (:data:`CLI_WIDTH` columns) whatever the terminal.

Autosummary summaries
    ``sphinx.ext.autosummary`` cuts the one-line summary of a docstring at the
    first ". ", even inside an inline literal (``atan2(|a x b|, a . b)``),
    which leaves an unterminated literal and a docutils error, and inside
    parentheses (``(eq. 10)``).  The wrapper installed by :func:`setup` keeps
    Sphinx's summary unless its inline literals or parentheses are
    unbalanced, and then uses the whole first paragraph.
"""

from __future__ import annotations

import argparse
import os
import re
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


CLI_WIDTH = 88


def cli_subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-command parsers of ``parser``, by name, in definition order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_help(command: str | None = None, width: int = CLI_WIDTH) -> str:
    """``shdd-geo [COMMAND] --help`` as text, wrapped at ``width`` columns."""
    from shdd_geo.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)  # argparse reads the width from $COLUMNS
    try:
        parser = build_parser()
        if command is not None:
            subs = cli_subcommands(parser)
            if command not in subs:
                raise ValueError(f"unknown shdd-geo sub-command {command!r}; known: {', '.join(subs)}")
            parser = subs[command]
        return parser.format_help().rstrip() + "\n"
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def cli_options(command: str) -> list[tuple[str, str, str, str]]:
    """``(name, flags, default, help)`` for each option of a sub-command (``--help`` left out).

    ``name`` is the first option string (``--out``) or the positional's ``dest``.
    """
    from shdd_geo.cli import build_parser

    parser = cli_subcommands(build_parser())[command]
    fmt = parser._get_formatter()
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            metavar = "" if action.nargs == 0 else " " + fmt._format_args(action, action.dest.upper())
            flags = ", ".join(action.option_strings) + metavar
        else:
            flags = fmt._format_args(action, action.dest)
        if not action.option_strings and action.nargs in ("*", "?"):
            default = "optional"
        elif action.required or not action.option_strings:
            default = "required"
        elif action.nargs == 0:
            default = "off"
        elif action.default is None or action.default == []:
            default = "none"
        elif isinstance(action.default, list):
            default = ",".join(map(str, action.default))
        else:
            default = str(action.default)
        text = fmt._expand_help(action) if action.help else ""
        if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
            text = (text + "; " if text else "") + "one of " + ", ".join(map(str, action.choices))
        name = action.option_strings[0] if action.option_strings else action.dest
        rows.append((name, flags, default, text))
    return rows


def parse_option_notes(lines) -> dict[str, str]:
    """``--name: text`` lines (continuation lines indented) -> ``{"--name": "text"}``."""
    notes: dict[str, str] = {}
    key = None
    for line in lines:
        if not line.strip():
            continue
        if line[:1].isspace() and key is not None:
            notes[key] += " " + line.strip()
            continue
        name, sep, text = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"expected '--option: description', got {line!r}")
        key = name.strip()
        notes[key] = text.strip()
    return notes


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[int, ...]) -> nodes.table:
    table = nodes.table(classes=["cli-options"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)

    def row(cells, literal_first):
        r = nodes.row()
        for j, cell in enumerate(cells):
            para = nodes.paragraph()
            if j == 0 and literal_first and cell:
                para += nodes.literal(cell, cell)
            else:  # option names as literals (and safe from smart dashes)
                for k, part in enumerate(re.split(r"(--[A-Za-z][\w-]*)", cell)):
                    if part:
                        para += nodes.literal(part, part) if k % 2 else nodes.Text(part)
            r += nodes.entry("", para)
        return r

    group += nodes.thead("", row(header, False))
    group += nodes.tbody("", *[row(r, True) for r in rows])
    return table


class CLIHelp(Directive):
    """Usage text of ``shdd-geo [COMMAND]``; for a sub-command also a table of its options.

    The directive's content may describe options whose parser help is empty
    (or say more than it): one ``--option: text`` entry per line.  Naming an
    option the parser does not have is an error, and so is an option left
    without any description, so the page cannot drift from the parser.
    """

    has_content = True
    optional_arguments = 1

    def run(self):
        import shdd_geo.cli

        self.state.document.settings.env.note_dependency(shdd_geo.cli.__file__)  # rebuild when the CLI changes
        command = self.arguments[0] if self.arguments else None
        try:
            text = cli_help(command)
        except ValueError as exc:
            raise self.error(str(exc)) from None
        if command is not None:  # the usage lines only; the options go into a table
            text = text.split("\n\n")[0].rstrip() + "\n"
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        out = [block]
        if command is None:
            return out
        rows = cli_options(command)
        try:
            notes = parse_option_notes(self.content)
        except ValueError as exc:
            raise self.error(str(exc)) from None
        unknown = sorted(set(notes) - {r[0] for r in rows})
        if unknown:
            raise self.error(f"shdd-geo {command} has no option(s) {unknown}; it has {[r[0] for r in rows]}")
        table_rows = [(flags, default, notes.get(name) or text) for name, flags, default, text in rows]
        bare = [r[0] for r, t in zip(rows, table_rows) if not t[2]]
        if bare:
            raise self.error(f"shdd-geo {command}: describe {bare} (no help text in the parser); "
                             "add '--option: text' lines to the directive")
        if table_rows:
            out.append(_table(("option", "default", "meaning"), table_rows, (30, 14, 56)))
        return out


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
    app.add_directive("cli-help", CLIHelp)
    _patch_autosummary_summary()
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
