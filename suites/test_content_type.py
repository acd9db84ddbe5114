"""Conformance checks tagged content-type: one test per registered check (see `scimitar checks`)."""

from scimitar.pytest_plugin import suite

test_check = suite("content-type")
