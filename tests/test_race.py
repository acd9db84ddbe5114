"""The race checks (`scimitar/checks/race.py`) race for real, against both kinds of target.

The honesty test runs them embedded (strict passes, each race quirk fails). Here: the same checks
against a real socket (uvicorn on 127.0.0.1, an ephemeral port, in a thread), where the requests
share one httpx client from several threads and the server runs racy writes in worker threads;
the helpers; and what a race leaves behind is cleaned up.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scimitar.checks import race
from scimitar.checks.context import Discovery
from scimitar.checks.registry import all_checks, get_check, load_catalogue
from scimitar.options import RunOptions
from scimitar.pacing import Pacer
from scimitar.pytest_plugin import ScimSession
from scimitar.quirks import Quirk
from scimitar.results import Outcome
from scimitar.run import Run
from scimitar.server.app import create_app
from scimitar.server.config import ServerConfig
from scimitar.target import Target, TargetOptions
from tests.uvicorn_server import serving

load_catalogue()
TOKEN = "race-test-token-5b0e2c"


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    quirks = frozenset(Quirk(q) for q in getattr(request, "param", ()))
    app = create_app(ServerConfig(tokens=[TOKEN], quirks=quirks))
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}/scim/v2"


def _session(url: str | None = None, quirks: frozenset[Quirk] = frozenset()) -> ScimSession:
    options = TargetOptions(url=url, token=TOKEN) if url else TargetOptions(quirks=quirks)
    target = Target(options)
    session = ScimSession(target, Run(seed=3), RunOptions(seed=3))
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    return session


def test_race_checks_are_serial_and_bounded() -> None:
    checks = all_checks("race")
    assert len(checks) == 5
    assert all(c.serial for c in checks), "a check racing on purpose must declare it runs alone"
    # Besides the races, only two judgements of the whole collection (other checks' writes would shift it).
    others = sorted(c.id for c in all_checks() if c.serial and "race" not in c.tags)
    assert others == ["rfc7644-3.4.2.4-collection-items-per-page", "rfc7644-3.4.2.4-collection-pages-consistent"]


def test_case_variants_differ_only_in_case() -> None:
    variants = race.case_variants("scimitar-ab12-jane.doe7@example.com", 8)
    assert len(set(variants)) == 8
    assert {v.casefold() for v in variants} == {"scimitar-ab12-jane.doe7@example.com"}
    assert variants == race.case_variants("scimitar-ab12-jane.doe7@example.com", 8)  # replayable


RACES = [
    ("rfc7644-3.3-concurrent-create-one-username", Quirk.RACE_CHECK_THEN_INSERT),
    ("rfc7644-3.5.2.1-concurrent-member-adds-kept", Quirk.RACE_LOST_MEMBERSHIP_UPDATE),
    ("rfc7644-3.14-concurrent-put-if-match", Quirk.RACE_IF_MATCH_UNCHECKED),
]


@pytest.mark.parametrize(("check_id", "quirk"), RACES)
def test_passes_against_strict_server_over_http(served: str, check_id: str, quirk: Quirk) -> None:
    session = _session(served)
    try:
        result = session.run_check(get_check(check_id))
        assert result.outcome is Outcome.PASSED, result.message
    finally:
        session.finish()


@pytest.mark.parametrize(
    ("served", "check_id"),
    [((q.value,), check_id) for check_id, q in RACES],
    indirect=["served"],
    ids=[q.value for _, q in RACES],
)
def test_fails_against_racy_server_over_http(served: str, check_id: str) -> None:
    """`scimitar serve --quirk race-...` reproduces the race for a remote run, too."""
    session = _session(served)
    try:
        result = session.run_check(get_check(check_id))
        assert result.outcome is Outcome.FAILED, result.message
    finally:
        session.finish()


@pytest.mark.parametrize(
    ("served", "check_id"),
    [((q.value,), check_id) for check_id, q in RACES[:1]],
    indirect=["served"],
    ids=[q.value for _, q in RACES[:1]],
)
def test_a_rate_cap_does_not_space_out_the_burst(served: str, check_id: str) -> None:
    """With `--max-rps 3` a burst of 8 spaced by the cap (a third of a second apart) would miss a race window
    and pass a racy server; the burst takes its 8 turns at once and is still sent together."""
    session = _session(served)
    session.target.limits.pacer = Pacer(3.0, max_in_flight=4)
    try:
        result = session.run_check(get_check(check_id))
        assert result.outcome is Outcome.FAILED, result.message
    finally:
        session.finish()


def test_a_burst_takes_its_rate_turns_at_once() -> None:
    clock: list[float] = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock[0] += seconds

    pacer = Pacer(10.0, clock=lambda: clock[0], sleep=sleep)
    pacer.reserve_burst(8)
    assert slept == [0.7]  # the eighth turn is due 0.7 s on: then all eight go together
    pacer.wait()
    assert slept == [0.7, 0.1]  # the next request keeps to the cap after the burst


def test_duplicates_a_race_created_are_cleaned_up() -> None:
    """Every User a racy server created (8 for one userName) is deleted when the check ends (its
    ledger scope), verified: none is left in the run's ledger or on the server."""
    session = _session(quirks=frozenset({Quirk.RACE_CHECK_THEN_INSERT}))
    try:
        result = session.run_check(get_check("rfc7644-3.3-concurrent-create-one-username"))
        assert result.outcome is Outcome.FAILED
        created = [e.url for e in result.exchanges if e.method == "POST" and e.status == 201]
        assert len(created) == race.RACE_N, "the quirk let every create through"
        assert not [p for p in session.run.ledger.paths if p.startswith("/Users/")], "left for the run's cleanup"
        listed = session.client.get("/Users", params={"filter": f'userName sw "{session.run.prefix}"'}).json()
        assert listed["totalResults"] == 0, listed
    finally:
        session.finish()
