"""scimitar's Okta provisioning workloads as a locustfile (runs only in locust's own processes).

`scimitar load` runs this headless in a subprocess. It also works on its own, with locust's web UI:

    SCIM_TOKEN=... locust -f scimitar/load/locustfile.py -H http://127.0.0.1:8880/scim/v2 \
        OktaProvisionUser OktaGroupPushUser

Credentials come from the environment only (`SCIM_TOKEN`, or `SCIM_USERNAME` + `SCIM_PASSWORD`).
Each process appends what it created to `records-<proc>.jsonl` and its throttling and status counts
to `counters-<proc>.json` in `$SCIMITAR_LOAD_DIR` (default `./reports/locust-<run-id>`), so the audit
after the run knows the state the server must be in. Request names group URLs with ids (`name=`).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import logging
import os
import random
import secrets
import ssl
import time
import zlib
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, LoadTestShape, constant, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from scimitar.load import workloads as w
from scimitar.run import PREFIX_ROOT, DataFactory, ascii_slug

log = logging.getLogger("scimitar.load")
ENV = os.environ


# -- per-process state ----------------------------------------------------------------------------
class _State:
    """What one locust process shares between its users (gevent: no locks needed)."""

    def __init__(self) -> None:
        self.run_id = ENV.get(w.ENV_RUN_ID) or secrets.token_hex(3)
        self.prefix = f"{PREFIX_ROOT}{self.run_id}-"
        self.proc = secrets.token_hex(2)
        self.out_dir = Path(ENV.get(w.ENV_OUT_DIR) or f"reports/locust-{self.run_id}")
        budget = ENV.get(w.ENV_PROCESS_BUDGET) or ENV.get(w.ENV_MAX_REQUESTS)
        self.budget: int | None = int(budget) if budget else None
        self.sent = 0
        self.statuses: dict[str, int] = {}
        self.failed: dict[str, int] = {}  # failed requests by status ("0": no response)
        self.throttled = 0
        self.retry_wait_s = 0.0
        self.retry_after_missing = 0
        self.gave_up = 0
        self.over_okta_timeout = 0
        self.groups: dict[str, str] = {}  # displayName -> id (shared push groups)
        self.batch = int(ENV.get(w.ENV_BATCH) or 10)
        self.n_groups = int(ENV.get(w.ENV_GROUPS) or 3)
        self._n = itertools.count(1)
        self._records: Any = None
        factory = DataFactory(self.prefix, int(ENV.get(w.ENV_SEED) or 0))
        # Faker is slow: draw the names once, before the load starts, and cycle through them.
        self.names = [
            (first, last, f"{ascii_slug(first) or 'user'}.{ascii_slug(last) or 'member'}")
            for first, last in ((factory.faker.first_name(), factory.faker.last_name()) for _ in range(256))
        ]

    # budget: every request sent, retries included, spends one unit
    def spend(self) -> None:
        if self.budget is not None and self.sent >= self.budget:
            raise StopUser()
        self.sent += 1

    def new_user(self) -> tuple[str, str, str, str, str]:
        n = next(self._n)
        first, last, slug = self.names[n % len(self.names)]
        user_name = f"{self.prefix}{self.proc}-{slug}{n}@example.com"
        return user_name, first, last, f"00u{self.proc}{n:013d}", f"Pw{n}!{self.proc}x"

    def record(self, kind: str, **fields: Any) -> None:
        if self._records is None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._records = (self.out_dir / f"records-{self.proc}.jsonl").open("a", encoding="utf-8")
        self._records.write(json.dumps({"kind": kind, **fields}, ensure_ascii=False) + "\n")
        self._records.flush()

    def count_status(self, status: int) -> None:
        key = str(status)
        self.statuses[key] = self.statuses.get(key, 0) + 1

    def write_counters(self) -> None:
        if self.sent == 0 and self._records is None:
            return  # a master, or a process that sent nothing
        self.out_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "proc": self.proc,
            "sent": self.sent,
            "statuses": self.statuses,
            "failed": self.failed,
            "throttled": self.throttled,
            "retry_wait_s": round(self.retry_wait_s, 3),
            "retry_after_missing": self.retry_after_missing,
            "gave_up": self.gave_up,
            "over_okta_timeout": self.over_okta_timeout,
        }
        tmp = self.out_dir / f".counters-{self.proc}.tmp"
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(self.out_dir / f"counters-{self.proc}.json")


STATE = _State()


def _auth_headers() -> dict[str, str]:
    token = ENV.get(w.ENV_TOKEN)
    user, password = ENV.get(w.ENV_USERNAME), ENV.get(w.ENV_PASSWORD)
    headers: dict[str, str] = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif user and password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    for name, value in json.loads(ENV.get(w.ENV_HEADERS) or "[]"):
        headers[name] = value
    return headers


_AUTH = _auth_headers()
_GET_HEADERS = {**w.OKTA_HEADERS, **_AUTH}
_BODY_HEADERS = {**w.OKTA_BODY_HEADERS, **_AUTH}


def _ca_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ENV[w.ENV_CA_BUNDLE])


#: Bounds on one response (`scimitar load` passes the harness's --read-deadline and --max-body-bytes).
READ_DEADLINE_S = float(ENV.get(w.ENV_READ_DEADLINE) or ENV.get(w.ENV_TIMEOUT) or w.OKTA_TIMEOUT_S)
MAX_BODY_BYTES = int(ENV.get(w.ENV_MAX_BODY_BYTES) or 8 * 1024 * 1024)


class _Unreadable(Exception):
    """A body over MAX_BODY_BYTES (decoded or not), or one that cannot be decoded."""


def _read_body(resp: Any) -> bytes:
    """The body of a `stream=True` response, at most MAX_BODY_BYTES (then `_Unreadable`): a
    user keeps one bounded body at a time, whatever the target sends."""
    chunks: list[bytes] = []
    total = 0
    for chunk in resp.iter_content(chunk_size=64 * 1024, decode_content=False):
        data = chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8")
        total += len(data)
        if total > MAX_BODY_BYTES:
            raise _Unreadable(f"response body exceeded {MAX_BODY_BYTES} bytes; stopped reading")
        chunks.append(data)
    return b"".join(chunks)


def _decoded(resp: Any, raw: bytes) -> bytes:
    """The body with its `Content-Encoding` (Okta asks for gzip,deflate) undone, to at most
    MAX_BODY_BYTES: a small compressed answer cannot expand past the limit either."""
    encoding = str(resp.headers.get("content-encoding") or "identity").lower() if resp.headers else "identity"
    if encoding in ("identity", "") or not raw:
        return raw
    if encoding not in ("gzip", "deflate"):
        raise _Unreadable(f"response Content-Encoding {encoding!r} not read")
    # gzip: a gzip header; deflate: zlib-wrapped (RFC 9110 §8.4.1.2), or raw as some servers send it
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else (zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS)
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise _Unreadable(f"response body is not valid {encoding}: {exc}") from None
    if len(out) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise _Unreadable(f"response body exceeded {MAX_BODY_BYTES} bytes; stopped reading")
    return out


def _drop_connection(resp: Any) -> None:
    """Close the socket of a response read only in part, so it never goes back to the pool (the next
    request would read the rest of this body). geventhttpclient closes, rather than pools, a socket
    whose message is incomplete."""
    raw = getattr(resp, "_response", None)
    if raw is not None:
        with contextlib.suppress(Exception):
            raw.release()


def _retry_after(value: str | None) -> float | None:
    """Okta honours an integer Retry-After only; None when missing or not an integer."""
    if value is not None and value.strip().isdigit():
        return float(value.strip())
    return None


# -- users ----------------------------------------------------------------------------------------
class OktaUser(FastHttpUser):
    """Sends Okta's requests with Okta's headers, honours 429 Retry-After, records what it created."""

    abstract = True
    host = ENV.get(w.ENV_TARGET_URL)
    wait_time = constant(0)
    network_timeout = float(ENV.get(w.ENV_TIMEOUT) or w.OKTA_TIMEOUT_S)
    connection_timeout = network_timeout
    insecure = ENV.get(w.ENV_INSECURE) == "1"
    ssl_context_factory = staticmethod(_ca_context) if ENV.get(w.ENV_CA_BUNDLE) else None
    max_retries = 0

    def call(
        self, method: str, path: str, name: str, body: str | None = None, ok: tuple[int, ...] = (200,)
    ) -> tuple[int, Any]:
        """One Okta call: (final status, parsed JSON body or None). 429 is retried like Okta does."""
        headers = _BODY_HEADERS if body is not None else _GET_HEADERS
        status = 0
        for attempt in range(w.MAX_RETRIES + 1):
            STATE.spend()
            started = time.monotonic()
            wait: float | None = None
            data: Any = None
            # One deadline per response, request to last byte: the per-read network_timeout alone
            # lets a target that drips a byte every few seconds hold a user forever.
            deadline = gevent.Timeout(READ_DEADLINE_S)
            deadline.start()
            try:
                with self.client.request(
                    method, path, name=name, data=body, headers=headers, catch_response=True, stream=True
                ) as resp:
                    status = resp.status_code or 0
                    content = b""
                    problem: str | None = None
                    try:
                        if status:
                            content = _decoded(resp, _read_body(resp))
                    except _Unreadable as exc:
                        problem = str(exc)
                    except gevent.Timeout as exc:
                        if exc is not deadline:
                            raise
                        problem = f"response not complete after {READ_DEADLINE_S:g} s; stopped reading"
                    if problem is not None:
                        _drop_connection(resp)
                        status = 0
                    STATE.count_status(status)
                    if time.monotonic() - started > w.OKTA_TIMEOUT_S:
                        STATE.over_okta_timeout += 1
                    if status not in ok:
                        STATE.failed[str(status)] = STATE.failed.get(str(status), 0) + 1
                    if problem is not None:
                        resp.failure(problem)
                    elif status == 429:
                        after = resp.headers.get("Retry-After")
                        resp.failure(f"429 throttled (Retry-After: {after})")
                        wait = _retry_after(after)
                    elif status in ok:
                        resp.success()
                    else:
                        text = content[:120].decode("utf-8", "replace")
                        resp.failure(f"{status} {text}" if status else str(resp.error))
                    if status not in (0, 429) and content:
                        with contextlib.suppress(ValueError):
                            data = json.loads(content)
            except gevent.Timeout as exc:  # before the headers arrived
                if exc is not deadline:
                    raise
                status = 0
                STATE.count_status(status)
                STATE.failed["0"] = STATE.failed.get("0", 0) + 1
                self.environment.events.request.fire(
                    request_type=method,
                    name=name,
                    response_time=(time.monotonic() - started) * 1000,
                    response_length=0,
                    exception=TimeoutError(f"no response within {READ_DEADLINE_S:g} s"),
                    context={},
                )
            finally:
                deadline.close()
            if status != 429:
                return status, data
            if attempt == w.MAX_RETRIES:
                STATE.gave_up += 1
                break
            if wait is None:
                STATE.retry_after_missing += 1
                wait = w.MISSING_RETRY_AFTER_WAIT_S
            wait = min(wait * (2**attempt), w.MAX_RETRY_WAIT_S)  # Okta doubles the wait per retry
            STATE.throttled += 1
            STATE.retry_wait_s += wait
            gevent.sleep(wait)
        return status, None

    # -- Okta sequences shared by the workloads ------------------------------------------------
    def create_user(self) -> tuple[str, str] | None:
        """Assign a user: filter lookup by userName, then Okta's POST. Returns (id, userName)."""
        user_name, given, family, external_id, password = STATE.new_user()
        status, found = self.call(
            "GET", w.user_filter_path(user_name), "GET /Users?filter=userName eq", ok=(200, 404)
        )
        if status == 200 and isinstance(found, dict) and found.get("totalResults"):
            STATE.record("preexisting", userName=user_name)  # a fresh name must not exist yet
            return None
        STATE.record("attempt", userName=user_name)
        body = w.okta_user_body(user_name, given, family, external_id, password)
        status, created = self.call("POST", "/Users", "POST /Users", body=body, ok=(201,))
        if 200 <= status < 300 and isinstance(created, dict) and isinstance(created.get("id"), str):
            STATE.record("user", userName=user_name, id=created["id"])
            return created["id"], user_name
        return None

    def shared_group(self) -> tuple[str, str] | None:
        """One of the run's shared push groups, created on first use (409 -> Okta's lookup)."""
        display = f"{STATE.prefix}push-group-{random.randrange(STATE.n_groups)}"
        if display in STATE.groups:
            return STATE.groups[display], display
        status, body = self.call(
            "POST", "/Groups", "POST /Groups", body=w.okta_group_body(display), ok=(201, 409)
        )
        gid = body.get("id") if 200 <= status < 300 and isinstance(body, dict) else None
        if gid is None:
            status, found = self.call(
                "GET", w.group_filter_path(display), "GET /Groups?filter=displayName eq", ok=(200,)
            )
            resources = found.get("Resources") if isinstance(found, dict) else None
            if status == 200 and isinstance(resources, list) and resources:
                gid = resources[0].get("id")
        if not isinstance(gid, str):
            return None
        STATE.groups[display] = gid
        STATE.record("group", displayName=display, id=gid)
        return gid, display


class OktaProvisionUser(OktaUser):
    """Okta assigning users one after another (filter lookup + POST)."""

    weight = 2

    @task
    def assign(self) -> None:
        self.create_user()


class OktaGroupPushUser(OktaUser):
    """A large group push: create a batch of users, then Okta's rename PATCH and a members add PATCH."""

    weight = 1

    @task
    def push(self) -> None:
        group = self.shared_group()
        if group is None:
            return
        gid, display = group
        members = [m for m in (self.create_user() for _ in range(STATE.batch)) if m is not None]
        if not members:
            return
        self.call(
            "PATCH",
            f"/Groups/{gid}",
            "PATCH /Groups/{id} rename",
            body=w.okta_rename_patch(gid, display),
            ok=(200, 204),
        )
        ids = [uid for uid, _ in members]
        STATE.record("members-attempt", group=gid, users=ids)
        status, _ = self.call(
            "PATCH",
            f"/Groups/{gid}",
            "PATCH /Groups/{id} members add",
            body=w.okta_members_add_patch(members),
            ok=(200, 204),
        )
        if 200 <= status < 300:
            STATE.record("members", group=gid, users=ids)


class OktaProfileUser(OktaUser):
    """Steady profile updates on a few assigned users: GET + PUT (AIW apps) or PATCH (OIN apps)."""

    weight = 5

    def on_start(self) -> None:
        self.mine = [m for m in (self.create_user() for _ in range(3)) if m is not None]

    @task(3)
    def put(self) -> None:
        if not self.mine:
            return
        uid, _ = random.choice(self.mine)
        status, user = self.call("GET", f"/Users/{uid}", "GET /Users/{id}")
        if status == 200 and isinstance(user, dict):
            given = random.choice(STATE.names)[0]
            self.call("PUT", f"/Users/{uid}", "PUT /Users/{id}", body=w.okta_profile_put(user, given))

    @task(1)
    def patch(self) -> None:
        if not self.mine:
            return
        uid, _ = random.choice(self.mine)
        given, family, _ = random.choice(STATE.names)
        self.call(
            "PATCH",
            f"/Users/{uid}",
            "PATCH /Users/{id} profile",
            body=w.okta_profile_patch(given, family),
            ok=(200, 204),
        )


class OktaDeactivateUser(OktaUser):
    """A deactivation wave: each user assigns a few users, then deactivates them one by one."""

    weight = 1

    def on_start(self) -> None:
        self.active: list[tuple[str, str]] = []

    @task
    def deactivate(self) -> None:
        if not self.active:
            self.active = [m for m in (self.create_user() for _ in range(5)) if m is not None]
            return
        uid, _ = self.active.pop()
        STATE.record("active-attempt", id=uid, value=False)
        status, _ = self.call(
            "PATCH",
            f"/Users/{uid}",
            "PATCH /Users/{id} deactivate",
            body=w.okta_active_patch(False),
            ok=(200, 204),
        )
        if 200 <= status < 300:
            STATE.record("active", id=uid, value=False)


class OktaImportUser(OktaUser):
    """Okta's import: connector test, then /Users and /Groups paged by 100 while startIndex <= total."""

    weight = 1
    max_pages = 50

    def on_start(self) -> None:
        self.call("GET", w.page_path("/Users", 1, 2), "GET /Users?startIndex=1&count=2")

    @task
    def import_all(self) -> None:
        for endpoint in ("/Users", "/Groups"):
            start = 1
            for _ in range(self.max_pages):
                status, page = self.call(
                    "GET", w.page_path(endpoint, start), f"GET {endpoint}?startIndex=N&count=100"
                )
                if status != 200 or not isinstance(page, dict):
                    break
                total = page.get("totalResults")
                got = len(page.get("Resources") or [])
                start += got
                if not got or not isinstance(total, int) or start > total:
                    break


# -- a burst shape: two waves with a lull between, within the duration ------------------------------
if ENV.get(w.ENV_SHAPE) == "burst":

    class OktaBurstShape(LoadTestShape):
        """Okta pushes in waves: full users for 45% of the time, a lull at a fifth, full again."""

        users = int(ENV.get(w.ENV_USERS) or 10)
        rate = float(ENV.get(w.ENV_SPAWN_RATE) or users)
        duration = float(ENV.get(w.ENV_DURATION) or 60)

        def tick(self) -> tuple[int, float] | None:
            t = self.get_run_time()
            if t >= self.duration:
                return None
            if 0.45 * self.duration <= t < 0.55 * self.duration:
                return max(1, self.users // 5), self.rate
            return self.users, self.rate


# -- events: request budget, counters, thresholds --------------------------------------------------
@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    limit = ENV.get(w.ENV_MAX_REQUESTS)
    if limit and not isinstance(runner, WorkerRunner):
        gevent.spawn(_watch_budget, environment, int(limit))
    if not isinstance(runner, MasterRunner):
        gevent.spawn(_flush_counters)


def _watch_budget(environment: Any, limit: int) -> None:
    """Stop the whole test (workers included) once the request budget is spent."""
    while True:
        gevent.sleep(0.2)
        if environment.runner is not None and environment.stats.total.num_requests >= limit:
            log.info("request budget of %d spent; stopping", limit)
            environment.runner.quit()
            return


def _flush_counters() -> None:
    while True:
        gevent.sleep(1.0)
        STATE.write_counters()


@events.test_stop.add_listener
def _on_test_stop(**_: Any) -> None:
    STATE.write_counters()


@events.quitting.add_listener
def _check_thresholds(environment: Any, **_: Any) -> None:
    """Thresholds for plain locust runs (`scimitar load` decides its own exit code from the output)."""
    STATE.write_counters()
    if isinstance(environment.runner, WorkerRunner):
        return
    _write_final_stats(environment)
    total = environment.stats.total
    if not total.num_requests:
        return
    throttled = sum(
        e.occurrences for e in environment.stats.errors.values() if str(e.error).startswith("429")
    )
    errors = (total.num_failures - throttled) / total.num_requests
    breaches = []
    if ENV.get(w.ENV_MAX_P95_MS) and total.get_response_time_percentile(0.95) > float(ENV[w.ENV_MAX_P95_MS]):
        breaches.append("p95")
    if ENV.get(w.ENV_MAX_ERROR_RATE) and errors > float(ENV[w.ENV_MAX_ERROR_RATE]):
        breaches.append("error rate")
    if ENV.get(w.ENV_MIN_RPS) and total.total_rps < float(ENV[w.ENV_MIN_RPS]):
        breaches.append("rps")
    if breaches:
        log.error("scimitar thresholds not met: %s", ", ".join(breaches))
        environment.process_exit_code = 1


def _entry(entry: Any) -> dict[str, Any]:
    pct = entry.get_response_time_percentile
    return {
        "name": entry.name,
        "method": entry.method or "",
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": round(entry.total_rps, 3),
        "avg_ms": round(entry.avg_response_time, 3),
        "max_ms": entry.max_response_time,
        "p50_ms": pct(0.5) if entry.num_requests else 0,
        "p95_ms": pct(0.95) if entry.num_requests else 0,
        "p99_ms": pct(0.99) if entry.num_requests else 0,
    }


def _write_final_stats(environment: Any) -> None:
    """`stats.json` (final, exact) and a final rewrite of the CSVs, which locust refreshes only every
    second and not at shutdown."""
    stats = environment.stats
    if stats.total.num_requests == 0 and not STATE.out_dir.exists():
        return
    STATE.out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "aggregated": _entry(stats.total),
        "by_name": [_entry(e) for _, e in sorted(stats.entries.items(), key=lambda kv: (kv[0][0], kv[0][1]))],
        "errors": [
            {"name": e.name, "method": e.method, "error": str(e.error), "occurrences": e.occurrences}
            for e in stats.errors.values()
        ],
    }
    (STATE.out_dir / "stats.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if prefix:
        import csv

        from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

        writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
        with open(f"{prefix}_stats.csv", "w", newline="", encoding="utf-8") as handle:
            writer.requests_csv(csv.writer(handle))
        with open(f"{prefix}_failures.csv", "w", newline="", encoding="utf-8") as handle:
            writer.failures_csv(csv.writer(handle))
