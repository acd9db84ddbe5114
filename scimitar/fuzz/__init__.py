"""Robustness: generated malformed requests against the target, bounded, seeded and shrunk.

`strategies` builds the requests (invalid JSON, wrong types for each declared attribute, malformed
filters and PATCH paths, oversized values, bad content types) from hypothesis strategies;
`explore` sends them within a `Budget` and turns the smallest failing request hypothesis found
into a check failure carrying its curl line and the seed that replays it. The checks that use
them are in `scimitar/checks/robustness.py` (tag `robustness`; `scimitar fuzz` runs them).
"""
