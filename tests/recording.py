"""Helpers for the record/diagnose tests: a `scimitar serve` subprocess, the recording proxy on an
ephemeral loopback port, and a replay of a scenario file through it (outside pytest's own runs)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scimitar.record.model import DEFAULT_MAX_BODY_BYTES, Capture
from scimitar.record.proxy import RecordingProxy
from tests.uvicorn_server import serving

TOKEN = "rec-test-token-5f2b9c1d7e"


@contextlib.contextmanager
def scimitar_serve(*quirks: str) -> Iterator[str]:
    """`scimitar serve --port 0` (strict unless quirks) in a subprocess; yields its SCIM base URL."""
    args = [sys.executable, "-m", "scimitar.cli", "serve", "--port", "0"]
    for quirk in quirks:
        args += ["--quirk", quirk]
    env = {**os.environ, "SCIMITAR_SERVE_TOKEN": TOKEN}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            first = proc.stdout.readline()
            if " at http" in first or not first:
                break
        assert " at http" in first, first
        yield first.split(" at ", 1)[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def recording_proxy(upstream: str) -> Iterator[tuple[str, Capture]]:
    """The recording proxy in front of `upstream` on 127.0.0.1; yields (its URL, the capture)."""
    capture = Capture(upstream_host=upstream.split("//", 1)[1].split("/", 1)[0])
    app = RecordingProxy(upstream, capture, max_body_bytes=DEFAULT_MAX_BODY_BYTES)
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}", capture


def replay(files: list[Path], tmp: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`scimitar replay FILES EXTRA` in-process; (exit code, printed text)."""
    from scimitar.cli import build_parser
    from scimitar.scenario.cli import run

    ns = build_parser(command="replay").parse_args(
        ["replay", *map(str, files), "--reports-dir", str(tmp / "reports"), "-q", *extra])
    out = io.StringIO()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        code = run(ns, out)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue()


def record(scenario: Path, upstream: str, tmp: Path, out: Path) -> tuple[int, str, Capture]:
    """Replay `scenario` through a recording proxy in front of `upstream`; write the recording to `out`."""
    from scimitar.record.cli import write

    with recording_proxy(upstream) as (url, capture):
        code, text = replay([scenario], tmp, "--target-url", url, env={"SCIM_TOKEN": TOKEN})
    sink = io.StringIO()
    write(capture, str(out), None, sink, ("python-httpx",))
    return code, text, capture


def load(file: Path) -> Any:
    from scimitar.scenario.loader import load_scenario

    return load_scenario(file)


@contextlib.contextmanager
def quirky_server(*quirks: str) -> Iterator[str]:
    """The reference server under `quirks` on 127.0.0.1 in a thread (faster than a subprocess per quirk)."""
    from scimitar.quirks import parse_quirks
    from scimitar.server.app import create_app
    from scimitar.server.config import ServerConfig

    config = ServerConfig(quirks=parse_quirks(list(quirks)), tokens=[TOKEN])
    with serving(create_app(config)) as port:
        yield f"http://127.0.0.1:{port}/scim/v2"


def to_har(capture: Capture, base: str, authorization: str | None = None) -> dict[str, Any]:
    """A HAR 1.2 log of `capture` (what browser dev tools export), the request URLs under `base`."""
    entries = []
    for ex in capture.exchanges:
        headers = [{"name": k, "value": v} for k, v in ex.headers]
        if authorization and ex.authorized:
            headers.append({"name": "Authorization", "value": authorization})
        request: dict[str, Any] = {"method": ex.method, "url": base.rstrip("/") + ex.path
                                   + (f"?{ex.query}" if ex.query else ""), "httpVersion": "HTTP/1.1",
                                   "headers": headers, "queryString": [], "cookies": [],
                                   "headersSize": -1, "bodySize": len(ex.body)}
        if ex.body:
            request["postData"] = {"mimeType": ex.header("Content-Type") or "", "text": ex.body.decode()}
        entries.append({
            "startedDateTime": "2026-12-01T10:00:00.000Z", "time": 1, "request": request,
            "response": {"status": ex.status, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
                         "headers": [{"name": k, "value": v} for k, v in ex.response_headers.items()],
                         "content": {"size": len(ex.response_body), "mimeType": ex.response_headers.get(
                             "content-type", ""), "text": ex.response_body.decode()},
                         "redirectURL": "", "headersSize": -1, "bodySize": len(ex.response_body)},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0},
        })
    return {"log": {"version": "1.2", "creator": {"name": "scimitar tests", "version": "1"}, "entries": entries}}
