"""`scimitar replay FILE...`: run scenario files one by one, outside pytest.

For support engineers reproducing one IdP flow against one endpoint: it prints each step's
outcome (and the exchanges of a failing step, with curl lines whose credentials come from the
environment), writes the same run folder as `scimitar test` (`reports/<run-id>/report.html` and
results.json, `reports/latest`; `--reports-dir`, `--html`) plus `--json`/`--junit` when asked, so
the report can go to the customer, and deletes what it created, also after Ctrl-C. Exit codes
follow the rest of the CLI: 0 passed, 1 a scenario failed, 2 bad options or a malformed scenario
file, 3 the target cannot be tested, 4 nothing was verified (every scenario skipped), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from scimitar.exchange import Recorder
from scimitar.interrupt import CtrlCGuard
from scimitar.options import ConfigError, add_cli_arguments, resolve_run_options, resolve_target_options
from scimitar.report.output import Written, add_report_arguments, print_written, write_outputs
from scimitar.scenario.collect import PROFILE_ENV
from scimitar.scenario.engine import (
    ERROR,
    FAILED,
    SECOND_PASSWORD_ENV,
    SECOND_TOKEN_ENV,
    SECOND_USERNAME_ENV,
    Environment,
    ScenarioRunner,
    second_authorization_from_env,
)
from scimitar.scenario.loader import ScenarioLoadError, discover, load_scenario
from scimitar.scenario.observer import OBSERVER_ENV, factory_from_env, load_factory
from scimitar.target import Target, TargetError

if TYPE_CHECKING:
    from scimitar.results import Results

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TARGET, EXIT_NOTHING_VERIFIED, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files or directories")
    add_cli_arguments(parser, "replay")
    add_report_arguments(parser)
    group = parser.add_argument_group("scenarios")
    group.add_argument("--observer", metavar="MODULE:FACTORY",
                       help=f"observer/console plug-in for a remote target (env: {OBSERVER_ENV})")
    group.add_argument("--declare-profile", choices=("rfc", "clickhouse"),
                       help=f"the profile a remote target behaves as (env: {PROFILE_ENV})")
    group.add_argument("-q", "--quiet", action="store_true", help="print only failing steps and the summary")
    group.add_argument("--second-token", metavar="TOKEN",
                       help=f"a disposable second bearer token for credential-rotation scenarios on a remote "
                            f"target (prefer the env: {SECOND_TOKEN_ENV}, or {SECOND_USERNAME_ENV} and "
                            f"{SECOND_PASSWORD_ENV}); never the run's own credential")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    try:
        run_options = resolve_run_options(args)
        target_options = resolve_target_options(args)
        factory = load_factory(args.observer) if getattr(args, "observer", None) else factory_from_env()
    except (ConfigError, ValueError) as exc:
        print(f"scimitar: {exc}", file=sys.stderr)
        return EXIT_USAGE
    files = [f for name in args.files for f in discover(name)]
    if not files:
        print("scimitar: no scenario files found in " + ", ".join(args.files), file=sys.stderr)
        return EXIT_USAGE
    scenarios = []
    for file in files:
        try:
            scenarios.append(load_scenario(file))
        except ScenarioLoadError as exc:
            print(f"scimitar: {exc}", file=sys.stderr)
            return EXIT_USAGE

    from scimitar.results import Results
    from scimitar.run import Run

    target = Target(target_options)
    runs = Run(seed=run_options.seed, run_id=run_options.run_id)
    masker = target.masker()
    target.start_run_deadline(run_options.max_duration)
    try:
        target.probe(masker)
    except TargetError as exc:
        target.close()
        print(f"scimitar: {masker.mask_text(str(exc))}", file=sys.stderr)
        return EXIT_TARGET
    declared = getattr(args, "declare_profile", None) or os.environ.get(PROFILE_ENV) or None
    second = second_authorization_from_env(os.environ, getattr(args, "second_token", None))
    env = Environment(target=target, run=runs, masker=masker, observer_factory=factory, declared_profile=declared,
                      second_authorization=None if target.embedded else second)
    runner = ScenarioRunner(env)
    results = Results(run_id=runs.run_id, target=target.describe(), seed=runs.seed, masker=masker)
    written: Written | None = None
    output_error: str | None = None
    worst = EXIT_OK
    guard = CtrlCGuard()  # the first Ctrl-C ends the replay, a second aborts the cleanup (see interrupt)
    try:
        for scenario in scenarios:
            result = runner.run(scenario)
            results.add_scenario(result)
            failed = result.outcome in (FAILED, ERROR)
            if not getattr(args, "quiet", False) or failed:
                print(masker.mask_text(result.render(transcripts=failed)), file=stream)
                print(file=stream)
            if failed:
                worst = EXIT_FAILED
    except KeyboardInterrupt:
        print("scimitar: interrupted; deleting what the run created (Ctrl-C again to abort)", file=sys.stderr)
        worst = EXIT_INTERRUPTED
        results.interrupted = True
    finally:
        if guard.interrupted and not results.interrupted:  # pressed while a scenario was unwinding
            worst = EXIT_INTERRUPTED
            results.interrupted = True
        target.begin_cleanup()  # the cleanup runs after --max-duration too (bounded)
        try:
            # The ledger, then a sweep by the run's prefix: a create whose response Ctrl-C cut off.
            if not guard.enter_cleanup():
                raise KeyboardInterrupt  # pressed twice before the cleanup began: skip it
            report = runs.cleanup(target.client(masker, Recorder()))
            for path, why in report.failed:
                print(f"scimitar: cleanup could not delete {path}: {why}", file=sys.stderr)
            for path, what in report.still_present:  # a soft delete: reported, judged by the checks
                print(f"scimitar: cleanup: {path} is still present: {what}", file=sys.stderr)
            results.extra["cleanup"] = {**report.to_json(), "prefix": runs.prefix}
            if report.failed:  # resources may be left: never a green run (as `scimitar test`)
                worst = EXIT_FAILED if worst == EXIT_OK else worst
                if not target.embedded:
                    print(
                        f"scimitar: cleanup incomplete; finish with: scimitar cleanup --target-url "
                        f"{target.base_url} --run-id {runs.run_id}",
                        file=sys.stderr,
                    )
        except KeyboardInterrupt:
            worst = EXIT_INTERRUPTED
            results.interrupted = True
            if not target.embedded:
                print(
                    f"scimitar: cleanup interrupted; resources named {runs.prefix}* may be left, delete "
                    f"them with: scimitar cleanup --target-url {target.base_url} --prefix {runs.prefix}",
                    file=sys.stderr,
                )
        guard.soften()
        results.finish()
        try:
            written = write_outputs(
                results,
                reports_dir=getattr(args, "reports_dir", "reports"),
                json_path=run_options.json,
                junit_path=run_options.junit,
                html_path=getattr(args, "html", None),
            )
        except OSError as exc:
            output_error = str(exc)
        target.close()
    try:
        for line in readiness_lines(results):
            print(line, file=stream)
        print(results.summary_line(), file=stream)
        if output_error is not None:
            print(f"scimitar: could not write the results: {output_error}", file=sys.stderr)
            if worst == EXIT_OK:
                worst = EXIT_USAGE  # as `scimitar test`: a run whose results are lost is not a pass
        if written is not None:
            print_written(written, lambda line: print(line, file=stream))
    finally:
        guard.restore()
    if worst == EXIT_OK and results.nothing_verified:
        return EXIT_NOTHING_VERIFIED
    return worst


def readiness_lines(results: Results) -> list[str]:
    """The readiness verdict (`scimitar.readiness`), one line per IdP, under a heading."""
    lines = [v["line"] for v in results.readiness()]
    return ["readiness:", *("  " + line for line in lines), ""] if lines else []


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point until `scimitar.cli` wires the subcommand."""
    parser = argparse.ArgumentParser(prog="scimitar replay", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
