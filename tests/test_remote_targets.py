"""Scenarios against a real socket: `scimitar serve` in a subprocess on 127.0.0.1, `scimitar replay
--target-url` against it, as a support engineer would run them.

* an Okta flow passes remotely and leaves nothing with the run prefix behind;
* scenarios needing the console (admin API) or the ClickHouse profile are skipped with the reason;
* with the example observer (`scimitar.scenario.observer:admin_api_observer`) pointed at a remote
  `scimitar serve --profile clickhouse`, ClickHouse's test plan passes remotely;
* `eventually:` polls a server whose reads lag its writes (`--quirk eventual-consistency`).

Every server is bound to loopback, stopped by the fixture that started it, and every command has a
time limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scimitar.exchange import Recorder
from scimitar.load.runner import free_port
from scimitar.run import Run
from scimitar.scenario.engine import Environment, run_scenario
from scimitar.scenario.loader import load_scenario
from scimitar.target import Target, TargetOptions

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "remote-test-token-8c1d7e"
ADMIN = "remote-admin-token-3f9a0b"
BASIC = ("scim_0123456789abcdef0123", "remote-basic-secret-77a1")


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.origin = f"http://127.0.0.1:{port}"
        self.url = self.origin + "/scim/v2"


def _serve(*extra: str) -> Iterator[Served]:
    port = free_port()
    argv = [sys.executable, "-m", "scimitar.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--admin-token", ADMIN, *extra]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    served = Served(proc, port)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, "scimitar serve exited"
            try:
                if httpx.get(served.origin + "/_admin/settings", timeout=1,
                             headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "scimitar serve did not start within 20 s"
            time.sleep(0.1)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "SCIMITAR_"))}
    return {**base, **extra}


def _replay(*argv: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The run folder goes to a scratch directory, never into the checkout's reports/.
    with tempfile.TemporaryDirectory() as reports:
        return subprocess.run([sys.executable, "-m", "scimitar.cli", "replay", *argv, "--reports-dir", reports],
                              cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=120, check=False)


def _leftovers(served: Served, prefix: str, auth: httpx.Auth | None = None) -> int:
    headers = {} if auth else {"Authorization": f"Bearer {TOKEN}"}
    total = 0
    for endpoint, attr in (("Users", "userName"), ("Groups", "displayName")):
        response = httpx.get(f"{served.url}/{endpoint}", params={"filter": f'{attr} sw "{prefix}"'},
                             headers=headers, auth=auth, timeout=10)
        assert response.status_code == 200, response.text
        total += int(response.json()["totalResults"])
    return total


@pytest.fixture(scope="module")
def rfc_server() -> Iterator[Served]:
    yield from _serve("--token", TOKEN)


@pytest.fixture(scope="module")
def clickhouse_server() -> Iterator[Served]:
    yield from _serve("--profile", "clickhouse", "--basic", f"{BASIC[0]}:{BASIC[1]}")


@pytest.fixture(scope="module")
def lagging_server() -> Iterator[Served]:
    yield from _serve("--token", TOKEN, "--quirk", "eventual-consistency")


def test_replay_okta_deactivate_against_a_real_socket(rfc_server: Served, tmp_path: Path) -> None:
    started = time.perf_counter()
    out = _replay("scenarios/okta/deactivate.yaml", "--target-url", rfc_server.url, "--run-id", "remote1",
                  "--json", str(tmp_path / "r.json"), env={"SCIM_TOKEN": TOKEN}, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "scenarios/okta/deactivate.yaml" in out.stdout and "[passed]" in out.stdout
    assert f"target: {rfc_server.url}" in out.stdout
    assert TOKEN not in out.stdout + out.stderr + (tmp_path / "r.json").read_text()
    assert _leftovers(rfc_server, "scimitar-remote1-") == 0
    print(f"\nremote replay of deactivate.yaml: {time.perf_counter() - started:.2f} s")


def test_console_and_profile_scenarios_are_skipped_remotely(rfc_server: Served) -> None:
    out = _replay("scenarios/clickhouse/test-plan.yaml", "scenarios/okta/token-rotation.yaml",
                  "--target-url", rfc_server.url, env={"SCIM_TOKEN": TOKEN}, cwd=ROOT)
    assert out.returncode == 4, out.stdout + out.stderr  # everything skipped: nothing was verified
    assert "SKIPPED" in out.stdout and "nothing was verified" in out.stdout
    assert "skipped: needs a target with the 'clickhouse' profile" in out.stdout
    assert "--declare-profile clickhouse" in out.stdout
    assert "skipped: needs the console API (credential rotation, role mapping)" in out.stdout
    assert "--observer module:factory" in out.stdout
    out = _replay("scenarios/clickhouse/test-plan.yaml", "--target-url", rfc_server.url,
                  "--declare-profile", "clickhouse", env={"SCIM_TOKEN": TOKEN}, cwd=ROOT)
    assert out.returncode == 4 and "skipped: needs an observer" in out.stdout, out.stdout


def test_clickhouse_test_plan_passes_remotely_with_the_example_observer(clickhouse_server: Served) -> None:
    started = time.perf_counter()
    env = {"SCIM_USERNAME": BASIC[0], "SCIM_PASSWORD": BASIC[1], "SCIMITAR_ADMIN_TOKEN": ADMIN,
           "SCIMITAR_ADMIN_URL": clickhouse_server.origin + "/_admin"}
    out = _replay("scenarios/clickhouse/test-plan.yaml", "scenarios/clickhouse/role-mapping.yaml",
                  "scenarios/clickhouse/email-casing.yaml", "--target-url", clickhouse_server.url,
                  "--run-id", "remoteck", "--declare-profile", "clickhouse",
                  "--observer", "scimitar.scenario.observer:admin_api_observer", env=env, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("[passed]") == 3, out.stdout
    assert "[skipped]" not in out.stdout and " 0 skipped" in out.stdout
    for secret in (BASIC[1], ADMIN):
        assert secret not in out.stdout + out.stderr
    assert _leftovers(clickhouse_server, "scimitar-remoteck-", httpx.BasicAuth(*BASIC)) == 0
    print(f"\nremote ClickHouse scenarios with the admin-API observer: {time.perf_counter() - started:.2f} s")


def test_example_observer_needs_its_token(rfc_server: Served) -> None:
    from scimitar.scenario.observer import admin_api_observer

    target = Target(TargetOptions(url=rfc_server.url, token=TOKEN))
    try:
        with pytest.raises(ValueError, match="SCIMITAR_ADMIN_TOKEN"):
            admin_api_observer(target, environ={})
        console = admin_api_observer(target, environ={"SCIMITAR_ADMIN_TOKEN": ADMIN})
        assert console.base == rfc_server.origin + "/_admin"  # the default: the target's origin
        assert console.roles()["roles"] is not None
    finally:
        target.close()


READ_BACK = """\
name: a created user reads back {how}
description: create, then read at once; the server's reads lag its writes
idp: generic
broken_by: [deleted-still-readable]
steps:
  - name: create
    request:
      method: POST
      path: /Users
      json: {{schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "{{{{ run.prefix }}}}lag@example.com"}}
    expect: {{status: 201}}
    capture: {{user_id: body.id}}
  - name: read back
    request: {{method: GET, path: "/Users/{{{{ captured.user_id }}}}"}}
    expect: {{status: 200, checks: [resource-schema-User]}}
{eventually}
  - name: delete
    request: {{method: DELETE, path: "/Users/{{{{ captured.user_id }}}}"}}
    expect: {{status: 204}}
"""


@pytest.mark.parametrize("polls", [True, False], ids=["eventually-passes", "without-eventually-fails"])
def test_eventually_polls_a_server_whose_reads_lag(lagging_server: Served, tmp_path: Path, polls: bool) -> None:
    root = tmp_path / "scenarios"
    root.mkdir()
    (root / "scenario.schema.json").write_text((ROOT / "scenarios" / "scenario.schema.json").read_text())
    text = READ_BACK.format(how="eventually" if polls else "at once",
                            eventually="    eventually: {within: 3s, every: 100ms}" if polls else "")
    (root / "lag.yaml").write_text(textwrap.dedent(text))
    scenario = load_scenario(root / "lag.yaml")
    target = Target(TargetOptions(url=lagging_server.url, token=TOKEN))
    run = Run(run_id="lag" + ("p" if polls else "n"))
    started = time.perf_counter()
    try:
        result = run_scenario(scenario, Environment(target=target, run=run))
        run.ledger.cleanup(target.client(target.masker(), Recorder()))
    finally:
        target.close()
    elapsed = time.perf_counter() - started
    if polls:
        assert result.outcome == "passed", result.render()
        assert len(result.steps[1].exchanges) >= 2  # it did have to poll
        assert elapsed < 3
    else:
        assert result.outcome == "failed", result.render()
        assert result.steps[1].message.startswith("status 404, expected 200"), result.steps[1].message


def test_eventually_is_honoured_in_process_when_the_embedded_server_lags(tmp_path: Path) -> None:
    from scimitar.quirks import Quirk

    root = tmp_path / "scenarios"
    root.mkdir()
    (root / "scenario.schema.json").write_text((ROOT / "scenarios" / "scenario.schema.json").read_text())
    for name, polls in (("poll.yaml", True), ("once.yaml", False)):
        text = READ_BACK.format(how=name, eventually="    eventually: {within: 3s, every: 100ms}" if polls else "")
        (root / name).write_text(textwrap.dedent(text))
        target = Target(TargetOptions(quirks=frozenset({Quirk.EVENTUAL_CONSISTENCY})))
        try:
            result = run_scenario(load_scenario(root / name), Environment(target=target, run=Run(run_id="lagin")))
        finally:
            target.close()
        assert result.outcome == ("passed" if polls else "failed"), result.render()


def test_scimitar_test_takes_declare_profile_and_observer_like_replay(
    clickhouse_server: Served, tmp_path: Path
) -> None:
    """The README (and test's own skip message) tell users to pass these to `scimitar test` too."""
    env = {"SCIM_USERNAME": BASIC[0], "SCIM_PASSWORD": BASIC[1], "SCIMITAR_ADMIN_TOKEN": ADMIN,
           "SCIMITAR_ADMIN_URL": clickhouse_server.origin + "/_admin"}
    out = subprocess.run(
        [sys.executable, "-m", "scimitar.cli", "test", "--target-url", clickhouse_server.url, "--idp", "clickhouse",
         "-k", "test-plan or email-casing", "--run-id", "remotetest", "--declare-profile", "clickhouse",
         "--observer", "scimitar.scenario.observer:admin_api_observer", "--json", "r.json", "--reports-dir", "rep"],
        cwd=tmp_path, env=_env(**env), capture_output=True, text=True, timeout=180, check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    outcomes = {s["id"]: s["outcome"] for s in data["scenarios"]}
    assert outcomes and set(outcomes.values()) == {"passed"}, outcomes
    assert data["run"]["target_details"]["declared_profile"] == "clickhouse"
    assert _leftovers(clickhouse_server, "scimitar-remotetest-", httpx.BasicAuth(*BASIC)) == 0
