"""Robustness checks: bounded, seeded, generated malformed requests (`scimitar fuzz`)."""

from scimitar.pytest_plugin import suite

test_check = suite("robustness")
