"""`scimitar load`: short bounded locust runs against the embedded server in subprocesses, the
integrity audit against planted damage, distribution on loopback, and no secret in any output file.

locust itself never runs in this process: `scimitar.load.cli` only spawns it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from scimitar.exchange import Recorder
from scimitar.load import audit, cli, runner
from scimitar.load import workloads as w
from scimitar.quirks import Quirk
from scimitar.target import Target, TargetOptions

TOKEN = "load-test-token-5f1c2a9e7b"


def _args(tmp_path: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(["--reports-dir", str(tmp_path), "--token", TOKEN, *extra])


def _load(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], Path]:
    args = _args(tmp_path, *extra)
    code = cli.run(args)
    folders = list(tmp_path.glob("*/load"))
    assert len(folders) == 1, folders
    summary_path = folders[0] / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return code, summary, folders[0]


def _assert_no_secret(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_bytes().decode("utf-8", "replace"), path


def test_okta_burst_passes_thresholds_and_audit(tmp_path: Path) -> None:
    code, summary, folder = _load(
        tmp_path,
        *("--workload", "okta-burst", "--users", "5", "--spawn-rate", "5", "--duration", "5s"),
        *("--max-requests", "300", "--max-p95-ms", "2000", "--max-error-rate", "0.01", "--min-rps", "5"),
    )
    assert code == 0, summary
    assert summary["schema"] == cli.SUMMARY_SCHEMA
    assert 0 < summary["requests"] <= 300
    assert summary["audit"]["passed"] and summary["audit"]["users_expected"] > 0
    assert summary["audit"]["users_found"] == summary["audit"]["users_expected"]
    assert summary["audit"]["memberships_expected"] > 0
    assert all(v["passed"] for v in summary["thresholds"]) and len(summary["thresholds"]) == 3
    assert {row["name"] for row in summary["by_name"]} >= {"POST /Users", "GET /Users?filter=userName eq"}
    assert summary["cleanup"]["leftovers_after"] == 0
    for name in ("report.html", "locust_stats.csv", "locust_failures.csv", "summary.json"):
        assert (folder / name).is_file(), name
    _assert_no_secret(folder)


def test_unmeetable_threshold_exits_1(tmp_path: Path) -> None:
    code, summary, folder = _load(
        tmp_path,
        *("--workload", "okta-deactivate", "--users", "2", "--duration", "2s", "--max-requests", "60"),
        *("--min-rps", "1000000"),
    )
    assert code == 1
    assert summary["verdict"] == "fail"
    assert [v["name"] for v in summary["thresholds"] if not v["passed"]] == ["min-rps"]
    assert summary["audit"]["passed"]
    _assert_no_secret(folder)


def test_throttle_quirk_is_counted_and_retried(tmp_path: Path) -> None:
    code, summary, folder = _load(
        tmp_path,
        *("--quirk", "throttle-429", "--workload", "okta-push-groups", "--users", "3"),
        *("--duration", "4s", "--max-requests", "150", "--max-error-rate", "0"),
    )
    assert code == 0, summary
    throttled = summary["throttled"]
    assert throttled["count"] > 0 and throttled["responses_429"] >= throttled["count"]
    assert throttled["retry_after_missing"] == 0 and throttled["retry_wait_s"] >= throttled["count"]
    assert summary["errors_by_status"].get("429", 0) == throttled["responses_429"]
    assert summary["error_rate"] == 0  # retried 429s are throttling, not errors
    assert summary["audit"]["passed"]
    _assert_no_secret(folder)


def test_distributed_master_and_two_workers(tmp_path: Path) -> None:
    code, summary, folder = _load(
        tmp_path,
        *("--workers", "2", "--workload", "okta-burst", "--users", "4", "--duration", "4s"),
        *("--max-requests", "200"),
    )
    assert code == 0, summary
    assert summary["mode"] == "master + 2 workers"
    assert summary["generator_processes"] == 2
    assert 0 < summary["requests"] <= 200
    assert len(list(folder.glob("records-*.jsonl"))) == 2
    assert summary["audit"]["passed"] and summary["audit"]["users_expected"] > 0
    assert (folder / "locust-master.log").is_file() and (folder / "locust-worker-2.log").is_file()
    _assert_no_secret(folder)


def test_split_master_and_two_worker_processes(tmp_path: Path) -> None:
    """`scimitar load --master --expect-workers 2` and two `scimitar load --worker` processes, each a
    separate command as on separate terminals (all on 127.0.0.1), against one server: the master
    writes the same summary as a local run, from both workers' records, and the audit is clean."""
    import os
    import subprocess
    import time

    run_id = "split1"
    port = runner.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "SCIMITAR_"))}
    env["SCIM_TOKEN"] = TOKEN
    common = ["--run-id", run_id, "--reports-dir", str(tmp_path), "--workload", "okta-burst",
              "--duration", "4s", "--master-port", str(port)]
    started = time.monotonic()
    with runner.embedded_server(TOKEN, seed_users=0) as url:
        base = [sys.executable, "-m", "scimitar.cli", "load", "--target-url", url, *common]
        master = subprocess.Popen(
            [*base, "--master", "--expect-workers", "2", "--users", "4", "--max-requests", "200",
             "--max-error-rate", "0.01"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        workers = [
            subprocess.Popen([*base, "--worker", "--max-requests", "100"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for _ in range(2)
        ]
        procs = [master, *workers]
        try:
            outputs = [p.communicate(timeout=90)[0] for p in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
    elapsed = time.monotonic() - started
    assert master.returncode == 0, outputs[0]
    assert all(w.returncode == 0 for w in workers), outputs[1:]
    assert all("worker finished" in out for out in outputs[1:]), outputs[1:]
    folder = tmp_path / run_id / "load"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["schema"] == cli.SUMMARY_SCHEMA and summary["mode"] == "master"
    assert summary["run_id"] == run_id and summary["generator_processes"] == 2
    assert 0 < summary["requests"] <= 200
    assert len(list(folder.glob("records-*.jsonl"))) == 2
    assert summary["audit"]["passed"] and summary["audit"]["users_expected"] > 0
    assert summary["cleanup"]["leftovers_after"] == 0
    assert "audit:" in outputs[0] and "PASS: results in" in outputs[0]  # the local run's summary lines
    _assert_no_secret(folder)
    assert all(TOKEN not in out for out in outputs)
    print(f"\nsplit load (master + 2 worker commands, 4 s): {elapsed:.1f} s, {summary['requests']} requests")


def test_readme_split_mode_commands_parse() -> None:
    """The README's master/worker commands (not run by test_readme: they need three processes at once)
    are valid command lines, and name the same run, workload and port, as the test above runs them."""
    import re
    import shlex

    from scimitar.cli import build_parser

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.findall(r"^```console\n(.*?)^```", readme, flags=re.S | re.M)
    lines = [shlex.split(line, comments=True) for line in "\n".join(block).replace("\\\n", " ").splitlines()]
    loads = [argv[2:] for argv in lines if argv[:3] == ["$", "scimitar", "load"]]
    assert len(loads) == 3
    parsed = [build_parser(command="load").parse_args(argv) for argv in loads]
    assert [bool(ns.master) for ns in parsed] == [True, False, False]
    assert all(ns.worker for ns in parsed[1:]) and parsed[0].expect_workers == 2
    assert len({(ns.run_id, ns.workload, ns.master_port, ns.target_url) for ns in parsed}) == 1


def test_usage_and_unreachable_exit_codes(tmp_path: Path) -> None:
    assert cli.run(_args(tmp_path, "--duration", "soon")) == 2
    assert cli.run(_args(tmp_path, "--users", "0")) == 2
    assert cli.run(_args(tmp_path, "--master")) == 2
    assert cli.run(_args(tmp_path, "--target-url", "http://127.0.0.1:9/scim/v2", "--duration", "1s")) == 3


def test_no_secret_on_any_command_line(tmp_path: Path) -> None:
    plan = runner.LocustPlan(
        target_url="http://127.0.0.1:1/scim/v2",
        classes=w.WORKLOADS["steady"].classes,
        users=1,
        spawn_rate=1,
        duration_s=1,
        max_requests=10,
        out_dir=tmp_path,
        run_id="abc",
        workers=2,
        secret_env={w.ENV_TOKEN: TOKEN, w.ENV_HEADERS: json.dumps([["X-Api-Key", TOKEN]])},
    )
    for _, argv in runner.locust_commands(plan):
        assert not any(TOKEN in arg for arg in argv)
        assert "127.0.0.1" in " ".join(argv)
    assert runner._base_env(plan)[w.ENV_TOKEN] == TOKEN


# -- the audit, against planted damage (in-process server, no locust) ------------------------------
def _write_records(folder: Path, records: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "records-test.jsonl").open("w") as handle:
        for rec in records:
            handle.write(json.dumps(rec) + "\n")


@pytest.mark.parametrize("damage", ["duplicate", "lost", "membership", "clean"])
def test_audit_detects_planted_damage(tmp_path: Path, damage: str) -> None:
    target = Target(TargetOptions(quirks=frozenset({Quirk.DUPLICATE_USERNAME})))
    client = target.client(target.masker(), Recorder())
    prefix = "scimitar-audit1-"
    records: list[dict[str, Any]] = []
    ids = []
    for i in range(5):
        name = f"{prefix}user{i}@example.com"
        body = json.loads(w.okta_user_body(name, "Ann", "Lee", f"00u{i}", "pw"))
        created = client.post("/Users", json=body).json()
        ids.append(created["id"])
        records += [
            {"kind": "attempt", "userName": name},
            {"kind": "user", "userName": name, "id": created["id"]},
        ]
    group = client.post("/Groups", json={"schemas": [w.CORE_GROUP], "displayName": f"{prefix}g"}).json()
    patch = json.loads(w.okta_members_add_patch([(uid, "x") for uid in ids]))
    assert client.patch(f"/Groups/{group['id']}", json=patch).status in (200, 204)
    records += [
        {"kind": "group", "displayName": f"{prefix}g", "id": group["id"]},
        {"kind": "members", "group": group["id"], "users": ids},
    ]
    if damage == "duplicate":  # behind the run's back, the quirk lets a second user share a userName
        client.post(
            "/Users", json=json.loads(w.okta_user_body(f"{prefix}user2@example.com", "A", "B", "x", "p"))
        )
    elif damage == "lost":
        client.delete(f"/Users/{ids[3]}")
    elif damage == "membership":
        remove = {
            "schemas": [w.PATCH_OP],
            "Operations": [{"op": "remove", "path": f'members[value eq "{ids[1]}"]'}],
        }
        client.patch(f"/Groups/{group['id']}", json=remove)
    _write_records(tmp_path, records)
    result = audit.audit(client, prefix, audit.load_records(tmp_path))
    kinds = {f.kind for f in result.findings if f.severity == "fail"}
    expected = {
        "duplicate": {"duplicate"},
        "lost": {"lost", "missing-from-listing", "membership-lost"},
        "membership": {"membership-lost"},
        "clean": set(),
    }[damage]
    assert kinds == expected, result.findings
    assert result.passed is (damage == "clean")
    target.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
