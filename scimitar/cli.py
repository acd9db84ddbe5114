"""The `scimitar` command: test, checks, cleanup, serve (replay and load to come).

Exit codes: 0 all MUSTs met, 1 a MUST failed or a check errored, 2 usage or configuration error,
3 the target is unreachable or rejects the credential. Usage, configuration and target errors are
printed as one line on stderr, never as a traceback.
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
from scimitar.target import Target, TargetError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3


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


TEST_EPILOG = """examples:
  scimitar test                                   # the embedded reference server, strict RFC profile
  scimitar test --quirk filter-ignored            # ... with a known server bug switched on
  SCIM_TOKEN=... scimitar test --target-url https://idp.example.com/scim/v2 --json reports/run.json
  scimitar test --target staging --config scimitar.yaml --tag filter --junit reports/junit.xml
  scimitar test -k "rfc7644-4" -- -x -vv          # arguments after -- go to pytest
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
  scimitar serve --profile clickhouse --quirk email-case-kept
"""


def build_parser(*, with_serve_arguments: bool = False) -> argparse.ArgumentParser:
    parser = _Parser(prog="scimitar", description="SCIM 2.0 compliance test harness.", allow_abbrev=False)
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
    test.add_argument("-k", dest="keyword", metavar="EXPR", help="pytest -k expression over check ids")
    test.add_argument("-v", "--verbose", action="count", default=0, help="more pytest output")
    test.add_argument("-q", "--quiet", action="store_true", help="less pytest output")

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
    if with_serve_arguments:
        try:
            from scimitar.server.cli import add_arguments
        except ImportError:
            pass  # the reference server's CLI is not installed yet; `run_serve` says so
        else:
            add_arguments(serve)
    # Room for `replay` (IdP scenario replays, options group "replay") and `load` (locust in its own
    # process, options group "load"): both take the same target options via add_cli_arguments.
    return parser


# -- commands -----------------------------------------------------------------------------------------


def run_test(ns: argparse.Namespace, pytest_extra: Sequence[str]) -> int:
    try:
        options = resolve_target_options(ns)
        from scimitar.options import resolve_run_options

        resolve_run_options(ns)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_USAGE)
    target = Target(options)
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
    # Scenario files (scenarios/) will be collected here as well once the scenario plugin exists.
    args = [
        str(suites),
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
    args += to_pytest_args(ns)
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
        return 130
    return code


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


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    pytest_extra: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, pytest_extra = args[:cut], args[cut + 1 :]
    parser = build_parser(with_serve_arguments=bool(args) and args[0] == "serve")
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if ns.command == "test":
        return run_test(ns, pytest_extra)
    if pytest_extra:
        return _fail("arguments after -- are only accepted by `scimitar test`", EXIT_USAGE)
    if ns.command == "checks":
        return run_checks(ns)
    if ns.command == "cleanup":
        return run_cleanup(ns)
    if ns.command == "serve":
        return run_serve(ns)
    parser.print_help()
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
