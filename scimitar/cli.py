"""The `scimitar` command: test, fuzz, replay, serve, checks, cleanup, load.

`scimitar test` is pytest underneath (its progress line, `-k`, and anything after `--`), running
the suites *and* the IdP scenarios against one target; it always writes `reports/<run-id>/`
(results.json, report.html) and points `reports/latest` at it. The other subcommands are thin:
`replay` and `load` hand their parsed arguments to `scimitar.scenario.cli` and `scimitar.load.cli`,
`serve` to `scimitar.server.cli`, so each lives with the code it drives.

Exit codes: 0 all MUSTs met (with `--baseline`: no new MUST failure), 1 a MUST failed, a check
errored or the cleanup could not delete something, 2 usage or configuration error, 3 the target is
unreachable or rejects the credential, 4 nothing was verified (every selected check and scenario
skipped), 130 Ctrl-C (after deleting what the run created; a second Ctrl-C aborts that cleanup and
says how to finish it).
Usage, configuration and target errors are printed as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from scimitar.options import (
    ConfigError,
    add_cli_arguments,
    explicit_target,
    resolve_target_options,
    to_pytest_args,
)
from scimitar.report.output import add_report_arguments
from scimitar.target import Target, TargetError

if TYPE_CHECKING:
    from scimitar.run import RunMatch

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TARGET, EXIT_NOTHING_VERIFIED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `scimitar test: error: ... (see --help)`."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _fail(message: str, code: int) -> int:
    print(f"scimitar: {message}", file=sys.stderr)
    return code


def _package_root() -> Path:
    import scimitar

    return Path(scimitar.__file__).resolve().parent


def suites_dir() -> Path | None:
    """The suites: packaged in a wheel (`scimitar/_suites`), the repository's `suites/`, or ./suites."""
    pkg = _package_root()
    for candidate in (pkg / "_suites", pkg.parent / "suites", Path.cwd() / "suites"):
        if candidate.is_dir():
            return candidate
    return None


def scenarios_dir() -> Path | None:
    """The scenarios: the repository's `scenarios/`, packaged `scimitar/_scenarios`, or ./scenarios.

    The checkout comes first so scenario ids read `scenarios/okta/...` as in the repository.
    """
    pkg = _package_root()
    for candidate in (pkg.parent / "scenarios", pkg / "_scenarios", Path.cwd() / "scenarios"):
        if (candidate / "scenario.schema.json").is_file():
            return candidate
    return None


TEST_EPILOG = """examples:
  scimitar test                                   # suites + scenarios, embedded reference server
  scimitar test --quirk filter-ignored            # ... with a known server bug switched on
  SCIM_TOKEN=... scimitar test --target-url https://idp.example.com/scim/v2 --json reports/run.json
  SCIM_USERNAME=scim_... SCIM_PASSWORD=... scimitar test --target-url https://ch.example.com/scim/v2
  scimitar test --target staging --config scimitar.yaml --tag filter --junit reports/junit.xml
  scimitar test --section 3.4.2 --tag patch       # checks only: by RFC section text and feature tag
  scimitar test --idp okta                        # Okta's scenarios and the okta-* checks
  scimitar test --baseline reports/main.json      # fail only on MUST failures not in the baseline
  scimitar test -k "rfc7644-4" -- -x -vv          # arguments after -- go to pytest

outputs: reports/<run-id>/results.json and report.html, reports/latest -> the newest run.
exit codes: 0 no MUST failure (or none new with --baseline), 1 MUST failures, errors or an
incomplete cleanup, 2 usage or configuration error, 3 target unreachable or credential refused,
4 nothing verified (everything skipped), 130 interrupted (Ctrl-C).
"""
MAIN_EPILOG = """examples:
  scimitar test                                   # everything against the embedded reference server
  SCIM_TOKEN=... scimitar test --target-url https://staging.example.com/scim/v2
  scimitar replay scenarios/okta/deactivate.yaml --quirk patch-active-ignored
  scimitar serve --quirk filter-ignored
  scimitar record --upstream https://staging.example.com/scim/v2 --listen 127.0.0.1:8089 --out recording.yaml
  scimitar diagnose recording.yaml
  scimitar checks --tag patch
  scimitar cleanup --target-url https://staging.example.com/scim/v2 --run-id 1a2b3c --dry-run
  scimitar load --workload okta-burst --duration 30s
  scimitar fuzz --max-requests 30 --max-duration 2m

`scimitar COMMAND --help` shows each command's options and examples.
exit codes: 0 ok, 1 MUST failures or an incomplete cleanup, 2 usage/configuration error,
3 target unreachable or credential refused.
"""
FUZZ_EPILOG = """`scimitar fuzz` runs the robustness checks (`scimitar checks --tag robustness`): each sends up
to --max-requests generated malformed requests (invalid JSON, wrong types for each declared
attribute, malformed filters and PATCH paths, oversized values, bad Content-Types), seeded by
--seed, and reports the smallest failing request with its curl line. Only the run's own
resources are written; --max-duration bounds the whole run.

examples:
  scimitar fuzz                                   # the embedded reference server
  scimitar fuzz --quirk bad-json-500              # see a finding: the smallest request, its curl line
  SCIM_TOKEN=... scimitar fuzz --target-url https://staging.example.com/scim/v2 --max-requests 20 --max-duration 2m
"""
REPLAY_EPILOG = """examples:
  scimitar replay scenarios/okta/deactivate.yaml                     # embedded reference server
  scimitar replay scenarios/okta/deactivate.yaml --quirk patch-active-ignored   # reproduce a bug
  SCIM_TOKEN=... scimitar replay scenarios/entra --target-url https://idp.example.com/scim/v2
  scimitar replay scenarios/clickhouse --json reports/replay.json --quiet
"""
CHECKS_EPILOG = """examples:
  scimitar checks
  scimitar checks --tag patch
  scimitar checks --json > catalogue.json
"""
CLEANUP_EPILOG = """examples:
  SCIM_TOKEN=... scimitar cleanup --target-url https://idp.example.com/scim/v2 --run-id 1a2b3c --dry-run
  SCIM_TOKEN=... scimitar cleanup --target-url https://idp.example.com/scim/v2 --run-id 1a2b3c
  scimitar cleanup --target staging --all-runs --dry-run

Only Users whose userName and Groups whose displayName start with scimitar-<run id>- are listed
and deleted (run id: 1-16 lowercase letters or digits, as in the report's header and results.json).
Names such as scimitar-foo@example.com or scimitar-team are never touched. Each deletion is
verified by a re-read; exit 0 only when every listed resource is gone.
"""
SERVE_EPILOG = """examples:
  scimitar serve --port 8000
  scimitar serve --token dev-token                    # accept this Bearer token
  scimitar serve --profile clickhouse --quirk email-case-kept
  scimitar serve --list-quirks
"""
LOAD_EPILOG = """examples:
  scimitar load --workload okta-burst --users 20 --duration 30s
  scimitar load --list-workloads
"""


def build_parser(
    *, with_serve_arguments: bool = False, command: str | None = None
) -> argparse.ArgumentParser:
    """The parser; the arguments of `serve`, `replay` and `load` are only added when that
    subcommand runs, so `scimitar test` does not import the server, scenario or locust code."""
    if with_serve_arguments:
        command = "serve"
    parser = _Parser(
        prog="scimitar",
        description="SCIM 2.0 compliance test harness.",
        epilog=MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    fmt = argparse.RawDescriptionHelpFormatter

    test = sub.add_parser(
        "test",
        help="run the conformance suites against a target",
        epilog=TEST_EPILOG,
        formatter_class=fmt,
        allow_abbrev=False,
    )
    add_cli_arguments(test, "test")
    report = add_report_arguments(test)
    report.add_argument(
        "--baseline",
        metavar="PATH",
        help="earlier JSON results: only MUST failures not in it fail the run; fixed ones are listed",
    )
    select = test.add_argument_group("scenarios")
    select.add_argument(
        "--idp",
        action="append",
        choices=("okta", "entra", "clickhouse"),
        help="run this IdP's scenarios and its okta-/entra-/clickhouse- checks, repeatable",
    )
    select.add_argument("--no-scenarios", action="store_true", help="run the suites only")
    select.add_argument(
        "--observer",
        metavar="MODULE:FACTORY",
        help="observer/console plug-in for a remote target's console scenarios (env: SCIMITAR_OBSERVER)",
    )
    select.add_argument(
        "--declare-profile",
        choices=("rfc", "clickhouse"),
        help="the profile a remote target behaves as (env: SCIMITAR_TARGET_PROFILE)",
    )
    test.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="pytest -k expression over check ids and scenario files"
    )
    test.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="one line per check, and every exchange of a failure in full (default: one short block each)",
    )
    test.add_argument("-q", "--quiet", action="store_true", help="less pytest output (no per-suite progress lines)")

    fuzz = sub.add_parser(
        "fuzz",
        help="send bounded, seeded malformed requests to a target (the robustness checks)",
        epilog=FUZZ_EPILOG,
        formatter_class=fmt,
        allow_abbrev=False,
    )
    add_cli_arguments(fuzz, "test")
    add_report_arguments(fuzz)
    fuzz.add_argument(
        "--max-requests",
        type=int,
        default=60,
        metavar="N",
        help="generated requests each robustness check may send (default 60)",
    )
    fuzz.add_argument("-v", "--verbose", action="count", default=0, help="more pytest output")
    fuzz.add_argument("-q", "--quiet", action="store_true", help="less pytest output")

    replay = sub.add_parser(
        "replay",
        help="replay IdP scenario files step by step (support: reproduce a customer's flow)",
        epilog=REPLAY_EPILOG,
        formatter_class=fmt,
        allow_abbrev=False,
    )
    if command == "replay":
        from scimitar.scenario.cli import add_arguments as add_replay_arguments

        add_replay_arguments(replay)

    checks = sub.add_parser(
        "checks",
        help="list the check catalogue",
        epilog=CHECKS_EPILOG,
        formatter_class=fmt,
        allow_abbrev=False,
    )
    checks.add_argument(
        "--tag",
        action="append",
        help="only checks with this tag (or named after this IdP: okta, entra, clickhouse), repeatable",
    )
    checks.add_argument("--json", action="store_true", help="print the catalogue as JSON")

    cleanup = sub.add_parser(
        "cleanup",
        help="delete resources a run left behind (by its run id)",
        epilog=CLEANUP_EPILOG,
        formatter_class=fmt,
        allow_abbrev=False,
    )
    add_cli_arguments(cleanup, "cleanup")
    which = cleanup.add_argument_group("which run (one is required)")
    which.add_argument(
        "--run-id", metavar="ID", help="the run whose resources (named scimitar-ID-...) are deleted"
    )
    which.add_argument(
        "--all-runs", action="store_true", help="every scimitar run's resources (scimitar-<run id>-...)"
    )
    which.add_argument(
        "--prefix", metavar="PREFIX", help="the same as --run-id, given as the exact prefix scimitar-ID-"
    )
    cleanup.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")

    serve = sub.add_parser(
        "serve", help="run the reference server", epilog=SERVE_EPILOG, formatter_class=fmt, allow_abbrev=False
    )
    if command == "serve":
        try:
            from scimitar.server.cli import add_arguments
        except ImportError:
            pass  # the reference server's CLI is not installed yet; `run_serve` says so
        else:
            add_arguments(serve)

    record = sub.add_parser(
        "record",
        help="record an IdP's traffic (proxy or HAR file) into a replayable scenario",
        formatter_class=fmt,
        allow_abbrev=False,
    )
    if command == "record":
        from scimitar.record.cli import add_arguments as add_record_arguments

        add_record_arguments(record)
    diagnose = sub.add_parser(
        "diagnose",
        help="rank the reference server's quirks that reproduce a scenario's failure",
        formatter_class=fmt,
        allow_abbrev=False,
    )
    if command == "diagnose":
        from scimitar.diagnose import add_arguments as add_diagnose_arguments

        add_diagnose_arguments(diagnose)

    load = sub.add_parser(
        "load",
        help="load-test with locust: provisioning bursts, thresholds, integrity audit",
        epilog=LOAD_EPILOG,
        formatter_class=fmt,
        allow_abbrev=False,
    )
    if command == "load":
        from scimitar.load.cli import add_arguments as add_load_arguments

        add_load_arguments(load)  # sets its own, longer epilog
    return parser


# -- commands -----------------------------------------------------------------------------------------


def run_test(ns: argparse.Namespace, pytest_extra: Sequence[str]) -> int:
    try:
        options = resolve_target_options(ns)
        from scimitar.options import resolve_run_options

        run_options = resolve_run_options(ns)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if ns.baseline:
        from scimitar.report.baseline import BaselineError, load_baseline

        try:
            load_baseline(ns.baseline)
        except BaselineError as exc:
            return _fail(str(exc), EXIT_USAGE)
    if ns.observer:
        from scimitar.scenario.observer import load_factory

        try:
            load_factory(ns.observer)  # one line now, not a collection error later
        except ValueError as exc:
            return _fail(str(exc), EXIT_USAGE)
    target = Target(options)
    target.start_run_deadline(run_options.max_duration)
    try:
        target.probe()
    except TargetError as exc:
        return _fail(target.masker().mask_text(str(exc)), EXIT_TARGET)
    finally:
        target.close()
    # The scenario collector and the plugin read these (as `replay` does), in this process.
    if ns.observer:
        os.environ["SCIMITAR_OBSERVER"] = ns.observer
    if ns.declare_profile:
        os.environ["SCIMITAR_TARGET_PROFILE"] = ns.declare_profile

    suites = suites_dir()
    if suites is None:
        return _fail(
            "cannot find the suites directory (looked in the package, the checkout and ./suites)", EXIT_USAGE
        )
    paths = [str(suites)]
    scenarios = None if ns.no_scenarios else scenarios_dir()
    if scenarios is not None:
        paths.append(str(scenarios))
    elif ns.idp:
        return _fail("--idp selects scenarios, but none were found (or --no-scenarios was given)", EXIT_USAGE)
    args = [
        *paths,
        "-p",
        "scimitar.pytest_plugin",
        "-p",
        "no:locust",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(suites.parent),
        # httpx/anyio are imported before pytest starts, so pytest cannot rewrite anyio's plugin.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if scenarios is not None:
        args += ["-p", "scimitar.scenario.collect"]
    args += to_pytest_args(ns)
    args.append(f"--scim-reports-dir={ns.reports_dir}")
    if ns.html:
        args.append(f"--scim-html={ns.html}")
    if ns.baseline:
        args.append(f"--scim-baseline={ns.baseline}")
    for idp in ns.idp or ():
        args.append(f"--scim-idp={idp}")
    if ns.keyword:
        args += ["-k", ns.keyword]
    if ns.quiet:
        args.append("-q")
    args += ["-v"] * ns.verbose
    args += list(pytest_extra)

    import pytest

    probe = _VerdictProbe()
    code = int(pytest.main(args, plugins=[probe]))
    if code == int(pytest.ExitCode.USAGE_ERROR):
        return EXIT_USAGE
    if code == int(pytest.ExitCode.NO_TESTS_COLLECTED):
        return _fail("no checks matched the selection", EXIT_USAGE)
    if code == int(pytest.ExitCode.INTERRUPTED):
        # pytest says "interrupted" for Ctrl-C *and* for a file it could not collect.
        if probe.collection_errors and not probe.keyboard_interrupt:
            return _fail(
                f"{probe.collection_errors} file(s) could not be loaded (see above); nothing was run", EXIT_USAGE
            )
        return EXIT_INTERRUPTED
    if code == EXIT_OK and probe.verdict == "SKIPPED":
        return EXIT_NOTHING_VERIFIED
    return code


def run_fuzz(ns: argparse.Namespace, pytest_extra: Sequence[str]) -> int:
    """`scimitar test --tag robustness --no-scenarios` with the per-check request budget set."""
    import os

    from scimitar.fuzz.explore import ENV_MAX_REQUESTS

    if ns.max_requests < 1:
        return _fail("--max-requests must be at least 1", EXIT_USAGE)
    ns.tag, ns.no_scenarios, ns.idp, ns.baseline, ns.keyword = ["robustness"], True, None, None, None
    for name in ("observer", "declare_profile"):  # scenario options: fuzz runs no scenario
        if not hasattr(ns, name):
            setattr(ns, name, None)
    previous = os.environ.get(ENV_MAX_REQUESTS)
    os.environ[ENV_MAX_REQUESTS] = str(ns.max_requests)
    try:
        return run_test(ns, pytest_extra)
    finally:
        if previous is None:
            os.environ.pop(ENV_MAX_REQUESTS, None)
        else:
            os.environ[ENV_MAX_REQUESTS] = previous


class _VerdictProbe:
    """A pytest plugin object that keeps the run's verdict word for `run_test`'s exit code."""

    verdict: str | None = None
    collection_errors = 0
    keyboard_interrupt = False

    def pytest_collectreport(self, report: object) -> None:
        if getattr(report, "failed", False):
            self.collection_errors += 1

    def pytest_keyboard_interrupt(self, excinfo: object) -> None:
        # pytest reports its own stop after collection errors (`Session.Interrupted`) here too.
        if type(getattr(excinfo, "value", None)).__name__ != "Interrupted":
            self.keyboard_interrupt = True

    def pytest_unconfigure(self, config: object) -> None:
        from scimitar.pytest_plugin import existing_session

        session = existing_session(config)  # type: ignore[arg-type]
        if session is not None:
            comparison = session.written.comparison if session.written else None
            self.verdict = session.results.verdict(comparison.ok if comparison is not None else None)


def run_checks(ns: argparse.Namespace) -> int:
    from scimitar.checks.registry import load_catalogue

    everything = load_catalogue()
    idps = ("okta", "entra", "clickhouse")
    known = sorted({t for c in everything for t in c.tags})
    unknown = [t for t in ns.tag or () if t not in known and t not in idps]
    if unknown:
        return _fail(
            f"unknown tag {unknown[0]!r}; tags: {', '.join(known)}; IdPs (checks named after them): "
            + ", ".join(idps),
            EXIT_USAGE,
        )

    def selected(check: object) -> bool:
        # An IdP name selects the checks named after it (`okta-...`), as `scimitar test --idp` does.
        tags, cid = getattr(check, "tags", ()), str(getattr(check, "id", ""))
        return any(t in tags or (t in idps and cid.startswith(f"{t}-")) for t in ns.tag)

    catalogue = [c for c in everything if not ns.tag or selected(c)]
    if ns.json:
        print(
            json.dumps(
                [
                    {
                        "id": c.id,
                        "level": c.requirement,
                        "section": c.section,
                        "title": c.title,
                        "tags": list(c.tags),
                        "serial": c.serial,
                        "needs": list(c.needs),
                        "broken_by": list(c.broken_by),
                        "source": c.source,
                        "doc": c.doc,
                    }
                    for c in catalogue
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    width = max((len(c.id) for c in catalogue), default=10)
    section_width = max((len(c.section) for c in catalogue), default=10)
    for c in catalogue:
        print(f"{c.id:<{width}}  {c.requirement:<6}  {c.section:<{section_width}}  {c.title}")
    print(f"{len(catalogue)} checks")
    if ns.tag and not catalogue:
        print("no check carries these tags; IdP flows are scenarios: see `scimitar replay --help`")
    return EXIT_OK


def _cleanup_match(ns: argparse.Namespace) -> RunMatch:
    """The run(s) `scimitar cleanup` may touch: exactly one of --run-id, --prefix, --all-runs."""
    from scimitar.run import RunMatch

    given = [flag for flag, value in (("--run-id", ns.run_id), ("--prefix", ns.prefix), ("--all-runs", ns.all_runs)) if value]
    if not given:
        raise ValueError(
            "cleanup deletes only a run's resources: name it with --run-id ID (in the report's header "
            "and results.json), or sweep every run with --all-runs"
        )
    if len(given) > 1:
        raise ValueError(f"give only one of {', '.join(given)}")
    if ns.all_runs:
        return RunMatch(None)
    if ns.prefix:
        return RunMatch.from_prefix(ns.prefix)
    return RunMatch(ns.run_id)


def run_cleanup(ns: argparse.Namespace) -> int:
    """List the run's resources, delete exactly those, and verify each is gone (see CLEANUP_EPILOG)."""
    if not explicit_target(ns):
        return _fail("cleanup deletes resources: name the target with --target-url or --target", EXIT_USAGE)
    try:
        match = _cleanup_match(ns)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        options = resolve_target_options(ns)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_USAGE)
    from scimitar.exchange import Recorder
    from scimitar.run import CleanupError, Ledger

    target = Target(options)
    try:
        target.probe()
        client = target.client(target.masker(), Recorder())
        found = Ledger.leftovers(client, match)
        verb = "would delete" if ns.dry_run else "will delete"
        for item in found:
            print(f"{verb} {item.path} ({item.name})")
        print(f"{len(found)} resource(s) named {match.describe()}")
        if ns.dry_run or not found:
            return EXIT_OK
        report = Ledger.purge(client, found)
    except CleanupError as exc:  # the probe passed, then a listing was refused: nothing deleted
        return _fail(str(exc), EXIT_FAILED)
    except TargetError as exc:
        return _fail(target.masker().mask_text(str(exc)), EXIT_TARGET)
    finally:
        target.close()
    names = {item.path: item.name for item in found}
    for path in report.deleted:
        print(f"deleted {path} ({names.get(path, '')})")
    for path, what in report.still_present:
        print(f"still present {path} ({names.get(path, '')}): {what}", file=sys.stderr)
    for path, why in report.failed:
        print(f"could not delete {path} ({names.get(path, '')}): {why}", file=sys.stderr)
    print(f"{report.summary()} (of {len(found)} named {match.describe()})")
    if report.still_present:
        print(
            "scimitar: the target keeps resources it answered DELETE for (soft delete; RFC 7644 §3.6 "
            "requires 404 for them): remove them in the product",
            file=sys.stderr,
        )
    return EXIT_OK if report.complete else EXIT_FAILED


def run_serve(ns: argparse.Namespace) -> int:
    try:
        from scimitar.server.cli import run
    except ImportError as exc:
        return _fail(f"the reference server is not available: {exc}", EXIT_USAGE)
    port = getattr(ns, "port", 0)
    if isinstance(port, int) and not 0 <= port <= 65535:
        return _fail(f"--port {port} is not a TCP port (0-65535; 0 picks a free one)", EXIT_USAGE)
    try:
        return int(run(ns))
    except OSError as exc:  # the address is taken or not ours to bind
        host = getattr(ns, "host", "127.0.0.1")
        return _fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE)


def run_replay(ns: argparse.Namespace) -> int:
    from scimitar.scenario.cli import run

    return int(run(ns))


def run_load(ns: argparse.Namespace) -> int:
    from scimitar.load.cli import run

    return int(run(ns))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    pytest_extra: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, pytest_extra = args[:cut], args[cut + 1 :]
    parser = build_parser(command=args[0] if args else None)
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code = _dispatch(parser, ns, pytest_extra)
    except KeyboardInterrupt:
        # The commands clean up on Ctrl-C themselves; this only keeps a late one from a traceback.
        code = _fail("interrupted", EXIT_INTERRUPTED)
    if argv is None and ns.command in ("test", "replay"):
        # The process is about to exit with its code: a Ctrl-C during interpreter shutdown
        # would otherwise kill it by SIGINT and lose that code (the shell would see -2, not 130).
        import signal

        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code


def _dispatch(parser: argparse.ArgumentParser, ns: argparse.Namespace, pytest_extra: Sequence[str]) -> int:
    if ns.command == "test":
        return run_test(ns, pytest_extra)
    if ns.command == "fuzz":
        return run_fuzz(ns, pytest_extra)
    if pytest_extra:
        return _fail("arguments after -- are only accepted by `scimitar test`", EXIT_USAGE)
    if ns.command == "checks":
        return run_checks(ns)
    if ns.command == "cleanup":
        return run_cleanup(ns)
    if ns.command == "serve":
        return run_serve(ns)
    if ns.command == "replay":
        return run_replay(ns)
    if ns.command == "load":
        return run_load(ns)
    if ns.command == "record":
        from scimitar.record.cli import run as run_record

        return int(run_record(ns))
    if ns.command == "diagnose":
        from scimitar.diagnose import run as run_diagnose

        return int(run_diagnose(ns))
    parser.print_help()
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
