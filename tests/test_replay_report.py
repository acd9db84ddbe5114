"""`scimitar replay` writes the same report folder as `scimitar test`, for handing to a customer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_report import secret_forms

REPO = Path(__file__).resolve().parent.parent
#: The embedded reference server's Bearer token for this run (given, so the test knows what to look for).
TOKEN = "tok-replay-Qw72-known-secret-b9c1"


def test_replay_writes_the_html_report_without_the_token(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM")}
    env["SCIM_TOKEN"] = TOKEN
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "scimitar.cli",
            "replay",
            str(REPO / "scenarios" / "okta" / "deactivate.yaml"),
            "--quirk",
            "patch-active-ignored",
            "--reports-dir",
            str(reports),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr
    runs = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink() and p.name != "latest"]
    assert len(runs) == 1, sorted(p.name for p in reports.iterdir())
    html = runs[0] / "report.html"
    assert html.is_file() and (runs[0] / "results.json").is_file()
    assert (reports / "latest" / "report.html").read_text(encoding="utf-8") == html.read_text(
        encoding="utf-8"
    )
    # The path is the last thing printed, as `scimitar test` does.
    assert f"scimitar: report  {html}" in out.stdout.strip().splitlines()[-2:]

    page = html.read_text(encoding="utf-8")
    assert "the user reads back inactive" in page  # the failing step
    assert "curl " in page and "$SCIM_TOKEN" in page
    scenario = json.loads((runs[0] / "results.json").read_text(encoding="utf-8"))["scenarios"][0]
    assert scenario["id"] == "scenarios/okta/deactivate.yaml" and scenario["outcome"] == "failed"

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written
    for path in written:
        text = path.read_text(encoding="utf-8", errors="replace")
        for form in secret_forms(TOKEN):
            assert form not in text, f"{form!r} in {path}"
    for form in secret_forms(TOKEN):
        assert form not in out.stdout + out.stderr
