"""Project files cite public sources (URLs), never the notes folder users do not have (issue 11)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = ("../" + "shared", "shared" + "/idp-call-sequences", "shared" + "/seeds", "/work" + "/shared")


def test_no_project_file_points_at_the_private_notes() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.suffix in (".png", ".ico"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{name}: {marker}" for marker in PRIVATE if marker in text]
    assert not offenders, offenders
