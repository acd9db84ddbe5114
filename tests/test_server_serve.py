"""`scimitar serve` as an operator runs it: the admin token from the environment, never printed,
and a client that hangs up mid-request costs one debug line, not a traceback (issue 10, item 15)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time

import httpx

from scimitar.server.app import create_app
from scimitar.server.config import ServerConfig
from tests.uvicorn_server import serving

ADMIN_SECRET = "admin-from-env-5f0c2a9d71"


def test_admin_token_from_the_environment_is_used_and_never_printed() -> None:
    env = {**os.environ, "SCIMITAR_ADMIN_TOKEN": ADMIN_SECRET, "SCIMITAR_SERVE_TOKEN": "scim-env-token-0123"}
    proc = subprocess.Popen(
        # the root base path too: building the admin URL once crashed on it (rsplit on "")
        [sys.executable, "-m", "scimitar.cli", "serve", "--port", "0", "--base-path", "/"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip().startswith("try:"):
                break
        out = "".join(lines)
        assert "try:" in out, out
        assert ADMIN_SECRET not in out and "scim-env-token-0123" not in out, out
        assert "<$SCIMITAR_ADMIN_TOKEN>" in out, out
        origin = out.split(" at ", 1)[1].split()[0]  # http://127.0.0.1:PORT (SCIM at the root)
        with httpx.Client(timeout=10) as client:
            ok = client.get(f"{origin}/_admin/settings", headers={"Authorization": f"Bearer {ADMIN_SECRET}"})
            assert ok.status_code == 200, ok.text
            refused = client.get(f"{origin}/_admin/settings", headers={"Authorization": "Bearer nope"})
            assert refused.status_code == 401
            scim = client.get(f"{origin}/Users", headers={"Authorization": "Bearer scim-env-token-0123"})
            assert scim.status_code == 200, scim.text
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()


def test_serve_help_documents_the_admin_token_variable() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scimitar.cli", "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "SCIMITAR_ADMIN_TOKEN" in proc.stdout


def test_admin_token_sources_in_order() -> None:
    """--admin-token wins over $SCIMITAR_ADMIN_TOKEN, which wins over a generated token."""
    import argparse

    from scimitar.server.cli import add_arguments, build_config

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    env = {"SCIMITAR_ADMIN_TOKEN": " given "}
    assert build_config(parser.parse_args([]), env)[0].admin_token == "given"
    assert build_config(parser.parse_args(["--admin-token", "flag"]), env)[0].admin_token == "flag"
    generated = build_config(parser.parse_args([]), {})[0].admin_token
    assert generated.startswith("admin_") and generated != build_config(parser.parse_args([]), {})[0].admin_token


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_client_disconnect_mid_body_is_one_debug_line() -> None:
    app = create_app(ServerConfig(tokens=["tok-0123456789"], admin_token="adm-0123456789"))
    handler = _Records()
    loggers = [logging.getLogger(n) for n in ("scimitar.server", "uvicorn.error", "uvicorn")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
    logging.getLogger("scimitar.server").setLevel(logging.DEBUG)
    try:
        with serving(app) as port:
            for path, auth in (("/scim/v2/Users", "Bearer tok-0123456789"), ("/_admin/roles", "Bearer adm-0123456789")):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(
                        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
                        "Content-Type: application/scim+json\r\nContent-Length: 1000\r\n\r\n".encode()
                        + b'{"schemas": ['
                    )
                    time.sleep(0.2)  # the server is now waiting for the rest of the body
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and not any(
                    path in r.getMessage() for r in handler.records if "disconnected" in r.getMessage()
                ):
                    time.sleep(0.05)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
    messages = [(r.levelname, r.getMessage()) for r in handler.records]
    disconnects = [m for m in messages if "disconnected" in m[1]]
    assert len(disconnects) == 2 and all(level == "DEBUG" for level, _ in disconnects), messages
    assert not [m for m in messages if m[0] in ("ERROR", "CRITICAL", "WARNING")], messages
    assert not any(r.exc_info for r in handler.records), messages
