"""The `scimitar serve` command that makes an embedded run's curl lines work again.

An embedded run talks to the reference server in-process, but records its URLs as
`http://127.0.0.1:8880/scim/v2/...` (`scimitar.target.EMBEDDED_ORIGIN`), the address of a local
`scimitar serve`. Once the run is over nothing listens there, so a curl line pasted from the report
gets "connection refused". Support needs the one command that starts the same server (profile,
quirks, port, base path) accepting the credential the curl lines read from the environment
(`$SCIM_TOKEN`, or `$SCIM_USERNAME:$SCIM_PASSWORD`). `scimitar serve` takes its Bearer token from
`$SCIM_TOKEN` itself (so the token stays out of `ps`), hence the line exports it first.

The server starts empty: ids the run's server assigned do not exist on it, so lines that create
(`POST /Users`), list or filter reproduce as they stand, while a line naming an id needs the
resource created first (the earlier exchanges of the same check or step do that).
"""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import urlsplit

#: Printed next to the command in the report and the terminal.
SERVE_NOTE = (
    "the server starts empty: lines that create, list or filter work as they are; a line with a "
    "resource id needs that resource created first (send the earlier requests of the story, then use the id "
    "the server returns)"
)


def serve_command(target: dict[str, Any]) -> str | None:
    """The shell line that serves what an embedded run tested, or None for a remote target.

    `target` is `Target.describe()` (the `target_details` of results.json).
    """
    if not target.get("embedded"):
        return None
    url = urlsplit(str(target.get("url") or "http://127.0.0.1:8880/scim/v2"))
    port = url.port or 8880
    argv = ["scimitar", "serve", "--port", str(port)]
    profile = str(target.get("profile") or "rfc")
    if profile != "rfc":
        argv += ["--profile", profile]
    base_path = url.path.rstrip("/") or "/scim/v2"
    if base_path != "/scim/v2":
        argv += ["--base-path", base_path]
    for quirk in target.get("quirks") or []:
        argv += ["--quirk", str(quirk)]
    line = shlex.join(argv)
    if target.get("auth") == "basic":
        # serve takes Basic pairs only as a flag; the variables expand in the user's own shell
        return (
            'export SCIM_USERNAME="${SCIM_USERNAME:-scim_local}" SCIM_PASSWORD="${SCIM_PASSWORD:-local-secret}"; '
            + line
            + ' --basic "$SCIM_USERNAME:$SCIM_PASSWORD"'
        )
    return 'export SCIM_TOKEN="${SCIM_TOKEN:-local-token}"; ' + line
