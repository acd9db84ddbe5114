"""Race checks: concurrent requests released together (see `scimitar checks --tag race`)."""

from scimitar.pytest_plugin import suite

test_check = suite("race")
