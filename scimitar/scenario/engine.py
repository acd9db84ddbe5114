"""Run a scenario: pick the target it needs, send each step's request as the IdP would, judge it.

Design choices, each for a reason:

* **One result per scenario, with every step's outcome.** Steps depend on what earlier steps
  captured (the id Okta got from its POST), so a step cannot run alone; one pytest item per
  scenario whose report lists each step (`ScenarioResult.render`) says exactly that, where
  one item per step would need skip-chaining and make `-k <middle step>` meaningless.
* **Byte for byte.** Bodies are sent as written (key order kept), query strings are encoded as Okta
  encodes them (`%20`, `%40`), and the IdP's headers replace the client's defaults.
* **Private servers when a scenario changes the product.** A scenario with `admin` steps (revoking
  the harness's own credential, switching strict role mapping on) runs on a fresh embedded server
  with the session's quirks, so it cannot break what runs after it. A scenario that needs another
  profile than the embedded session target's gets one the same way. Remote targets are never
  reconfigured: such scenarios are skipped with the reason.
* **The IdP's verdict, not the RFC's.** A step's `expect` holds what the IdP's provisioning needs
  (its public source is in the file); not met, the step fails. Its `expect.rfc` items are
  deviations the IdP tolerates; not met, the step is a warning naming the catalogue check that
  covers the requirement. A scenario fails only where the IdP would.
* **Adapt where the IdP would.** Steps and rfc items marked `when: enterprise` apply only when the
  target's `/ResourceTypes` declare the enterprise User extension (an IdP maps such attributes only
  then); bodies are never changed: a server refusing the IdP's real body is a real failure.
* **Never revoke the run's credential.** A rotation scenario (`requires.second_credential`) rotates a
  disposable second credential: created through the console on the embedded server, supplied
  explicitly (`SCIMITAR_SECOND_TOKEN`, `--second-token`, or the observer) on a remote one, skipped
  otherwise. Only that credential or one the scenario created may be revoked, and every console
  scenario ends by proving the run's credential still works.
* **Same ledger, same prefix.** Every 2xx create is recorded in the run's ledger (a private
  server's own ledger is emptied when the scenario ends), and a create expected to succeed must
  carry the run prefix in `userName`/`displayName`, so leftovers can always be found.
"""

from __future__ import annotations

import copy
import json as jsonlib
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scimitar.exchange import Exchange, Masker, Recorder
from scimitar.quirks import Quirk
from scimitar.run import Ledger, Run
from scimitar.scenario import explain
from scimitar.scenario.assertions import MISSING, subset_mismatch
from scimitar.scenario.format import IDP_BODY_CONTENT_TYPE, IDP_NAMES, Expect, Scenario, Step
from scimitar.scenario.observer import Console, EmbeddedConsole, Observer, ObserverFactory
from scimitar.scenario.templating import Scope, TemplateError
from scimitar.target import (
    AuthOverride,
    RunDeadlineReached,
    ScimClient,
    Target,
    TargetError,
    TargetMisbehaved,
    TargetOptions,
)

if TYPE_CHECKING:
    from scimitar.checks.context import Discovery

PASSED, FAILED, SKIPPED, ERROR, WARNING = "passed", "failed", "skipped", "error", "warning"
_COLLECTION = re.compile(r"^/?(Users|Groups)/?$")
_ITEM = re.compile(r"^/?(Users|Groups)/([^/?#]+)$")


class ScenarioSkipped(Exception):
    """The target cannot run this scenario (no observer, remote target without the profile, ...)."""


@dataclass
class StepResult:
    """One step's outcome. `warnings` are the rfc expectations the response missed, each naming the
    catalogue check that covers it; `expectations` counts the step's expectations by kind."""

    name: str
    outcome: str
    message: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    expectations: dict[str, int] = field(default_factory=lambda: {"idp": 0, "rfc": 0})
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "message": self.message,
            "expectations": dict(self.expectations),
            "source": self.source,
            "warnings": [dict(w) for w in self.warnings],
        }


@dataclass
class ScenarioResult:
    scenario: Scenario
    outcome: str
    steps: list[StepResult] = field(default_factory=list)
    reason: str = ""
    duration_s: float = 0.0
    target: str = ""

    def to_json(self) -> dict[str, Any]:
        """The entry of the JSON results' `scenarios` list."""
        return {
            "id": self.scenario.id,
            "idp": self.scenario.idp,
            "outcome": self.outcome,
            "reason": self.reason,
            "expectations": self.scenario.counts,
            "steps": [s.to_json() for s in self.steps],
        }

    @property
    def warnings(self) -> list[StepResult]:
        return [s for s in self.steps if s.outcome == WARNING]

    def render(self, *, transcripts: bool = True) -> str:
        """A readable report: one line per step, then the exchanges of the step that went wrong."""
        marks = {PASSED: "ok  ", FAILED: "FAIL", ERROR: "ERR ", WARNING: "WARN", SKIPPED: "--  "}
        lines = [f"{self.scenario.id}: {self.scenario.name} [{self.outcome}]"]
        if self.target:
            lines.append(f"  target: {self.target}")
        if self.reason:
            lines.append(f"  {self.reason}")
        for i, step in enumerate(self.steps, start=1):
            text = f"  {marks.get(step.outcome, step.outcome)} {i:>2}. {step.name}"
            if step.message:
                text += f" - {step.message}"
            lines.append(text)
        if transcripts:
            for i, step in enumerate(self.steps, start=1):
                if step.outcome in (FAILED, ERROR) and step.exchanges:
                    lines.append("")
                    lines.append(f"step {i} ({step.name}) exchanges:")
                    for exchange in step.exchanges[-3:]:
                        lines.append(exchange.transcript())
                        lines.append("  reproduce: " + exchange.curl())
        return "\n".join(lines)


@dataclass
class Environment:
    """What every scenario of a run shares: the session target, the run, and the optional plug-ins."""

    target: Target
    run: Run
    masker: Masker | None = None
    sink: Recorder | None = None
    observer_factory: ObserverFactory | None = None
    declared_profile: str | None = None
    #: The disposable second credential of rotation scenarios on a remote target, as an
    #: `Authorization` header value (never the run's own credential).
    second_authorization: str | None = None

    def __post_init__(self) -> None:
        if self.masker is None:
            self.masker = self.target.masker()
        if self.second_authorization:
            self.masker.add(self.second_authorization, self.second_authorization.split(" ", 1)[-1])


class _Bound:
    """The target one scenario runs on, with its credential, ledger and console."""

    def __init__(self, env: Environment, target: Target, owned: bool, masker: Masker) -> None:
        self.env = env
        self.target = target
        self.owned = owned
        self.masker = masker
        self.initial_auth = target.authorization
        self.auth = self.initial_auth
        # The scenario's own part of the ledger: a fresh one on a throw-away server, else a scope of
        # the run's (deleted when the scenario ends, so scenarios running at once under
        # `--concurrency` leave nothing for the run's final cleanup but what could not be deleted).
        self.run = copy.copy(env.run)
        self.run.ledger = Ledger() if owned else env.run.ledger.scope()
        self._discovery: Discovery | None = None
        self.observer: Observer | None = None
        self.console: Console | None = None
        self.second_auth: str | None = None
        self.second_id: str | None = None
        self.second_bearer: str | None = None  # a key + secret pair as `Bearer key:secret`
        self.created_credentials: set[str] = set()

    def client(self, recorder: Recorder) -> ScimClient:
        return self.target.client(self.masker, recorder)

    def discovery(self) -> Discovery:
        if self._discovery is None:
            from scimitar.checks.context import Discovery

            self._discovery = Discovery.fetch(self.client(Recorder()))
        return self._discovery

    def close(self) -> None:
        if not self.owned:
            self._delete_created()
            return
        try:
            client = self.client(Recorder())
            auth = AuthOverride(authorization=self.auth) if self.auth else None

            class _Authed:
                def get(self, path: str, **kwargs: Any) -> Any:
                    return client.get(path, auth=auth, **kwargs)

                def delete(self, path: str, **kwargs: Any) -> Any:
                    return client.delete(path, auth=auth, **kwargs)

            self.run.ledger.cleanup(_Authed())
        finally:
            self.target.close()


    def _delete_created(self) -> None:
        """Delete what the scenario created on the session's target, with the run's own credential
        (a step may have switched to another), each deletion verified by a re-read. What is not
        verified gone stays in the run's ledger for its final cleanup to retry and report; a
        cleanup problem never changes the scenario's outcome. Ctrl-C is left to the caller."""
        if not len(self.run.ledger):
            return
        try:
            self.run.ledger.cleanup(self.client(Recorder()), settle_s=0)
        except Exception:  # the run's final cleanup has every path still
            pass


def _private_target(session: Target, profile: str) -> Target:
    opts = session.options
    basic = None
    if profile == "clickhouse":  # ClickHouse Cloud authenticates IdPs with a scim_ key and secret (Basic)
        basic = ("scim_" + secrets.token_hex(10), secrets.token_urlsafe(24))
    # The same profile: the same server shape (what it declares and enforces), so a scenario on a private
    # server judges the server the run was asked about. Another profile is another product, in its shape.
    shape = opts.shape if profile == opts.profile else None
    return Target(TargetOptions(profile=profile, quirks=opts.quirks, base_path=opts.base_path, basic=basic,
                                timeout=opts.timeout, shape=shape))


def _bind(scenario: Scenario, env: Environment) -> _Bound:
    """Choose (or build) the target for `scenario`, or raise ScenarioSkipped with the reason."""
    session = env.target
    req = scenario.requires
    assert env.masker is not None
    if session.embedded:
        profile = req.profile or session.options.profile
        if req.admin or profile != session.options.profile:
            target = _private_target(session, profile)
            bound = _Bound(env, target, True, target.masker())
        else:
            bound = _Bound(env, session, False, env.masker)
        config = bound.target.embedded_config
        assert config is not None
        console = EmbeddedConsole(bound.client(Recorder()), config.admin_token, config.admin_path)
        bound.observer, bound.console = console, console
        return bound
    if req.profile and req.profile != (env.declared_profile or "rfc"):
        raise ScenarioSkipped(
            f"needs a target with the {req.profile!r} profile; {session.base_url} is not declared as one "
            f"(declare it with --declare-profile {req.profile} or SCIMITAR_TARGET_PROFILE={req.profile})"
        )
    bound = _Bound(env, session, False, env.masker)
    plugged = env.observer_factory(session) if env.observer_factory is not None else None
    if isinstance(plugged, Observer):
        bound.observer = plugged
    if isinstance(plugged, Console):
        bound.console = plugged
    if req.observer and bound.observer is None:
        raise ScenarioSkipped(
            "needs an observer to see members and roles; none is configured for a remote target "
            "(plug one in with --observer module:factory or SCIMITAR_OBSERVER)"
        )
    if req.admin and bound.console is None:
        raise ScenarioSkipped(
            "needs the console API (credential rotation, role mapping): only the embedded reference server "
            "has one, or plug one in with --observer module:factory"
        )
    if req.second_credential:
        offered = getattr(plugged, "second_credential", None)
        second = env.second_authorization or (offered() if callable(offered) else None)
        if not second:
            raise ScenarioSkipped(
                "rotates credentials, so on a remote target it needs an explicitly supplied second credential "
                f"(set {SECOND_TOKEN_ENV}, or {SECOND_USERNAME_ENV} and {SECOND_PASSWORD_ENV}, or pass "
                "--second-token; or let the observer offer one): the run's own credential is never revoked"
            )
        if second == session.authorization:
            raise ScenarioSkipped("the second credential is the run's own credential; give a different one")
        bound.second_auth = str(second)
        bound.masker.add(bound.second_auth, bound.second_auth.split(" ", 1)[-1])
        scheme, _, value = bound.second_auth.partition(" ")
        if scheme.lower() == "basic":  # a key + secret pair: Entra sends it as `Bearer key:secret`
            import base64

            pair = base64.b64decode(value).decode("utf-8")
            bound.second_bearer = f"Bearer {pair}"
            bound.masker.add(bound.second_bearer, pair)
    return bound


SECOND_TOKEN_ENV = "SCIMITAR_SECOND_TOKEN"
SECOND_USERNAME_ENV = "SCIMITAR_SECOND_USERNAME"
SECOND_PASSWORD_ENV = "SCIMITAR_SECOND_PASSWORD"


def second_authorization_from_env(environ: Mapping[str, str], token: str | None = None) -> str | None:
    """The second credential as an `Authorization` value: `token` (a flag), else the environment."""
    token = token or environ.get(SECOND_TOKEN_ENV)
    if token:
        return AuthOverride(token=token).header()
    user, password = environ.get(SECOND_USERNAME_ENV), environ.get(SECOND_PASSWORD_ENV)
    if user and password:
        return AuthOverride(basic=(user, password)).header()
    return None


def _query(params: Mapping[str, Any]) -> str:
    """Okta's encoding: every reserved character percent-encoded, space as %20 (not '+')."""
    parts = []
    for key, value in params.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{quote(str(key), safe='')}={quote(text, safe='')}")
    return "&".join(parts)


def _auth_header(spec: Any, bound: _Bound) -> str | None:
    if spec in (None, "default"):
        return bound.auth
    if spec == "initial":
        return bound.initial_auth
    if spec == "none":
        return None
    if spec == "second":
        if bound.second_auth is None:
            raise _StepError("no second credential is available")
        return bound.second_auth
    if spec == "second-bearer":
        if bound.second_bearer is None:
            raise _StepError("the second credential is not a key + secret pair, so it has no Bearer key:secret form")
        return bound.second_bearer
    if "bearer" in spec:
        return AuthOverride(token=str(spec["bearer"])).header()
    if "basic" in spec:
        return AuthOverride(basic=(str(spec["basic"]["username"]), str(spec["basic"]["password"]))).header()
    return str(spec["authorization"])


class _StepError(Exception):
    pass


@dataclass
class _Outcome:
    status: int
    headers: Mapping[str, str]
    body: Any
    elapsed_ms: float = 0.0


def _evaluate(exp: Expect, out: _Outcome, path: str, scope: Scope) -> list[str]:
    """Every way the outcome misses one block of expectations (empty when it meets them)."""
    problems: list[str] = []
    if exp.status and out.status not in exp.status:
        wanted = " or ".join(map(str, exp.status))
        problems.append(f"status {out.status}, expected {wanted}")
        return problems  # the rest would only repeat that the answer is a different one
    for name, wanted_header in exp.headers.items():
        actual = next((v for k, v in out.headers.items() if k.lower() == name.lower()), None)
        if wanted_header is True and actual is None:
            problems.append(f"header {name} is absent")
        elif wanted_header is False and actual is not None:
            problems.append(f"header {name} is present ({actual!r}), expected absent")
        elif isinstance(wanted_header, str) and not (
            actual == wanted_header or (actual or "").split(";")[0].strip().lower() == wanted_header.lower()
        ):
            problems.append(f"header {name} is {actual!r}, expected {wanted_header!r}")
    if exp.max_ms is not None and out.elapsed_ms > exp.max_ms:
        problems.append(f"answered in {out.elapsed_ms:.0f} ms, expected under {exp.max_ms:g} ms")
    named = ((SCHEMA_ASSERTIONS[exp.schema],) if exp.schema else ()) + exp.checks
    problems += _assertion_problems(tuple(dict.fromkeys(named)), out, path)
    if problems:
        return problems
    if exp.json is not MISSING:
        mismatch = subset_mismatch(scope.render(exp.json), out.body)
        if mismatch:
            problems.append(mismatch)
    for assertion in exp.asserts:
        actual = assertion.path.evaluate(out.status, out.headers, out.body)
        problem = assertion.check(actual, scope.render(assertion.expected))
        if problem:
            problems.append(_filled(problem, assertion.text, scope))
    return problems


#: `expect.schema` is shorthand for one of the shared response assertions.
SCHEMA_ASSERTIONS = {"Error": "scim-error-body", "ListResponse": "list-response",
                     "User": "resource-schema-User", "Group": "resource-schema-Group"}


def _assertion_problems(names: tuple[str, ...], out: _Outcome, path: str) -> list[str]:
    """The shared response assertions (`scimitar.checks.assertions`) applied to the step's response."""
    from scimitar.checks import assertions

    reply = assertions.Reply(out.status, out.headers, out.body, path)
    problems: list[str] = []
    for name in names:
        problems += [f"{name}: {p}" for p in assertions.problems(name, reply)]
    return problems


def _filled(problem: str, text: str, scope: Scope) -> str:
    """The problem with the assertion's templates filled in, as they were compared: a message that
    says `not contains "{{ captured.x }}"` tells the reader nothing about the value that was there."""
    try:
        rendered = scope.render(text)
    except TemplateError:
        return problem
    if not isinstance(rendered, str) or not problem.startswith(text):
        return problem
    return rendered + problem[len(text) :]


class ScenarioRunner:
    """Runs scenarios against an `Environment`; one instance per session."""

    def __init__(self, env: Environment, *, sleep: Any = time.sleep) -> None:
        self.env = env
        self._sleep = sleep
        # Per thread: with `--concurrency` several scenarios run on one runner at once.
        self._local = threading.local()

    @property
    def _sent(self) -> tuple[dict[str, Any], int] | None:
        """This thread's last request step: its rendered spec and the status it got (`_refusal_reason`)."""
        sent: tuple[dict[str, Any], int] | None = getattr(self._local, "sent", None)
        return sent

    @_sent.setter
    def _sent(self, value: tuple[dict[str, Any], int] | None) -> None:
        self._local.sent = value

    def run(self, scenario: Scenario) -> ScenarioResult:
        started = time.perf_counter()
        result = ScenarioResult(scenario, PASSED)
        if self.env.target.limits.run_deadline_reached:  # --max-duration: not started, not failed
            result.outcome, result.reason = SKIPPED, "skipped: run deadline reached (--max-duration)"
            result.steps = [StepResult(s.name, SKIPPED, "not run: run deadline reached") for s in scenario.steps]
            return result
        try:
            bound = _bind(scenario, self.env)
        except ScenarioSkipped as exc:
            result.outcome, result.reason = SKIPPED, f"skipped: {exc}"
            result.steps = [StepResult(s.name, SKIPPED, "not run: scenario skipped") for s in scenario.steps]
            return result
        except TargetError as exc:
            result.outcome, result.reason = ERROR, str(exc)
            return result
        result.target = bound.target.description
        try:
            if scenario.requires.features:
                unmet = bound.discovery().unmet(scenario.requires.features)
                if unmet:
                    result.outcome, result.reason = SKIPPED, f"skipped: {unmet}"
                    result.steps = [StepResult(s.name, SKIPPED, "not run: scenario skipped") for s in scenario.steps]
                    return result
            if scenario.requires.second_credential and bound.second_auth is None:
                self._make_second(bound)
            self._run_steps(scenario, bound, result)
            if scenario.requires.admin:
                self._prove_credential_live(bound, result)
        except _StepError as exc:
            result.outcome, result.reason = ERROR, str(exc)
        finally:
            try:
                bound.close()
            except Exception as exc:  # cleanup of a throw-away server must not mask the result
                result.reason = (result.reason + "; " if result.reason else "") + f"cleanup failed: {exc}"
            result.duration_s = time.perf_counter() - started
        return result

    def _run_steps(self, scenario: Scenario, bound: _Bound, result: ScenarioResult) -> None:
        run = bound.run
        scope = Scope(run_prefix=run.prefix, run_id=run.run_id, faker=run.faker)
        try:
            for name, value in scenario.variables.items():
                scope.variables[name] = scope.render(value)
        except TemplateError as exc:
            result.outcome, result.reason = ERROR, f"vars: {exc}"
            return
        stopped: str | None = None
        cut_short = False
        for step in scenario.steps:
            if stopped is not None:
                result.steps.append(_fill(StepResult(step.name, SKIPPED, f"not run: {stopped}"), step))
                continue
            if step.when and not self._applies(step.when, bound):
                what = ("no enterprise User extension in its /ResourceTypes" if step.when == "enterprise"
                        else f"no User attribute {step.when.split(':', 1)[1]!r} in its /Schemas")
                why = f"not sent: the target declares {what}, so the IdP has no such attribute to map"
                result.steps.append(_fill(StepResult(step.name, SKIPPED, why), step))
                continue
            outcome = _fill(self._run_step(scenario, step, bound, scope), step)
            result.steps.append(outcome)
            if outcome.outcome in (FAILED, ERROR):
                stopped = f"step {step.index + 1} {outcome.outcome}"
            elif outcome.outcome == SKIPPED:  # only the run deadline skips a step that was run
                stopped = "run deadline reached"
                cut_short = True
        result.outcome = _overall(result.steps)
        if cut_short and result.outcome in (PASSED, WARNING):  # cut short by the run deadline: not a pass
            result.outcome, result.reason = SKIPPED, "skipped: run deadline reached (--max-duration)"

    # -- the second credential of rotation scenarios ------------------------------------------------

    def _make_second(self, bound: _Bound) -> None:
        """Embedded server: create the disposable credential the rotation scenario rotates out."""
        console = bound.console
        if console is None:
            raise _StepError("no console to create the second credential with")
        kind = "basic" if (bound.initial_auth or "").lower().startswith("basic ") else "bearer"
        status, body = console.admin("create-credential", {"kind": kind})
        if status != 201 or not isinstance(body, dict):
            raise _StepError(f"could not create the second credential: {status} {body}")
        if kind == "basic":
            bound.second_auth = AuthOverride(basic=(str(body["key"]), str(body["secret"]))).header()
            bound.second_bearer = f"Bearer {body['key']}:{body['secret']}"
            bound.masker.add_basic(str(body["key"]), str(body["secret"]))
            bound.masker.add(bound.second_bearer, f"{body['key']}:{body['secret']}")
        else:
            bound.second_auth = AuthOverride(token=str(body["token"])).header()
        bound.masker.add(bound.second_auth, bound.second_auth.split(" ", 1)[-1])
        bound.second_id = str(body.get("id"))

    @staticmethod
    def _second_id(bound: _Bound) -> str:
        """The console id of the second credential; never guessed: ambiguity is an error."""
        if bound.second_id:
            return bound.second_id
        finder = getattr(bound.console, "credential_id", None)
        found = finder(bound.second_auth, exclude=bound.initial_auth) if callable(finder) and bound.second_auth else None
        if not found:
            raise _StepError("cannot tell which console credential is the second one (so nothing is revoked); "
                             "the console must offer credential_id(authorization, exclude=...)")
        bound.second_id = str(found)
        return bound.second_id

    def _prove_credential_live(self, bound: _Bound, result: ScenarioResult) -> None:
        """A console scenario must leave the run's credential working: one request proves it."""
        if result.outcome == SKIPPED:
            return
        client = bound.client(Recorder(self.env.sink))
        auth = AuthOverride(authorization=bound.initial_auth) if bound.initial_auth else None
        response = client.get("/Users", params={"startIndex": 1, "count": 1}, auth=auth)
        if response.status == 200:
            return
        result.outcome = ERROR
        result.reason = (result.reason + "; " if result.reason else "") + (
            f"the run's credential no longer works after this scenario (GET /Users answered {response.status})"
        )

    def _run_step(self, scenario: Scenario, step: Step, bound: _Bound, scope: Scope) -> StepResult:
        # The embedded reference server applies every change before it answers (unless its reads
        # lag on purpose, the eventual-consistency quirk): polling it would only delay a failure by
        # `within`, so otherwise `eventually` is honoured for remote targets only.
        lagging = Quirk.EVENTUAL_CONSISTENCY in bound.target.options.quirks
        polling = step.eventually if not bound.target.embedded or lagging else None
        within, every = polling or (0.0, 0.5)
        deadline = time.monotonic() + within
        exchanges: list[Exchange] = []
        while True:
            recorder = Recorder(self.env.sink)
            try:
                problems, captured, warnings = self._attempt(scenario, step, bound, scope, recorder)
            except _StepError as exc:
                return StepResult(step.name, ERROR, str(exc), exchanges + recorder.exchanges)
            except TemplateError as exc:
                return StepResult(step.name, ERROR, f"template: {exc}", exchanges + recorder.exchanges)
            except RunDeadlineReached as exc:
                return StepResult(step.name, SKIPPED, str(exc), exchanges + recorder.exchanges)
            except TargetMisbehaved as exc:  # another origin, a body over the limit: the step's finding
                return StepResult(step.name, FAILED, str(exc), exchanges + recorder.exchanges)
            except TargetError as exc:
                return StepResult(step.name, ERROR, str(exc), exchanges + recorder.exchanges)
            exchanges += recorder.exchanges
            if not problems:
                scope.captured.update(captured)
                if warnings:
                    idp = IDP_NAMES.get(scenario.idp, scenario.idp)
                    text = "; ".join(f"{w['check']}: {w['message']}" for w in warnings)
                    return StepResult(step.name, WARNING, f"tolerated by {idp} (RFC deviation): {text}",
                                      exchanges, warnings=warnings)
                return StepResult(step.name, PASSED, "", exchanges)
            if polling is None or time.monotonic() + every > deadline:
                break
            self._sleep(every)
        message = "; ".join(problems)
        if polling is not None:
            message += f" (still after {within:g} s)"
        reason = self._refusal_reason(scenario, step, bound)
        if reason:
            message = f"{reason}: {message}"
        if step.level == "SHOULD":
            return StepResult(step.name, WARNING, f"SHOULD: {message}", exchanges)
        return StepResult(step.name, FAILED, message, exchanges)

    # -- one attempt ------------------------------------------------------------------------------

    def _attempt(
        self, scenario: Scenario, step: Step, bound: _Bound, scope: Scope, recorder: Recorder
    ) -> tuple[list[str], dict[str, Any], list[dict[str, str]]]:
        spec = scope.render(step.spec)
        path = ""
        if step.kind == "use_auth":
            bound.auth = _auth_header(spec, bound)
            if bound.auth:
                bound.masker.add(bound.auth, bound.auth.split(" ", 1)[-1])
            return [], {}, []
        self._sent = None
        if step.kind == "request":
            out, path = self._request(scenario, step, spec, bound, recorder)
            self._sent = (spec, out.status)
        elif step.kind == "observe":
            out = self._observe(spec, bound)
        else:
            out = self._admin(step, spec, bound)
            if not step.expect.status and not 200 <= out.status < 300:
                return [f"admin {spec['action']} answered {out.status}: {out.body}"], {}, []
        problems = _evaluate(step.expect, out, path, scope)
        for item in step.optional:
            if not problems and item.when and self._applies(item.when, bound):
                problems += _evaluate(item.expect, out, path, scope)
        if problems:
            return problems, {}, []
        warnings: list[dict[str, str]] = []
        for item in step.rfc:
            if item.when and not self._applies(item.when, bound):
                continue
            found = _evaluate(item.expect, out, path, scope)
            if found:
                warnings.append({"check": item.check, "message": "; ".join(found)})
        captured: dict[str, Any] = {}
        for name, cpath in step.capture.items():
            value = cpath.evaluate(out.status, out.headers, out.body)
            if value is MISSING:
                problems.append(f"capture {name}: {cpath.text} is absent")
            captured[name] = value
        return problems, captured, warnings

    def _refusal_reason(self, scenario: Scenario, step: Step, bound: _Bound) -> str | None:
        """What the target's own discovery says it lacks, when it refused (4xx) the IdP's request: the
        failure then reads as the IdP's real blocker, not a bare status (see `explain.py`)."""
        if self._sent is None or not 400 <= self._sent[1] < 500:
            return None
        spec, _status = self._sent
        idp = IDP_NAMES.get(scenario.idp, scenario.idp)
        path = str(spec.get("path", ""))
        discovery = bound.discovery()
        return explain.filter_reason(idp, path, spec.get("query"), discovery) or explain.body_reason(
            idp, str(spec.get("method", "")).upper(), path, spec.get("json"), discovery)

    @staticmethod
    def _applies(when: str, bound: _Bound) -> bool:
        """`when: enterprise`: the target's /ResourceTypes (or /Schemas) declare the enterprise User
        extension. `when: declares:NAME`: the target's /Schemas declare that core User attribute."""
        discovery = bound.discovery()
        if when == "enterprise":
            return discovery.features.enterprise is True
        name = when.split(":", 1)[1].lower()
        for schema in discovery.schemas or []:
            if isinstance(schema, dict) and schema.get("id") == "urn:ietf:params:scim:schemas:core:2.0:User":
                return any(isinstance(a, dict) and str(a.get("name", "")).lower() == name
                           for a in schema.get("attributes") or [])
        return False

    def _request(
        self, scenario: Scenario, step: Step, spec: dict[str, Any], bound: _Bound, recorder: Recorder
    ) -> tuple[_Outcome, str]:
        method = spec["method"]
        path = spec["path"]
        if not path.startswith(("/", "http://", "https://")):
            path = "/" + path
        self._check_prefix(step, method, path, spec.get("json"), bound.run)
        headers: dict[str, str | None] = dict(scenario.default_headers)
        has_body = "json" in spec or "body" in spec
        if has_body:
            headers["Content-Type"] = IDP_BODY_CONTENT_TYPE[scenario.idp]
        headers.update(spec.get("headers") or {})
        authorization = _auth_header(spec.get("auth"), bound)
        headers["Authorization"] = authorization
        client = bound.client(recorder)
        # An absolute path can only be a reference the server gave (a captured Location): resolved
        # and held to the target's origin by the client like every other one.
        url = client.resolve(path, "captured reference") if path.lower().startswith(("http://", "https://")) else path
        if spec.get("query"):
            url += ("&" if "?" in path else "?") + _query(spec["query"])
        kwargs: dict[str, Any] = {"headers": headers, "auth": None}
        if "json" in spec:
            # Compact, key order kept: the bytes IdPs send (Okta's documented bodies have no spaces).
            kwargs["content"] = jsonlib.dumps(spec["json"], ensure_ascii=False, separators=(",", ":")).encode()
        elif "body" in spec:
            kwargs["content"] = spec["body"]
        response = client.request(method, url, **kwargs)
        body = response.json()
        self._ledger(method, path, response.status, body, bound)
        return _Outcome(response.status, dict(response.headers), body, response.exchange.elapsed_ms), path

    @staticmethod
    def _check_prefix(step: Step, method: str, path: str, body: Any, run: Run) -> None:
        """A create or replace expected to succeed must carry the run prefix (leftovers stay findable)."""
        creating = (method == "POST" and _COLLECTION.match(path)) or (method == "PUT" and _ITEM.match(path))
        if not creating or not isinstance(body, dict):
            return
        if step.expect.status and all(s >= 300 for s in step.expect.status):
            return  # a create the target must refuse
        for attr in ("userName", "displayName"):
            value = body.get(attr)
            if attr == "displayName" and "userName" in body:
                continue
            if isinstance(value, str) and not value.lower().startswith(run.prefix.lower()):
                raise _StepError(
                    f"scenario error: {attr} {value!r} does not start with the run prefix; "
                    "write it as '{{ run.prefix }}...' so the run's cleanup can find it"
                )

    @staticmethod
    def _ledger(method: str, path: str, status: int, body: Any, bound: _Bound) -> None:
        collection = _COLLECTION.match(path)
        if method == "POST" and collection and 200 <= status < 300 and isinstance(body, dict):
            rid = body.get("id")
            if isinstance(rid, str) and rid:
                bound.run.ledger.add(f"/{collection.group(1)}/{rid}")
        item = _ITEM.match(path)
        if method == "DELETE" and item and status in (200, 204):
            bound.run.ledger.forget(f"/{item.group(1)}/{item.group(2)}")

    @staticmethod
    def _observe(spec: Mapping[str, Any], bound: _Bound) -> _Outcome:
        observer = bound.observer
        if observer is None:
            raise _StepError("no observer is configured")
        if "member" in spec:
            member = observer.member(str(spec["member"]))
            body: Any = {"present": member is not None, **(member or {})}
        elif "signin" in spec:
            body = {"userName": spec["signin"], "allowed": observer.can_sign_in(str(spec["signin"]))}
        else:
            body = observer.roles()
        return _Outcome(200, {}, body)

    def _admin(self, step: Step, spec: Mapping[str, Any], bound: _Bound) -> _Outcome:
        console = bound.console
        if console is None:
            raise _StepError("no console is configured")
        params = {k: v for k, v in spec.items() if k not in ("action", "credential")}
        action = str(spec["action"])
        if action == "revoke-credential":
            # Only what this scenario owns may be revoked: never the run's credential.
            if spec.get("credential") == "second":
                params["id"] = self._second_id(bound)
            elif str(params.get("id")) not in bound.created_credentials:
                raise _StepError(f"refusing to revoke credential {params.get('id')!r}: this scenario did not create "
                                 "it (revoke 'credential: second' or one an earlier step created)")
        status, body = console.admin(action, params)
        if action == "create-credential" and isinstance(body, dict) and body.get("id"):
            bound.created_credentials.add(str(body["id"]))
        if isinstance(body, dict):  # new credentials: keep them out of every later report
            for key in ("secret", "token", "bearer"):
                if isinstance(body.get(key), str):
                    bound.masker.add(body[key])
            if isinstance(body.get("key"), str) and isinstance(body.get("secret"), str):
                bound.masker.add_basic(body["key"], body["secret"])
        return _Outcome(status, {}, body)


def _fill(result: StepResult, step: Step) -> StepResult:
    result.expectations = step.counts
    result.source = step.source
    return result


def _overall(steps: list[StepResult]) -> str:
    """A scenario fails only on idp expectations; rfc deviations the IdP tolerates make it a warning."""
    outcomes = {s.outcome for s in steps}
    for outcome in (ERROR, FAILED, WARNING):
        if outcome in outcomes:
            return outcome
    return PASSED


def run_scenario(scenario: Scenario, env: Environment) -> ScenarioResult:
    """Run one scenario (convenience for tests and `scimitar replay`)."""
    return ScenarioRunner(env).run(scenario)
