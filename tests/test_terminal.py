"""Terminal output people can read: one compact block per failure (id, level, section, expected,
actual, the decisive request and its curl line; bodies cut), `-v` for the whole story, a final
verdict line with counts for `test` and `replay`, pytest's count equal to scimitar's, and pytest's
per-suite progress lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SELECT = ["--quirk", "filter-ignored", "--tag", "filter", "--no-scenarios", "--reports-dir", "reports"]


def scimitar(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "SCIMITAR_"))}
    env.pop("PYTEST_ADDOPTS", None)
    env["COLUMNS"] = "120"
    return subprocess.run([sys.executable, "-m", "scimitar.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


def _blocks(stdout: str) -> list[list[str]]:
    """The failure blocks: the lines under each `____ test_check[...] ____` header."""
    section = stdout.split(" FAILURES ", 1)[1].split(" short test summary info ", 1)[0]
    blocks: list[list[str]] = []
    for line in section.splitlines()[1:]:
        if re.match(r"^[-=]{5,}", line):  # the terminal summary's sections follow the last block
            break
        if re.match(r"^_+ .* _+$", line):
            blocks.append([])
        elif blocks:
            blocks[-1].append(line)
    return blocks


def test_failures_are_compact_blocks_and_counts_agree(tmp_path: Path) -> None:
    out = scimitar("test", *SELECT, cwd=tmp_path)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr
    blocks = _blocks(out.stdout)
    assert len(blocks) > 10
    for block in blocks:
        assert len(block) <= 6, "\n".join(block)
        assert re.match(r"^\S+: RFC 764[34] §[\d.]+.* \((MUST|SHOULD)\): \S", block[0]), block[0]
        assert any(line.startswith("  reproduce: curl ") for line in block), block
        assert any(" -> HTTP " in line for line in block), block
        assert all(len(line) < 1200 for line in block)
    assert "< HTTP" not in out.stdout  # no transcripts by default: they are in the report
    # pytest's count and scimitar's agree: a SHOULD not met is "warned", not "passed".
    stats_line = re.search(r"^=+ (.*) in [\d.]+s.* =+$", out.stdout, re.M)
    verdict = re.search(r"^scimitar: FAIL: (\d+) passed, (\d+) failed, (\d+) warnings", out.stdout, re.M)
    assert stats_line and verdict, out.stdout[-1500:]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", stats_line.group(1))}
    assert counts["passed"] == int(verdict.group(1)) and counts["failed"] == int(verdict.group(2))
    assert counts.get("warned", 0) == int(verdict.group(3)) > 0
    tail = out.stdout.rstrip().splitlines()[-4:]  # the verdict, then the serve line and the two paths
    assert any(line.startswith("scimitar: FAIL: ") for line in tail), tail
    # progress as pytest users know it: one line per suite with its percentage
    assert re.search(r"^\S*suites/test_filter\.py [.FWs]+ +\[ *\d+%\]$", out.stdout, re.M), out.stdout[:2000]


def test_verbose_shows_the_whole_story(tmp_path: Path) -> None:
    out = scimitar("test", *SELECT, "-k", "filter-eq", "-v", cwd=tmp_path)
    assert out.returncode == 1, out.stdout[-3000:]
    assert "< HTTP 200" in out.stdout and "reproduce with:" in out.stdout


def test_replay_ends_with_a_verdict_line(tmp_path: Path) -> None:
    scenario = str(REPO / "scenarios" / "okta" / "deactivate.yaml")
    ok = scimitar("replay", scenario, "--reports-dir", "reports", cwd=tmp_path)
    assert ok.returncode == 0 and "scimitar: PASS: 1 passed, 0 failed" in ok.stdout, ok.stdout
    bad = scimitar("replay", scenario, "--quirk", "patch-active-ignored", "--reports-dir", "reports", cwd=tmp_path)
    assert bad.returncode == 1 and "scimitar: FAIL: 0 passed, 1 failed" in bad.stdout, bad.stdout
