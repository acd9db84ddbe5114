"""Small things a user trips on: `checks --tag` by IdP and unknown tags, `replay -q`, and help
text on every `serve` option."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from scimitar.checks.registry import load_catalogue
from scimitar.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent


def test_checks_tag_okta_lists_the_okta_checks(capsys: pytest.CaptureFixture[str]) -> None:
    okta = sorted(c.id for c in load_catalogue() if c.id.startswith("okta-"))
    assert okta, "the catalogue has okta- checks"
    assert main(["checks", "--tag", "okta"]) == 0
    out = capsys.readouterr().out
    assert all(cid in out for cid in okta) and f"{len(okta)} checks" in out
    assert main(["checks", "--tag", "okta", "--json"]) == 0
    assert sorted(c["id"] for c in json.loads(capsys.readouterr().out)) == okta


def test_checks_unknown_tag_lists_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "--tag", "no-such-tag"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown tag 'no-such-tag'" in err
    for tag in ("filter", "patch", "okta", "entra"):
        assert tag in err


def test_replay_accepts_q(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = str(REPO / "scenarios" / "okta" / "deactivate.yaml")
    code = main(["replay", scenario, "-q", "--reports-dir", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[passed]" not in out and "scimitar: PASS: 1 passed" in out  # quiet: passing steps not listed


def test_every_serve_option_has_help_text() -> None:
    parser = build_parser(command="serve")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve = sub.choices["serve"]
    missing = [a.option_strings[0] for a in serve._actions if a.option_strings and not a.help]
    assert not missing, f"serve options without help text: {missing}"
