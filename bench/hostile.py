"""The harness against hostile targets: peak RSS and wall time of `scimitar test` per case.

    .venv/bin/python bench/hostile.py [--json PATH] [--case NAME ...]

Each case starts a misbehaving server on 127.0.0.1 (tests/hostile.py, in a thread of this process)
and runs `scimitar test --target-url ... --no-scenarios` against it in a subprocess. The peak RSS is
the kernel's `ru_maxrss` of that process (`resource.getrusage(RUSAGE_CHILDREN)` in a fresh
interpreter per case whose only child it is: nothing sampled, nothing missed); the wall time is
the clock around it. The target of issue 10 is a peak RSS under
300 MB whatever the target sends, and every case ending in bounded time:

  1gib-body       every non-discovery answer is a 1 GiB body, produced lazily (the default
                  --max-body-bytes 8MiB applies)
  drip            every non-discovery answer drips one byte every 2 s; --timeout 5 --max-duration 15s
  429-forever     every request answers 429 Retry-After: 3600; --max-retry-wait 10 (the probe ends it)
  429-after-probe discovery answers, everything else 429 forever; --max-retry-wait 5 --retry-budget 15

The flags are there only to keep each case under a minute on a shared machine; they are printed
with the figures. Every server and child process is stopped by this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile import HostileServer  # noqa: E402 (the helper lives with the tests)

TOKEN = "bench-hostile-token-7d2a"
RSS_TARGET_MB = 300
CHILD_TIMEOUT_S = 90

CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "1gib-body": ({"behaviour": "big-body"}, []),
    "drip": ({"behaviour": "drip", "interval": 2.0}, ["--timeout", "5", "--max-duration", "15s"]),
    "429-forever": ({"behaviour": "throttle", "discovery": False}, ["--max-retry-wait", "10"]),
    "429-after-probe": ({"behaviour": "throttle"}, ["--max-retry-wait", "5", "--retry-budget", "15"]),
}


def run_case(name: str) -> dict[str, Any]:
    server_kwargs, flags = CASES[name]
    with tempfile.TemporaryDirectory(prefix="scimitar-hostile-") as tmp, HostileServer(**server_kwargs) as server:
        argv = [
            sys.executable, "-m", "scimitar.cli", "test", "--target-url", server.url, "--no-scenarios",
            "--reports-dir", tmp, "-q", *flags,
        ]
        env = {**os.environ, "SCIM_TOKEN": TOKEN}
        started = time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        wall = time.monotonic() - started
        last = (err or out).decode("utf-8", "replace").strip().splitlines()
        return {
            "case": name,
            "flags": " ".join(flags) or "(defaults)",
            "exit": proc.returncode,
            "wall_s": round(wall, 1),
            "server_sent_mb": round(server.sent_bytes / 1e6, 1),
            "last_line": last[-1][:160] if last else "",
        }


def _child(name: str) -> None:
    """Run one case and print its figures as JSON (called in a fresh interpreter by `main`)."""
    import resource

    figures = run_case(name)
    # ru_maxrss of the waited-for children: here exactly one, the `scimitar test` process (KiB on Linux)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    print(json.dumps(figures))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="run only this case, repeatable")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    rows = []
    for name in args.case or list(CASES):
        done = subprocess.run(
            [sys.executable, __file__, "--child", name],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S + 30,
        )
        if done.returncode != 0 or not done.stdout.strip():
            print(f"{name}: the bench itself failed: {done.stderr.strip()[-500:]}", file=sys.stderr)
            return 1
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        mark = "ok  " if row["peak_rss_mb"] < RSS_TARGET_MB else "OVER"
        print(
            f"{mark} {row['case']:<16} peak RSS {row['peak_rss_mb']:7.1f} MB  wall {row['wall_s']:6.1f} s  "
            f"exit {row['exit']}  server sent {row['server_sent_mb']} MB  [{row['flags']}]"
        )
        print(f"     last line: {row['last_line']}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0 if all(r["peak_rss_mb"] < RSS_TARGET_MB for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
