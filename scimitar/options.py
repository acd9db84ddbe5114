"""One definition of the target and run options, shared by the CLI and the pytest plugin.

Each option is declared once in `OPTIONS`; `add_cli_arguments` turns the table into argparse flags
(`--target-url`), `add_pytest_options` into pytest options with a `--scim-` prefix
(`--scim-target-url`; locust's pytest plugin already owns `--host`), and `resolve_target_options`
turns either into a validated `TargetOptions`, refusing bad combinations with one clear line.

Credentials can come from the environment so they stay out of shell history: `SCIM_TOKEN`, or
`SCIM_USERNAME` + `SCIM_PASSWORD`. Explicit flags win over the environment, which wins over a
config file.

A config file (`--config scimitar.yaml`) names several targets; secrets may be `${ENV}` references::

    default: staging
    targets:
      staging:
        url: https://idp-staging.example.com/scim/v2
        token: ${STAGING_SCIM_TOKEN}
        headers: {X-Tenant: acme}
        timeout: 60
      clickhouse:
        url: https://api.example.com/scim/v2
        basic: {username: ${CH_KEY}, password: ${CH_SECRET}}   # or "key:secret"
        ca_bundle: ./ca.pem
      local-quirky:                # no url: the embedded reference server
        profile: rfc
        quirks: [filter-ignored]
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml

from scimitar.exchange import redact_url, url_secrets
from scimitar.quirks import Quirk, parse_quirks
from scimitar.target import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_RETRY_WAIT_S,
    DEFAULT_RETRY_BUDGET_S,
    ConfigError,
    TargetOptions,
)

__all__ = [
    "OPTIONS",
    "ConfigError",
    "Option",
    "RunOptions",
    "TargetOptions",
    "add_cli_arguments",
    "add_pytest_options",
    "namespace_from_pytest",
    "resolve_run_options",
    "resolve_target_options",
    "to_pytest_args",
]

Kind = Literal["str", "int", "float", "flag", "append"]
Group = Literal["target", "bounds", "embedded", "run", "deadline", "output", "select", "speed"]

#: Which option groups each CLI subcommand takes.
COMMAND_GROUPS: dict[str, tuple[Group, ...]] = {
    "test": ("target", "bounds", "embedded", "run", "deadline", "output", "select", "speed"),
    "replay": ("target", "bounds", "embedded", "run", "deadline", "output"),
    "load": ("target", "bounds", "embedded", "run"),
    "cleanup": ("target", "bounds"),
}

PYTEST_PREFIX = "scim-"
DEFAULT_CONFIG_FILE = "scimitar.yaml"


@dataclass(frozen=True)
class Option:
    """One option: its name without prefix (`target-url`), help, kind, default and env variables."""

    name: str
    help: str
    kind: Kind = "str"
    default: Any = None
    env: tuple[str, ...] = ()
    group: Group = "target"
    metavar: str | None = None
    choices: tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def help_text(self) -> str:
        text = self.help
        if self.env:
            text += f" (env: {' + '.join(self.env)})"
        if self.default not in (None, False, ()):
            text += f" (default: {self.default})"
        return text


OPTIONS: tuple[Option, ...] = (
    Option(
        "target-url",
        "base URL of the SCIM service to test; omit to test the embedded reference server",
        metavar="URL",
    ),
    Option("token", "Bearer token for the target", env=("SCIM_TOKEN",), metavar="TOKEN"),
    Option(
        "basic",
        "basic credential (ClickHouse: scim_ key and secret)",
        env=("SCIM_USERNAME", "SCIM_PASSWORD"),
        metavar="KEY:SECRET",
    ),
    Option("header", "extra request header, repeatable", kind="append", metavar="NAME:VALUE"),
    Option("ca-bundle", "PEM file of CA certificates to trust for the target", metavar="PATH"),
    Option("insecure", "do not verify the target's TLS certificate", kind="flag"),
    Option("timeout", "per-request timeout in seconds", kind="float", default=30.0, metavar="SECONDS"),
    Option(
        "config",
        f"YAML file naming targets (default: ./{DEFAULT_CONFIG_FILE} when --target is given)",
        metavar="FILE",
    ),
    Option("target", "name of a target in the config file", metavar="NAME"),
    Option(
        "max-body-bytes",
        "read at most this much of one response body (suffixes KiB, MiB, GiB); over it the check fails "
        "and reading stops",
        default="8MiB",
        group="bounds",
        metavar="SIZE",
    ),
    Option(
        "read-deadline",
        "seconds one response may take from request to last byte (default: the timeout)",
        kind="float",
        group="bounds",
        metavar="SECONDS",
    ),
    Option(
        "max-retry-wait",
        "seconds one request may wait on 429 Retry-After, retries together",
        kind="float",
        default=DEFAULT_MAX_RETRY_WAIT_S,
        group="bounds",
        metavar="SECONDS",
    ),
    Option(
        "retry-budget",
        "seconds the whole run may wait on 429 Retry-After; after it a 429 is returned at once",
        kind="float",
        default=DEFAULT_RETRY_BUDGET_S,
        group="bounds",
        metavar="SECONDS",
    ),
    Option(
        "profile", "embedded server profile", group="embedded", choices=("rfc", "clickhouse"), default="rfc"
    ),
    Option(
        "quirk",
        "switch on a named server bug in the embedded server, repeatable",
        kind="append",
        group="embedded",
        metavar="NAME",
    ),
    Option("base-path", "embedded server base path", group="embedded", default="/scim/v2", metavar="PATH"),
    Option(
        "shape",
        "embedded server shape: the schemas, resource types and ServiceProviderConfig it declares "
        "and enforces (rfc, minimal, no-filter-sort, clickhouse)",
        group="embedded",
        choices=("rfc", "minimal", "no-filter-sort", "clickhouse"),
        metavar="NAME",
    ),
    Option("seed", "seed for generated test data (same seed, same data)", kind="int", default=0, group="run"),
    Option(
        "run-id",
        "run id used in the name prefix scimitar-<run-id>- (default: random); keep it unique per "
        "concurrent run: the final cleanup deletes whatever carries the prefix",
        group="run",
        metavar="ID",
    ),
    Option(
        "max-duration",
        "end the run after this long (e.g. 90s, 10m): checks and scenarios not started by then are "
        "skipped with 'run deadline reached'; the cleanup still runs (at most 60 s more)",
        group="deadline",
        metavar="DURATION",
    ),
    Option(
        "concurrency",
        "run checks and scenarios side by side with at most N requests in flight (default: 16 against a "
        "remote target, where latency dominates, and 1 against the embedded server); checks and scenarios "
        "marked serial run alone",
        kind="int",
        group="speed",
        metavar="N",
    ),
    Option(
        "max-rps",
        "start at most this many requests per second across all workers (a politeness cap for staging); "
        "a 429 Retry-After holds every worker",
        kind="float",
        group="speed",
        metavar="RPS",
    ),
    Option("json", "write results as JSON to PATH", group="output", metavar="PATH"),
    Option("junit", "write results as JUnit XML to PATH", group="output", metavar="PATH"),
    Option("tag", "run only checks with this tag, repeatable", kind="append", group="select", metavar="TAG"),
    Option(
        "section",
        "run only checks whose RFC section contains TEXT (e.g. 3.4.2), repeatable",
        kind="append",
        group="select",
        metavar="TEXT",
    ),
)

_BY_NAME = {opt.name: opt for opt in OPTIONS}


def _argparse_kwargs(opt: Option) -> dict[str, Any]:
    # Defaults stay None in argparse: the resolver must see whether a flag was given at all.
    kwargs: dict[str, Any] = {"help": opt.help_text(), "default": None}
    if opt.kind == "flag":
        kwargs["action"] = "store_true"
        kwargs["default"] = False
    elif opt.kind == "append":
        kwargs["action"] = "append"
    elif opt.kind == "int":
        kwargs["type"] = int
    elif opt.kind == "float":
        kwargs["type"] = float
    if opt.metavar and opt.kind != "flag":
        kwargs["metavar"] = opt.metavar
    if opt.choices:
        kwargs["choices"] = opt.choices
    return kwargs


def options_for(command: str) -> list[Option]:
    groups = COMMAND_GROUPS[command]
    return [opt for opt in OPTIONS if opt.group in groups]


def add_cli_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """Add the table's flags for one subcommand (`test`, `replay`, `load`, `cleanup`)."""
    titles = {
        "target": "target",
        "bounds": "bounds on what the target can make the harness do",
        "deadline": "run deadline",
        "embedded": "embedded server (no --target-url)",
        "run": "run",
        "output": "output",
        "select": "selection",
        "speed": "speed (remote targets)",
    }
    groups: dict[str, argparse._ArgumentGroup] = {}
    for opt in options_for(command):
        if opt.group not in groups:
            groups[opt.group] = parser.add_argument_group(titles[opt.group])
        groups[opt.group].add_argument(f"--{opt.name}", dest=opt.dest, **_argparse_kwargs(opt))


def add_pytest_options(parser: Any) -> None:
    """Add the table as `--scim-*` pytest options (`parser` is a `pytest.Parser`)."""
    group = parser.getgroup("scimitar", "scimitar SCIM conformance target")
    for opt in OPTIONS:
        group.addoption(f"--{PYTEST_PREFIX}{opt.name}", dest=f"scim_{opt.dest}", **_argparse_kwargs(opt))


def namespace_from_pytest(config: Any) -> argparse.Namespace:
    """The pytest option values under the plain dests the resolver reads (`target_url`, ...)."""
    return argparse.Namespace(**{opt.dest: config.getoption(f"scim_{opt.dest}") for opt in OPTIONS})


def to_pytest_args(ns: argparse.Namespace) -> list[str]:
    """The `--scim-*` arguments equivalent to the CLI flags that were given."""
    args: list[str] = []
    for opt in OPTIONS:
        value = getattr(ns, opt.dest, None)
        flag = f"--{PYTEST_PREFIX}{opt.name}"
        if value is None or value is False:
            continue
        if opt.kind == "flag":
            args.append(flag)
        elif opt.kind == "append":
            for item in value:
                args.append(f"{flag}={item}")
        else:
            args.append(f"{flag}={value}")
    return args


# -- resolution --------------------------------------------------------------------------------------

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RUN_ID = re.compile(r"^[a-z0-9]{1,16}$")


@dataclass(frozen=True)
class RunOptions:
    """The run's identity and outputs (the rest of a run is built from these in `scimitar.run`)."""

    seed: int = 0
    run_id: str | None = None
    json: str | None = None
    junit: str | None = None
    tags: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    max_duration: float | None = None  # seconds
    concurrency: int | None = None  # requests in flight (`--concurrency`); None: `DEFAULT_REMOTE_CONCURRENCY` or 1
    max_rps: float | None = None  # request starts per second across workers (`--max-rps`)


#: Requests in flight (and checks and scenarios at once) against a remote target when `--concurrency`
#: is not given. At 50 ms a round trip a full run sends about 2,000 requests, so 8 in flight leave it
#: near 20 s and 16 near 13 s (`bench/concurrency.py`); 16 concurrent requests are ordinary traffic for
#: a web API, and `--concurrency 4 --max-rps 20` is there for a fragile staging server. The embedded
#: server: 1, its in-process transport runs one request at a time anyway.
DEFAULT_REMOTE_CONCURRENCY = 16


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b|bytes)?\s*$", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "b": 1, "bytes": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(value: str | int, what: str = "--max-body-bytes") -> int:
    """`8MiB`, `512k`, `1048576` -> bytes (binary units: k, KiB and KB all mean 1024)."""
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(str(value))
        if match is None:
            raise ConfigError(f"{what} {value!r}: give a size such as 8MiB, 512KiB or 1048576")
        unit = (match.group(2) or "").lower()
        size = int(float(match.group(1)) * _SIZE_FACTORS[unit if unit in ("b", "bytes") else unit[:1]])
    if size < 1:
        raise ConfigError(f"{what} must be at least 1 byte")
    return size


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_seconds(value: str | float, what: str) -> float:
    """`90`, `90s`, `10m`, `1.5h` -> seconds (positive)."""
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ConfigError(f"{what} {value!r}: give a duration such as 90s, 10m or 1h")
        factor = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(2) or "s"]
        seconds = float(match.group(1)) * factor
    if seconds <= 0:
        raise ConfigError(f"{what} must be positive")
    return seconds


def resolve_run_options(ns: argparse.Namespace) -> RunOptions:
    run_id = getattr(ns, "run_id", None)
    if run_id is not None and not _RUN_ID.match(run_id):
        raise ConfigError(
            f"--run-id {run_id!r}: use 1-16 lowercase letters or digits (it goes into userNames)"
        )
    seed = getattr(ns, "seed", None)
    concurrency = getattr(ns, "concurrency", None)
    if concurrency is not None and not 1 <= int(concurrency) <= 64:
        raise ConfigError(f"--concurrency {concurrency}: give 1 to 64 workers")
    max_rps = getattr(ns, "max_rps", None)
    if max_rps is not None and not float(max_rps) > 0:
        raise ConfigError(f"--max-rps {max_rps}: give a positive number of requests per second")
    return RunOptions(
        seed=0 if seed is None else int(seed),
        run_id=run_id,
        json=getattr(ns, "json", None),
        junit=getattr(ns, "junit", None),
        tags=tuple(getattr(ns, "tag", None) or ()),
        sections=tuple(getattr(ns, "section", None) or ()),
        max_duration=(
            parse_seconds(ns.max_duration, "--max-duration")
            if getattr(ns, "max_duration", None) is not None
            else None
        ),
        concurrency=None if concurrency is None else int(concurrency),
        max_rps=None if max_rps is None else float(max_rps),
    )


def _split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without `user:password@`, and that pair (percent-decoded) when it was there."""
    userinfo, _ = url_secrets(url)
    if userinfo is None:
        return url, None
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host)), userinfo


def _split_pair(value: str, what: str) -> tuple[str, str]:
    if ":" not in value:
        raise ConfigError(f"{what} must be {_BY_NAME[what.lstrip('-')].metavar}, got no ':'")
    left, right = value.split(":", 1)
    if not left.strip():
        raise ConfigError(f"{what}: the part before ':' is empty")
    return left.strip(), right.strip() if what == "--header" else right


def _expand(value: Any, where: str, environ: Mapping[str, str]) -> Any:
    """Replace `${ENV}` references in config strings; a missing variable is a ConfigError."""
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                raise ConfigError(f"{where}: environment variable {name} is not set")
            return environ[name]

        return _ENV_REF.sub(sub, value)
    if isinstance(value, list):
        return [_expand(item, where, environ) for item in value]
    if isinstance(value, dict):
        return {key: _expand(item, f"{where}.{key}", environ) for key, item in value.items()}
    return value


def _load_config_target(config: str | None, name: str | None, environ: Mapping[str, str]) -> dict[str, Any]:
    path = Path(config) if config else Path(DEFAULT_CONFIG_FILE)
    if not path.is_file():
        if config:
            raise ConfigError(f"config file {config} not found")
        raise ConfigError(f"--target {name} given but there is no --config and no ./{DEFAULT_CONFIG_FILE}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    targets = document.get("targets") if isinstance(document, dict) else None
    if not isinstance(targets, dict) or not targets:
        raise ConfigError(f"{path}: expected a mapping 'targets:' naming at least one target")
    if name is None:
        name = document.get("default")
        if name is None and len(targets) == 1:
            name = next(iter(targets))
        if name is None:
            raise ConfigError(
                f"{path} names several targets; choose one with --target ({', '.join(targets)})"
            )
    if name not in targets:
        raise ConfigError(f"unknown target {name!r} in {path}; known: {', '.join(map(str, targets))}")
    entry = targets[name]
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: target {name!r} must be a mapping")
    known = {
        "url",
        "token",
        "basic",
        "headers",
        "ca_bundle",
        "insecure",
        "timeout",
        "profile",
        "quirks",
        "base_path",
        "max_body_bytes",
        "read_deadline",
        "max_retry_wait",
        "retry_budget",
    }
    unknown = set(entry) - known
    if unknown:
        raise ConfigError(f"{path}: target {name!r} has unknown keys {', '.join(sorted(unknown))}")
    expanded: dict[str, Any] = _expand(entry, f"{path}: target {name!r}", environ)
    expanded["name"] = name
    return expanded


def resolve_target_options(ns: argparse.Namespace, environ: Mapping[str, str] | None = None) -> TargetOptions:
    """Validated `TargetOptions` from CLI or pytest values, the environment and an optional config file.

    Raises `ConfigError` (one line) for bad values and combinations.
    """
    env = os.environ if environ is None else environ

    def given(dest: str) -> Any:
        return getattr(ns, dest, None)

    file_entry: dict[str, Any] = {}
    if given("target") is not None or given("config") is not None:
        if given("target_url") is not None:
            raise ConfigError("give either --target-url or --target/--config, not both")
        file_entry = _load_config_target(given("config"), given("target"), env)

    url = given("target_url") or file_entry.get("url")
    userinfo: tuple[str, str] | None = None
    if url is not None:
        url = str(url).strip()
        if not re.match(r"^https?://[^/\s]+", url):
            raise ConfigError(f"target URL {redact_url(url)!r} must start with http:// or https://")
        url, userinfo = _split_userinfo(url)

    # Credential: flags, then environment, then config file; two kinds at one level is an error.
    token = given("token")
    basic_raw = given("basic")
    if token is not None and basic_raw is not None:
        raise ConfigError("give either --token or --basic, not both")
    basic: tuple[str, str] | None = _split_pair(basic_raw, "--basic") if basic_raw is not None else None
    if userinfo is not None:
        # `https://user:pass@host/...` is a Basic credential given on the command line.
        if token is not None or basic is not None:
            raise ConfigError("the target URL carries user:password@ and --token/--basic is given; give one")
        basic = userinfo
    if token is None and basic is None:
        env_token = env.get("SCIM_TOKEN") or None
        env_user, env_pass = env.get("SCIM_USERNAME") or None, env.get("SCIM_PASSWORD")
        if env_user is not None and env_pass is None:
            raise ConfigError("SCIM_USERNAME is set but SCIM_PASSWORD is not")
        if env_token is not None and env_user is not None:
            raise ConfigError("both SCIM_TOKEN and SCIM_USERNAME/SCIM_PASSWORD are set; unset one")
        token = env_token
        if env_user is not None and env_pass is not None:
            basic = (env_user, env_pass)
    if token is None and basic is None:
        if file_entry.get("token") is not None and file_entry.get("basic") is not None:
            raise ConfigError(f"config target {file_entry['name']!r} has both token and basic")
        if file_entry.get("token") is not None:
            token = str(file_entry["token"])
        elif isinstance(file_entry.get("basic"), dict):
            creds = file_entry["basic"]
            basic = (str(creds.get("username", "")), str(creds.get("password", "")))
        elif file_entry.get("basic") is not None:
            basic = _split_pair(str(file_entry["basic"]), "--basic")
    if token is not None and not token.strip():
        raise ConfigError("the token is empty")

    headers: list[tuple[str, str]] = []
    file_headers = file_entry.get("headers") or {}
    if not isinstance(file_headers, dict):
        raise ConfigError("config 'headers' must be a mapping of name: value")
    headers += [(str(k), str(v)) for k, v in file_headers.items()]
    headers += [_split_pair(h, "--header") for h in given("header") or ()]
    if any(name.lower() == "authorization" for name, _ in headers) and (token or basic):
        raise ConfigError("an Authorization header conflicts with --token/--basic; give one")

    ca_bundle = given("ca_bundle") or file_entry.get("ca_bundle")
    insecure = bool(given("insecure")) or bool(file_entry.get("insecure", False))
    if ca_bundle and insecure:
        raise ConfigError("give either --ca-bundle or --insecure, not both")
    if ca_bundle and not Path(str(ca_bundle)).is_file():
        raise ConfigError(f"CA bundle {ca_bundle} not found")

    timeout_raw = given("timeout") if given("timeout") is not None else file_entry.get("timeout", 30.0)
    try:
        timeout = float(timeout_raw)
    except (TypeError, ValueError):
        raise ConfigError(f"timeout {timeout_raw!r} is not a number of seconds") from None
    if timeout <= 0:
        raise ConfigError("the timeout must be positive")

    def seconds(dest: str, default: float | None) -> float | None:
        raw = given(dest) if given(dest) is not None else file_entry.get(dest, default)
        if raw is None:
            return None
        flag = "--" + dest.replace("_", "-")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{flag} {raw!r} is not a number of seconds") from None
        if value < 0 or (value == 0 and dest == "read_deadline"):
            raise ConfigError(f"{flag} must be positive")
        return value

    body_raw = given("max_body_bytes") if given("max_body_bytes") is not None else file_entry.get("max_body_bytes")
    max_body_bytes = DEFAULT_MAX_BODY_BYTES if body_raw is None else parse_size(body_raw)
    read_deadline = seconds("read_deadline", None)
    max_retry_wait = seconds("max_retry_wait", DEFAULT_MAX_RETRY_WAIT_S)
    retry_budget = seconds("retry_budget", DEFAULT_RETRY_BUDGET_S)

    profile = given("profile") or file_entry.get("profile")
    quirk_names = list(given("quirk") or ()) + list(file_entry.get("quirks") or ())
    base_path = given("base_path") or file_entry.get("base_path")
    shape = given("shape")
    if url is not None:
        for what, value in (
            ("--quirk", quirk_names),
            ("--profile", profile),
            ("--base-path", base_path),
            ("--shape", shape),
        ):
            if value:
                raise ConfigError(
                    f"{what} applies to the embedded reference server only, not to {redact_url(url)}"
                )
    if profile is not None and profile not in ("rfc", "clickhouse"):
        raise ConfigError(f"unknown profile {profile!r}; choose rfc or clickhouse")
    if base_path:
        # the embedded server refuses a base path over its admin API or one routes could misread
        from scimitar.server.config import ServerConfig

        try:
            ServerConfig(base_path=base_path)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if shape == "clickhouse":  # the clickhouse shape is the clickhouse profile on the RFC schemas
        if profile not in (None, "clickhouse"):
            raise ConfigError(f"--shape clickhouse implies --profile clickhouse, not {profile}")
        profile, shape = "clickhouse", None
    try:
        quirks: frozenset[Quirk] = parse_quirks(quirk_names)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None

    return TargetOptions(
        url=url,
        token=token,
        basic=basic,
        headers=tuple(headers),
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        insecure=insecure,
        timeout=timeout,
        profile=profile or "rfc",
        quirks=quirks,
        base_path=base_path or "/scim/v2",
        name=file_entry.get("name"),
        max_body_bytes=max_body_bytes,
        read_deadline=read_deadline,
        max_retry_wait=DEFAULT_MAX_RETRY_WAIT_S if max_retry_wait is None else max_retry_wait,
        retry_budget=DEFAULT_RETRY_BUDGET_S if retry_budget is None else retry_budget,
        shape=shape if shape not in (None, "rfc") else None,
    )


def explicit_target(ns: argparse.Namespace) -> bool:
    """Whether the user named a target (required by destructive commands such as `cleanup`)."""
    return any(getattr(ns, dest, None) is not None for dest in ("target_url", "target", "config"))


def flags_for(names: Sequence[str]) -> list[str]:
    """CLI flag spellings of option names, for messages."""
    return [f"--{name}" for name in names]
