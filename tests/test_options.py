"""One option table for CLI and pytest; the resolver refuses bad combinations with one line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from scimitar.options import (
    OPTIONS,
    ConfigError,
    add_cli_arguments,
    resolve_run_options,
    resolve_target_options,
    to_pytest_args,
)
from scimitar.quirks import Quirk


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser, "test")
    return parser.parse_args(list(argv))


def resolve(*argv: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return resolve_target_options(parse(*argv), environ=env or {})


def test_defaults_are_the_embedded_server() -> None:
    opts = resolve()
    assert opts.embedded and opts.profile == "rfc" and opts.base_path == "/scim/v2" and opts.timeout == 30.0
    assert resolve_run_options(parse()).seed == 0


def test_remote_with_token_headers_and_timeout() -> None:
    opts = resolve(
        "--target-url",
        "https://127.0.0.1:8443/scim/v2",
        "--token",
        "t0k",
        "--header",
        "X-Tenant: acme",
        "--header",
        "X-Other:1",
        "--timeout",
        "5",
    )
    assert opts.url == "https://127.0.0.1:8443/scim/v2" and opts.token == "t0k"
    assert opts.headers == (("X-Tenant", "acme"), ("X-Other", "1"))
    assert opts.timeout == 5.0


def test_credentials_from_environment() -> None:
    assert resolve(env={"SCIM_TOKEN": "envtok"}).token == "envtok"
    assert resolve(env={"SCIM_USERNAME": "scim_k", "SCIM_PASSWORD": "s:ecret"}).basic == ("scim_k", "s:ecret")
    # an explicit flag wins over the environment
    assert resolve("--basic", "a:b", env={"SCIM_TOKEN": "envtok"}).basic == ("a", "b")


@pytest.mark.parametrize(
    ("argv", "env", "fragment"),
    [
        (("--token", "x", "--basic", "a:b"), {}, "either --token or --basic"),
        (("--basic", "nocolon"), {}, "KEY:SECRET"),
        ((), {"SCIM_USERNAME": "u"}, "SCIM_PASSWORD"),
        ((), {"SCIM_TOKEN": "t", "SCIM_USERNAME": "u", "SCIM_PASSWORD": "p"}, "unset one"),
        (
            ("--target-url", "http://127.0.0.1:9", "--quirk", "filter-ignored"),
            {},
            "embedded reference server only",
        ),
        (("--target-url", "http://127.0.0.1:9", "--profile", "clickhouse"), {}, "embedded"),
        (("--quirk", "no-such-quirk"), {}, "unknown quirk"),
        (("--target-url", "ftp://127.0.0.1"), {}, "http:// or https://"),
        (("--insecure", "--ca-bundle", "/etc/hosts"), {}, "either --ca-bundle or --insecure"),
        (("--ca-bundle", "/nonexistent.pem"), {}, "not found"),
        (("--timeout", "0"), {}, "positive"),
        (("--header", "NoColon"), {}, "NAME:VALUE"),
        (("--target", "x", "--target-url", "http://127.0.0.1"), {}, "not both"),
    ],
)
def test_bad_combinations_raise_one_line(argv: tuple[str, ...], env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(*argv, env=env)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_quirks_are_parsed() -> None:
    assert resolve("--quirk", "filter-ignored", "--quirk", "slow").quirks == {
        Quirk.FILTER_IGNORED,
        Quirk.SLOW,
    }


def test_config_file_targets_with_env_references(tmp_path: Path) -> None:
    config = tmp_path / "scimitar.yaml"
    config.write_text(
        "targets:\n"
        "  staging:\n"
        "    url: https://127.0.0.1:8443/scim/v2\n"
        "    token: ${STAGING_TOKEN}\n"
        "    headers: {X-Tenant: acme}\n"
        "  ch:\n"
        "    url: http://127.0.0.1:8123/scim/v2\n"
        "    basic: {username: scim_key, password: '${CH_SECRET}'}\n"
        "  local:\n"
        "    quirks: [filter-ignored]\n",
        encoding="utf-8",
    )
    env = {"STAGING_TOKEN": "stg", "CH_SECRET": "chs"}
    staging = resolve("--config", str(config), "--target", "staging", env=env)
    assert staging.token == "stg" and staging.headers == (("X-Tenant", "acme"),) and staging.name == "staging"
    assert resolve("--config", str(config), "--target", "ch", env=env).basic == ("scim_key", "chs")
    assert resolve("--config", str(config), "--target", "local", env=env).quirks == {Quirk.FILTER_IGNORED}
    with pytest.raises(ConfigError, match="unknown target 'nope'"):
        resolve("--config", str(config), "--target", "nope", env=env)
    with pytest.raises(ConfigError, match="STAGING_TOKEN is not set"):
        resolve("--config", str(config), "--target", "staging", env={})
    with pytest.raises(ConfigError, match="choose one with --target"):
        resolve("--config", str(config), env=env)


def test_run_id_is_validated() -> None:
    assert resolve_run_options(parse("--run-id", "abc123", "--seed", "7")).seed == 7
    with pytest.raises(ConfigError):
        resolve_run_options(parse("--run-id", "Has Space"))


def test_cli_flags_map_to_pytest_options(pytestconfig: pytest.Config) -> None:
    ns = parse(
        "--target-url",
        "http://127.0.0.1:9",
        "--header",
        "A:1",
        "--header",
        "B:2",
        "--insecure",
        "--seed",
        "3",
    )
    args = to_pytest_args(ns)
    assert args == [
        "--scim-target-url=http://127.0.0.1:9",
        "--scim-header=A:1",
        "--scim-header=B:2",
        "--scim-insecure",
        "--scim-seed=3",
    ]
    # every table entry exists as a --scim-* pytest option (the plugin is loaded by the root conftest)
    for opt in OPTIONS:
        assert pytestconfig.getoption(f"scim_{opt.dest}") in (None, False)
