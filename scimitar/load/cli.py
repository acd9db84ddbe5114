"""`scimitar load`: replay Okta's provisioning bursts with locust, gate on thresholds, audit, clean up.

Exit codes: 0 thresholds met and the audit is clean, 1 a threshold or the audit failed (or locust
produced no results), 2 usage, 3 the target is unreachable or rejects the credential.

Distributed (all on loopback):
  --workers N                      one master and N workers, started here
  --master --expect-workers N      only the master; start workers elsewhere on this host with
  scimitar load --worker --master-port P --target-url URL --run-id ID   (SCIM_TOKEN in the env)
Workers write their records into reports/<run-id>/load/, so they must share that folder.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scimitar.load import workloads as w
from scimitar.options import ConfigError, add_cli_arguments, resolve_run_options, resolve_target_options
from scimitar.target import Target, TargetError, TargetOptions

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3
SUMMARY_SCHEMA = "scimitar-load-summary/1"
#: Default of `--grace`: after the duration, locust's stop, the audit and the cleanup share it.
DEFAULT_GRACE_S = 30.0
#: The audit and cleanup get at least this long, even when locust used the whole grace.
MIN_AFTER_S = 5.0

EPILOG = """examples:
  scimitar load --workload okta-burst --users 20 --spawn-rate 10 --duration 30s
  SCIM_TOKEN=... scimitar load --target-url https://idp.example.com/scim/v2 --workload steady \\
      --users 10 --duration 2m --max-requests 20000 --max-p95-ms 500 --max-error-rate 0.01
  scimitar load --quirk throttle-429 --workload okta-push-groups --duration 10s
  scimitar load --workers 2 --workload okta-burst --duration 20s      # master + 2 workers, loopback
  scimitar load --list-workloads
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_cli_arguments(parser, "load")
    load = parser.add_argument_group("load")
    load.add_argument("--workload", choices=sorted(w.WORKLOADS), default="okta-burst")
    load.add_argument("--list-workloads", action="store_true", help="list the workloads and exit")
    load.add_argument("--users", type=int, default=10, help="concurrent locust users (default: 10)")
    load.add_argument("--spawn-rate", type=float, help="users started per second (default: --users)")
    load.add_argument("--duration", default="60s", help="run time, e.g. 30s, 2m (default: 60s)")
    load.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_S,
        metavar="SECONDS",
        help="time after --duration for locust to stop, the audit and the cleanup: the command ends by "
        "duration + grace whatever the target does; what is left is printed with the scimitar cleanup "
        f"line (default: {DEFAULT_GRACE_S:g})",
    )
    load.add_argument(
        "--max-requests", type=int, default=100_000, help="stop after this many requests (default: 100000)"
    )
    load.add_argument("--batch", type=int, default=10, help="users per members PATCH in group pushes")
    load.add_argument("--groups", type=int, default=3, help="shared groups a push fills (default: 3)")
    load.add_argument("--reports-dir", default="reports", help="results go to <dir>/<run-id>/load/")
    load.add_argument("--no-cleanup", action="store_true", help="leave what the load created")
    load.add_argument(
        "--progress-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="print a progress line this often while locust runs; 0: never (default: 5)",
    )
    gate = parser.add_argument_group("thresholds (exit 1 when not met)")
    gate.add_argument("--max-p95-ms", type=float, metavar="MS", help="95th percentile over all requests")
    gate.add_argument(
        "--max-error-rate", type=float, metavar="RATIO", help="failed/all requests, 429 retried excluded"
    )
    gate.add_argument("--min-rps", type=float, metavar="N", help="requests per second over the run")
    dist = parser.add_argument_group("distributed (loopback)")
    dist.add_argument("--workers", type=int, default=0, help="start a master and N local workers")
    dist.add_argument("--master", action="store_true", help="run only the master (127.0.0.1)")
    dist.add_argument("--expect-workers", type=int, default=0, help="workers the master waits for")
    dist.add_argument("--worker", action="store_true", help="run only a worker")
    dist.add_argument("--master-host", default="127.0.0.1")
    dist.add_argument("--master-port", type=int, default=5557)


def _fail(message: str, code: int) -> int:
    print(f"scimitar load: {message}", file=sys.stderr)
    return code


def _validate(args: argparse.Namespace) -> float:
    duration = w.parse_duration(str(args.duration))
    if args.users < 1:
        raise ConfigError("--users must be at least 1")
    if args.spawn_rate is not None and args.spawn_rate <= 0:
        raise ConfigError("--spawn-rate must be positive")
    if args.max_requests < 1:
        raise ConfigError("--max-requests must be at least 1")
    if args.workers < 0 or args.expect_workers < 0:
        raise ConfigError("--workers/--expect-workers cannot be negative")
    if sum([args.workers > 0, bool(args.master), bool(args.worker)]) > 1:
        raise ConfigError("give one of --workers, --master, --worker")
    if args.master and args.expect_workers < 1:
        raise ConfigError("--master needs --expect-workers N")
    if args.worker and not args.target_url:
        raise ConfigError("--worker needs --target-url (the master's target)")
    if args.worker and not args.run_id:
        raise ConfigError("--worker needs the master's --run-id")
    for name in ("max_p95_ms", "max_error_rate", "min_rps"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise ConfigError(f"--{name.replace('_', '-')} cannot be negative")
    if args.batch < 1 or args.groups < 1:
        raise ConfigError("--batch and --groups must be at least 1")
    if getattr(args, "grace", DEFAULT_GRACE_S) <= 0:
        raise ConfigError("--grace must be positive")
    return duration


def run(args: argparse.Namespace) -> int:
    if args.list_workloads:
        width = max(len(n) for n in w.WORKLOADS)
        for workload in w.WORKLOADS.values():
            print(f"{workload.name:<{width}}  {workload.description}")
        return EXIT_OK
    try:
        duration = _validate(args)
        options = resolve_target_options(args)
        run_options = resolve_run_options(args)
    except (ConfigError, ValueError) as exc:
        return _fail(str(exc), EXIT_USAGE)

    # One deadline for the whole command, set before anything touches the target.
    args.hard_deadline = time.monotonic() + duration + float(getattr(args, "grace", DEFAULT_GRACE_S))

    import importlib.util

    if importlib.util.find_spec("locust") is None:
        return _fail("locust is not installed: pip install 'scimitar[load]'", EXIT_USAGE)
    from scimitar.load import runner
    from scimitar.run import Run

    run_ctx = Run(seed=run_options.seed, run_id=run_options.run_id)
    out_dir = Path(args.reports_dir).resolve() / run_ctx.run_id / "load"
    out_dir.mkdir(parents=True, exist_ok=True)
    workload = w.WORKLOADS[args.workload]

    if options.embedded:
        token = options.token or ("scimitar_" + secrets.token_urlsafe(24))
        try:
            with runner.embedded_server(
                token,
                profile=options.profile,
                quirks=sorted(q.value for q in options.quirks),
                base_path=options.base_path,
                seed_users=workload.seed_users,
                seed_groups=workload.seed_groups,
                log_path=out_dir / "server.log",
            ) as url:
                remote = TargetOptions(
                    url=url,
                    token=token,
                    timeout=options.timeout,
                    max_body_bytes=options.max_body_bytes,
                    read_deadline=options.read_deadline,
                    max_retry_wait=options.max_retry_wait,
                    retry_budget=options.retry_budget,
                )
                return _run_against(args, remote, run_ctx, out_dir, duration, embedded=options)
        except runner.LoadError as exc:
            return _fail(str(exc), EXIT_FAILED)
    return _run_against(args, options, run_ctx, out_dir, duration, embedded=None)


def _run_against(
    args: argparse.Namespace,
    options: TargetOptions,
    run_ctx: Any,
    out_dir: Path,
    duration: float,
    *,
    embedded: TargetOptions | None,
) -> int:
    from scimitar.load import audit as audit_mod
    from scimitar.load import runner

    target = Target(options)
    masker = target.masker()
    hard_deadline: float = getattr(args, "hard_deadline", None) or (time.monotonic() + duration + DEFAULT_GRACE_S)
    target.limits.run_deadline = hard_deadline
    try:
        target.probe()
    except TargetError as exc:
        target.close()
        return _fail(str(exc), EXIT_TARGET)

    secret_env: dict[str, str] = {}
    if options.token:
        secret_env[w.ENV_TOKEN] = options.token
    elif options.basic:
        secret_env[w.ENV_USERNAME], secret_env[w.ENV_PASSWORD] = options.basic
    if options.headers:
        secret_env[w.ENV_HEADERS] = json.dumps([list(h) for h in options.headers])
    thresholds = {
        k: float(getattr(args, k))
        for k in ("max_p95_ms", "max_error_rate", "min_rps")
        if getattr(args, k) is not None
    }
    workload = w.WORKLOADS[args.workload]
    plan = runner.LocustPlan(
        target_url=target.base_url,
        classes=workload.classes,
        users=args.users,
        spawn_rate=args.spawn_rate or float(args.users),
        duration_s=duration,
        max_requests=args.max_requests,
        out_dir=out_dir,
        run_id=run_ctx.run_id,
        seed=run_ctx.seed,
        shape=workload.shape,
        workers=args.workers,
        master_only=bool(args.master),
        worker_only=bool(args.worker),
        expect_workers=args.expect_workers,
        master_host=args.master_host,
        master_port=args.master_port,
        batch=args.batch,
        groups=args.groups,
        timeout_s=options.timeout,
        read_deadline_s=options.read_deadline,
        max_body_bytes=options.max_body_bytes,
        hard_deadline=hard_deadline,
        insecure=options.insecure,
        ca_bundle=options.ca_bundle,
        thresholds=thresholds,
        secret_env=secret_env,
    )
    mode = (
        f"master + {args.workers} workers"
        if args.workers
        else "master"
        if args.master
        else "worker"
        if args.worker
        else "local"
    )
    print(
        f"scimitar load: {workload.name} against {target.description}, {args.users} users, "
        f"{duration:g} s, at most {args.max_requests} requests ({mode}); run {run_ctx.run_id}"
    )
    try:
        locust_run = runner.run_locust(
            plan,
            progress=_progress(out_dir, duration) if args.progress_every > 0 else None,
            every_s=args.progress_every or runner.PROGRESS_EVERY_S,
        )
        if args.worker:
            runner.mask_folder(out_dir, masker)
            print(f"scimitar load: worker finished (exit {locust_run.exit_codes[0]}); records in {out_dir}")
            return EXIT_OK
        # The audit and cleanup end by the command's deadline too (a little later if locust used it all).
        target.limits.run_deadline = max(hard_deadline, time.monotonic() + MIN_AFTER_S)
        try:
            aggregated, by_name = runner.read_stats(out_dir)
        except runner.LoadError as exc:
            _cleanup(target, masker, run_ctx.prefix, [], args.no_cleanup)
            runner.mask_folder(out_dir, masker)
            return _fail(str(exc), EXIT_FAILED)
        counters = runner.read_counters(out_dir)
        expected = audit_mod.load_records(out_dir)
        client = target.client(masker, audit_mod.NullRecorder())
        started = time.monotonic()
        try:
            result = audit_mod.audit(client, run_ctx.prefix, expected)
        except TargetError as exc:  # the target stopped answering, or the deadline came first
            result = audit_mod.AuditResult(users_expected=len(expected.users))
            result.findings.append(audit_mod.Finding("audit-incomplete", "fail", str(exc)))
        audit_s = time.monotonic() - started
        recorded_paths = [f"/Users/{uid}" for uid in expected.users.values()]
        recorded_paths += [f"/Groups/{gid}" for gid in sorted(expected.group_ids)]
        cleanup = _cleanup(
            target, masker, run_ctx.prefix, recorded_paths + result.seen_paths, args.no_cleanup
        )
    finally:
        target.close()

    if cleanup.get("failed") and not args.no_cleanup:
        print(
            f"scimitar load: cleanup incomplete; delete what is left with: scimitar cleanup "
            f"--target-url {target.base_url} --prefix {run_ctx.prefix}",
            file=sys.stderr,
        )
    summary = build_summary(
        workload=workload,
        args=args,
        duration=duration,
        mode=mode,
        run_ctx=run_ctx,
        target=target,
        embedded=embedded,
        locust_run=locust_run,
        aggregated=aggregated,
        by_name=by_name,
        counters=counters,
        thresholds=thresholds,
        audit=result.to_json(),
        audit_s=audit_s,
        cleanup=cleanup,
    )
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    from scimitar.report.load import write_load_report

    report = write_load_report(summary, out_dir, masker.mask_text)
    runner.mask_folder(out_dir, masker)
    _print_summary(summary, out_dir)
    print(f"scimitar load: report  {report}")
    return int(summary["exit_code"])


def _progress(out_dir: Path, duration: float) -> Any:
    """A progress line every few seconds while locust runs, from the counters its processes flush
    each second (so a long run is not silent until the end)."""
    from scimitar.load import runner

    def show(elapsed: float) -> None:
        try:
            counters = runner.read_counters(out_dir)
        except (OSError, ValueError):
            return
        failed = sum(n for status, n in counters["failed"].items() if status != "429")
        print(
            f"scimitar load: {min(elapsed, duration):.0f}/{duration:g} s, {counters['sent']} requests sent, "
            f"{failed} failed, {counters['throttled']} throttled",
            flush=True,
        )

    return show


def _cleanup(target: Target, masker: Any, prefix: str, paths: list[str], skip: bool) -> dict[str, Any]:
    """Delete by recorded ids (groups first), then sweep the prefix with `Ledger.leftovers`."""
    from scimitar.load.audit import NullRecorder
    from scimitar.run import Ledger

    if skip:
        return {"skipped": True}
    client = target.client(masker, NullRecorder())
    unique = list(dict.fromkeys(paths))
    users = [p for p in unique if p.startswith("/Users/")]
    groups = [p for p in unique if p.startswith("/Groups/")]
    chunks: list[Ledger] = []
    for part in [users[i::8] for i in range(8)]:
        ledger = Ledger()
        for path in part:
            ledger.add(path)
        chunks.append(ledger)
    group_ledger = Ledger()
    for path in groups:
        group_ledger.add(path)
    deleted, failed = 0, []
    try:
        report = group_ledger.cleanup(client)
        deleted += len(report.deleted)
        failed += report.failed
        with ThreadPoolExecutor(max_workers=8) as pool:
            for report in pool.map(lambda ledger: ledger.cleanup(client), chunks):
                deleted += len(report.deleted)
                failed += report.failed
        leftovers = Ledger.leftovers(client, prefix)
        swept = Ledger.purge(client, leftovers)
        remaining = Ledger.leftovers(client, prefix)
    except TargetError as exc:
        return {"deleted": deleted, "failed": [["*", str(exc)]], "swept": 0, "leftovers_after": None}
    return {
        "deleted": deleted,
        "failed": [list(f) for f in (failed + swept.failed)[:50]],
        "swept": len(swept.deleted),
        "leftovers_after": len(remaining),
    }


def build_summary(
    *,
    workload: w.Workload,
    args: argparse.Namespace,
    duration: float,
    mode: str,
    run_ctx: Any,
    target: Target,
    embedded: TargetOptions | None,
    locust_run: Any,
    aggregated: dict[str, Any],
    by_name: list[dict[str, Any]],
    counters: dict[str, Any],
    thresholds: dict[str, float],
    audit: dict[str, Any],
    audit_s: float,
    cleanup: dict[str, Any],
) -> dict[str, Any]:
    requests = int(aggregated.get("requests", 0))
    failures = int(aggregated.get("failures", 0))
    failed = counters.get("failed", {})
    errors = sum(n for status, n in failed.items() if status != "429") + int(counters.get("gave_up", 0))
    error_rate = errors / requests if requests else 0.0
    values = {
        "max_p95_ms": float(aggregated.get("p95_ms", 0.0)),
        "max_error_rate": round(error_rate, 6),
        "min_rps": float(aggregated.get("rps", 0.0)),
    }
    verdicts = []
    for key, limit in thresholds.items():
        value = values[key]
        passed = value >= limit if key == "min_rps" else value <= limit
        verdicts.append({"name": key.replace("_", "-"), "limit": limit, "value": value, "passed": passed})
    thresholds_ok = all(v["passed"] for v in verdicts)
    if requests == 0:
        thresholds_ok = False
    exit_code = EXIT_OK if thresholds_ok and audit["passed"] else EXIT_FAILED
    target_desc = target.describe()
    if embedded is not None:
        target_desc.update(
            {
                "embedded": True,
                "profile": embedded.profile,
                "quirks": sorted(q.value for q in embedded.quirks),
            }
        )
    return {
        "schema": SUMMARY_SCHEMA,
        "run_id": run_ctx.run_id,
        "prefix": run_ctx.prefix,
        "workload": workload.name,
        "classes": list(workload.classes),
        "shape": workload.shape,
        "mode": mode,
        "target": target_desc,
        "users": args.users,
        "spawn_rate": args.spawn_rate or float(args.users),
        "duration_s": duration,
        "elapsed_s": round(locust_run.elapsed_s, 2),
        "max_requests": args.max_requests,
        "stopped_by_deadline": locust_run.timed_out,
        "requests": requests,
        "failures": failures,
        "errors": errors,
        "error_rate": round(error_rate, 6),
        "rps": float(aggregated.get("rps", 0.0)),
        "latency_ms": {k: aggregated.get(f"{k}_ms") for k in ("p50", "p95", "p99", "avg", "max")},
        "by_name": [
            {
                "name": row["name"],
                "method": row["method"],
                "requests": row["requests"],
                "failures": row["failures"],
                "rps": row["rps"],
                "p50_ms": row["p50_ms"],
                "p95_ms": row["p95_ms"],
                "p99_ms": row["p99_ms"],
            }
            for row in by_name
        ],
        "statuses": counters.get("statuses", {}),
        "errors_by_status": failed,
        "throttled": {
            "count": counters.get("throttled", 0),
            "responses_429": int(counters.get("statuses", {}).get("429", 0)),
            "retry_wait_s": counters.get("retry_wait_s", 0.0),
            "retry_after_missing": counters.get("retry_after_missing", 0),
            "gave_up": counters.get("gave_up", 0),
        },
        "over_okta_timeout": counters.get("over_okta_timeout", 0),
        "generator_processes": counters.get("processes", 0),
        "thresholds": verdicts,
        "thresholds_passed": thresholds_ok,
        "audit": {**audit, "seconds": round(audit_s, 2)},
        "cleanup": cleanup,
        "verdict": "pass" if exit_code == EXIT_OK else "fail",
        "exit_code": exit_code,
        "files": {
            "html": "report.html",
            "csv": [
                f"{name}" for name in ("locust_stats.csv", "locust_failures.csv", "locust_stats_history.csv")
            ],
            "records": "records-*.jsonl",
            "counters": "counters-*.json",
        },
    }


def _print_summary(summary: dict[str, Any], out_dir: Path) -> None:
    lat = summary["latency_ms"]
    thr = summary["throttled"]
    print(
        f"  {summary['requests']} requests, {summary['rps']:.1f} req/s, p50 {lat['p50']} ms, "
        f"p95 {lat['p95']} ms, p99 {lat['p99']} ms, errors {summary['errors']} "
        f"({summary['error_rate']:.2%}), throttled {thr['count']} (429s: {thr['responses_429']})"
    )
    for v in summary["thresholds"]:
        mark = "ok  " if v["passed"] else "FAIL"
        print(f"  {mark} {v['name']}: {v['value']:g} (limit {v['limit']:g})")
    a = summary["audit"]
    from scimitar.load.audit import Finding, summarize_findings

    findings = [Finding(**f) for f in a["findings"]]
    print(
        f"  audit: {a['users_found']}/{a['users_expected']} users found once, {a['groups_checked']} groups, "
        f"{a['memberships_expected']} memberships, listing {a['listing_count']} "
        f"(totalResults {a['listing_total_results']}): {summarize_findings(findings)}"
    )
    c = summary["cleanup"]
    if not c.get("skipped"):
        print(f"  cleanup: deleted {c['deleted']}, swept {c['swept']}, leftovers {c['leftovers_after']}")
    print(f"  {summary['verdict'].upper()}: results in {out_dir}")
