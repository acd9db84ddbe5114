"""The report page of a `scimitar load` run: one self-contained HTML file, like a test run's.

locust writes its own HTML page, but it is a different page from scimitar's (its charts are drawn
by JavaScript it embeds), it knows nothing of scimitar's thresholds, Retry-After handling or the
integrity audit, and a load run deserves the same verdict-first page as a conformance run. This
module renders `summary.json` (written by `scimitar.load.cli`) and locust's per-second history
(`locust_stats_history.csv`, written with `--csv-full-history`) into `reports/<run-id>/report.html`:
the verdict against the thresholds, requests per second and latency percentiles per request type
over time as inline SVG charts (no script, nothing from the network), a table per request type,
errors and 429 Retry-After waits, the audit's findings and the cleanup, and a link to locust's page.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from scimitar.report.html import CSS
from scimitar.results import scimitar_version

HISTORY_CSV = "locust_stats_history.csv"
LOCUST_HTML = "report.html"
REPORT_NAME = "report.html"
#: At most this many points per line: a long run is thinned evenly, the last point kept.
MAX_POINTS = 300
#: Line colours (colour-blind friendly, Okabe-Ito), the aggregate drawn in black and dashed.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#f0e442", "#999999")
AGGREGATED = "Aggregated"

LOAD_CSS = """
.chart{margin:6px 0 14px}.chart svg{width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;margin:4px 0}
.legend i{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:5px}
.ok{color:var(--pass);font-weight:700}.bad{color:var(--fail);font-weight:700}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


@dataclass
class Series:
    """One request type's history: seconds since the start, requests/s, failures/s, p50 and p95 (ms)."""

    name: str
    t: list[float] = field(default_factory=list)
    rps: list[float] = field(default_factory=list)
    fails: list[float] = field(default_factory=list)
    p50: list[float | None] = field(default_factory=list)
    p95: list[float | None] = field(default_factory=list)


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_history(out_dir: Path) -> tuple[list[Series], list[tuple[float, int]]]:
    """Per request type series (the aggregate last) and the user count over time, from locust's
    history CSV; empty when locust wrote none (a run that failed to start)."""
    path = out_dir / HISTORY_CSV
    if not path.is_file():
        return [], []
    series: dict[str, Series] = {}
    users: dict[float, int] = {}
    t0: float | None = None
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stamp = _number(row.get("Timestamp"))
            if stamp is None:
                continue
            t0 = stamp if t0 is None else min(t0, stamp)
            name = row.get("Name") or ""
            method = row.get("Type") or ""
            key = AGGREGATED if name == AGGREGATED else request_label(method, name)
            entry = series.setdefault(key, Series(key))
            entry.t.append(stamp)
            entry.rps.append(_number(row.get("Requests/s")) or 0.0)
            entry.fails.append(_number(row.get("Failures/s")) or 0.0)
            entry.p50.append(_number(row.get("50%")))
            entry.p95.append(_number(row.get("95%")))
            if key == AGGREGATED:
                users[stamp] = int(_number(row.get("User Count")) or 0)
    start = t0 or 0.0
    for entry in series.values():
        entry.t = [t - start for t in entry.t]
    ordered = sorted((s for s in series.values() if s.name != AGGREGATED), key=lambda s: s.name)
    if AGGREGATED in series:
        ordered.append(series[AGGREGATED])
    return ordered, sorted((t - start, n) for t, n in users.items())


def request_label(method: str, name: str) -> str:
    """`POST /Users`: scimitar's request names already start with their method."""
    return name if not method or name.startswith(f"{method} ") else f"{method} {name}"


def _nice(limit: float) -> float:
    """A round axis maximum at or above `limit` (1, 2, 2.5, 5 times a power of ten)."""
    if limit <= 0:
        return 1.0
    power = float(10.0 ** math.floor(math.log10(limit)))
    for step in (1, 2, 2.5, 5, 10):
        if limit <= step * power:
            return step * power
    return 10 * power


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_POINTS:
        return points
    stride = len(points) / MAX_POINTS
    return [points[int(i * stride)] for i in range(MAX_POINTS - 1)] + [points[-1]]


def line_chart(title: str, unit: str, lines: Sequence[tuple[str, list[tuple[float, float]]]]) -> str:
    """An inline SVG line chart (seconds on x) with a legend, or a note when there is nothing to draw."""
    drawn = [(name, _thin(points)) for name, points in lines if points]
    if not drawn:
        return f'<div class="chart"><h3>{_e(title)}</h3><p class="muted">no data points were recorded</p></div>'
    width, height, left, right, top, bottom = 1100, 270, 60, 16, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = max(max(t for t, _ in points) for _, points in drawn) or 1.0
    y_max = _nice(max(max(v for _, v in points) for _, points in drawn) * 1.05)

    def x(t: float) -> float:
        return left + plot_w * t / x_max

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="11">'
    ]
    for i in range(5):  # horizontal grid and y labels
        value = y_max * i / 4
        dashed = "" if i == 0 else ' stroke-dasharray="3 3"'
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#d0d7de"'
            f"{dashed}/>"
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="#656d76">{value:g}</text>'
        )
    x_step = _nice(x_max / 6)
    tick = 0.0
    while tick <= x_max + 1e-9:
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
            f'stroke="#656d76"/><text x="{x(tick):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'fill="#656d76">{tick:g} s</text>'
        )
        tick += x_step
    parts.append(
        f'<text x="{left}" y="{top - 12}" text-anchor="start" fill="#656d76" font-size="11">{_e(unit)}</text>'
    )
    legend = []
    widths = [min(5.0, max(1.6, 1.6 + 1.1 * (len(drawn) - 2 - i))) for i in range(len(drawn))]
    for index, (name, points) in enumerate(drawn):
        aggregate = name == AGGREGATED
        colour = "#1f2328" if aggregate else PALETTE[index % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if aggregate else ""
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        last_t, last_v = points[-1]
        parts.append(
            # earlier lines drawn wider, so one hidden under an equal later line still shows at its edges
            f'<polyline fill="none" stroke="{colour}" stroke-width="{2.2 if aggregate else widths[index]}"{dash} '
            f'points="{path}"><title>{_e(name)}: last {last_v:g} {_e(unit)} at {last_t:g} s</title></polyline>'
        )
        legend.append(f'<span><i style="background:{colour}"></i>{_e(name)}</span>')
    parts.append("</svg>")
    return (
        f'<div class="chart"><h3>{_e(title)}</h3>{"".join(parts)}<div class="legend">{"".join(legend)}</div></div>'
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], numeric_from: int = 1) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = []
    for row in rows:
        tds = "".join(
            f'<td class="n">{_e(v)}</td>' if i >= numeric_from else f"<td>{v}</td>" for i, v in enumerate(row)
        )
        body.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _fmt_ms(value: Any) -> str:
    return "·" if value is None else f"{float(value):g}"


def render_load(summary: dict[str, Any], out_dir: Path, link_prefix: str = "load/") -> str:
    """The load report as one HTML string (`link_prefix`: where locust's files are, from the page)."""
    series, users = read_history(out_dir)
    passed = summary.get("verdict") == "pass"
    verdict = (
        '<span class="verdict v-pass">PASS</span>'
        if passed
        else '<span class="verdict v-fail">FAIL</span>'
    )
    lat = summary.get("latency_ms") or {}
    thr = summary.get("throttled") or {}
    audit = summary.get("audit") or {}
    findings = audit.get("findings") or []
    failing_findings = [f for f in findings if f.get("severity") == "fail"]
    target = summary.get("target") or {}
    target_text = str(target.get("description", ""))
    if target.get("embedded"):
        quirks = ", ".join(target.get("quirks") or []) or "none"
        target_text = (
            f"embedded reference server (profile {target.get('profile') or 'rfc'}, quirks: {quirks}), "
            f"served for this run at {target.get('url', '')}"
        )
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # As the conformance report: the browser itself refuses any network request from this page.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">",
        f"<title>scimitar load {_e(summary.get('run_id', ''))}: {'PASS' if passed else 'FAIL'}</title>",
        f"<style>{CSS}{LOAD_CSS}</style></head><body><main>",
        f"<h1>SCIM load report {verdict}</h1>",
        '<div class="tiles" id="summary">',
    ]
    error_rate = float(summary.get("error_rate") or 0.0)
    tiles = (
        ("passed" if summary.get("requests") else "failed", summary.get("requests", 0), "requests"),
        ("skipped", f"{float(summary.get('rps') or 0):.1f}", "requests/s"),
        ("skipped", _fmt_ms(lat.get("p95")), "p95 ms"),
        ("failed" if summary.get("errors") else "passed", f"{error_rate:.2%}", "errors"),
        ("warning" if thr.get("count") else "passed", thr.get("count", 0), "throttled (429)"),
        ("failed" if failing_findings else "passed", len(failing_findings), "audit failures"),
    )
    for outcome, value, label in tiles:
        out.append(f'<div class="tile {outcome}"><b>{_e(value)}</b>{_e(label)}</div>')
    out.append("</div>")

    # thresholds: the verdict's reasons come first
    verdicts = summary.get("thresholds") or []
    reasons: list[str] = []
    if not summary.get("requests"):
        reasons.append("no request was answered")
    reasons += [f"{v['name']} {v['value']:g} (limit {v['limit']:g})" for v in verdicts if not v.get("passed")]
    if not audit.get("passed", True):
        reasons.append(f"the integrity audit found {len(failing_findings)} problem(s)")
    if reasons:
        out.append(
            '<section class="first-failures" id="first-failures"><h2>Why it failed</h2><ul>'
            + "".join(f'<li><span class="badge o-failed">FAIL</span> {_e(r)}</li>' for r in reasons)
            + "</ul></section>"
        )
    locust_link = f"{link_prefix}{LOCUST_HTML}"
    out += [
        '<dl class="meta" id="run-meta">',
        f"<dt>workload</dt><dd><b>{_e(summary.get('workload', ''))}</b> "
        f'<span class="note">({_e(", ".join(summary.get("classes") or []))})</span></dd>',
        f'<dt>target</dt><dd class="mono">{_e(target_text)}</dd>',
        f"<dt>users</dt><dd>{_e(summary.get('users'))} (spawn rate {_e(summary.get('spawn_rate'))}/s), "
        f"{_e(summary.get('mode', ''))}</dd>",
        f"<dt>duration</dt><dd>{_e(summary.get('duration_s'))} s asked, {_e(summary.get('elapsed_s'))} s "
        f"elapsed{' (stopped by the deadline)' if summary.get('stopped_by_deadline') else ''}</dd>",
        f'<dt>run id</dt><dd class="mono">{_e(summary.get("run_id", ""))} <span class="note">(resources named '
        f"{_e(summary.get('prefix', ''))}…)</span></dd>",
        f"<dt>scimitar</dt><dd>{_e(scimitar_version())}</dd>",
        f'<dt class="wide">files</dt><dd class="wide"><a href="{_e(locust_link)}">locust\'s own report</a>, '
        f'<a href="{_e(link_prefix)}summary.json">summary.json</a>, CSV and logs in '
        f'<code>{_e(link_prefix)}</code></dd>',
        "</dl>",
    ]

    out.append('<h2 id="thresholds">Thresholds</h2>')
    if verdicts:
        rows = [
            [
                f"<code>--{_e(v['name'])}</code>",
                f"{v['limit']:g}",
                f"{v['value']:g}",
                "ok" if v.get("passed") else "FAIL",
            ]
            for v in verdicts
        ]
        out.append(_table(("threshold", "limit", "measured", "verdict"), rows))
    else:
        out.append(
            '<p class="muted">No threshold was given (<code>--max-p95-ms</code>, <code>--max-error-rate</code>, '
            "<code>--min-rps</code>): the verdict rests on the requests and the audit.</p>"
        )

    out.append('<h2 id="charts">Over time</h2>')
    out.append(
        line_chart(
            "Requests per second, by request type",
            "req/s",
            [(s.name, list(zip(s.t, s.rps, strict=True))) for s in series],
        )
    )
    out.append(
        line_chart(
            "95th percentile latency, by request type (ms)",
            "ms",
            [(s.name, [(t, v) for t, v in zip(s.t, s.p95, strict=True) if v is not None]) for s in series],
        )
    )
    if any(any(s.fails) for s in series):
        out.append(
            line_chart(
                "Failed requests per second, by request type (a 429 counts here: locust's view, before the retry)",
                "fail/s",
                [(s.name, list(zip(s.t, s.fails, strict=True))) for s in series if any(s.fails)],
            )
        )
    if users:
        out.append(line_chart("Concurrent users", "users", [("users", [(t, float(n)) for t, n in users])]))
    if not series:
        out.append(f'<p class="muted">locust wrote no history ({_e(HISTORY_CSV)} is missing).</p>')

    out.append('<h2 id="by-type">By request type</h2>')
    rows = [
        [
            f'<span class="mono">{_e(request_label(str(r.get("method", "")), str(r.get("name", ""))))}</span>',
            r.get("requests", 0),
            r.get("failures", 0),
            f"{float(r.get('rps') or 0):.1f}",
            _fmt_ms(r.get("p50_ms")),
            _fmt_ms(r.get("p95_ms")),
            _fmt_ms(r.get("p99_ms")),
        ]
        for r in summary.get("by_name") or []
    ]
    rows.append(
        [
            "<b>all</b>",
            summary.get("requests", 0),
            summary.get("failures", 0),
            f"{float(summary.get('rps') or 0):.1f}",
            _fmt_ms(lat.get("p50")),
            _fmt_ms(lat.get("p95")),
            _fmt_ms(lat.get("p99")),
        ]
    )
    out.append(_table(("request", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms"), rows))

    out.append('<h2 id="errors">Errors and Retry-After waits</h2>')
    by_status = summary.get("errors_by_status") or {}
    out.append("<h3>Failed requests by status</h3>")
    labels = {"0": "no response", "429": "429 (throttled; retried, not an error)"}
    if by_status:
        out.append(
            _table(
                ("status", "failed requests"),
                [[f"<code>{_e(labels.get(k, k))}</code>", n] for k, n in sorted(by_status.items())],
            )
        )
    else:
        out.append('<p class="muted">No request failed.</p>')
    out.append("<h3>Throttling and Retry-After waits</h3>")
    out.append(
        _table(
            ("throttling (RFC 6585 429)", "count"),
            [
                ["requests throttled (retried after Retry-After)", thr.get("count", 0)],
                ["429 responses", thr.get("responses_429", 0)],
                ["seconds spent waiting for Retry-After", thr.get("retry_wait_s", 0)],
                ["429 without a Retry-After header", thr.get("retry_after_missing", 0)],
                ["gave up after the retry budget", thr.get("gave_up", 0)],
                ["over Okta's 60 s request timeout", summary.get("over_okta_timeout", 0)],
            ],
        )
    )
    statuses = summary.get("statuses") or {}
    if statuses:
        text = ", ".join(f"{k}: {n}" for k, n in sorted(statuses.items()))
        out.append(f'<p class="note">all responses by status: {_e(text)}</p>')

    out.append('<h2 id="audit">Integrity audit</h2>')
    mark = '<span class="ok">clean</span>' if audit.get("passed") else '<span class="bad">FAILED</span>'
    out.append(
        f"<p>{mark}: {_e(audit.get('users_found', 0))}/{_e(audit.get('users_expected', 0))} users found exactly "
        f"once, {_e(audit.get('groups_checked', 0))} groups and {_e(audit.get('memberships_expected', 0))} "
        f"memberships checked, a paged listing of {_e(audit.get('listing_count', 0))} "
        f"(totalResults {_e(audit.get('listing_total_results'))}); {_e(audit.get('seconds', 0))} s.</p>"
    )
    if findings:
        out.append(
            _table(
                ("severity", "kind", "finding", "subject"),
                [
                    [
                        f'<span class="badge o-{"failed" if f.get("severity") == "fail" else "skipped"}">'
                        f"{_e(f.get('severity'))}</span>",
                        f"<code>{_e(f.get('kind'))}</code>",
                        _e(f.get("message")),
                        f'<span class="mono">{_e(f.get("subject") or "")}</span>',
                    ]
                    for f in findings
                ],
                numeric_from=99,
            )
        )
        if audit.get("findings_truncated"):
            out.append(
                f'<p class="note">{_e(audit.get("findings_truncated"))} more finding(s) are not listed '
                f"(counts by kind: {_e(audit.get('finding_counts'))}).</p>"
            )
    else:
        out.append('<p class="muted">No finding: nothing was lost, duplicated or left inconsistent.</p>')

    cleanup = summary.get("cleanup") or {}
    out.append('<h2 id="cleanup">Cleanup</h2>')
    if cleanup.get("skipped"):
        out.append('<p class="muted">skipped (--no-cleanup): what the run created is still there.</p>')
    else:
        out.append(
            f"<p>deleted {_e(cleanup.get('deleted', 0))}, swept by prefix {_e(cleanup.get('swept', 0))}, "
            f"left over afterwards {_e(cleanup.get('leftovers_after'))}.</p>"
        )
    out.append(
        '<p class="note">Generated by scimitar from summary.json and locust\'s history; the page loads '
        "nothing from the network.</p></main></body></html>"
    )
    return "\n".join(out)


def write_load_report(
    summary: dict[str, Any], out_dir: Path, scrub: Callable[[str], str] = lambda text: text
) -> Path:
    """Write `<out_dir>/../report.html` (the run folder, where a test run's report goes)."""
    path = out_dir.parent / REPORT_NAME
    link_prefix = f"{out_dir.name}/"
    path.write_text(scrub(render_load(summary, out_dir, link_prefix)), encoding="utf-8")
    return path
