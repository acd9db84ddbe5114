"""Every command in README.md runs, so the README cannot rot.

The fenced `sh` blocks are read as a shell session: `export`/`unset` change the environment of
later commands, `make X` is checked for a target X in the Makefile (running it would reinstall the
venv), `scimitar serve` is started on a free port and stopped once it answers, and commands aimed at
the staging URL go to a local `scimitar serve` on 127.0.0.1 that accepts the README's placeholder
credentials as real ones. Load runs are shortened to a few seconds. The `yaml` CI jobs are parsed
and their scimitar command lines checked by the real argument parser.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from scimitar.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
STAGING = "https://staging.example.com/scim/v2"
TOKEN = "readme-token-5c1d"
BASIC = ("scim_readmekey", "readme-secret-77a")


def blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def commands() -> list[list[str]]:
    """Each sh line as argv (continuations joined, comments dropped by shlex)."""
    out: list[list[str]] = []
    for block in blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                out.append(argv)
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.communicate()[1][-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


def scimitar_argv(argv: list[str]) -> list[str]:
    assert argv[0] in (".venv/bin/scimitar", "scimitar"), argv
    return [sys.executable, "-m", "scimitar.cli", *argv[1:]]


@pytest.fixture(scope="module")
def staging() -> Iterator[str]:
    """A local reference server standing in for staging, accepting the README's credentials."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scimitar.cli",
            "serve",
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--basic",
            ":".join(BASIC),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(port, proc)
        yield f"http://127.0.0.1:{port}/scim/v2"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def placeholder(name: str, value: str) -> str:
    """README credentials are placeholders (`...`, `scim_...`); give them the stand-in's values."""
    if "..." not in value:
        return value
    return {"SCIM_TOKEN": TOKEN, "SCIM_USERNAME": BASIC[0], "SCIM_PASSWORD": BASIC[1]}.get(name, value)


def shorten_load(argv: list[str]) -> list[str]:
    out = list(argv)
    if "--duration" in out:
        out[out.index("--duration") + 1] = "3s"
    if "--users" in out:
        out[out.index("--users") + 1] = "5"
    return out


def run_serve(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    if "--list-quirks" in argv:
        out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "filter-ignored" in out.stdout, out.stderr
        return
    port = free_port()
    proc = subprocess.Popen(
        [*argv, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(port, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_readme_commands_run(staging: str, tmp_path: Path) -> None:
    make_targets = set(re.findall(r"^([a-z][\w-]*):", (REPO / "Makefile").read_text(encoding="utf-8"), re.M))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM")}
    seen: set[str] = set()
    for argv in commands():
        if argv[0] == "make":
            assert argv[1] in make_targets, f"README runs `make {argv[1]}`, the Makefile has no such target"
            continue
        if argv[0] == "export":
            for pair in argv[1:]:
                name, _, value = pair.partition("=")
                env[name] = placeholder(name, value)
            continue
        if argv[0] == "unset":
            for name in argv[1:]:
                env.pop(name, None)
            continue
        command_env = dict(env)
        while argv and re.match(r"^[A-Z_][A-Z0-9_]*=", argv[0]):  # `NAME=value command ...`
            name, _, value = argv.pop(0).partition("=")
            command_env[name] = placeholder(name, value)
        full = scimitar_argv([staging if a == STAGING else a for a in argv])
        command = argv[1]
        seen.add(command)
        # scenario paths are relative to the checkout; everything else writes into a scratch folder
        full = [str(REPO / a) if a.startswith(("scenarios/", "examples/", "fixtures/")) else a for a in full]
        if command == "serve":
            run_serve(full, tmp_path, command_env)
            continue
        if command == "load":
            full = shorten_load(full)
        out = subprocess.run(full, cwd=tmp_path, env=command_env, capture_output=True, text=True, timeout=120)
        allowed = {0, 1} if "--quirk" in argv and command in ("test", "replay") else {0}
        assert out.returncode in allowed, (
            f"{shlex.join(argv)} exited {out.returncode}:\n{out.stdout[-2000:]}{out.stderr}"
        )
    assert {"test", "serve", "replay", "checks", "cleanup", "load"} <= seen


def test_ci_jobs_parse_and_their_commands_are_valid() -> None:
    jobs = [yaml.safe_load(block) for block in blocks("yaml")]
    assert len(jobs) == 2
    lines: list[str] = []
    github = jobs[0]["jobs"]["scimitar"]["steps"]
    lines += [step["run"] for step in github if "run" in step]
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in github)
    gitlab = jobs[1]["scim-conformance"]
    lines += gitlab["script"]
    assert gitlab["artifacts"]["when"] == "always"
    scimitar_lines = [line for line in lines if ".venv/bin/scimitar" in line]
    assert scimitar_lines
    for line in scimitar_lines:
        argv = shlex.split(re.sub(r"\$\{\{[^}]*\}\}|\"?\$\w+\"?", "https://x.example/scim/v2", line))
        build_parser().parse_args(argv[1:])  # exits (and fails the test) on an unknown flag


COMMANDS = ("test", "replay", "serve", "checks", "cleanup", "load", "record", "diagnose", "fuzz")


def accepted_flags(command: str) -> set[str]:
    """Every option string `scimitar COMMAND` accepts (its real parser, subcommand arguments added)."""
    import argparse

    parser = build_parser(command=command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {flag for action in sub.choices[command]._actions for flag in action.option_strings}


def prose_flags() -> list[tuple[str, set[str], str]]:
    """(flag, commands the paragraph names, paragraph start) for each `--flag` in README prose.

    A flag must be accepted by a command the paragraph names or the one its section is about
    (`scimitar test` for most of the README); pytest's own `--scim-*` spellings are left out."""
    text = re.sub(r"^```.*?^```", "", README.read_text(encoding="utf-8"), flags=re.S | re.M)
    out: list[tuple[str, set[str], str]] = []
    section_commands: set[str] = {"test"}
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.startswith("#"):
            named = set(re.findall(r"scimitar (\w+)", paragraph)) & set(COMMANDS)
            section_commands = named or {"test"}
            if "Reproducing" in paragraph:
                section_commands = {"replay"}
            if "Load" in paragraph:
                section_commands = {"load"}
            if "Run the reference server" in paragraph:
                section_commands = {"serve"}
            if "Benchmarks" in paragraph:
                section_commands = set()  # bench/ scripts have flags of their own
        if not section_commands:
            continue
        named = set(re.findall(r"`?scimitar (\w+)", paragraph)) & set(COMMANDS)
        for code in re.findall(r"`([^`]+)`", paragraph):
            for flag in re.findall(r"(?:^|\s|/)(--[a-z][\w-]*)", code):
                if not flag.startswith("--scim-"):
                    out.append((flag, named | section_commands, paragraph.strip()[:60]))
    return out


def test_every_flag_the_readme_names_is_accepted_by_its_command() -> None:
    accepted = {command: accepted_flags(command) for command in COMMANDS}
    found = prose_flags()
    assert len(found) > 10, "the README's flags were not found"
    wrong = [
        f"{flag} (in {where!r}) is accepted by none of {sorted(commands)}"
        for flag, commands, where in found
        if not any(flag in accepted[c] for c in commands)
    ]
    assert not wrong, "\n".join(wrong)
    for line in (ln for block in blocks("console") for ln in block.replace("\\\n", " ").splitlines()):
        argv = shlex.split(line.removeprefix("$ "), comments=True)
        if argv and argv[0] == "scimitar":
            flags = [a.split("=", 1)[0] for a in argv[2:] if a.startswith("--")]
            unknown = [f for f in flags if f not in accepted[argv[1]]]
            assert not unknown, f"`{line.strip()}`: scimitar {argv[1]} does not accept {unknown}"


def test_test_accepts_the_scenario_flags_the_readme_gives() -> None:
    """`scimitar test --declare-profile clickhouse --observer ...` (the README and test's skip
    messages tell users to pass them) parses, as it does for `replay`."""
    parser = build_parser(command="test")
    ns = parser.parse_args(
        ["test", "--declare-profile", "clickhouse", "--observer", "scimitar.scenario.observer:admin_api_observer"]
    )
    assert ns.declare_profile == "clickhouse" and ns.observer.endswith(":admin_api_observer")


def test_readme_examples_are_the_shipped_files() -> None:
    """The worked scenario and the `scimitar.yaml` shown in the README are the files its `sh` lines
    run (`examples/`), so the README cannot show one thing and test another."""
    shown = blocks("text")
    for name in ("examples/scenarios/rename-user.yaml", "examples/scimitar.yaml"):
        text = (REPO / name).read_text(encoding="utf-8")
        assert text in shown, f"README does not show {name} as it is"
        assert any(name in " ".join(argv) for argv in commands()), f"no sh line runs {name}"


def test_readme_observer_example_fits_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's observer for a real product is valid Python and its factory returns an Observer."""
    from scimitar.scenario.observer import Observer

    (block,) = [b for b in blocks("python") if "make_observer" in b]
    monkeypatch.setenv("PRODUCT_ADMIN_URL", "http://127.0.0.1:9/admin")
    monkeypatch.setenv("PRODUCT_ADMIN_TOKEN", "t")
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    factory = namespace["make_observer"]
    assert callable(factory)
    assert isinstance(factory(object()), Observer)
