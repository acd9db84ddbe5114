"""`scimitar diagnose`: a flow recorded against the reference server under a quirk names that quirk
among its top three matches; a clean recording and a shipped scenario are handled; a failure no
quirk reproduces is said to be one, with the closest runs.

Every quirk that breaks a shipped Okta or Entra flow (its `broken_by`) is one pair; all 50 pairs
take about two minutes on a shared machine, so the default run takes a spread subset (one pair per
quirk family below) and `SCIMITAR_DIAGNOSE_ALL=1` runs every pair (measured: 50 of 50 in the top
three).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from scimitar.diagnose import diagnose, render
from scimitar.record.cli import write
from scimitar.record.model import Capture
from tests.recording import load, quirky_server, record, recording_proxy, replay
from tests.test_record import RECORDABLE

REPO = Path(__file__).resolve().parent.parent


def pairs() -> list[tuple[str, Path]]:
    out = []
    for file in RECORDABLE:
        for quirk in load(file).broken_by:
            out.append((quirk, file))
    return out


ALL_PAIRS = pairs()
#: One pair per kind of bug: status codes, missing fields, filters, paging, PATCH forms, membership.
SUBSET = {
    ("create-200", "create.yaml"), ("create-empty-body", "create.yaml"), ("filter-empty-404", "create-user.yaml"),
    ("startindex-ignored", "paging.yaml"), ("patch-ops-lowercase-only", "groups.yaml"),
    ("excluded-attributes-ignored", "groups.yaml"), ("patch-active-ignored", "deactivate.yaml"),
    ("group-members-dropped", "move-user.yaml"), ("error-no-schemas", "spec-test.yaml"),
    ("total-results-page-length", "connector-test.yaml"),
}
CHOSEN = ALL_PAIRS if os.environ.get("SCIMITAR_DIAGNOSE_ALL") else [
    (q, f) for q, f in ALL_PAIRS if (q, f.name) in SUBSET
]


def test_the_pairs_cover_every_quirk_that_breaks_a_recordable_flow() -> None:
    assert len(ALL_PAIRS) >= 45
    assert len({q for q, _ in CHOSEN}) >= 9


@pytest.mark.parametrize(("quirk", "file"), CHOSEN, ids=lambda v: v if isinstance(v, str) else v.name)
def test_a_recording_against_a_quirky_server_names_the_quirk(quirk: str, file: Path, tmp_path: Path) -> None:
    out = tmp_path / "recording.yaml"
    with quirky_server(quirk) as upstream:
        record(file, upstream, tmp_path, out)
    d = diagnose(load(out))
    top = [m.quirk.value for m in d.matches[:3]]
    assert quirk in top, render(d)
    assert d.target is not None and d.strict.signature is not None  # the strict server answers otherwise
    text = render(d)
    assert f"scimitar serve --quirk {quirk}" in text and "RFC 76" in text
    assert d.seconds < 60  # bounded: ~120 quirks, each well under a second at this size


def _strict_recording(tmp_path: Path) -> Path:
    out = tmp_path / "strict.yaml"
    with quirky_server() as upstream:
        record(REPO / "scenarios" / "okta" / "create.yaml", upstream, tmp_path, out)
    return out


def test_a_clean_recording_lists_the_quirks_that_would_break_it(tmp_path: Path) -> None:
    from scimitar.cli import main

    out = _strict_recording(tmp_path)
    d = diagnose(load(out))
    assert d.mode == "list" and d.strict.signature is None
    assert "create-200" in {m.quirk.value for m in d.matches}
    assert "passes on the strict reference server" in render(d)
    assert main(["diagnose", str(out), "--quirk", "create-200", "--quirk", "filter-ignored"]) == 0


def test_a_shipped_scenario_with_the_customers_failing_step(tmp_path: Path) -> None:
    scenario = load(REPO / "scenarios" / "okta" / "create.yaml")
    d = diagnose(scenario, step=0, kind="status")  # step 1 (the colleague's create) answered another status
    names = [m.quirk.value for m in d.matches]
    assert "create-200" in names and "create-empty-body" not in names  # an empty body is a field mismatch
    assert "the customer's failure: step 1" in render(d)
    fields = [m.quirk.value for m in diagnose(scenario, step=2, kind="field").matches]  # Okta's create
    assert "create-empty-body" in fields and "create-200" not in fields


def test_a_failure_no_quirk_reproduces_is_said_to_be_one(tmp_path: Path) -> None:
    """A recorded answer no quirk gives (a teapot on create): no match, the closest runs shown."""
    out = tmp_path / "teapot.yaml"
    with quirky_server() as upstream, recording_proxy(upstream) as (url, capture):
        replay([REPO / "scenarios" / "okta" / "create.yaml"], tmp_path, "--target-url", url,
               env={"SCIM_TOKEN": "rec-test-token-5f2b9c1d7e"})
    creates = [ex for ex in capture.exchanges if ex.method == "POST" and ex.status == 201]
    creates[0].status = 418
    edited = Capture(upstream_host=capture.upstream_host, exchanges=capture.exchanges, masker=capture.masker)
    write(edited, str(out), None, io.StringIO(), ("python-httpx",))
    d = diagnose(load(out))
    assert not d.matches
    text = render(d)
    assert "no known quirk reproduces it" in text
    assert d.closest and "create-200" in [m.quirk.value for m in d.closest[:3]]  # it changes that step's status


def test_cli_exit_codes(tmp_path: Path) -> None:
    from scimitar.cli import main

    assert main(["diagnose", str(tmp_path / "missing.yaml")]) == 2
    assert main(["diagnose", str(REPO / "scenarios" / "okta" / "create.yaml"), "--step", "99"]) == 2
    assert main(["diagnose", str(REPO / "scenarios" / "okta" / "create.yaml"), "--quirk", "no-such-quirk"]) == 2
