"""`python -m scimitar.scenario.inventory [DIR]`: every scenario's expectations by kind, and sources.

For reviewers and the release note: how many expectations of each scenario are `idp` (the IdP's
provisioning fails without them; each with the public source in the file) and how many are `rfc`
(deviations the IdP tolerates, reported as warnings naming a catalogue check), which quirks break
the flow and which it tolerates, and which parts the files mark **unverified**. Markdown on stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scimitar.scenario.loader import discover, load_scenario


def table(root: str | Path) -> str:
    rows = ["| scenario | steps | idp | rfc | sources | broken by | tolerates | unverified |",
            "|---|---|---|---|---|---|---|---|"]
    totals = {"idp": 0, "rfc": 0}
    for file in discover(root):
        sc = load_scenario(file)
        counts = sc.counts
        totals["idp"] += counts["idp"]
        totals["rfc"] += counts["rfc"]
        sources = sorted({s.source for s in sc.steps if s.source})
        text = file.read_text(encoding="utf-8").lower()
        rows.append(
            f"| {sc.id} | {len(sc.steps)} | {counts['idp']} | {counts['rfc']} | {' '.join(sources)} | "
            f"{', '.join(sc.broken_by)} | {', '.join(sc.tolerates)} | {'yes' if 'unverified' in text else ''} |"
        )
    rows.append(f"| **total** | | {totals['idp']} | {totals['rfc']} | | | | |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = args[0] if args else str(Path(__file__).resolve().parents[2] / "scenarios")
    print(table(root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
