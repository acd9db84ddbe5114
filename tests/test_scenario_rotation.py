"""Credential rotation never revokes the run's own credential (issue 10, item 5).

Against a remote `scimitar serve` driven through its admin API with the README's example observer,
the rotation scenario used to revoke the harness's credential (the first one the console listed):
cleanup then got 401 and the next run exited 3. Now it rotates a disposable second credential that
must be supplied explicitly, is skipped with that reason otherwise, ends with a request proving the
run's credential live, and the engine refuses to revoke any credential the scenario does not own.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scimitar.run import Run
from scimitar.scenario.engine import Environment, run_scenario
from scimitar.scenario.loader import load_scenario
from scimitar.target import Target, TargetOptions
from tests.test_remote_targets import ADMIN, ROOT, TOKEN, Served, _replay, _serve

ROTATION = "scenarios/okta/token-rotation.yaml"
OBSERVER = "scimitar.scenario.observer:admin_api_observer"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    yield from _serve("--token", TOKEN)


def _status(served: Served, token: str) -> int:
    return httpx.get(served.url + "/Users", params={"count": 1}, timeout=5,
                     headers={"Authorization": f"Bearer {token}"}).status_code


def _second(served: Served) -> str:
    response = httpx.post(served.origin + "/_admin/credentials", json={"kind": "bearer"}, timeout=5,
                          headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def test_remote_rotation_without_a_second_credential_is_skipped(served: Served) -> None:
    env = {"SCIM_TOKEN": TOKEN, "SCIMITAR_ADMIN_TOKEN": ADMIN}
    out = _replay(ROTATION, "--target-url", served.url, "--observer", OBSERVER, env=env, cwd=ROOT)
    assert out.returncode == 4, out.stdout + out.stderr  # nothing was verified: its own exit code
    assert "[skipped]" in out.stdout and "SCIMITAR_SECOND_TOKEN" in out.stdout, out.stdout
    assert _status(served, TOKEN) == 200


def test_remote_rotation_rotates_the_second_credential_and_keeps_the_run_live(served: Served) -> None:
    second = _second(served)
    env = {"SCIM_TOKEN": TOKEN, "SCIMITAR_ADMIN_TOKEN": ADMIN, "SCIMITAR_SECOND_TOKEN": second}
    out = _replay(ROTATION, "--target-url", served.url, "--observer", OBSERVER, "--run-id", "rot1",
                  env=env, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[passed]" in out.stdout, out.stdout
    assert "the run's credential (token B) is live at the end" in out.stdout
    assert _status(served, TOKEN) == 200  # the run's credential survived
    assert _status(served, second) == 401  # the disposable one was rotated out
    for secret in (second, TOKEN, ADMIN):
        assert secret not in out.stdout + out.stderr
    # The next run is not locked out (it used to exit 3).
    again = _replay("scenarios/okta/deactivate.yaml", "--target-url", served.url, "--run-id", "rot2",
                    env={"SCIM_TOKEN": TOKEN}, cwd=ROOT)
    assert again.returncode == 0, again.stdout + again.stderr


def test_the_engine_refuses_to_revoke_a_credential_it_does_not_own(tmp_path: Path) -> None:
    root = tmp_path / "scenarios"
    root.mkdir()
    (root / "scenario.schema.json").write_text((ROOT / "scenarios" / "scenario.schema.json").read_text())
    (root / "revoke.yaml").write_text(textwrap.dedent("""\
        name: revoke the first listed credential
        description: what the old rotation scenario did
        idp: generic
        requires: {admin: true}
        broken_by: [revoked-token-accepted]
        steps:
          - name: list
            admin: {action: list-credentials}
            capture:
              first: body.credentials[0].id
          - name: revoke it
            admin: {action: revoke-credential, id: "{{ captured.first }}"}
        """))
    target = Target(TargetOptions())
    try:
        result = run_scenario(load_scenario(root / "revoke.yaml"), Environment(target=target, run=Run()))
    finally:
        target.close()
    assert result.outcome == "error"
    assert result.steps[1].outcome == "error" and "refusing to revoke" in result.steps[1].message


def test_remote_basic_rotation_on_a_clickhouse_server() -> None:
    from tests.test_remote_targets import BASIC

    with contextlib.closing(_serve("--profile", "clickhouse", "--basic", f"{BASIC[0]}:{BASIC[1]}")) as server:
        served = next(server)
        created = httpx.post(served.origin + "/_admin/credentials", json={"kind": "basic"}, timeout=5,
                             headers={"Authorization": f"Bearer {ADMIN}"}).json()
        env = {"SCIM_USERNAME": BASIC[0], "SCIM_PASSWORD": BASIC[1], "SCIMITAR_ADMIN_TOKEN": ADMIN,
               "SCIMITAR_SECOND_USERNAME": created["key"], "SCIMITAR_SECOND_PASSWORD": created["secret"]}
        out = _replay("scenarios/clickhouse/token-rotation-basic.yaml", "--target-url", served.url,
                      "--declare-profile", "clickhouse", "--observer", OBSERVER, "--run-id", "rotck",
                      env=env, cwd=ROOT)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "[passed]" in out.stdout, out.stdout
        live = httpx.get(served.url + "/Users", params={"count": 1}, auth=httpx.BasicAuth(*BASIC), timeout=5)
        assert live.status_code == 200
        old = httpx.get(served.url + "/Users", params={"count": 1}, timeout=5,
                        auth=httpx.BasicAuth(created["key"], created["secret"]))
        assert old.status_code == 401
        assert created["secret"] not in out.stdout + out.stderr and BASIC[1] not in out.stdout
