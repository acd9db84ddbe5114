"""Load generator cost and reference-server throughput under Okta's burst (issue 6).

One reference server (uvicorn, 127.0.0.1, a subprocess) and, one after another against it (a 3 s
warm-up, then plain and scimitar interleaved plain-scimitar-scimitar-plain), each run
bounded in time (default 10 s) and request count:

* plain     a plain FastHttpUser locustfile sending the same request mix as scimitar's
            `OktaProvisionUser` (Okta's filter lookup + POST /Users) with f-string bodies;
* scimitar  scimitar's `OktaProvisionUser`: Okta's headers and exact body, seeded names, 429
            handling, request budget and the records file the audit reads;
* burst     the full `okta-burst` workload (create + group pushes, burst shape): the server's
            throughput under Okta's burst.

The figure of merit is scimitar/plain requests per second (target >= 0.7: scimitar's templating,
data generation and bookkeeping cost under 30% of throughput). Both sides are measured the same way
from locust's `--json-file` (requests / (last request - first start)). Run:

    python bench/load.py                 # 10 users, 10 s per run
    python bench/load.py --seconds 5 --users 5 --json out.json
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from scimitar.load import runner  # noqa: E402
from scimitar.load import workloads as w  # noqa: E402

TOKEN = "bench-load-token-0123456789"
MAX_REQUESTS = 1_000_000
TARGET_RATIO = 0.7

PLAIN_LOCUSTFILE = """
import itertools, os
import gevent
from locust import FastHttpUser, constant, events, task

_n = itertools.count(1)
_H = {"Authorization": "Bearer " + os.environ["SCIM_TOKEN"], "Accept": "application/scim+json"}
_HB = {**_H, "Content-Type": "application/scim+json; charset=utf-8"}
_LIMIT = int(os.environ.get("PLAIN_MAX_REQUESTS", "1000000"))


class PlainProvision(FastHttpUser):
    wait_time = constant(0)

    @task
    def create(self):
        n = next(_n)
        name = f"plain-{os.getpid()}-user{n}@example.com"
        self.client.get(f"/Users?filter=userName%20eq%20%22{name}%22&startIndex=1&count=100",
                        headers=_H, name="GET /Users?filter")
        body = ('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",'
                '"name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,'
                '"value":"%s","type":"work"}],"displayName":"Test User","locale":"en-US",'
                '"externalId":"00u%d","groups":[],"password":"pw%d","active":true}' % (name, name, n, n))
        self.client.post("/Users", data=body, headers=_HB, name="POST /Users")


@events.init.add_listener
def _budget(environment, **_):
    def watch():
        while True:
            gevent.sleep(0.2)
            if environment.stats.total.num_requests >= _LIMIT:
                environment.runner.quit()
                return
    gevent.spawn(watch)
"""


def _measure(json_file: Path) -> dict[str, Any]:
    entries = json.loads(json_file.read_text())
    requests = sum(e["num_requests"] for e in entries)
    failures = sum(e["num_failures"] for e in entries)
    start = min(e["start_time"] for e in entries)
    last = max(e["last_request_timestamp"] for e in entries)
    histogram: dict[int, int] = {}
    for e in entries:
        for ms, n in e["response_times"].items():
            histogram[int(float(ms))] = histogram.get(int(float(ms)), 0) + n
    seen, p95 = 0, 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= 0.95 * requests:
            p95 = ms
            break
    return {
        "requests": requests,
        "failures": failures,
        "seconds": round(last - start, 2),
        "rps": round(requests / max(last - start, 1e-9), 1),
        "p95_ms": p95,
    }


def _locust(
    locustfile: Path, classes: list[str], url: str, users: int, seconds: int, out: Path, env: dict[str, str]
) -> dict[str, Any]:
    json_base = out / "stats"
    argv = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-H", url]
    argv += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "2"]
    argv += ["--json-file", str(json_base), "--only-summary", *classes]
    with (out / "locust.log").open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=out)
        try:
            proc.wait(seconds + 40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise SystemExit(f"locust overran its deadline; see {out / 'locust.log'}") from None
    return _measure(Path(f"{json_base}.json"))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=8, help="per run, at most 15")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    seconds = min(args.seconds, 15)
    results: dict[str, Any] = {"users": args.users, "seconds": seconds, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="scimitar-bench-load-") as tmp:
        root = Path(tmp)
        plain_file = root / "plain_locustfile.py"
        plain_file.write_text(PLAIN_LOCUSTFILE)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM", "SCIMITAR_"))}
        with runner.embedded_server(TOKEN, log_path=root / "server.log") as url:
            # A short discarded warm-up, then plain and scimitar interleaved (ABBA) against order effects.
            for i, name in enumerate(("warmup", "plain", "scimitar", "scimitar", "plain", "burst")):
                out = root / f"{i}-{name}"
                out.mkdir()
                secs = 3 if name == "warmup" else seconds
                if name in ("plain", "warmup"):
                    env = {**base_env, "SCIM_TOKEN": TOKEN, "PLAIN_MAX_REQUESTS": str(MAX_REQUESTS)}
                    measured = _locust(plain_file, ["PlainProvision"], url, args.users, secs, out, env)
                else:
                    workload = w.WORKLOADS["okta-burst"]
                    plan = runner.LocustPlan(
                        target_url=url,
                        classes=("OktaProvisionUser",) if name == "scimitar" else workload.classes,
                        users=args.users,
                        spawn_rate=args.users,
                        duration_s=secs,
                        max_requests=MAX_REQUESTS,
                        out_dir=out,
                        run_id=f"bench{i}{int(time.time()) % 100000}",
                        shape=None if name == "scimitar" else workload.shape,
                        secret_env={w.ENV_TOKEN: TOKEN},
                    )
                    env = runner._base_env(plan)
                    measured = _locust(runner.LOCUSTFILE, list(plan.classes), url, args.users, secs, out, env)
                print(
                    f"{name:<9} {measured['requests']:>7} requests  {measured['rps']:>8.1f} req/s  "
                    f"p95 {measured['p95_ms']:>4} ms  failures {measured['failures']}",
                    flush=True,
                )
                results.setdefault("runs", []).append({"name": name, **measured})
    for name in ("plain", "scimitar", "burst"):
        runs = [r for r in results["runs"] if r["name"] == name]
        results[name] = {
            "requests": sum(r["requests"] for r in runs),
            "rps": round(sum(r["requests"] for r in runs) / sum(r["seconds"] for r in runs), 1),
            "p95_ms": max(r["p95_ms"] for r in runs),
        }
    ratio = results["scimitar"]["rps"] / max(results["plain"]["rps"], 1e-9)
    results["ratio"] = round(ratio, 3)
    results["target_ratio"] = TARGET_RATIO
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"scimitar/plain = {ratio:.2f} ({verdict} the >= {TARGET_RATIO} target); {os.cpu_count()} CPUs")
    print(f"reference server under okta-burst: {results['burst']['rps']:.1f} req/s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
