"""Reports of a run: the self-contained HTML report, the baseline gate, and where files go.

`Results` (in `scimitar.results`) holds what happened and writes JSON and JUnit itself; this
package adds what a person reads (`html.render`), what a release gate compares (`baseline`), the
grouping both share (`features`), the last-line secret scrubber (`scrub`) and the run directory
layout `reports/<run-id>/` with `reports/latest` (`output`).
"""
