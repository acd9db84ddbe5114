"""No request-target form reaches a SCIM route without a SCIM credential, nor an admin route
without the admin token (issue 10, item 13), against the server as `scimitar serve` runs it.

The admin routes check their own token and skip SCIM authentication, so the boundary between the
two must hold however a path is spelled: case, doubled slashes, dot segments, percent-escapes,
trailing dots, absolute-form targets. A base path that overlaps the admin prefix is refused at
start-up, in one line, with exit status 2.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from scimitar.server.app import create_app
from scimitar.server.config import ServerConfig
from tests.uvicorn_server import raw_request, serving

TOKEN = "scim-token-0123456789"
ADMIN = "admin-token-0123456789"

#: Spellings of GET /scim/v2/Users; the first is the plain one.
SCIM_FORMS = [
    "/scim/v2/Users", "/SCIM/V2/USERS", "/Scim/v2/Users", "//scim/v2/Users", "/scim//v2/Users",
    "/scim/v2//Users", "/scim/v2/./Users", "/scim/./v2/Users", "/./scim/v2/Users", "/scim/v2/Users/",
    "/scim/v2/Users.", "/scim/v2./Users", "/scim./v2/Users", "/%73cim/v2/Users", "/scim/v2/%55sers",
    "/scim%2fv2/Users", "/scim%2Fv2%2FUsers", "/scim/v2/Users%20", "/scim/v2/Users;x", "/scim/v2/Users?x=/_admin",
    "/_admin/../scim/v2/Users", "/_admin/%2e%2e/scim/v2/Users", "/_admin%2f..%2fscim/v2/Users",
    "/_admin/./../scim/v2/Users", "/_admin//scim/v2/Users", "/_admin/scim/v2/Users", "/_admin./scim/v2/Users",
    "/_admin%00/scim/v2/Users", "/_admin-scim/v2/Users", "/_ADMIN/../scim/v2/Users", "/_admin/..%2fscim/v2/Users",
    "/_admin\\..\\scim\\v2\\Users", "/_admin%5c..%5cscim/v2/Users", "http://127.0.0.1/_admin/../scim/v2/Users",
    "http://127.0.0.1/scim/v2/Users", "/_admin/credentials/../../scim/v2/Users", "/_admin/%252e%252e/scim/v2/Users",
    "/scim/v2/Users/..", "/scim/v2/Users/../Users", "*",
]  # fmt: skip

#: Spellings of GET /_admin/credentials; the first is the plain one.
ADMIN_FORMS = [
    "/_admin/credentials", "/_ADMIN/credentials", "/_Admin/Credentials", "//_admin/credentials",
    "/_admin//credentials", "/_admin/./credentials", "/./_admin/credentials", "/_admin/credentials/",
    "/_admin/credentials.", "/_admin./credentials", "/%5Fadmin/credentials", "/_admin/%63redentials",
    "/_admin%2fcredentials", "/scim/v2/../../_admin/credentials", "/scim/v2/%2e%2e/%2e%2e/_admin/credentials",
    "/scim/v2/_admin/credentials", "/scim/v2//_admin/credentials", "http://127.0.0.1/_admin/credentials",
    "/_admin/credentials%00", "/_admin/credentials;x", "/_admin/credentials?x=1",
]  # fmt: skip


@pytest.fixture(scope="module", params=["/scim/v2", ""], ids=["base-scim-v2", "base-root"])
def port(request: pytest.FixtureRequest) -> Iterator[tuple[int, str]]:
    app = create_app(ServerConfig(base_path=request.param, tokens=[TOKEN], admin_token=ADMIN))
    with serving(app) as p:
        yield p, request.param


def _get(port: int, target: str, token: str | None) -> tuple[int, bytes]:
    auth = f"\r\nAuthorization: Bearer {token}" if token else ""
    return raw_request(port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1{auth}")


def test_scim_routes_need_the_scim_credential_in_every_spelling(port: tuple[int, str]) -> None:
    p, base = port
    forms = [f.replace("/scim/v2", base) for f in SCIM_FORMS] if not base else SCIM_FORMS
    plain = forms[0]
    assert _get(p, plain, TOKEN)[0] == 200  # the control: the credential opens it
    reached = []
    for form in forms:
        for token in (None, ADMIN, "wrong"):
            status, raw = _get(p, form, token)
            if 200 <= status < 300 or b"ListResponse" in raw:
                reached.append((form, token, status))
    assert not reached, f"SCIM served without its credential: {reached}"


def test_admin_routes_need_the_admin_token_in_every_spelling(port: tuple[int, str]) -> None:
    p, base = port
    forms = [f.replace("/scim/v2", base) for f in ADMIN_FORMS] if not base else ADMIN_FORMS
    assert _get(p, forms[0], ADMIN)[0] == 200  # the control
    reached = []
    for form in forms:
        for token in (None, TOKEN, "wrong"):
            status, raw = _get(p, form, token)
            if 200 <= status < 300 or b"maxLive" in raw:
                reached.append((form, token, status))
    assert not reached, f"the admin API answered without the admin token: {reached}"


@pytest.mark.parametrize(
    "base", ["/_admin", "/_admin/scim/v2", "/_admin-scim/v2", "/_ADMIN/v2", "/_adminx", "_admin/"]
)
def test_base_path_overlapping_the_admin_prefix_is_refused(base: str) -> None:
    with pytest.raises(ValueError, match="overlaps the admin API"):
        ServerConfig(base_path=base)


@pytest.mark.parametrize("base", ["/x/{id}", "/a/../b", "/a//b", "/a./b", "/%5F_admin"])
def test_base_path_that_routes_could_misread_is_refused(base: str) -> None:
    with pytest.raises(ValueError, match="may only hold"):
        ServerConfig(base_path=base)


def test_serve_refuses_an_overlapping_base_path_in_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scimitar.cli", "serve", "--base-path", "/_admin-scim/v2", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "overlaps the admin API" in lines[0], proc.stderr
    assert "scimitar reference server" not in proc.stdout  # it never started


def test_the_gate_treats_the_admin_prefix_as_a_whole_segment() -> None:
    """Defence in depth: even a config that slipped past the start-up check (set after it) keeps
    SCIM authentication on `/_admin-scim/...`; only `/_admin` and `/_admin/...` skip it."""
    from tests.asgi_raw import asgi_call

    cfg = ServerConfig(tokens=[TOKEN], admin_token=ADMIN)
    cfg.base_path = "/_admin-scim/v2"
    app = create_app(cfg)
    status, body, _ = asgi_call(app, "GET", b"/_admin-scim/v2/Users")
    assert status == 401, body
    auth = [(b"authorization", f"Bearer {TOKEN}".encode())]
    assert asgi_call(app, "GET", b"/_admin-scim/v2/Users", auth)[0] == 200
    assert asgi_call(app, "GET", b"/_admin/credentials")[0] == 401  # the admin guard's own 401


def test_embedded_target_refuses_an_overlapping_base_path(capsys: pytest.CaptureFixture[str]) -> None:
    """`scimitar test --base-path /_admin/x` (the embedded server) is the same usage error."""
    from scimitar.cli import main

    assert main(["test", "--base-path", "/_admin/x", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "overlaps the admin API" in err[0], err
