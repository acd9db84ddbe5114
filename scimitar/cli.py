"""The `scimitar` command: test, fuzz, replay, serve, checks, cleanup, load.

`scimitar test` is pytest underneath (its progress line, `-k`, and anything after `--`), running
the suites *and* the IdP scenarios against one target; it always writes `reports/<run-id>/`
(results.json, report.html) and points `reports/latest` at it. The other subcommands are thin:
`replay` and `load` hand their parsed arguments to `scimitar.scenario.cli` and `scimitar.load.cli`,
`serve` to `scimitar.server.cli`, so each lives with the code it drives.

Exit codes: 0 all MUSTs met (with `--baseline`: no new MUST failure), 1 a MUST failed or a check
errored, 2 usage or configuration error, 3 the target is unreachable or rejects the credential, 130 Ctrl-C
(after deleting what the run created; a second Ctrl-C aborts that cleanup and says how to finish it).
Usage, configuration and target errors are printed as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from scimitar.options import (
    ConfigError,
    add_cli_arguments,
    explicit_target,
    resolve_target_options,
    to_pytest_args,
)
from scimitar.report.output import add_report_arguments
from scimitar.target import Target, TargetError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3
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
exit codes: 0 no MUST failure (or none new with --baseline), 1 MUST failures or errors,
2 usage or configuration error, 3 target unreachable or credential refused.
"""
MAIN_EPILOG = """examples:
  scimitar test                                   # everything against the embedded reference server
  SCIM_TOKEN=... scimitar test --target-url https://staging.example.com/scim/v2
  scimitar replay scenarios/okta/deactivate.yaml --quirk patch-active-ignored
  scimitar serve --quirk filter-ignored
  scimitar checks --tag patch
  scimitar cleanup --target-url https://staging.example.com/scim/v2 --dry-run
  scimitar load --workload okta-burst --duration 30s
  scimitar fuzz --max-requests 30 --max-duration 2m

`scimitar COMMAND --help` shows each command's options and examples.
exit codes: 0 ok, 1 MUST failures, 2 usage/configuration error, 3 target unreachable or credential refused.
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
  SCIM_TOKEN=... scimitar cleanup --target-url https://idp.example.com/scim/v2
  scimitar cleanup --target staging --prefix scimitar-1a2b3c- --dry-run

Only Users whose userName and Groups whose displayName start with the prefix are deleted.
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
    test.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="pytest -k expression over check ids and scenario files"
    )
    test.add_argument("-v", "--verbose", action="count", default=0, help="more pytest output")
    test.add_argument("-q", "--quiet", action="store_true", help="less pytest output")

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
    checks.add_argument("--tag", action="append", help="only checks with this tag, repeatable")
    checks.add_argument("--json", action="store_true", help="print the catalogue as JSON")

    cleanup = sub.add_parser(
        "cleanup",
        help="delete resources a run left behind (by name prefix)",
        epilog=CLEANUP_EPILOG,
        formatter_class=fmt,
        allow_abbrev=False,
    )
    add_cli_arguments(cleanup, "cleanup")
    cleanup.add_argument("--prefix", default="scimitar-", help="name prefix to match (default: scimitar-)")
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
    target = Target(options)
    target.start_run_deadline(run_options.max_duration)
    try:
        target.probe()
    except TargetError as exc:
        return _fail(str(exc), EXIT_TARGET)
    finally:
        target.close()

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

    code = int(pytest.main(args))
    if code == int(pytest.ExitCode.USAGE_ERROR):
        return EXIT_USAGE
    if code == int(pytest.ExitCode.NO_TESTS_COLLECTED):
        return _fail("no checks matched the selection", EXIT_USAGE)
    if code == int(pytest.ExitCode.INTERRUPTED):
        return EXIT_INTERRUPTED
    return code


def run_fuzz(ns: argparse.Namespace, pytest_extra: Sequence[str]) -> int:
    """`scimitar test --tag robustness --no-scenarios` with the per-check request budget set."""
    import os

    from scimitar.fuzz.explore import ENV_MAX_REQUESTS

    if ns.max_requests < 1:
        return _fail("--max-requests must be at least 1", EXIT_USAGE)
    ns.tag, ns.no_scenarios, ns.idp, ns.baseline, ns.keyword = ["robustness"], True, None, None, None
    previous = os.environ.get(ENV_MAX_REQUESTS)
    os.environ[ENV_MAX_REQUESTS] = str(ns.max_requests)
    try:
        return run_test(ns, pytest_extra)
    finally:
        if previous is None:
            os.environ.pop(ENV_MAX_REQUESTS, None)
        else:
            os.environ[ENV_MAX_REQUESTS] = previous


def run_checks(ns: argparse.Namespace) -> int:
    from scimitar.checks.registry import load_catalogue

    catalogue = [c for c in load_catalogue() if not ns.tag or any(t in c.tags for t in ns.tag)]
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
    return EXIT_OK


def run_cleanup(ns: argparse.Namespace) -> int:
    if not explicit_target(ns):
        return _fail("cleanup deletes resources: name the target with --target-url or --target", EXIT_USAGE)
    try:
        options = resolve_target_options(ns)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if not ns.prefix.startswith("scimitar-") and len(ns.prefix) < 4:
        return _fail(f"refusing the short prefix {ns.prefix!r}", EXIT_USAGE)
    from scimitar.exchange import Recorder
    from scimitar.run import Ledger

    target = Target(options)
    try:
        target.probe()
        client = target.client(target.masker(), Recorder())
        found = Ledger.leftovers(client, ns.prefix)
        if ns.dry_run:
            for item in found:
                print(f"would delete {item.path} ({item.name})")
            print(f"{len(found)} resource(s) match {ns.prefix!r}")
            return EXIT_OK
        report = Ledger.purge(client, found)
    except TargetError as exc:
        return _fail(str(exc), EXIT_TARGET)
    finally:
        target.close()
    names = {item.path: item.name for item in found}
    for path in report.deleted:
        print(f"deleted {path} ({names.get(path, '')})")
    for path, why in report.failed:
        print(f"could not delete {path}: {why}", file=sys.stderr)
    print(f"deleted {len(report.deleted)} resource(s) matching {ns.prefix!r}")
    return EXIT_FAILED if report.failed else EXIT_OK


def run_serve(ns: argparse.Namespace) -> int:
    try:
        from scimitar.server.cli import run
    except ImportError as exc:
        return _fail(f"the reference server is not available: {exc}", EXIT_USAGE)
    return int(run(ns))


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
        return _dispatch(parser, ns, pytest_extra)
    except KeyboardInterrupt:
        # The commands clean up on Ctrl-C themselves; this only keeps a late one from a traceback.
        return _fail("interrupted", EXIT_INTERRUPTED)


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
    parser.print_help()
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
