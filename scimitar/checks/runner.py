"""Run one check and turn how it ended into a `CheckResult` on the RFC 2119 scale.

A `CheckFailed` means "failed" for a MUST, "warning" for a SHOULD and "skipped" for a MAY (the
optional behaviour is simply absent); any other exception is an "error" of the check or the
target, reported by type and text only (no traceback, no locals: nothing that could hold a secret).
What the client refused (`TargetMisbehaved`: a reference to another origin, a body over the limit)
fails the check whatever its level, and a request cut by the run deadline skips it.


A check that returns without having evaluated a single expectation on its requirement has proved
nothing: it ends SKIPPED with "not exercised: <why>" (the reasons it gave with
`ctx.not_exercised`), never PASSED. A server that answers `200 text/html` to everything must not
collect passes from checks whose precondition (an error, a 401) never happened.
"""

from __future__ import annotations

import time

from scimitar.checks.context import CheckContext
from scimitar.checks.registry import Check, CheckFailed, CheckSkipped, Level
from scimitar.exchange import Exchange
from scimitar.results import CheckResult, Outcome
from scimitar.target import RunDeadlineReached, TargetError, TargetMisbehaved


def run_check(check: Check, ctx: CheckContext) -> CheckResult:
    """Run `check` with `ctx` (whose recorder must be fresh for this check) and classify the end."""
    started = time.perf_counter()
    outcome = Outcome.PASSED
    message = ""
    expected: object = None
    actual: object = None
    evidence: list[Exchange] = []
    masker = ctx.client.masker

    reason = ctx.discovery.unmet(check.needs)
    if reason is not None:
        outcome, message = Outcome.SKIPPED, reason
    else:
        try:
            check.func(ctx)
            if ctx.expectations == 0:
                outcome = Outcome.SKIPPED
                why = "; ".join(ctx.not_exercised_reasons) or "the check evaluated no expectation"
                message = masker.mask_text(f"not exercised: {why}")
        except CheckFailed as failure:
            message = masker.mask_text(failure.message)
            expected = None if failure.expected is None else masker.mask_text(str(failure.expected))
            actual = None if failure.actual is None else masker.mask_text(str(failure.actual))
            evidence = failure.exchanges
            if check.level is Level.MUST:
                outcome = Outcome.FAILED
            elif check.level is Level.SHOULD:
                outcome = Outcome.WARNING
            else:
                outcome = Outcome.SKIPPED
                message = f"optional (MAY) behaviour not present: {message}"
        except CheckSkipped as skipped:
            outcome, message = Outcome.SKIPPED, masker.mask_text(skipped.reason)
        except RunDeadlineReached as exc:  # --max-duration: not judged, not failed
            outcome, message = Outcome.SKIPPED, masker.mask_text(str(exc))
        except TargetMisbehaved as exc:  # another origin, a body over the limit: a finding, at any level
            outcome, message = Outcome.FAILED, masker.mask_text(str(exc))
        except TargetError as exc:
            outcome, message = Outcome.ERROR, masker.mask_text(str(exc))
        except Exception as exc:
            text = str(exc).splitlines()[0] if str(exc) else ""
            outcome = Outcome.ERROR
            message = masker.mask_text(f"{type(exc).__name__}: {text}".rstrip(": "))
        # Every ending above (pass, fail, skip, error) deletes what the check created; a Ctrl-C
        # skips this and leaves it to the run's cleanup, which a second Ctrl-C may abort.
        ctx.cleanup_created()

    return CheckResult(
        id=check.id,
        title=check.title,
        section=check.section,
        requirement=check.requirement,
        outcome=outcome,
        message=message,
        exchanges=list(ctx.recorder.exchanges),
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        expected=expected,
        actual=actual,
        evidence=evidence,
        expectations=ctx.expectations,
    )
