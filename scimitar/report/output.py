"""Where a run's files go: `reports/<run-id>/` (results.json, report.html) and `reports/latest`.

Every run gets its own folder, so comparing two runs or attaching one to a ticket never means
guessing which file was overwritten; `reports/latest` points at the newest so a newcomer (and
`make run`'s last line) has one fixed path to open. It is a relative symlink, so the folder can
be moved or archived as a whole; where symlinks are refused (some Windows and CI file systems) it
is a copy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scimitar.report.baseline import Comparison, compare, load_baseline
from scimitar.results import Results

LATEST = "latest"


@dataclass
class Written:
    """Paths of the files a run wrote, for the terminal summary."""

    run_dir: Path | None = None
    json: list[Path] = field(default_factory=list)
    junit: Path | None = None
    html: Path | None = None
    #: `--html PATH` copies, beside the run folder's own report.html (which is always written).
    html_copies: list[Path] = field(default_factory=list)
    latest: Path | None = None
    comparison: Comparison | None = None
    #: for an embedded run with failures: the `scimitar serve` line its curl lines need
    serve: str | None = None


def add_report_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The `report` flags shared by `scimitar test` and `scimitar replay`: --html, --reports-dir."""
    report = parser.add_argument_group("report")
    report.add_argument(
        "--html",
        metavar="PATH",
        help="also write a copy of the HTML report to PATH (reports/<run-id>/report.html is always written)",
    )
    report.add_argument(
        "--reports-dir",
        default="reports",
        metavar="DIR",
        help="folder of run folders; DIR/latest points at the newest (default: reports)",
    )
    return report


def print_written(written: Written, print_line: Callable[[str], object]) -> None:
    """The paths a run wrote, one line each, as the last lines of its terminal output."""
    if written.serve is not None:
        print_line(f"scimitar: the curl lines above need the same server on 127.0.0.1:8880: {written.serve}")
    if written.html is not None:
        print_line(f"scimitar: report  {written.html}")
    for copy in written.html_copies:
        print_line(f"scimitar: report  {copy}")
    for json_path in written.json:
        print_line(f"scimitar: results {json_path}")
    if written.junit is not None:
        print_line(f"scimitar: junit   {written.junit}")


def write_html(
    results: Results, path: str | Path, comparison: Comparison | None = None, *, page: str | None = None
) -> Path:
    """Write the (scrubbed) report page to `path`; `page` reuses one already rendered."""
    from scimitar.report.html import render

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page if page is not None else results._scrub(render(results, comparison)), encoding="utf-8")
    return out


def point_latest(reports_dir: Path, run_dir: Path) -> Path:
    """Make `reports_dir/latest` the newest run folder: a relative symlink, or a copy."""
    link = reports_dir / LATEST
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    try:
        tmp = reports_dir / f".{LATEST}.{os.getpid()}"
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(os.path.relpath(run_dir, reports_dir), target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        shutil.copytree(run_dir, link)
    return link


def write_outputs(
    results: Results,
    *,
    reports_dir: str | Path | None,
    json_path: str | Path | None = None,
    junit_path: str | Path | None = None,
    html_path: str | Path | None = None,
    baseline: str | Path | None = None,
) -> Written:
    """Write everything a run produces. With `reports_dir`, results.json and report.html always go
    to `<reports_dir>/<run-id>/`; `json_path` and `html_path` are extra copies (as the README says),
    so the run folder is complete whatever else was asked for."""
    written = Written()
    summary = results.summary
    if summary["failed"] or summary["errors"] or summary["warnings"]:
        from scimitar.report.reproduce import serve_command

        written.serve = serve_command(results.target)
    if baseline is not None:
        current = results.to_json()
        current.pop("baseline", None)
        written.comparison = compare(current, load_baseline(baseline), str(baseline))
        results.extra["baseline"] = written.comparison.to_json()
    if reports_dir is not None:
        written.run_dir = Path(reports_dir) / (results.run_id or "run")
        written.run_dir.mkdir(parents=True, exist_ok=True)
        default_json = written.run_dir / "results.json"
        results.write_json(default_json)
        written.json.append(default_json)
    if json_path is not None:
        results.write_json(json_path)
        written.json.append(Path(json_path))
    if junit_path is not None:
        results.write_junit(junit_path)
        written.junit = Path(junit_path)
    targets = [written.run_dir / "report.html"] if written.run_dir is not None else []
    if html_path is not None and (not targets or Path(html_path).resolve() != targets[0].resolve()):
        targets.append(Path(html_path))
    if targets:
        from scimitar.report.html import render

        page = results._scrub(render(results, written.comparison))
        paths = [write_html(results, path, page=page) for path in targets]
        written.html, written.html_copies = paths[0], paths[1:]
    if written.run_dir is not None:
        written.latest = point_latest(Path(reports_dir or "."), written.run_dir)
    return written


def read_results(path: str | Path) -> dict[str, object]:
    """A results file as written by `write_outputs` (for tests and tools)."""
    data: dict[str, object] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data
