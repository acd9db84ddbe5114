"""How long the whole check catalogue takes, in-process and over loopback HTTP.

Machines here are noisy, so besides wall times this reports a ratio against a baseline measured in
the same run: the same number of requests the catalogue sent, replayed as plain GETs of
/ServiceProviderConfig through a bare httpx client on the same transport. The ratio is the
harness's cost (data generation, validation, recording, masking) on top of the server's own cost.

    .venv/bin/python bench/suite.py [--http] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from scimitar.checks.context import Discovery
from scimitar.checks.registry import all_checks, load_catalogue
from scimitar.options import RunOptions
from scimitar.pytest_plugin import ScimSession
from scimitar.results import Outcome
from scimitar.run import Run
from scimitar.target import Target, TargetOptions

TOKEN = "bench-token-0123456789abcdef"


def _run_catalogue(options: TargetOptions) -> dict[str, Any]:
    load_catalogue()
    checks = all_checks()
    target = Target(options)
    session = ScimSession(target, Run(seed=7), RunOptions(seed=7))
    started = time.perf_counter()
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    outcomes: dict[str, int] = {}
    requests = 0
    for check in checks:
        result = session.run_check(check)
        outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
        requests += len(result.exchanges)
    session.finish()
    wall = time.perf_counter() - started
    return {"checks": len(checks), "requests": requests, "wall_s": round(wall, 3), "outcomes": outcomes,
            "must_failures": outcomes.get(str(Outcome.FAILED), 0)}


def _baseline(client: httpx.Client, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        client.get("/ServiceProviderConfig")
    return time.perf_counter() - started


def in_process() -> dict[str, Any]:
    from scimitar.server.app import create_app
    from scimitar.server.config import ServerConfig
    from scimitar.transport import InProcessTransport

    figures = _run_catalogue(TargetOptions())
    app = create_app(ServerConfig(tokens=[TOKEN]))
    with httpx.Client(transport=InProcessTransport(app, lifespan=False), base_url="http://b/scim/v2",
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        base = _baseline(client, figures["requests"])
    figures["baseline_s"] = round(base, 3)
    figures["ratio"] = round(figures["wall_s"] / base, 2)
    return figures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def over_http() -> dict[str, Any]:
    port = _free_port()
    exe = Path(sys.executable).with_name("scimitar")
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--token", TOKEN],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/scim/v2"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/ServiceProviderConfig", headers={"Authorization": f"Bearer {TOKEN}"})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        figures = _run_catalogue(TargetOptions(url=url, token=TOKEN))
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            base = _baseline(client, figures["requests"])
        figures["baseline_s"] = round(base, 3)
        figures["ratio"] = round(figures["wall_s"] / base, 2)
        return figures
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http", action="store_true", help="also run over loopback HTTP (uvicorn)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    report = {"in_process": in_process()}
    if args.http:
        report["loopback_http"] = over_http()
    for name, fig in report.items():
        print(f"{name}: {fig['checks']} checks, {fig['requests']} requests, {fig['wall_s']} s "
              f"(baseline {fig['baseline_s']} s for as many plain GETs: ratio {fig['ratio']}x), "
              f"outcomes {fig['outcomes']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
