"""The safety promises against a real socket target: `scimitar serve` on 127.0.0.1, seen as remote.

* the harness touches only what it created (foreign resources byte-identical, no write on a foreign
  id in the server's audit log) and deletes all of it at the end: after a normal run, after MUST
  failures, and after Ctrl-C (`scimitar test` and `scimitar replay`);
* `scimitar cleanup` deletes exactly the resources named with the run's prefix, never look-alikes;
* no token (nor its base64 forms, nor the admin token) appears in any output or report file;
* an unreachable target, a refused token or a failed TLS handshake is one line on stderr and exit 3,
  a bad option combination one line and exit 2.

Every command runs as a subprocess with a deadline; every server is stopped at the end. The full
`scimitar test` runs once; the other runs are `--tag` selections or are interrupted early.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from scimitar.pytest_plugin import ScimSession
from scimitar.run import Run
from scimitar.target import Target, TargetOptions

TOKEN = "tok-" + base64.urlsafe_b64encode(os.urandom(18)).decode().rstrip("=")
ADMIN_TOKEN = "adm-" + base64.urlsafe_b64encode(os.urandom(18)).decode().rstrip("=")
PREFIX_ROOT = "scimitar-"
WRITES = ("create", "replace", "patch", "delete")
REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"

pytestmark = pytest.mark.skipif(not SCENARIOS.is_dir(), reason="needs the repository's scenarios/")


def _secret_forms(secret: str) -> set[str]:
    forms = {secret}
    for text in (secret, f"Bearer {secret}", f":{secret}"):
        raw = text.encode()
        forms |= {
            base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode(),
            base64.b64encode(raw).decode().rstrip("="),
        }
    return forms


SECRETS = _secret_forms(TOKEN) | _secret_forms(ADMIN_TOKEN)


def assert_no_secret(text: str, where: str) -> None:
    leaked = sorted(form for form in SECRETS if form in text)
    assert not leaked, f"a secret ({len(leaked)} form(s)) appears in {where}"


def assert_no_traceback(text: str, where: str) -> None:
    assert "Traceback (most recent call last)" not in text, f"traceback in {where}:\n{text[-3000:]}"


def _scimitar() -> list[str]:
    script = Path(sys.executable).with_name("scimitar")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from scimitar.cli import main; sys.exit(main())"]


def _env(token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "SCIMITAR_"))}
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONUNBUFFERED"] = "1"
    if token is not None:
        env["SCIM_TOKEN"] = token
    return env


@dataclass
class Done:
    args: list[str]
    code: int
    out: str
    err: str
    seconds: float

    @property
    def both(self) -> str:
        return self.out + self.err


#: Every command's captured output, for the secret scan.
OUTPUTS: list[Done] = []


def scimitar(*args: str, token: str | None = TOKEN, timeout: float = 60.0, cwd: Path | None = None) -> Done:
    started = time.monotonic()
    proc = subprocess.run(
        [*_scimitar(), *args],
        env=_env(token),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    done = Done(list(args), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
    OUTPUTS.append(done)
    assert_no_secret(done.both, f"the output of scimitar {' '.join(args)}")
    return done


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`scimitar serve` in a subprocess, with SCIM and admin clients that bypass the harness."""

    def __init__(self, log: Path, quirks: Sequence[str] = ()) -> None:
        self.port = _free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.origin}/scim/v2"
        argv = [
            *_scimitar(),
            "serve",
            "--port",
            str(self.port),
            "--token",
            TOKEN,
            "--admin-token",
            ADMIN_TOKEN,
            "--seed-users",
            "50",
            "--seed-groups",
            "5",
        ]
        for quirk in quirks:
            argv += ["--quirk", quirk]
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(argv, env=_env(None), stdout=self._log_file, stderr=subprocess.STDOUT)
        self.scim = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        self.admin = httpx.Client(
            base_url=self.origin, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
        )
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"scimitar serve exited: {log.read_text(errors='replace')}")
            try:
                if self.scim.get("/ServiceProviderConfig").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("scimitar serve did not come up within 20 s")
            time.sleep(0.05)

    def stop(self) -> None:
        self.scim.close()
        self.admin.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log_file.close()

    # -- reading the server's state without the harness ----------------------------------------
    def listing(self, endpoint: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start = 1
        while True:
            body = self.scim.get(endpoint, params={"startIndex": start, "count": 100}).json()
            page = body.get("Resources") or []
            out += page
            start += len(page)
            if not page or start > body["totalResults"]:
                return out

    def snapshot(self) -> dict[str, str]:
        """Every User and Group, by path, as canonical JSON bytes."""
        return {
            f"{endpoint}/{res['id']}": json.dumps(res, sort_keys=True, ensure_ascii=False)
            for endpoint in ("/Users", "/Groups")
            for res in self.listing(endpoint)
        }

    def prefixed(self, prefix: str = PREFIX_ROOT) -> list[str]:
        """Names starting with the prefix, matched here (not by the server's filter)."""
        names = [u["userName"] for u in self.listing("/Users") if u["userName"].startswith(prefix)]
        names += [
            g["displayName"] for g in self.listing("/Groups") if str(g.get("displayName")).startswith(prefix)
        ]
        return names

    def count_prefixed_users(self) -> int:
        response = self.scim.get("/Users", params={"filter": f'userName sw "{PREFIX_ROOT}"', "count": 0})
        return int(response.json()["totalResults"])

    def audit(self) -> list[dict[str, Any]]:
        response = self.admin.get("/_admin/audit")
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("server") / "serve.log")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One reports folder for every command of the module, scanned for secrets at the end."""
    return tmp_path_factory.mktemp("reports")


def _assert_foreign_untouched(server: Server, before: dict[str, str], audit_from: int) -> None:
    after = server.snapshot()
    changed = [path for path, text in before.items() if after.get(path) != text]
    assert not changed, f"foreign resources changed or vanished: {changed[:5]}"
    events = server.audit()[audit_from:]
    foreign_ids = {path.rsplit("/", 1)[1] for path in before}
    foreign_writes = [e for e in events if e.get("id") in foreign_ids and e.get("action") in WRITES]
    assert not foreign_writes, f"writes on foreign resources: {foreign_writes[:5]}"
    created = {e["id"] for e in events if e.get("action") == "create"}
    deleted = {e["id"] for e in events if e.get("action") == "delete"}
    assert created <= deleted, f"{len(created - deleted)} created resource(s) never deleted"
    assert not server.prefixed(), f"leftovers: {server.prefixed()[:5]}"


# -- 1. touches only what it created -----------------------------------------------------------------


def test_full_run_touches_only_what_it_created(server: Server, reports: Path) -> None:
    before = server.snapshot()
    assert len(before) == 55
    audit_from = len(server.audit())

    done = scimitar(
        "test",
        "--target-url",
        server.url,
        "--reports-dir",
        str(reports),
        "--json",
        str(reports / "full.json"),
        "--junit",
        str(reports / "full.xml"),
        "-q",
        timeout=120,
    )
    assert done.code in (0, 1), done.both[-3000:]  # the verdict is the checks' business, not this test's
    assert_no_traceback(done.both, "scimitar test")
    results = json.loads((reports / "full.json").read_text())
    assert results["checks"] and results["scenarios"], "suites and scenarios must both have run"
    creates = [e for e in server.audit()[audit_from:] if e.get("action") == "create"]
    assert len(creates) > 50, "the run should have created resources of its own"
    _assert_foreign_untouched(server, before, audit_from)
    written = [path for path in reports.rglob("*") if path.is_file()]
    assert any(path.name == "report.html" for path in written) and (reports / "full.xml").is_file()
    for path in written:  # here too: under pytest-xdist the last test may run in another worker
        assert_no_secret(path.read_text(encoding="utf-8", errors="replace"), str(path))


# -- 2. Ctrl-C ----------------------------------------------------------------------------------------


def _interrupt_once_created(server: Server, argv: Sequence[str]) -> Done:
    """Start `scimitar ...`, send SIGINT as soon as the server holds a prefixed user, wait for exit."""
    already = server.count_prefixed_users()  # 0 unless an earlier test already failed
    started = time.monotonic()
    proc = subprocess.Popen(
        [*_scimitar(), *argv], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while server.count_prefixed_users() <= already:
            assert proc.poll() is None, "the run ended before it created anything"
            assert time.monotonic() < deadline, "the run created nothing within 30 s"
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        out, err = proc.communicate(timeout=20)
        exit_s = time.monotonic() - interrupted
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)
    done = Done(list(argv), proc.returncode, out, err, time.monotonic() - started)
    OUTPUTS.append(done)
    assert_no_secret(done.both, f"the output of interrupted scimitar {argv[0]}")
    assert exit_s < 10, f"took {exit_s:.1f} s to exit after Ctrl-C"
    return done


def test_ctrl_c_cleans_up(server: Server, reports: Path) -> None:
    before = server.snapshot()
    audit_from = len(server.audit())
    done = _interrupt_once_created(
        server, ["test", "--target-url", server.url, "--reports-dir", str(reports)]
    )
    assert done.code == 130, done.both[-3000:]
    assert_no_traceback(done.both, "interrupted scimitar test")
    _assert_foreign_untouched(server, before, audit_from)


def test_ctrl_c_during_replay_cleans_up(server: Server, reports: Path) -> None:
    before = server.snapshot()
    audit_from = len(server.audit())
    argv = [
        "replay",
        str(SCENARIOS / "okta"),
        "--target-url",
        server.url,
        "--json",
        str(reports / "replay.json"),
        "--reports-dir",
        str(reports),
    ]
    done = _interrupt_once_created(server, argv)
    assert done.code == 130, done.both[-3000:]
    assert_no_traceback(done.both, "interrupted scimitar replay")
    assert "interrupted" in done.err
    _assert_foreign_untouched(server, before, audit_from)


def test_second_ctrl_c_aborts_cleanup_with_a_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C during the session's cleanup ends the cleanup, still writes the results, never raises."""
    target = Target(TargetOptions(url="http://127.0.0.1:9/scim/v2", token=TOKEN))
    session = ScimSession(target, Run(run_id="abc123"), run_options=_run_options())

    def interrupted(client: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(session.run, "cleanup", interrupted)
    session.finish()
    assert session.cleanup_interrupted
    hint = session.leftovers_hint()
    assert "scimitar cleanup --target-url http://127.0.0.1:9/scim/v2 --run-id abc123" in hint
    assert_no_secret(hint + capsys.readouterr().out, "the cleanup hint")


def _run_options() -> Any:
    from scimitar.options import RunOptions

    return RunOptions()


# -- 3. MUST failures still clean up -----------------------------------------------------------------


def test_failing_run_cleans_up(tmp_path: Path, reports: Path) -> None:
    quirky = Server(tmp_path / "quirky.log", quirks=("patch-remove-ignored", "filter-ignored"))
    try:
        before = quirky.snapshot()
        audit_from = len(quirky.audit())
        # The token on argv this time: it goes into pytest's arguments, which must not echo it.
        done = scimitar(
            "test",
            "--target-url",
            quirky.url,
            "--token",
            TOKEN,
            "--tag",
            "patch",
            "--tag",
            "filter",
            "--reports-dir",
            str(reports),
            "-v",
            token=None,
            timeout=90,
        )
        assert done.code == 1, done.both[-3000:]
        assert "failed" in done.out
        assert_no_traceback(done.both, "a failing scimitar test")
        _assert_foreign_untouched(quirky, before, audit_from)
    finally:
        quirky.stop()


# -- 4. scimitar cleanup -------------------------------------------------------------------------------


def _create(server: Server, endpoint: str, name: str, members: Sequence[str] = ()) -> str:
    if endpoint == "/Users":
        body: dict[str, Any] = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}
    else:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "members": [{"value": m.rsplit("/", 1)[1]} for m in members],
        }
    response = server.scim.post(endpoint, json=body)
    assert response.status_code == 201, response.text
    return f"{endpoint}/{response.json()['id']}"


def _listed(done: Done, verb: str) -> set[str]:
    return {line.split()[len(verb.split())] for line in done.out.splitlines() if line.startswith(f"{verb} /")}


def test_cleanup_deletes_exactly_the_runs_resources(server: Server) -> None:
    """Issue 10.6: `scimitar cleanup` with the old default prefix deleted `scimitar-foo@example.com`
    and `scimitar-team`. Now it needs a run id (or --all-runs), matches `scimitar-<run id>-` at the
    start of the name only, lists what it will delete and verifies each deletion."""
    ours = [_create(server, "/Users", "scimitar-abc123-ada@example.com"),
            _create(server, "/Users", "scimitar-abc123-grace@example.com")]
    ours.append(_create(server, "/Groups", "scimitar-abc123-team", ours))
    other_runs = [
        _create(server, "/Users", "scimitar-abc1234-other.run@example.com"),
        _create(server, "/Groups", "scimitar-abc12-team"),
    ]
    never = [
        _create(server, "/Users", "scimitar-foo@example.com"),
        _create(server, "/Groups", "scimitar-team"),
        _create(server, "/Users", "scimitarish@example.com"),
        _create(server, "/Users", "x-scimitar-abc123-inside@example.com"),
        _create(server, "/Users", "Scimitar-ABC123-upper@example.com"),
        _create(server, "/Groups", "scimitarish team"),
    ]
    try:
        before = server.snapshot()
        untouched = {path: before[path] for path in before if path not in ours}

        dry = scimitar("cleanup", "--target-url", server.url, "--run-id", "abc123", "--dry-run")
        assert dry.code == 0, dry.both
        assert _listed(dry, "would delete") == set(ours)
        every = scimitar("cleanup", "--target-url", server.url, "--all-runs", "--dry-run")
        assert every.code == 0, every.both
        assert _listed(every, "would delete") == set(ours + other_runs), "look-alikes are nobody's run"
        assert server.snapshot() == before, "--dry-run deleted something"

        for argv, why in (
            ((), "no run named"),
            (("--prefix", "scimitar-"), "not a run prefix"),
            (("--prefix", "sc"), "not a run prefix"),
            (("--run-id", "ABC123"), "not a run id"),
            (("--run-id", "abc123", "--all-runs"), "two selections"),
        ):
            refused = scimitar("cleanup", "--target-url", server.url, *argv)
            assert refused.code == 2 and len(refused.err.strip().splitlines()) == 1, (why, refused.both)
        assert server.snapshot() == before, "a refused cleanup deleted something"

        done = scimitar("cleanup", "--target-url", server.url, "--run-id", "abc123")
        assert done.code == 0, done.both
        assert _listed(done, "will delete") == set(ours), "it says what it will delete first"
        assert _listed(done, "deleted") == set(ours)
        assert "deleted 3 resource(s), 0 still present after DELETE, 0 could not be deleted" in done.out
        after = server.snapshot()
        assert not set(ours) & set(after)
        assert {path: after.get(path) for path in untouched} == untouched

        alias = scimitar("cleanup", "--target-url", server.url, "--prefix", "scimitar-abc12-")
        assert alias.code == 0 and _listed(alias, "deleted") == {other_runs[1]}, alias.both
        unnamed = scimitar("cleanup")
        assert unnamed.code == 2 and len(unnamed.err.strip().splitlines()) == 1, unnamed.both
    finally:
        for path in sorted(other_runs + never, key=lambda p: not p.startswith("/Groups/")):
            server.scim.delete(path)


def test_cleanup_reports_what_a_soft_deleting_server_keeps(tmp_path: Path) -> None:
    """Issue 9.5: a DELETE that only deactivates is not counted as deleted, and the command fails."""
    soft = Server(tmp_path / "soft.log", quirks=("soft-delete",))
    try:
        user = _create(soft, "/Users", "scimitar-soft1-kept@example.com")
        group = _create(soft, "/Groups", "scimitar-soft1-team")
        done = scimitar("cleanup", "--target-url", soft.url, "--run-id", "soft1")
        assert done.code == 1, done.both
        assert _listed(done, "deleted") == {group}
        assert f"still present {user} (scimitar-soft1-kept@example.com): still readable after DELETE, " \
            "with active=false" in done.err
        assert "deleted 1 resource(s), 1 still present after DELETE, 0 could not be deleted" in done.out
        assert soft.scim.get(user).json()["active"] is False
    finally:
        soft.stop()


# -- 6. one clear line and exit code 3 (or 2) ---------------------------------------------------------


def test_target_errors_are_one_line(server: Server, tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{_free_port()}/scim/v2"
    tls = server.url.replace("http://", "https://")
    replay_file = str(SCENARIOS / "okta" / "connector-test.yaml")
    load_args = ["--duration", "1s", "--reports-dir", str(tmp_path / "load")]
    commands: dict[str, list[str]] = {
        "test": ["test"],
        "replay": ["replay", replay_file],
        "load": ["load", *load_args],
        "cleanup": ["cleanup", "--run-id", "abc123"],
    }
    cases: list[tuple[str, list[str], str | None, int, str]] = []
    for name, argv in commands.items():
        cases += [
            (name, [*argv, "--target-url", closed], TOKEN, 3, "connection refused"),
            (name, [*argv, "--target-url", server.url], "wrong", 3, "rejected the credential"),
            (name, [*argv, "--target-url", tls], TOKEN, 3, "TLS"),
            (
                name,
                [*argv, "--target-url", server.url, "--token", "x", "--basic", "a:b"],
                None,
                2,
                "not both",
            ),
        ]
    # Start them all, then collect: each is one short process.
    running = []
    for name, argv, token, code, needle in cases:
        proc = subprocess.Popen(
            [*_scimitar(), *argv], env=_env(token), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        running.append((name, argv, code, needle, proc))
    problems = []
    for _name, argv, code, needle, proc in running:
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=5)
        done = Done(argv, proc.returncode, out, err, 0.0)
        OUTPUTS.append(done)
        assert_no_secret(done.both, f"the output of scimitar {' '.join(argv)}")
        lines = err.strip().splitlines()
        if proc.returncode != code or len(lines) != 1 or needle not in lines[0] or out.strip():
            problems.append(f"{' '.join(argv)} -> exit {proc.returncode}, stdout {out!r}, stderr {err!r}")
    assert not problems, "\n".join(problems)


# -- 5. never a secret ---------------------------------------------------------------------------------


def test_no_secret_anywhere(reports: Path) -> None:
    """Runs last: every command's output (already checked one by one) and every file written."""
    if not OUTPUTS:
        pytest.skip("run the whole module: the other tests produce what this one scans")
    for done in OUTPUTS:
        assert_no_secret(done.both, f"the output of scimitar {' '.join(done.args)}")
    files = [path for path in reports.rglob("*") if path.is_file()]
    if not files:  # pytest-xdist ran the writing tests in another worker (the full run scans its own)
        pytest.skip("no command of this module wrote files in this worker")
    if any(done.args[:1] == ["test"] and "--junit" in done.args for done in OUTPUTS):  # the full run ran here
        assert any(path.name == "report.html" for path in files)
        assert any(path.suffix == ".xml" for path in files)
    for path in files:
        assert_no_secret(path.read_text(encoding="utf-8", errors="replace"), str(path))
