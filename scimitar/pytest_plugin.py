"""pytest integration: `--scim-*` options, one session-wide target and run, and RFC 2119 outcomes.

Loaded by the root `conftest.py` (and by `scimitar test` with `-p`). Nothing touches a target
until a test asks for the `scim` fixture, so the project's own tests run without one. Then the
target is probed once: an unreachable target or a rejected credential ends pytest with one line
and exit code 3 instead of a screenful of identical failures.

Outcomes: a MUST failure fails the test; a SHOULD failure passes it but shows `W`/`WARNING` and is
counted on a "warnings: N" line; a MAY failure and an unmet `needs` skip it. At session end (also
after Ctrl-C, and from `atexit` as a last resort) the ledger deletes what the run created and the
JSON / JUnit results are written.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Any

import pytest

from scimitar.checks.context import CheckContext, Discovery
from scimitar.checks.registry import Check, all_checks, load_catalogue
from scimitar.checks.runner import run_check
from scimitar.exchange import Masker, Recorder
from scimitar.options import (
    ConfigError,
    RunOptions,
    add_pytest_options,
    namespace_from_pytest,
    resolve_run_options,
    resolve_target_options,
)
from scimitar.results import CheckResult, Outcome, Results
from scimitar.run import CleanupReport, Run
from scimitar.target import ScimClient, Target, TargetError

EXIT_TARGET = 3
EXIT_USAGE = 2
_OUTCOME = "scim_outcome"


class ScimSession:
    """The session's target, run, discovery and results; calling it gives a fresh `CheckContext`."""

    def __init__(self, target: Target, run: Run, run_options: RunOptions) -> None:
        self.target = target
        self.run = run
        self.run_options = run_options
        self.masker: Masker = target.masker()
        self.recorder = Recorder()
        self.client: ScimClient = target.client(self.masker, self.recorder)
        self.discovery = Discovery()
        self.results = Results(run_id=run.run_id, target=target.describe(), seed=run.seed)
        self.cleanup_report: CleanupReport | None = None
        self._finished = False
        self._lock = threading.Lock()

    @classmethod
    def start(cls, target_options_ns: Any) -> ScimSession:
        """Resolve options, probe the target and read discovery; raises ConfigError / TargetError."""
        run_options = resolve_run_options(target_options_ns)
        target = Target(resolve_target_options(target_options_ns))
        session = cls(target, Run(seed=run_options.seed, run_id=run_options.run_id), run_options)
        try:
            target.probe(session.masker, session.recorder)
            session.discovery = Discovery.fetch(session.client)
        except BaseException:
            target.close()
            raise
        atexit.register(session.finish)
        return session

    def context(self, check: Check | None = None) -> CheckContext:
        """A context with its own recorder (and a client recording into it)."""
        recorder = Recorder()
        return CheckContext(
            client=self.client.with_recorder(recorder),
            run=self.run,
            discovery=self.discovery,
            recorder=recorder,
            check=check,
            target=self.target,
        )

    __call__ = context

    def run_check(self, check: Check) -> CheckResult:
        result = run_check(check, self.context(check))
        self.results.add(result)
        return result

    def finish(self) -> None:
        """Delete what the run created, write the requested outputs, close the target. Idempotent."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        atexit.unregister(self.finish)
        try:
            self.cleanup_report = self.run.ledger.cleanup(self.client.with_recorder(Recorder()))
        finally:
            self.results.finish()
            if self.run_options.json:
                self.results.write_json(self.run_options.json)
            if self.run_options.junit:
                self.results.write_junit(self.run_options.junit)
            self.target.close()


_SESSION = pytest.StashKey["ScimSession | None"]()


def _session(config: pytest.Config) -> ScimSession:
    existing = config.stash.get(_SESSION, None)
    if existing is not None:
        return existing
    try:
        session = ScimSession.start(namespace_from_pytest(config))
    except ConfigError as exc:
        pytest.exit(f"scimitar: {exc}", returncode=EXIT_USAGE)
    except TargetError as exc:
        pytest.exit(f"scimitar: {exc}", returncode=EXIT_TARGET)
    config.stash[_SESSION] = session
    return session


# -- hooks ------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION] = None


@pytest.fixture(scope="session")
def scim(request: pytest.FixtureRequest) -> ScimSession:
    """The session's target, run and discovery; `scim(check)` gives a fresh `CheckContext`."""
    return _session(request.config)


def _check_of(item: pytest.Item) -> Check | None:
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("scim_check") if callspec is not None else None
    return value if isinstance(value, Check) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--scim-tag` / `--scim-section` select checks on any of their tags / by section text."""
    tags = config.getoption("scim_tag") or []
    sections = config.getoption("scim_section") or []
    if not tags and not sections:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        found = _check_of(item)
        wanted = (
            found is not None
            and (not tags or any(t in found.tags for t in tags))
            and (not sections or any(s.lower() in found.section.lower() for s in sections))
        )
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    if report.when == "call" and dict(report.user_properties).get(_OUTCOME) == "warning":
        # A SHOULD not met is reported, not failed: the run's verdict follows the MUSTs.
        text = str(report.longrepr) if report.longrepr else ""
        report.outcome = "passed"
        report.longrepr = None
        report.sections.append(("scimitar warning", text))
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when != "call":
        return None
    outcome = dict(report.user_properties).get(_OUTCOME)
    if outcome == "warning":
        return "passed", "W", ("WARNING", {"yellow": True})
    if outcome == "error" and report.failed:
        return "error", "E", ("ERROR", {"red": True})
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    scim_session = session.config.stash.get(_SESSION, None)
    if scim_session is not None:
        scim_session.finish()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    scim_session = config.stash.get(_SESSION, None)
    if scim_session is None:
        return
    results = scim_session.results
    warned = [r for r in results.checks if r.outcome is Outcome.WARNING]
    if warned:
        terminalreporter.section("scimitar SHOULD warnings", sep="-", yellow=True)
        for result in warned:
            terminalreporter.write_line(f"WARNING {result.id}: {result.headline()}")
    terminalreporter.write_line(f"warnings: {len(warned)}")
    report = scim_session.cleanup_report
    if report is not None and (report.deleted or report.failed):
        terminalreporter.write_line(f"scimitar cleanup: deleted {len(report.deleted)} resource(s)")
        for path, why in report.failed:
            terminalreporter.write_line(f"scimitar cleanup: could not delete {path}: {why}", red=True)
    if scim_session.target.stats.throttled:
        terminalreporter.write_line(
            f"scimitar: target throttled {scim_session.target.stats.throttled} request(s)"
        )
    terminalreporter.write_line(results.summary_line(), bold=True)


# -- suites -----------------------------------------------------------------------------------------


def report_result(request: pytest.FixtureRequest, result: CheckResult) -> None:
    """Turn a `CheckResult` into the pytest outcome (the makereport hook adjusts warnings)."""
    if result.outcome is Outcome.PASSED:
        return
    if result.outcome is Outcome.SKIPPED:
        pytest.skip(result.message)
    request.node.user_properties.append((_OUTCOME, result.outcome.value))
    pytest.fail(result.details(), pytrace=False)


def suite(tag: str) -> Callable[..., None]:
    """A test function parametrized over the checks whose suite is `tag`; test ids are check ids.

    A check with several tags runs once, in the suite of its first tag; `--scim-tag` selects on any.
    """
    load_catalogue()
    checks = all_checks(suite=tag)
    params: list[Any] = [pytest.param(c, id=c.id) for c in checks] or [
        pytest.param(
            None, id=f"no-{tag}-checks", marks=pytest.mark.skip(reason=f"no checks registered for {tag!r}")
        )
    ]

    @pytest.mark.parametrize("scim_check", params)
    def test_check(scim: ScimSession, scim_check: Check, request: pytest.FixtureRequest) -> None:
        report_result(request, scim.run_check(scim_check))

    test_check.__doc__ = f"Conformance checks of the {tag!r} area (see `scimitar checks`)."
    return test_check
