"""pytest integration: `--scim-*` options, one session-wide target and run, and RFC 2119 outcomes.

Loaded by the root `conftest.py` (and by `scimitar test` with `-p`). Nothing touches a target
until a test asks for the `scim` fixture, so the project's own tests run without one. Then the
target is probed once: an unreachable target or a rejected credential ends pytest with one line
and exit code 3 instead of a screenful of identical failures.

Outcomes: a MUST failure fails the test; a SHOULD failure passes it but shows `W`/`WARNING` and is
counted on a "warnings: N" line; a MAY failure and an unmet `needs` skip it. Each check deletes
what it created when it ends (`CheckContext.cleanup_created`). At session end (also after Ctrl-C,
and from `atexit` as a last resort) the ledger deletes what is left, a sweep by the run's exact
prefix deletes what it created unrecorded (`Run.cleanup`, every deletion verified by a re-read), the
cleanup's report goes into results.json's `cleanup` section, and the JSON / JUnit / HTML results are
written (`scimitar.report.output`). A cleanup that could not delete something makes the run exit 1
and prints the `scimitar cleanup --run-id` line that finishes it. A second Ctrl-C aborts the cleanup,
not the reports, and prints that line too.

Scenario items (collected by `scimitar.scenario.collect`) share the session; their full results,
step exchanges included, are kept for the HTML timeline and the JUnit step cases. Selection:
`--scim-tag` / `--scim-section` select checks; `--scim-idp` selects the scenarios of an IdP and
the checks whose id names it. `--scim-baseline` turns the exit status into "no *new* failures".
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from scimitar.checks.context import CheckContext, Discovery
from scimitar.checks.registry import Check, all_checks, load_catalogue
from scimitar.checks.runner import run_check
from scimitar.exchange import Masker, Recorder
from scimitar.interrupt import CLEANUP, CtrlCGuard
from scimitar.options import (
    DEFAULT_REMOTE_CONCURRENCY,
    ConfigError,
    RunOptions,
    add_pytest_options,
    namespace_from_pytest,
    resolve_run_options,
    resolve_target_options,
)
from scimitar.pacing import Pacer
from scimitar.report.baseline import BaselineError, load_baseline
from scimitar.report.features import IDPS, scenario_idp
from scimitar.report.output import Written, print_written, write_outputs
from scimitar.results import CheckResult, Outcome, Results, exchange_lines
from scimitar.run import CleanupReport, Run
from scimitar.schedule import Done, Unit, run_pooled
from scimitar.target import ScimClient, Target, TargetError

EXIT_TARGET = 3
EXIT_USAGE = 2
RUN_DEADLINE_REASON = "run deadline reached (--max-duration)"
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
        self.client.ledger = run.ledger  # every resource a POST creates is cleaned up at the end
        self.discovery = Discovery()
        self.results = Results(run_id=run.run_id, target=target.describe(), seed=run.seed)
        self.results.masker = self.masker
        self.cleanup_report: CleanupReport | None = None
        self.report = ReportOptions()
        self.written: Written | None = None
        self.output_error: str | None = None
        self.cleanup_interrupted = False
        self.interrupted = False
        self.ctrl_c_guard: CtrlCGuard | None = None
        self._finished = False
        self._lock = threading.Lock()
        self._prefetched: dict[str, Done] = {}  # --concurrency: results waiting for their item
        self._prefetch_done = False

    @classmethod
    def start(cls, target_options_ns: Any) -> ScimSession:
        """Resolve options, probe the target and read discovery; raises ConfigError / TargetError."""
        run_options = resolve_run_options(target_options_ns)
        target = Target(resolve_target_options(target_options_ns))
        session = cls(target, Run(seed=run_options.seed, run_id=run_options.run_id), run_options)
        target.start_run_deadline(run_options.max_duration)
        if run_options.max_rps is not None or session.workers > 1:
            target.limits.pacer = Pacer(run_options.max_rps, max_in_flight=session.workers)
        try:
            target.probe(session.masker, session.recorder)
            session.discovery = Discovery.fetch(session.client)
            session.adopt_schemas()
        except TargetError as exc:
            target.close()
            # The message names the URL, whose query may carry a secret.
            raise type(exc)(session.masker.mask_text(str(exc))) from None
        except BaseException:
            target.close()
            raise
        atexit.register(session.finish)
        return session

    def adopt_schemas(self) -> str:
        """Shape the run's test data by the target's discovery documents and declared profile
        (see `scimitar.factory`); the JSON results say where the schemas came from."""
        profile = (
            self.target.options.profile
            if self.target.embedded
            else os.environ.get("SCIMITAR_TARGET_PROFILE") or None
        )
        source = self.run.data.adopt(self.discovery.schemas, self.discovery.resource_types, profile=profile)
        self.results.target["schema_source"] = source
        return source

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
        result: CheckResult | None = self.take(f"check:{check.id}")
        if result is None:
            result = self._result_of(check)
        self.results.add(result)
        return result

    @property
    def workers(self) -> int:
        """Checks at once: `--concurrency`, else 8 for a remote target and 1 for the embedded one."""
        if self.run_options.concurrency is not None:
            return self.run_options.concurrency
        return 1 if self.target.embedded else DEFAULT_REMOTE_CONCURRENCY

    def prefetch(
        self, units: list[Unit], workers: int, progress: Callable[[int, int], None] | None = None
    ) -> None:
        """`--concurrency`: run the units (checks and scenarios) not marked `serial` now, in a pool of
        `workers` threads (`scimitar.schedule`); each item then reports its result in collection
        order, and the serial ones run at their item, alone. Units are isolated by run-unique names,
        so outcomes match a sequential run. Called once, by the first item."""
        if self._prefetch_done:
            return
        self._prefetch_done = True
        run_pooled(units, workers, self._prefetched, on_interrupt=self._stop_requests, on_progress=progress)

    def _stop_requests(self) -> None:
        """Ctrl-C while the pool runs: no unit sends another request (each ends after the one in
        flight); the final cleanup gets its own time (`Target.begin_cleanup`)."""
        self.target.limits.run_deadline = time.monotonic()

    def take(self, key: str) -> Any:
        """The prefetched result of unit `key` (re-raising what it raised), or None: run it now."""
        done = self._prefetched.pop(key, None)
        return None if done is None else done.get()

    def check_unit(self, check: Check) -> Unit:
        # Weights estimate requests: the robustness checks send up to their budget (about 60), the
        # paging ones create users and page through them; most checks send fewer than ten.
        weight = 60.0 if "robustness" in check.tags else 20.0 if "pagination" in check.tags else 8.0
        return Unit(f"check:{check.id}", lambda: self._result_of(check), serial=check.serial, weight=weight)

    def _result_of(self, check: Check) -> CheckResult:
        if self.target.limits.run_deadline_reached:  # --max-duration: what is left is not run
            result = CheckResult(
                id=check.id,
                title=check.title,
                section=check.section,
                requirement=check.requirement,
                outcome=Outcome.SKIPPED,
                message=RUN_DEADLINE_REASON,
                exchanges=[],
                duration_ms=0.0,
            )
        else:
            result = run_check(check, self.context(check))
        return result

    def finish(self, guard: CtrlCGuard | None = None) -> None:
        """Delete what the run created, write the requested outputs, close the target. Idempotent.

        `guard` is the run's Ctrl-C handler (`scimitar.interrupt`; its owner restores it); without
        one, a guard in its cleanup phase lives for the duration of this call."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        atexit.unregister(self.finish)
        own_guard = guard is None
        guard = guard or CtrlCGuard(CLEANUP)
        self.interrupted = self.interrupted or guard.interrupted
        self.results.interrupted = self.interrupted
        self.target.begin_cleanup()  # the cleanup runs after --max-duration too (bounded)
        try:
            if guard.enter_cleanup():
                self.cleanup_report = self.run.cleanup(self.client.with_recorder(Recorder()))
            else:  # Ctrl-C pressed twice before the cleanup began: that asks to skip it
                self.cleanup_interrupted = True
        except KeyboardInterrupt:
            # A second Ctrl-C (the first one ended the tests) aborts the cleanup, not the reports.
            self.cleanup_interrupted = True
        self.results.extra["cleanup"] = self.cleanup_json()
        # From here on further Ctrl-Cs are counted, not obeyed: writing the reports takes a moment,
        # and a KeyboardInterrupt inside pytest's own teardown would end in a traceback.
        guard.soften()
        try:
            self.results.finish()
            self.written = write_outputs(
                self.results,
                reports_dir=self.report.reports_dir,
                json_path=self.run_options.json,
                junit_path=self.run_options.junit,
                html_path=self.report.html,
                baseline=self.report.baseline,
            )
        except (OSError, BaselineError) as exc:
            self.output_error = str(exc)
        except KeyboardInterrupt:
            self.output_error = "interrupted"
        finally:
            self.target.close()
            if own_guard:
                guard.restore()

    @property
    def cleanup_incomplete(self) -> bool:
        """The cleanup was interrupted, or a DELETE, re-read or listing failed (401, 403, 5xx...).

        Such a run exits 1 whatever its checks said: it may have left resources on the target.
        Resources the target keeps after a successful DELETE (`still_present`, a soft delete) are
        reported but do not change the exit code: the §3.6 checks judge that behaviour.
        """
        report = self.cleanup_report
        return self.cleanup_interrupted or report is None or bool(report.failed)

    def finish_command(self) -> str:
        """The command that finishes this run's cleanup (credentials come from the environment)."""
        return f"scimitar cleanup --target-url {self.target.base_url} --run-id {self.run.run_id}"

    def cleanup_json(self) -> dict[str, Any]:
        """The results.json `cleanup` section: counts, what is still there and what failed."""
        report = self.cleanup_report or CleanupReport()
        section: dict[str, Any] = {
            **report.to_json(),
            "interrupted": self.cleanup_interrupted,
            "prefix": self.run.prefix,
        }
        if self.cleanup_interrupted:
            section["complete"] = False
        if self.cleanup_incomplete and not self.target.embedded:
            section["finish_with"] = self.finish_command()
        return section

    def leftovers_hint(self) -> str:
        """The one line that says how to delete what an aborted cleanup left behind."""
        return self.masker.mask_text(
            f"scimitar: cleanup interrupted; resources named {self.run.prefix}* may be left, delete them "
            f"with: {self.finish_command()}"
        )

    def cleanup_lines(self, limit: int = 10) -> list[tuple[str, bool]]:
        """The terminal lines of the cleanup report, `(text, is_problem)`, at most `limit` per list."""
        report = self.cleanup_report
        if report is None:
            return []
        lines: list[tuple[str, bool]] = []
        if report.deleted or report.failed or report.still_present:
            lines.append((f"scimitar cleanup: {report.summary()}", bool(report.failed)))
        if report.still_present:
            lines.append(
                (
                    f"scimitar cleanup: {len(report.still_present)} resource(s) still present after a "
                    "successful DELETE: the target keeps deleted resources (RFC 7644 §3.6 requires 404 "
                    "for them); remove them in the product",
                    True,
                )
            )
            lines += [(f"scimitar cleanup:   {path}: {what}", True) for path, what in report.still_present[:limit]]
            if len(report.still_present) > limit:
                lines.append((f"scimitar cleanup:   ... and {len(report.still_present) - limit} more", True))
        for path, why in report.failed[:limit]:
            lines.append((f"scimitar cleanup: could not delete {path}: {why}", True))
        if len(report.failed) > limit:
            lines.append((f"scimitar cleanup: ... and {len(report.failed) - limit} more failures", True))
        if report.failed:
            where = (
                "the embedded server is gone with the run"
                if self.target.embedded
                else f"finish with: {self.finish_command()}"
            )
            lines.append((f"scimitar: cleanup incomplete, the run exits 1; {where}", True))
        return lines


class ReportOptions:
    """Report outputs beyond `RunOptions`: the reports folder, the HTML path and the baseline."""

    def __init__(
        self, reports_dir: str | None = None, html: str | None = None, baseline: str | None = None
    ) -> None:
        self.reports_dir = reports_dir
        self.html = html
        self.baseline = baseline


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
    session.report = ReportOptions(
        reports_dir=config.getoption("scim_reports_dir"),
        html=config.getoption("scim_html"),
        baseline=config.getoption("scim_baseline"),
    )
    if not session.target.embedded:
        session.results.target["declared_profile"] = os.environ.get("SCIMITAR_TARGET_PROFILE") or None
    # From the first request on, Ctrl-C follows `scimitar.interrupt` (restored in pytest_unconfigure).
    session.ctrl_c_guard = CtrlCGuard()
    config.stash[_SESSION] = session
    return session


def existing_session(config: pytest.Config) -> ScimSession | None:
    """The session's `ScimSession` if a test started one (nothing is started here)."""
    return config.stash.get(_SESSION, None)


def session_for(config: pytest.Config) -> ScimSession:
    """The session's `ScimSession`, started on first use (used by the scenario collector)."""
    return _session(config)


# -- hooks ------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser)
    group = parser.getgroup("scimitar")
    group.addoption(
        "--scim-reports-dir",
        dest="scim_reports_dir",
        metavar="DIR",
        help="write results.json and report.html to DIR/<run-id>/ and point DIR/latest at it",
    )
    group.addoption("--scim-html", dest="scim_html", metavar="PATH", help="write the HTML report to PATH")
    group.addoption(
        "--scim-baseline",
        dest="scim_baseline",
        metavar="PATH",
        help="earlier JSON results: only new MUST failures fail the run",
    )
    group.addoption(
        "--scim-idp",
        dest="scim_idp",
        action="append",
        choices=IDPS,
        help="run the scenarios of this IdP (and checks named after it), repeatable",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION] = None
    baseline = config.getoption("scim_baseline", None)
    if baseline:
        try:
            load_baseline(baseline)
        except BaselineError as exc:
            pytest.exit(f"scimitar: {exc}", returncode=EXIT_USAGE)


@pytest.fixture(scope="session")
def scim(request: pytest.FixtureRequest) -> ScimSession:
    """The session's target, run and discovery; `scim(check)` gives a fresh `CheckContext`."""
    session = _session(request.config)
    prefetch_items(session, request.session.items)
    return session


def prefetch_items(session: ScimSession, items: list[pytest.Item]) -> None:
    """`--concurrency` above 1: run the selected checks and scenarios in the pool now (once; the
    first check or scenario item calls this, whichever comes first). Every few seconds a line
    says how far the pool has come, since no item reports before it is done."""
    if session.workers <= 1 or session._prefetch_done or not items:
        return
    reporter = items[0].config.pluginmanager.get_plugin("terminalreporter")

    def progress(done: int, total: int) -> None:
        if reporter is not None:
            reporter.write_line(f"scimitar: {done} of {total} checks and scenarios done ({session.workers} at once)")

    units: list[Unit] = []
    for item in items:
        check = _check_of(item)
        if check is not None:
            units.append(session.check_unit(check))
            continue
        unit = getattr(item, "scim_unit", None)
        if callable(unit):
            units.append(unit(session))
    session.prefetch(units, session.workers, progress)


def _check_of(item: pytest.Item) -> Check | None:
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("scim_check") if callspec is not None else None
    return value if isinstance(value, Check) else None


def _scenario_idp_of(item: pytest.Item) -> str | None:
    scenario = getattr(item, "scenario", None)
    if scenario is None:
        return None
    return scenario_idp({"id": scenario.id, "idp": scenario.idp}, scenario.requires.profile)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Select checks by tag / section text, scenarios (and IdP-named checks) by IdP.

    `--scim-tag` and `--scim-section` alone run checks only; `--scim-idp` adds that IdP's scenarios
    and keeps only the checks whose id starts with the IdP (`okta-...`), still filtered by tag and
    section when those are given.
    """
    tags = config.getoption("scim_tag") or []
    sections = config.getoption("scim_section") or []
    idps = config.getoption("scim_idp", None) or []
    if not tags and not sections and not idps:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        found = _check_of(item)
        scenario_idp_name = _scenario_idp_of(item)
        if scenario_idp_name is not None:
            wanted = bool(idps) and scenario_idp_name in idps
        else:
            wanted = (
                found is not None
                and (not tags or any(t in found.tags for t in tags))
                and (not sections or any(s.lower() in found.section.lower() for s in sections))
                and (not idps or any(found.id.startswith(f"{i}-") for i in idps))
            )
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    scenario_result = getattr(item, "result", None)
    if report.when == "call" and scenario_result is not None and hasattr(item, "scenario"):
        scim_session = item.config.stash.get(_SESSION, None)
        if scim_session is not None:
            # The collector appended the JSON entry; keep the steps' exchanges for HTML and JUnit.
            scim_session.results.add_scenario(scenario_result, append_entry=False)
        if report.failed and int(item.config.getoption("verbose", 0) or 0) < 1:
            report.longrepr = _compact_scenario(scenario_result)
    if report.when == "call" and dict(report.user_properties).get(_OUTCOME) == "warning":
        # A SHOULD not met is reported, not failed: the run's verdict follows the MUSTs.
        text = str(report.longrepr) if report.longrepr else ""
        report.outcome = "passed"
        report.longrepr = None
        report.sections.append(("scimitar warning", text))
    scim_now = item.config.stash.get(_SESSION, None)
    if scim_now is not None:
        _mask_report(report, scim_now.masker)
    return report


def _compact_scenario(result: Any) -> str:
    """A failed scenario for the terminal: its step list, then the failing step's decisive request
    and curl line (the report shows every exchange of every step)."""
    lines = [result.render(transcripts=False)]
    for index, step in enumerate(result.steps, start=1):
        if step.outcome in ("failed", "error") and step.exchanges:
            lines.append(f"  step {index} ({step.name}):")
            lines += exchange_lines(list(step.exchanges))
            break
    return "\n".join(lines)


def _mask_report(report: pytest.TestReport, masker: Masker) -> None:
    """Mask what pytest prints for a test: its failure text, skip reason and captured sections.

    Exchanges are masked when recorded; this catches the free text around them (messages,
    exception texts) on the way to the terminal, as `scrub` does on the way to files."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], masker.mask_text(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        masked = masker.mask_text(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, masker.mask_text(body)) for title, body in report.sections]


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when != "call":
        return None
    outcome = dict(report.user_properties).get(_OUTCOME)
    if outcome == "warning":
        # Its own category, so pytest's "N passed" is scimitar's: a SHOULD not met is not a pass.
        return "warned", "W", ("WARNING", {"yellow": True})
    if outcome == "error" and report.failed:
        return "error", "E", ("ERROR", {"red": True})
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    scim_session = session.config.stash.get(_SESSION, None)
    if scim_session is None:
        return
    scim_session.interrupted = int(exitstatus) == int(pytest.ExitCode.INTERRUPTED)
    if scim_session.ctrl_c_guard is None:  # no main-thread session start: guard the finish at least
        scim_session.ctrl_c_guard = CtrlCGuard(CLEANUP)
    scim_session.finish(scim_session.ctrl_c_guard)
    comparison = scim_session.written.comparison if scim_session.written else None
    if comparison is not None and int(session.exitstatus) in (0, int(pytest.ExitCode.TESTS_FAILED)):
        # With a baseline the gate is "nothing new broke": known failures no longer fail the run.
        session.exitstatus = pytest.ExitCode.OK if comparison.ok else pytest.ExitCode.TESTS_FAILED
    if scim_session.output_error and int(session.exitstatus) == 0:
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
    if scim_session.cleanup_incomplete and int(session.exitstatus) == 0:
        # Resources may be left on the target: never a green run (the lines say how to finish).
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    scim_session = config.stash.get(_SESSION, None)
    if scim_session is None:
        return
    results = scim_session.results
    readiness = results.readiness()
    if readiness:  # the answer support needs first: would each IdP's provisioning work?
        terminalreporter.section("scimitar readiness", sep="-", bold=True)
        for verdict in readiness:
            ready = verdict["flows"] and verdict["succeeded"] == verdict["flows"]
            terminalreporter.write_line(verdict["line"], green=bool(ready), red=not ready and bool(verdict["flows"]))
    warned = [r for r in results.checks if r.outcome is Outcome.WARNING]
    warned_scenarios = [
        s for s in results.scenarios if any(st.get("outcome") == "warning" for st in s.get("steps", []))
    ]
    if warned or warned_scenarios:
        terminalreporter.section("scimitar SHOULD warnings", sep="-", yellow=True)
        for result in warned:
            terminalreporter.write_line(f"WARNING {result.id}: {result.headline()}")
        for entry in warned_scenarios:
            steps = [st for st in entry.get("steps", []) if st.get("outcome") == "warning"]
            for st in steps:
                terminalreporter.write_line(
                    f"WARNING {entry.get('id')}: {st.get('name')}: {st.get('message')}"
                )
    step_warnings = sum(
        1 for entry in results.scenarios for st in entry.get("steps", []) if st.get("outcome") == "warning"
    )
    terminalreporter.write_line(f"warnings: {len(warned) + step_warnings}")
    if scim_session.cleanup_interrupted and not scim_session.target.embedded:
        terminalreporter.write_line(scim_session.leftovers_hint(), red=True)
    for line, problem in scim_session.cleanup_lines():
        terminalreporter.write_line(line, red=problem)
    if scim_session.target.stats.throttled:
        terminalreporter.write_line(
            f"scimitar: target throttled {scim_session.target.stats.throttled} request(s)"
        )
    written = scim_session.written
    if written is not None and written.comparison is not None:
        comparison = written.comparison
        terminalreporter.write_line(f"scimitar: {comparison.summary_line()}", bold=True)
        for item in comparison.new:
            terminalreporter.write_line(f"  NEW   {item.id}: {item.message}", red=True)
        for item in comparison.known:
            terminalreporter.write_line(f"  known {item.id}")
        for item in comparison.fixed:
            terminalreporter.write_line(f"  fixed {item.id}", green=True)
    if scim_session.output_error:
        terminalreporter.write_line(
            f"scimitar: could not write the results: {scim_session.output_error}", red=True
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    """The verdict and the report's path, printed last: after pytest's own "N failed" lines, so
    they are what a person (or a CI log tail) sees first."""
    scim_session = config.stash.get(_SESSION, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if scim_session is None:
        return
    try:
        if reporter is not None:
            _print_verdict(scim_session, reporter)
    finally:
        if scim_session.ctrl_c_guard is not None:
            scim_session.ctrl_c_guard.restore()


def _print_verdict(scim_session: ScimSession, reporter: Any) -> None:
    if scim_session.results.target.get("schema_source") == "rfc-fallback":
        reporter.write_line(
            "scimitar: the target publishes no usable /Schemas; test data followed the RFC 7643 schemas"
        )
    comparison = scim_session.written.comparison if scim_session.written else None
    baseline_ok = comparison.ok if comparison is not None else None
    reporter.write_line(scim_session.results.summary_line(baseline_ok), bold=True)
    if scim_session.interrupted:
        report = scim_session.cleanup_report
        cleaned = report is not None and not report.failed and not scim_session.cleanup_interrupted
        reporter.write_line(
            "scimitar: interrupted: the results cover only what ran"
            + ("; what the run created was deleted" if cleaned else ""),
            yellow=True,
        )
    written = scim_session.written
    if written is not None:
        print_written(written, reporter.write_line)


# -- suites -----------------------------------------------------------------------------------------


def report_result(request: pytest.FixtureRequest, result: CheckResult) -> None:
    """Turn a `CheckResult` into the pytest outcome (the makereport hook adjusts warnings)."""
    if result.outcome is Outcome.PASSED:
        return
    if result.outcome is Outcome.SKIPPED:
        pytest.skip(result.message)
    request.node.user_properties.append((_OUTCOME, result.outcome.value))
    # One compact block per failure by default (the report has the whole story); -v for everything.
    verbose = int(request.config.getoption("verbose", 0) or 0) >= 1
    pytest.fail(result.details() if verbose else result.compact(), pytrace=False)


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
