"""The HTML conformance report: one self-contained file a person reads offline.

Why our own renderer and not pytest-html: pytest-html (4.x) builds its page in the browser from a
JSON blob with its own JavaScript, one row per pytest item. What this report needs is different:
a verdict and a matrix by feature and RFC section at the top, checks grouped by section, scenario
steps as a timeline, exchanges with pretty JSON and curl lines, and the same page for runs that do
not go through pytest at all (`scimitar replay`). Writing that as pytest-html extras would fight its
layout and still leave the summary to JavaScript. Here the page is plain HTML and inline CSS
rendered from `Results`: it reads without JavaScript, prints, opens from a CI artifact offline, and
loads nothing from the network (no external CSS, JS, fonts or images). A few lines of inline script
only add "expand all" buttons, `?open`/`#open`, which opens every `<details>` (for printing), and open
the failure a link (`#check-...`, from the "first failures" strip) points at.

A failure tells its whole story: every exchange of the check or step in the order it was sent, the
decisive one (the evidence) marked and open, so the PATCH a server accepted and then ignored sits
right before the GET that proves it.

Everything shown comes from masked exchanges, and the whole page is scrubbed again before writing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from html import escape
from http import HTTPStatus
from typing import Any

from scimitar.exchange import Exchange
from scimitar.report.baseline import Comparison
from scimitar.report.features import (
    SECTION_TITLES,
    Row,
    feature_rows,
    scenario_idp,
    section_group,
    section_rows,
    section_sort_key,
)
from scimitar.report.reproduce import SERVE_NOTE, serve_command
from scimitar.results import CheckResult, Outcome, Results, ScenarioDetail, StepDetail, scimitar_version

#: Bodies longer than this (after pretty-printing) are cut in the page; results.json has them whole.
MAX_BODY_CHARS = 4000
MAX_BODY_LINES = 80
#: A passing scenario step's bodies are cut shorter: they are there for context, not as evidence.
MAX_PASSING_BODY_CHARS = 1500
#: At most this many exchanges are shown per check or step, in order: past it, the first quarter and the
#: rest from the end (and the evidence, always). Checks send a handful; a polled step can send dozens.
MAX_EXCHANGES = 24

LABELS = {
    "passed": "pass",
    "failed": "FAIL",
    "warning": "warn",
    "skipped": "skip",
    "error": "ERROR",
}

CSS = """
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--skip:#6e7781;--err:#8250df;--bg:#fff;--fg:#1f2328;
--mute:#656d76;--line:#d0d7de;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1200px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:4px 0 8px;overflow:auto;white-space:pre-wrap;word-break:break-word}
.verdict{display:inline-block;font-weight:700;padding:3px 10px;border-radius:6px;color:#fff;margin-left:8px;font-size:14px;vertical-align:middle}
.v-pass{background:var(--pass)}.v-fail{background:var(--fail)}.v-int{background:var(--warn)}
.lede{color:var(--mute);margin:0 0 12px}
dl.meta{display:grid;grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);gap:2px 14px;margin:10px 0;font-size:13px}
dl.meta dt{color:var(--mute)}dl.meta dd{margin:0;overflow-wrap:anywhere}dl.meta dt.wide{grid-column:1}dl.meta dd.wide{grid-column:span 3}
@media (max-width:900px){dl.meta{grid-template-columns:max-content 1fr}dl.meta dd.wide{grid-column:auto}}
.tiles{display:flex;gap:10px;flex-wrap:wrap;margin:10px 0}
.tile{border:1px solid var(--line);border-radius:8px;padding:4px 14px;min-width:110px}
.tile b{display:block;font-size:22px}
.first-failures{border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:8px;padding:4px 12px 8px;margin:10px 0}
.first-failures h2{font-size:15px;margin:4px 0;padding:0;border:0}
.first-failures ul{list-style:none;margin:0;padding:0}
.first-failures li{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding:2px 0;border-bottom:1px solid var(--soft)}
details.exchange{margin:4px 0}details.exchange>summary{font-size:13px}
details.exchange.decisive{border:2px solid var(--fail)}
.decisive-mark{display:inline-block;font-size:11px;font-weight:700;color:#fff;background:var(--fail);border-radius:4px;padding:0 6px;margin-left:6px}
.xno{display:inline-block;min-width:2.6em;color:var(--mute);font-variant-numeric:tabular-nums}
.serve{border:1px dashed var(--line);border-radius:6px;padding:4px 10px;margin:6px 0;background:#fffdf5}
code.serve-cmd{background:var(--soft);padding:1px 4px;border-radius:4px}
.tile.passed b{color:var(--pass)}.tile.failed b{color:var(--fail)}.tile.warning b{color:var(--warn)}
.tile.skipped b{color:var(--skip)}.tile.error b{color:var(--err)}.tile.zero b{color:#afb8c1}
.matrices{display:grid;grid-template-columns:1fr 1fr;gap:20px}
@media (max-width:900px){.matrices{grid-template-columns:1fr}}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--mute);font-size:12px}
td.n{text-align:right;font-variant-numeric:tabular-nums;width:3.5em}
td.zero{color:#c0c6cc}
td.n.failed:not(.zero){color:var(--fail);font-weight:700}td.n.error:not(.zero){color:var(--err);font-weight:700}
td.n.warning:not(.zero){color:var(--warn);font-weight:700}
tr.row-failed td:first-child,tr.row-error td:first-child{border-left:4px solid var(--fail)}
tr.row-warning td:first-child{border-left:4px solid var(--warn)}
tr.row-passed td:first-child{border-left:4px solid var(--pass)}
tr.row-skipped td:first-child,tr.row-empty td:first-child{border-left:4px solid var(--line)}
.note{color:var(--mute);font-size:12px}
.bar{display:flex;height:8px;border-radius:4px;overflow:hidden;background:var(--soft);min-width:80px;margin-top:6px}
.bar span{display:block}.b-passed{background:var(--pass)}.b-failed{background:var(--fail)}
.b-warning{background:#d4a72c}.b-skipped{background:#afb8c1}.b-error{background:var(--err)}
.badge{display:inline-block;font-size:11px;font-weight:700;padding:1px 6px;border-radius:10px;color:#fff;min-width:44px;text-align:center}
.o-passed{background:var(--pass)}.o-failed{background:var(--fail)}.o-warning{background:var(--warn)}
.o-skipped{background:var(--skip)}.o-error{background:var(--err)}
.lvl{font-size:11px;font-weight:700;border:1px solid var(--line);border-radius:4px;padding:0 4px;color:var(--mute)}
details{border:1px solid var(--line);border-radius:6px;margin:6px 0;background:#fff}
details>summary{cursor:pointer;padding:6px 10px;list-style-position:outside;margin-left:14px}
details[open]>summary{border-bottom:1px solid var(--line);background:var(--soft)}
details .body{padding:8px 12px}
details.failed{border-left:4px solid var(--fail)}details.error{border-left:4px solid var(--err)}
details.warning{border-left:4px solid var(--warn)}details.passed{border-left:4px solid var(--pass)}
details.skipped{border-left:4px solid var(--skip)}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:4px 0 10px}.kv dt{color:var(--mute)}.kv dd{margin:0}
.exchange{margin:10px 0 16px}
.reqline{font-weight:600}.status{font-weight:700}.s2{color:var(--pass)}.s3{color:var(--warn)}.s4,.s5,.s0{color:var(--fail)}
ul.readiness{list-style:none;padding:0;margin:8px 0 14px;font-weight:600}
ul.readiness>li{padding:4px 10px;margin:3px 0;border-left:5px solid var(--skip)}
ul.readiness>li.passed{border-color:var(--pass)}ul.readiness>li.failed{border-color:var(--fail)}
ol.timeline{list-style:none;padding:0;margin:6px 0;border-left:2px solid var(--line)}
ol.timeline>li{position:relative;padding:3px 0 3px 18px}
ol.timeline>li::before{content:"";position:absolute;left:-7px;top:9px;width:12px;height:12px;border-radius:50%;background:var(--skip)}
ol.timeline>li.passed::before{background:var(--pass)}ol.timeline>li.failed::before{background:var(--fail)}
ol.timeline>li.warning::before{background:#d4a72c}ol.timeline>li.error::before{background:var(--err)}
.msg{color:var(--fg)}.muted{color:var(--mute)}
.toolbar{float:right}.toolbar button{font:inherit;font-size:12px;margin-left:6px;padding:2px 8px;border:1px solid var(--line);border-radius:6px;background:var(--soft);cursor:pointer}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
@media print{.toolbar{display:none}}
"""

SCRIPT = """
(function(){
  function all(open){document.querySelectorAll('details').forEach(function(d){d.open=open;});}
  var q=location.search+location.hash;
  if(/[?&#]open\\b/.test(q)){all(true);}
  function openTarget(){
    var el=location.hash.length>1&&document.getElementById(decodeURIComponent(location.hash.slice(1)));
    for(;el;el=el.parentElement){if(el.tagName==='DETAILS'){el.open=true;}}
  }
  window.addEventListener('hashchange',openTarget);openTarget();
  document.querySelectorAll('[data-expand]').forEach(function(b){
    b.addEventListener('click',function(){all(b.getAttribute('data-expand')==='1');});
  });
})();
"""


def script_hash(script: str) -> str:
    """The CSP source for an inline script: `'sha256-<base64 of the SHA-256 of its text>'`."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


#: The report's Content-Security-Policy: nothing may be fetched (`default-src 'none'`), the only
#: script that runs is the page's own (by hash: a `<script>` smuggled in through a server's response
#: would not run even if escaping failed), no `<base>` can redirect links and no form can submit.
#: Styles stay inline (`style-src 'unsafe-inline'`): CSS cannot run code, and the page has one sheet.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src {script_hash(SCRIPT)}; img-src data:; base-uri 'none'; form-action 'none'"
)


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _pretty_body(text: str, max_chars: int = MAX_BODY_CHARS) -> str:
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            text = json.dumps(json.loads(stripped), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return _truncate(text, max_chars)


def _truncate(text: str, max_chars: int = MAX_BODY_CHARS) -> str:
    lines = text.splitlines()
    cut = False
    if len(lines) > MAX_BODY_LINES:
        lines, cut = lines[:MAX_BODY_LINES], True
    text = "\n".join(lines)
    if len(text) > max_chars:
        text, cut = text[:max_chars], True
    if cut:
        text += "\n… (truncated here; the whole exchange is in results.json)"
    return text


def _status_text(exchange: Exchange) -> str:
    if exchange.status == 0:
        return f"no response: {exchange.error or 'unknown error'}"
    try:
        reason = HTTPStatus(exchange.status).phrase
    except ValueError:
        reason = ""
    return f"HTTP {exchange.status} {reason}".rstrip()


def _exchange(
    exchange: Exchange, number: int, total: int, *, decisive: bool, opened: bool, max_chars: int = MAX_BODY_CHARS
) -> str:
    """One exchange as a `<details>`: its summary line is the request line and the status, so a
    closed list still reads as the story of the check; the decisive one is marked and open."""
    status_class = f"s{exchange.status // 100}"
    mark = ' <span class="decisive-mark">decisive: the evidence</span>' if decisive else ""
    summary = (
        f'<span class="xno">{number}/{total}</span> <span class="reqline mono">{_e(exchange.method)} '
        f'{_e(exchange.url)}</span> → <span class="status {status_class}">{_e(_status_text(exchange))}</span>'
        f' <span class="muted">({exchange.elapsed_ms:.1f} ms)</span>{mark}'
    )
    parts = []
    parts.append('<div class="note">request</div>')
    headers = "\n".join(f"{n}: {v}" for n, v in exchange.request_headers)
    if headers:
        parts.append(f"<pre>{_e(headers)}</pre>")
    if exchange.request_body:
        parts.append(f"<pre>{_e(_pretty_body(exchange.request_body, max_chars))}</pre>")
    parts.append('<div class="note">response</div>')
    if exchange.status == 0:
        parts.append(f'<div class="status s0">{_e(_status_text(exchange))}</div>')
    else:
        rheaders = "\n".join(f"{n}: {v}" for n, v in exchange.response_headers)
        if rheaders:
            parts.append(f"<pre>{_e(rheaders)}</pre>")
        if exchange.response_body:
            parts.append(f"<pre>{_e(_pretty_body(exchange.response_body, max_chars))}</pre>")
    parts.append(
        '<div class="note">reproduce (credentials from $SCIM_TOKEN or $SCIM_USERNAME/$SCIM_PASSWORD):</div>'
    )
    parts.append(f'<pre class="curl">{_e(exchange.curl())}</pre>')
    classes = "exchange decisive" if decisive else "exchange"
    return (
        f'<details class="{classes}"{" open" if opened else ""}><summary>{summary}</summary>'
        f'<div class="body">{"".join(parts)}</div></details>'
    )


def _exchanges(
    evidence: list[Exchange], all_exchanges: list[Exchange], *, last_decides: bool = False, failing: bool = True
) -> str:
    """Every exchange in the order it was sent (the whole story), the evidence marked and open.

    A check names its evidence; for a scenario step the last response is the one the step judged
    (`last_decides`). Past `MAX_EXCHANGES` the middle is left out (it stays in results.json), never
    the evidence."""
    sequence = list(all_exchanges) or list(evidence)
    for extra in evidence:  # evidence recorded outside the check's own list still shows
        if not any(extra is x for x in sequence):
            sequence.append(extra)
    decisive_ids = {id(x) for x in evidence}
    if not decisive_ids and last_decides and failing and sequence:
        decisive_ids = {id(sequence[-1])}
    total = len(sequence)
    keep = set(range(total))
    if total > MAX_EXCHANGES:
        head, tail = MAX_EXCHANGES // 4, MAX_EXCHANGES - MAX_EXCHANGES // 4
        keep = set(range(head)) | set(range(total - tail, total))
        keep |= {i for i, x in enumerate(sequence) if id(x) in decisive_ids}
    # With nothing marked, a failure opens its last exchange (where it stopped); a pass opens none.
    # A short failing story (3 or fewer) opens whole: the accepted-then-ignored PATCH is the point.
    open_last = failing and not decisive_ids
    open_all = failing and total <= 3
    out = [f'<div class="note story">{total} exchange(s) in the order they were sent'
           + ("; the decisive one is marked" if decisive_ids else "") + "</div>"]
    skipped = 0
    for i, x in enumerate(sequence):
        if i not in keep:
            skipped += 1
            continue
        if skipped:
            out.append(
                f'<div class="note gap">… {skipped} exchange(s) left out here to keep the page short '
                "(a failing check's are all in results.json)</div>"
            )
            skipped = 0
        decisive = id(x) in decisive_ids
        opened = decisive or open_all or (open_last and i == total - 1)
        limit = MAX_BODY_CHARS if failing else MAX_PASSING_BODY_CHARS
        out.append(_exchange(x, i + 1, total, decisive=decisive, opened=opened, max_chars=limit))
    return "".join(out)


def _reproduce_box(serve: str | None) -> str:
    """Beside the curl lines of an embedded run: the server they need."""
    if not serve:
        return ""
    return (
        '<div class="serve"><div class="note">these curl lines point at 127.0.0.1:8880; start the same server '
        "there first (in another shell, same environment):</div>"
        f'<pre class="serve-cmd">{_e(serve)}</pre><div class="note">{_e(SERVE_NOTE)}</div></div>'
    )


def _fmt(value: Any) -> str:
    if isinstance(value, dict | list):
        return _truncate(json.dumps(value, indent=2, ensure_ascii=False, default=str))
    return _truncate(str(value))


def _check_details(result: CheckResult, doc: str, serve: str | None = None) -> str:
    head = (
        f'<span class="badge o-{result.outcome.value}">{LABELS[result.outcome.value]}</span> '
        f'<span class="lvl">{_e(result.requirement)}</span> '
        f"<b>{_e(result.section)}</b> <code>{_e(result.id)}</code> — {_e(result.title)}"
        f'<div class="msg">{_e(result.message)}</div>'
    )
    body = ['<dl class="kv">']
    body.append(f"<dt>requirement</dt><dd>{_e(result.section)}, {_e(result.requirement)}</dd>")
    if doc:
        body.append(f"<dt>the RFC says</dt><dd>{_e(doc)}</dd>")
    body.append("</dl>")
    if result.expected is not None:
        body.append(f'<div class="note">expected</div><pre>{_e(_fmt(result.expected))}</pre>')
    if result.actual is not None:
        body.append(f'<div class="note">actual</div><pre>{_e(_fmt(result.actual))}</pre>')
    if result.exchanges or result.evidence:
        body.append(_reproduce_box(serve))
    body.append(_exchanges(result.evidence, result.exchanges))
    return (
        f'<details class="{result.outcome.value}" id="check-{_e(result.id)}"><summary>{head}</summary>'
        f'<div class="body">{"".join(body)}</div></details>'
    )


def _bar(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    spans = "".join(
        f'<span class="b-{k}" style="width:{100 * counts[k] / total:.2f}%"></span>'
        for k in ("passed", "warning", "failed", "error", "skipped")
        if counts[k]
    )
    return f'<div class="bar">{spans}</div>'


def _matrix(title: str, rows: Iterable[Row], first: str) -> str:
    out = [f"<div><h3>{_e(title)}</h3><table><thead><tr><th>{_e(first)}</th>"]
    out.append(
        "<th>passed</th><th>failed<br>(MUST)</th><th>warnings<br>(SHOULD)</th><th>skipped</th><th>errors</th></tr></thead><tbody>"
    )
    for row in rows:
        label = f"{_e(row.label)}"
        if row.note:
            label += f' <span class="note">{_e(row.note)}</span>'
        out.append(f'<tr class="row-{row.status}"><td>{label}{_bar(row.counts) if row.total else ""}</td>')
        for key in ("passed", "failed", "warning", "skipped", "error"):
            n = row.counts[key]
            out.append(f'<td class="n {key}{" zero" if not n else ""}">{n if n else "·"}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _step(index: int, step: StepDetail) -> str:
    """A timeline entry; every step that sent something opens to its exchanges, passing ones too
    (support needs to see the PATCH a server accepted and then ignored)."""
    mark = f'<span class="badge o-{_e(step.outcome)}">{LABELS.get(step.outcome, _e(step.outcome))}</span>'
    text = f"{mark} {index}. {_e(step.name)}"
    if step.level != "MUST":
        text += f' <span class="lvl">{_e(step.level)}</span>'
    if step.message:
        text += f' — <span class="msg">{_e(step.message)}</span>'
    if step.source and step.outcome in ("failed", "error"):
        text += f' <span class="note">(source: {_e(step.source)})</span>'
    if step.exchanges:
        failing = step.outcome in ("failed", "error", "warning")
        inner = _exchanges([], step.exchanges, last_decides=True, failing=failing)
        return (
            f'<li class="{_e(step.outcome)}"><details class="step {_e(step.outcome)}"><summary>{text}</summary>'
            f'<div class="body">{inner}</div></details></li>'
        )
    return f'<li class="{_e(step.outcome)}">{text}</li>'


def _scenario(entry: dict[str, Any], detail: ScenarioDetail | None, serve: str | None = None) -> str:
    outcome = str(entry.get("outcome", ""))
    sid = str(entry.get("id", ""))
    title = detail.title if detail else str(entry.get("title", ""))
    idp = scenario_idp(entry, detail.profile if detail else None)
    counts = Counter(str(s.get("outcome")) for s in entry.get("steps", []))
    tally = ", ".join(f"{n} {k}" for k, n in counts.items())
    head = (
        f'<span class="badge o-{_e(outcome)}">{LABELS.get(outcome, _e(outcome))}</span> '
        f'<span class="lvl">{_e(idp)}</span> <code>{_e(sid)}</code> — {_e(title)} '
        f'<span class="note">({_e(tally)})</span>'
    )
    body = []
    if detail is not None:
        body.append('<dl class="kv">')
        if detail.description:
            body.append(f"<dt>what it replays</dt><dd>{_e(detail.description)}</dd>")
        if detail.target:
            body.append(f"<dt>target</dt><dd>{_e(detail.target)}</dd>")
        if detail.reason:
            body.append(f"<dt>note</dt><dd>{_e(detail.reason)}</dd>")
        body.append(f"<dt>duration</dt><dd>{detail.duration_s:.2f} s</dd></dl>")
        steps = detail.steps
    else:
        steps = [
            StepDetail(str(s.get("name", "")), str(s.get("outcome", "")), str(s.get("message", "")))
            for s in entry.get("steps", [])
        ]
    if outcome in ("failed", "error") and any(s.exchanges for s in steps):
        body.append(_reproduce_box(serve))
    body.append('<ol class="timeline">' + "".join(_step(i, s) for i, s in enumerate(steps, 1)) + "</ol>")
    return (
        f'<details class="{_e(outcome)}" id="scenario-{_e(sid)}"><summary>{head}</summary>'
        f'<div class="body">{"".join(body)}</div></details>'
    )


def _readiness(results: Results) -> str:
    """The readiness verdict, one line per IdP (`scimitar.readiness`), at the top of the page."""
    items = results.readiness()
    if not items:
        return ""
    rows = "".join(
        f'<li class="{"passed" if v["flows"] and v["succeeded"] == v["flows"] else "failed" if v["flows"] else "skipped"}">'
        f'{_e(v["line"])}</li>'
        for v in items
    )
    return f'<ul class="readiness" id="readiness">{rows}</ul>'


#: How many failures the strip at the top of the page lists.
FIRST_FAILURES = 6


def _first_failures(results: Results) -> str:
    """The strip under the verdict: the first failing checks and scenarios, one line each, linked
    to their full story below (the matrices come after it)."""
    failing = sorted(
        (r for r in results.checks if r.outcome in (Outcome.FAILED, Outcome.ERROR)),
        key=lambda r: (section_sort_key(section_group(r.section)), r.id),
    )
    bad_scenarios = sorted(
        (s for s in results.scenarios if s.get("outcome") in ("failed", "error")), key=lambda s: str(s.get("id"))
    )
    total = len(failing) + len(bad_scenarios)
    if not total:
        return ""
    items: list[str] = []
    for r in failing:
        items.append(
            f'<li><span class="badge o-{r.outcome.value}">{LABELS[r.outcome.value]}</span> '
            f'<span class="lvl">{_e(r.requirement)}</span> <a href="#check-{_e(r.id)}" class="mono">{_e(r.id)}</a>'
            f' <span class="muted">{_e(r.section)}</span> <span class="msg">{_e(r.message)}</span></li>'
        )
    for entry in bad_scenarios:
        sid = str(entry.get("id", ""))
        step = next(
            (st for st in entry.get("steps", []) if st.get("outcome") in ("failed", "error")), None
        )
        what = f"{step.get('name')}: {step.get('message')}" if step else str(entry.get("outcome"))
        outcome = str(entry.get("outcome"))
        items.append(
            f'<li><span class="badge o-{_e(outcome)}">{LABELS.get(outcome, _e(outcome))}</span> '
            f'<span class="lvl">scenario</span> <a href="#scenario-{_e(sid)}" class="mono">{_e(sid)}</a> '
            f'<span class="msg">{_e(what)}</span></li>'
        )
    # checks and scenarios both get a place when there are many of each
    shown = items[:FIRST_FAILURES]
    if len(failing) >= FIRST_FAILURES and bad_scenarios:
        shown = items[: FIRST_FAILURES - 2] + items[len(failing) : len(failing) + 2]
    more = total - len(shown)
    tail = (
        f'<div class="note">{more} more: <a href="#failures">all failing checks</a>'
        + (', <a href="#scenarios">scenarios</a>' if bad_scenarios else "")
        + "</div>"
        if more
        else ""
    )
    return (
        f'<section class="first-failures" id="first-failures"><h2>First failures '
        f'<span class="note">({len(shown)} of {total}; click one for its whole story)</span></h2>'
        f'<ul>{"".join(shown)}</ul>{tail}</section>'
    )


def _catalogue_info() -> dict[str, Any]:
    """Tags and RFC wording of every registered check (empty when the catalogue cannot load)."""
    try:
        from scimitar.checks.registry import load_catalogue

        return {c.id: c for c in load_catalogue()}
    except Exception:
        return {}


def _schema_source(results: Results) -> str:
    """Where the run's test data took its schemas from (see `scimitar.factory`)."""
    source = results.target.get("schema_source")
    if source == "rfc-fallback":
        return "RFC 7643 schemas: the target publishes no usable /Schemas"
    if source == "target":
        shape = results.target.get("shape")
        return "the target's /Schemas and /ResourceTypes" + (f" (shape {shape})" if shape and shape != "rfc" else "")
    return "RFC 7643 schemas"


def _profile(results: Results) -> str:
    target = results.target
    if target.get("embedded"):
        quirks = ", ".join(target.get("quirks") or []) or "none"
        return f"{target.get('profile') or 'rfc'} (embedded reference server; quirks: {quirks})"
    declared = target.get("declared_profile")
    return f"{declared} (declared)" if declared else "remote target (profile not declared)"


def _cleanup(section: Any) -> str:
    """What the run's cleanup achieved: deleted (verified by a re-read), still present, failed."""
    if not isinstance(section, dict):
        return ""
    still = [s for s in section.get("still_present") or [] if isinstance(s, dict)]
    failed = [f for f in section.get("failed") or [] if isinstance(f, dict)]
    state = "complete" if section.get("complete") else "incomplete"
    if section.get("interrupted"):
        state = "interrupted"
    out = [
        f'<h2 id="cleanup">Cleanup <span class="note">{_e(state)}; resources named '
        f"{_e(section.get('prefix', ''))}…</span></h2>",
        f"<p>{_e(section.get('deleted', 0))} deleted (each re-read answered 404), {len(still)} still present "
        f"after a successful DELETE, {len(failed)} could not be deleted.</p>",
    ]
    if still:
        items = "".join(f"<li><code>{_e(s.get('path'))}</code> {_e(s.get('detail'))}</li>" for s in still[:50])
        items += f"<li>… and {len(still) - 50} more (all in results.json)</li>" if len(still) > 50 else ""
        out.append(
            "<h3>Still present</h3><p>The target kept these after answering the DELETE (a soft delete); "
            "RFC 7644 §3.6 requires 404 for every operation on a deleted resource.</p>"
            f"<ul>{items}</ul>"
        )
    if failed:
        items = "".join(f"<li><code>{_e(f.get('path'))}</code> {_e(f.get('reason'))}</li>" for f in failed[:50])
        items += f"<li>… and {len(failed) - 50} more (all in results.json)</li>" if len(failed) > 50 else ""
        out.append(f"<h3>Could not delete</h3><ul>{items}</ul>")
    if section.get("finish_with"):
        out.append(f'<p>Finish with: <code>{_e(section["finish_with"])}</code></p>')
    return "".join(out)


def render(results: Results, comparison: Comparison | None = None) -> str:
    """The whole report as one HTML string (scrub it before writing; `output.write_outputs` does)."""
    catalogue = _catalogue_info()
    checks_json = [c.to_json() for c in results.checks]
    tags_of = {cid: tuple(c.tags) for cid, c in catalogue.items()}
    profiles = {sid: d.profile for sid, d in results.scenario_details.items()}
    summary = results.summary
    blocking = summary["failed"] + summary["errors"]
    passed = comparison.ok if comparison is not None else blocking == 0
    verdict = (
        '<span class="verdict v-pass">PASS</span>'
        if passed
        else f'<span class="verdict v-fail">FAIL: {blocking} MUST failure(s) or error(s)</span>'
    )
    if comparison is not None and blocking and passed:
        verdict = f'<span class="verdict v-pass">PASS against the baseline ({blocking} known)</span>'
    word = results.verdict(comparison.ok if comparison is not None else None)
    if word == "INTERRUPTED":  # never PASS for a run Ctrl-C cut short, nor for one that verified nothing
        passed = False
        verdict = '<span class="verdict v-int">INTERRUPTED: the results cover only what ran</span>'
    elif word == "SKIPPED":
        passed = False
        verdict = '<span class="verdict v-int">SKIPPED: nothing was verified</span>'

    idps = Counter(scenario_idp(s, profiles.get(str(s.get("id")))) for s in results.scenarios)
    idp_text = ", ".join(f"{k} ({n})" for k, n in sorted(idps.items())) or "none"
    run = results.to_json()["run"]
    target_url = str(results.target.get("url") or results.target.get("description", ""))
    serve = serve_command(results.target)
    if results.target.get("embedded"):
        target_url = f"embedded reference server, in-process ({target_url})"

    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # The page may never load anything, and runs no script but its own (see `CSP`).
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>scimitar {_e(results.run_id)}: {word}</title>",
        f"<style>{CSS}</style></head><body><main>",
        '<div class="toolbar"><button data-expand="1">expand all</button>'
        '<button data-expand="0">collapse all</button></div>',
        f"<h1>SCIM conformance report {verdict}</h1>",
        _readiness(results),
        '<div class="tiles" id="summary">',
    ]
    for key, outcome, label in (
        ("passed", "passed", "passed"),
        ("failed", "failed", "failed (MUST)"),
        ("warnings", "warning", "warnings (SHOULD)"),
        ("skipped", "skipped", "skipped"),
        ("errors", "error", "errors"),
    ):
        zero = " zero" if not summary[key] else ""
        out.append(f'<div class="tile {outcome}{zero}"><b>{summary[key]}</b>{_e(label)}</div>')
    out.append("</div>")
    # Right under the verdict, so a 1400x900 screen shows what failed before any scrolling.
    out.append(_first_failures(results))
    out += [
        '<dl class="meta" id="run-meta">',
        f'<dt>target</dt><dd class="mono">{_e(target_url)}</dd>',
        f"<dt>profile</dt><dd>{_e(_profile(results))}</dd>",
        f"<dt>test data schemas</dt><dd>{_e(_schema_source(results))}</dd>",
        f"<dt>IdP scenarios</dt><dd>{_e(idp_text)}</dd>",
        f'<dt>run id</dt><dd class="mono">{_e(results.run_id)} <span class="note">(resources named '
        f"scimitar-{_e(results.run_id)}-…; seed {results.seed})</span></dd>",
        f"<dt>started</dt><dd>{_e(run['started'])}</dd>",
        f"<dt>duration</dt><dd>{results.duration_s:.2f} s</dd>",
        f"<dt>scimitar</dt><dd>{_e(scimitar_version())}</dd>",
    ]
    if serve:
        out.append(
            f'<dt class="wide">reproduce</dt><dd class="wide"><code class="serve-cmd">{_e(serve)}</code> '
            '<span class="note">serves what this run tested on 127.0.0.1:8880, where its curl lines point'
            "</span></dd>"
        )
    out.append("</dl>")
    out.append(
        '<p class="lede">Each check tests one requirement of RFC 7643/7644. A failed <b>MUST</b> fails the run; '
        "a failed <b>SHOULD</b> is a warning; MAY and unsupported features are skipped. Click a row to see "
        "every request and response in order, the decisive one marked, and a curl line for each.</p>"
    )

    if comparison is not None:
        out.append(f'<h2 id="baseline">Baseline <span class="note">{_e(comparison.path)}</span></h2>')
        out.append(
            f"<p>{len(comparison.new)} new failure(s) (these fail the run), {len(comparison.known)} known, "
            f"{len(comparison.fixed)} fixed since the baseline.</p>"
        )
        for name, found in (
            ("new", comparison.new),
            ("known", comparison.known),
            ("fixed", comparison.fixed),
        ):
            if found:
                items = "".join(
                    f'<li><code>{_e(e.id)}</code> <span class="badge o-{_e(e.outcome)}">'
                    f"{LABELS.get(e.outcome, _e(e.outcome))}</span> {_e(e.message)}</li>"
                    for e in found
                )
                out.append(f"<h3>{name}</h3><ul>{items}</ul>")

    out.append(_cleanup(results.extra.get("cleanup")))
    out.append('<h2 id="matrix">Where the endpoint stands</h2><div class="matrices">')
    out.append(
        _matrix("By feature", feature_rows(checks_json, results.scenarios, tags_of, profiles), "feature")
    )
    out.append(_matrix("By RFC section", section_rows(checks_json), "section"))
    out.append(
        '</div><p class="note">A check with several tags counts in each of its features; IdP rows count '
        "the IdP-specific checks and the scenarios that replay that IdP.</p>"
    )

    def doc_of(result: CheckResult) -> str:
        found = catalogue.get(result.id)
        return " ".join(str(getattr(found, "doc", "") or "").split())

    failing = [r for r in results.checks if r.outcome in (Outcome.FAILED, Outcome.ERROR)]
    warned = [r for r in results.checks if r.outcome is Outcome.WARNING]
    out.append(f'<h2 id="failures">Failures: {len(failing)} check(s)</h2>')
    if failing:
        ordered = sorted(failing, key=lambda r: (section_sort_key(section_group(r.section)), r.id))
        out += [_check_details(r, doc_of(r), serve) for r in ordered]
    else:
        out.append('<p class="muted">No MUST requirement failed and no check errored.</p>')
    if warned:
        out.append(f'<h2 id="warnings">Warnings (SHOULD not met): {len(warned)}</h2>')
        out += [_check_details(r, doc_of(r), serve) for r in warned]

    if results.scenarios:
        bad = sum(1 for s in results.scenarios if s.get("outcome") in ("failed", "error"))
        out.append(
            f'<h2 id="scenarios">IdP scenarios: {len(results.scenarios)} replayed, {bad} failing</h2>'
            '<p class="note">Each scenario replays what an identity provider really sends, step by step; '
            "open one to read its timeline.</p>"
        )
        order = {"error": 0, "failed": 1, "warning": 2, "passed": 3, "skipped": 4}
        entries = sorted(
            results.scenarios, key=lambda s: (order.get(str(s.get("outcome")), 5), str(s.get("id")))
        )
        out += [_scenario(s, results.scenario_details.get(str(s.get("id"))), serve) for s in entries]

    out.append(f'<h2 id="checks">All {len(results.checks)} checks by RFC section</h2>')
    groups: dict[str, list[CheckResult]] = {}
    for result in results.checks:
        groups.setdefault(section_group(result.section), []).append(result)
    for group in sorted(groups, key=section_sort_key):
        members = groups[group]
        counts = Counter(r.outcome.value for r in members)
        tally = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        status = next(
            (o for o in ("error", "failed", "warning", "passed", "skipped") if counts.get(o)), "passed"
        )
        rows = "".join(
            f'<tr><td><span class="badge o-{r.outcome.value}">{LABELS[r.outcome.value]}</span></td>'
            f'<td><span class="lvl">{_e(r.requirement)}</span></td><td class="mono">'
            + (f'<a href="#check-{_e(r.id)}">{_e(r.id)}</a>' if r in failing or r in warned else _e(r.id))
            + f"</td><td>{_e(r.section)}</td><td>{_e(r.title)}"
            + (
                f'<div class="note">{_e(r.message)}</div>'
                if r.outcome is not Outcome.PASSED and r.message
                else ""
            )
            + "</td></tr>"
            for r in members
        )
        title = SECTION_TITLES.get(group, "")
        out.append(
            f'<details class="{status}"><summary><b>{_e(group)}</b> {_e(title)} '
            f'<span class="note">({_e(tally)})</span></summary><div class="body"><table>'
            f"<thead><tr><th>outcome</th><th>level</th><th>check</th><th>section</th><th>title</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div></details>"
        )
    out.append(
        '<p class="note">Generated by scimitar. Secrets are masked (****); curl lines read credentials from '
        "$SCIM_TOKEN or $SCIM_USERNAME/$SCIM_PASSWORD.</p>"
    )
    out.append(f"</main><script>{SCRIPT}</script></body></html>")
    return "\n".join(out)
