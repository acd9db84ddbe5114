"""Run locust in subprocesses (one local process, or a master and workers on loopback) and read back
its CSV output and the per-process counters; start and stop the embedded server when needed.

Nothing here imports locust or gevent: the parent only builds command lines and environments,
waits with a hard deadline, and parses files.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from scimitar.exchange import Masker
from scimitar.load import workloads as w

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
CSV_PREFIX = "locust"
HTML_NAME = "report.html"
#: Time locust gets beyond the duration and `--stop-timeout` to start and write its output; after it
#: (or at the plan's `hard_deadline`, whichever is first) its process groups are killed.
GRACE_S = 15.0
#: Variables a parent may hold that must not leak into (or confuse) the locust processes.
_SCRUB = (w.ENV_TOKEN, w.ENV_USERNAME, w.ENV_PASSWORD, w.ENV_TARGET_URL)


class LoadError(Exception):
    """locust or the embedded server could not run; one line for the user."""


@dataclass
class LocustPlan:
    """One load run as locust will execute it."""

    target_url: str
    classes: tuple[str, ...]
    users: int
    spawn_rate: float
    duration_s: float
    max_requests: int
    out_dir: Path
    run_id: str
    seed: int = 0
    shape: str | None = None
    workers: int = 0  # > 0: one master and this many workers, all spawned here on loopback
    master_only: bool = False  # a master waiting for `expect_workers` workers started elsewhere
    worker_only: bool = False  # one worker joining `master_host:master_port`
    expect_workers: int = 0
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    stop_timeout_s: float = 5.0
    batch: int = 10
    groups: int = 3
    timeout_s: float = 60.0
    read_deadline_s: float | None = None  # one response, request to last byte (None: timeout_s)
    max_body_bytes: int = 8 * 1024 * 1024
    hard_deadline: float | None = None  # time.monotonic() by which every locust process is gone
    insecure: bool = False
    ca_bundle: str | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    secret_env: dict[str, str] = field(default_factory=dict, repr=False)  # SCIM_TOKEN / headers

    @property
    def generators(self) -> int:
        """How many processes generate load."""
        if self.worker_only:
            return 1
        if self.master_only:
            return max(1, self.expect_workers)
        return max(1, self.workers)

    @property
    def process_budget(self) -> int:
        return max(1, self.max_requests // self.generators)


@dataclass
class LocustRun:
    exit_codes: list[int]
    elapsed_s: float
    timed_out: bool
    logs: list[Path]


def _base_env(plan: LocustPlan) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.startswith("SCIMITAR_")}
    env.update(plan.secret_env)
    env.update(
        {
            w.ENV_RUN_ID: plan.run_id,
            w.ENV_SEED: str(plan.seed),
            w.ENV_OUT_DIR: str(plan.out_dir),
            w.ENV_MAX_REQUESTS: str(plan.process_budget * plan.generators),
            w.ENV_PROCESS_BUDGET: str(plan.process_budget),
            w.ENV_DURATION: str(plan.duration_s),
            w.ENV_USERS: str(plan.users),
            w.ENV_SPAWN_RATE: str(plan.spawn_rate),
            w.ENV_BATCH: str(plan.batch),
            w.ENV_GROUPS: str(plan.groups),
            w.ENV_TIMEOUT: str(plan.timeout_s),
            w.ENV_READ_DEADLINE: str(plan.read_deadline_s or plan.timeout_s),
            w.ENV_MAX_BODY_BYTES: str(plan.max_body_bytes),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if plan.shape:
        env[w.ENV_SHAPE] = plan.shape
    if plan.insecure:
        env[w.ENV_INSECURE] = "1"
    if plan.ca_bundle:
        env[w.ENV_CA_BUNDLE] = plan.ca_bundle
    names = {"max_p95_ms": w.ENV_MAX_P95_MS, "max_error_rate": w.ENV_MAX_ERROR_RATE, "min_rps": w.ENV_MIN_RPS}
    for key, value in plan.thresholds.items():
        env[names[key]] = str(value)
    return env


def _common_args(plan: LocustPlan) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]


def _lead_args(plan: LocustPlan) -> list[str]:
    """Arguments of the process that owns the stats (local runner or master)."""
    csv_prefix = plan.out_dir / CSV_PREFIX
    return [
        "--headless",
        "-H",
        plan.target_url,
        "-u",
        str(plan.users),
        "-r",
        f"{plan.spawn_rate:g}",
        "-t",
        f"{max(1, math.ceil(plan.duration_s))}s",
        "--stop-timeout",
        f"{plan.stop_timeout_s:g}",
        "--csv",
        str(csv_prefix),
        "--csv-full-history",  # per request type over time: the load report's charts
        "--html",
        str(plan.out_dir / HTML_NAME),
        "--only-summary",
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def locust_commands(plan: LocustPlan) -> list[tuple[str, list[str]]]:
    """(log name, argv) of every process to start; no secret is ever in argv."""
    classes = list(plan.classes)
    if plan.worker_only:
        return [
            (
                "locust-worker",
                [
                    *_common_args(plan),
                    "--worker",
                    "--master-host",
                    plan.master_host,
                    "--master-port",
                    str(plan.master_port),
                    "-H",
                    plan.target_url,
                    *classes,
                ],
            )
        ]
    lead = [*_common_args(plan), *_lead_args(plan)]
    if plan.workers <= 0 and not plan.master_only:
        return [("locust", [*lead, *classes])]
    expect = plan.workers or plan.expect_workers
    master = [
        *lead,
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(plan.master_port),
        "--expect-workers",
        str(expect),
        "--expect-workers-max-wait",
        "30",
        *classes,
    ]
    commands = [("locust-master", master)]
    for i in range(plan.workers):
        worker = [
            *_common_args(plan),
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(plan.master_port),
            "-H",
            plan.target_url,
            *classes,
        ]
        commands.append((f"locust-worker-{i + 1}", worker))
    return commands


#: Seconds between two progress calls while locust runs.
PROGRESS_EVERY_S = 5.0


def run_locust(
    plan: LocustPlan, progress: Callable[[float], object] | None = None, every_s: float = PROGRESS_EVERY_S
) -> LocustRun:
    """Start every process of the plan, wait for all of them within the hard deadline, kill on overrun.

    `progress(elapsed_s)` is called every `every_s` seconds while they run (the CLI prints a line)."""
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    if plan.workers > 0 and plan.master_port == 5557:
        plan.master_port = free_port()
    env = _base_env(plan)
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    handles: list[IO[bytes]] = []
    started = time.monotonic()
    deadline = started + plan.duration_s + plan.stop_timeout_s + GRACE_S
    if plan.hard_deadline is not None:
        deadline = min(deadline, plan.hard_deadline)
    timed_out = False
    try:
        for name, argv in locust_commands(plan):
            log_path = plan.out_dir / f"{name}.log"
            handle = log_path.open("wb")
            handles.append(handle)
            logs.append(log_path)
            # Its own process group, so a stop reaches whatever locust started (gevent, workers).
            procs.append(
                subprocess.Popen(
                    argv,
                    env=env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    cwd=plan.out_dir,
                    start_new_session=True,
                )
            )
        next_progress = started + every_s
        while any(p.poll() is None for p in procs):
            now = time.monotonic()
            if now > deadline:
                timed_out = True
                break
            if progress is not None and now >= next_progress:
                next_progress = now + every_s
                progress(now - started)
            time.sleep(0.1)
    finally:
        for proc in procs:
            _stop(proc, group=True)
        for opened in handles:
            opened.close()
    return LocustRun(
        exit_codes=[p.returncode for p in procs],
        elapsed_s=time.monotonic() - started,
        timed_out=timed_out,
        logs=logs,
    )


def _stop(proc: subprocess.Popen[Any], grace: float = 3.0, *, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after `grace`. With `group` (a process started with
    `start_new_session`, so its pid is its group id) the whole group gets the signals: whatever the
    process started dies with it, also when the leader has already exited."""

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(proc.pid, sig)
            elif proc.poll() is None:
                proc.send_signal(sig)

    if proc.poll() is not None:
        if group:
            send(signal.SIGKILL)  # children the leader left behind
        return
    send(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(5)


# -- the embedded server ---------------------------------------------------------------------------
@contextlib.contextmanager
def embedded_server(
    token: str,
    *,
    profile: str = "rfc",
    quirks: Sequence[str] = (),
    base_path: str = "/scim/v2",
    seed_users: int = 0,
    seed_groups: int = 0,
    log_path: Path | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[str]:
    """The reference server under uvicorn on 127.0.0.1:<free port> in a subprocess; yields its URL.

    The token travels in the environment, never in argv. The server is stopped on exit.
    """
    from scimitar.load.serve import TOKEN_ENV

    argv = [sys.executable, "-m", "scimitar.load.serve", "--host", "127.0.0.1", "--port", "0"]
    argv += ["--profile", profile, "--base-path", base_path, "--log-level", "warning"]
    argv += ["--seed-users", str(seed_users), "--seed-groups", str(seed_groups)]
    for quirk in quirks:
        argv += ["--quirk", quirk]
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env[TOKEN_ENV] = token
    log: IO[bytes] | int = log_path.open("wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=log)
    try:
        url = _read_url(proc, startup_timeout)
        yield url
    finally:
        _stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()
        if not isinstance(log, int):
            log.close()


def _read_url(proc: subprocess.Popen[bytes], timeout: float) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            raise LoadError("the embedded reference server did not start (see server.log in the load folder)")
        if selector.select(remaining):
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                continue
            line += chunk
    selector.close()
    url: str = json.loads(line)["url"]
    return url


# -- reading locust's output -------------------------------------------------------------------------
def read_stats(out_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(aggregated, per request name) from the final `stats.json` the locustfile writes at exit."""
    path = out_dir / "stats.json"
    if not path.is_file():
        raise LoadError(f"locust wrote no statistics ({path.name} missing; see the locust logs in {out_dir})")
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["aggregated"], data["by_name"]


def read_counters(out_dir: Path) -> dict[str, Any]:
    """The generating processes' counters, summed."""
    total: dict[str, Any] = {
        "processes": 0,
        "sent": 0,
        "statuses": {},
        "failed": {},
        "throttled": 0,
        "retry_wait_s": 0.0,
        "retry_after_missing": 0,
        "gave_up": 0,
        "over_okta_timeout": 0,
    }
    for path in sorted(out_dir.glob("counters-*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        total["processes"] += 1
        for key in (
            "sent",
            "throttled",
            "retry_wait_s",
            "retry_after_missing",
            "gave_up",
            "over_okta_timeout",
        ):
            total[key] += data.get(key, 0)
        for key in ("statuses", "failed"):
            for status, n in data.get(key, {}).items():
                total[key][status] = total[key].get(status, 0) + n
    total["retry_wait_s"] = round(total["retry_wait_s"], 3)
    return total


def mask_folder(out_dir: Path, masker: Masker) -> int:
    """Rewrite every text file in the folder with the run's secrets masked; returns files changed."""
    changed = 0
    for path in out_dir.rglob("*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        masked = masker.mask_text(text)
        if masked != text:
            path.write_text(masked, encoding="utf-8")
            changed += 1
    return changed
