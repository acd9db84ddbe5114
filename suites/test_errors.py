"""Conformance checks tagged errors: one test per registered check (see `scimitar checks`)."""

from scimitar.pytest_plugin import suite

test_check = suite("errors")
