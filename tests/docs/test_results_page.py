"""The generated results page (docs/benchmarks.md) against the result files it is made from.

The page must be exactly what ``python -m benchmarks report`` writes from the
committed ``benchmarks/results/*.jsonl`` (so a hand edit fails), every result
file and run it cites must exist, and it stays within 300 lines (a results page, not a notebook).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import report, suite  # noqa: E402
from benchmarks.common import ResultLog, read_results  # noqa: E402

PAGE = ROOT / "docs" / "benchmarks.md"
CITATION = re.compile(r"`(benchmarks/results/[\w.-]+\.jsonl)`(?: \(run `([0-9a-f]+)`)?")
RUN_FIELDS = {"run_id", "tier", "timestamp", "git_sha", "git_dirty", "seed", "command", "machine",
              "load_avg_start", "load_avg_end", "task", "method", "split", "metrics"}


def cited_problems(page: str, root: Path) -> list[str]:
    """Result files (and runs) cited on ``page`` that do not exist under ``root``."""
    problems = []
    for path, run in CITATION.findall(page):
        f = root / path
        if not f.is_file():
            problems.append(f"{path}: no such file")
        elif run and run not in {r["run_id"] for r in read_results(f)}:
            problems.append(f"{path}: no run {run}")
    return problems


def test_page_is_what_report_generates():
    assert PAGE.read_text() == report.render(), (
        "docs/benchmarks.md differs from what the result files give: run `python -m benchmarks report`")


def test_page_cites_only_existing_result_files_and_runs():
    page = PAGE.read_text()
    assert CITATION.search(page), "the page cites no result file"
    assert cited_problems(page, ROOT) == []


def test_checker_catches_a_missing_file_and_run(tmp_path: Path):
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "a-quick.jsonl").write_text(json.dumps({"run_id": "abc"}) + "\n")
    page = ("x `benchmarks/results/a-quick.jsonl` (run `abc`, ...) y `benchmarks/results/a-quick.jsonl` "
            "(run `def`, ...) z `benchmarks/results/gone-full.jsonl`")
    assert cited_problems(page, tmp_path) == ["benchmarks/results/a-quick.jsonl: no run def",
                                              "benchmarks/results/gone-full.jsonl: no such file"]


def test_page_is_short():
    assert len(PAGE.read_text().splitlines()) <= 300


@pytest.mark.parametrize("path", sorted((ROOT / "benchmarks" / "results").glob("*.jsonl")), ids=lambda p: p.name)
def test_result_rows_carry_run_metadata(path: Path):
    rows = read_results(path)
    assert rows
    for row in rows:
        assert RUN_FIELDS <= set(row), sorted(RUN_FIELDS - set(row))
        assert len(row["load_avg_start"]) == 3 and len(row["load_avg_end"]) == 3


def test_without_result_files_the_page_says_not_yet_run(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(suite, "RESULTS_DIR", tmp_path)
    page = report.render()
    assert not CITATION.search(page)
    for job in suite.JOBS:
        assert f"--only {job.name}`" in page
    assert page.count("not yet run in this suite") >= len(suite.JOBS)


def test_result_log_appends_runs_and_skips_failed_ones(tmp_path: Path):
    out = tmp_path / "x-quick.jsonl"
    for value in (1.0, 2.0):
        with ResultLog(out, tier="quick", seed=3) as log:
            log.emit("t", method="m", split="random", value=value, bad=float("-inf"))
    with pytest.raises(RuntimeError), ResultLog(out, tier="quick") as log:
        log.emit("t", method="m", value=3.0)
        raise RuntimeError("the run fails before its end")
    rows = read_results(out)
    assert [r["metrics"]["value"] for r in rows] == [1.0, 2.0]
    assert rows[0]["run_id"] != rows[1]["run_id"]
    assert rows[0]["metrics"]["bad"] == "-inf" and rows[0]["seed"] == 3 and rows[0]["tier"] == "quick"
    assert RUN_FIELDS <= set(rows[0])
