"""Guards for the project's own tests.

`make test` must never write into the checkout's `reports/`: that folder belongs to the user's
`make run`, and `reports/latest` must keep pointing at *their* last run. Tests write under pytest's
`tmp_path`; this session-wide fixture fails the run when one did not.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# hypothesis's caches (its own tests' and those of every `scimitar` subprocess, which inherits this)
# go to a temporary folder, not to the checkout or the user's cache.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", tempfile.mkdtemp(prefix="scimitar-tests-hypothesis-"))

REPORTS = Path(__file__).resolve().parent.parent / "reports"


def _state(folder: Path) -> dict[str, str]:
    """Each entry of the folder with what it is (a symlink's target, or its modification time)."""
    if not folder.is_dir():
        return {}
    state: dict[str, str] = {}
    for entry in folder.iterdir():
        if entry.is_symlink():
            state[entry.name] = "-> " + str(entry.readlink())
        else:
            state[entry.name] = str(entry.stat().st_mtime_ns)
    return state


@pytest.fixture(scope="session", autouse=True)
def reports_folder_untouched() -> Iterator[None]:
    before = _state(REPORTS)
    yield
    after = _state(REPORTS)
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    assert not changed, (
        f"a test wrote into {REPORTS}: {changed[:10]} (tests must write under tmp_path; "
        "pass --reports-dir / --scim-reports-dir a temporary folder)"
    )
