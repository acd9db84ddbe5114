"""Throughput and latency of the reference server over real sockets (issue 2).

Every server runs under uvicorn (httptools + uvloop, one worker, no access log) on 127.0.0.1 in a
process of its own; `wrk` loads it from another process. Side by side in one run, per store size:

* ceiling   a bare Starlette app with one route returning a small JSON body;
* scimitar  `scimitar.server.app.create_app`, seeded with `seed_users=N`;
* peer      scim2-server's own ASGI application over its in-memory storage, seeded with N users
            through its storage (not HTTP, which would take minutes at 100k).

Figures are requests per second and p50/p99 latency, and the ratio of each server to the ceiling
measured in the same run, which is what the targets of issue 2 are about. Run:

    python bench/server.py            # 1k, 10k, 100k users, 4 s runs, best of 2 rounds
    python bench/server.py --quick    # 1k users, 2 s runs: a smoke test
    python bench/server.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk" / "scim.lua"
TOKEN = "bench-token"
SERVERS = ("ceiling", "scimitar", "peer")
ENDPOINTS = ("get_by_id", "filter_eq", "page_100", "post", "patch")
LABELS = {
    "get_by_id": "GET /Users/{id}",
    "filter_eq": 'GET /Users?filter=userName eq "…"',
    "page_100": "GET /Users?startIndex=1&count=100",
    "post": "POST /Users",
    "patch": "PATCH /Users/{id} (replace displayName)",
}
#: issue 2: minimum scimitar/ceiling ratio per endpoint
TARGETS = {"get_by_id": 0.50, "filter_eq": 0.40, "post": 0.30, "page_100": 0.05}
FILTER_SCALING_MAX = 1.2
RSS_MAX_MB = 400.0
PREFIX = {"ceiling": "/scim/v2", "scimitar": "/scim/v2", "peer": "/v2"}


# ---------------------------------------------------------------------------------------------
# server side (runs in the child process)
# ---------------------------------------------------------------------------------------------
def _ceiling_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ok(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/{path:path}", ok, methods=["GET", "POST", "PATCH"])])


def _scimitar_app(users: int, groups: int) -> Any:
    from scimitar.server.app import create_app
    from scimitar.server.config import ServerConfig

    return create_app(ServerConfig(tokens=[TOKEN], seed_users=users, seed_groups=groups, seed=0))


def _peer_app(users: int, groups: int) -> Any:
    """scim2-server's ASGI application with a bearer token check, seeded through its storage."""
    import random

    from scim2_models import UnauthorizedException
    from scim2_server.applications.asgi import ASGIApplication
    from scim2_server.memory import AsyncInMemoryStorage, InMemoryStorage
    from scim2_server.requests import ScimRequest
    from scim2_server.service import ScimService
    from scim2_server.utils import load_default_provider

    class BearerASGIApplication(ASGIApplication):
        def check_auth(self, request: ScimRequest) -> None:
            scheme, _, token = (request.header("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or token != TOKEN:
                raise UnauthorizedException

    provider = load_default_provider()
    types = {rt.name: rt for rt in provider.resource_types}
    user_rt, group_rt = types["User"], types["Group"]
    user_model, group_model = provider.model_for(user_rt), provider.model_for(group_rt)
    storage = InMemoryStorage()
    rnd = random.Random(0)
    ids: list[str] = []
    for n in range(users):
        first, last = f"First{n % 977}", f"Last{n % 1009}"
        user_name = f"{first.lower()}.{last.lower()}.{n}@example.com"
        user = user_model.model_validate(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "externalId": f"ext-{n:07d}",
                "userName": user_name,
                "name": {"givenName": first, "familyName": last, "formatted": f"{first} {last}"},
                "displayName": f"{first} {last}",
                "emails": [{"value": user_name, "type": "work", "primary": True}],
                "active": rnd.random() > 0.05,
            }
        )
        ids.append(str(storage.create(user_rt, user).id))
    for g in range(groups):
        members = rnd.sample(ids, min(len(ids), rnd.randint(0, 20))) if ids else []
        group = group_model.model_validate(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": f"Group {g}",
                "members": [{"value": m, "type": "User"} for m in members] or None,
            }
        )
        storage.create(group_rt, group)
    service = ScimService(provider, secret=uuid.uuid4().hex)
    return BearerASGIApplication(AsyncInMemoryStorage(storage), provider, service=service)


def serve(kind: str, users: int, groups: int, port: int) -> None:
    import uvicorn

    if kind == "ceiling":
        app = _ceiling_app()
    elif kind == "scimitar":
        app = _scimitar_app(users, groups)
    else:
        app = _peer_app(users, groups)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        workers=1,
        log_level="warning",
        access_log=False,
    )


# ---------------------------------------------------------------------------------------------
# driver side
# ---------------------------------------------------------------------------------------------
@dataclass
class Figure:
    size: int
    server: str
    endpoint: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    non_2xx: int


@dataclass
class Report:
    machine: dict[str, Any]
    settings: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)  # the best round of each
    all_runs: list[Figure] = field(default_factory=list)
    rss_mb: dict[str, dict[str, float]] = field(default_factory=dict)
    ratios: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) / 1024 if m else float("nan")


def _http(method: str, url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    req.add_header("Accept", "application/scim+json")
    if data is not None:
        req.add_header("Content-Type", "application/scim+json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as exc:
        return exc.code, None


class Server:
    """One server process: started, waited for, measured, stopped."""

    def __init__(self, kind: str, users: int, cpus: str | None, startup_timeout: float) -> None:
        self.kind = kind
        self.users = users
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        groups = users // 100 if kind != "ceiling" else 0
        cmd = [sys.executable, str(Path(__file__).resolve()), "_serve", kind, str(users), str(groups)]
        cmd.append(str(self.port))
        if cpus:
            cmd = ["taskset", "-c", cpus, *cmd]
        started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        deadline = started + startup_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{kind} server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{kind} server not listening after {startup_timeout}s") from None
                time.sleep(0.1)
        self.startup_s = time.monotonic() - started
        self.rss_after_seed = _rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _targets_for(server: Server) -> dict[str, tuple[str, str]]:
    """endpoint -> (wrk mode, URL) for one server; picks a User from the middle of the store."""
    prefix = PREFIX[server.kind]
    users_url = f"{server.base}{prefix}/Users"
    if server.kind == "ceiling":
        uid, user_name = "2819c223-7f76-453a-919d-413861904646", "bjensen@example.com"
    else:
        mid = max(1, server.users // 2)
        status, body = _http("GET", f"{users_url}?startIndex={mid}&count=1")
        if status != 200 or not body or not body.get("Resources"):
            raise RuntimeError(f"{server.kind}: cannot list users ({status})")
        user = body["Resources"][0]
        uid, user_name = user["id"], user["userName"]
    filt = urllib.parse.quote(f'userName eq "{user_name}"', safe="")
    return {
        "get_by_id": ("get", f"{users_url}/{uid}"),
        "filter_eq": ("get", f"{users_url}?filter={filt}"),
        "page_100": ("get", f"{users_url}?startIndex=1&count=100"),
        "post": ("post", users_url),
        "patch": ("patch", f"{users_url}/{uid}"),
    }


def _smoke(server: Server, targets: dict[str, tuple[str, str]]) -> None:
    """One request per endpoint: a benchmark of error responses is worth nothing."""
    if server.kind == "ceiling":
        return
    checks: dict[str, tuple[str, Any, set[int], int | None]] = {
        "get_by_id": ("GET", None, {200}, None),
        "filter_eq": ("GET", None, {200}, 1),
        "page_100": ("GET", None, {200}, 100),
        "post": (
            "POST",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"smoke.{uuid.uuid4().hex}@example.com",
            },
            {201},
            None,
        ),
        "patch": (
            "PATCH",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": "Smoke"}],
            },
            {200, 204},
            None,
        ),
    }
    for endpoint, (method, body, ok, n) in checks.items():
        status, got = _http(method, targets[endpoint][1], body)
        if status not in ok:
            raise RuntimeError(f"{server.kind} {endpoint}: HTTP {status}, expected {sorted(ok)}")
        if n is not None and (not got or got.get("itemsPerPage") != n):
            raise RuntimeError(
                f"{server.kind} {endpoint}: expected {n} resources, got {got and got.get('itemsPerPage')}"
            )


def _wrk(
    mode: str, url: str, seconds: int, threads: int, conns: int, cpus: str | None, token: str
) -> dict[str, Any]:
    nonce = uuid.uuid4().hex[:10]
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "30s", "-s", str(LUA), url]
    cmd += ["--", mode, token, nonce]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCHJSON "))
            return result
    raise RuntimeError(
        f"wrk gave no summary (rc {out.returncode}): {out.stderr.strip() or out.stdout[-500:]}"
    )


def _drain(targets: dict[str, tuple[str, str]]) -> None:
    """Wait until the server has answered what the last run left queued (closed connections'
    requests are still served), so that a slow endpoint does not eat into the next run."""
    _http("GET", targets["get_by_id"][1], timeout=300)


def _measure(
    server: Server,
    targets: dict[str, tuple[str, str]],
    endpoint: str,
    size: int,
    args: argparse.Namespace,
    report: Report,
    warm: bool = True,
) -> None:
    token = "-" if server.kind == "ceiling" else TOKEN
    mode, url = targets[endpoint]
    _drain(targets)
    if args.warmup > 0 and warm:
        _wrk(mode, url, args.warmup, args.threads, args.connections, args.client_cpus, token)
        _drain(targets)
    r = _wrk(mode, url, args.duration, args.threads, args.connections, args.client_cpus, token)
    errors = r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"]
    fig = Figure(
        size=size,
        server=server.kind,
        endpoint=endpoint,
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        requests=r["requests"],
        errors=errors,
        non_2xx=r["err_status"],
    )
    report.all_runs.append(fig)
    best = _fig(report, size, server.kind, endpoint)
    if best is None:
        report.figures.append(fig)
    elif fig.rps > best.rps:
        report.figures[report.figures.index(best)] = fig
    flag = "" if not (errors or fig.non_2xx) else f"  !! errors={errors} non-2xx={fig.non_2xx}"
    if fig.requests < 50:
        flag += f"  (only {fig.requests} requests completed: a rough figure)"
    print(
        f"  {server.kind:9} {endpoint:10} {fig.rps:9.0f} req/s  p50 {fig.p50_ms:7.2f} ms  "
        f"p99 {fig.p99_ms:7.2f} ms{flag}",
        flush=True,
    )


def _fig(report: Report, size: int, server: str, endpoint: str) -> Figure | None:
    for f in report.figures:
        if (f.size, f.server, f.endpoint) == (size, server, endpoint):
            return f
    return None


def _evaluate(report: Report, sizes: list[int]) -> None:
    for size in sizes:
        for endpoint in ENDPOINTS:
            ceil = _fig(report, size, "ceiling", endpoint)
            row: dict[str, Any] = {"size": size, "endpoint": endpoint}
            for kind in ("scimitar", "peer"):
                f = _fig(report, size, kind, endpoint)
                row[f"{kind}_over_ceiling"] = f.rps / ceil.rps if f and ceil and ceil.rps else None
            report.ratios.append(row)
    for row in report.ratios:
        target = TARGETS.get(row["endpoint"])
        ratio = row["scimitar_over_ceiling"]
        if target is None or ratio is None:
            continue
        report.targets.append(
            {
                "target": f"{row['endpoint']} >= {target:.0%} of ceiling at {row['size']} users",
                "value": round(ratio, 4),
                "met": ratio >= target,
            }
        )
    small, large = min(sizes), max(sizes)
    if large != small:
        a, b = _fig(report, small, "scimitar", "filter_eq"), _fig(report, large, "scimitar", "filter_eq")
        ca, cb = _fig(report, small, "ceiling", "filter_eq"), _fig(report, large, "ceiling", "filter_eq")
        if a and b and a.rps and b.rps:
            raw = a.rps / b.rps  # time per request at `large` over time at `small`
            report.targets.append(
                {
                    "target": f"userName eq at {large} users within {FILTER_SCALING_MAX}x of {small} (time/request)",
                    "value": round(raw, 3),
                    "met": raw <= FILTER_SCALING_MAX,
                }
            )
            if ca and cb and ca.rps and cb.rps:
                norm = (a.rps / ca.rps) / (b.rps / cb.rps)
                report.targets.append(
                    {
                        "target": "  same, each size normalised by its own ceiling run (noise check)",
                        "value": round(norm, 3),
                        "met": norm <= FILTER_SCALING_MAX,
                    }
                )
    if 100_000 in sizes and "scimitar" in report.rss_mb.get("100000", {}):
        rss = report.rss_mb["100000"]["scimitar"]
        report.targets.append(
            {
                "target": f"RSS with 100000 users < {RSS_MAX_MB:.0f} MB",
                "value": round(rss, 1),
                "met": rss < RSS_MAX_MB,
            }
        )


def _print_tables(report: Report, sizes: list[int]) -> None:
    print()
    head = (
        "| users | endpoint | ceiling req/s | scimitar req/s | scimitar p50/p99 ms | peer req/s | "
        "peer p50/p99 ms | scimitar/ceiling | peer/ceiling |"
    )
    print(head)
    print("|" + "---|" * 9)
    for size in sizes:
        for endpoint in ENDPOINTS:
            c, s, p = (_fig(report, size, k, endpoint) for k in SERVERS)
            ratio = next(r for r in report.ratios if r["size"] == size and r["endpoint"] == endpoint)

            def rps(f: Figure | None) -> str:
                return f"{f.rps:,.0f}" if f else "-"

            def lat(f: Figure | None) -> str:
                return f"{f.p50_ms:.2f} / {f.p99_ms:.2f}" if f else "-"

            def pct(x: float | None) -> str:
                return f"{x:.1%}" if x is not None else "-"

            print(
                f"| {size:,} | {LABELS[endpoint]} | {rps(c)} | {rps(s)} | {lat(s)} | {rps(p)} | {lat(p)} | "
                f"{pct(ratio['scimitar_over_ceiling'])} | {pct(ratio['peer_over_ceiling'])} |"
            )
    print()
    print("| users | " + " | ".join(f"{k} RSS MB" for k in SERVERS) + " |")
    print("|---|---|---|---|")
    for size in sizes:
        row = report.rss_mb.get(str(size), {})
        print(f"| {size:,} | " + " | ".join(f"{row[k]:.1f}" if k in row else "-" for k in SERVERS) + " |")
    print()
    for t in report.targets:
        print(f"  [{'met' if t['met'] else 'MISSED':6}] {t['target']}: {t['value']}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_serve"]:
        kind, users, groups, port = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
        serve(kind, users, groups, port)
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1k users only, 2 s runs (smoke)")
    ap.add_argument("--sizes", default="1000,10000,100000", help="store sizes, comma-separated")
    ap.add_argument("--rounds", type=int, default=2, help="rounds per endpoint; the best run counts")
    ap.add_argument("--duration", type=int, default=4, help="seconds per measured run")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of warm-up before each run")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections")
    ap.add_argument("--servers", default=",".join(SERVERS), help="which of ceiling,scimitar,peer to run")
    ap.add_argument(
        "--pin",
        choices=("auto", "on", "off"),
        default="auto",
        help="taskset the server on CPU 0 and wrk on CPU 1 (auto: when there are >= 2 CPUs)",
    )
    ap.add_argument("--startup-timeout", type=float, default=600.0, help="seconds to wait for seeding")
    ap.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.duration, args.warmup, args.rounds = "1000", 2, 1, 1
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    kinds = [k for k in SERVERS if k in args.servers.split(",")]
    ncpu = len(os.sched_getaffinity(0))
    pin = args.pin == "on" or (args.pin == "auto" and ncpu >= 2 and shutil.which("taskset") is not None)
    args.server_cpus, args.client_cpus = ("0", "1") if pin else (None, None)
    report = Report(
        machine={"python": platform.python_version(), "cpus": ncpu, "platform": platform.platform()},
        settings={
            "sizes": sizes,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": f"{args.rounds} (best run per server and endpoint kept; warm-up in round 1 only)",
            "wrk": f"-t{args.threads} -c{args.connections}",
            "pinned": "server on CPU 0, wrk on CPU 1" if pin else "not pinned",
            "uvicorn": "httptools + uvloop, 1 worker, log_level=warning, access_log=False",
        },
    )
    print(
        f"bench/server.py: sizes {sizes}, {args.duration}s runs, wrk -t{args.threads} -c{args.connections}, "
        f"{report.settings['pinned']}",
        flush=True,
    )
    started = time.monotonic()
    for size in sizes:
        print(f"\n== {size:,} users", flush=True)
        # All servers of a size stay up and each endpoint is measured on each server back to back,
        # so a ratio compares runs seconds apart (other load on the machine comes and goes).
        servers: list[Server] = []
        try:
            for kind in kinds:
                server = Server(kind, size, args.server_cpus, args.startup_timeout)
                servers.append(server)
                report.rss_mb.setdefault(str(size), {})[kind] = round(server.rss_after_seed, 1)
                print(
                    f"  {kind}: ready in {server.startup_s:.1f}s, RSS {server.rss_after_seed:.1f} MB",
                    flush=True,
                )
            targets = {server.kind: _targets_for(server) for server in servers}
            for server in servers:
                _smoke(server, targets[server.kind])
            for round_ in range(args.rounds):
                for endpoint in ENDPOINTS:
                    for server in servers:
                        _measure(server, targets[server.kind], endpoint, size, args, report, warm=round_ == 0)
        finally:
            for server in servers:
                server.stop()
    _evaluate(report, sizes)
    _print_tables(report, sizes)
    print(f"\ntotal {time.monotonic() - started:.0f}s")
    if args.json:
        out = asdict(report)
        args.json.write_text(json.dumps(out, indent=2))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
