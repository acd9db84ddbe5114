"""Masking happens at recording time: no secret survives into transcript, curl or JSON."""

from __future__ import annotations

import base64
import json
import shlex

import httpx

from scimitar.exchange import MASK, Exchange, Masker

TOKEN = "tok-SUPERSECRET-123"
PASSWORD = "pw-Geheim-456"


def _exchange(masker: Masker, request: httpx.Request, response: httpx.Response) -> Exchange:
    request.read()
    response.read()
    return Exchange.record(request, response, masker=masker, elapsed_ms=1.5)


def test_bearer_token_never_appears_anywhere() -> None:
    masker = Masker([TOKEN])
    body = {"userName": "alice", "password": PASSWORD, "nested": {"client_secret": "cs-1234567"}}
    request = httpx.Request(
        "POST",
        f"https://scim.example.test/scim/v2/Users?access={TOKEN}",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "X-Api-Key": "key-abcdef",
            "Accept": "application/scim+json",
        },
        content=json.dumps(body).encode(),
    )
    response = httpx.Response(
        201,
        headers={"Set-Cookie": "session=abc123456", "Content-Type": "application/scim+json"},
        content=json.dumps({"id": "1", "echo": f"you sent {TOKEN}", "token": "srv-token-999"}).encode(),
        request=request,
    )
    exchange = _exchange(masker, request, response)
    rendered = [
        exchange.transcript(),
        exchange.curl(),
        json.dumps(exchange.to_json()),
        json.dumps(exchange.json()),
    ]
    for text in rendered:
        for secret in (TOKEN, PASSWORD, "cs-1234567", "key-abcdef", "abc123456", "srv-token-999"):
            assert secret not in text, (secret, text)
    assert "Authorization: Bearer ****" in exchange.transcript()
    assert exchange.json()["echo"] == f"you sent {MASK}"
    assert exchange.json()["token"] == MASK
    assert '"Authorization: Bearer $SCIM_TOKEN"' in exchange.curl()


def test_basic_credential_and_its_base64_are_masked() -> None:
    masker = Masker()
    masker.add_basic("scim_key1", PASSWORD)
    encoded = base64.b64encode(f"scim_key1:{PASSWORD}".encode()).decode()
    request = httpx.Request(
        "GET", "http://127.0.0.1:8000/scim/v2/Users", headers={"Authorization": f"Basic {encoded}"}
    )
    response = httpx.Response(401, content=f"bad credential {encoded} / {PASSWORD}".encode(), request=request)
    exchange = _exchange(masker, request, response)
    for text in (exchange.transcript(), exchange.curl(), json.dumps(exchange.to_json())):
        assert encoded not in text and PASSWORD not in text
    assert '-u "$SCIM_USERNAME:$SCIM_PASSWORD"' in exchange.curl()


def test_curl_reproduces_method_url_headers_and_body() -> None:
    masker = Masker([TOKEN])
    payload = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Zoë O'Brien 日本"}],
    }
    request = httpx.Request(
        "PATCH",
        "http://127.0.0.1:8000/scim/v2/Users/abc?attributes=userName",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/scim+json",
            "If-Match": 'W/"1"',
        },
        content=json.dumps(payload, ensure_ascii=False).encode(),
    )
    exchange = _exchange(masker, request, httpx.Response(200, json={"id": "abc"}, request=request))
    argv = shlex.split(exchange.curl().replace("$SCIM_TOKEN", "ENVTOKEN"))
    assert argv[0] == "curl"
    assert argv[argv.index("-X") + 1] == "PATCH"
    assert "http://127.0.0.1:8000/scim/v2/Users/abc?attributes=userName" in argv
    headers = [argv[i + 1] for i, a in enumerate(argv) if a == "-H"]
    assert "Content-Type: application/scim+json" in headers
    assert 'If-Match: W/"1"' in headers
    assert "Authorization: Bearer ENVTOKEN" in headers
    assert json.loads(argv[argv.index("--data-raw") + 1]) == payload


def test_huge_body_is_truncated_but_json_stays_available() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/scim/v2/Users")
    big = {"Resources": [{"id": str(i), "userName": "x" * 50} for i in range(5000)], "totalResults": 5000}
    exchange = Exchange.record(
        request,
        httpx.Response(200, json=big, request=request),
        masker=Masker(),
        elapsed_ms=1,
        max_body_chars=1000,
    )
    assert exchange.truncated
    assert "truncated" in exchange.response_body
    assert len(exchange.response_body) < 1200
    assert exchange.json()["totalResults"] == 5000


def test_transcript_pretty_prints_json_and_shows_status() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/scim/v2/Users/1")
    exchange = Exchange.record(
        request, httpx.Response(404, json={"status": "404"}, request=request), masker=Masker(), elapsed_ms=2
    )
    text = exchange.transcript()
    assert "> GET http://127.0.0.1/scim/v2/Users/1" in text
    assert "< HTTP 404 Not Found" in text
    assert '{\n  "status": "404"\n}' in text


def test_error_exchange_without_response() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9/scim/v2/Users")
    exchange = Exchange.record(request, None, masker=Masker(), elapsed_ms=0.1, error="connection refused")
    assert exchange.status == 0 and exchange.json() is None
    assert "no response: connection refused" in exchange.transcript()
