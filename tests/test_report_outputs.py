"""`--html PATH` and `--json PATH` are extra copies, as the README says: the run folder keeps its own
report.html and results.json whatever else was asked for."""

from __future__ import annotations

from pathlib import Path

from scimitar.report.output import print_written, write_outputs
from scimitar.results import CheckResult, Outcome, Results


def test_html_path_is_an_extra_copy(tmp_path: Path) -> None:
    results = Results(run_id="copy1", checks=[CheckResult("c", "t", "RFC 7644 §3", "MUST", Outcome.PASSED, "", [], 1)])
    extra = tmp_path / "elsewhere" / "mine.html"
    written = write_outputs(results, reports_dir=tmp_path / "reports", html_path=extra, json_path=tmp_path / "r.json")
    own = tmp_path / "reports" / "copy1" / "report.html"
    assert written.html == own and written.html_copies == [extra]
    assert own.is_file() and extra.read_text(encoding="utf-8") == own.read_text(encoding="utf-8")
    assert (tmp_path / "reports" / "copy1" / "results.json").is_file() and (tmp_path / "r.json").is_file()
    assert (tmp_path / "reports" / "latest" / "report.html").is_file()
    lines: list[str] = []
    print_written(written, lines.append)
    assert f"scimitar: report  {own}" in lines and f"scimitar: report  {extra}" in lines


def test_html_path_without_a_reports_dir_is_the_only_page(tmp_path: Path) -> None:
    results = Results(run_id="copy2")
    written = write_outputs(results, reports_dir=None, html_path=tmp_path / "only.html")
    assert written.html == tmp_path / "only.html" and written.html_copies == []
    assert written.html.is_file()
